"""Website tracking, the public side: the snippet does nothing without consent and never for
Do Not Track / Global Privacy Control; the collector takes visits only from the configured
websites (CORS), refuses GPC/DNT, is rate-limited, and stores URL, title, referrer and UTM."""

import json

import pytest
from django.test import Client

from kreis.marketing.models import MarketingSettings, PageVisit, Visitor

pytestmark = pytest.mark.django_db

SITE = "https://www.example.com"
VID = "AbCdEfGhIjKlMnOpQrStUvWx"


@pytest.fixture(autouse=True)
def config():
    config = MarketingSettings.load()
    config.tracking_enabled = True
    config.tracking_allowed_origins = SITE + "\nhttps://shop.example.com"
    config.save()
    return config


def _collect(client, payload, *, origin=SITE, content_type="application/json", **headers):
    return client.post(
        "/t/collect",
        json.dumps(payload),
        content_type=content_type,
        HTTP_ORIGIN=origin,
        **headers,
    )


def _visit(url=SITE + "/pricing?utm_source=newsletter&utm_campaign=spring", **kwargs):
    return {"url": url, "title": "Preise", "referrer": "https://www.google.com/", **kwargs}


def test_the_snippet_waits_for_consent_and_honours_dnt_and_gpc():
    response = Client().get("/t/kreis.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    js = response.content.decode()
    # The guards: Do Not Track and Global Privacy Control stop everything.
    assert 'navigator.doNotTrack === "1"' in js
    assert "navigator.globalPrivacyControl === true" in js
    assert "if (blocked) return;" in js
    # Before consent: no id is made and nothing sent — only consent() creates the id.
    start = js[js.index("function start()") :]
    assert "if (readId())" in start
    assert "newId()" not in start
    assert "id = newId();" in js[js.index("consent: function") :]
    # The API the site's cookie banner and web forms use, and the built-in banner.
    for name in ("consent:", "revoke:", "visitorId:", "hasConsent:"):
        assert name in js
    assert 'getAttribute("data-banner") === "1"' in js
    # First-party storage only; the request carries no credentials.
    assert 'credentials: "omit"' in js
    assert "SameSite=Lax" in js
    assert "/t/collect" in js
    # The banner's words in both languages.
    assert "Allow" in js
    assert "Zulassen" in js


def test_tracking_switched_off_answers_404(config):
    config.tracking_enabled = False
    config.save()
    client = Client()
    assert client.get("/t/kreis.js").status_code == 404
    assert _collect(client, {"vid": VID, "visits": [_visit()]}).status_code == 404
    assert not PageVisit.objects.exists()


def test_collect_stores_the_visit_with_its_utm_parameters():
    response = _collect(Client(), {"vid": VID, "consent": None, "visits": [_visit()]})
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == SITE
    visitor = Visitor.objects.get(uid=VID)
    assert visitor.lead is None
    assert visitor.consented_at is not None
    [visit] = PageVisit.objects.all()
    assert visit.visitor == visitor
    assert visit.path == "/pricing"
    assert visit.title == "Preise"
    assert visit.referrer == "https://www.google.com/"
    assert (visit.utm_source, visit.utm_campaign) == ("newsletter", "spring")


def test_a_beacon_as_text_plain_is_accepted():
    response = _collect(
        Client(), {"vid": VID, "visits": [_visit(SITE + "/")]}, content_type="text/plain"
    )
    assert response.status_code == 204
    assert PageVisit.objects.get().path == "/"


def test_another_website_is_refused_without_cors_headers():
    response = _collect(Client(), {"vid": VID, "visits": [_visit()]}, origin="https://evil.test")
    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response
    assert not Visitor.objects.exists()


def test_the_preflight_allows_only_the_configured_websites():
    client = Client()
    allowed = client.options(
        "/t/collect",
        HTTP_ORIGIN="https://shop.example.com",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type",
    )
    assert allowed.status_code == 204
    assert allowed["Access-Control-Allow-Origin"] == "https://shop.example.com"
    assert "POST" in allowed["Access-Control-Allow-Methods"]
    assert "Content-Type" in allowed["Access-Control-Allow-Headers"]
    other = client.options("/t/collect", HTTP_ORIGIN="https://evil.test")
    assert other.status_code == 403
    assert "Access-Control-Allow-Origin" not in other


@pytest.mark.parametrize("header", [{"HTTP_SEC_GPC": "1"}, {"HTTP_DNT": "1"}])
def test_global_privacy_control_and_do_not_track_are_refused(header):
    response = _collect(Client(), {"vid": VID, "visits": [_visit()]}, **header)
    assert response.status_code == 403
    assert not Visitor.objects.exists()
    assert not PageVisit.objects.exists()


def test_rubbish_is_refused_and_stores_nothing():
    client = Client()
    assert _collect(client, {"vid": "short", "visits": [_visit()]}).status_code == 400
    bad = client.post("/t/collect", "{not json", content_type="text/plain", HTTP_ORIGIN=SITE)
    assert bad.status_code == 400
    # A javascript: address is no page.
    _collect(client, {"vid": VID, "visits": [_visit("javascript:alert(1)")]})
    assert not PageVisit.objects.exists()


def test_too_many_requests_from_one_address_get_429(monkeypatch):
    from kreis.marketing.tracking import public

    monkeypatch.setattr(public, "COLLECT_PER_MINUTE", 2)
    client = Client()
    codes = [_collect(client, {"vid": VID, "visits": [_visit()]}).status_code for _ in range(3)]
    assert codes == [204, 204, 429]
    assert PageVisit.objects.count() == 2


def test_revoke_deletes_the_visitor_and_its_visits():
    client = Client()
    _collect(client, {"vid": VID, "visits": [_visit(), _visit(SITE + "/about")]})
    assert PageVisit.objects.count() == 2
    assert _collect(client, {"vid": VID, "revoke": True}).status_code == 204
    assert not Visitor.objects.exists()
    assert not PageVisit.objects.exists()
