"""The channels page: revenue, deals won, win rate and average deal size per sales channel."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kreis.sales.channels.queries import channel_figures
from kreis.sales.charts import bar_chart
from kreis.sales.models import PeriodKind
from kreis.sales.periods import period_containing, period_from_key


@login_required
def channel_page(request: HttpRequest) -> HttpResponse:
    try:
        period = period_from_key(request.GET.get("period") or "")
    except ValidationError:
        period = period_containing(timezone.localdate(), PeriodKind.YEAR)
    rows = channel_figures(user=request.user, period=period)
    deals = reverse("sales:list")
    won_links = [
        f"{deals}?status=won&channel={r.code}&closed_from={period.start}&closed_to={period.end}"
        for r in rows
    ]
    revenue_chart = bar_chart(
        categories=[r.label for r in rows],
        series=[
            {"name": _("Revenue"), "data": [r.revenue for r in rows], "color": "#198754"},
            {"name": _("Won amount"), "data": [r.won_amount for r in rows], "color": "#2f6fdf"},
        ],
        links=won_links,
        unit="money",
    )
    rate_chart = bar_chart(
        categories=[r.label for r in rows],
        series=[{"name": _("Win rate"), "data": [r.win_rate for r in rows], "color": "#6f42c1"}],
        links=[
            f"{deals}?channel={r.code}&closed_from={period.start}&closed_to={period.end}"
            for r in rows
        ],
        unit="percent",
    )
    year = period.start.year
    keys = [str(year - 1), str(year), *(f"{year}-Q{q}" for q in range(1, 5))]
    context = {
        "period": period,
        "periods": [period_from_key(k) for k in keys],
        "rows": [(r, link) for r, link in zip(rows, won_links, strict=True)],
        "revenue_chart": revenue_chart,
        "rate_chart": rate_chart,
    }
    return render(request, "sales/channels/page.html", context)
