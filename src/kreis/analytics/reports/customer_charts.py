"""Figures and ECharts options of the report pages: ABC, RFM, lifecycle and portfolio, always
narrowed to what a user may see (the dashboard's live in ``charts``).

Classes, segments and phases stored on Party by the last run come from the ORM through
``charts.visible_parties``; period figures (the Pareto chart, RFM averages) from the warehouse,
with ``dim_customer`` restricted by ``charts.visible_tables``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import ibis
import numpy as np
import pandas as pd
from django.db.models import Count, QuerySet
from django.db.models.functions import TruncMonth
from django.urls import reverse
from django.utils.translation import gettext as _

from kreis.analytics import analyses, warehouse
from kreis.analytics.customer import lifecycle
from kreis.analytics.customer.models import PhaseChange
from kreis.analytics.reports import queries
from kreis.analytics.reports.charts import (
    ABC_COLORS,
    GRID,
    Chart,
    add_months,
    money,
    parties_url,
    visible_parties,
    visible_tables,
)
from kreis.analytics.runs.models import AnalyticsSettings
from kreis.core.models import User
from kreis.parties.models import Party, RfmSegment

DAYS_PER_MONTH = 365.25 / 12
PARETO_POINTS = 300
# Axis labels and names stay above a legend at the bottom.
LEGEND_BELOW = {"left": 4, "right": 4, "top": 4, "bottom": 28}


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
    cumulative_name = _("Cumulative share (%)")
    option = {
        "tooltip": {"trigger": "axis"},
        # The bars carry their class's colour: a legend entry in one colour would mislead.
        "legend": {"bottom": 0, "data": [cumulative_name]},
        "grid": GRID | {"bottom": 56, "outerBounds": LEGEND_BELOW},
        "xAxis": {
            "type": "category",
            "name": _("Rank"),
            "nameLocation": "middle",
            "nameGap": 28,
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
                "name": cumulative_name,
                "yAxisIndex": 1,
                "showSymbol": False,
                "data": cumulative,
                "markLine": {
                    "symbol": "none",
                    "data": [
                        {"yAxis": p.a_pct, "name": "A"},
                        {"yAxis": p.b_pct, "name": "B"},
                    ],
                    # Inside the plot, under the line at its right end: outside it would cover
                    # the axis' percentages, at the left the tallest bars.
                    "label": {"formatter": "{b} {c} %", "position": "insideEndBottom"},
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


def _text_on(color: str) -> str:
    """Dark text on light cells, white on dark ones (relative luminance, WCAG 2)."""
    channels = [int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return "#212529" if luminance > 0.35 else "#ffffff"


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
                    "label": {
                        "show": True,
                        "formatter": f"{label}\n{count}",
                        "color": _text_on(SEGMENT_COLORS[segment]),
                        # Long names wrap inside their cell (charts.js sets the width).
                        "overflow": "break",
                    },
                    "tooltip": {"formatter": f"{label} (R {r}, F {f}): {count}"},
                }
            )
            rows.append([r, f, segment, count])
    option = {
        "tooltip": {"trigger": "item"},
        "grid": GRID | {"right": 8, "bottom": 24},
        "xAxis": {
            "type": "category",
            "name": _("Frequency"),
            "nameLocation": "middle",
            "nameGap": 28,
            "data": ["1", "2", "3", "4", "5"],
        },
        "yAxis": {
            "type": "category",
            "name": _("Recency"),
            "nameLocation": "middle",
            "nameGap": 28,
            "data": ["1", "2", "3", "4", "5"],
        },
        "series": [{"type": "heatmap", "name": _("Customers"), "data": data}],
    }
    return Chart(option, [_("Recency"), _("Frequency"), _("Segment"), _("Customers")], rows)


def rfm_segments(user: User, today: dt.date) -> list[dict]:
    """Per segment: customers (last run) and average recency, frequency and monetary value
    (warehouse, as of today; None while it is busy)."""
    counts = {value: count for value, _label, count in queries.rfm_mix(visible_parties(user))}
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
                averages[seg] = (round(float(rec), 1), round(float(freq), 1), money(mon))
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
    for value, label, count in queries.phase_mix(visible_parties(user)):
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
    # ECharts looks a link's ends up by node id when the nodes have ids (by name it draws the
    # nodes without a single link), and then labels them with the id: each node and link
    # says its own label and tooltip. The right column's labels go left of their nodes.
    ids = {node["name"]: node["id"] for node in sankey["nodes"]}
    nodes = [
        node
        | {
            "label": {"formatter": node["name"]} | ({"position": "left"} if node["depth"] else {}),
            "tooltip": {"formatter": f"{node['name']}: {{c}}"},
        }
        for node in sankey["nodes"]
    ]
    links = [
        link
        | {
            "source": ids[link["source"]],
            "target": ids[link["target"]],
            "tooltip": {"formatter": f"{link['source']} {link['target']}: {link['value']}"},
        }
        for link in sankey["links"]
    ]
    option = {
        "tooltip": {"trigger": "item"},
        "series": [
            {
                "type": "sankey",
                "left": 8,
                "right": 8,
                "top": 8,
                "bottom": 8,
                "layoutIterations": 0,
                "emphasis": {"focus": "adjacency"},
                "data": nodes,
                "links": links,
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


def portfolio_splits() -> tuple[float, float]:
    """The default quadrant splits from the settings: share of wallet as a fraction,
    attractiveness as a score."""
    cfg = AnalyticsSettings.load()
    return float(cfg.portfolio_share_split) / 100, float(cfg.portfolio_attractiveness_split)


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
    names = dict(Party.objects.filter(pk__in=ids[order].tolist()).values_list("pk", "name"))
    # Share of wallet in per cent, as the quadrant tables show it.
    points = [
        {
            "name": names.get(int(ids[i]), ""),
            "value": [
                round(float(share[i]) * 100, 1),
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
    x_name, y_name = _("Share of wallet (%)"), _("Attractiveness")
    option = {
        "tooltip": {"trigger": "item"},
        "grid": GRID | {"right": 16},
        "xAxis": {
            "type": "value",
            "name": x_name,
            "nameLocation": "middle",
            "nameGap": 28,
            "min": 0,
        },
        "yAxis": {
            "type": "value",
            "name": y_name,
            "nameLocation": "middle",
            "nameGap": 36,
            "min": 0,
            "max": 100,
        },
        "series": [
            {
                "type": "scatter",
                "name": _("Customers"),
                # Named dimensions: the tooltip lists the customer's three figures by name.
                "dimensions": [x_name, y_name, _("Revenue 12 months")],
                "encode": {"x": 0, "y": 1, "tooltip": [0, 1, 2]},
                "data": points,
                "markLine": {
                    "symbol": "none",
                    "silent": True,
                    "lineStyle": {"type": "dashed"},
                    "label": {"position": "insideEndTop"},
                    "data": [{"xAxis": round(x_split * 100, 1)}, {"yAxis": y_split}],
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
