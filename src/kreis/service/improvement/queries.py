"""Reads of improvement actions and their effect on the cases of their root cause.

The effect of an action that took effect on day E (``effective_on``), looked at on day T:

    N      = min(T − E, 90) days (the longest span that lies both before and after E)
    before = cases of the root cause created in [E − N, E)
    after  = cases of the root cause created in [E, E + N)
    change = (after − before) / before

Equal spans on both sides make the two counts comparable; the cap keeps the comparison near
the change rather than in last year's season. Before an action takes effect (no date yet, or a
date to come) the page shows the trend so far: the root cause's cases per week of the last
13 weeks. Cases are counted by the day they were received, all of them (figures, not records:
no one sees a case through this)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate
from django.http import Http404
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from kreis.core.models import User
from kreis.service.models import ActionStatus, Case, ImprovementAction, RootCause

MAX_DAYS = 90
TREND_WEEKS = 13  # the trend before an action takes effect: the last 13 weeks
OPEN_ACTION = (ActionStatus.PLANNED, ActionStatus.IN_PROGRESS)


def overdue_q(today: dt.date | None = None) -> Q:
    """Actions not finished by their due date."""
    today = today or timezone.localdate()
    return Q(status__in=OPEN_ACTION, due_date__lt=today)


def improvement_action_list_for_user(
    *,
    user: User,
    status: str = "",
    root_cause_id: int | None = None,
    owner_id: int | None = None,
    overdue: bool = False,
) -> QuerySet[ImprovementAction]:
    if not user.has_perm("service.view_improvementaction"):
        return ImprovementAction.objects.none()
    qs = ImprovementAction.objects.all()
    if status:
        qs = qs.filter(status=status)
    if root_cause_id:
        qs = qs.filter(root_cause_id=root_cause_id)
    if owner_id:
        qs = qs.filter(owner_id=owner_id)
    if overdue:
        qs = qs.filter(overdue_q())
    return qs.select_related("root_cause", "owner")


def improvement_action_get_for_user(
    *, user: User, pk: int, write: bool = False
) -> ImprovementAction:
    """An action the user may see (404 otherwise); with ``write`` one they may change (403)."""
    from django.core.exceptions import PermissionDenied

    action = ImprovementAction.objects.filter(pk=pk).select_related("root_cause", "owner").first()
    if action is None or not user.has_perm("service.view_improvementaction", action):
        raise Http404
    if write and not user.has_perm("service.change_improvementaction", action):
        raise PermissionDenied
    return action


def root_cause_get(*, user: User, pk: int) -> RootCause:
    cause = RootCause.objects.filter(pk=pk).first()
    if cause is None or not user.has_perm("service.view_improvementaction"):
        raise Http404
    return cause


def is_overdue(action: ImprovementAction, today: dt.date | None = None) -> bool:
    today = today or timezone.localdate()
    return bool(action.status in OPEN_ACTION and action.due_date and action.due_date < today)


# --- The effect -----------------------------------------------------------------------------


def cases_per_day(*, root_cause_id: int, start: dt.date, end: dt.date) -> dict[dt.date, int]:
    """Cases of the root cause received on each day of [start, end) (local days)."""
    tz = timezone.get_current_timezone()
    low = timezone.make_aware(dt.datetime.combine(start, dt.time()), tz)
    high = timezone.make_aware(dt.datetime.combine(end, dt.time()), tz)
    rows = (
        Case.objects.filter(root_cause_id=root_cause_id, created_at__gte=low, created_at__lt=high)
        .annotate(day=TruncDate("created_at", tzinfo=tz))
        .values("day")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {row["day"]: row["n"] for row in rows}


@dataclass
class Effect:
    """What the action page shows: the comparison (``days`` > 0) or the trend so far."""

    effective_on: dt.date | None
    days: int = 0  # N; 0 when there is nothing to compare yet
    before: int = 0
    after: int = 0
    labels: list[str] = field(default_factory=list)
    before_series: list[int | None] = field(default_factory=list)
    after_series: list[int | None] = field(default_factory=list)

    @property
    def compared(self) -> bool:
        return self.days > 0

    @property
    def change_percent(self) -> float | None:
        if not self.compared or not self.before:
            return None
        return round(100 * (self.after - self.before) / self.before, 1)

    @property
    def fewer(self) -> bool:
        return self.compared and self.after < self.before

    def chart(self) -> dict:
        """The ECharts option (figures and labels only; ``charts.js`` draws it)."""
        series = []
        if self.compared:
            series = [
                {
                    "type": "bar",
                    "name": _("Before"),
                    "stack": "cases",
                    "data": self.before_series,
                    "itemStyle": {"color": "#6c757d"},
                },
                {
                    "type": "bar",
                    "name": _("After"),
                    "stack": "cases",
                    "data": self.after_series,
                    "itemStyle": {"color": "#198754"},
                },
            ]
        else:
            series = [
                {
                    "type": "bar",
                    "name": _("Cases"),
                    "data": self.before_series,
                    "itemStyle": {"color": "#0d6efd"},
                }
            ]
        option = {
            "tooltip": {"trigger": "axis"},
            "legend": {"top": 0},
            "grid": {"left": 8, "right": 16, "top": 36, "bottom": 24, "containLabel": True},
            "xAxis": {"type": "category", "data": self.labels, "axisLabel": {"hideOverlap": True}},
            "yAxis": {"type": "value", "minInterval": 1, "name": _("Cases")},
            "series": series,
        }
        empty = not any(v for v in (*self.before_series, *self.after_series) if v)
        return {"option": option, "empty": True} if empty else {"option": option}


def _buckets(start: dt.date, end: dt.date, size: int, anchor: dt.date) -> list[dt.date]:
    """Starts of ``size``-day buckets covering [start, end), one of them starting on ``anchor``
    (the first is cut at ``start``)."""
    step = dt.timedelta(days=size)
    day = anchor
    while day > start:
        day -= step
    starts = []
    while day < end:
        starts.append(max(day, start))
        day += step
    return starts


def _label(day: dt.date) -> str:
    return formats.date_format(day, "SHORT_DATE_FORMAT")


def effect(
    *, root_cause_id: int, effective_on: dt.date | None, today: dt.date | None = None
) -> Effect:
    """Cases of the root cause N days before and after ``effective_on`` (see the module);
    before it takes effect, the cases per week of the last 13 weeks."""
    today = today or timezone.localdate()
    if effective_on is not None and effective_on < today:
        days = min((today - effective_on).days, MAX_DAYS)
        start, end = effective_on - dt.timedelta(days=days), effective_on + dt.timedelta(days=days)
        counts = cases_per_day(root_cause_id=root_cause_id, start=start, end=end)
        size = 1 if days <= 14 else 7
        starts = _buckets(start, end, size, effective_on)
        result = Effect(effective_on=effective_on, days=days)
        for i, bucket in enumerate(starts):
            stop = starts[i + 1] if i + 1 < len(starts) else end
            n = sum(c for d, c in counts.items() if bucket <= d < stop)
            result.labels.append(_label(bucket))
            if bucket < effective_on:
                result.before += n
                result.before_series.append(n)
                result.after_series.append(None)
            else:
                result.after += n
                result.before_series.append(None)
                result.after_series.append(n)
        return result
    end = today + dt.timedelta(days=1)
    start = end - dt.timedelta(weeks=TREND_WEEKS)
    counts = cases_per_day(root_cause_id=root_cause_id, start=start, end=end)
    starts = _buckets(start, end, 7, end)
    result = Effect(effective_on=effective_on)
    for i, bucket in enumerate(starts):
        stop = starts[i + 1] if i + 1 < len(starts) else end
        n = sum(c for d, c in counts.items() if bucket <= d < stop)
        result.labels.append(_label(bucket))
        result.before_series.append(n)
        result.before += n
    return result


def root_cause_figures(*, root_cause: RootCause, today: dt.date | None = None) -> dict:
    """The root cause's cases in all, in the last 90 days, and the 90 days before those."""
    today = today or timezone.localdate()
    end = today + dt.timedelta(days=1)
    recent = cases_per_day(
        root_cause_id=root_cause.pk, start=end - dt.timedelta(days=MAX_DAYS), end=end
    )
    earlier = cases_per_day(
        root_cause_id=root_cause.pk,
        start=end - dt.timedelta(days=2 * MAX_DAYS),
        end=end - dt.timedelta(days=MAX_DAYS),
    )
    return {
        "total": Case.objects.filter(root_cause=root_cause).count(),
        "recent": sum(recent.values()),
        "earlier": sum(earlier.values()),
    }
