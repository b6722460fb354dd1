"""Consents as staff see and change them: the history card on the party and lead pages, staff
recording and withdrawing, conversion moving a lead's consents to its person, the API, the
consent texts with their versions, the CLI — and who may do what."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from kreis.leads.services import lead_convert, lead_set_status
from kreis.marketing.consent import services
from kreis.marketing.defaults import ensure_defaults
from kreis.marketing.models import Consent, ConsentStatus, ConsentText, MarketingSettings
from tests.conftest import client_for
from tests.leads.factories import LeadFactory
from tests.parties.factories import PersonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _setup():
    ensure_defaults()
    config = MarketingSettings.load()
    config.public_base_url = "https://crm.example.com"
    config.save()


@pytest.fixture
def person(alice, north):
    return PersonFactory(first_name="Jana", last_name="Weber", owner=alice, team=north)


@pytest.fixture
def granted(person):
    consent = services.request_consent(
        purpose="newsletter",
        channel="email",
        email="jana@example.org",
        language="de",
        source="form",
        party=person,
        ip="198.51.100.7",
        user_agent="Firefox/130",
    )
    services.confirm(consent, ip="203.0.113.5", user_agent="Firefox/131")
    return consent


def _api(user, api_key_for):
    key = api_key_for(user)

    def call(method, path, data=None):
        return getattr(Client(), method)(
            f"/api/v1{path}",
            data if method == "get" else json.dumps(data or {}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {key}",
        )

    return call


def test_the_party_page_shows_the_history_with_the_exact_text(alice, person, granted):
    page = client_for(alice).get(f"/parties/{person.pk}/")
    assert f'hx-get="/marketing/consent/party/{person.pk}/"' in page.content.decode()
    card = client_for(alice).get(f"/marketing/consent/party/{person.pk}/").content.decode()
    assert "Newsletter" in card
    assert "Granted" in card
    assert "198.51.100.7" in card
    assert "203.0.113.5" in card
    assert "Firefox/130" in card
    assert "Version 1 (de)" in card
    assert granted.text.text in card  # the exact wording behind the version
    assert "Confirmation e-mail sent" in card
    assert "Confirmed" in card
    assert "Record consent" in card
    assert "Withdraw consent" in card


def test_a_rep_without_access_to_the_party_gets_404(charlie, person, granted, api_key_for):
    client = client_for(charlie)
    assert client.get(f"/marketing/consent/party/{person.pk}/").status_code == 404
    assert client.get(f"/marketing/consent/party/{person.pk}/record/").status_code == 404
    assert client.post(f"/marketing/consent/{granted.pk}/withdraw/").status_code == 404
    api = _api(charlie, api_key_for)
    assert api("get", f"/parties/{person.pk}/consents").status_code == 404
    assert api("post", f"/marketing/consents/{granted.pk}/withdraw").status_code == 404
    granted.refresh_from_db()
    assert granted.status == ConsentStatus.GRANTED


def test_read_only_sees_but_cannot_withdraw(rory, person, granted):
    client = client_for(rory)
    card = client.get(f"/marketing/consent/party/{person.pk}/").content.decode()
    assert "Newsletter" in card
    assert "Withdraw consent" not in card
    assert client.post(f"/marketing/consent/{granted.pk}/withdraw/").status_code == 403
    granted.refresh_from_db()
    assert granted.status == ConsentStatus.GRANTED


def test_staff_record_an_existing_customer_and_withdraw_it(alice, person):
    client = client_for(alice)
    url = f"/marketing/consent/party/{person.pk}/record/"
    bad = client.post(
        url,
        {
            "purpose": "marketing",
            "channel": "email",
            "basis": "documented",
            "language": "de",
            "email": "jana@example.org",
            "note": "",
        },
    )
    assert bad.status_code == 422
    assert 'value="jana@example.org"' in bad.content.decode()  # what was typed stays
    assert not Consent.objects.exists()
    done = client.post(
        url,
        {
            "purpose": "marketing",
            "channel": "email",
            "basis": "existing_customer",
            "language": "de",
            "email": "jana@example.org",
            "note": "Kauf 2026-03",
        },
    )
    assert done.status_code == 302
    consent = Consent.objects.get()
    assert (consent.status, consent.basis, consent.recorded_by) == (
        "granted",
        "existing_customer",
        alice,
    )
    # An existing customer's consent counts for advertising e-mail of every kind.
    assert services.may_contact(purpose="events", channel="email", party=person)
    assert not services.may_contact(purpose="phone", channel="phone", party=person)
    client.post(f"/marketing/consent/{consent.pk}/withdraw/", {"back": "party"})
    consent.refresh_from_db()
    assert consent.status == ConsentStatus.WITHDRAWN
    assert consent.events.get(kind="withdrawn").actor == alice
    assert not services.may_contact(purpose="marketing", channel="email", party=person)


def test_consents_move_to_the_person_on_conversion(alice, north):
    lead = LeadFactory(owner=alice, team=north, last_name="Kurz", email="kurz@example.org")
    consent = services.request_consent(
        purpose="newsletter",
        channel="email",
        email="",
        language="en",
        source="form",
        lead=lead,
    )
    services.confirm(consent)
    lead_set_status(actor=alice, lead=lead, status="contacted")
    result = lead_convert(actor=alice, lead=lead, create_deal=False)
    consent.refresh_from_db()
    assert consent.party == result.person
    assert consent.lead == lead
    assert consent.events.filter(kind="moved").count() == 1
    assert services.may_contact(purpose="newsletter", channel="email", party=result.person)
    card = client_for(alice).get(f"/marketing/consent/party/{result.person.pk}/").content.decode()
    assert "Moved to the converted contact" in card
    lead_card = client_for(alice).get(f"/marketing/consent/lead/{lead.pk}/").content.decode()
    assert "Newsletter" in lead_card


def test_the_api_gives_the_history_records_and_withdraws(alice, person, granted, api_key_for):
    api = _api(alice, api_key_for)
    [row] = api("get", f"/parties/{person.pk}/consents").json()
    assert row["status"] == "granted"
    assert row["text_version"] == 1
    assert row["text"] == granted.text.text
    assert row["confirmed_ip"] == "203.0.113.5"
    assert [e["kind"] for e in row["events"]] == ["requested", "mail_sent", "confirmed"]
    made = api(
        "post",
        f"/parties/{person.pk}/consents",
        {"purpose": "events", "basis": "documented", "note": "Signed at the fair"},
    )
    assert made.status_code == 201, made.json()
    assert made.json()["status"] == "granted"
    assert made.json()["email"] == person_email(person)
    bad = api("post", f"/parties/{person.pk}/consents", {"purpose": "events", "basis": "visitor"})
    assert bad.status_code == 422
    gone = api("post", f"/marketing/consents/{granted.pk}/withdraw")
    assert gone.status_code == 200
    assert gone.json()["status"] == "withdrawn"
    assert not services.may_contact(purpose="newsletter", channel="email", party=person)


def person_email(person):
    return services._address_of(person, None)


def test_consent_texts_get_new_versions_never_edits(alice, dana, api_key_for):
    client = client_for(dana)
    page = client.get("/marketing/consent/texts/").content.decode()
    assert "Version 1" in page
    response = client.post(
        "/marketing/consent/texts/new/",
        {"purpose": "newsletter", "language": "en", "text": "Yes, send me the newsletter."},
    )
    assert response.status_code == 302
    versions = list(
        ConsentText.objects.filter(purpose="newsletter", language="en").values_list(
            "version", flat=True
        )
    )
    assert versions == [2, 1]
    consent = services.request_consent(
        purpose="newsletter",
        channel="email",
        email="x@example.org",
        language="en",
        source="form",
    )
    assert consent.text.version == 2
    api = _api(dana, api_key_for)
    made = api(
        "post",
        "/marketing/consent-texts",
        {"purpose": "newsletter", "language": "en", "text": "v3"},
    )
    assert made.status_code == 201
    assert made.json()["version"] == 3
    # A sales rep neither sees the texts page nor adds versions.
    assert client_for(alice).get("/marketing/consent/texts/").status_code == 403
    assert (
        _api(alice, api_key_for)(
            "post",
            "/marketing/consent-texts",
            {"purpose": "newsletter", "language": "en", "text": "x"},
        ).status_code
        == 403
    )


def test_the_cli_lists_withdraws_and_expires(person, granted):
    out = StringIO()
    call_command("marketing", "consents", "list", "--email", "JANA@example.org", stdout=out)
    assert "newsletter/email  granted  double_opt_in  v1/de" in out.getvalue()
    out = StringIO()
    call_command(
        "marketing",
        "consents",
        "withdraw",
        "--email",
        "jana@example.org",
        "--purpose",
        "newsletter",
        stdout=out,
    )
    assert "1 consents withdrawn." in out.getvalue()
    assert not services.may_contact(purpose="newsletter", channel="email", party=person)
    out = StringIO()
    call_command("marketing", "consents", "expire", stdout=out)
    assert "0 pending consents expired." in out.getvalue()
