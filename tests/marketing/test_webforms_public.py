"""Public web-to-lead forms: what a visitor (or a website posting from its own HTML) sends
becomes a lead, updates the matching one, or is refused with what was typed kept; spam,
rate limit, CORS, framing, UTM and campaign, custom fields and consent."""

from __future__ import annotations

import json
import time

import pytest
from django.test import Client
from django.urls import reverse

from kreis.activities.models import Activity
from kreis.core import publicforms
from kreis.core.models import CustomField
from kreis.leads.models import Lead
from kreis.marketing.defaults import ensure_defaults
from kreis.marketing.models import (
    Campaign,
    Consent,
    ConsentStatus,
    FormSubmission,
    MarketingSettings,
)
from kreis.marketing.webforms import services
from kreis.marketing.webforms.services import STAMP_SALT
from kreis.parties.models import ContactKind, ContactPoint
from tests.parties.factories import PersonFactory

pytestmark = pytest.mark.django_db

SITE = "https://www.shop.example"


def old_stamp() -> str:
    return publicforms.new_stamp(STAMP_SALT, at=time.time() - 60)


@pytest.fixture
def webform(db):
    return services.form_create(
        actor=None,
        name="Contact",
        key="contact",
        language="en",
        title="Talk to us",
        fields=[
            {"key": "first_name", "label": "", "required": False},
            {"key": "last_name", "label": "", "required": True},
            {"key": "email", "label": "Your e-mail", "required": True},
            {"key": "company", "label": "", "required": False},
            {"key": "message", "label": "", "required": False},
        ],
        allowed_origins=SITE,
        lead_source="website contact",
    )


def send(client: Client, key: str = "contact", **data):
    body = {"stamp": old_stamp(), "last_name": "Kraus", "email": "kim@kraus.example", **data}
    return client.post(reverse("webform_public:form", args=[key]), body)


def test_the_form_page_shows_the_fields_in_the_forms_language(client, webform):
    page = client.get(reverse("webform_public:form", args=["contact"]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Talk to us" in html
    assert "Your e-mail" in html
    assert "Last name" in html
    assert 'lang="en"' in html


def test_a_german_form_speaks_german(client, webform):
    webform.language = "de"
    webform.save()
    html = client.get(reverse("webform_public:form", args=["contact"])).content.decode()
    assert "Nachname" in html
    assert 'lang="de"' in html


def test_a_submission_creates_a_lead_with_the_forms_source_and_a_timeline_note(client, webform):
    response = send(client, first_name="Kim", company="Kraus GmbH", message="Call me, please")
    assert response.status_code == 200
    assert "Thank you" in response.content.decode()
    lead = Lead.objects.get(email="kim@kraus.example")
    assert (lead.first_name, lead.last_name, lead.company) == ("Kim", "Kraus", "Kraus GmbH")
    assert lead.source == "website contact"
    assert lead.language == "en"
    assert lead.notes == "Call me, please"
    submission = FormSubmission.objects.get()
    assert submission.outcome == "created"
    assert submission.lead == lead
    note = Activity.objects.get(lead=lead)
    assert "Contact" in note.subject
    assert "Call me, please" in note.body


def test_a_second_submission_updates_the_duplicate_and_overwrites_nothing(client, webform):
    existing = Lead.objects.create(
        last_name="Kraus", email="kim@kraus.example", company="", first_name="Kimberly"
    )
    response = send(client, first_name="", company="Kraus AG", email="KIM@kraus.example")
    assert response.status_code == 200
    existing.refresh_from_db()
    assert existing.first_name == "Kimberly"  # not overwritten by a blank
    assert existing.company == "Kraus AG"  # an empty field filled
    assert Lead.objects.count() == 1
    assert FormSubmission.objects.get().outcome == "updated"


def test_a_known_persons_address_links_the_submission_to_the_person(client, webform):
    person = PersonFactory(first_name="Kim", last_name="Kraus")
    ContactPoint.objects.create(party=person, kind=ContactKind.EMAIL, value="kim@kraus.example")
    send(client)
    submission = FormSubmission.objects.get()
    assert (submission.outcome, submission.party, submission.lead) == ("party", person, None)
    assert not Lead.objects.exists()
    assert Activity.objects.filter(party=person).exists()


def test_errors_answer_422_keep_the_input_and_say_what_is_wrong(client, webform):
    response = send(client, last_name="", email="not-an-address", company="Kraus GmbH")
    html = response.content.decode()
    assert response.status_code == 422
    assert 'value="Kraus GmbH"' in html
    assert 'value="not-an-address"' in html
    assert "Please fill in this field." in html
    assert "Enter a valid e-mail address" in html
    assert not Lead.objects.exists()


def test_a_filled_honeypot_gets_thanks_and_stores_nothing(client, webform):
    response = send(client, website="http://spam.example")
    assert response.status_code == 200
    assert not Lead.objects.exists()
    assert not FormSubmission.objects.exists()


def test_the_time_trap_refuses_a_form_sent_too_fast(client, webform):
    fresh = publicforms.new_stamp(STAMP_SALT)
    response = send(client, stamp=fresh)
    assert response.status_code == 422
    assert "very fast" in response.content.decode()
    assert not Lead.objects.exists()


def test_a_tampered_stamp_is_refused(client, webform):
    response = send(client, stamp="forged:stamp")
    assert response.status_code == 422
    assert not Lead.objects.exists()


def test_one_stamp_makes_one_submission(client, webform):
    stamp = old_stamp()
    send(client, stamp=stamp)
    again = send(client, stamp=stamp)
    assert again.status_code == 200
    assert FormSubmission.objects.count() == 1


def test_over_the_rate_limit_answers_429_with_retry_after(client, webform):
    MarketingSettings.objects.update_or_create(pk=1, defaults={"form_posts_per_hour": 2})
    assert send(client, email="a@kraus.example").status_code == 200
    assert send(client, email="b@kraus.example").status_code == 200
    third = send(client, email="c@kraus.example")
    assert third.status_code == 429
    assert 1 <= int(third["Retry-After"]) <= 3600
    assert Lead.objects.count() == 2


def test_the_rate_limit_can_be_switched_off(client, webform):
    MarketingSettings.objects.update_or_create(
        pk=1, defaults={"form_posts_per_hour": 1, "rate_limit_enabled": False}
    )
    for n in range(3):
        assert send(client, email=f"{n}@kraus.example").status_code == 200
    assert Lead.objects.count() == 3


def test_the_embed_page_may_be_framed_only_by_the_allowed_origins(client, webform):
    response = client.get(reverse("webform_public:embed", args=["contact"]))
    csp = response["Content-Security-Policy"]
    assert f"frame-ancestors 'self' {SITE}" in csp
    assert "X-Frame-Options" not in response
    page = client.get(reverse("webform_public:form", args=["contact"]))
    assert "frame-ancestors 'none'" in page["Content-Security-Policy"]


def test_embed_js_inserts_the_frame_and_checks_message_origins(client, webform):
    script = client.get(reverse("webform_public:embed_js", args=["contact"]))
    body = script.content.decode()
    assert script["Content-Type"].startswith("text/javascript")
    assert "/f/contact/embed/" in body
    assert "event.origin !== origin" in body


def test_utm_parameters_referrer_and_page_are_captured(client, webform):
    page = client.get(
        reverse("webform_public:embed", args=["contact"]),
        {
            "page": "https://www.shop.example/offer?utm_source=news&utm_medium=email"
            "&utm_campaign=Spring-Fair",
            "ref": "https://search.example/",
            "parent": SITE,
        },
    )
    html = page.content.decode()
    assert 'name="utm_source" value="news"' in html
    campaign = Campaign.objects.create(name="Spring fair", code="spring-fair", channel="event")
    response = client.post(
        reverse("webform_public:embed", args=["contact"]),
        {
            "stamp": old_stamp(),
            "last_name": "Kraus",
            "email": "kim@kraus.example",
            "utm_source": "news",
            "utm_medium": "email",
            "utm_campaign": "Spring-Fair",
            "page_url": "https://www.shop.example/offer",
            "referrer": "https://search.example/",
        },
    )
    assert response.status_code == 200
    submission = FormSubmission.objects.get()
    assert (submission.utm_source, submission.utm_medium) == ("news", "email")
    assert submission.referrer == "https://search.example/"
    assert submission.page_url == "https://www.shop.example/offer"
    assert submission.campaign == campaign  # by its code, ignoring case


def test_the_forms_own_campaign_wins_over_utm(client, webform):
    own = Campaign.objects.create(name="Web", code="web", channel="web")
    Campaign.objects.create(name="Other", code="other", channel="web")
    webform.campaign = own
    webform.save()
    send(client, utm_campaign="other")
    assert FormSubmission.objects.get().campaign == own


def test_a_custom_lead_field_is_stored_on_the_lead(client, webform):
    CustomField.objects.create(
        entity="lead", key="budget_band", label="Budget", type="choice", choices=["small", "large"]
    )
    services.form_update(
        actor=None,
        form=webform,
        fields=[*webform.fields, {"key": "custom.budget_band", "label": "", "required": True}],
    )
    refused = send(client, **{"custom.budget_band": "huge"})
    assert refused.status_code == 422
    assert "Choose one of" in refused.content.decode()
    send(client, **{"custom.budget_band": "large"})
    assert Lead.objects.get().custom == {"budget_band": "large"}


# --- JSON endpoint and CORS --------------------------------------------------------------------


def test_json_post_from_an_allowed_origin_creates_the_lead_with_cors(client, webform):
    url = reverse("webform_public:submit", args=["contact"])
    definition = client.get(url, HTTP_ORIGIN=SITE)
    assert definition["Access-Control-Allow-Origin"] == SITE
    assert {f["key"] for f in definition.json()["fields"]} >= {"last_name", "email"}
    body = {
        "stamp": old_stamp(),
        "last_name": "Kraus",
        "email": "kim@kraus.example",
        "page_url": "https://www.shop.example/?utm_source=ads",
    }
    response = client.post(url, json.dumps(body), content_type="application/json", HTTP_ORIGIN=SITE)
    assert response.status_code == 201
    assert response["Access-Control-Allow-Origin"] == SITE
    assert Lead.objects.filter(email="kim@kraus.example").exists()
    assert FormSubmission.objects.get().utm_source == "ads"


def test_preflight_allows_only_the_listed_origins(client, webform):
    url = reverse("webform_public:submit", args=["contact"])
    allowed = client.options(url, HTTP_ORIGIN=SITE, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert allowed.status_code == 204
    assert allowed["Access-Control-Allow-Origin"] == SITE
    assert "POST" in allowed["Access-Control-Allow-Methods"]
    other = client.options(
        url, HTTP_ORIGIN="https://evil.example", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST"
    )
    assert "Access-Control-Allow-Origin" not in other


def test_a_post_from_another_website_is_refused(client, webform):
    response = client.post(
        reverse("webform_public:submit", args=["contact"]),
        {"stamp": old_stamp(), "last_name": "Kraus", "email": "kim@kraus.example"},
        HTTP_ORIGIN="https://evil.example",
    )
    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response
    assert not Lead.objects.exists()


def test_json_errors_are_422_per_field_and_rate_limit_429(client, webform):
    url = reverse("webform_public:submit", args=["contact"])
    bad = client.post(
        url,
        json.dumps({"stamp": old_stamp(), "email": "x"}),
        content_type="application/json",
        HTTP_ORIGIN=SITE,
    )
    assert bad.status_code == 422
    errors = bad.json()["errors"]
    assert set(errors) == {"last_name", "email"}
    MarketingSettings.objects.update_or_create(pk=1, defaults={"form_posts_per_hour": 1})
    limited = client.post(
        url,
        json.dumps({"stamp": old_stamp(), "last_name": "K", "email": "k@kraus.example"}),
        content_type="application/json",
        HTTP_ORIGIN=SITE,
    )
    assert limited.status_code == 429
    assert int(limited["Retry-After"]) >= 1
    assert limited["Access-Control-Allow-Origin"] == SITE


def test_an_inactive_or_unknown_form_is_404(client, webform):
    webform.is_active = False
    webform.save()
    assert client.get(reverse("webform_public:form", args=["contact"])).status_code == 404
    assert client.get(reverse("webform_public:form", args=["nothing"])).status_code == 404


# --- consent ---------------------------------------------------------------------------------


def test_ticked_consent_is_requested_with_proof_and_double_opt_in_mail(
    client, webform, smtp_inbox, django_capture_on_commit_callbacks
):
    ensure_defaults()
    MarketingSettings.objects.update_or_create(
        pk=1, defaults={"public_base_url": "https://crm.example", "sender_email": "m@crm.example"}
    )
    services.form_update(actor=None, form=webform, consent_purposes=["newsletter", "tracking"])
    page = client.get(reverse("webform_public:form", args=["contact"])).content.decode()
    assert "I would like to receive the newsletter" in page
    with django_capture_on_commit_callbacks(execute=True):
        send(client, consent_newsletter="1", HTTP_USER_AGENT="TestBrowser/1.0")
    consent = Consent.objects.get(purpose="newsletter")
    lead = Lead.objects.get()
    assert consent.lead == lead
    assert consent.status == ConsentStatus.PENDING
    assert consent.text.language == "en"
    assert consent.ip_address == "127.0.0.1"
    assert not Consent.objects.filter(purpose="tracking").exists()  # not ticked
    assert smtp_inbox.to("kim@kraus.example")
