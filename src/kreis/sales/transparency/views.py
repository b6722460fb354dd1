"""Process transparency pages: time in stage, conversion and stuck deals per pipeline; SLA
compliance of the lead and case queues per team; each bar opens the records behind it."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kreis.core.web import parse_id, query_without_page
from kreis.sales import queries as deal_queries
from kreis.sales.charts import bar_chart
from kreis.sales.models import PeriodKind, Pipeline, Stage
from kreis.sales.periods import Period, period_containing, period_from_key
from kreis.sales.transparency import queries

QUEUES = ("leads", "cases", "case_ack")


def _period(request: HttpRequest) -> Period:
    try:
        return period_from_key(request.GET.get("period") or "")
    except ValidationError:
        return period_containing(timezone.localdate(), PeriodKind.QUARTER)


def _pipeline(request: HttpRequest, pipelines: list[Pipeline]) -> Pipeline | None:
    pipeline_id = parse_id(request.GET.get("pipeline"))
    if pipeline_id is None:
        return next((p for p in pipelines if p.is_default), pipelines[0] if pipelines else None)
    found = next((p for p in pipelines if p.pk == pipeline_id), None)
    if found is None:
        raise Http404
    return found


def _days(value: float | None) -> str | None:
    return None if value is None else f"{value:.1f}"


def _sla_link(queue: str, row, outcome: str, period: Period) -> str:
    team = row.team.pk if row.team else "none"
    return (
        f"{reverse('sales:transparency:sla')}?queue={queue}&team={team}"
        f"&outcome={outcome}&period={period.key}"
    )


@login_required
def transparency_page(request: HttpRequest) -> HttpResponse:
    pipelines = list(deal_queries.pipeline_list())
    pipeline = _pipeline(request, pipelines)
    period = _period(request)
    figures = queries.pipeline_figures(user=request.user, pipeline=pipeline) if pipeline else []
    deals = reverse("sales:list")
    stuck = reverse("sales:transparency:stuck")
    names = [f.stage.label for f in figures]
    in_stage = [f"{deals}?pipeline={pipeline.pk}&stage={f.stage.pk}" for f in figures]
    time_chart = bar_chart(
        categories=names,
        series=[
            {"name": _("Median"), "data": [_days(f.median) for f in figures], "color": "#2f6fdf"},
            {
                "name": _("75th percentile"),
                "data": [_days(f.p75) for f in figures],
                "color": "#9ec5fe",
            },
        ],  # fmt: skip
        links=in_stage,
        unit="days",
    )
    conversion_chart = bar_chart(
        categories=names,
        series=[
            {"name": _("Moved on"), "data": [f.conversion for f in figures], "color": "#198754"}
        ],
        links=in_stage,
        unit="percent",
    )
    stuck_chart = bar_chart(
        categories=names,
        series=[
            {
                "name": _("Stuck deals"),
                "data": [len(f.stuck_ids) for f in figures],
                "color": "#dc3545",
            }
        ],  # fmt: skip
        links=[f"{stuck}?pipeline={pipeline.pk}&stage={f.stage.pk}" for f in figures],
    )
    sla = queries.sla_compliance(user=request.user, period=period)
    sla_charts = {}
    for queue in QUEUES:
        rows = sla[queue]
        sla_charts[queue] = bar_chart(
            categories=[r.team.name if r.team else _("No team") for r in rows],
            series=[
                {
                    "name": _("In time"),
                    "data": [r.counts["in_time"] for r in rows],
                    "stack": "s",
                    "color": "#198754",
                },
                {
                    "name": _("Late"),
                    "data": [r.counts["late"] for r in rows],
                    "stack": "s",
                    "color": "#fd7e14",
                },
                {
                    "name": _("Open, past due"),
                    "data": [r.counts["open_late"] for r in rows],
                    "stack": "s",
                    "color": "#dc3545",
                },
            ],  # fmt: skip
            links=[_sla_link(queue, r, "late", period) for r in rows],
            horizontal=True,
        )
    year = period.start.year
    keys = [str(year), *(f"{year}-Q{q}" for q in range(1, 5))]
    keys += [f"{year}-{m:02d}" for m in range(1, 13)]
    context = {
        "pipelines": pipelines,
        "pipeline": pipeline,
        "period": period,
        "periods": [period_from_key(k) for k in keys],
        "figures": [
            (f, link, f"{stuck}?pipeline={pipeline.pk}&stage={f.stage.pk}")
            for f, link in zip(figures, in_stage, strict=True)
        ],
        "time_chart": time_chart if figures else None,
        "conversion_chart": conversion_chart if figures else None,
        "stuck_chart": stuck_chart if figures else None,
        "sla": [
            (
                queue,
                label,
                sla_charts[queue] if sla[queue] else None,
                [
                    (r, {o: _sla_link(queue, r, o, period) for o in queries.OUTCOMES})
                    for r in sla[queue]
                ],
            )
            for queue, label in (
                ("leads", _("Leads: first contact")),
                ("cases", _("Cases: resolution")),
                ("case_ack", _("Cases: acknowledgement")),
            )
        ],
        "stuck_factor": queries.STUCK_FACTOR,
        "min_samples": queries.MIN_SAMPLES,
    }
    return render(request, "sales/transparency/page.html", context)


@login_required
def stuck_list(request: HttpRequest) -> HttpResponse:
    pipelines = list(deal_queries.pipeline_list())
    pipeline = _pipeline(request, pipelines)
    stage = Stage.objects.filter(pk=parse_id(request.GET.get("stage")) or 0).first()
    if pipeline is None or stage is None or stage.pipeline_id != pipeline.pk:
        raise Http404
    deals = queries.stuck_deals(user=request.user, pipeline=pipeline, stage=stage)
    page = Paginator(deals, 50).get_page(request.GET.get("page"))
    context = {
        "pipeline": pipeline,
        "stage": stage,
        "page": page,
        "query": query_without_page(request),
        "stuck_factor": queries.STUCK_FACTOR,
    }
    return render(request, "sales/transparency/stuck.html", context)


@login_required
def sla_list(request: HttpRequest) -> HttpResponse:
    """The handoffs or cases behind an SLA bar: one queue, team and outcome in a period."""
    queue = request.GET.get("queue", "")
    outcome = request.GET.get("outcome", "")
    if queue not in QUEUES or outcome not in queries.OUTCOMES:
        raise Http404
    period = _period(request)
    now = timezone.now()
    raw_team = request.GET.get("team", "")
    if queue == "leads":
        records = queries.lead_handoffs(user=request.user, period=period).filter(
            queries.lead_outcome_filter(outcome, now)
        )
        records = records.select_related("lead", "assigned_to", "team").order_by("-assigned_at")
    else:
        step = "ack" if queue == "case_ack" else "resolve"
        records = queries.cases_in(user=request.user, period=period).filter(
            queries.case_outcome_filter(outcome, now, step=step)
        )
        records = records.select_related("party", "owner", "team").order_by("-created_at")
    if raw_team == "none":
        records = records.filter(team__isnull=True)
    elif parse_id(raw_team):
        records = records.filter(team_id=parse_id(raw_team))
    page = Paginator(records, 50).get_page(request.GET.get("page"))
    labels = {
        "in_time": _("In time"),
        "late": _("Late"),
        "open_late": _("Open, past due"),
        "open_ok": _("Open, within the time"),
    }
    context = {
        "queue": queue,
        "outcome_label": labels[outcome],
        "period": period,
        "page": page,
        "query": query_without_page(request),
    }
    return render(request, "sales/transparency/sla.html", context)
