"""Website tracking's public addresses (no sign-in): the snippet ``/t/kreis.js`` and the
collector ``/t/collect``."""

from __future__ import annotations

import datetime as dt
import json
import logging

from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from kreis.core.web import too_many_posts
from kreis.marketing.models import MarketingSettings
from kreis.marketing.offers.tasks import follow_up_lead
from kreis.marketing.tracking import services

log = logging.getLogger("kreis.marketing.tracking")

# Page visits a single address may send per minute (a visitor clicking fast sends a handful;
# more is a script). Off together with the form rate limit (load tests).
COLLECT_PER_MINUTE = 120
MAX_BODY = 64 * 1024


def _banner_texts() -> str:
    texts = {}
    for language in ("de", "en"):
        with translation.override(language):
            texts[language] = {
                "label": _("Website tracking"),
                "text": _(
                    "May we record which pages of this website you visit, with a cookie of "
                    "this website only, to offer you more relevant content? Nothing is passed "
                    "to third parties; you can withdraw at any time."
                ),
                "accept": _("Allow"),
                "decline": _("No, thanks"),
            }
    # Inside a <script>-less JS file, but keep "</" out anyway (served inline by some sites).
    return json.dumps(texts, ensure_ascii=False).replace("<", "\\u003c")


def public_base(request: HttpRequest) -> str:
    configured = MarketingSettings.load().public_base_url.rstrip("/")
    return configured or f"{request.scheme}://{request.get_host()}"


@require_http_methods(["GET", "HEAD"])
def snippet(request: HttpRequest) -> HttpResponse:
    """``/t/kreis.js``: the snippet for the company's website. 404 while tracking is off."""
    if not MarketingSettings.load().tracking_enabled:
        raise Http404
    body = render_to_string(
        "marketing/tracking/kreis.js",
        {"base": public_base(request), "texts": _banner_texts()},
    )
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=3600"
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _origin(request: HttpRequest) -> str:
    return (request.headers.get("Origin") or "").strip().lower().rstrip("/")


def _cors(response: HttpResponse, origin: str) -> HttpResponse:
    response["Access-Control-Allow-Origin"] = origin
    response["Vary"] = "Origin"
    return response


def _refuses_tracking(request: HttpRequest) -> bool:
    """Global Privacy Control (``Sec-GPC: 1``) or Do Not Track (``DNT: 1``)."""
    return request.headers.get("Sec-GPC") == "1" or request.headers.get("DNT") == "1"


def _time(value) -> dt.datetime | None:
    """Milliseconds since 1970 as the browser sends them (``Date.now()``)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return dt.datetime.fromtimestamp(value / 1000, tz=dt.UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _text(value) -> str:
    return value if isinstance(value, str) else ""


@csrf_exempt
@require_http_methods(["POST", "OPTIONS"])
def collect(request: HttpRequest) -> HttpResponse:
    """``/t/collect``: page visits from the snippet, as JSON (``application/json``, or
    ``text/plain`` as ``sendBeacon`` and simple requests send it).

    ``{"vid": "<id>", "consent": <ms>?, "visits": [{"url", "title", "referrer", "at"}]}`` or
    ``{"vid": "<id>", "revoke": true}``. Only from the websites in the settings (CORS, with
    the preflight), never from a browser with Global Privacy Control or Do Not Track, and at
    most ``COLLECT_PER_MINUTE`` requests per address and minute (429). CSRF: exempt on
    purpose — the request carries no credentials (the snippet omits them) and nothing here
    acts for a signed-in user; it can only store page visits under a random id.
    """
    config = MarketingSettings.load()
    if not config.tracking_enabled:
        raise Http404
    origin = _origin(request)
    allowed = origin != "" and origin in [o.lower() for o in config.tracking_origins()]
    if request.method == "OPTIONS":
        if not allowed:
            return HttpResponse(status=403)
        response = _cors(HttpResponse(status=204), origin)
        response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
        response["Access-Control-Allow-Headers"] = "Content-Type"
        response["Access-Control-Max-Age"] = "86400"
        return response
    if not allowed:
        return JsonResponse({"error": "origin not allowed"}, status=403)
    if _refuses_tracking(request):
        return _cors(JsonResponse({"error": "do not track"}, status=403), origin)
    if config.rate_limit_enabled and too_many_posts(
        request, scope="t-collect", limit=COLLECT_PER_MINUTE, window=60
    ):
        response = _cors(JsonResponse({"error": "too many requests"}, status=429), origin)
        response["Retry-After"] = "60"
        return response
    if len(request.body) > MAX_BODY:
        return _cors(JsonResponse({"error": "too large"}, status=413), origin)
    try:
        payload = json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        payload = None
    uid = _text(payload.get("vid")) if isinstance(payload, dict) else ""
    if not services.is_visitor_id(uid):
        return _cors(JsonResponse({"error": "invalid"}, status=400), origin)
    if payload.get("revoke") is True:
        services.visitor_forget(uid=uid)
        return _cors(HttpResponse(status=204), origin)
    raw = payload.get("visits")
    visits = [
        services.VisitIn(
            url=_text(item.get("url")),
            title=_text(item.get("title")),
            referrer=_text(item.get("referrer")),
            at=_time(item.get("at")),
        )
        for item in (raw if isinstance(raw, list) else [])
        if isinstance(item, dict)
    ]
    visitor, stored = services.visits_record(
        uid=uid, visits=visits, consented_at=_time(payload.get("consent"))
    )
    if stored and visitor.lead_id:
        lead_id = visitor.lead_id
        transaction.on_commit(lambda: follow_up_lead(lead_id))
    return _cors(HttpResponse(status=204), origin)
