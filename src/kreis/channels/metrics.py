"""Channel metrics from the activities: inbound and outbound volume per channel and the
response time, per team and overall, for a period.

- Volume: the activities of a channel's kind (e-mail, call, meeting) with a direction, in the
  period, counted per team, channel and direction in one grouped query.
- Response time: for each inbound activity in the period, the time until the next outbound
  activity to the same party on the same channel by the same team (a correlated subquery in
  the database: the earliest outbound after it), averaged per team and channel; inbound
  activities without an answer yet count as unanswered. No row is read into Python.

Teams are those of the activities (``Activity.team``: the owner's team when logged). ``teams``
limits the figures to those teams (a manager's); ``None``: every team and those without one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import (
    Avg,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.utils import timezone

from kreis.activities.models import Activity, Direction
from kreis.channels.models import ACTIVITY_KIND, Channel
from kreis.core.models import Team

CHANNEL_OF_KIND = {kind.value: channel for channel, kind in ACTIVITY_KIND.items()}
MAX_DAYS = 3 * 366


@dataclass
class Row:
    team_id: int | None
    team: str
    channel: str
    channel_label: str
    inbound: int = 0
    outbound: int = 0
    answered: int = 0
    avg_response_hours: float | None = None


@dataclass
class Metrics:
    start: dt.date
    end: dt.date
    rows: list[Row] = field(default_factory=list)  # per team and channel
    overall: list[Row] = field(default_factory=list)  # per channel, all teams together

    def as_dict(self) -> dict:
        def plain(row: Row) -> dict:
            return {
                "team_id": row.team_id,
                "team": row.team,
                "channel": row.channel,
                "inbound": row.inbound,
                "outbound": row.outbound,
                "answered": row.answered,
                "avg_response_hours": row.avg_response_hours,
            }

        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "per_team": [plain(r) for r in self.rows],
            "overall": [plain(r) for r in self.overall],
        }


def period_bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The period's first moment and the moment after it, in the site's time zone."""
    tz = timezone.get_current_timezone()
    return (
        dt.datetime.combine(start, dt.time.min, tzinfo=tz),
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz),
    )


def _activities(start: dt.date, end: dt.date, teams: set[int] | None) -> QuerySet[Activity]:
    since, until = period_bounds(start, end)
    qs = Activity.objects.filter(
        deleted_at__isnull=True,
        kind__in=list(CHANNEL_OF_KIND),
        direction__in=[Direction.INBOUND, Direction.OUTBOUND],
        occurred_at__gte=since,
        occurred_at__lt=until,
    )
    if teams is not None:
        qs = qs.filter(team_id__in=teams)
    return qs


def duration_hours(value) -> float | None:
    """An averaged duration as hours (two decimals)."""
    if value is None:
        return None
    if isinstance(value, dt.timedelta):
        return round(value.total_seconds() / 3600, 2)
    return round(float(value) / 3_600_000_000, 2)  # microseconds (some backends)


def _responses(activities: QuerySet[Activity], *group: str) -> QuerySet:
    """Per ``group``: the inbound activities answered, and the average wait for the answer."""
    answer = (
        Activity.objects.filter(
            deleted_at__isnull=True,
            direction=Direction.OUTBOUND,
            party_id=OuterRef("party_id"),
            kind=OuterRef("kind"),
            team_id=OuterRef("team_id"),
            occurred_at__gt=OuterRef("occurred_at"),
        )
        .order_by("occurred_at")
        .values("occurred_at")[:1]
    )
    wait = ExpressionWrapper(F("answered_at") - F("occurred_at"), output_field=DurationField())
    return (
        activities.filter(direction=Direction.INBOUND, party__isnull=False)
        .annotate(answered_at=Subquery(answer))
        .annotate(wait=wait)
        .values(*group)
        .annotate(answered=Count("answered_at"), avg_wait=Avg("wait"))
    )


def channel_metrics(*, start: dt.date, end: dt.date, teams: set[int] | None = None) -> Metrics:
    """The volumes and response times of ``start``..``end`` (both days included)."""
    activities = _activities(start, end, teams)
    volume = activities.values("team_id", "kind").annotate(
        inbound=Count("pk", filter=Q(direction=Direction.INBOUND)),
        outbound=Count("pk", filter=Q(direction=Direction.OUTBOUND)),
    )
    responses = _responses(activities, "team_id", "kind")
    overall_responses = _responses(activities, "kind")
    names = dict(Team.objects.values_list("pk", "name"))
    rows: dict[tuple, Row] = {}

    def row(team_id, kind) -> Row:
        channel = CHANNEL_OF_KIND[kind]
        key = (team_id, kind)
        if key not in rows:
            rows[key] = Row(
                team_id=team_id,
                team=names.get(team_id, "") if team_id else "",
                channel=channel.value,
                channel_label=str(channel.label),
            )
        return rows[key]

    for item in volume:
        found = row(item["team_id"], item["kind"])
        found.inbound, found.outbound = item["inbound"], item["outbound"]
    for item in responses:
        found = row(item["team_id"], item["kind"])
        found.answered, found.avg_response_hours = (
            item["answered"],
            duration_hours(item["avg_wait"]),
        )
    order = [c.value for c in Channel]
    ordered = sorted(
        rows.values(), key=lambda r: (r.team_id is None, r.team.lower(), order.index(r.channel))
    )
    overall: dict[str, Row] = {}
    for r in ordered:
        total = overall.setdefault(r.channel, Row(None, "", r.channel, r.channel_label))
        total.inbound += r.inbound
        total.outbound += r.outbound
    for item in overall_responses:
        channel = CHANNEL_OF_KIND[item["kind"]].value
        if channel in overall:
            overall[channel].answered = item["answered"]
            overall[channel].avg_response_hours = duration_hours(item["avg_wait"])
    return Metrics(
        start=start,
        end=end,
        rows=ordered,
        overall=sorted(overall.values(), key=lambda r: order.index(r.channel)),
    )
