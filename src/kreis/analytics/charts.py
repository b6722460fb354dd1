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
import pandas as pd
from django.db.models import Count, DecimalField, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from kreis.analytics import analyses, lifecycle, reports, warehouse
from kreis.analytics.models import AnalyticsSettings, PhaseChange
from kreis.core.models import User
from kreis.core.queries import visible_records
from kreis.parties.models import LifecyclePhase, Party, PartyRole, RfmSegment
from kreis.sales.models import StageKind
from kreis.sales.queries import deal_list_for_user

DAYS_PER_MONTH = 365.25 / 12
PARETO_POINTS = 300
HISTOGRAM_BUCKETS = 10
CHURN_PHASES = (LifecyclePhase.ABSTINENCE, LifecyclePhase.DISSOLUTION)
ABC_COLORS = {"A": "#198754", "B": "#fd7e14", "C": "#6c757d"}
MAIN_COLORS = {"acquisition": "#0d6efd", "retention": "#198754", "recovery": "#dc3545"}


@dataclasses.dataclass
class Chart:
    """An ECharts option plus the same figures as a table (the CSV download)."""

    option: dict
    header: list[str]
    rows: list[list]


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


def _money(value) -> float:
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
        return _money(row["current"]), _money(row["previous"])
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
        revenue = _money(stored)
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
        "open_pipeline_amount": _money(open_deals["amount"]),
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


def _bar(labels: list[str], data: list, name: str, *, horizontal: bool = False) -> dict:
    # Up to 12 categories every label is shown (ECharts would hide some), tilted if need be.
    category = {
        "type": "category",
        "data": labels,
        "axisLabel": {
            "interval": 0 if len(labels) <= 12 else "auto",
            "rotate": 0 if horizontal else 30,
        },
    }
    value = {"type": "value"}
    return {
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 8, "right": 16, "bottom": 8, "top": 24, "containLabel": True},
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
                totals[dt.date(int(year), int(month), 1)] = _money(revenue)
        except warehouse.WarehouseBusy:
            pass
        finally:
            con.disconnect()
    labels = [key.strftime("%Y-%m") for key in keys]
    values = [totals[key] for key in keys]
    return Chart(
        _bar(labels, values, _("Net revenue")),
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
    labels = [f"{r['pipeline__name']}: {r['stage__name']}" for r in rows]
    data = [
        {
            "value": _money(r["amount"]),
            "count": r["count"],
            "url": f"{sales_list}?{urlencode({'stage': r['stage_id'], 'status': 'open'})}",
        }
        for r in rows
    ]
    return Chart(
        _bar(labels, data, _("Open amount"), horizontal=True),
        [_("Stage"), _("Open deals"), _("Open amount")],
        [[label, r["count"], _money(r["amount"])] for label, r in zip(labels, rows, strict=True)],
    )


def customers_by_phase(user: User) -> Chart:
    mix = reports.phase_mix(visible_parties(user))
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
    mix = reports.abc_mix(visible_parties(user))
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
        "series": [{"type": "pie", "radius": ["35%", "70%"], "name": _("ABC class"), "data": data}],
    }
    return Chart(option, [_("ABC class"), _("Customers")], [[v, c] for v, _l, c in mix])


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
    labels = [f"{lo:,.0f}–{hi:,.0f}" for lo, hi, _n in rows]
    option = _bar(labels, [n for _lo, _hi, n in rows], _("Customers"))
    option["xAxis"]["name"] = _("CLV")
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
        "grid": {"left": 8, "right": 16, "bottom": 32, "top": 24, "containLabel": True},
        "xAxis": {"type": "category", "data": labels},
        "yAxis": {"type": "value", "minInterval": 1},
        "series": [
            {"type": "line", "name": _("Churned"), "data": churned, "color": "#dc3545"},
            {"type": "line", "name": _("Won back"), "data": won_back, "color": "#198754"},
        ],
    }
    return Chart(
        option,
        [_("Month"), _("Churned"), _("Won back")],
        [list(row) for row in zip(labels, churned, won_back, strict=True)],
    )


# --- ABC ----------------------------------------------------------------------------------------


@dataclasses.dataclass
class AbcParams:
    months: int
    metric: str
    a_pct: float
    b_pct: float
    start: dt.date
    end: dt.date


def abc_params(get, today: dt.date) -> AbcParams:
    """Period and metric from the settings, overridden by ``?months=&metric=``."""
    cfg = AnalyticsSettings.load()
    months = cfg.abc_months
    raw = get.get("months", "")
    if raw.isdigit() and 1 <= int(raw) <= 120:
        months = int(raw)
    metric = get.get("metric") if get.get("metric") in ("revenue", "margin") else cfg.abc_metric
    start = today - dt.timedelta(days=round(months * DAYS_PER_MONTH))
    return AbcParams(months, metric, float(cfg.abc_a), float(cfg.abc_b), start, today)


def _abc_table(t: analyses.Tables, user: User, p: AbcParams) -> ibis.Table:
    """Classes over all customers (as the run stores them), rows of the visible customers."""
    ranked = analyses.abc(
        t, start=p.start, end=p.end, metric=p.metric, a_pct=p.a_pct, b_pct=p.b_pct
    )
    return ranked.semi_join(visible_tables(t, user)["dim_customer"].select("party_id"), "party_id")


def abc_summary(user: User, p: AbcParams) -> list[dict]:
    """Customers and value per class (A, B, C) in the period; raises WarehouseBusy."""
    con = warehouse.connect(read_only=True)
    try:
        ranked = _abc_table(warehouse.tables(con), user, p)
        per = ranked.group_by("abc_class").aggregate(
            customers=ranked.party_id.count(), value=ranked.value.sum()
        )
        found = {row.abc_class: row for row in per.to_pandas().itertuples(index=False)}
    finally:
        con.disconnect()
    total_customers = sum(int(r.customers) for r in found.values())
    total_value = sum(float(r.value) for r in found.values())
    summary = []
    for cls in ("A", "B", "C"):
        row = found.get(cls)
        customers = int(row.customers) if row is not None else 0
        value = float(row.value) if row is not None else 0.0
        summary.append(
            {
                "abc_class": cls,
                "customers": customers,
                "customer_share": customers / total_customers if total_customers else 0.0,
                "value": round(value, 2),
                "value_share": value / total_value if total_value else 0.0,
                "url": parties_url(abc_class=cls),
            }
        )
    return summary


def abc_pareto(user: User, p: AbcParams, points: int = PARETO_POINTS) -> Chart:
    """Bars: value per customer by rank; line: cumulative share among the visible customers.

    With more than ``points`` customers every n-th rank is kept (and the last one), so the
    curve keeps its shape while the browser draws at most ``points`` bars.
    """
    con = warehouse.connect(read_only=True)
    try:
        ranked = _abc_table(warehouse.tables(con), user, p)
        order = [ibis.desc(ranked.value), ranked.party_id]
        positive = ibis.cases((ranked.value > 0, ranked.value), else_=0.0)
        mine = ranked.mutate(
            position=ibis.row_number().over(ibis.window(order_by=order)) + 1,
            running=positive.sum().over(ibis.window(order_by=order, rows=(None, 0))),
            total=positive.sum().over(ibis.window()),
            n=ranked.party_id.count().over(ibis.window()),
        )
        step = ((mine.n + points - 1) // points).cast("int64")
        kept = mine.filter(((mine.position - 1) % step == 0) | (mine.position == mine.n))
        frame = (
            kept.select(
                "party_id",
                "position",
                "value",
                "abc_class",
                cumulative=ibis.cases((kept.total > 0, kept.running / kept.total), else_=0.0),
            )
            .order_by("position")
            .to_pandas()
        )
    finally:
        con.disconnect()
    detail = reverse("parties:detail", args=[0])[:-2]
    bars = [
        {
            "value": round(float(value), 2),
            "url": f"{detail}{int(pid)}/",
            "itemStyle": {"color": ABC_COLORS.get(cls, "#6c757d")},
        }
        for pid, value, cls in zip(
            frame["party_id"], frame["value"], frame["abc_class"], strict=True
        )
    ]
    cumulative = [round(float(v) * 100, 2) for v in frame["cumulative"]]
    option = {
        "tooltip": {"trigger": "axis"},
        "legend": {"bottom": 0},
        "grid": {"left": 8, "right": 8, "bottom": 32, "top": 24, "containLabel": True},
        "xAxis": {
            "type": "category",
            "name": _("Rank"),
            "data": [int(v) for v in frame["position"]],
        },
        "yAxis": [
            {"type": "value", "name": _("Value")},
            {"type": "value", "name": "%", "max": 100, "min": 0},
        ],
        "series": [
            {"type": "bar", "name": _("Value per customer"), "data": bars},
            {
                "type": "line",
                "name": _("Cumulative share (%)"),
                "yAxisIndex": 1,
                "showSymbol": False,
                "data": cumulative,
                "markLine": {
                    "symbol": "none",
                    "data": [
                        {"yAxis": p.a_pct, "name": "A"},
                        {"yAxis": p.b_pct, "name": "B"},
                    ],
                    "label": {"formatter": "{b} {c}%"},
                },
            },
        ],
    }
    rows = [
        [int(pid), int(pos), round(float(v), 2), round(float(c), 4), cls]
        for pid, pos, v, c, cls in zip(
            frame["party_id"],
            frame["position"],
            frame["value"],
            frame["cumulative"],
            frame["abc_class"],
            strict=True,
        )
    ]
    return Chart(
        option, [_("Party"), _("Rank"), _("Value"), _("Cumulative share"), _("Class")], rows
    )


# --- RFM ----------------------------------------------------------------------------------------


SEGMENT_COLORS = {
    "champions": "#198754",
    "loyal": "#20c997",
    "potential_loyalist": "#0dcaf0",
    "new": "#0d6efd",
    "promising": "#6610f2",
    "need_attention": "#ffc107",
    "about_to_sleep": "#fd7e14",
    "at_risk": "#dc3545",
    "cant_lose": "#d63384",
    "hibernating": "#adb5bd",
    "lost": "#495057",
}
SEGMENT_LABELS = dict(RfmSegment.choices)


def rfm_grid(user: User) -> list[list[int]]:
    """Customers per (recency score, frequency score) from the last run: grid[r-1][f-1]."""
    grid = [[0] * 5 for _ in range(5)]
    rows = (
        visible_parties(user)
        .filter(rfm_recency__isnull=False, rfm_frequency__isnull=False)
        .order_by()
        .values_list("rfm_recency", "rfm_frequency")
        .annotate(n=Count("pk"))
    )
    for r, f, n in rows:
        if 1 <= r <= 5 and 1 <= f <= 5:
            grid[r - 1][f - 1] += n
    return grid


def rfm_heatmap(user: User) -> Chart:
    grid = rfm_grid(user)
    data = []
    rows = []
    for r in range(1, 6):
        for f in range(1, 6):
            segment = analyses.rfm_segment_of(r, f)
            count = grid[r - 1][f - 1]
            label = str(SEGMENT_LABELS.get(segment, segment))
            data.append(
                {
                    "value": [f - 1, r - 1, count],
                    "segment": label,
                    "url": parties_url(rfm_segment=segment),
                    "itemStyle": {"color": SEGMENT_COLORS[segment]},
                    "label": {"show": True, "formatter": f"{label}\n{count}"},
                    "tooltip": {"formatter": f"{label} (R {r}, F {f}): {count}"},
                }
            )
            rows.append([r, f, segment, count])
    option = {
        "tooltip": {"trigger": "item"},
        "grid": {"left": 8, "right": 8, "bottom": 8, "top": 24, "containLabel": True},
        "xAxis": {"type": "category", "name": _("Frequency"), "data": ["1", "2", "3", "4", "5"]},
        "yAxis": {"type": "category", "name": _("Recency"), "data": ["1", "2", "3", "4", "5"]},
        "series": [{"type": "heatmap", "name": _("Customers"), "data": data}],
    }
    return Chart(option, [_("Recency"), _("Frequency"), _("Segment"), _("Customers")], rows)


def rfm_segments(user: User, today: dt.date) -> list[dict]:
    """Per segment: customers (last run) and average recency, frequency and monetary value
    (warehouse, as of today; None while it is busy)."""
    counts = {value: count for value, _label, count in reports.rfm_mix(visible_parties(user))}
    averages: dict[str, tuple] = {}
    try:
        con = warehouse.connect(read_only=True)
    except warehouse.WarehouseBusy:
        con = None
    if con is not None:
        try:
            t = warehouse.tables(con)
            scored = analyses.rfm(t, as_of=today).semi_join(
                visible_tables(t, user)["dim_customer"].select("party_id"), "party_id"
            )
            per = scored.group_by("segment").aggregate(
                recency=scored.recency_days.mean(),
                frequency=scored.frequency.mean(),
                monetary=scored.monetary.mean(),
            )
            for seg, rec, freq, mon in per.to_pandas().itertuples(index=False):
                averages[seg] = (round(float(rec), 1), round(float(freq), 1), _money(mon))
        except warehouse.WarehouseBusy:
            pass
        finally:
            con.disconnect()
    return [
        {
            "segment": value,
            "label": str(label),
            "customers": counts.get(value, 0),
            "avg_recency_days": averages.get(value, (None, None, None))[0],
            "avg_frequency": averages.get(value, (None, None, None))[1],
            "avg_monetary": averages.get(value, (None, None, None))[2],
            "url": parties_url(rfm_segment=value),
        }
        for value, label in RfmSegment.choices
    ]


# --- Lifecycle ----------------------------------------------------------------------------------


def phases_grouped(user: User) -> list[dict]:
    """Customers per phase, grouped by main phase (acquisition, retention, recovery)."""
    groups: dict[str, dict] = {}
    for value, label, count in reports.phase_mix(visible_parties(user)):
        main = lifecycle.MAIN_PHASE[value]
        group = groups.setdefault(
            main,
            {"main": main, "label": str(lifecycle.MAIN_LABELS[main]), "total": 0, "phases": []},
        )
        group["phases"].append(
            {
                "phase": value,
                "label": label,
                "customers": count,
                "url": parties_url(lifecycle_phase=value),
            }
        )
        group["total"] += count
    return list(groups.values())


def change_months(user: User) -> list[dt.date]:
    """Months with phase changes of visible parties, latest first."""
    return [
        row.date() if isinstance(row, dt.datetime) else row
        for row in PhaseChange.objects.filter(party__in=visible_parties(user))
        .annotate(month=TruncMonth("date"))
        .order_by("-month")
        .values_list("month", flat=True)
        .distinct()
    ]


def transitions(user: User, month: dt.date) -> list[tuple[str, str, int]]:
    rows = (
        PhaseChange.objects.filter(
            party__in=visible_parties(user), date__gte=month, date__lt=add_months(month, 1)
        )
        .order_by()
        .values_list("from_phase", "to_phase")
        .annotate(n=Count("pk"))
    )
    return [(source, target, n) for source, target, n in rows]


def transitions_chart(user: User, month: dt.date) -> Chart:
    rows = transitions(user, month)
    sankey = lifecycle.transitions_sankey(rows)
    option = {
        "tooltip": {"trigger": "item"},
        "series": [
            {
                "type": "sankey",
                "layoutIterations": 0,
                "emphasis": {"focus": "adjacency"},
                "data": sankey["nodes"],
                "links": sankey["links"],
            }
        ],
    }
    return Chart(option, [_("From"), _("To"), _("Customers")], [list(r) for r in rows])


# --- Portfolio ----------------------------------------------------------------------------------

QUADRANTS = ("stars", "question_marks", "cash_cows", "dogs")


def quadrant_texts() -> dict[str, tuple[str, str]]:
    return {
        "stars": (_("Stars"), _("High attractiveness, high share of wallet: invest.")),
        "question_marks": (
            _("Question marks"),
            _("High attractiveness, low share of wallet: develop."),
        ),
        "cash_cows": (_("Cash cows"), _("Low attractiveness, high share: retain efficiently.")),
        "dogs": (_("Dogs"), _("Low attractiveness, low share of wallet: reduce cost to serve.")),
    }


def portfolio_parties(user: User) -> QuerySet[Party]:
    return visible_parties(user).filter(
        purchasing_potential__gt=0, score__isnull=False, revenue_12m__isnull=False
    )


def portfolio(user: User, x_split: float = 0.5, y_split: float = 50.0, top: int = 20) -> dict:
    """Share of wallet × attractiveness (primary score), top customers per quadrant."""
    frame = pd.DataFrame.from_records(
        portfolio_parties(user)
        .values_list("pk", "revenue_12m", "purchasing_potential", "score")
        .iterator(chunk_size=50_000),
        columns=["pk", "revenue", "potential", "score"],
    )
    ids = frame["pk"].to_numpy(dtype=np.int64)
    revenue = pd.to_numeric(frame["revenue"]).to_numpy(dtype=float)
    potential = pd.to_numeric(frame["potential"]).to_numpy(dtype=float)
    score = pd.to_numeric(frame["score"]).to_numpy(dtype=float)
    share = np.divide(revenue, potential, out=np.zeros_like(revenue), where=potential > 0)
    high_x, high_y = share >= x_split, score >= y_split
    masks = {
        "stars": high_x & high_y,
        "question_marks": ~high_x & high_y,
        "cash_cows": high_x & ~high_y,
        "dogs": ~high_x & ~high_y,
    }
    tops = {
        key: (idx := np.flatnonzero(masks[key]))[np.argsort(-revenue[idx], kind="stable")][:top]
        for key in QUADRANTS
    }
    shown = [int(ids[i]) for best in tops.values() for i in best]
    names = dict(Party.objects.filter(pk__in=shown).values_list("pk", "name"))
    texts = quadrant_texts()
    quadrants = []
    for key in QUADRANTS:
        idx, best = np.flatnonzero(masks[key]), tops[key]
        quadrants.append(
            {
                "key": key,
                "name": texts[key][0],
                "action": texts[key][1],
                "count": len(idx),
                "revenue": round(float(revenue[idx].sum()), 2),
                "customers": [
                    {
                        "id": int(ids[i]),
                        "name": names[int(ids[i])],
                        "share": round(float(share[i]), 3),
                        "score": round(float(score[i]), 1),
                        "revenue_12m": round(float(revenue[i]), 2),
                        "url": reverse("parties:detail", args=[int(ids[i])]),
                    }
                    for i in best
                ],
            }
        )
    return {
        "x_split": x_split,
        "y_split": y_split,
        "parties": len(frame),
        "quadrants": quadrants,
        "_arrays": (ids, share, score, revenue),
    }


def portfolio_chart(user: User, x_split: float = 0.5, y_split: float = 50.0) -> Chart:
    data = portfolio(user, x_split, y_split)
    ids, share, score, revenue = data["_arrays"]
    # Large portfolios: draw the 2,000 biggest customers; the quadrant tables count all.
    order = np.argsort(-revenue, kind="stable")[:2000]
    biggest = float(revenue.max()) if len(revenue) else 1.0
    detail = reverse("parties:detail", args=[0])[:-2]
    points = [
        {
            "value": [
                round(float(share[i]), 3),
                round(float(score[i]), 1),
                round(float(revenue[i]), 2),
            ],
            "symbolSize": max(6.0, 40.0 * np.sqrt(max(float(revenue[i]), 0.0) / biggest))
            if biggest > 0
            else 6.0,
            "url": f"{detail}{int(ids[i])}/",
        }
        for i in order
    ]
    option = {
        "tooltip": {"trigger": "item"},
        "grid": {"left": 8, "right": 24, "bottom": 8, "top": 24, "containLabel": True},
        "xAxis": {"type": "value", "name": _("Share of wallet"), "min": 0},
        "yAxis": {"type": "value", "name": _("Attractiveness"), "min": 0, "max": 100},
        "series": [
            {
                "type": "scatter",
                "name": _("Customers"),
                "data": points,
                "markLine": {
                    "symbol": "none",
                    "lineStyle": {"type": "dashed"},
                    "data": [{"xAxis": x_split}, {"yAxis": y_split}],
                },
            }
        ],
    }
    rows = [
        [
            int(ids[i]),
            round(float(share[i]), 4),
            round(float(score[i]), 1),
            round(float(revenue[i]), 2),
        ]
        for i in order
    ]
    return Chart(
        option,
        [_("Party"), _("Share of wallet"), _("Attractiveness"), _("Revenue 12 months")],
        rows,
    )


def abc_customers(user: User, p: AbcParams, *, offset: int, limit: int) -> tuple[int, list[dict]]:
    """One page of the ranked visible customers with value, shares and class."""
    con = warehouse.connect(read_only=True)
    try:
        ranked = _abc_table(warehouse.tables(con), user, p)
        count = int(ranked.count().to_pandas())
        page = ranked.order_by("rank").limit(limit, offset=offset).to_pandas()
    finally:
        con.disconnect()
    return count, [
        {
            "party": int(row.party_id),
            "rank": int(row.rank),
            "value": round(float(row.value), 2),
            "share": round(float(row.share), 6),
            "cumulative_share": round(float(row.cumulative_share), 6),
            "abc_class": row.abc_class,
        }
        for row in page.itertuples(index=False)
    ]
