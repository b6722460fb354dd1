"""The resolution rating: the closing e-mail's personal link, the public rating page, the rating
on the case page, its API and admin."""

import datetime as dt
import hashlib
import json
import re

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from kreis.activities.models import Activity
from kreis.parties.services import party_create
from kreis.service import rating, services
from kreis.service.models import CaseMessage, CaseRating, RatingToken, ServiceSettings
from kreis.service.rating import views as rating_views
from tests.conftest import client_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
BASE = "http://testserver/"
LINK = re.compile(r"http://testserver(/cases/rate/[A-Za-z0-9_-]+/)")


@pytest.fixture
def customer(alice):
    return party_create(
        actor=alice,
        kind="organization",
        name="Pumpen Schulz GmbH",
        emails=[{"value": "service@schulz.example"}],
    )


def open_case(actor, customer, category, *, language="de", subject="Pumpe undicht"):
    return services.case_create(
        actor=actor,
        party=customer,
        channel="phone",
        category=category,
        subject=subject,
        description="INTERNE-BESCHREIBUNG: Lieferant prüfen",
        severity="high",
        language=language,
        owner=actor,
    )


def close(actor, case, root_cause, *, base_url=BASE):
    steps = ("in_progress", "resolved", "closed")
    for status in steps[steps.index(case.status) + 1 :] if case.status in steps else steps:
        case = services.case_transition(
            actor=actor, case=case, to_status=status, root_cause=root_cause, base_url=base_url
        )
    return case


def closed_with_link(actor, customer, category, root_cause, capture, **extra):
    """A closed case and the path of the link its closing e-mail carried."""
    with capture(execute=True):
        case = close(actor, open_case(actor, customer, category, **extra), root_cause)
    return case, LINK.search(mail.outbox[-1].body)[1]


@pytest.fixture
def closed(alice, customer, defect, root_cause, django_capture_on_commit_callbacks):
    return closed_with_link(alice, customer, defect, root_cause, django_capture_on_commit_callbacks)


def test_closing_sends_the_rating_link_over_smtp_and_the_customer_rates_once(
    alice,
    customer,
    defect,
    root_cause,
    smtp_inbox,  # noqa: F811  (the fixture imported above)
    django_capture_on_commit_callbacks,
):
    case = open_case(alice, customer, defect)
    staff = client_for(alice)
    with django_capture_on_commit_callbacks(execute=True):
        for status in ("in_progress", "resolved", "closed"):
            data = {"to_status": status, "note": "", "root_cause": root_cause.pk}
            assert staff.post(f"/cases/{case.pk}/transition/", data).status_code == 302
    case.refresh_from_db()
    assert case.status == "closed"
    recipients, message = smtp_inbox.messages[-1]
    assert recipients == ["service@schulz.example"]
    assert (
        message["Subject"].strip()
        == f"Ihre Reklamation {case.number} ist abgeschlossen: Pumpe undicht"
    )
    body = message.get_content()
    assert "von 1 (sehr schlecht) bis 5 (sehr gut)" in body
    path = LINK.search(body)[1]
    raw = path.split("/")[-2]
    assert len(raw) >= 43  # 256 random bits
    # Only the token's SHA-256 is stored; the copy kept on the case does not carry the link.
    link = RatingToken.objects.get(case=case)
    assert link.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert abs(link.expires_at - link.created_at - dt.timedelta(days=30)) < dt.timedelta(seconds=5)
    kept = CaseMessage.objects.filter(case=case).order_by("pk").last()
    assert raw not in kept.body
    assert "persönlicher Bewertungslink" in kept.body

    customer_browser = Client()
    page = customer_browser.get(path)
    assert page.status_code == 200
    assert case.number in page.text
    assert "Pumpe undicht" in page.text
    thanks = customer_browser.post(path, {"rating": "2", "comment": "Hat zu lange gedauert."})
    assert thanks.status_code == 200
    assert "Vielen Dank für Ihre Bewertung" in thanks.text
    stored = CaseRating.objects.get(case=case)
    assert (stored.rating, stored.comment) == (2, "Hat zu lange gedauert.")

    again = customer_browser.post(path, {"rating": "5"})
    assert again.status_code == 410
    assert 'data-state="used"' in again.text
    assert customer_browser.get(path).status_code == 410
    assert CaseRating.objects.filter(case=case).count() == 1


def test_the_rating_shows_on_the_case_page_its_flow_and_the_customer_timeline(
    closed, alice, customer
):
    case, path = closed
    Client().post(path, {"rating": "4", "comment": "Schnell & freundlich <b>danke</b>"})
    page = client_for(alice).get(f"/cases/{case.pk}/")
    assert page.status_code == 200
    assert 'data-testid="case-ratings"' in page.text
    assert 'data-rating="4"' in page.text
    assert "Schnell &amp; freundlich &lt;b&gt;danke&lt;/b&gt;" in page.text  # escaped
    assert 'data-kind="rating"' in page.text  # a system entry of the case's flow
    note = Activity.objects.get(party=customer, subject__contains=case.number)
    assert "4" in note.subject
    assert f"/cases/{case.pk}/" in note.body


def test_an_expired_link_is_gone(closed):
    case, path = closed
    RatingToken.objects.filter(case=case).update(expires_at=timezone.now() - dt.timedelta(1))
    client = Client()
    page = client.get(path)
    assert page.status_code == 410
    assert 'data-state="expired"' in page.text
    assert client.post(path, {"rating": "5"}).status_code == 410
    assert not CaseRating.objects.exists()


def test_the_link_lasts_the_configured_days(
    alice, customer, defect, root_cause, django_capture_on_commit_callbacks
):
    settings_row = ServiceSettings.load()
    settings_row.rating_link_days = 7
    settings_row.save()
    case, _path = closed_with_link(
        alice, customer, defect, root_cause, django_capture_on_commit_callbacks
    )
    link = RatingToken.objects.get(case=case)
    assert abs(link.expires_at - link.created_at - dt.timedelta(days=7)) < dt.timedelta(seconds=5)


def test_a_tampered_or_unknown_link_is_not_found(closed):
    _case, path = closed
    raw = path.split("/")[-2]
    tampered = raw[:-1] + ("A" if raw[-1] != "A" else "B")
    client = Client()
    for token in (tampered, "x" * 43, "y" * 300):
        page = client.get(f"/cases/rate/{token}/")
        assert page.status_code == 404
        assert 'data-state="unknown"' in page.text
        assert client.post(f"/cases/rate/{token}/", {"rating": "1"}).status_code == 404
    assert not CaseRating.objects.exists()


def test_reopening_ends_the_link_and_closing_again_sends_a_new_one(
    closed, alice, root_cause, django_capture_on_commit_callbacks
):
    case, old = closed
    case = services.case_transition(
        actor=alice, case=case, to_status="in_progress", note="Kunde meldet sich erneut"
    )
    assert Client().get(old).status_code == 410  # not while the case is worked on again
    with django_capture_on_commit_callbacks(execute=True):
        case = close(alice, case, root_cause)
    new = LINK.search(mail.outbox[-1].body)[1]
    assert new != old
    client = Client()
    assert client.get(old).status_code == 410
    assert client.post(old, {"rating": "1"}).status_code == 410
    assert client.post(new, {"rating": "5"}).status_code == 200
    assert list(CaseRating.objects.values_list("rating", flat=True)) == [5]


def test_a_missing_or_wrong_rating_keeps_the_link(closed):
    case, path = closed
    client = Client()
    for data in ({}, {"rating": "0"}, {"rating": "6"}, {"rating": "abc"}):
        page = client.post(path, {**data, "comment": "Mein Text"})
        assert page.status_code == 422
        assert "Bitte wählen Sie eine Bewertung von 1 bis 5." in page.text
        assert "Mein Text" in page.text  # what was written stays
    too_long = client.post(path, {"rating": "3", "comment": "x" * 2001})
    assert too_long.status_code == 422
    assert not CaseRating.objects.exists()
    assert client.post(path, {"rating": "3"}).status_code == 200


def test_rating_posts_are_limited_per_address(closed, monkeypatch):
    _case, path = closed
    monkeypatch.setattr(rating_views, "RATING_POSTS_PER_IP", 2)
    client = Client()
    assert client.post(path, {}).status_code == 422
    assert client.post(path, {}).status_code == 422
    throttled = client.post(path, {"rating": "5"})
    assert throttled.status_code == 429
    assert 'data-state="throttled"' in throttled.text
    assert not CaseRating.objects.exists()
    other = Client(REMOTE_ADDR="10.1.2.3")
    assert other.post(path, {"rating": "5"}).status_code == 200


def test_the_page_shows_nothing_internal(closed, alice, customer, sam):
    case, path = closed
    services.case_add_note(actor=alice, case=case, body="GEHEIME-NOTIZ: Kulanz max. 50 EUR")
    page = Client().get(path)
    assert page.status_code == 200
    for internal in (
        "GEHEIME-NOTIZ",
        "INTERNE-BESCHREIBUNG",
        "Manufacturing fault",
        "Fertigungsfehler",
        customer.name,
        "service@schulz.example",
        alice.username,
        "Adler",
        f"/cases/{case.pk}/",
    ):
        assert internal not in page.text, internal
    assert page["Cache-Control"].startswith("max-age=0")
    assert "csrfmiddlewaretoken" in page.text


def test_the_page_speaks_the_cases_language(
    alice, customer, defect, root_cause, django_capture_on_commit_callbacks
):
    german, path_de = closed_with_link(
        alice, customer, defect, root_cause, django_capture_on_commit_callbacks, language="de"
    )
    english, path_en = closed_with_link(
        alice,
        customer,
        defect,
        root_cause,
        django_capture_on_commit_callbacks,
        language="en",
        subject="Pump leaks",
    )
    assert "is closed: Pump leaks" in mail.outbox[-1].subject
    page = Client().get(path_de, HTTP_ACCEPT_LANGUAGE="en")
    assert '<html lang="de"' in page.text
    assert "Wie zufrieden sind Sie mit der Lösung?" in page.text
    assert "Sehr schlecht" in page.text
    assert "Sehr gut" in page.text
    page = Client().get(path_en, HTTP_ACCEPT_LANGUAGE="de")
    assert '<html lang="en"' in page.text
    assert "How satisfied are you with the solution?" in page.text
    assert "Very poor" in page.text
    thanks = Client().post(path_en, {"rating": "5"}, HTTP_ACCEPT_LANGUAGE="de")
    assert "Thank you for your rating!" in thanks.text


def test_closing_without_a_base_url_or_an_address_sends_no_link(
    alice, defect, root_cause, django_capture_on_commit_callbacks
):
    silent = party_create(actor=alice, kind="organization", name="Ohne Mail GmbH")
    with django_capture_on_commit_callbacks(execute=True):
        close(alice, open_case(alice, silent, defect), root_cause)
    assert not RatingToken.objects.exists()
    assert mail.outbox == []
    known = party_create(
        actor=alice,
        kind="organization",
        name="Demo GmbH",
        emails=[{"value": "demo@example.org"}],
    )
    with django_capture_on_commit_callbacks(execute=True):
        close(alice, open_case(alice, known, defect), root_cause, base_url="")
    assert not RatingToken.objects.exists()  # demo data, imports: no closing e-mail
    assert [m.subject for m in mail.outbox if "abgeschlossen" in m.subject] == []


def test_the_api_lists_a_cases_ratings_to_those_who_see_it(closed, alice, charlie, api_key_for):
    case, path = closed
    Client().post(path, {"rating": "2", "comment": "Zu langsam"})

    def get(user):
        return Client().get(
            f"/api/v1/cases/{case.pk}/ratings",
            HTTP_AUTHORIZATION=f"Bearer {api_key_for(user, scope='read')}",
        )

    found = get(alice)
    assert found.status_code == 200
    rows = json.loads(found.content)
    assert [(r["rating"], r["comment"]) for r in rows] == [(2, "Zu langsam")]
    assert get(charlie).status_code == 404
    assert Client().get(f"/api/v1/cases/{case.pk}/ratings").status_code == 401


def test_the_admin_lists_ratings_and_links_read_only_without_hashes(closed):
    case, path = closed
    Client().post(path, {"rating": "3"})
    admin = client_for(UserFactory(username="root", is_staff=True, is_superuser=True))
    ratings = admin.get("/django-admin/service/caserating/")
    assert ratings.status_code == 200
    assert case.number in ratings.text
    assert "/django-admin/service/caserating/add/" not in ratings.text
    links = admin.get("/django-admin/service/ratingtoken/")
    assert links.status_code == 200
    token_hash = RatingToken.objects.get(case=case).token_hash
    assert token_hash not in links.text
    link = RatingToken.objects.get(case=case)
    detail = admin.get(f"/django-admin/service/ratingtoken/{link.pk}/change/")
    assert detail.status_code == 200
    assert token_hash not in detail.text
    stored = CaseRating.objects.get(case=case)
    assert admin.post(f"/django-admin/service/caserating/{stored.pk}/delete/").status_code == 403


def test_a_double_submit_is_counted_once(closed):
    _case, path = closed
    raw = path.split("/")[-2]
    rating.rating_submit(raw_token=raw, rating=4)
    with pytest.raises(ValidationError) as refused:
        rating.rating_submit(raw_token=raw, rating=4)
    assert getattr(refused.value, "code", None) == "used"
    assert CaseRating.objects.count() == 1


def test_the_page_escapes_the_subject_and_needs_the_csrf_token(
    alice, customer, defect, root_cause, django_capture_on_commit_callbacks
):
    case, path = closed_with_link(
        alice,
        customer,
        defect,
        root_cause,
        django_capture_on_commit_callbacks,
        subject='<script>alert("x")</script>',
    )
    page = Client().get(path)
    assert '<script>alert("x")</script>' not in page.text
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page.text
    forged = Client(enforce_csrf_checks=True).post(path, {"rating": "1"})
    assert forged.status_code == 403
    assert not CaseRating.objects.filter(case=case).exists()


def test_closing_resolved_cases_in_bulk_sends_the_links_with_a_base_url(
    alice, customer, defect, root_cause, django_capture_on_commit_callbacks
):
    import io

    from django.core.management import CommandError, call_command

    case = open_case(alice, customer, defect)
    for status in ("in_progress", "resolved"):
        case = services.case_transition(
            actor=alice, case=case, to_status=status, root_cause=root_cause
        )
    with pytest.raises(CommandError, match="base-url"):
        call_command("cases", "close-resolved", "--older-than", "0", "--base-url", "crm.example")
    with django_capture_on_commit_callbacks(execute=True):
        call_command(
            "cases",
            "close-resolved",
            "--older-than",
            "0",
            "--base-url",
            "https://crm.example.com/",
            stdout=io.StringIO(),
        )
    case.refresh_from_db()
    assert case.status == "closed"
    assert "https://crm.example.com/cases/rate/" in mail.outbox[-1].body
    assert RatingToken.objects.filter(case=case).count() == 1
