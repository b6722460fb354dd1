"""The public complaint form (no sign-in), its embeddable variant and script, and the
administrators' page with the snippets to embed it."""

from __future__ import annotations

import logging
import math
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from kreis.core import publicforms
from kreis.core.web import apply_errors
from kreis.service import services
from kreis.service.models import CaseCategory, Channel, ServiceSettings
from kreis.service.public_form import guard
from kreis.service.public_form.forms import ComplaintForm

log = logging.getLogger("kreis.service.public_form")

LANGUAGES = ("de", "en")
# What the service reports under its own names, shown at the form's field instead.
SERVICE_FIELDS = {
    "sender_name": "name",
    "sender_email": "email",
    "sender_phone": "phone",
    "emails": "email",
    "phones": "phone",
    "subject": "subject",
    "description": "description",
}


def _language(request: HttpRequest) -> str:
    """?lang=de|en (kept through the POST), else the browser's Accept-Language (or the
    language cookie), as Django's LocaleMiddleware chose it."""
    wanted = (request.POST.get("lang") or request.GET.get("lang") or "").strip().lower()
    if wanted in LANGUAGES:
        return wanted
    return "de" if (translation.get_language() or "").startswith("de") else "en"


def _page(request, template: str, context: dict, *, status: int = 200) -> HttpResponse:
    response = render(request, template, context, status=status)
    if context["embed"]:
        publicforms.allow_framing(response, context["origins"])
    return response


@never_cache
@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def complaint_form(request: HttpRequest, embed: bool = False) -> HttpResponse:
    """The public complaint form; ``embed``: without the page's chrome, for an iframe.

    CSRF: this view is exempt from Django's token check, on purpose. Inside a third-party
    iframe the browser does not send Kreis's CSRF cookie (SameSite=Lax, and third-party cookies
    are often blocked altogether), so the token check would refuse every embedded submission.
    What CSRF protects against is a forged request riding on a victim's credentials; this
    view uses none — it ignores the session and signed-in user (the case is created with no
    actor, exactly as for an anonymous visitor), sets no cookie, and everyone may send it
    anyway. A forged cross-site POST can therefore do nothing a visitor cannot do directly.
    What remains is spam, met by the signed time stamp bound to this form (salted, unforgeable
    without SECRET_KEY, single use), the honeypot and the per-IP rate limit (``guard``)."""
    config = guard.current_settings()
    embed = embed or request.GET.get("embed") == "1"
    origins = guard.embed_origins(config)
    language = _language(request)
    with translation.override(language):
        context = _context(request, config, language=language, embed=embed, origins=origins)
        if not config.form_enabled:
            return _page(
                request, "service/public/closed.html", context | {"state": "disabled"}, status=404
            )
        if request.method == "POST":
            return _submit(request, config, context)
        context["form"] = form = ComplaintForm(initial={"category": config.form_category_id})
        if not embed:  # browsers refuse autofocus in a cross-origin frame (and it would scroll)
            form.focus("name")
        context["stamp"] = guard.new_stamp()
        return _page(request, "service/public/form.html", context)


def _context(request, config: ServiceSettings, *, language: str, embed: bool, origins) -> dict:
    parent = publicforms.parent_origin(request, origins) if embed else ""
    keep = {"embed": "1"} if embed and request.resolver_match.url_name != "embed" else {}
    if parent:
        keep["parent"] = parent
    other = "en" if language == "de" else "de"
    return {
        "language": language,
        "other_language": other,
        "other_language_name": "English" if other == "en" else "Deutsch",
        "switch_query": "?" + urlencode({"lang": other, **keep}),
        "embed": embed,
        "origins": origins,
        "parent_origin": parent,
        "honeypot": guard.HONEYPOT,
    }


def _submit(request: HttpRequest, config: ServiceSettings, context: dict) -> HttpResponse:
    wait = guard.seconds_until_allowed(request, per_hour=config.form_posts_per_hour)
    if wait is not None:
        response = _page(
            request,
            "service/public/closed.html",
            context | {"state": "throttled", "minutes": max(1, math.ceil(wait / 60))},
            status=429,
        )
        return publicforms.throttled(response, wait)
    if publicforms.honeypot_filled(request.POST):
        log.info("complaint form: honeypot filled, nothing created")
        return _page(request, "service/public/thanks.html", context | {"number": ""})
    form = ComplaintForm(request.POST)
    stamp = request.POST.get("stamp", "")
    verdict = guard.check_stamp(stamp, min_seconds=config.form_min_seconds)
    context |= {"form": form, "stamp": stamp if verdict != guard.Stamp.INVALID else ""}
    if verdict == guard.Stamp.OK:
        given = guard.claim_submission(stamp)
        if given is not None:  # sent before (a double click, a reload): the same answer
            return _page(request, "service/public/thanks.html", context | {"number": given})
        try:
            case = _create_case(form, config, context["language"]) if form.is_valid() else None
        except Exception:
            guard.finish_submission(stamp, None)  # nothing was created: it may be sent again
            raise
        guard.finish_submission(stamp, case.number if case else None)
        if case is not None:
            return _page(
                request,
                "service/public/thanks.html",
                context | {"number": case.number, "email": _confirmed_to(case, form)},
            )
    else:
        form.is_valid()  # the field errors are shown too, with the visitor's input
        context["stamp_problem"] = verdict.value
        if verdict in (guard.Stamp.INVALID, guard.Stamp.EXPIRED):
            context["stamp"] = guard.new_stamp()
    if not context["embed"]:
        form.focus(form.first_error_field() or "name")
    return _page(request, "service/public/form.html", context, status=422)


def _confirmed_to(case, form: ComplaintForm) -> str:
    """The address typed, if the acknowledgement went to it. A case linked to a known
    customer by the phone number alone is confirmed to the customer's own address, which a
    visitor must never be shown."""
    typed = form.cleaned_data["email"].strip()
    sent_to = services.customer_email(case)
    return typed if sent_to and sent_to.lower() == typed.lower() else ""


def _create_case(form: ComplaintForm, config: ServiceSettings, language: str):
    """The case through the one service every channel uses; its validation errors go to the
    form's fields. None when it refused."""
    data = form.cleaned_data
    category = data.get("category") or config.form_category
    if category is None or not category.is_active:
        category = CaseCategory.objects.filter(is_active=True).order_by("name_en", "pk").first()
    if category is None:
        form.add_error(None, translation.gettext("Complaints cannot be taken at the moment."))
        log.error("complaint form: no active case category")
        return None
    try:
        return services.case_create(
            actor=None,
            channel=Channel.FORM,
            category=category,
            subject=data["subject"],
            description=form.case_description(),
            sender_name=data["name"],
            sender_email=data["email"],
            sender_phone=data["phone"],
            product=form.matched_product(),
            language=language,
        )
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            exc = ValidationError(
                {SERVICE_FIELDS.get(k, "__all__"): v for k, v in exc.error_dict.items()}
            )
        apply_errors(form, exc)
        form.mark_errors()
        return None


@require_GET
def embed_script(request: HttpRequest) -> HttpResponse:
    """The script a website includes to show the form: it puts the iframe where the script
    tag stands and sizes it to the form (the frame reports its height by postMessage; only
    messages from Kreis's origin and that frame are taken)."""
    body = render_to_string(
        "service/public/embed.js", {"embed_path": reverse("complaint:embed")}, request=None
    )
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=3600"
    return response


@login_required
def setup(request: HttpRequest) -> HttpResponse:
    """For administrators: the form's state and the snippets to embed it on a website."""
    if not request.user.is_admin:
        raise PermissionDenied
    config = guard.current_settings()
    form_url = request.build_absolute_uri(reverse("complaint:form"))
    embed_url = request.build_absolute_uri(reverse("complaint:embed"))
    script_url = request.build_absolute_uri(reverse("complaint:embed_js"))
    language = request.user.language or settings.LANGUAGE_CODE
    title = translation.gettext("Complaint form")
    iframe = (
        f'<iframe src="{embed_url}?lang={language}" title="{title}"'
        ' width="100%" height="1100" style="border:0"></iframe>'
    )
    script = f'<script src="{script_url}" data-lang="{language}" async></script>'
    context = {
        "config": config,
        "origins": guard.embed_origins(config),
        "form_url": form_url,
        "iframe_snippet": iframe,
        "script_snippet": script,
        "settings_url": reverse("admin:service_servicesettings_changelist"),
    }
    return render(request, "service/public_form_setup.html", context)
