"""Pages of the analytical CRM: dashboard, ABC, RFM, lifecycle, portfolio, CLV (/analytics/…)."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kreis.analytics import warehouse
from kreis.analytics.customer import lifecycle
from kreis.analytics.customer.models import PhaseChange
from kreis.analytics.customer.services import phase_override_lift, phase_override_set
from kreis.analytics.reports import charts, customer_charts, queries
from kreis.analytics.runs.models import AnalyticsRun
from kreis.core.web import csv_response, parse_month, safe_next
from kreis.parties.models import LifecyclePhase
from kreis.parties.queries import party_get_for_user

RECENT_TRANSITIONS = 50


def _chart_response(request: HttpRequest, chart: charts.Chart, name: str) -> HttpResponse:
    if request.GET.get("format") == "csv":
        return csv_response(f"{name}.csv", chart.header, chart.rows)
    payload: dict[str, object] = {"option": chart.option}
    if chart.empty is not None:
        payload["empty"] = chart.empty
    return JsonResponse(payload)


def _month(raw: str) -> dt.date | None:
    return parse_month(raw)  # a month beyond the supported calendar is a BadQuery (400)


def _float(raw: str | None, default: float, low: float, high: float) -> float:
    try:
        value = float(raw or "")
    except ValueError:
        return default
    return value if low <= value <= high else default


@login_required
def chart_data(request: HttpRequest, name: str) -> HttpResponse:
    """One chart's ECharts option as JSON, or its figures with ``?format=csv``."""
    user, today = request.user, timezone.localdate()
    if name == "revenue":
        chart = charts.revenue_by_month(user, today)
    elif name == "pipeline":
        chart = charts.pipeline_by_stage(user)
    elif name == "phases":
        chart = charts.customers_by_phase(user)
    elif name == "abc-mix":
        chart = charts.abc_mix(user)
    elif name == "clv":
        chart = charts.clv_histogram(user)
    elif name == "churn":
        chart = charts.churn_by_month(user, today)
    elif name == "rfm":
        chart = customer_charts.rfm_heatmap(user)
    elif name == "abc-pareto":
        try:
            chart = customer_charts.abc_pareto(user, customer_charts.abc_params(request.GET, today))
        except warehouse.WarehouseBusy:
            return JsonResponse({"detail": _("The analytics are being refreshed.")}, status=503)
    elif name == "transitions":
        month = _month(request.GET.get("month", "")) or today.replace(day=1)
        chart = customer_charts.transitions_chart(user, month)
    elif name == "portfolio":
        x_default, y_default = customer_charts.portfolio_splits()
        x = _float(request.GET.get("x"), x_default, 0.0, 10.0)
        y = _float(request.GET.get("y"), y_default, 0.0, 100.0)
        chart = customer_charts.portfolio_chart(user, x, y)
    else:
        raise Http404
    return _chart_response(request, chart, name)


def _chart_urls(name: str, query: str = "") -> tuple[str, str]:
    url = reverse("analytics:chart", args=[name])
    json_url = f"{url}?{query}" if query else url
    csv_url = f"{url}?{query + '&' if query else ''}format=csv"
    return json_url, csv_url


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    names = {
        "revenue": _("Net revenue by month"),
        "pipeline": _("Open pipeline by stage"),
        "phases": _("Customers by lifecycle phase"),
        "abc-mix": _("ABC mix"),
        "clv": _("Customer lifetime value distribution"),
        "churn": _("Churn and win-backs by month"),
    }
    chart_list = [(name, title, *_chart_urls(name)) for name, title in names.items()]
    return render(
        request,
        "analytics/dashboard.html",
        {
            "active": "dashboard",
            "kpis": charts.dashboard_kpis(request.user, today),
            "charts": chart_list,
            "last_run": AnalyticsRun.objects.order_by("-started_at").first(),
        },
    )


@login_required
def abc_page(request: HttpRequest) -> HttpResponse:
    params = customer_charts.abc_params(request.GET, timezone.localdate())
    try:
        summary = customer_charts.abc_summary(request.user, params)
        busy = False
    except warehouse.WarehouseBusy:
        summary, busy = [], True
    query = urlencode({"months": params.months, "metric": params.metric})
    json_url, csv_url = _chart_urls("abc-pareto", query)
    return render(
        request,
        "analytics/abc.html",
        {
            "active": "abc",
            "params": params,
            "summary": summary,
            "busy": busy,
            "total": sum(row["customers"] for row in summary),
            "pareto_url": json_url,
            "pareto_csv": csv_url,
        },
    )


@login_required
def rfm_page(request: HttpRequest) -> HttpResponse:
    json_url, csv_url = _chart_urls("rfm")
    return render(
        request,
        "analytics/rfm.html",
        {
            "active": "rfm",
            "segments": customer_charts.rfm_segments(request.user, timezone.localdate()),
            "grid_url": json_url,
            "grid_csv": csv_url,
        },
    )


@login_required
def lifecycle_page(request: HttpRequest) -> HttpResponse:
    months = customer_charts.change_months(request.user)
    month = _month(request.GET.get("month", "")) or (
        months[0] if months else timezone.localdate().replace(day=1)
    )
    json_url, csv_url = _chart_urls("transitions", urlencode({"month": month.strftime("%Y-%m")}))
    recent = (
        PhaseChange.objects.filter(party__in=charts.visible_parties(request.user))
        .select_related("party", "changed_by")
        .order_by("-date", "-pk")[:RECENT_TRANSITIONS]
    )
    rows = [
        {
            "change": change,
            "text": _("Set by hand")
            if change.manual
            else lifecycle.describe(change.reason, change.facts),
        }
        for change in recent
    ]
    return render(
        request,
        "analytics/lifecycle.html",
        {
            "active": "lifecycle",
            "groups": customer_charts.phases_grouped(request.user),
            "months": months,
            "month": month,
            "sankey_url": json_url,
            "sankey_csv": csv_url,
            "recent": rows,
        },
    )


@login_required
@require_POST
def phase_override(request: HttpRequest, pk: int) -> HttpResponse:
    party = party_get_for_user(user=request.user, pk=pk)
    if request.user.is_read_only or not request.user.has_perm("core.change_record", party):
        raise PermissionDenied
    target = safe_next(request, reverse("parties:detail", args=[party.pk]))
    if "lift" in request.POST:
        phase_override_lift(actor=request.user, party=party)
        messages.success(request, _("The phase is computed again by the next run."))
        return redirect(target)
    phase = request.POST.get("phase", "")
    if phase not in LifecyclePhase.values:
        messages.error(request, _("Choose a lifecycle phase."))
        return redirect(target)
    phase_override_set(
        actor=request.user, party=party, phase=phase, note=request.POST.get("note", "").strip()
    )
    messages.success(request, _("Lifecycle phase set by hand."))
    return redirect(target)


def _x_split(get, default: float) -> float:
    """The share-of-wallet split: ``?share=`` in per cent (the page's form) or ``?x=`` as a
    fraction (links and the chart's URL); ``default`` (a fraction) from the settings."""
    if "share" in get:
        return _float(get.get("share"), default * 100, 0.0, 1000.0) / 100
    return _float(get.get("x"), default, 0.0, 10.0)


@login_required
def portfolio_page(request: HttpRequest) -> HttpResponse:
    x_default, y_default = customer_charts.portfolio_splits()
    x = _x_split(request.GET, x_default)
    y = _float(request.GET.get("y"), y_default, 0.0, 100.0)
    data = customer_charts.portfolio(request.user, x, y)
    data.pop("_arrays")
    visible = charts.visible_customers(request.user)
    json_url, csv_url = _chart_urls("portfolio", urlencode({"x": x, "y": y}))
    return render(
        request,
        "analytics/portfolio.html",
        {
            "active": "portfolio",
            "data": data,
            "share_split": round(x * 100, 1),
            "without_potential": visible.filter(purchasing_potential__isnull=True).count(),
            "without_score": visible.filter(score__isnull=True).count(),
            "chart_url": json_url,
            "chart_csv": csv_url,
        },
    )


@login_required
def clv_page(request: HttpRequest) -> HttpResponse:
    fit = queries.latest_fit()
    json_url, csv_url = _chart_urls("clv")
    top = (
        charts.visible_parties(request.user)
        .filter(clv__isnull=False)
        .select_related("customer_value")
        .order_by("-clv", "pk")
        .only(
            "pk",
            "name",
            "clv",
            "historical_value",
            "p_alive",
            "expected_purchases",
            "customer_value__next_12_months",
            "customer_value__margin_basis",
        )[:20]
    )
    return render(
        request,
        "analytics/clv.html",
        {
            "active": "clv",
            "fit": fit,
            "top": top,
            "chart_url": json_url,
            "chart_csv": csv_url,
        },
    )


pages_urlpatterns = [
    path("", dashboard, name="dashboard"),
    path("abc/", abc_page, name="abc"),
    path("rfm/", rfm_page, name="rfm"),
    path("lifecycle/", lifecycle_page, name="lifecycle"),
    path("lifecycle/party/<int:pk>/override/", phase_override, name="phase_override"),
    path("portfolio/", portfolio_page, name="portfolio"),
    path("clv/", clv_page, name="clv"),
    path("chart/<slug:name>.json", chart_data, name="chart"),
]
