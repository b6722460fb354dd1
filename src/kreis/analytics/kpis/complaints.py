"""Complaint KPIs of DOMAIN.md §3/§5: defect frequency and warranty claims, per period.

Notation as in ``kreis.analytics.kpis.queries`` (periods P₁ … Pₙ of one grain). A case belongs
to the period of the day it was received (``Case.created_at`` in the current time zone); its
kind is its category's (``CaseCategory.kind``).

- Defect frequency(P) = D(P) ÷ U(P) × 1,000, D(P) the cases of kind "defect" received in P,
  U(P) the units sold in P from the warehouse (Σ quantity of the order and invoice lines minus
  the returned units: the KPI page's "Units"). Per product category s: D(s, P) the defect
  cases whose product is of category s, U(s, P) the units of the lines of that category; s
  empty for cases without a product (and lines without a category). Unknown (None) when no
  unit was sold, or while the warehouse is unavailable.
- Warranty claims(P) = the cases of kind "warranty" received in P; their cost = Σ amount of
  the costs recorded on those cases (goodwill, replacement, handling time), whatever day the
  cost was entered — the cost of the claims of P — and the average cost per claim.

Only cases of customers the user may see count (``visible_records`` on the party, as the
transaction figures are narrowed to the visible customers); deleted customers' cases do not.
``kreis.service`` is read lazily inside the functions: the analytics app is an outer layer and
must load without the service app's models being imported first.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import TruncMonth

from kreis.analytics.kpis.queries import (
    Periods,
    _as_date,
    _month_rollup,
    _rows,
    _sales,
    _series,
    _with_category,
)
from kreis.core.models import User
from kreis.core.queries import visible_records


def _cases(user: User | None, periods: Periods, kind: str) -> QuerySet:
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
        _cases(user, periods, CategoryKind.DEFECT)
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

    claims = _cases(user, periods, CategoryKind.WARRANTY)
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
