"""Lead management end to end in Chromium (issue 13's three scenarios):

- a visitor sends the web form embedded on a website of another origin, confirms the
  newsletter opt-in from the e-mail the real SMTP server received, and the rep then finds
  the lead scored, handed to them, with the campaign attributed;
- a recipient withdraws the consent by the one-click link of a marketing mail, and staff see
  it withdrawn on the lead's page;
- marketing builds a segment on a computed figure (ABC class A) and starts a campaign on it.
"""

import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from kreis.core.models import Role
from kreis.leads.models import Lead
from kreis.marketing.consent import services as consent_services
from kreis.marketing.defaults import ensure_defaults
from kreis.marketing.models import (
    Campaign,
    ConsentStatus,
    LeadAssignmentRule,
    MarketingSettings,
)
from kreis.marketing.webforms import services as form_services
from tests.browser import test_public_complaint_browser as complaint
from tests.browser.test_shell_browser import SHOTS, sign_in
from tests.factories import MembershipFactory, TeamFactory, UserFactory
from tests.smtpserver import body_text

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Kreis on a live server serving connections in parallel (the embedded frame needs it).
kreis_server = complaint.kreis_server


@pytest.fixture
def staff(db):
    """Rita takes the leads (sales rep in North); Ada administers lead management."""
    ensure_defaults()  # the consent texts: an earlier transactional test's flush took them
    north = TeamFactory(name="North")
    rita = UserFactory(username="rita", first_name="Rita", last_name="Rep", role=Role.SALES_REP)
    MembershipFactory(team=north, user=rita)
    ada = UserFactory(username="ada", first_name="Ada", last_name="Admin", role=Role.ADMIN)
    MembershipFactory(team=north, user=ada)
    return {"rita": rita, "ada": ada, "north": north}


def _website(html: str):
    """A company's website on another origin (127.0.0.1, while Kreis answers on localhost)."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802  (the standard library's name)
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(html.encode())

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _arrived(inbox, address: str, count: int = 1):
    """The mails to ``address`` once ``count`` have arrived (sent after the commit, from the
    live server's thread)."""
    for _ in range(100):
        mails = inbox.to(address)
        if len(mails) >= count:
            return mails
        time.sleep(0.1)
    raise AssertionError(f"no mail to {address}")


def _rule_scoring_on_web_forms():
    """A primary lead scoring model that gives leads from the web form full marks."""
    from kreis.analytics.scoring import services as scoring

    model = scoring.scoring_model_create(
        actor=None,
        name="Lead fit",
        target="lead",
        criteria=[{"field": "source", "weight": 1, "thresholds": {"web form": 10}}],
    )
    scoring.scoring_model_make_primary(actor=None, model=model)


def test_embedded_form_opt_in_by_mail_then_the_rep_sees_lead_scored_assigned_attributed(
    page, kreis_server, staff, smtp_inbox
):
    base = kreis_server.url
    config = MarketingSettings.load()
    config.form_min_seconds = 1  # the time trap, short enough for a test
    config.public_base_url = base
    config.save()
    campaign = Campaign.objects.create(
        name="Frühjahrsaktion Web", code="fruehjahr-web", channel="web", status="active"
    )
    rule = LeadAssignmentRule.objects.create(name="Alle Leads", position=1)
    rule.users.set([staff["rita"]])
    _rule_scoring_on_web_forms()
    website = _website(
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Maschinenbau Nord</title>"
        "</head><body><h1>Beratung anfragen</h1>"
        f"<script src='{base}/f/kontakt/embed.js'></script></body></html>"
    )
    origin = f"http://127.0.0.1:{website.server_port}"
    form_services.form_create(
        actor=None,
        name="Kontakt",
        key="kontakt",
        language="de",
        title="Sprechen Sie mit uns",
        fields=[
            {"key": "first_name", "label": "Vorname", "required": False},
            {"key": "last_name", "label": "Nachname", "required": True},
            {"key": "email", "label": "E-Mail", "required": True},
            {"key": "company", "label": "Firma", "required": False},
        ],
        consent_purposes=["newsletter"],
        submit_label="Anfrage senden",
        allowed_origins=origin,
        lead_source="web form",
    )
    try:
        page.goto(
            f"{origin}/beratung?utm_source=linkedin&utm_medium=social&utm_campaign=fruehjahr-web"
        )
        frame = page.frame_locator("iframe")
        frame.get_by_label("Nachname").wait_for()
        frame.get_by_label("Vorname").fill("Lena")
        frame.get_by_label("Nachname").fill("Vogt")
        frame.get_by_role("textbox", name="E-Mail").fill("lena.vogt@hafenbau.example")
        frame.get_by_label("Firma").fill("Hafenbau Vogt GmbH")
        frame.locator("#consent_newsletter").check()
        page.wait_for_timeout(1100)  # a person takes longer than the time trap's minimum
        frame.get_by_role("button", name="Anfrage senden").click()
        frame.locator("body").get_by_text(re.compile("Danke|Vielen Dank|Thank")).first.wait_for()
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "lead-form-embedded-sent.png"), full_page=True)
    finally:
        website.shutdown()
        website.server_close()

    lead = Lead.objects.get(email="lena.vogt@hafenbau.example")
    consent = lead.consents.get(purpose="newsletter")
    assert consent.status == ConsentStatus.PENDING
    mail = _arrived(smtp_inbox, "lena.vogt@hafenbau.example")[0]
    link = re.search(r"https?://\S+/consent/confirm/[^/\s]+/", body_text(mail))[0]
    page.goto(link)
    page.get_by_test_id("confirm").click()
    page.get_by_test_id("confirmed").wait_for()
    consent.refresh_from_db()
    assert consent.status == ConsentStatus.GRANTED
    assert consent.confirmed_at is not None

    sign_in(page, kreis_server, "rita")
    page.goto(f"{base}/leads/{lead.pk}/")
    assert page.get_by_test_id("lead-score").is_visible()
    handoff = page.get_by_test_id("lead-handoff")
    handoff.wait_for()
    assert "Rita Rep" in handoff.inner_text()
    attribution = page.get_by_test_id("campaign-attribution")
    assert campaign.name in attribution.inner_text()
    history = page.get_by_test_id("consent-history")
    history.wait_for()
    assert history.locator("[data-testid=consent][data-status=granted]").count() == 1
    page.screenshot(path=str(SHOTS / "lead-scored-assigned-attributed.png"), full_page=True)


def test_withdraw_consent_by_the_one_click_link_of_a_marketing_mail(
    page, kreis_server, staff, smtp_inbox
):
    base = kreis_server.url
    config = MarketingSettings.load()
    config.public_base_url = base
    config.imprint = "Kreis Demo GmbH, Hafenstraße 1, 20457 Hamburg"
    config.save()
    lead = Lead.objects.create(
        first_name="Tom", last_name="Berg", email="tom.berg@example.org", owner=staff["rita"]
    )
    consent = consent_services.request_consent(
        purpose="newsletter",
        channel="email",
        email=lead.email,
        language="de",
        source="form",
        lead=lead,
    )
    assert consent_services.confirm(consent, ip="203.0.113.7")
    consent_services.send_marketing_mail(
        purpose="newsletter",
        subject="Neu: Kreis 2.0",
        text="Die neue Version ist da.",
        lead=lead,
    )
    mail = _arrived(smtp_inbox, "tom.berg@example.org", count=2)[-1]
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = re.search(r"<(https?://[^>]+/consent/unsubscribe/[^>]+/)>", mail["List-Unsubscribe"])[1]
    assert link in body_text(mail)  # the same link in the text, for a click by hand

    page.goto(link)
    page.get_by_test_id("unsubscribe").click()
    page.get_by_test_id("unsubscribed").wait_for()
    consent.refresh_from_db()
    assert consent.status == ConsentStatus.WITHDRAWN
    # It applies before the next send: no consent, no mail.
    with pytest.raises(consent_services.NoConsent):
        consent_services.send_marketing_mail(
            purpose="newsletter", subject="Noch eine", text="…", lead=lead
        )

    sign_in(page, kreis_server, "rita")
    page.goto(f"{base}/leads/{lead.pk}/")
    history = page.get_by_test_id("consent-history")
    history.wait_for()
    row = history.locator("[data-testid=consent][data-status=withdrawn]")
    assert row.count() == 1
    assert "Withdrawn" in row.inner_text()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "consent-withdrawn-on-lead.png"), full_page=True)


def test_build_a_segment_on_a_computed_figure_and_start_a_campaign_on_it(page, kreis_server, staff):
    from kreis.parties.models import Party

    base = kreis_server.url
    mara = UserFactory(
        username="mara", first_name="Mara", last_name="Marketing", role=Role.MARKETING
    )
    MembershipFactory(team=staff["north"], user=mara)
    for name, abc in (("Hafenbau Vogt", "A"), ("Werft Nord", "A"), ("Kleinteile Süd", "C")):
        Party.objects.create(kind="organization", name=name, abc_class=abc, owner=mara)

    sign_in(page, kreis_server, "mara")
    page.goto(f"{base}/marketing/segments/new/")
    page.locator("#id_name").fill("A-Kunden")
    page.locator("#c-0-field").select_option("abc_class")
    page.locator("#c-0-op").select_option("eq")
    page.locator("#c-0-value").fill("A")
    # The live count while building: two of the three organisations are A customers.
    page.get_by_test_id("preview-count").filter(has_text="2").wait_for()
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(r"/marketing/segments/\d+/$"))

    page.goto(f"{base}/marketing/campaigns/new/")
    page.locator("#id_name").fill("Frühjahr A-Kunden")
    page.locator("#id_code").fill("fruehjahr-a")
    page.locator("#id_channel").select_option("email")
    page.locator("#id_target_segment").select_option(label="A-Kunden")
    page.get_by_role("button", name=re.compile("Save|Create")).click()
    page.wait_for_url(re.compile(r"/marketing/campaigns/\d+/$"))
    members = page.get_by_test_id("campaign-members")
    members.locator("select[name=segment]").select_option(label="A-Kunden")
    members.get_by_role("button", name="Add members").click()
    page.get_by_test_id("campaign-members").get_by_text("Hafenbau Vogt").wait_for()
    text = page.get_by_test_id("campaign-members").inner_text()
    assert "Werft Nord" in text
    assert "Kleinteile Süd" not in text
    campaign = Campaign.objects.get(code="fruehjahr-a")
    assert campaign.target_segment.name == "A-Kunden"
    assert campaign.members.count() == 2
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "campaign-on-segment.png"), full_page=True)


def _site_with_snippet(kreis_url: str, title: str) -> tuple:
    """A website of another origin with the tracking snippet and its minimal banner."""
    html = (
        f"<!doctype html><html><head><title>{title}</title></head><body>"
        "<h1>Preise</h1><a id='next' href='/pricing/enterprise'>Enterprise</a>"
        f'<script src="{kreis_url}/t/kreis.js" data-banner="1"></script></body></html>'
    )
    site = _website(html)
    origin = f"http://127.0.0.1:{site.server_address[1]}"
    config = MarketingSettings.load()
    config.tracking_allowed_origins = origin
    config.save()
    return site, origin


def _visits(origin: str, count: int):
    from kreis.marketing.models import PageVisit

    for _ in range(50):
        visits = list(PageVisit.objects.filter(url__startswith=origin).order_by("pk"))
        if len(visits) >= count:
            return visits
        time.sleep(0.1)
    return list(PageVisit.objects.filter(url__startswith=origin).order_by("pk"))


def test_tracking_on_another_site_starts_with_consent_and_never_under_gpc(
    browser, kreis_server, staff
):
    site, origin = _site_with_snippet(kreis_server.url, "Preise – Beispiel GmbH")
    try:
        # A visitor without consent: the banner shows, nothing is sent.
        context = browser.new_context()
        visitor = context.new_page()
        visitor.goto(f"{origin}/pricing?utm_source=newsletter")
        visitor.locator("[data-kreis-consent=accept]").wait_for()
        visitor.wait_for_timeout(500)
        assert _visits(origin, 0) == []
        # Consent: this page and the next are recorded, with title and UTM source.
        visitor.locator("[data-kreis-consent=accept]").click()
        visitor.locator("#next").click()
        visitor.wait_for_load_state()
        visits = _visits(origin, 2)
        assert [v.url.removeprefix(origin) for v in visits][:2] == [
            "/pricing?utm_source=newsletter",
            "/pricing/enterprise",
        ]
        assert visits[0].title == "Preise – Beispiel GmbH"
        assert visits[0].utm_source == "newsletter"
        # The visitor id lives on the website's own origin, not as a cookie of Kreis.
        assert visitor.evaluate("window.KreisTracking.hasConsent()") is True
        kreis_cookies = [c for c in context.cookies(kreis_server.url) if c["name"] == "kreis_vid"]
        assert kreis_cookies == []
        context.close()

        # Global Privacy Control: no banner, consent() refuses, nothing is sent.
        gpc = browser.new_context()
        gpc.add_init_script(
            "Object.defineProperty(navigator, 'globalPrivacyControl', {get: () => true})"
        )
        refused = gpc.new_page()
        before = len(_visits(origin, 0))
        refused.goto(f"{origin}/pricing?gpc=1")
        refused.wait_for_timeout(500)
        assert refused.locator("[data-kreis-consent=accept]").count() == 0
        assert refused.evaluate("window.KreisTracking.consent()") is False
        refused.wait_for_timeout(500)
        assert len(_visits(origin, 0)) == before
        gpc.close()
    finally:
        site.shutdown()
