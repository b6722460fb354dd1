"""Figures and ECharts options of the analytics pages, always narrowed to what a user may see.

Operational figures (phases, classes, CLV stored on Party by the last run) come from the ORM
through ``visible_records``; period figures (revenue by month, Pareto) from the warehouse, with
``dim_customer`` restricted the same way (owner or team, administrators everything).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import ibis
import numpy as np
from django.db.models import Count, DecimalField, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from kreis.analytics import analyses, warehouse
from kreis.analytics.customer import lifecycle
from kreis.analytics.customer.models import PhaseChange
from kreis.analytics.reports import queries
from kreis.core.models import User
from kreis.core.queries import visible_records
from kreis.parties.models import LifecyclePhase, Party, PartyRole
from kreis.sales.models import StageKind, shipped_label
from kreis.sales.queries import deal_list_for_user

HISTOGRAM_BUCKETS = 10
CHURN_PHASES = (LifecyclePhase.ABSTINENCE, LifecyclePhase.DISSOLUTION)
ABC_COLORS = {"A": "#198754", "B": "#fd7e14", "C": "#6c757d"}
MAIN_COLORS = {"acquisition": "#0d6efd", "retention": "#198754", "recovery": "#dc3545"}
# Where the axes go when their labels fit; room at the right for the last value label.
GRID = {"left": 8, "right": 24, "top": 32, "bottom": 8}


@dataclasses.dataclass
class Chart:
    """An ECharts option plus the same figures as a table (the CSV download). ``empty`` says
    whether there is nothing to show; None leaves it to the browser (no point above zero)."""

    option: dict
    header: list[str]
    rows: list[list]
    empty: bool | None = None


# --- Visibility ---------------------------------------------------------------------------------


def visible_parties(user: User) -> QuerySet[Party]:
    return visible_records(Party.objects.filter(deleted_at__isnull=True), user=user)


def visible_customers(user: User) -> QuerySet[Party]:
    return visible_parties(user).filter(role_assignments__role=PartyRole.CUSTOMER)


def visible_tables(t: analyses.Tables, user: User) -> dict[str, ibis.Table]:
    """The warehouse tables with customers and facts narrowed to the user's parties."""
    customers = t["dim_customer"]
    customers = customers.filter(~customers.deleted)
    if not user.is_admin:
        teams = sorted(user.team_ids())
        seen = customers.owner_id == user.pk
        if teams:
            seen = seen | customers.team_id.isin(teams)
        customers = customers.filter(seen)
    ids = customers.select("party_id")
    narrowed = dict(t)
    narrowed["dim_customer"] = customers
    for name in ("fact_sales", "fact_interactions", "fact_costs"):
        narrowed[name] = t[name].semi_join(ids, "party_id")
    return narrowed


def parties_url(**filters: str) -> str:
    return f"{reverse('parties:list')}?{urlencode(filters)}"


def add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def money(value) -> float:
    """A SUM over no rows is NULL (NaN in pandas): no revenue is 0."""
    number = float(value) if value is not None else 0.0
    return 0.0 if math.isnan(number) else round(number, 2)


# --- KPIs ---------------------------------------------------------------------------------------


def _revenue_years(user: User, today: dt.date) -> tuple[float | None, float | None]:
    """Net revenue of the last 12 months and the 12 before (warehouse; None when it is busy)."""
    try:
        con = warehouse.connect(read_only=True)
    except warehouse.WarehouseBusy:
        return None, None
    try:
        t = visible_tables(warehouse.tables(con), user)
        sales = t["fact_sales"]
        now = analyses.day_number(today)
        year_ago, two_ago = now - 365, now - 730
        current = sales.net_revenue.sum(where=(sales.day > year_ago) & (sales.day <= now))
        previous = sales.net_revenue.sum(where=(sales.day > two_ago) & (sales.day <= year_ago))
        row = sales.aggregate(current=current, previous=previous).to_pandas().iloc[0]
        return money(row["current"]), money(row["previous"])
    except warehouse.WarehouseBusy:
        return None, None
    finally:
        con.disconnect()


def dashboard_kpis(user: User, today: dt.date) -> dict:
    """The management figures of the dashboard (see the page for their definitions)."""
    year_ago = today - dt.timedelta(days=365)
    revenue, revenue_prev = _revenue_years(user, today)
    if revenue is None:
        stored = visible_parties(user).aggregate(s=Sum("revenue_12m"))["s"]
        revenue = money(stored)
    change = None
    if revenue_prev:
        change = round((revenue - revenue_prev) / abs(revenue_prev) * 100, 1)

    deals = deal_list_for_user(user=user).order_by()
    open_deals = deals.filter(stage__kind=StageKind.OPEN).aggregate(
        amount=Sum("amount"), count=Count("pk")
    )
    closed = deals.filter(closed_at__date__gt=year_ago, closed_at__date__lte=today)
    outcome = closed.aggregate(
        won=Count("pk", filter=Q(stage__kind=StageKind.WON)),
        lost=Count("pk", filter=Q(stage__kind=StageKind.LOST)),
    )
    decided = outcome["won"] + outcome["lost"]
    cycles = np.array(
        [
            (closed_at - created_at).total_seconds() / 86400
            for created_at, closed_at in closed.filter(stage__kind=StageKind.WON).values_list(
                "created_at", "closed_at"
            )
        ],
        dtype=float,
    )

    customers = visible_customers(user)
    n_customers = customers.count()
    changes = PhaseChange.objects.filter(
        party__in=visible_parties(user), date__gt=year_ago, date__lte=today
    )
    churned = changes.filter(to_phase__in=CHURN_PHASES).values("party").distinct().count()
    won_back = changes.filter(won_back=True).values("party").distinct().count()
    # Abstinent within the year: still abstinent, or left abstinence during it.
    abstinent = (
        visible_parties(user)
        .filter(
            Q(lifecycle_phase=LifecyclePhase.ABSTINENCE)
            | Q(pk__in=changes.filter(from_phase=LifecyclePhase.ABSTINENCE).values("party"))
        )
        .count()
    )
    return {
        "revenue_12m": revenue,
        "revenue_prev_12m": revenue_prev,
        "revenue_change_pct": change,
        "open_pipeline_amount": money(open_deals["amount"]),
        "open_pipeline_count": open_deals["count"],
        "won_deals": outcome["won"],
        "lost_deals": outcome["lost"],
        "win_rate_pct": round(outcome["won"] / decided * 100, 1) if decided else None,
        "avg_sales_cycle_days": round(float(cycles.mean()), 1) if len(cycles) else None,
        "customers": n_customers,
        "churned": churned,
        "churn_rate_pct": round(churned / n_customers * 100, 1) if n_customers else None,
        "won_back": won_back,
        "abstinent": abstinent,
        "win_back_rate_pct": round(won_back / abstinent * 100, 1) if abstinent else None,
    }


# --- Dashboard charts ---------------------------------------------------------------------------


def _bar(
    labels: list[str], data: list, name: str, *, horizontal: bool = False, tilt: bool = True
) -> dict:
    """A bar chart. Up to 12 categories every label is shown (ECharts would hide some), tilted
    when ``tilt``; more (24 months) are thinned out by ECharts and stay level. ECharts 6 keeps
    axis labels and names inside the canvas by itself (``grid.outerBounds``)."""
    few = len(labels) <= 12
    category = {
        "type": "category",
        "data": labels,
        "axisLabel": {
            "interval": 0 if few else "auto",
            "rotate": 30 if few and tilt and not horizontal else 0,
        },
    }
    value = {"type": "value"}
    return {
        "tooltip": {"trigger": "axis"},
        "grid": dict(GRID),
        "xAxis": value if horizontal else category,
        "yAxis": category if horizontal else value,
        "series": [{"type": "bar", "name": name, "data": data}],
    }


def revenue_by_month(user: User, today: dt.date, months: int = 24) -> Chart:
    first = add_months(today, -(months - 1))
    keys = [add_months(first, i) for i in range(months)]
    totals = dict.fromkeys(keys, 0.0)
    try:
        con = warehouse.connect(read_only=True)
    except warehouse.WarehouseBusy:
        con = None
    if con is not None:
        try:
            sales = visible_tables(warehouse.tables(con), user)["fact_sales"]
            sales = sales.filter(
                (sales.day >= analyses.day_number(first))
                & (sales.day <= analyses.day_number(today))
            )
            per = (
                sales.group_by(year=sales.date.year(), month=sales.date.month())
                .aggregate(revenue=sales.net_revenue.sum())
                .to_pandas()
            )
            for year, month, revenue in per.itertuples(index=False):
                totals[dt.date(int(year), int(month), 1)] = money(revenue)
        except warehouse.WarehouseBusy:
            pass
        finally:
            con.disconnect()
    labels = [key.strftime("%Y-%m") for key in keys]
    values = [totals[key] for key in keys]
    return Chart(
        _bar(labels, values, _("Net revenue"), tilt=False),
        [_("Month"), _("Net revenue")],
        [[label, value] for label, value in zip(labels, values, strict=True)],
    )


def pipeline_by_stage(user: User) -> Chart:
    rows = list(
        deal_list_for_user(user=user)
        .filter(stage__kind=StageKind.OPEN)
        .order_by()
        .values(
            "stage_id", "stage__name", "pipeline__name", "pipeline__position", "stage__position"
        )
        .annotate(amount=Sum("amount", output_field=DecimalField()), count=Count("pk"))
        .order_by("pipeline__position", "stage__position")
    )
    sales_list = reverse("sales:list")
    # With one pipeline its name in front of every stage is noise.
    several = len({r["pipeline__name"] for r in rows}) > 1
    labels = [
        f"{shipped_label(r['pipeline__name'])}: {shipped_label(r['stage__name'])}"
        if several
        else shipped_label(r["stage__name"])
        for r in rows
    ]
    data = [
        {
            "value": money(r["amount"]),
            "count": r["count"],
            "url": f"{sales_list}?{urlencode({'stage': r['stage_id'], 'status': 'open'})}",
        }
        for r in rows
    ]
    return Chart(
        _bar(labels, data, _("Open amount"), horizontal=True),
        [_("Stage"), _("Open deals"), _("Open amount")],
        [[label, r["count"], money(r["amount"])] for label, r in zip(labels, rows, strict=True)],
    )


def customers_by_phase(user: User) -> Chart:
    mix = queries.phase_mix(visible_parties(user))
    data = [
        {
            "value": count,
            "url": parties_url(lifecycle_phase=value),
            "itemStyle": {"color": MAIN_COLORS[lifecycle.MAIN_PHASE[value]]},
        }
        for value, _label, count in mix
    ]
    option = _bar([label for _v, label, _c in mix], data, _("Customers"))
    return Chart(
        option,
        [_("Main phase"), _("Phase"), _("Customers")],
        [
            [str(lifecycle.MAIN_LABELS[lifecycle.MAIN_PHASE[value]]), label, count]
            for value, label, count in mix
        ],
    )


def abc_mix(user: User) -> Chart:
    mix = queries.abc_mix(visible_parties(user))
    data = [
        {
            "name": label,
            "value": count,
            "url": parties_url(abc_class=value),
            "itemStyle": {"color": ABC_COLORS[value]},
        }
        for value, label, count in mix
    ]
    option = {
        "tooltip": {"trigger": "item", "formatter": "{b}: {c} ({d}%)"},
        "legend": {"bottom": 0},
        "series": [
            {
                "type": "pie",
                "radius": ["35%", "65%"],
                "name": _("ABC class"),
                "data": data,
                # In the ring: labels outside are cut off on a phone.
                "label": {
                    "position": "inside",
                    "formatter": "{b}: {c}",
                    "color": "#ffffff",
                    "fontWeight": "bold",
                },
                "minShowLabelAngle": 12,
            }
        ],
    }
    return Chart(option, [_("ABC class"), _("Customers")], [[v, c] for v, _l, c in mix])


def _whole(value: float) -> str:
    """A whole number as the user writes it: 1.561 in German, 1,561 in English."""
    return number_format(value, decimal_pos=0, use_l10n=True, force_grouping=True)


def clv_histogram(user: User, buckets: int = HISTOGRAM_BUCKETS) -> Chart:
    values = np.fromiter(
        visible_parties(user)
        .filter(clv__isnull=False)
        .values_list("clv", flat=True)
        .iterator(chunk_size=50_000),
        dtype=float,
    )
    rows = []
    if len(values):
        counts, edges = np.histogram(values, bins=buckets)
        rows = [
            [round(float(lo), 2), round(float(hi), 2), int(n)]
            for lo, hi, n in zip(edges[:-1], edges[1:], counts, strict=True)
        ]
    labels = [f"{_whole(lo)}–{_whole(hi)}" for lo, hi, _n in rows]
    option = _bar(labels, [n for _lo, _hi, n in rows], _("Customers"))
    option["xAxis"] |= {"name": _("CLV"), "nameLocation": "middle"}
    return Chart(option, [_("CLV from"), _("CLV to"), _("Customers")], rows)


def churn_by_month(user: User, today: dt.date, months: int = 24) -> Chart:
    first = add_months(today, -(months - 1))
    changes = PhaseChange.objects.filter(
        party__in=visible_parties(user), date__gte=first, date__lte=today
    )
    per = (
        changes.annotate(month=TruncMonth("date"))
        .values("month")
        .annotate(
            churned=Count("pk", filter=Q(to_phase__in=CHURN_PHASES)),
            won_back=Count("pk", filter=Q(won_back=True)),
        )
        .order_by("month")
    )
    by_month = {row["month"]: row for row in per}
    keys = [add_months(first, i) for i in range(months)]
    labels = [key.strftime("%Y-%m") for key in keys]
    churned = [by_month.get(key, {}).get("churned", 0) for key in keys]
    won_back = [by_month.get(key, {}).get("won_back", 0) for key in keys]
    option = {
        "tooltip": {"trigger": "axis"},
        "legend": {"bottom": 0},
        "grid": GRID | {"bottom": 40},
        "xAxis": {"type": "category", "data": labels},
        "yAxis": {"type": "value", "minInterval": 1},
        "series": [
            {
                "type": "line",
                "name": _("Churned"),
                "data": churned,
                "color": "#dc3545",
                "showSymbol": False,
            },
            {
                "type": "line",
                "name": _("Won back"),
                "data": won_back,
                "color": "#198754",
                "showSymbol": False,
            },
        ],
    }
    return Chart(
        option,
        [_("Month"), _("Churned"), _("Won back")],
        [list(row) for row in zip(labels, churned, won_back, strict=True)],
        # Phases were classified but nobody churned: two lines at zero say just that.
        empty=not changes.exists(),
    )
