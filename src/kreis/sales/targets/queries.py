"""Reads of targets, and their attainment: actuals and weighted pipeline in the target's period.

- **Actual** (revenue): the net revenue of order transactions dated in the period, returns
  subtracted (``kreis.commerce.queries.signed``); (quantity): the quantity of their lines.
  Invoices are not counted: they bill the orders already counted.
- **Weighted pipeline**: every open deal expected to close in the period, its amount (or, for
  quantity and category targets, its lines) times its stage's probability.
- **Attainment** = actual ÷ target; **projected** = (actual + weighted pipeline) ÷ target.

Within the target's dimension: a rep's target counts what the rep owns; a team's what the team
owns; a region's the business with customers whose territory is that region; a channel's the
transactions and deals of that channel; a category's the lines of products in that category.
A region, channel or category target of a team counts only that team's business.

The figures are sums for the target, which its viewer may see; the records behind them (the
drill-down) are listed through the usual visibility querysets. Queries per page are flat: one
grouped query per measure and dimension on the page, however many targets it shows.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import DecimalField, ExpressionWrapper, F, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.http import Http404

from kreis.commerce.models import Transaction, TransactionKind, TransactionLine
from kreis.commerce.queries import signed
from kreis.core.models import Role, User
from kreis.sales.channels.normalize import channel_of
from kreis.sales.models import Deal, DealLine, StageKind, Target, TargetDimension, TargetMetric

CENT = Decimal("0.01")
MONEY = DecimalField(max_digits=20, decimal_places=3)
COUNTED_KINDS = (TransactionKind.ORDER, TransactionKind.RETURN)


def targets_visible(user: User) -> QuerySet[Target]:
    """Administrators see all targets; sales managers their teams' and the company-wide ones;
    everyone else their own and their teams'."""
    qs = Target.objects.all()
    if not user.is_authenticated or not user.is_active:
        return qs.none()
    if user.is_admin:
        return qs
    visible = Q(user_id=user.pk) | Q(team_id__in=user.team_ids())
    if user.role == Role.SALES_MANAGER:
        visible |= Q(team__isnull=True)
    return qs.filter(visible)


def target_list_for_user(
    *,
    user: User,
    year: int | None = None,
    period_kind: str = "",
    dimension: str = "",
    metric: str = "",
    team_id: int | None = None,
    user_id: int | None = None,
) -> QuerySet[Target]:
    qs = targets_visible(user)
    if year:
        qs = qs.filter(period_start__year=year)
    if period_kind:
        qs = qs.filter(period_kind=period_kind)
    if dimension:
        qs = qs.filter(dimension=dimension)
    if metric:
        qs = qs.filter(metric=metric)
    if team_id:
        qs = qs.filter(team_id=team_id)
    if user_id:
        qs = qs.filter(user_id=user_id)
    return qs.select_related("user", "team").order_by(
        "period_start", "period_kind", "dimension", "pk"
    )


def target_get_for_user(*, user: User, pk: int, write: bool = False) -> Target:
    from kreis.sales.targets.services import can_plan_targets

    target = targets_visible(user).select_related("user", "team").filter(pk=pk).first()
    if target is None or (write and not can_plan_targets(user, target.team)):
        raise Http404
    return target


@dataclass
class Attainment:
    target: Target
    actual: Decimal
    weighted: Decimal

    @property
    def period_label(self) -> str:
        from kreis.sales.periods import period_of

        return period_of(self.target).label

    @property
    def percent(self) -> Decimal | None:
        if not self.target.amount:
            return None
        return (self.actual * 100 / self.target.amount).quantize(Decimal("0.1"))

    @property
    def projected_percent(self) -> Decimal | None:
        if not self.target.amount:
            return None
        return ((self.actual + self.weighted) * 100 / self.target.amount).quantize(Decimal("0.1"))

    @property
    def gap(self) -> Decimal:
        return max(self.target.amount - self.actual, Decimal(0))


def _key(dimension: str) -> tuple[str, str]:
    """The column a transaction and a deal are grouped by for this dimension."""
    return {
        TargetDimension.REP: ("owner_id", "owner_id"),
        TargetDimension.TEAM: ("team_id", "team_id"),
        TargetDimension.REGION: ("party__territory", "organization__territory"),
        TargetDimension.CHANNEL: ("channel", "channel"),
        TargetDimension.CATEGORY: ("product__category", "product__category"),
    }[dimension]


def subject_key(target: Target):
    """The value of the grouping column that belongs to the target."""
    return {
        TargetDimension.REP: target.user_id,
        TargetDimension.TEAM: target.team_id,
        TargetDimension.REGION: target.region.casefold(),
        TargetDimension.CHANNEL: target.channel,
        TargetDimension.CATEGORY: target.category.casefold(),
    }[target.dimension]


def _normal(dimension: str, value):
    if dimension in (TargetDimension.REGION, TargetDimension.CATEGORY):
        return (value or "").strip().casefold()
    if dimension == TargetDimension.CHANNEL:
        return channel_of(value)
    return value


Rows = dict[tuple, Decimal]  # (key, team_id, month) → value


def _actual_rows(metric: str, dimension: str, start: dt.date, end: dt.date) -> Rows:
    txn_key, _deal_key = _key(dimension)
    by_line = metric == TargetMetric.QUANTITY or dimension == TargetDimension.CATEGORY
    rows: Rows = defaultdict(Decimal)
    if by_line:
        value = signed(
            "quantity" if metric == TargetMetric.QUANTITY else "net_revenue",
            kind_field="transaction__kind",
        )
        key = txn_key if dimension == TargetDimension.CATEGORY else f"transaction__{txn_key}"
        qs = (
            TransactionLine.objects.filter(
                transaction__deleted_at__isnull=True,
                transaction__kind__in=COUNTED_KINDS,
                transaction__date__range=(start, end),
            )
            .values_list(key, "transaction__team_id", TruncMonth("transaction__date"))
            .annotate(v=Sum(value))
            .order_by()
        )
    else:
        qs = (
            Transaction.objects.filter(
                deleted_at__isnull=True, kind__in=COUNTED_KINDS, date__range=(start, end)
            )
            .values_list(txn_key, "team_id", TruncMonth("date"))
            .annotate(v=Sum(signed("net_revenue")))
            .order_by()
        )
    for key_value, team_id, month, value in qs:
        rows[(_normal(dimension, key_value), team_id, _month(month))] += Decimal(value or 0)
    return rows


def _weighted_rows(metric: str, dimension: str, start: dt.date, end: dt.date) -> Rows:
    _txn_key, deal_key = _key(dimension)
    by_line = metric == TargetMetric.QUANTITY or dimension == TargetDimension.CATEGORY
    rows: Rows = defaultdict(Decimal)
    if by_line:
        base = (
            F("quantity")
            if metric == TargetMetric.QUANTITY
            else F("quantity") * F("unit_price") - F("discount")
        )
        key = deal_key if dimension == TargetDimension.CATEGORY else f"deal__{deal_key}"
        qs = (
            DealLine.objects.filter(
                deal__deleted_at__isnull=True,
                deal__stage__kind=StageKind.OPEN,
                deal__expected_close__range=(start, end),
            )
            .values_list(key, "deal__team_id", TruncMonth("deal__expected_close"))
            .annotate(
                v=Sum(ExpressionWrapper(base * F("deal__stage__probability"), output_field=MONEY))
            )
            .order_by()
        )
    else:
        qs = (
            Deal.objects.filter(
                deleted_at__isnull=True,
                stage__kind=StageKind.OPEN,
                expected_close__range=(start, end),
            )
            .values_list(deal_key, "team_id", TruncMonth("expected_close"))
            .annotate(
                v=Sum(ExpressionWrapper(F("amount") * F("stage__probability"), output_field=MONEY))
            )
            .order_by()
        )
    for key_value, team_id, month, value in qs:
        rows[(_normal(dimension, key_value), team_id, _month(month))] += Decimal(value or 0) / 100
    return rows


def _month(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date().replace(day=1)
    return value.replace(day=1)


def _sum_for(target: Target, rows: Rows) -> Decimal:
    key = subject_key(target)
    team_bound = target.team_id is not None and target.dimension not in (
        TargetDimension.REP,
        TargetDimension.TEAM,
    )
    total = Decimal(0)
    for (row_key, team_id, month), value in rows.items():
        if row_key != key or not (target.period_start <= month <= target.period_end):
            continue
        if team_bound and team_id != target.team_id:
            continue
        total += value
    return total.quantize(CENT)


def attainment(targets: Iterable[Target]) -> list[Attainment]:
    """Each target with its actual and weighted pipeline (see the module's docstring)."""
    targets = list(targets)
    groups: dict[tuple[str, str], list[Target]] = defaultdict(list)
    for target in targets:
        groups[(target.metric, target.dimension)].append(target)
    actual: dict[int, Decimal] = {}
    weighted: dict[int, Decimal] = {}
    for (metric, dimension), members in groups.items():
        start = min(t.period_start for t in members)
        end = max(t.period_end for t in members)
        actual_rows = _actual_rows(metric, dimension, start, end)
        weighted_rows = _weighted_rows(metric, dimension, start, end)
        for target in members:
            actual[target.pk] = _sum_for(target, actual_rows)
            weighted[target.pk] = _sum_for(target, weighted_rows)
    return [Attainment(t, actual[t.pk], weighted[t.pk]) for t in targets]


# --- The records behind a target (drill-down), through the visibility querysets -----------------


def _dimension_filter(target: Target, *, prefix: str, deal: bool) -> Q:
    dim = target.dimension
    if dim == TargetDimension.REP:
        return Q(**{f"{prefix}owner_id": target.user_id})
    if dim == TargetDimension.TEAM:
        return Q(**{f"{prefix}team_id": target.team_id})
    team = Q(**{f"{prefix}team_id": target.team_id}) if target.team_id else Q()
    if dim == TargetDimension.REGION:
        party = "organization" if deal else "party"
        return team & Q(**{f"{prefix}{party}__territory__iexact": target.region})
    if dim == TargetDimension.CHANNEL:
        if deal:
            return team & Q(**{f"{prefix}channel": target.channel})
        from kreis.sales.channels.normalize import spellings

        return team & Q(**{f"{prefix}channel__iregex": spellings(target.channel)})
    lines = "lines__" if not prefix else ""
    return team & Q(**{f"{prefix}{lines}product__category__iexact": target.category})


def target_transactions(*, user: User, target: Target) -> QuerySet[Transaction]:
    """The visible order and return transactions behind the target's actual."""
    from kreis.commerce.queries import transaction_list_for_user

    qs = transaction_list_for_user(
        user=user, date_from=target.period_start, date_to=target.period_end
    ).filter(kind__in=COUNTED_KINDS)
    return qs.filter(_dimension_filter(target, prefix="", deal=False)).distinct()


def target_deals(*, user: User, target: Target) -> QuerySet[Deal]:
    """The visible open deals behind the target's weighted pipeline."""
    from kreis.sales.queries import deal_list_for_user

    qs = deal_list_for_user(
        user=user,
        status=StageKind.OPEN,
        close_from=target.period_start,
        close_to=target.period_end,
        sort="expected_close",
    )
    return qs.filter(_dimension_filter(target, prefix="", deal=True)).distinct()
