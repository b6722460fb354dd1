"""ECharts options and the written formula of each KPI, built from ``queries.kpi_report``.

The options hold figures and labels only (no functions): the page embeds them as JSON
(``json_script``) and ``analytics/charts.js`` draws them, so the CSP needs no inline script.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from kreis.analytics.kpis.queries import CROSS_BUCKETS

GRID = {"left": 8, "right": 16, "top": 64, "bottom": 8}
COLORS = ["#0d6efd", "#198754", "#fd7e14", "#6f42c1", "#dc3545", "#20c997", "#6c757d"]


@dataclass
class KpiChart:
    key: str
    title: str
    formula: str
    option: dict
    note: str = ""

    @property
    def payload(self) -> dict:
        """What ``charts.js`` draws: the option, and "empty" when a note explains the gap."""
        return {"option": self.option, "empty": True} if self.note else {"option": self.option}


def _base(labels: list[str], *, percent_axis: bool = False, second_axis: str = "") -> dict:
    y_axes: list[dict] = [{"type": "value", "name": "%" if percent_axis else ""}]
    if second_axis:
        y_axes.append({"type": "value", "name": second_axis, "splitLine": {"show": False}})
    return {
        "color": COLORS,
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0, "type": "scroll"},
        "grid": dict(GRID),
        "xAxis": {"type": "category", "data": labels, "axisLabel": {"hideOverlap": True}},
        "yAxis": y_axes if second_axis else y_axes[0],
        "series": [],
    }


def _line(name: str, data: list, *, axis: int = 0) -> dict:
    return {
        "type": "line",
        "name": name,
        "data": data,
        "yAxisIndex": axis,
        "connectNulls": False,
        "symbolSize": 6,
    }


def _bar(name: str, data: list, *, axis: int = 0, stack: str = "") -> dict:
    series = {"type": "bar", "name": name, "data": data, "yAxisIndex": axis}
    if stack:
        series["stack"] = stack
    return series


def kpi_charts(report: dict) -> list[KpiChart]:
    """The charts of the page, in the order DOMAIN.md §3 lists the measures. The warehouse
    charts are left out when the warehouse is unavailable (the page says so)."""
    labels = report["periods"]
    charts: list[KpiChart] = []
    if report["revenue"] is not None:
        option = _base(labels, second_axis=_("Units"))
        option["series"] = [
            _bar(_("Net revenue"), report["revenue"]["net_revenue"]),
            _line(_("Units"), report["revenue"]["units"], axis=1),
        ]
        charts.append(
            KpiChart(
                "revenue",
                _("Revenue and units"),
                _(
                    "Net revenue = Σ net revenue of the order and invoice lines − Σ net revenue "
                    "of the return lines in the period. Units = Σ quantity, returns deducted."
                ),
                option,
            )
        )
    shares = report["market_share"]
    if report["revenue"] is not None:
        option = _base(labels, percent_axis=True)
        option["series"] = [
            _line(row["segment"] or _("Whole market"), row["share_pct"]) for row in shares
        ]
        charts.append(
            KpiChart(
                "market-share",
                _("Market share"),
                _(
                    "Market share = own net revenue in the segment ÷ market volume of the "
                    "segment × 100 %. A segment is a product category; the whole market "
                    "compares all revenue. Shorter periods' volumes add up to a longer period "
                    "only when they cover all of it."
                ),
                option,
                "" if shares else _("Enter market volumes below to see the market share."),
            )
        )
        repurchase = report["repurchase"]
        option = _base(labels, percent_axis=True, second_axis=_("Customers"))
        option["series"] = [
            _line(_("Repurchase rate"), repurchase["rate_pct"]),
            _bar(_("Customers"), repurchase["customers"], axis=1),
        ]
        charts.append(
            KpiChart(
                "repurchase",
                _("Repurchase rate"),
                _(
                    "Repurchase rate = customers who bought in the period and again in the next "
                    "period ÷ customers who bought in the period × 100 %. Returns are no "
                    "purchase. Shown once the next period has ended."
                ),
                option,
            )
        )
        cross = report["cross_buying"]
        option = _base(labels, second_axis=_("Categories"))
        option["yAxis"][0]["name"] = _("Customers")
        option["series"] = [
            _bar(_("%s categories") % name, cross["distribution"][name], stack="customers")
            for name in CROSS_BUCKETS
        ]
        option["series"][0]["name"] = _("1 category")
        option["series"].append(_line(_("Average categories"), cross["average"], axis=1))
        charts.append(
            KpiChart(
                "cross-buying",
                _("Cross-buying"),
                _(
                    "Per customer with a purchase in the period: the number of distinct "
                    "product categories bought (lines without a category count as one). "
                    "Average = Σ categories ÷ customers; the bars show how many customers "
                    "bought 1, 2, 3, 4, 5 or more categories."
                ),
                option,
            )
        )
        price = report["price_tolerance"]
        option = _base(labels, percent_axis=True, second_axis=_("Discount"))
        option["series"] = [
            _line(_("Average discount"), price["discount_pct"]),
            _bar(_("Discount granted"), price["discount"], axis=1),
        ]
        charts.append(
            KpiChart(
                "price-tolerance",
                _("Price tolerance"),
                _(
                    "Average discount = Σ discount ÷ Σ (quantity × unit price) of the order "
                    "and invoice lines in the period × 100 %. A falling discount means "
                    "customers accept higher prices."
                ),
                option,
            )
        )
    referrals = report["referrals"]
    option = _base(labels)
    option["series"] = [
        _bar(_("Referred leads"), referrals["leads"]),
        _bar(_("Converted"), referrals["converted"]),
    ]
    charts.append(
        KpiChart(
            "referrals",
            _("Referrals"),
            _(
                "Referred leads = leads created in the period whose source is a named existing "
                "customer (the lead's “referred by”); converted = those of them converted so far."
            ),
            option,
        )
    )
    option = _base(labels, percent_axis=True)
    option["series"] = [_line(row["label"], row["defect_pct"]) for row in report["quality"]]
    charts.append(
        KpiChart(
            "quality",
            _("Quality checks: defect share"),
            _(
                "Defect share per stage = Σ defective units ÷ Σ checked units of the quality "
                "checks in the period × 100 %, for internal checks, checks at the trade and at "
                "the end customer."
            ),
            option,
        )
    )
    charts += complaint_charts(report)
    return charts


def complaint_charts(report: dict) -> list[KpiChart]:
    """Defect frequency per 1,000 units (overall and per product category) and warranty
    claims (count and cost), from the complaint cases (``kpis.complaints``)."""
    labels = report["periods"]
    defects = report["defects"]
    option = _base(labels, second_axis=_("Defect cases"))
    option["yAxis"][0]["name"] = _("per 1,000 units")
    option["series"] = [_line(_("All products"), defects["per_1000"])]
    option["series"] += [
        _line(row["segment"] or _("No product category"), row["per_1000"])
        for row in defects["by_category"]
    ]
    option["series"].append(_bar(_("Defect cases"), defects["cases"], axis=1))
    defect_chart = KpiChart(
        "defects",
        _("Defect frequency per 1,000 units"),
        _(
            "Defect frequency = complaint cases of the kind “product defect” received in the "
            "period ÷ units sold in the period (orders and invoices minus returns) × 1,000; per "
            "product category: the defect cases on products of the category ÷ the units of "
            "the category. Cases without a product count in the total only."
        ),
        option,
    )
    warranty = report["warranty"]
    option = _base(labels, second_axis=_("Cost"))
    option["yAxis"][0]["name"] = _("Claims")
    option["series"] = [
        _bar(_("Warranty claims"), warranty["claims"]),
        _line(_("Cost of the claims"), warranty["cost"], axis=1),
        _line(_("Cost per claim"), warranty["cost_per_claim"], axis=1),
    ]
    warranty_chart = KpiChart(
        "warranty",
        _("Warranty claims: count and cost"),
        _(
            "Warranty claims = complaint cases of the kind “warranty” received in the period. "
            "Cost = Σ amounts of the costs recorded on those cases (goodwill, replacement, "
            "handling time), whenever entered; cost per claim = cost ÷ claims."
        ),
        option,
    )
    return [defect_chart, warranty_chart]


def formulas(report: dict) -> dict[str, str]:
    """The written formula of each chart, by its key (the API carries them too)."""
    return {chart.key: chart.formula for chart in kpi_charts(report)}
