"""Pages to start a run, follow its progress and edit the analytics settings."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _

from kreis.analytics.runs import services
from kreis.analytics.runs.forms import AnalyticsSettingsForm
from kreis.analytics.runs.models import AnalyticsRun, AnalyticsSettings
from kreis.core.web import apply_errors, is_htmx
from kreis.core.worker import jobs_run_immediately, worker_status


@login_required
def run_start(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        record = services.analytics_run_start(actor=request.user, full="full" in request.POST)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("analytics:runs")
    return redirect("analytics:run_detail", pk=record.pk)


@login_required
def run_list(request: HttpRequest) -> HttpResponse:
    if not services.can_follow_runs(request.user):
        raise PermissionDenied
    services.analytics_runs_fail_orphaned()
    runs = AnalyticsRun.objects.select_related("started_by")[:30]
    no_worker = not jobs_run_immediately() and not worker_status().alive
    context = {
        "runs": runs,
        "no_worker": services.no_worker_message() if no_worker else "",
    }
    return render(request, "analytics/runs.html", context)


@login_required
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    if not services.can_follow_runs(request.user):
        raise PermissionDenied
    services.analytics_runs_fail_orphaned()
    record = get_object_or_404(AnalyticsRun, pk=pk)
    template = "analytics/_run_progress.html" if is_htmx(request) else "analytics/run.html"
    return render(request, template, {"run": record})


@login_required
def settings_edit(request: HttpRequest) -> HttpResponse:
    if not request.user.is_admin:
        raise PermissionDenied
    cfg = AnalyticsSettings.load()
    form = AnalyticsSettingsForm(request.POST or None, instance=cfg)
    if request.method == "POST" and form.is_valid():
        try:
            services.analytics_settings_update(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Settings saved. They apply from the next run."))
            return redirect("analytics:settings")
    return render(request, "analytics/settings.html", {"form": form, "settings": cfg})


runs_urlpatterns = [
    path("runs/", run_list, name="runs"),
    path("runs/start/", run_start, name="run"),
    path("runs/<int:pk>/", run_detail, name="run_detail"),
    path("settings/", settings_edit, name="settings"),
]
