"""Demo sales plan: channels and forecast categories on the demo deals, targets for the current
year (per rep, team, region, channel and product category; revenue and quantity), and forecast
snapshots with a manager's adjustment. A ``kreis demo`` step after deals and transactions."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone

from kreis.commerce.models import SalesChannel, Transaction, TransactionLine
from kreis.core.demo import DemoContext
from kreis.core.models import Membership, Role
from kreis.sales.forecast.queries import category_sums
from kreis.sales.models import (
    BEST_CASE_FROM,
    COMMIT_FROM,
    Deal,
    ForecastCategory,
    ForecastSnapshot,
    PeriodKind,
    SnapshotKind,
    StageKind,
    Target,
    TargetDimension,
    TargetMetric,
)
from kreis.sales.periods import Period, period_containing

CHANNEL_MIX = ["field", "field", "direct", "direct", "online", "partner"]
ROUND = Decimal("1000")


def _round(value: Decimal) -> Decimal:
    return max((value / ROUND).quantize(Decimal(1)) * ROUND, ROUND)


def _categories_and_channels(rng: random.Random) -> int:
    """Forecast categories from the stages (set-based), a few reps' own choices, channels."""
    alive = Deal.objects.filter(deleted_at__isnull=True)
    alive.filter(stage__kind=StageKind.WON).update(forecast_category=ForecastCategory.CLOSED)
    open_ = alive.filter(stage__kind__in=(StageKind.OPEN, StageKind.LOST))
    open_.filter(stage__probability__gte=COMMIT_FROM).update(
        forecast_category=ForecastCategory.COMMIT
    )
    open_.filter(stage__probability__gte=BEST_CASE_FROM, stage__probability__lt=COMMIT_FROM).update(
        forecast_category=ForecastCategory.BEST_CASE
    )
    ids = list(alive.order_by("pk").values_list("pk", flat=True))
    by_channel: dict[str, list[int]] = defaultdict(list)
    for pk in ids:
        by_channel[rng.choice(CHANNEL_MIX)].append(pk)
    for channel, pks in by_channel.items():
        for start in range(0, len(pks), 900):
            Deal.objects.filter(pk__in=pks[start : start + 900]).update(channel=channel)
    # Reps disagree with the stage now and then: some best-case deals are committed.
    upgraded = [
        pk
        for pk in alive.filter(
            stage__kind=StageKind.OPEN, forecast_category=ForecastCategory.BEST_CASE
        ).values_list("pk", flat=True)
        if rng.random() < 0.3
    ]
    for start in range(0, len(upgraded), 900):
        Deal.objects.filter(pk__in=upgraded[start : start + 900]).update(
            forecast_category=ForecastCategory.COMMIT
        )
    return len(ids)


def _last_year_revenue(field: str, year: int) -> dict:
    rows = (
        Transaction.objects.filter(deleted_at__isnull=True, kind="order", date__year=year)
        .values_list(field)
        .annotate(total=Sum("net_revenue"))
        .order_by()
    )
    return {key: Decimal(total or 0) for key, total in rows}


def _targets(rng: random.Random, year: int, admin) -> list[Target]:
    last = year - 1
    year_period = Period(PeriodKind.YEAR, dt.date(year, 1, 1))
    quarters = [Period(PeriodKind.QUARTER, dt.date(year, m, 1)) for m in (1, 4, 7, 10)]
    targets: list[Target] = []

    def add(dimension, metric, amount, period, **subject):
        targets.append(
            Target(
                metric=metric,
                dimension=dimension,
                period_kind=period.kind,
                period_start=period.start,
                period_end=period.end,
                amount=amount,
                currency="EUR",
                created_by=admin,
                **subject,
            )
        )

    by_owner = _last_year_revenue("owner_id", last)
    by_team = _last_year_revenue("team_id", last)
    sales_teams = set(
        Deal.objects.filter(team__isnull=False).values_list("team_id", flat=True).distinct()
    )
    memberships = Membership.objects.filter(
        team_id__in=sales_teams, user__role__in=(Role.SALES_REP, Role.SALES_MANAGER)
    ).order_by("team_id", "user_id")
    seen_reps = set()
    for membership in memberships:
        if membership.user_id in seen_reps:
            continue
        seen_reps.add(membership.user_id)
        base = by_owner.get(membership.user_id) or Decimal(rng.randrange(200_000, 900_000))
        yearly = _round(base * Decimal(str(rng.uniform(1.02, 1.2))))
        add(TargetDimension.REP, TargetMetric.REVENUE, yearly, year_period,
            user_id=membership.user_id, team_id=membership.team_id)  # fmt: skip
        for quarter in quarters:
            add(TargetDimension.REP, TargetMetric.REVENUE, _round(yearly / 4), quarter,
                user_id=membership.user_id, team_id=membership.team_id)  # fmt: skip
    for team_id in sorted(sales_teams):
        base = by_team.get(team_id) or Decimal(rng.randrange(1_000_000, 3_000_000))
        yearly = _round(base * Decimal("1.1"))
        add(TargetDimension.TEAM, TargetMetric.REVENUE, yearly, year_period, team_id=team_id)
        for quarter in quarters:
            add(TargetDimension.TEAM, TargetMetric.REVENUE, _round(yearly / 4), quarter,
                team_id=team_id)  # fmt: skip
    by_channel: dict[str, Decimal] = defaultdict(Decimal)
    for channel, total in _last_year_revenue("channel", last).items():
        by_channel[(channel or "").strip().lower()] += total
    for channel in SalesChannel.values:
        base = by_channel.get(channel) or Decimal(rng.randrange(500_000, 2_000_000))
        add(TargetDimension.CHANNEL, TargetMetric.REVENUE, _round(base * Decimal("1.08")),
            year_period, channel=channel)  # fmt: skip
    regions = (
        Transaction.objects.filter(date__year=last, kind="order")
        .exclude(party__territory="")
        .values_list("party__territory")
        .annotate(total=Sum("net_revenue"))
        .order_by("-total")[:4]
    )
    for region, total in regions:
        add(TargetDimension.REGION, TargetMetric.REVENUE, _round(Decimal(total) * Decimal("1.1")),
            year_period, region=region)  # fmt: skip
    categories = (
        TransactionLine.objects.filter(transaction__date__year=last, transaction__kind="order")
        .exclude(product__category="")
        .exclude(product__isnull=True)
        .values_list("product__category")
        .annotate(total=Sum("net_revenue"), qty=Sum("quantity"), n=Count("pk"))
        .order_by("-total")[:3]
    )
    for category, total, qty, _n in categories:
        add(TargetDimension.CATEGORY, TargetMetric.REVENUE,
            _round(Decimal(total) * Decimal("1.05")), year_period, category=category)  # fmt: skip
        add(TargetDimension.CATEGORY, TargetMetric.QUANTITY,
            max(Decimal(int(Decimal(qty) * Decimal("1.05"))), Decimal(1)), year_period,
            category=category)  # fmt: skip
    return targets


def _snapshots(rng: random.Random, manager, today: dt.date) -> list[ForecastSnapshot]:
    """Each rep's call for this and the last quarter, and the manager's adjustments."""
    current = period_containing(today, PeriodKind.QUARTER)
    snaps: list[ForecastSnapshot] = []
    managed = list(Membership.objects.filter(user=manager, is_manager=True).order_by("team_id"))
    for period in (current.previous(), current):
        for membership in managed:
            reps = list(
                Membership.objects.filter(team_id=membership.team_id)
                .exclude(user=manager)
                .order_by("user_id")
                .values_list("user_id", flat=True)
            )
            sums = category_sums(period=period, owner_ids=reps)
            moment = timezone.make_aware(
                dt.datetime.combine(min(period.start + dt.timedelta(days=20), today), dt.time(9))
            )
            for rep_id in reps:
                s = sums.get(rep_id)
                if s is None:
                    continue
                call = (s.suggested * Decimal(str(rng.uniform(0.9, 1.15)))).quantize(
                    Decimal("0.01")
                )
                snaps.append(
                    ForecastSnapshot(
                        kind=SnapshotKind.SUBMISSION,
                        user_id=rep_id,
                        team_id=membership.team_id,
                        period_kind=period.kind,
                        period_start=period.start,
                        period_end=period.end,
                        pipeline_amount=s.pipeline,
                        best_case_amount=s.best_case,
                        commit_amount=s.commit,
                        closed_amount=s.closed,
                        forecast=call,
                        created_by_id=rep_id,
                        created_at=moment,
                    )  # fmt: skip
                )
            team_total = sum((snap.forecast for snap in snaps if snap.period_start == period.start
                              and snap.team_id == membership.team_id), Decimal(0))  # fmt: skip
            snaps.append(
                ForecastSnapshot(
                    kind=SnapshotKind.ADJUSTMENT,
                    user=None,
                    team_id=membership.team_id,
                    period_kind=period.kind,
                    period_start=period.start,
                    period_end=period.end,
                    forecast=(team_total * Decimal("0.92")).quantize(Decimal("0.01")),
                    note="Zwei Commit-Deals hängen am Budget des Kunden – konservativer.",
                    created_by=manager,
                    created_at=moment + dt.timedelta(days=2),
                )  # fmt: skip
            )
    return snaps


@transaction.atomic
def create_sales_plan(context: DemoContext) -> dict[str, int]:
    rng = random.Random(context.fake["de_DE"].random.random())  # noqa: S311 (demo data)
    deals = _categories_and_channels(rng)
    if not deals:
        return {}
    today = timezone.localdate()
    admin = next((u for u in context.users if u.role == Role.ADMIN), None)
    manager = next((u for u in context.users if u.role == Role.SALES_MANAGER), None)
    targets = _targets(rng, today.year, admin)
    Target.objects.bulk_create(targets, batch_size=1000)
    snaps = _snapshots(rng, manager, today) if manager is not None else []
    field = ForecastSnapshot._meta.get_field("created_at")
    field.auto_now_add = False
    try:
        ForecastSnapshot.objects.bulk_create(snaps, batch_size=1000)
    finally:
        field.auto_now_add = True
    return {"targets": len(targets), "forecast_snapshots": len(snaps)}
