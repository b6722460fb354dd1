"""The objective satisfaction KPIs page (DOMAIN.md §3): /analytics/kpis/…"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kreis.analytics.kpis import charts, queries, services
from kreis.analytics.kpis.forms import KpiPeriodForm, MarketVolumeForm, QualityCheckForm
from kreis.analytics.kpis.models import Grain, MarketVolume, QualityCheck
from kreis.commerce.models import Product
from kreis.core.web import apply_errors, safe_next

RECENT = 12


class Selection:
    """The range and grain from ``?start=&end=&grain=`` (default: the last eight quarters)."""

    def __init__(self, request: HttpRequest):
        today = timezone.localdate()
        self.start, self.end = queries.default_range(today)
        self.grain = Grain.QUARTER.value
        if {"start", "end", "grain"} & set(request.GET):
            self.form = KpiPeriodForm(request.GET)
            if self.form.is_valid():
                self.start = self.form.cleaned_data["start"]
                self.end = self.form.cleaned_data["end"]
                self.grain = self.form.cleaned_data["grain"]
        else:
            self.form = KpiPeriodForm(
                initial={"start": self.start, "end": self.end, "grain": self.grain}
            )
        self.query = urlencode(
            {"start": self.start.isoformat(), "end": self.end.isoformat(), "grain": self.grain}
        )


def _page(request: HttpRequest, *, volume_form=None, check_form=None) -> HttpResponse:
    queries.check_view(request.user)
    selection = Selection(request)
    today = timezone.localdate()
    try:
        report = queries.kpi_report(
            user=request.user,
            start=selection.start,
            end=selection.end,
            grain=selection.grain,
            today=today,
        )
    except ValidationError as exc:
        # Too many periods: say so on the form and show the default instead.
        apply_errors(selection.form, exc)
        start, end = queries.default_range(today)
        report = queries.kpi_report(
            user=request.user, start=start, end=end, grain=Grain.QUARTER, today=today
        )
    periods = queries.periods_for(report["start"], report["end"], report["grain"])
    can_enter = queries.can_enter_kpi_inputs(request.user)
    here = f"{reverse('analytics:kpis')}?{selection.query}"
    context = {
        "active": "kpis",
        "selection": selection,
        "report": report,
        "charts": charts.kpi_charts(report),
        "can_enter": can_enter,
        "here": here,
        "volume_form": volume_form or MarketVolumeForm(initial={"grain": report["grain"]}),
        "check_form": check_form or QualityCheckForm(initial={"date": today}),
        "volumes": MarketVolume.objects.filter(
            start__gte=periods.start, start__lte=periods.end
        ).order_by("-start", "segment")[:RECENT],
        "checks": queries.quality_checks_in(periods).select_related("product")[:RECENT],
        "categories": list(
            Product.objects.exclude(category="")
            .order_by("category")
            .values_list("category", flat=True)
            .distinct()[:200]
        ),
    }
    return render(request, "analytics/kpis/page.html", context)


@login_required
def kpis_page(request: HttpRequest) -> HttpResponse:
    return _page(request)


def _check_enter(request: HttpRequest) -> None:
    if not queries.can_enter_kpi_inputs(request.user):
        raise PermissionDenied


@login_required
@require_POST
def market_volume_add(request: HttpRequest) -> HttpResponse:
    _check_enter(request)
    form = MarketVolumeForm(request.POST)
    if form.is_valid():
        try:
            record, created = services.market_volume_set(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            text = _("Market volume saved.") if created else _("Market volume replaced.")
            messages.success(request, f"{text} {record}")
            return redirect(safe_next(request, reverse("analytics:kpis")))
    return _page(request, volume_form=form)


@login_required
@require_POST
def market_volume_remove(request: HttpRequest, pk: int) -> HttpResponse:
    _check_enter(request)
    record = get_object_or_404(MarketVolume, pk=pk)
    services.market_volume_delete(actor=request.user, record=record)
    messages.success(request, _("Market volume deleted."))
    return redirect(safe_next(request, reverse("analytics:kpis")))


@login_required
@require_POST
def quality_check_add(request: HttpRequest) -> HttpResponse:
    _check_enter(request)
    form = QualityCheckForm(request.POST)
    if form.is_valid():
        try:
            services.quality_check_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Quality check recorded."))
            return redirect(safe_next(request, reverse("analytics:kpis")))
    return _page(request, check_form=form)


@login_required
@require_POST
def quality_check_remove(request: HttpRequest, pk: int) -> HttpResponse:
    _check_enter(request)
    record = get_object_or_404(QualityCheck, pk=pk)
    services.quality_check_delete(actor=request.user, record=record)
    messages.success(request, _("Quality check deleted."))
    return redirect(safe_next(request, reverse("analytics:kpis")))


kpis_urlpatterns = [
    path("kpis/", kpis_page, name="kpis"),
    path("kpis/market-volumes/", market_volume_add, name="kpis_volume_add"),
    path("kpis/market-volumes/<int:pk>/delete/", market_volume_remove, name="kpis_volume_delete"),
    path("kpis/quality-checks/", quality_check_add, name="kpis_check_add"),
    path("kpis/quality-checks/<int:pk>/delete/", quality_check_remove, name="kpis_check_delete"),
]
