"""Chart data for the sales management pages, drawn by ``static/sales/charts.js`` (Apache
ECharts, as the forecast page): categories, series and, per category, the address of the
records behind the bar (clicking a bar opens it). Values go out as strings of exact decimals."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any


def bar_chart(
    *,
    categories: Sequence[str],
    series: Sequence[dict[str, Any]],
    links: Sequence[str] = (),
    unit: str = "number",
    currency: str = "EUR",
    horizontal: bool = False,
    target: Sequence[Decimal | None] | None = None,
    target_label: str = "",
) -> dict[str, Any]:
    """``series``: ``{"name", "data", "stack"?, "color"?}``. ``unit``: money, percent, days or
    number. ``target``: a marker per category (a target line)."""
    return {
        "categories": [str(c) for c in categories],
        "series": [
            {
                "name": str(s["name"]),
                "data": [None if v is None else str(v) for v in s["data"]],
                "stack": s.get("stack", ""),
                "color": s.get("color", ""),
            }
            for s in series
        ],
        "links": list(links),
        "unit": unit,
        "currency": currency,
        "horizontal": horizontal,
        "target": None if target is None else [None if v is None else str(v) for v in target],
        "target_label": str(target_label),
    }
