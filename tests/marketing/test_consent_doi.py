"""Double opt-in end to end through a real SMTP server: the mail without advertising, its
single-use link (GET does not confirm, POST does), expiry, withdrawal by the unsubscribe
link and by a mail program's one-click POST, and the headers of every marketing mail."""

import datetime as dt
import re

import pytest
from django.test import Client
from django.utils import timezone

from kreis.core.tokens import hash_token
from kreis.marketing.consent import services
from kreis.marketing.defaults import ensure_defaults
from kreis.marketing.models import (
    Consent,
    ConsentEvent,
    ConsentStatus,
    ConsentText,
    MarketingSettings,
)
from tests.smtpserver import body_text

pytestmark = pytest.mark.django_db

BASE = "https://crm.example.com"
IMPRINT = "Beispiel GmbH\nHauptstraße 1, 10115 Berlin"


@pytest.fixture(autouse=True)
def _setup():
    ensure_defaults()
    config = MarketingSettings.load()
    config.imprint = IMPRINT
    config.public_base_url = BASE
    config.sender_email = "news@example.com"
    config.sender_name = "Beispiel"
    config.save()


def _request(email="anna@example.org", language="de", purpose="newsletter", **kwargs):
    return services.request_consent(
        purpose=purpose,
        channel="email",
        email=email,
        language=language,
        source="form",
        ip="198.51.100.7",
        user_agent="Firefox/130",
        **kwargs,
    )


def _confirm_path(message) -> str:
    return re.search(r"https://crm\.example\.com(/consent/confirm/[^/\s]+/)", body_text(message))[1]


@pytest.fixture
def requested(smtp_inbox, django_capture_on_commit_callbacks):
    """A pending newsletter consent and the path of the link in its mail."""
    with django_capture_on_commit_callbacks(execute=True):
        consent = _request()
    [message] = smtp_inbox.to("anna@example.org")
    return consent, _confirm_path(message), message


def test_the_confirmation_mail_arrives_without_advertising(requested):
    consent, path, message = requested
    assert consent.status == ConsentStatus.PENDING
    assert consent.ip_address == "198.51.100.7"
    assert consent.user_agent == "Firefox/130"
    assert consent.text == ConsentText.objects.get(purpose="newsletter", language="de")
    assert message["Subject"].strip() == "Bitte bestätigen: Newsletter"
    assert message["From"] == "Beispiel <news@example.com>"
    assert not message.is_multipart()  # plain text only: no images, no tracking pixel
    # Nothing but the request to confirm (with the link), the consent text and the imprint.
    paragraphs = [p.strip() for p in body_text(message).strip().split("\n\n")]
    assert paragraphs == [
        "Bitte bestätigen Sie, dass Sie Folgendes erhalten möchten: Newsletter.",
        "Zum Bestätigen öffnen Sie diesen Link und drücken Sie dort die Schaltfläche:\n"
        + BASE
        + path,
        paragraphs[2],
        "Die Einwilligung, die Sie bestätigen:\n" + consent.text.text,
        "-- \n" + IMPRINT,
    ]
    assert paragraphs[2].startswith("Der Link funktioniert einmal, bis ")
    # Only the link's hash is stored.
    raw = path.split("/")[3]
    assert consent.token_hash == hash_token(raw)
    assert raw not in consent.token_hash
    kinds = list(consent.events.values_list("kind", flat=True))
    assert kinds == ["requested", "mail_sent"]


def test_get_shows_a_button_and_only_post_confirms_once(requested):
    consent, path, _message = requested
    client = Client(enforce_csrf_checks=True)
    page = client.get(path, HTTP_USER_AGENT="Scanner/1.0")
    assert page.status_code == 200
    assert "Ja, ich bestätige" in page.content.decode()
    consent.refresh_from_db()
    assert consent.status == ConsentStatus.PENDING  # a mail scanner's GET confirms nothing
    token = client.cookies["csrftoken"].value
    done = client.post(
        path,
        {"csrfmiddlewaretoken": token},
        HTTP_USER_AGENT="Firefox/131",
        REMOTE_ADDR="203.0.113.9",
    )
    assert done.status_code == 200
    assert "Vielen Dank für Ihre Bestätigung" in done.content.decode()
    consent.refresh_from_db()
    assert consent.status == ConsentStatus.GRANTED
    assert consent.confirmed_at is not None
    assert consent.confirmed_ip == "203.0.113.9"
    event = consent.events.get(kind="confirmed")
    assert event.user_agent == "Firefox/131"
    # The link works once: again it only says so.
    again = client.post(path, {"csrfmiddlewaretoken": token})
    assert "Bereits bestätigt" in again.content.decode()
    assert consent.events.filter(kind="confirmed").count() == 1
    assert services.may_contact(purpose="newsletter", channel="email", email="ANNA@example.org")


def test_an_expired_link_confirms_nothing_and_the_job_expires_it(requested):
    consent, path, _message = requested
    ConsentEvent.objects.filter(consent=consent).update(at=timezone.now() - dt.timedelta(days=8))
    Consent.objects.filter(pk=consent.pk).update(requested_at=timezone.now() - dt.timedelta(days=8))
    client = Client()
    page = client.get(path)
    assert page.status_code == 410
    assert "Dieser Link ist abgelaufen" in page.content.decode()
    client.post(path)
    consent.refresh_from_db()
    assert consent.status == ConsentStatus.PENDING
    assert services.expire_pending() == 1
    consent.refresh_from_db()
    assert consent.status == ConsentStatus.EXPIRED
    assert consent.events.filter(kind="expired").count() == 1
    assert services.expire_pending() == 0
    assert not services.may_contact(purpose="newsletter", channel="email", email=consent.email)


def test_an_unknown_link_is_a_clear_404():
    page = Client().get("/consent/confirm/not-a-real-token/")
    assert page.status_code == 404
    assert "Unknown link" in page.content.decode() or "Unbekannter Link" in page.content.decode()


def test_asking_twice_sends_no_second_mail_at_once(requested, django_capture_on_commit_callbacks):
    consent, _path, _message = requested
    with django_capture_on_commit_callbacks(execute=True):
        again = _request(email="Anna@Example.org")
    assert again.pk == consent.pk
    assert Consent.objects.count() == 1
    assert consent.events.filter(kind="mail_sent").count() == 1


def _grant(email="ben@example.org", purpose="newsletter"):
    consent = _request(email=email, purpose=purpose, language="en")
    assert services.confirm(consent, ip="203.0.113.1")
    return consent


def test_every_marketing_mail_carries_the_unsubscribe_headers_link_and_imprint(smtp_inbox):
    consent = _grant()
    sent = services.send_marketing_mail(
        purpose="newsletter",
        email="ben@example.org",
        subject="Spring news",
        text="Our spring range is here.",
        html="<html><body><p>Our spring range is here.</p></body></html>",
        on_commit=False,
    )
    assert sent.consent == consent
    [message] = smtp_inbox.to("ben@example.org")
    url = re.search(
        r"<(https://crm\.example\.com/consent/unsubscribe/[^>]+/)>", message["List-Unsubscribe"]
    )[1]
    assert "<mailto:news@example.com?subject=unsubscribe>" in message["List-Unsubscribe"]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = body_text(message)
    assert text.startswith("Our spring range is here.")
    assert url in text
    assert "Hauptstraße 1, 10115 Berlin" in text
    html = message.get_body(preferencelist=("html",)).get_content()
    assert f'href="{url}"' in html
    assert "Hauptstraße 1, 10115 Berlin" in html
    # The same link in the next mail: an old mail's link keeps working.
    services.send_marketing_mail(
        consent=consent, purpose="newsletter", subject="More", text="More.", on_commit=False
    )
    assert url in smtp_inbox.messages[-1][1]["List-Unsubscribe"]


def test_no_consent_no_mail(smtp_inbox):
    _request(email="carl@example.org")  # pending only
    with pytest.raises(services.NoConsent):
        services.send_marketing_mail(
            purpose="newsletter", email="carl@example.org", subject="S", text="T", on_commit=False
        )
    with pytest.raises(services.NoConsent):
        services.send_marketing_mail(
            purpose="events", email="nobody@example.org", subject="S", text="T", on_commit=False
        )
    assert [m["Subject"] for m in smtp_inbox.messages] == []  # (the opt-in mail: on commit)


def _unsubscribe_path(smtp_inbox, email) -> str:
    message = smtp_inbox.to(email)[-1]
    return re.search(
        r"<https://crm\.example\.com(/consent/unsubscribe/[^>]+/)>", message["List-Unsubscribe"]
    )[1]


def test_withdrawal_by_the_link_applies_before_the_next_send(smtp_inbox):
    _grant()
    services.send_marketing_mail(
        purpose="newsletter", email="ben@example.org", subject="S", text="T", on_commit=False
    )
    path = _unsubscribe_path(smtp_inbox, "ben@example.org")
    client = Client()
    page = client.get(path)
    assert page.status_code == 200
    assert "Unsubscribe now" in page.content.decode()
    assert services.may_contact(purpose="newsletter", channel="email", email="ben@example.org")
    done = client.post(path, REMOTE_ADDR="203.0.113.20")
    assert "You are unsubscribed" in done.content.decode()
    assert not services.may_contact(purpose="newsletter", channel="email", email="ben@example.org")
    consent = Consent.objects.get(email="ben@example.org")
    assert consent.status == ConsentStatus.WITHDRAWN
    assert consent.withdrawn_at
    event = consent.events.get(kind="withdrawn")
    assert (event.note, event.ip_address) == ("link", "203.0.113.20")
    with pytest.raises(services.NoConsent):
        services.send_marketing_mail(
            purpose="newsletter", email="ben@example.org", subject="S", text="T", on_commit=False
        )


def test_one_click_post_withdraws_without_csrf(smtp_inbox):
    _grant(email="dora@example.org")
    services.send_marketing_mail(
        purpose="newsletter", email="dora@example.org", subject="S", text="T", on_commit=False
    )
    path = _unsubscribe_path(smtp_inbox, "dora@example.org")
    # What a mail provider sends (RFC 8058): no cookie, no token, just this body.
    response = Client(enforce_csrf_checks=True).post(
        path,
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    consent = Consent.objects.get(email="dora@example.org")
    assert consent.status == ConsentStatus.WITHDRAWN
    assert consent.events.get(kind="withdrawn").note == "one-click"
    assert not services.may_contact(purpose="newsletter", channel="email", email="dora@example.org")


def test_public_posts_are_rate_limited(requested):
    _consent, path, _message = requested
    client = Client()
    codes = {client.post("/consent/unsubscribe/unknown-token/").status_code for _ in range(3)}
    assert codes == {404}
    statuses = [client.post(path).status_code for _ in range(40)]
    assert 429 in statuses


def test_a_visitor_tracking_choice_is_granted_at_once():
    consent = services.request_consent(
        purpose="tracking", channel="web", email="eva@example.org", language="en", source="form"
    )
    assert consent.status == ConsentStatus.GRANTED
    assert consent.basis == "visitor"
    assert list(consent.events.values_list("kind", flat=True)) == ["granted"]
