"""Reads of the forecast by category: a rep's deals per category in a period, the team's
roll-up with the latest calls and adjustments, the history of snapshots, and accuracy.

- A deal counts in a period when it is open and expected to close in it (by its forecast
  category), or won with its close date in it (category closed).
- A rep's **call** is the forecast figure of their latest snapshot for the period: their own
  submission, or a manager's later adjustment of it.
- **Forecast accuracy** after a period ends: 1 − |actual − forecast| ÷ forecast, at least 0,
  where actual is the amount of the rep's deals won in the period and forecast is the rep's
  last call for it (DOMAIN.md §6). Without a call, or with a call of 0, there is none.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Q, QuerySet, Sum
from django.http import Http404
from django.utils import timezone

from kreis.core.models import Membership, Team, User
from kreis.sales.models import Deal, ForecastCategory, ForecastSnapshot, StageKind
from kreis.sales.periods import Period

CENT = Decimal("0.01")
CATEGORIES = tuple(ForecastCategory.values)


@dataclass
class CategorySums:
    pipeline: Decimal = Decimal(0)
    best_case: Decimal = Decimal(0)
    commit: Decimal = Decimal(0)
    closed: Decimal = Decimal(0)

    def add(self, category: str, amount: Decimal) -> None:
        setattr(self, category, getattr(self, category) + amount)

    def __iadd__(self, other: CategorySums) -> CategorySums:
        for name in CATEGORIES:
            self.add(name, getattr(other, name))
        return self

    @property
    def suggested(self) -> Decimal:
        """What a rep's call starts from: closed plus commit."""
        return (self.closed + self.commit).quantize(CENT)


def _period_deals(period: Period) -> QuerySet[Deal]:
    start = timezone.make_aware(dt.datetime.combine(period.start, dt.time.min))
    end = timezone.make_aware(dt.datetime.combine(period.end + dt.timedelta(days=1), dt.time.min))
    return Deal.objects.filter(deleted_at__isnull=True).filter(
        Q(stage__kind=StageKind.OPEN, expected_close__range=(period.start, period.end))
        | Q(stage__kind=StageKind.WON, closed_at__gte=start, closed_at__lt=end)
    )


def category_sums(*, period: Period, owner_ids: list[int]) -> dict[int, CategorySums]:
    """Per rep: the amounts of their deals in the period by forecast category (one query).
    A won deal always counts as closed, whatever its stored category."""
    sums: dict[int, CategorySums] = defaultdict(CategorySums)
    rows = (
        _period_deals(period)
        .filter(owner_id__in=owner_ids)
        .values_list("owner_id", "stage__kind", "forecast_category")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    for owner_id, kind, category, total in rows:
        if kind == StageKind.WON:
            category = ForecastCategory.CLOSED
        elif category == ForecastCategory.CLOSED:
            category = ForecastCategory.COMMIT  # an open deal cannot be closed yet
        sums[owner_id].add(category, Decimal(total or 0).quantize(CENT))
    return sums


def deals_in_period(*, user: User, period: Period, owner_id: int, category: str = ""):
    """The visible deals of a rep behind a period's forecast (the drill-down)."""
    from kreis.core.queries import visible_records

    qs = visible_records(_period_deals(period), user=user).filter(owner_id=owner_id)
    if category == ForecastCategory.CLOSED:
        qs = qs.filter(stage__kind=StageKind.WON)
    elif category:
        qs = qs.filter(stage__kind=StageKind.OPEN, forecast_category=category)
    return qs.select_related("stage", "pipeline", "organization").order_by("expected_close", "pk")


def forecast_teams_for_user(user: User) -> QuerySet[Team]:
    """The teams whose roll-up the user sees: administrators all, managers those they manage."""
    if user.is_admin:
        return Team.objects.order_by("name")
    return Team.objects.filter(pk__in=user.managed_team_ids()).order_by("name")


def can_see_rep(viewer: User, rep: User) -> bool:
    if viewer.is_admin or viewer.pk == rep.pk:
        return True
    managed = viewer.managed_team_ids()
    return bool(managed) and Membership.objects.filter(user=rep, team_id__in=managed).exists()


def snapshots_visible(user: User) -> QuerySet[ForecastSnapshot]:
    """Reps see their own snapshots; managers those of the teams they manage; admins all."""
    qs = ForecastSnapshot.objects.all()
    if not user.is_authenticated or not user.is_active:
        return qs.none()
    if user.is_admin:
        return qs
    return qs.filter(Q(user_id=user.pk) | Q(team_id__in=user.managed_team_ids()))


def snapshot_get_for_user(*, user: User, pk: int) -> ForecastSnapshot:
    snapshot = snapshots_visible(user).select_related("user", "team", "created_by")
    found = snapshot.filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


def snapshot_list_for_user(
    *,
    user: User,
    period: Period | None = None,
    team_id: int | None = None,
    user_id: int | None = None,
) -> QuerySet[ForecastSnapshot]:
    qs = snapshots_visible(user)
    if period is not None:
        qs = qs.filter(period_kind=period.kind, period_start=period.start)
    if team_id:
        qs = qs.filter(team_id=team_id)
    if user_id:
        qs = qs.filter(user_id=user_id)
    return qs.select_related("user", "team", "created_by").order_by("-created_at", "-pk")


def latest_calls(*, period: Period, team: Team | None, user_ids: list[int]) -> dict:
    """The latest snapshot per rep (``user_id`` → snapshot) and, under key ``None``, the team's
    latest adjustment of its total. One query."""
    qs = ForecastSnapshot.objects.filter(
        period_kind=period.kind, period_start=period.start
    ).select_related("created_by")
    if team is not None:
        qs = qs.filter(Q(user_id__in=user_ids) | Q(user__isnull=True, team=team))
    else:
        qs = qs.filter(user_id__in=user_ids)
    latest: dict = {}
    for snap in qs.order_by("created_at", "pk"):
        latest[snap.user_id] = snap
    return latest


@dataclass
class RepRow:
    rep: User
    sums: CategorySums
    call: ForecastSnapshot | None

    @property
    def forecast(self) -> Decimal | None:
        return self.call.forecast if self.call else None


@dataclass
class Rollup:
    team: Team
    period: Period
    rows: list[RepRow]
    totals: CategorySums = field(default_factory=CategorySums)
    team_call: ForecastSnapshot | None = None

    @property
    def reps_forecast(self) -> Decimal:
        """The sum of the reps' calls (their suggestion where a rep has not called)."""
        return sum(
            (r.forecast if r.forecast is not None else r.sums.suggested for r in self.rows),
            Decimal(0),
        ).quantize(CENT)

    @property
    def forecast(self) -> Decimal:
        """The team's forecast: the manager's adjustment of the total if there is a later one
        than every rep's call, else the sum of the reps' calls."""
        if self.team_call is not None:
            newest_rep = max(
                (r.call.created_at for r in self.rows if r.call is not None), default=None
            )
            if newest_rep is None or self.team_call.created_at >= newest_rep:
                return self.team_call.forecast
        return self.reps_forecast


def team_rollup(*, team: Team, period: Period) -> Rollup:
    """Each member's category sums and latest call, and the team's (three queries)."""
    members = [
        m.user
        for m in Membership.objects.filter(team=team, user__is_active=True)
        .select_related("user")
        .order_by("user__last_name", "user__first_name", "user__username")
    ]
    ids = [u.pk for u in members]
    sums = category_sums(period=period, owner_ids=ids)
    calls = latest_calls(period=period, team=team, user_ids=ids)
    rows = [RepRow(u, sums.get(u.pk, CategorySums()), calls.get(u.pk)) for u in members]
    rollup = Rollup(team=team, period=period, rows=rows, team_call=calls.get(None))
    for row in rows:
        rollup.totals += row.sums
    return rollup


def won_amounts(*, period: Period, owner_ids: list[int]) -> dict[int, Decimal]:
    sums = category_sums(period=period, owner_ids=owner_ids)
    return {pk: s.closed for pk, s in sums.items()}


@dataclass
class Accuracy:
    rep: User
    period: Period
    actual: Decimal
    forecast: Decimal | None

    @property
    def value(self) -> Decimal | None:
        """1 − |actual − forecast| ÷ forecast, at least 0 (as a fraction)."""
        if not self.forecast:
            return None
        score = 1 - abs(self.actual - self.forecast) / self.forecast
        return max(Decimal(0), score).quantize(Decimal("0.001"))

    @property
    def percent(self) -> Decimal | None:
        return None if self.value is None else (self.value * 100).quantize(Decimal("0.1"))


def forecast_accuracy(*, reps: list[User], periods: list[Period]) -> list[Accuracy]:
    """Accuracy per rep and ended period (two queries per period)."""
    today = timezone.localdate()
    out = []
    ids = [r.pk for r in reps]
    for period in periods:
        if period.end >= today:
            continue
        won = won_amounts(period=period, owner_ids=ids)
        calls = latest_calls(period=period, team=None, user_ids=ids)
        for rep in reps:
            call = calls.get(rep.pk)
            out.append(
                Accuracy(rep, period, won.get(rep.pk, Decimal(0)), call.forecast if call else None)
            )
    return out
