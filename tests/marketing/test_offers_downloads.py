"""Content offers: upload checks (size, type by content), the gated download after a form
(link by e-mail through a real SMTP server, counted, campaign touch, expiry), and the
automatic follow-up on three pricing visits — once, and only with marketing consent."""

import datetime as dt
import io
import re

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from kreis.leads.models import Lead
from kreis.marketing.consent import services as consent_services
from kreis.marketing.defaults import ensure_defaults
from kreis.marketing.models import (
    Campaign,
    CampaignTouch,
    ContentDownload,
    ContentOffer,
    FollowUpRule,
    FollowUpSent,
    LeadForm,
    MarketingSettings,
)
from kreis.marketing.offers import followups, services
from kreis.marketing.tracking import services as tracking
from kreis.marketing.webforms import services as webforms
from tests.conftest import client_for
from tests.smtpserver import body_text

pytestmark = pytest.mark.django_db

BASE = "https://crm.example.com"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def _setup(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    ensure_defaults()
    config = MarketingSettings.load()
    config.public_base_url = BASE
    config.imprint = "Beispiel GmbH, Hauptstraße 1, 10115 Berlin"
    config.save()


def _pdf(name="whitepaper.pdf", content=PDF):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def _offer(name="Whitepaper", position=1, **fields):
    return services.offer_create(actor=None, file=_pdf(), name=name, position=position, **fields)


def _form():
    return LeadForm.objects.create(
        name="Whitepaper form", key="whitepaper", language="en", fields=webforms.default_fields()
    )


def _submit(form, email="anna@example.org"):
    return webforms.submit(
        form,
        {"last_name": "Adler", "email": email},
        ip="198.51.100.7",
        user_agent="Firefox/130",
        page_url="https://www.example.com/whitepaper",
        referrer="",
        utm={},
        visitor_uid=None,
    )


def test_marketing_uploads_an_offer_and_a_program_is_refused(dana):
    client = client_for(dana)
    response = client.post(
        "/marketing/offers/new/",
        {
            "name": "Price list",
            "language": "de",
            "position": "2",
            "is_active": "on",
            "file": _pdf(),
        },
    )
    assert response.status_code == 302
    offer = ContentOffer.objects.get(name="Price list")
    assert (offer.content_type, offer.filename, offer.size) == (
        "application/pdf",
        "whitepaper.pdf",
        len(PDF),
    )
    # A Windows program named .pdf: refused by its content, and what was typed stays.
    fake = SimpleUploadedFile("prices.pdf", b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200)
    response = client.post(
        "/marketing/offers/new/",
        {"name": "Fake", "language": "de", "position": "3", "file": fake},
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "This file type cannot be offered" in html or "Dieser Dateityp" in html
    assert 'value="Fake"' in html
    assert not ContentOffer.objects.filter(name="Fake").exists()


def test_an_upload_over_20_mb_gets_a_clear_error(monkeypatch):
    monkeypatch.setattr(services, "MAX_UPLOAD", 1000)
    with pytest.raises(ValidationError, match="at most"):
        services.offer_create(actor=None, file=_pdf(content=PDF + b"0" * 2000), name="Big")
    assert not ContentOffer.objects.exists()


def test_html_dressed_as_text_is_refused():
    with pytest.raises(ValidationError, match="cannot be offered"):
        services.offer_create(
            actor=None, file=_pdf("readme.txt", b"<html><script>alert(1)</script>"), name="x"
        )


def test_sending_the_form_mails_the_link_that_downloads_the_file(
    smtp_inbox, django_capture_on_commit_callbacks
):
    campaign = Campaign.objects.create(name="Whitepaper 2027", channel="web")
    form = _form()
    offer = _offer(form=form, campaign=campaign)
    with django_capture_on_commit_callbacks(execute=True):
        submission = _submit(form)
    # The thank-you page gets the links on the submission.
    [handed] = submission.offer_downloads
    assert handed.offer == offer
    [message] = smtp_inbox.to("anna@example.org")
    assert message["Subject"] == "Your download: Whitepaper"
    assert "List-Unsubscribe" not in message  # transactional: asked for, no advertising
    path = re.search(r"https://crm\.example\.com(/download/[^/\s]+/)", body_text(message))[1]
    response = Client().get(path)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert 'filename="whitepaper.pdf"' in response["Content-Disposition"]
    assert b"".join(response.streaming_content) == PDF
    Client().get(path)
    download = ContentDownload.objects.get()
    assert download.download_count == 2
    assert download.lead == submission.lead
    # The first download touched the campaign, once.
    touches = CampaignTouch.objects.filter(campaign=campaign, kind="download")
    assert list(touches.values_list("lead_id", flat=True)) == [submission.lead_id]


def test_an_expired_or_unknown_link_gets_a_clear_page():
    lead = Lead.objects.create(last_name="Adler", email="anna@example.org")
    _download, raw = services.hand_out(
        _offer(), lead=lead, now=timezone.now() - dt.timedelta(days=30)
    )
    response = Client().get(f"/download/{raw}/")
    assert response.status_code == 410
    assert "expired" in response.content.decode() or "abgelaufen" in response.content.decode()
    assert Client().get("/download/nonsense/").status_code == 404
    assert ContentDownload.objects.get().download_count == 0


def _pricing_visits(lead, n=3, uid="pricing-visitor-01234567"):
    visitor = tracking.visits_record(
        uid=uid,
        visits=[tracking.VisitIn(url=f"https://www.example.com/pricing?v={i}") for i in range(n)],
    )[0]
    tracking.visitor_link(uid=uid, lead=lead)
    return visitor


def _grant_marketing(lead):
    consent = consent_services.request_consent(
        purpose="marketing",
        channel="email",
        email=lead.email,
        language="en",
        source="form",
        lead=lead,
    )
    consent_services.confirm(consent)
    return consent


def test_three_pricing_visits_send_the_next_offer_once_and_only_with_consent(
    smtp_inbox, django_capture_on_commit_callbacks
):
    first = _offer("Checklist", position=1, language="en", topic="pricing")
    second = _offer("Price list", position=2, language="en", topic="pricing")
    FollowUpRule.objects.create(
        name="Pricing interest",
        trigger="visits",
        path_contains="/pricing",
        visit_count=3,
        within_days=14,
        offer=first,
    )
    lead = Lead.objects.create(last_name="Adler", email="anna@example.org", language="en")
    # The lead got the checklist after a form already: the next relevant one is the price list.
    services.hand_out(first, lead=lead)
    _pricing_visits(lead, n=2)
    assert followups.run() == []  # two visits are not three
    _pricing_visits(lead, n=1, uid="pricing-visitor-other-123")
    # Three visits, but no marketing consent: nothing is sent, nothing recorded.
    with django_capture_on_commit_callbacks(execute=True):
        [item] = followups.run()
    assert item.offer == second
    assert item.refused == "no marketing consent"
    assert not FollowUpSent.objects.exists()
    assert smtp_inbox.messages == []

    with django_capture_on_commit_callbacks(execute=True):
        _grant_marketing(lead)
    smtp_inbox.messages.clear()  # the opt-in mail
    with django_capture_on_commit_callbacks(execute=True):
        [item] = followups.run()
    assert item.sent
    [message] = smtp_inbox.to("anna@example.org")
    assert message["Subject"] == "For you: Price list"
    assert (
        message["List-Unsubscribe"]
        .strip()
        .startswith("<https://crm.example.com/consent/unsubscribe/")
    )
    assert "/download/" in body_text(message)
    sent = FollowUpSent.objects.get()
    assert (sent.lead, sent.offer) == (lead, second)
    # Once: the next run (the same visits) sends nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        assert followups.run() == []
    assert len(smtp_inbox.messages) == 1


def test_the_cli_dry_run_lists_without_sending(smtp_inbox):
    offer = _offer("Checklist", language="de")
    FollowUpRule.objects.create(name="Hot", trigger="score", min_score=50, offer=offer)
    lead = Lead.objects.create(last_name="Adler", email="anna@example.org", score=80)
    out = io.StringIO()
    call_command("marketing", "offers", "follow-ups", "--dry-run", stdout=out)
    assert f"lead {lead.pk}" in out.getvalue()
    assert "not sent: no marketing consent" in out.getvalue()
    assert not FollowUpSent.objects.exists()


def test_the_pages_and_the_api_list_offers_and_rules(dana, alice):
    offer = _offer()
    client = client_for(dana)
    assert "Whitepaper" in client.get("/marketing/offers/").content.decode()
    response = client.post(
        "/api/v1/marketing/follow-up-rules",
        {"name": "Score 70", "trigger": "score", "offer_id": offer.pk},
        content_type="application/json",
    )
    assert response.status_code == 422  # the score is missing
    response = client.post(
        "/api/v1/marketing/follow-up-rules",
        {"name": "Score 70", "trigger": "score", "min_score": 70, "offer_id": offer.pk},
        content_type="application/json",
    )
    assert response.status_code == 201
    assert client.get("/marketing/offers/rules/").status_code == 200
    assert "Score 70" in client.get("/marketing/offers/rules/").content.decode()
    uploaded = client.post(
        "/api/v1/marketing/offers",
        {"name": "Via API", "language": "en", "file": _pdf("api.pdf")},
    )
    assert uploaded.status_code == 201, uploaded.content
    assert uploaded.json()["content_type"] == "application/pdf"
    # A sales rep does not see lead management.
    assert client_for(alice).get("/marketing/offers/").status_code == 403
    assert client_for(alice).get("/api/v1/marketing/offers").status_code == 403
