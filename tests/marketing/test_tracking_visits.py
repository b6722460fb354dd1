"""Website tracking, the inside: a visitor who sends a web form is linked to its lead (earlier
visits back-filled, its website consent recorded); visits follow a conversion; old visits are
purged; visits show on the lead and contact pages, in the API, in scoring and in the CLI."""

import datetime as dt
import io
import json

import pytest
from django.core.management import call_command
from django.utils import timezone

from kreis.analytics.scoring import engine
from kreis.leads.models import Lead
from kreis.marketing.defaults import ensure_defaults
from kreis.marketing.models import (
    Consent,
    ConsentPurpose,
    ConsentStatus,
    LeadForm,
    MarketingSettings,
    PageVisit,
    Visitor,
)
from kreis.marketing.tracking import services
from kreis.marketing.webforms import services as webforms
from kreis.parties.models import Party, PartyKind
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

SITE = "https://www.example.com"
VID = "visitor-0123456789abcdef"


@pytest.fixture(autouse=True)
def _setup():
    ensure_defaults()
    config = MarketingSettings.load()
    config.tracking_allowed_origins = SITE
    config.public_base_url = "https://crm.example.com"
    config.save()


def _visits(uid=VID, paths=("/", "/pricing", "/pricing?utm_source=ads"), at=None):
    return services.visits_record(
        uid=uid,
        visits=[services.VisitIn(url=SITE + p, title=p, at=at) for p in paths],
        now=at,
    )[0]


def _form():
    return LeadForm.objects.create(
        name="Contact", key="contact", language="de", fields=webforms.default_fields()
    )


def _submit(form, *, visitor_uid=VID, email="anna@example.org"):
    return webforms.submit(
        form,
        {"last_name": "Adler", "first_name": "Anna", "email": email},
        ip="198.51.100.7",
        user_agent="Firefox/130",
        page_url=SITE + "/contact",
        referrer="",
        utm={},
        visitor_uid=visitor_uid,
    )


def test_sending_a_form_links_the_visitor_and_back_fills_its_visits():
    visitor = _visits()
    other = _visits(uid="someone-else-0123456789")
    submission = _submit(_form())
    lead = submission.lead
    visitor.refresh_from_db()
    assert visitor.lead == lead
    assert PageVisit.objects.filter(lead=lead).count() == 3
    # Another visitor's visits stay anonymous.
    assert not PageVisit.objects.filter(visitor=other, lead__isnull=False).exists()
    # The website consent is on the lead's record now: tracking, web, the visitor's choice.
    consent = Consent.objects.get(lead=lead, purpose=ConsentPurpose.TRACKING)
    assert consent.status == ConsentStatus.GRANTED
    assert (consent.channel, consent.basis, consent.source) == ("web", "visitor", "form")
    assert consent.ip_address == "198.51.100.7"
    # Visits after identifying belong to the lead at once.
    _visits(paths=("/blog",))
    assert PageVisit.objects.filter(lead=lead).count() == 4


def test_a_form_without_a_visitor_id_links_nothing():
    _visits()
    submission = _submit(_form(), visitor_uid=None)
    assert not Visitor.objects.filter(lead=submission.lead).exists()
    assert not Consent.objects.filter(purpose=ConsentPurpose.TRACKING).exists()


def test_visits_follow_a_converted_lead_to_the_person(alice):
    _visits()
    lead = _submit(_form()).lead
    person = Party.objects.create(kind=PartyKind.PERSON, name="Anna Adler", owner=alice)
    lead.converted_person = person
    lead.converted_at = timezone.now()
    lead.save()
    assert PageVisit.objects.filter(party=person).count() == 3
    assert Visitor.objects.get(uid=VID).party == person


def test_revoking_after_identifying_withdraws_the_tracking_consent():
    _visits()
    lead = _submit(_form()).lead
    assert services.visitor_forget(uid=VID)
    consent = Consent.objects.get(lead=lead, purpose=ConsentPurpose.TRACKING)
    assert consent.status == ConsentStatus.WITHDRAWN
    assert not PageVisit.objects.filter(lead=lead).exists()


def test_the_purge_deletes_only_visits_older_than_the_retention():
    config = MarketingSettings.load()
    config.visit_retention_days = 30
    config.save()
    now = timezone.now()
    _visits(uid="old-visitor-0123456789ab", paths=("/old",), at=now - dt.timedelta(days=40))
    Visitor.objects.filter(uid="old-visitor-0123456789ab").update(
        last_seen=now - dt.timedelta(days=40)
    )
    PageVisit.objects.update(at=now - dt.timedelta(days=40))
    _visits(paths=("/recent",), at=now - dt.timedelta(days=29))
    PageVisit.objects.filter(path="/recent").update(at=now - dt.timedelta(days=29))
    result = services.visits_purge(now=now)
    assert result["visits"] == 1
    assert result["visitors"] == 1
    assert list(PageVisit.objects.values_list("path", flat=True)) == ["/recent"]
    assert list(Visitor.objects.values_list("uid", flat=True)) == [VID]


def test_the_cli_purges_and_reports():
    _visits()
    PageVisit.objects.filter(path="/").update(at=timezone.now() - dt.timedelta(days=400))
    out = io.StringIO()
    call_command("marketing", "tracking", "purge", stdout=out)
    assert "1 page visits" in out.getvalue()
    out = io.StringIO()
    call_command("marketing", "tracking", "stats", "--json", stdout=out)
    stats = json.loads(out.getvalue())
    assert stats["visits"] == 2
    assert stats["anonymous"] == 1
    assert stats["top_pages"] == [{"value": "/pricing", "visits": 2}]
    assert stats["top_sources"] == [{"value": "ads", "visits": 1}]


def test_the_lead_page_shows_the_visits_grouped_to_whoever_may_see_the_lead(alice, charlie):
    _visits()
    lead = _submit(_form()).lead
    Lead.objects.filter(pk=lead.pk).update(owner=alice)
    page = client_for(alice).get(f"/leads/{lead.pk}/")
    assert f"/marketing/tracking/leads/{lead.pk}/visits/" in page.content.decode()
    panel = client_for(alice).get(f"/marketing/tracking/leads/{lead.pk}/visits/")
    html = panel.content.decode()
    assert "Visited 3 pages" in html or "3 Seiten besucht" in html
    assert "/pricing" in html
    assert (
        client_for(charlie).get(f"/marketing/tracking/leads/{lead.pk}/visits/").status_code == 404
    )


def test_the_api_lists_a_leads_visits_and_the_stats(alice, dana, api_key_for):
    _visits()
    lead = _submit(_form()).lead
    Lead.objects.filter(pk=lead.pk).update(owner=alice)
    client = client_for(alice)
    response = client.get(f"/api/v1/leads/{lead.pk}/visits")
    assert response.status_code == 200
    items = response.json()["items"]
    assert {v["path"] for v in items} == {"/", "/pricing"}
    assert client.get("/api/v1/tracking/stats").status_code == 403  # not marketing
    stats = client_for(dana).get("/api/v1/tracking/stats?days=7").json()
    assert stats["visits"] == 3
    assert stats["identified"] == 1


def test_the_settings_refuse_a_bad_origin_and_keep_the_input(dana):
    client = client_for(dana)
    response = client.post(
        "/marketing/tracking/settings/",
        {
            "tracking_enabled": "on",
            "tracking_allowed_origins": "https://ok.example.com\nnot a site",
            "visit_retention_days": "90",
        },
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "not a site" in html
    assert MarketingSettings.load().visit_retention_days != 90
    saved = client.post(
        "/marketing/tracking/settings/",
        {"tracking_allowed_origins": "https://ok.example.com/", "visit_retention_days": "90"},
    )
    assert saved.status_code == 302
    config = MarketingSettings.load()
    assert (config.tracking_enabled, config.visit_retention_days) == (False, 90)
    assert config.tracking_origins() == ["https://ok.example.com"]


def test_the_overview_shows_figures_and_the_snippet(dana, alice):
    _visits()
    page = client_for(dana).get("/marketing/tracking/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "/t/kreis.js" in html
    assert "/pricing" in html
    assert client_for(alice).get("/marketing/tracking/").status_code == 403


def test_scoring_counts_website_and_pricing_visits_of_the_last_30_days():
    _visits()
    lead = _submit(_form()).lead
    old = _visits(uid="older-visitor-0123456789", paths=("/pricing",))
    old.lead = lead
    old.save()
    PageVisit.objects.filter(visitor=old).update(
        lead=lead, at=timezone.now() - dt.timedelta(days=31)
    )
    keys = {f.key for f in engine.available_fields("lead")}
    assert {"website_visits_30d", "pricing_visits_30d"} <= keys
    frame = engine.load_frame("lead", ["website_visits_30d", "pricing_visits_30d"], ids=[lead.pk])
    row = frame.set_index("id").loc[lead.pk]
    assert (row["website_visits_30d"], row["pricing_visits_30d"]) == (3, 2)
