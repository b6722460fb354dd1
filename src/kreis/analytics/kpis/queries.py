"""The objective satisfaction KPIs of DOMAIN.md §3 ("Measuring satisfaction"), per period.

Notation: the range [start, end] is widened to whole periods P₁ … Pₙ of one grain (month,
quarter, year). Transaction figures come from the warehouse's ``fact_sales`` (one row per
transaction line, returns signed negative), narrowed to the customers the user may see as
every analytics page does (``reports.charts.visible_tables``), and are aggregated there
(DuckDB or another Ibis backend): the result has one row per period (and segment or stage),
never one per transaction. Revenue is the warehouse's net revenue, the same definition as the
dashboard's and the contribution margin's: orders and invoices minus returns.

- Revenue(P) = Σ net revenue of the lines in P;  Units(P) = Σ quantity (returns negative).
- Market share(s, P) = Revenue(s, P) ÷ market volume(s, P), s a product category (empty:
  the whole market). A volume entered for shorter periods counts for P only when they cover P
  entirely (three months make a quarter); a longer one is never split.
- Repurchase rate(P) = |C(P) ∩ C(P₊₁)| ÷ |C(P)|, C(P) the customers with a purchase (order or
  invoice, not a return) in P; unknown until P₊₁ has ended.
- Cross-buying(P): per customer of C(P) the number of distinct product categories bought in
  P (lines without product or category count as one category, "none"); its mean and its
  distribution (1, 2, 3, 4, 5 or more).
- Price tolerance(P) = Σ discount ÷ Σ (quantity × unit price) of the purchase lines in P. The
  lines carry their discount as an absolute amount, so the discount granted is taken from
  there, not from the product's current list price (which may have changed since).
- Referrals(P) = leads created in P with a referring party (``Lead.referred_by``); of them,
  those converted so far.
- Defect share(stage, P) = Σ defective units ÷ Σ checked units of the quality checks in P.
- Defect frequency and warranty claims from the complaint cases: see "Complaint figures".
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

import ibis
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils.translation import gettext as _

from kreis.analytics import analyses, warehouse
from kreis.analytics.kpis.models import (
    MONTHS_PER,
    Grain,
    MarketVolume,
    QualityCheck,
    QualityStage,
    period_end,
    period_start,
)
from kreis.analytics.reports.charts import visible_tables
from kreis.core.models import Role, User
from kreis.core.queries import visible_records
from kreis.leads.models import Lead, LeadStatus

MAX_PERIODS = 240
FIRST_DAY, LAST_DAY = dt.date(1900, 1, 1), dt.date(2999, 12, 31)
CROSS_BUCKETS = ("1", "2", "3", "4", "5+")


class WarehouseUnavailable(Exception):
    """The warehouse is empty, being refreshed or misconfigured; try again shortly."""


# --- Who may see and enter ---------------------------------------------------------------------


def can_view_kpis(user: User) -> bool:
    """Managers and administrators: the KPIs are figures for steering the business, like the
    dashboard's, but of the whole company's market; reps and agents see their records."""
    return user.is_active and (user.is_admin or user.role == Role.SALES_MANAGER)


def can_enter_kpi_inputs(user: User) -> bool:
    """Market volumes and quality checks are entered by those who may see the page."""
    return can_view_kpis(user) and not user.is_read_only


def check_view(user: User) -> None:
    if not can_view_kpis(user):
        raise PermissionDenied


# --- Periods ------------------------------------------------------------------------------------


def month_index(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def period_index(day: dt.date, grain: str) -> int:
    """The period's number: months since year 0 divided by the months of the grain."""
    return month_index(day) // MONTHS_PER[grain]


def period_label(start: dt.date, grain: str) -> str:
    return MarketVolume(start=start, grain=grain).label


@dataclass(frozen=True)
class Periods:
    grain: str
    first: int  # period index of P₁
    starts: tuple[dt.date, ...]

    @property
    def start(self) -> dt.date:
        return self.starts[0]

    @property
    def end(self) -> dt.date:
        return period_end(self.starts[-1], self.grain)

    @property
    def labels(self) -> list[str]:
        return [period_label(s, self.grain) for s in self.starts]

    def position(self, index: int) -> int | None:
        pos = index - self.first
        return pos if 0 <= pos < len(self.starts) else None

    def __len__(self) -> int:
        return len(self.starts)


def periods_for(start: dt.date, end: dt.date, grain: str) -> Periods:
    """The whole periods of ``grain`` that [start, end] touches."""
    errors = {}
    if grain not in MONTHS_PER:
        errors["grain"] = _("Choose month, quarter or year.")
    for name, day in (("start", start), ("end", end)):
        if not FIRST_DAY <= day <= LAST_DAY:
            errors[name] = _("Choose a day from %(first)s to %(last)s.") % {
                "first": FIRST_DAY.isoformat(),
                "last": LAST_DAY.isoformat(),
            }
    if not errors and end < start:
        errors["end"] = _("The period cannot end before it starts.")
    if errors:
        raise ValidationError(errors)
    first, last = period_index(start, grain), period_index(end, grain)
    if last - first + 1 > MAX_PERIODS:
        raise ValidationError(
            {"start": _("Choose at most %(n)s periods; take a longer grain.") % {"n": MAX_PERIODS}}
        )
    months = MONTHS_PER[grain]
    starts = []
    for index in range(first, last + 1):
        month = index * months
        starts.append(dt.date(month // 12, month % 12 + 1, 1))
    return Periods(grain=grain, first=first, starts=tuple(starts))


def default_range(today: dt.date) -> tuple[dt.date, dt.date]:
    """The last eight quarters up to today's."""
    start = period_start(today, Grain.QUARTER)
    first = month_index(start) - 21
    return dt.date(first // 12, first % 12 + 1, 1), today


# --- Small helpers ------------------------------------------------------------------------------


def _num(value, digits: int = 2) -> float:
    """A SUM over no rows is NULL (NaN from pandas): nothing is 0."""
    number = float(value) if value is not None else 0.0
    return 0.0 if math.isnan(number) else round(number, digits)


def _pct(part: float, whole: float) -> float | None:
    return round(part / whole * 100, 2) if whole else None


def _series(periods: Periods, rows: Iterable[tuple[int, float]], digits: int = 2) -> list[float]:
    values = [0.0] * len(periods)
    for index, value in rows:
        pos = periods.position(int(index))
        if pos is not None:
            values[pos] = _num(value, digits)
    return values


def _pidx(date: ibis.DateValue, grain: str) -> ibis.IntegerValue:
    """The warehouse expression of ``period_index``."""
    months = date.year().cast("int64") * 12 + date.month().cast("int64") - 1
    return months // MONTHS_PER[grain]


def _rows(expr: ibis.Table) -> list[dict]:
    return expr.to_pyarrow().to_pylist()


# --- Warehouse figures --------------------------------------------------------------------------


def _sales(t: dict, periods: Periods, *, extra_period: bool = False) -> ibis.Table:
    """The visible sales lines of the periods (and of the one after, for the repurchase rate),
    with their period index ``p``."""
    sales = t["fact_sales"]
    last = periods.end
    if extra_period:
        last = period_end(last + dt.timedelta(days=1), periods.grain)
    sales = sales.filter(
        sales.day >= analyses.day_number(periods.start), sales.day <= analyses.day_number(last)
    )
    return sales.mutate(p=_pidx(sales.date, periods.grain))


def _with_category(t: dict, sales: ibis.Table) -> ibis.Table:
    products = t["dim_product"].select("product_id", "category")
    joined = sales.left_join(products, "product_id")
    return joined.mutate(segment=ibis.coalesce(joined.category, ""))


def revenue_units(t: dict, periods: Periods) -> dict:
    sales = _sales(t, periods)
    rows = _rows(
        sales.group_by("p").aggregate(revenue=sales.net_revenue.sum(), units=sales.quantity.sum())
    )
    return {
        "net_revenue": _series(periods, ((r["p"], r["revenue"]) for r in rows)),
        "units": _series(periods, ((r["p"], r["units"]) for r in rows), 3),
    }


def revenue_by_segment(t: dict, periods: Periods) -> dict[str, list[float]]:
    """Net revenue per product category and period; "" is all revenue (the whole market)."""
    sales = _with_category(t, _sales(t, periods))
    rows = _rows(sales.group_by(["p", "segment"]).aggregate(revenue=sales.net_revenue.sum()))
    by_segment: dict[str, list[tuple[int, float]]] = defaultdict(list)
    total: dict[int, float] = defaultdict(float)
    for row in rows:
        by_segment[row["segment"]].append((row["p"], row["revenue"]))
        total[row["p"]] += _num(row["revenue"])
    result = {segment: _series(periods, values) for segment, values in by_segment.items()}
    result[""] = _series(periods, total.items())
    return result


def repurchase(t: dict, periods: Periods, *, today: dt.date) -> dict:
    sales = _sales(t, periods, extra_period=True)
    buys = sales.filter(sales.kind != "return").select("party_id", "p").distinct()
    following = buys.select("party_id", p=buys.p - 1)
    again = buys.join(following, ["party_id", "p"])
    customers = {r["p"]: r["n"] for r in _rows(buys.group_by("p").aggregate(n=buys.count()))}
    repeated = {r["p"]: r["n"] for r in _rows(again.group_by("p").aggregate(n=again.count()))}
    counts, again_counts, rates = [], [], []
    for pos, start in enumerate(periods.starts):
        index = periods.first + pos
        n, k = int(customers.get(index, 0)), int(repeated.get(index, 0))
        next_end = period_end(
            period_end(start, periods.grain) + dt.timedelta(days=1), periods.grain
        )
        counts.append(n)
        again_counts.append(k)
        # The next period has not ended: who buys again is not known yet.
        rates.append(_pct(k, n) if next_end < today else None)
    return {"customers": counts, "repurchased": again_counts, "rate_pct": rates}


def cross_buying(t: dict, periods: Periods) -> dict:
    sales = _with_category(t, _sales(t, periods))
    sales = sales.filter(sales.kind != "return")
    per_customer = sales.group_by(["p", "party_id"]).aggregate(n=sales.segment.nunique())
    summary = _rows(
        per_customer.group_by("p").aggregate(
            customers=per_customer.count(), categories=per_customer.n.sum()
        )
    )
    bucket = ibis.cases((per_customer.n >= 5, "5+"), else_=per_customer.n.cast("string"))
    spread = per_customer.mutate(bucket=bucket)
    buckets = _rows(spread.group_by(["p", "bucket"]).aggregate(customers=spread.count()))
    customers = _series(periods, ((r["p"], r["customers"]) for r in summary), 0)
    categories = _series(periods, ((r["p"], r["categories"]) for r in summary), 0)
    distribution = {
        name: _series(
            periods, ((r["p"], r["customers"]) for r in buckets if r["bucket"] == name), 0
        )
        for name in CROSS_BUCKETS
    }
    return {
        "customers": [int(n) for n in customers],
        "average": [
            round(c / n, 2) if n else None for c, n in zip(categories, customers, strict=True)
        ],
        "distribution": {name: [int(v) for v in values] for name, values in distribution.items()},
    }


def price_tolerance(t: dict, periods: Periods) -> dict:
    sales = _sales(t, periods)
    sales = sales.filter(sales.kind != "return")
    rows = _rows(
        sales.group_by("p").aggregate(gross=sales.gross.sum(), discount=sales.discount.sum())
    )
    gross = _series(periods, ((r["p"], r["gross"]) for r in rows))
    discount = _series(periods, ((r["p"], r["discount"]) for r in rows))
    return {
        "gross": gross,
        "discount": discount,
        "discount_pct": [_pct(d, g) for d, g in zip(discount, gross, strict=True)],
    }


# --- Operational figures (small tables, aggregated by SQL per month) -----------------------------


def _month_rollup(periods: Periods, rows: Iterable[tuple[dt.date, float]]) -> list[float]:
    """Monthly sums (from ``TruncMonth``) added up to the periods of the grain."""
    values = [0.0] * len(periods)
    for month, value in rows:
        pos = periods.position(period_index(month, periods.grain))
        if pos is not None:
            values[pos] += float(value or 0)
    return values


def _as_date(value) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def market_volumes(periods: Periods) -> dict[str, list[float | None]]:
    """The market volume per segment and period, from the entries whose period lies within
    it; None where the entries do not cover the whole period."""
    entries = MarketVolume.objects.filter(start__gte=periods.start, start__lte=periods.end)
    entries = entries.order_by()
    entries = entries.values_list("segment", "grain", "start", "volume")
    volume: dict[str, list[float]] = defaultdict(lambda: [0.0] * len(periods))
    covered: dict[str, list[int]] = defaultdict(lambda: [0] * len(periods))
    for segment, grain, start, amount in entries:
        volume[segment]  # the segment is shown, even where no period is covered
        if MONTHS_PER[grain] > MONTHS_PER[periods.grain]:
            continue  # a longer period is never split
        pos = periods.position(period_index(start, periods.grain))
        if pos is None:
            continue
        volume[segment][pos] += float(amount)
        covered[segment][pos] += MONTHS_PER[grain]
    needed = MONTHS_PER[periods.grain]
    return {
        segment: [
            round(v, 2) if c == needed else None
            for v, c in zip(values, covered[segment], strict=True)
        ]
        for segment, values in volume.items()
    }


def market_share(revenue: dict[str, list[float]] | None, periods: Periods) -> list[dict]:
    """One entry per segment that has a market volume: revenue, volume and share per period."""
    volumes = market_volumes(periods)
    result = []
    for segment in sorted(volumes):
        own = None if revenue is None else revenue.get(segment, [0.0] * len(periods))
        shares = None
        if own is not None:
            shares = [
                _pct(r, v) if v is not None else None
                for r, v in zip(own, volumes[segment], strict=True)
            ]
        result.append(
            {"segment": segment, "revenue": own, "volume": volumes[segment], "share_pct": shares}
        )
    return result


def referrals(user: User | None, periods: Periods) -> dict:
    leads = Lead.objects.filter(deleted_at__isnull=True, referred_by__isnull=False)
    if user is not None:
        leads = visible_records(leads, user=user)
    rows = list(
        leads.filter(created_at__date__gte=periods.start, created_at__date__lte=periods.end)
        .annotate(month=TruncMonth("created_at"))
        .values("month")
        .annotate(n=Count("pk"), converted=Count("pk", filter=Q(status=LeadStatus.CONVERTED)))
        .order_by()
        .values_list("month", "n", "converted")
    )
    leads_n = _month_rollup(periods, ((_as_date(m), n) for m, n, _c in rows))
    converted = _month_rollup(periods, ((_as_date(m), c) for m, _n, c in rows))
    return {
        "leads": [int(n) for n in leads_n],
        "converted": [int(c) for c in converted],
        "conversion_pct": [_pct(c, n) for c, n in zip(converted, leads_n, strict=True)],
    }


def quality_checks_in(periods: Periods) -> QuerySet[QualityCheck]:
    return QualityCheck.objects.filter(date__gte=periods.start, date__lte=periods.end)


def quality(periods: Periods) -> list[dict]:
    rows = list(
        quality_checks_in(periods)
        .annotate(month=TruncMonth("date"))
        .values("month", "stage")
        .annotate(checked=Sum("checked_units"), defective=Sum("defective_units"))
        .order_by()
        .values_list("month", "stage", "checked", "defective")
    )
    result = []
    for stage, label in QualityStage.choices:
        mine = [(_as_date(m), c, d) for m, s, c, d in rows if s == stage]
        checked = _month_rollup(periods, ((m, c) for m, c, _d in mine))
        defective = _month_rollup(periods, ((m, d) for m, _c, d in mine))
        result.append(
            {
                "stage": stage,
                "label": str(label),
                "checked": [int(c) for c in checked],
                "defective": [int(d) for d in defective],
                "defect_pct": [_pct(d, c) for d, c in zip(defective, checked, strict=True)],
            }
        )
    return result


# --- Complaint figures: defect frequency and warranty claims (DOMAIN.md §3/§5) -----------------
#
# A case belongs to the period of the day it was received (``Case.created_at`` in the current
# time zone); its kind is its category's (``CaseCategory.kind``).
# - Defect frequency(P) = D(P) ÷ U(P) × 1,000, D(P) the cases of kind "defect" received in P,
#   U(P) the units sold in P (the "Units" above: order and invoice lines minus returns). Per
#   product category s: D(s, P) the defect cases whose product is of category s, U(s, P) the
#   units of the lines of that category; s empty for cases without a product (and lines
#   without a category). Unknown (None) when no unit was sold or the warehouse is unavailable.
# - Warranty claims(P) = the cases of kind "warranty" received in P; their cost = Σ amount of
#   the costs recorded on those cases (goodwill, replacement, handling time), whatever day the
#   cost was entered — the cost of the claims of P — and the cost per claim.
# Only the cases of customers the user may see count (as the transaction figures are narrowed
# to the visible customers); deleted customers' cases do not. ``kreis.service`` is imported
# inside the functions: the analytics app is an outer layer and loads without it.


def _complaint_cases(user: User | None, periods: Periods, kind: str) -> QuerySet:
    from kreis.parties.models import Party
    from kreis.service.models import Case

    cases = Case.objects.filter(
        category__kind=kind,
        party__deleted_at__isnull=True,
        created_at__date__gte=periods.start,
        created_at__date__lte=periods.end,
    )
    if user is not None:
        cases = cases.filter(party__in=visible_records(Party.objects.all(), user=user))
    return cases.order_by()


def units_by_segment(t: dict, periods: Periods) -> dict[str, list[float]]:
    """Units sold (returns deducted) per product category and period, in the warehouse."""
    sales = _with_category(t, _sales(t, periods))
    rows = _rows(sales.group_by(["p", "segment"]).aggregate(units=sales.quantity.sum()))
    by_segment: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for row in rows:
        by_segment[row["segment"]].append((row["p"], row["units"]))
    return {segment: _series(periods, values, 3) for segment, values in by_segment.items()}


def _per_thousand(count: float, units: float | None) -> float | None:
    return round(count / units * 1000, 2) if units and units > 0 else None


def defect_frequency(
    user: User | None,
    periods: Periods,
    *,
    units: list[float] | None,
    segment_units: dict[str, list[float]] | None,
) -> dict:
    """Defect cases per 1,000 units sold, overall and per product category (see the module's
    docstring). ``units``/``segment_units`` are None while the warehouse is unavailable: the
    counts are shown, the rates are not."""
    from kreis.service.models import CategoryKind

    rows = list(
        _complaint_cases(user, periods, CategoryKind.DEFECT)
        .annotate(month=TruncMonth("created_at"))
        .values("month", "product__category")
        .annotate(n=Count("pk"))
        .values_list("month", "product__category", "n")
    )
    months: dict[str, list[tuple[dt.date, int]]] = defaultdict(list)
    for month, category, n in rows:
        months[category or ""].append((_as_date(month), n))
    cases = _month_rollup(periods, ((m, n) for values in months.values() for m, n in values))
    by_category = []
    for segment in sorted(months):
        counts = _month_rollup(periods, months[segment])
        sold = None if segment_units is None else segment_units.get(segment, [0.0] * len(periods))
        by_category.append(
            {
                "segment": segment,
                "cases": [int(n) for n in counts],
                "units": sold,
                "per_1000": [
                    _per_thousand(n, None if sold is None else sold[pos])
                    for pos, n in enumerate(counts)
                ],
            }
        )
    return {
        "cases": [int(n) for n in cases],
        "units": units,
        "per_1000": [
            _per_thousand(n, None if units is None else units[pos]) for pos, n in enumerate(cases)
        ],
        "by_category": by_category,
    }


def warranty_claims(user: User | None, periods: Periods) -> dict:
    """Warranty cases per period, the cost recorded on them and the cost per claim."""
    from kreis.service.models import CaseCost, CategoryKind

    claims = _complaint_cases(user, periods, CategoryKind.WARRANTY)
    counted = (
        claims.annotate(month=TruncMonth("created_at"))
        .values("month")
        .annotate(n=Count("pk"))
        .values_list("month", "n")
    )
    costs = (
        CaseCost.objects.filter(case__in=claims.values("pk"))
        .annotate(month=TruncMonth("case__created_at"))
        .values("month")
        .annotate(total=Sum("amount"))
        .order_by()
        .values_list("month", "total")
    )
    count = _month_rollup(periods, ((_as_date(m), n) for m, n in counted))
    cost = _month_rollup(periods, ((_as_date(m), t or Decimal(0)) for m, t in costs))
    return {
        "claims": [int(n) for n in count],
        "cost": [round(c, 2) for c in cost],
        "cost_per_claim": [
            round(c / n, 2) if n else None for c, n in zip(cost, count, strict=True)
        ],
    }


# --- All of them --------------------------------------------------------------------------------


def kpi_report(
    *, user: User | None, start: dt.date, end: dt.date, grain: str, today: dt.date
) -> dict:
    """Every KPI of the periods, for a user who may see them (``None``: everything, for the
    command line). The warehouse figures are None when it is empty or being refreshed."""
    if user is not None:
        check_view(user)
    periods = periods_for(start, end, grain)
    report: dict = {
        "start": periods.start,
        "end": periods.end,
        "grain": grain,
        "periods": periods.labels,
        "warehouse": True,
    }
    try:
        con = warehouse.connect(read_only=True)
    except (warehouse.WarehouseBusy, warehouse.WarehouseError):
        con = None
    segments = segment_units = None
    try:
        if con is None:
            raise WarehouseUnavailable
        t = visible_tables(warehouse.tables(con), user or _Everyone())
        report["revenue"] = revenue_units(t, periods)
        segments = revenue_by_segment(t, periods)
        segment_units = units_by_segment(t, periods)
        report["repurchase"] = repurchase(t, periods, today=today)
        report["cross_buying"] = cross_buying(t, periods)
        report["price_tolerance"] = price_tolerance(t, periods)
    except (WarehouseUnavailable, warehouse.WarehouseBusy):
        report["warehouse"] = False
        segment_units = None
        for key in ("revenue", "repurchase", "cross_buying", "price_tolerance"):
            report[key] = None
    finally:
        if con is not None:
            con.disconnect()
    report["market_share"] = market_share(segments, periods)
    report["referrals"] = referrals(user, periods)
    report["quality"] = quality(periods)
    report["defects"] = defect_frequency(
        user,
        periods,
        units=report["revenue"]["units"] if report["revenue"] else None,
        segment_units=segment_units,
    )
    report["warranty"] = warranty_claims(user, periods)
    return report


class _Everyone:
    """Who ``visible_tables`` lets see every customer that is not deleted."""

    is_admin = True
