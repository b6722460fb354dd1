"""First-response figures of the unified inbox, per channel and team, for a period: how many
items came in, how many got their first response, how long that took on average, and how many
met the channel's SLA (DOMAIN.md §1: response times per channel, per team and overall).

An item counts for the team it is assigned to, else the team that may see it (its source's).
Items count in the period they were received in. "SLA met": answered no later than
``first_response_due_at``; "breached": answered later, or still unanswered after it. Items of a
channel without an SLA count in neither. One grouped query per breakdown; no row is read into
Python.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from django.db.models import (
    Avg,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Q,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from kreis.channels.metrics import duration_hours, period_bounds
from kreis.core.models import Team
from kreis.inbox.models import InboxChannel, InboxItem


@dataclass
class ResponseRow:
    team_id: int | None
    team: str
    channel: str
    channel_label: str
    received: int = 0
    responded: int = 0
    avg_first_response_hours: float | None = None
    sla_met: int = 0
    sla_breached: int = 0

    @property
    def sla_met_percent(self) -> float | None:
        judged = self.sla_met + self.sla_breached
        return round(100 * self.sla_met / judged, 1) if judged else None

    def as_dict(self) -> dict:
        return asdict(self) | {"sla_met_percent": self.sla_met_percent}


def first_response_metrics(
    *, start: dt.date, end: dt.date, teams: set[int] | None = None, now: dt.datetime | None = None
) -> tuple[list[ResponseRow], list[ResponseRow]]:
    """(rows per team and channel, rows per channel over all those teams) for items received
    from ``start`` to ``end`` (both included). ``teams``: only those teams' items (None:
    every item)."""
    now = now or timezone.now()
    since, until = period_bounds(start, end)
    items = InboxItem.objects.filter(received_at__gte=since, received_at__lt=until).annotate(
        owning_team=Coalesce("assigned_team_id", "team_id")
    )
    if teams is not None:
        items = items.filter(owning_team__in=teams)
    answered = Q(first_responded_at__isnull=False)
    figures = {
        "received": Count("pk"),
        "responded": Count("pk", filter=answered),
        "avg": Avg(
            ExpressionWrapper(
                F("first_responded_at") - F("received_at"), output_field=DurationField()
            ),
            filter=answered,
        ),
        "met": Count("pk", filter=answered & Q(first_responded_at__lte=F("first_response_due_at"))),
        "breached": Count(
            "pk",
            filter=Q(first_response_due_at__isnull=False)
            & (
                Q(first_responded_at__gt=F("first_response_due_at"))
                | Q(first_responded_at__isnull=True, first_response_due_at__lt=now)
            ),
        ),
    }
    labels = dict(InboxChannel.choices)

    def row(values: dict, team_id: int | None, team: str) -> ResponseRow:
        return ResponseRow(
            team_id=team_id,
            team=team,
            channel=values["channel"],
            channel_label=str(labels.get(values["channel"], values["channel"])),
            received=values["received"],
            responded=values["responded"],
            avg_first_response_hours=duration_hours(values["avg"]),
            sla_met=values["met"],
            sla_breached=values["breached"],
        )

    per_team = list(
        items.values("owning_team", "channel")
        .annotate(**figures)
        .order_by("owning_team", "channel")
    )
    names = dict(
        Team.objects.filter(pk__in={v["owning_team"] for v in per_team}).values_list("pk", "name")
    )
    rows = sorted(
        (row(v, v["owning_team"], names.get(v["owning_team"], "")) for v in per_team),
        key=lambda r: (r.team_id is None, r.team.lower(), r.channel_label),
    )
    overall = [
        row(v, None, "") for v in items.values("channel").annotate(**figures).order_by("channel")
    ]
    return rows, overall
