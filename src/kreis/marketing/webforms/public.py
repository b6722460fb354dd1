"""The public side of web-to-lead forms (no sign-in): the form page ``/f/<key>/``, its
embeddable variant ``/f/<key>/embed/`` (for an iframe), ``/f/<key>/embed.js`` (a script tag
that inserts that iframe and keeps it as tall as the form) and ``/f/<key>/submit`` (JSON or
``x-www-form-urlencoded``, with CORS for the form's allowed origins) for a website posting from
its own HTML.

CSRF: these views are exempt from Django's token check, on purpose (as the complaint form:
``kreis.service.public_form.views``). Inside a third-party iframe, or posted from another
site's page, the browser does not send Kreis's CSRF cookie, so the check would refuse every
submission; the views use no session or signed-in user, so a forged cross-site POST can do
nothing a visitor cannot do directly. Spam is met by the signed time stamp, the honeypot and the
per-IP rate limit (``kreis.core.publicforms``); a POST from a browser on a website that is not
among the form's allowed origins is refused (403).
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import parse_qs, urlsplit

from allauth.core.internal.ratelimit import get_ip
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from kreis.core import publicforms
from kreis.marketing.models import LeadForm, MarketingSettings
from kreis.marketing.webforms import services
from kreis.marketing.webforms.services import SCOPE, STAMP_SALT, UTM_KEYS
from kreis.marketing.webforms.tasks import after_receive

log = logging.getLogger("kreis.marketing.webforms")

TRACKING_KEYS = ("page_url", "referrer", "visitor_uid", *UTM_KEYS)
MAX_BODY = 64 * 1024


def current_settings() -> MarketingSettings:
    """The settings row, or its defaults — read without creating it (a GET writes nothing)."""
    return MarketingSettings.objects.filter(pk=1).first() or MarketingSettings()


def _form(key: str) -> LeadForm:
    form = LeadForm.objects.filter(key=key, is_active=True).select_related("campaign").first()
    if form is None:
        raise Http404
    return form


def _origins(form: LeadForm) -> list[str]:
    return publicforms.clean_origins(form.origins())


def _tracking(request: HttpRequest, *, embed: bool) -> dict[str, str]:
    """Where the visitor came from, for the hidden fields of the form page: the embedding
    page's address and referrer (embed.js passes them as ``page`` and ``ref``) or, on the
    form's own page, its address and the Referer header; UTM parameters from the query or
    else from that page address."""
    if embed:
        page = request.GET.get("page", "")
        referrer = request.GET.get("ref", "")
    else:
        page = request.build_absolute_uri()
        referrer = request.headers.get("Referer", "")
    from_page = parse_qs(urlsplit(page).query) if page else {}
    values = {"page_url": page[:1000], "referrer": referrer[:1000]}
    for key in UTM_KEYS:
        values[key] = (request.GET.get(key) or (from_page.get(key) or [""])[0])[:200]
    values["visitor_uid"] = request.GET.get("vid", "")[:64]
    return values


def _context(request: HttpRequest, form: LeadForm, *, embed: bool) -> dict[str, Any]:
    origins = _origins(form)
    return {
        "lead_form": form,
        "language": form.language,
        "fields": services.public_fields(form),
        "consents": services.consent_texts(form),
        "embed": embed,
        "origins": origins,
        "parent_origin": publicforms.parent_origin(request, origins) if embed else "",
        "honeypot": publicforms.HONEYPOT,
        "values": {},
        "errors": {},
    }


def _page(request, template: str, context: dict, *, status: int = 200) -> HttpResponse:
    response = render(request, template, context, status=status)
    if context["embed"]:
        publicforms.allow_framing(response, context["origins"])
    return response


def _base_url(request: HttpRequest) -> str:
    return publicforms.own_origin(request)


def _post_data(request: HttpRequest) -> dict[str, Any]:
    return {k: (v if len(v) > 1 else v[0]) for k, v in request.POST.lists()}


def _take(request: HttpRequest, form: LeadForm, data: dict[str, Any], tracking: dict[str, str]):
    """Store the submission (pending) and leave the rest to the job: the visitor waits for
    the check and one INSERT, not for matching, scoring and mail."""
    submission = services.receive(
        form,
        data,
        ip=get_ip(request),
        user_agent=request.headers.get("User-Agent", ""),
        page_url=tracking.get("page_url", ""),
        referrer=tracking.get("referrer", ""),
        utm={k: tracking.get(k, "") for k in UTM_KEYS},
        visitor_uid=tracking.get("visitor_uid") or None,
        base_url=_base_url(request),
        buffered=True,
    )
    after_receive(submission)
    return submission


def _downloads(request: HttpRequest, submission) -> list[dict[str, str]]:
    """The content offers behind the form, handed out by the ``form_submitted`` receiver of
    kreis.marketing.offers (``submission.offer_downloads``): a link each for the thanks."""
    handed = getattr(submission, "offer_downloads", None) or []
    base = publicforms.own_origin(request)
    return [{"name": h.offer.name, "url": base + h.path} for h in handed]


@never_cache
@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def form_page(request: HttpRequest, key: str, embed: bool = False) -> HttpResponse:
    """The form, on its own page or (``embed``) without chrome for an iframe."""
    form = _form(key)
    with translation.override(form.language):
        context = _context(request, form, embed=embed)
        if request.method == "POST":
            return _submit_page(request, form, context)
        context["tracking"] = _tracking(request, embed=embed)
        context["stamp"] = publicforms.new_stamp(STAMP_SALT)
        return _page(request, "marketing/webforms/public/form.html", context)


def _thanks(request: HttpRequest, form: LeadForm, context: dict) -> HttpResponse:
    if form.redirect_url and not context["embed"]:
        return HttpResponseRedirect(form.redirect_url, status=303)
    return _page(request, "marketing/webforms/public/thanks.html", context)


def _submit_page(request: HttpRequest, form: LeadForm, context: dict) -> HttpResponse:
    config = current_settings()
    if config.rate_limit_enabled:
        wait = publicforms.seconds_until_allowed(
            request, scope=SCOPE, per_hour=config.form_posts_per_hour
        )
        if wait is not None:
            response = _page(
                request,
                "marketing/webforms/public/throttled.html",
                context | {"minutes": max(1, -(-wait // 60))},
                status=429,
            )
            return publicforms.throttled(response, wait)
    if publicforms.honeypot_filled(request.POST):
        log.info("web form %s: honeypot filled, nothing stored", form.key)
        return _thanks(request, form, context)
    data = _post_data(request)
    tracking = {k: str(request.POST.get(k, "")) for k in TRACKING_KEYS}
    stamp = request.POST.get("stamp", "")
    verdict = publicforms.check_stamp(stamp, STAMP_SALT, min_seconds=config.form_min_seconds)
    context |= {"values": data, "tracking": tracking, "stamp": stamp}
    if verdict == publicforms.Stamp.OK:
        if publicforms.claim_submission(SCOPE, stamp) is not None:
            return _thanks(request, form, context)  # sent before: a double click, a reload
        try:
            submission = _take(request, form, data, tracking)
        except ValidationError as exc:
            publicforms.finish_submission(SCOPE, stamp, None)
            context["errors"] = exc.message_dict if hasattr(exc, "error_dict") else {}
            if not hasattr(exc, "error_dict"):
                context["general_errors"] = exc.messages
        except Exception:
            publicforms.finish_submission(SCOPE, stamp, None)
            raise
        else:
            publicforms.finish_submission(SCOPE, stamp, "sent")
            downloads = _downloads(request, submission)
            if downloads:  # the links are shown here, not lost to a redirect
                return _page(
                    request,
                    "marketing/webforms/public/thanks.html",
                    context | {"downloads": downloads},
                )
            return _thanks(request, form, context)
    else:
        context["stamp_problem"] = verdict.value
        if verdict != publicforms.Stamp.TOO_FAST:
            context["stamp"] = publicforms.new_stamp(STAMP_SALT)
        try:
            services.validate(form, data)
        except ValidationError as exc:
            context["errors"] = exc.message_dict
    return _page(request, "marketing/webforms/public/form.html", context, status=422)


@require_GET
def embed_script(request: HttpRequest, key: str) -> HttpResponse:
    """The script a website includes to show the form: it puts the iframe where the script
    tag stands, passes the page's address, referrer and visitor id along (for UTM and
    campaign) and sizes the frame to the form (only messages from Kreis's origin and that
    frame are taken)."""
    form = _form(key)
    with translation.override(form.language):
        body = render_to_string(
            "marketing/webforms/public/embed.js",
            {
                "embed_path": reverse("webform_public:embed", args=[form.key]),
                "title": form.title or translation.gettext("Contact form"),
            },
        )
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=3600"
    return response


# --- JSON / x-www-form-urlencoded endpoint with CORS ------------------------------------------


def _cors(request: HttpRequest, response: HttpResponse, origins: list[str]) -> HttpResponse:
    """Let a browser on an allowed website read the answer (and only there)."""
    origin = (request.headers.get("Origin") or "").lower().rstrip("/")
    response["Vary"] = "Origin"
    if origin and origin in origins:
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response["Access-Control-Allow-Headers"] = "Content-Type"
        response["Access-Control-Expose-Headers"] = "Retry-After"
        response["Access-Control-Max-Age"] = "600"
    return response


def _problem(status: int, title: str, **extra: Any) -> JsonResponse:
    return JsonResponse(
        {"type": "about:blank", "title": title, "status": status, **extra},
        status=status,
        content_type="application/problem+json",
        json_dumps_params={"ensure_ascii": False},
    )


def _definition(form: LeadForm) -> dict[str, Any]:
    return {
        "key": form.key,
        "language": form.language,
        "title": form.title,
        "intro": form.intro,
        "fields": [
            {k: v for k, v in f.items() if v not in (None, "")}
            for f in services.public_fields(form)
        ],
        "consents": [
            {
                "name": f"consent_{t.purpose}",
                "purpose": t.purpose,
                "version": t.version,
                "text": t.text,
            }
            for t in services.consent_texts(form)
        ],
        "submit_label": form.submit_label,
        "honeypot": publicforms.HONEYPOT,
        "stamp": publicforms.new_stamp(STAMP_SALT),
    }


def _body(request: HttpRequest) -> dict[str, Any]:
    """The posted fields, from JSON or form encoding. ValueError when unreadable."""
    content_type = (request.content_type or "").lower()
    if content_type == "application/json":
        if len(request.body) > MAX_BODY:
            raise ValueError("too large")
        data = json.loads(request.body or b"{}")
        if not isinstance(data, dict):
            raise ValueError("not an object")
        return data
    return _post_data(request)


@never_cache
@csrf_exempt
@require_http_methods(["GET", "POST", "OPTIONS"])
def submit_endpoint(request: HttpRequest, key: str) -> HttpResponse:
    """``GET``: the form's fields, consent texts and a fresh stamp (send it back as ``stamp``
    no sooner than the minimum seconds later). ``POST``: a submission — 201 when taken, 422
    with ``errors`` per field, 429 with ``Retry-After`` over the rate limit, 403 from a website
    the form does not allow. ``OPTIONS``: the CORS preflight."""
    form = _form(key)
    origins = _origins(form)
    if request.method == "OPTIONS":
        return _cors(request, HttpResponse(status=204), origins)
    with translation.override(form.language):
        if request.method == "GET":
            return _cors(request, JsonResponse(_definition(form)), origins)
        return _cors(request, _submit_json(request, form, origins), origins)


def _submit_json(request: HttpRequest, form: LeadForm, origins: list[str]) -> HttpResponse:
    origin = (request.headers.get("Origin") or "").lower().rstrip("/")
    if origin and origin not in origins and origin != publicforms.own_origin(request):
        return _problem(403, translation.gettext("This website may not send this form."))
    config = current_settings()
    if config.rate_limit_enabled:
        wait = publicforms.seconds_until_allowed(
            request, scope=SCOPE, per_hour=config.form_posts_per_hour
        )
        if wait is not None:
            response = _problem(
                429, translation.gettext("Too many submissions. Please try again later.")
            )
            return publicforms.throttled(response, wait)
    try:
        data = _body(request)
    except (ValueError, UnicodeDecodeError):
        return _problem(400, translation.gettext("The request body is not valid JSON."))
    thanks = {
        "message": form.thank_you_text
        or translation.gettext("Thank you! We have received your message."),
        "redirect_url": form.redirect_url,
    }
    if publicforms.honeypot_filled(data):
        log.info("web form %s: honeypot filled, nothing stored", form.key)
        return JsonResponse(thanks, status=201)
    stamp = str(data.get("stamp") or "")
    verdict = publicforms.check_stamp(stamp, STAMP_SALT, min_seconds=config.form_min_seconds)
    if verdict != publicforms.Stamp.OK:
        messages = {
            publicforms.Stamp.TOO_FAST: translation.gettext(
                "That was very fast — please check your details and send the form again."
            ),
            publicforms.Stamp.EXPIRED: translation.gettext(
                "This form was open for a long time. Please send it again."
            ),
        }
        message = messages.get(
            verdict, translation.gettext("The form could not be checked. Please send it again.")
        )
        return _problem(
            422,
            message,
            errors={"stamp": [message]},
            stamp=publicforms.new_stamp(STAMP_SALT),
        )
    if publicforms.claim_submission(SCOPE, stamp) is not None:
        return JsonResponse(thanks, status=201)
    tracking = {k: str(data.get(k) or "") for k in TRACKING_KEYS}
    if not tracking["page_url"]:
        tracking["page_url"] = request.headers.get("Referer", "")[:1000]
    if not any(tracking[k] for k in UTM_KEYS) and tracking["page_url"]:
        query = parse_qs(urlsplit(tracking["page_url"]).query)
        tracking |= {k: (query.get(k) or [""])[0] for k in UTM_KEYS}
    try:
        submission = _take(request, form, data, tracking)
    except ValidationError as exc:
        publicforms.finish_submission(SCOPE, stamp, None)
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        return _problem(
            422, translation.gettext("Please correct the marked fields."), errors=errors
        )
    except Exception:
        publicforms.finish_submission(SCOPE, stamp, None)
        raise
    publicforms.finish_submission(SCOPE, stamp, "sent")
    return JsonResponse(thanks | {"downloads": _downloads(request, submission)}, status=201)
