"""Process transparency (DOMAIN.md §6): where deals wait, where they drop out, and whether the
lead and case queues keep their service levels. All over what the user may see.

Per pipeline, from the stage history (``StageChange``):

- **time in stage**: a stay is the time from entering a stage to entering the next one;
  completed stays give the median, the 75th percentile and the mean, in days;
- **conversion** from a stage: of the deals that entered it, the share that later entered a
  stage further on (a later open stage or a won stage);
- **stuck**: an open deal whose current stay is longer than twice the median completed stay of
  its stage (when the stage has at least ``MIN_SAMPLES`` completed stays).

SLA compliance per queue and team, for records created in the period:

- **leads**: first contact of handed-over leads (``marketing.LeadHandoff``): in time ÷ (in time
  + late + recycled + open past due);
- **cases**: resolution (``service.Case``): resolved by the due time ÷ (those + resolved late +
  open past due); the acknowledgement the same with its own due time.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import QuerySet
from django.utils import timezone

from kreis.core.models import Team, User
from kreis.core.queries import visible_records
from kreis.sales.models import Deal, Pipeline, Stage, StageChange, StageKind
from kreis.sales.periods import Period

MIN_SAMPLES = 3
STUCK_FACTOR = 2
DAY = 86_400


@dataclass
class StageFigures:
    stage: Stage
    stays: list[float] = field(default_factory=list)  # completed stays in days
    entered: int = 0
    moved_on: int = 0
    current: list[tuple[int, float]] = field(default_factory=list)  # (deal id, days so far)

    @property
    def median(self) -> float | None:
        return statistics.median(self.stays) if self.stays else None

    @property
    def p75(self) -> float | None:
        if len(self.stays) < 2:
            return self.stays[0] if self.stays else None
        return statistics.quantiles(self.stays, n=4, method="inclusive")[2]

    @property
    def mean(self) -> float | None:
        return statistics.fmean(self.stays) if self.stays else None

    @property
    def threshold(self) -> float | None:
        """Days after which an open deal in this stage counts as stuck."""
        if len(self.stays) < MIN_SAMPLES or self.median is None:
            return None
        return STUCK_FACTOR * self.median

    @property
    def stuck_ids(self) -> list[int]:
        limit = self.threshold
        if limit is None:
            return []
        return [deal_id for deal_id, days in self.current if days > limit]

    @property
    def conversion(self) -> Decimal | None:
        if not self.entered:
            return None
        return (Decimal(self.moved_on) * 100 / self.entered).quantize(Decimal("0.1"))


def pipeline_figures(*, user: User, pipeline: Pipeline, now: dt.datetime | None = None) -> list:
    """The open stages of the pipeline with their stay, conversion and stuck figures (two
    queries: the stages, and the stage changes of the visible deals)."""
    now = now or timezone.now()
    stages = list(pipeline.stages.order_by("position", "pk"))
    order = {s.pk: i for i, s in enumerate(stages)}
    kinds = {s.pk: s.kind for s in stages}
    figures = {s.pk: StageFigures(s) for s in stages if s.kind == StageKind.OPEN}
    deals = visible_records(
        Deal.objects.filter(deleted_at__isnull=True, pipeline=pipeline), user=user
    )
    rows = (
        StageChange.objects.filter(deal__in=deals.values("pk"))
        .values_list("deal_id", "to_stage_id", "changed_at", "deal__stage_id")
        .order_by("deal_id", "changed_at", "pk")
    )
    history: dict[int, list[tuple[int, dt.datetime]]] = defaultdict(list)
    current_stage: dict[int, int] = {}
    for deal_id, stage_id, at, now_stage in rows.iterator(chunk_size=5000):
        history[deal_id].append((stage_id, at))
        current_stage[deal_id] = now_stage
    for deal_id, entries in history.items():
        seen: set[int] = set()
        for i, (stage_id, at) in enumerate(entries):
            fig = figures.get(stage_id)
            if fig is None:
                continue
            if stage_id not in seen:
                fig.entered += 1
                later = [s for s, _at in entries[i + 1 :]]
                if any(
                    order.get(s, -1) > order[stage_id] and kinds.get(s) != StageKind.LOST
                    for s in later
                ):
                    fig.moved_on += 1
                seen.add(stage_id)
            if i + 1 < len(entries):
                fig.stays.append((entries[i + 1][1] - at).total_seconds() / DAY)
            elif current_stage.get(deal_id) == stage_id:
                fig.current.append((deal_id, (now - at).total_seconds() / DAY))
    return [figures[s.pk] for s in stages if s.pk in figures]


def stuck_deals(*, user: User, pipeline: Pipeline, stage: Stage) -> QuerySet[Deal]:
    """The visible open deals stuck in ``stage`` (see the module's docstring)."""
    figures = {f.stage.pk: f for f in pipeline_figures(user=user, pipeline=pipeline)}
    ids = figures[stage.pk].stuck_ids if stage.pk in figures else []
    return (
        visible_records(Deal.objects.filter(pk__in=ids, stage=stage), user=user)
        .select_related("organization", "owner", "stage")
        .order_by("updated_at", "pk")
    )


# --- SLA compliance -----------------------------------------------------------------------------

IN_TIME, LATE, OPEN_LATE, OPEN_OK = "in_time", "late", "open_late", "open_ok"


@dataclass
class SlaRow:
    team: Team | None
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))

    @property
    def decided(self) -> int:
        return self.counts[IN_TIME] + self.counts[LATE] + self.counts[OPEN_LATE]

    @property
    def compliance(self) -> Decimal | None:
        if not self.decided:
            return None
        return (Decimal(self.counts[IN_TIME]) * 100 / self.decided).quantize(Decimal("0.1"))


OUTCOMES = (IN_TIME, LATE, OPEN_LATE, OPEN_OK)


def _span(period: Period) -> tuple[dt.datetime, dt.datetime]:
    start = timezone.make_aware(dt.datetime.combine(period.start, dt.time.min))
    end = timezone.make_aware(dt.datetime.combine(period.end + dt.timedelta(days=1), dt.time.min))
    return start, end


def lead_handoffs(*, user: User, period: Period):
    from kreis.marketing.handoff.queries import handoffs_for_user

    start, end = _span(period)
    return handoffs_for_user(user=user).filter(assigned_at__gte=start, assigned_at__lt=end)


def lead_outcome_filter(outcome: str, now: dt.datetime):
    from django.db.models import Q

    from kreis.marketing.models import HandoffStatus

    return {
        IN_TIME: Q(status=HandoffStatus.CONTACTED),
        LATE: Q(status__in=(HandoffStatus.LATE, HandoffStatus.RECYCLED)),
        OPEN_LATE: Q(status=HandoffStatus.OPEN, due_at__lt=now),
        OPEN_OK: Q(status=HandoffStatus.OPEN, due_at__gte=now),
    }[outcome]


def cases_in(*, user: User, period: Period):
    from kreis.service.models import Case
    from kreis.service.queries import visible_cases

    start, end = _span(period)
    return visible_cases(Case.objects.all(), user=user).filter(
        created_at__gte=start, created_at__lt=end
    )


def case_outcome_filter(outcome: str, now: dt.datetime, *, step: str = "resolve"):
    from django.db.models import F, Q

    done, due = ("resolved_at", "resolve_due_at") if step == "resolve" else (
        "acknowledged_at",
        "ack_due_at",
    )  # fmt: skip
    has_due = Q(**{f"{due}__isnull": False})
    return (
        has_due
        & {
            IN_TIME: Q(**{f"{done}__isnull": False, f"{done}__lte": F(due)}),
            LATE: Q(**{f"{done}__isnull": False, f"{done}__gt": F(due)}),
            OPEN_LATE: Q(**{f"{done}__isnull": True, f"{due}__lt": now}),
            OPEN_OK: Q(**{f"{done}__isnull": True, f"{due}__gte": now}),
        }[outcome]
    )


def _by_team(qs, filters: dict, team_field: str) -> list[SlaRow]:
    """Counts per team and outcome: one grouped query per outcome."""
    from django.db.models import Count

    rows: dict[int | None, SlaRow] = {}
    teams = {t.pk: t for t in Team.objects.all()}
    for outcome, condition in filters.items():
        for team_id, n in (
            qs.filter(condition).values_list(team_field).annotate(n=Count("pk")).order_by()
        ):
            row = rows.setdefault(team_id, SlaRow(teams.get(team_id)))
            row.counts[outcome] += n
    return sorted(rows.values(), key=lambda r: (r.team is None, r.team.name if r.team else ""))


def sla_compliance(*, user: User, period: Period, now: dt.datetime | None = None) -> dict:
    """``{"leads": [SlaRow…], "cases": […], "case_ack": […]}`` per team."""
    now = now or timezone.now()
    handoffs = lead_handoffs(user=user, period=period)
    cases = cases_in(user=user, period=period)
    return {
        "leads": _by_team(handoffs, {o: lead_outcome_filter(o, now) for o in OUTCOMES}, "team_id"),
        "cases": _by_team(cases, {o: case_outcome_filter(o, now) for o in OUTCOMES}, "team_id"),
        "case_ack": _by_team(
            cases, {o: case_outcome_filter(o, now, step="ack") for o in OUTCOMES}, "team_id"
        ),
    }
