"""Demo sales plan: channels and forecast categories on the demo deals, targets for the current
year (per rep, team, region, channel and product category; revenue and quantity), and forecast
snapshots with a manager's adjustment. A ``kreis demo`` step after deals and transactions."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
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
from kreis.sales.targets.queries import _actual_rows

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


def _trailing(metric: str, dimension: str, today: dt.date) -> dict:
    """What each subject sold in the twelve months up to ``today`` (by month), counted as the
    targets page counts it (``queries._actual_rows``: orders less returns, by dimension)."""
    start = today - dt.timedelta(days=364)
    totals: dict = defaultdict(Decimal)
    for (key, _team, _month), value in _actual_rows(metric, dimension, start, today).items():
        totals[key] += value
    return totals


def _last_year(metric: str, dimension: str, year: int) -> dict:
    totals: dict = defaultdict(Decimal)
    rows = _actual_rows(metric, dimension, dt.date(year - 1, 1, 1), dt.date(year - 1, 12, 31))
    for (key, _team, _month), value in rows.items():
        totals[key] += value
    return totals


def _season(today: dt.date) -> list[Decimal]:
    """Each calendar quarter's share of the last twelve months' order revenue (company-wide),
    so a quarter's target follows the season rather than a flat quarter of the year."""
    start = (today - dt.timedelta(days=365)).replace(day=1)
    by_quarter = [Decimal(0)] * 4
    rows = _actual_rows(TargetMetric.REVENUE, TargetDimension.TEAM, start, today)
    for (_key, _team, month), value in rows.items():
        by_quarter[(month.month - 1) // 3] += value
    total = sum(by_quarter)
    if total <= 0 or min(by_quarter) <= 0:
        return [Decimal("0.25")] * 4
    return [q / total for q in by_quarter]


def _targets(rng: random.Random, today: dt.date, admin) -> list[Target]:
    """This year's targets, planned from what each subject actually sells.

    A small demo has only a handful of orders per rep and year, so last year's actuals alone
    foretell this year badly (the same rep at 0 % and at 700 %). The demo's plan therefore
    starts from each subject's trailing twelve months (orders less returns, counted as the
    targets page counts them) — a plan made with hindsight — times a stretch between 0.8 and
    1.5, so attainment pro rata lands between about 65 % and 125 %: some behind, some ahead.
    A subject that sold nothing in that time gets last year's actual plus 5 %, and without
    that none. Quarters take the year's target by the season of the last twelve months."""
    year = today.year
    year_period = Period(PeriodKind.YEAR, dt.date(year, 1, 1))
    quarters = [Period(PeriodKind.QUARTER, dt.date(year, m, 1)) for m in (1, 4, 7, 10)]
    season = _season(today)
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

    cache: dict[tuple[str, str], tuple[dict, dict]] = {}

    def planned(metric: str, dimension: str, key, *, money: bool = True) -> Decimal | None:
        if (metric, dimension) not in cache:
            cache[(metric, dimension)] = (
                _trailing(metric, dimension, today),
                _last_year(metric, dimension, year),
            )
        trailing, last = cache[(metric, dimension)]
        if trailing.get(key, 0) > 0:
            base = trailing[key] * Decimal(str(rng.uniform(0.8, 1.5)))
        elif last.get(key, 0) > 0:
            base = last[key] * Decimal("1.05")
        else:
            return None
        return _round(base) if money else max(base.quantize(Decimal(1)), Decimal(1))

    def add_year_and_quarters(dimension, yearly, **subject):
        add(dimension, TargetMetric.REVENUE, yearly, year_period, **subject)
        for quarter, share in zip(quarters, season, strict=True):
            amount = max((yearly * share / 100).quantize(Decimal(1)) * 100, Decimal(100))
            add(dimension, TargetMetric.REVENUE, amount, quarter, **subject)

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
        yearly = planned(TargetMetric.REVENUE, TargetDimension.REP, membership.user_id)
        if yearly is not None:
            add_year_and_quarters(
                TargetDimension.REP, yearly, user_id=membership.user_id, team_id=membership.team_id
            )
    for team_id in sorted(sales_teams):
        yearly = planned(TargetMetric.REVENUE, TargetDimension.TEAM, team_id)
        if yearly is not None:
            add_year_and_quarters(TargetDimension.TEAM, yearly, team_id=team_id)
    for channel in SalesChannel.values:
        yearly = planned(TargetMetric.REVENUE, TargetDimension.CHANNEL, channel)
        if yearly is not None:
            add(TargetDimension.CHANNEL, TargetMetric.REVENUE, yearly, year_period,
                channel=channel)  # fmt: skip
    # The four regions and three categories that sold most in the last twelve months.
    regions = (
        Transaction.objects.filter(
            deleted_at__isnull=True,
            kind="order",
            date__gte=today - dt.timedelta(days=365),
            date__lte=today,
        )
        .exclude(party__territory="")
        .values_list("party__territory")
        .annotate(total=Sum("net_revenue"))
        .order_by("-total", "party__territory")[:4]
    )
    for region, _total in regions:
        yearly = planned(TargetMetric.REVENUE, TargetDimension.REGION, region.strip().casefold())
        if yearly is not None:
            add(TargetDimension.REGION, TargetMetric.REVENUE, yearly, year_period,
                region=region)  # fmt: skip
    categories = (
        TransactionLine.objects.filter(
            transaction__deleted_at__isnull=True,
            transaction__kind="order",
            transaction__date__gte=today - dt.timedelta(days=365),
            transaction__date__lte=today,
        )
        .exclude(product__category="")
        .exclude(product__isnull=True)
        .values_list("product__category")
        .annotate(total=Sum("net_revenue"))
        .order_by("-total", "product__category")[:3]
    )
    for category, _total in categories:
        key = category.strip().casefold()
        revenue = planned(TargetMetric.REVENUE, TargetDimension.CATEGORY, key)
        if revenue is not None:
            add(TargetDimension.CATEGORY, TargetMetric.REVENUE, revenue, year_period,
                category=category)  # fmt: skip
        quantity = planned(TargetMetric.QUANTITY, TargetDimension.CATEGORY, key, money=False)
        if quantity is not None:
            add(TargetDimension.CATEGORY, TargetMetric.QUANTITY, quantity, year_period,
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
    targets = _targets(rng, today, admin)
    Target.objects.bulk_create(targets, batch_size=1000)
    snaps = _snapshots(rng, manager, today) if manager is not None else []
    field = ForecastSnapshot._meta.get_field("created_at")
    field.auto_now_add = False
    try:
        ForecastSnapshot.objects.bulk_create(snaps, batch_size=1000)
    finally:
        field.auto_now_add = True
    return {"targets": len(targets), "forecast_snapshots": len(snaps)}
