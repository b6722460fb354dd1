"""The customer analyses of DOMAIN.md §7 as Ibis expressions over the warehouse tables.

Each function takes the dict of warehouse tables (``warehouse.tables()``) and plain parameters
and returns an Ibis table expression; nothing here knows which backend executes it. Days are
integers (days since 1970-01-01), so date arithmetic is plain integer arithmetic everywhere.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import ibis
from ibis import _

from kreis.analytics.warehouse import EPOCH

Tables = Mapping[str, ibis.Table]
UNIT_DAYS = {"days": 1.0, "weeks": 7.0}


def _float(value: float) -> ibis.Value:
    """A float64 literal: Spark would read a bare 7.0 as DECIMAL and round the quotients."""
    return ibis.literal(float(value), type="float64")


def day_number(day: dt.date) -> int:
    return (day - EPOCH).days


def _purchases(t: Tables, *, end_day: int, value: str) -> ibis.Table:
    """One row per customer and purchase day (several transactions of a day are one purchase)
    with the day's value, returns netted in.

    A return is no purchase. Its (negative) value counts against the customer's latest purchase
    day on or before it, or the first purchase day when it comes before any purchase, so the
    purchase values add up to the margin to date, returns included, as the historical value
    does (DOMAIN.md §7.5).
    """
    sales = t["fact_sales"]
    sales = sales.filter(sales.day <= end_day)
    amount = sales.net_revenue if value == "revenue" else sales.net_revenue - sales.cost
    days = sales.group_by(["party_id", "day"]).aggregate(
        bought=(sales.kind != "return").any(), value=amount.sum()
    )
    purchase_day = ibis.cases((days.bought, days.day), else_=ibis.null("int32"))
    so_far = ibis.window(group_by=days.party_id, order_by=days.day, rows=(None, 0))
    customer = ibis.window(group_by=days.party_id)
    days = days.mutate(
        target=ibis.coalesce(purchase_day.max().over(so_far), purchase_day.min().over(customer))
    )
    days = days.filter(days.target.notnull())
    return days.group_by(["party_id", days.target.name("day")]).aggregate(value=days.value.sum())


def clv_summary(
    t: Tables, *, calibration_end: dt.date, unit: str = "days", value: str = "margin"
) -> ibis.Table:
    """The BG/NBD / Gamma-Gamma input per customer: x (repeat purchases), t_x (time of the last
    purchase after the first), T (age at the end of calibration), zbar (mean value of the
    repeat purchases, 0 without), in ``unit``; plus first/last purchase day, the first
    purchase's value and the total. Returns are netted into the purchases (``_purchases``), so
    zbar may be zero or negative for a customer whose repeat purchases made a loss."""
    end = day_number(calibration_end)
    scale = UNIT_DAYS[unit]
    days = _purchases(t, end_day=end, value=value)
    per = days.group_by("party_id").aggregate(
        n=_.count(),
        first_day=_.day.min(),
        last_day=_.day.max(),
        total=_.value.sum(),
        first_value=_.value.argmin(_.day),
    )
    x = per.n - 1
    return per.select(
        "party_id",
        "first_day",
        "last_day",
        "total",
        "first_value",
        x=x,
        t_x=(per.last_day - per.first_day).cast("float64") / _float(scale),
        T=(end - per.first_day).cast("float64") / _float(scale),
        zbar=ibis.cases((x > 0, (per.total - per.first_value) / x), else_=_float(0.0)),
    )


def customer_activity(t: Tables, *, as_of: dt.date) -> ibis.Table:
    """Per party: purchase days, first/last purchase, revenue of the trailing 12 months and of
    the 12 months before, historical value (margin to date)."""
    today = day_number(as_of)
    sales = t["fact_sales"]
    sales = sales.filter(sales.day <= today)
    purchase = sales.kind != "return"
    recent = sales.day > today - 365
    before = (sales.day > today - 730) & (sales.day <= today - 365)
    zero = _float(0.0)
    return sales.group_by("party_id").aggregate(
        purchase_days=sales.day.nunique(where=purchase),
        first_day=sales.day.min(where=purchase),
        last_day=sales.day.max(where=purchase),
        revenue_12m=ibis.cases((recent, sales.net_revenue), else_=zero).sum(),
        revenue_prev_12m=ibis.cases((before, sales.net_revenue), else_=zero).sum(),
        historical_value=(sales.net_revenue - sales.cost).sum(),
    )


def abc(
    t: Tables,
    *,
    start: dt.date,
    end: dt.date,
    metric: str = "revenue",
    a_pct: float = 80.0,
    b_pct: float = 95.0,
) -> ibis.Table:
    """ABC classes by revenue or contribution margin I in [start, end].

    Boundary rule: customers are sorted by value (ties by party id); a customer is A while the
    cumulative share of the customers *before* them is below ``a_pct`` — the customer who
    crosses the line still belongs to A — and B likewise up to ``b_pct``; the rest is C.
    Customers with no positive value are C.
    """
    sales = t["fact_sales"]
    sales = sales.filter(sales.day >= day_number(start), sales.day <= day_number(end))
    amount = sales.net_revenue if metric == "revenue" else sales.net_revenue - sales.cost
    per = sales.group_by("party_id").aggregate(value=amount.sum())
    order = [ibis.desc(per.value), per.party_id]
    cumulative = per.value.sum().over(ibis.window(order_by=order, rows=(None, 0)))
    positive = ibis.cases((per.value > 0, per.value), else_=_float(0.0))
    total = positive.sum().over(ibis.window())
    ranked = per.mutate(
        rank=ibis.row_number().over(ibis.window(order_by=order)) + 1,
        cumulative=cumulative,
        total=total,
    )
    before = ranked.cumulative - ranked.value
    share = ibis.cases((ranked.total > 0, ranked.value / ranked.total), else_=_float(0.0))
    cls = ibis.cases(
        (ranked.value <= 0, "C"),
        (before < ranked.total * _float(a_pct / 100.0), "A"),
        (before < ranked.total * _float(b_pct / 100.0), "B"),
        else_="C",
    )
    cumulative_share = ibis.cases(
        (ranked.total > 0, ranked.cumulative / ranked.total), else_=_float(0.0)
    )
    return ranked.select(
        "party_id",
        "value",
        "rank",
        share=share,
        cumulative_share=cumulative_share,
        abc_class=cls,
    )


# Segment names on the recency × frequency grid (scores 1–5), the usual mapping.
RFM_SEGMENTS = (
    # (segment, recency scores, frequency scores) — first match wins.
    ("lost", (1,), (1,)),
    ("hibernating", (1, 2), (1, 2)),
    ("at_risk", (1, 2), (3, 4)),
    ("cant_lose", (1, 2), (5,)),
    ("about_to_sleep", (3,), (1, 2)),
    ("need_attention", (3,), (3,)),
    ("loyal", (3, 4), (4, 5)),
    ("promising", (4,), (1,)),
    ("new", (5,), (1,)),
    ("potential_loyalist", (4, 5), (2, 3)),
    ("champions", (5,), (4, 5)),
)


def rfm_segment_of(r: int, f: int) -> str:
    for name, rs, fs in RFM_SEGMENTS:
        if r in rs and f in fs:
            return name
    return "need_attention"


def _quintile_score(value: ibis.Value) -> ibis.IntegerValue:
    """Quintile score 1–5 with the breakpoints on the values (DOMAIN.md §7.6):
    1 + ⌊5 · (customers with a lower value) ÷ customers⌋.

    This equals counting the 20/40/60/80 % quantiles of the values that lie below the
    customer's value, so customers with equal values always share a score, and a value shared
    by more than a fifth of the customers leaves the scores above it empty. ``rank()`` is the
    0-based position of the first of the equal values, i.e. how many values are lower.
    """
    lower = ibis.rank().over(ibis.window(order_by=value)).cast("float64")
    customers = value.count().over(ibis.window()).cast("float64")
    return (lower * _float(5.0) / customers).floor().cast("int64") + 1


def rfm(t: Tables, *, as_of: dt.date) -> ibis.Table:
    """Recency, frequency and monetary quintile scores 1–5 (5 = best) and the named segment.

    Recency is days since the last purchase (the later the better), frequency the number of
    purchase days, monetary the net revenue to date (returns deducted). Scores by
    ``_quintile_score`` over the customers with purchases: ties are never split.
    """
    today = day_number(as_of)
    sales = t["fact_sales"]
    sales = sales.filter(sales.day <= today)
    purchase = sales.kind != "return"
    per = sales.group_by("party_id").aggregate(
        last_day=sales.day.max(where=purchase),
        frequency=sales.day.nunique(where=purchase),
        monetary=sales.net_revenue.sum(),
    )
    per = per.filter(per.last_day.notnull())
    scored = per.mutate(
        recency_days=today - per.last_day,
        r=_quintile_score(per.last_day),
        f=_quintile_score(per.frequency),
        m=_quintile_score(per.monetary),
    )
    branches = []
    for name, rs, fs in RFM_SEGMENTS:
        branches.append((scored.r.isin(rs) & scored.f.isin(fs), name))
    return scored.mutate(segment=ibis.cases(*branches, else_="need_attention"))
