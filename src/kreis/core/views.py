"""Pages of the app shell: dashboard, search, notifications, profile, API keys, language."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from kreis.core import queries, services
from kreis.core.forms import ApiKeyForm, ProfileForm
from kreis.core.health import run_checks
from kreis.core.search import search_all
from kreis.core.web import apply_errors, is_htmx
from kreis.core.worker import worker_status


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    user = request.user
    context = {
        "teams": queries.team_list_for_user(user=user).filter(pk__in=user.team_ids()),
        "notifications": queries.notification_list_for_user(user=user)[:5],
        "api_key_count": queries.apikey_list_for_user(user=user).filter(revoked_at=None).count(),
        "has_mfa": user.authenticator_set.exists(),
        "health": run_checks() if user.is_admin else None,
        "worker": worker_status() if user.is_admin else None,
    }
    return render(request, "core/dashboard.html", context)


@login_required
@require_GET
def search(request: HttpRequest) -> HttpResponse:
    """Global search: CRM records (from every app's provider), colleagues and teams."""
    q = request.GET.get("q", "").strip()[:100]
    results = {"records": [], "users": [], "teams": []}
    if len(q) >= 2:
        results["records"] = search_all(user=request.user, text=q)
        # Colleagues are shown by name and role: their teams are not needed.
        colleagues = queries.user_list_for_user(user=request.user, search=q)
        results["users"] = list(colleagues.prefetch_related(None)[:8])
        results["teams"] = list(queries.team_list_for_user(user=request.user, search=q)[:8])
    context = {"q": q, "results": results, "found": any(results.values())}
    template = "core/_search_results.html" if is_htmx(request) else "core/search.html"
    return render(request, template, context)


@login_required
@never_cache
def notifications(request: HttpRequest) -> HttpResponse:
    items = queries.notification_list_for_user(user=request.user)[:50]
    template = "core/_notifications.html" if is_htmx(request) else "core/notifications.html"
    return render(request, template, {"items": items})


@login_required
@require_POST
def notification_read(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    notification = None
    if pk is not None:
        notification = queries.notification_get_for_user(user=request.user, pk=pk)
    services.notification_mark_read(user=request.user, notification=notification)
    if notification is not None and notification.url and not is_htmx(request):
        if url_has_allowed_host_and_scheme(notification.url, allowed_hosts={request.get_host()}):
            return redirect(notification.url)
    if is_htmx(request):
        return notifications(request)
    return redirect("core:notifications")


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Switch the interface language; a signed-in user keeps it for every device."""
    from django.conf import settings
    from django.utils import translation

    language = request.POST.get("language", "")
    if language not in dict(settings.LANGUAGES):
        language = settings.LANGUAGE_CODE
    if request.user.is_authenticated:
        services.user_update_profile(user=request.user, language=language)
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    translation.activate(language)
    response = redirect(target)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=365 * 24 * 3600,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
        secure=settings.LANGUAGE_COOKIE_SECURE,
    )
    return response


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        services.user_update_profile(
            user=request.user, **{name: form.cleaned_data[name] for name in form.Meta.fields}
        )
        messages.success(request, _("Your profile has been saved."))
        return redirect("core:profile")
    return render(request, "core/profile.html", {"form": form})


@login_required
def api_keys(request: HttpRequest) -> HttpResponse:
    form = ApiKeyForm(request.POST or None)
    new_key = None
    if request.method == "POST" and form.is_valid():
        try:
            key, new_key = services.apikey_create(
                actor=request.user, user=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            form = ApiKeyForm()
            messages.success(request, _("API key “%s” created.") % key.name)
    keys = queries.apikey_list_for_user(user=request.user)
    return render(request, "core/api_keys.html", {"form": form, "keys": keys, "new_key": new_key})


@login_required
@require_POST
def api_key_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    key = queries.apikey_get_for_user(user=request.user, pk=pk)
    services.apikey_revoke(actor=request.user, key=key)
    messages.success(request, _("API key “%s” revoked.") % key.name)
    return redirect("core:api_keys")


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """For load balancers and monitoring: 200 when all is well, 503 otherwise."""
    report = run_checks()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """400: the reason of a ``BadQuery`` (an id or date no record can have) is shown; other
    bad requests (a forged host header, a broken upload) say only that the request was bad."""
    from kreis.core.web import BadQuery

    message = str(exception) if isinstance(exception, BadQuery) else ""
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"type": "about:blank", "title": "Bad Request", "status": 400, "detail": message},
            status=400,
            content_type="application/problem+json",
        )
    return render(request, "400.html", {"message": message}, status=400)
