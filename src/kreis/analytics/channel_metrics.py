"""Channel metrics (DOMAIN.md §1, communicative CRM): inbound and outbound volume per channel
and response times, per team and overall, for a chosen period, with the unified inbox's
first-response times and SLA compliance per channel — the page
/analytics/channels/ with a chart and a table, and /api/v1/analytics/channel-metrics.

The figures are computed by ``kreis.channels.metrics`` from the activities (one grouped query
for the volumes, one with a correlated subquery for the response times). Administrators see
every team; a team's managers see the teams they manage; others none.
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import Router, Schema

from kreis.channels.metrics import MAX_DAYS, Metrics, channel_metrics
from kreis.core.api_support import PROBLEM_RESPONSES
from kreis.core.forms import BootstrapMixin
from kreis.inbox.metrics import first_response_metrics

DEFAULT_DAYS = 30


def team_scope(user) -> set[int] | None:
    """The teams whose figures the user may see (None: all); PermissionDenied for none."""
    if not (user.is_authenticated and user.is_active):
        raise PermissionDenied
    if user.is_admin:
        return None
    managed = user.managed_team_ids()
    if not managed:
        raise PermissionDenied
    return set(managed)


def check_period(start: dt.date, end: dt.date) -> None:
    if start > end:
        raise ValidationError({"end": [_("The end is before the start.")]})
    if (end - start).days > MAX_DAYS:
        raise ValidationError({"end": [_("At most three years at once.")]})


def metrics_for_user(user, *, start: dt.date, end: dt.date) -> Metrics:
    scope = team_scope(user)
    check_period(start, end)
    return channel_metrics(start=start, end=end, teams=scope)


def default_period(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    end = today or timezone.localdate()
    return end - dt.timedelta(days=DEFAULT_DAYS - 1), end


def chart(metrics: Metrics) -> dict:
    """ECharts option: inbound and outbound bars per channel, the average response time (hours)
    as a line on a second axis (analytics/charts.js draws it)."""
    labels = [r.channel_label for r in metrics.overall]
    return {
        "empty": not any(r.inbound or r.outbound for r in metrics.overall),
        "option": {
            "grid": {"left": 48, "right": 48, "top": 56, "bottom": 32},
            "tooltip": {"trigger": "axis"},
            "legend": {"top": 0, "type": "scroll"},
            "xAxis": {"type": "category", "data": labels},
            "yAxis": [
                {"type": "value", "name": _("Interactions"), "minInterval": 1},
                {"type": "value", "name": _("Hours")},
            ],
            "series": [
                {"name": _("Inbound"), "type": "bar", "data": [r.inbound for r in metrics.overall]},
                {
                    "name": _("Outbound"),
                    "type": "bar",
                    "data": [r.outbound for r in metrics.overall],
                },
                {
                    "name": _("Average response time (hours)"),
                    "type": "line",
                    "yAxisIndex": 1,
                    "data": [r.avg_response_hours for r in metrics.overall],
                },
            ],
        },
    }


class PeriodForm(BootstrapMixin, forms.Form):
    start = forms.DateField(
        label=gettext_lazy("From"), widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(label=gettext_lazy("To"), widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end"):
            try:
                check_period(data["start"], data["end"])
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    self.add_error(field, errors)
        return data


@login_required
def channel_metrics_page(request: HttpRequest) -> HttpResponse:
    team_scope(request.user)
    start, end = default_period()
    if {"start", "end"} & set(request.GET):
        form = PeriodForm(request.GET)
        if form.is_valid():
            start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    else:
        form = PeriodForm(initial={"start": start, "end": end})
    metrics = metrics_for_user(request.user, start=start, end=end)
    inbox_rows, inbox_overall = first_response_metrics(
        start=start, end=end, teams=team_scope(request.user)
    )
    return render(
        request,
        "analytics/channel_metrics.html",
        {
            "active": "channels",
            "form": form,
            "metrics": metrics,
            "chart": chart(metrics),
            "inbox_rows": inbox_rows,
            "inbox_overall": inbox_overall,
        },
    )


channel_urlpatterns = [path("channels/", channel_metrics_page, name="channel_metrics")]


# --- API ---------------------------------------------------------------------------------------

router = Router(tags=["analytics"])


class MetricRow(Schema):
    team_id: int | None
    team: str
    channel: str
    inbound: int
    outbound: int
    answered: int
    avg_response_hours: float | None


class InboxResponseRow(Schema):
    team_id: int | None
    team: str
    channel: str
    received: int
    responded: int
    avg_first_response_hours: float | None
    sla_met: int
    sla_breached: int
    sla_met_percent: float | None


class ChannelMetricsOut(Schema):
    start: dt.date
    end: dt.date
    per_team: list[MetricRow]
    overall: list[MetricRow]
    inbox_per_team: list[InboxResponseRow]
    inbox_overall: list[InboxResponseRow]


@router.get(
    "/analytics/channel-metrics",
    response={200: ChannelMetricsOut, **PROBLEM_RESPONSES},
    summary="Inbound and outbound volume and response times per channel and team",
    description="For ``start``..``end`` (both included; default: the last 30 days, at most "
    "three years). Administrators get every team, managers the teams they manage.",
)
def channel_metrics_api(
    request: HttpRequest, start: dt.date | None = None, end: dt.date | None = None
):
    end = end or default_period()[1]
    start = start or end - dt.timedelta(days=DEFAULT_DAYS - 1)
    found = metrics_for_user(request.auth, start=start, end=end)
    rows, overall = first_response_metrics(start=start, end=end, teams=team_scope(request.auth))
    return found.as_dict() | {
        "inbox_per_team": [r.as_dict() for r in rows],
        "inbox_overall": [r.as_dict() for r in overall],
    }
