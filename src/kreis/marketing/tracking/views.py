"""Website tracking, marketing's pages: the overview with the snippet to copy, a visitor,
the settings, and the visits panel of the lead and contact pages."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from kreis.leads.queries import lead_get_for_user
from kreis.marketing.models import MarketingSettings
from kreis.marketing.tracking import public, queries
from kreis.marketing.tracking.forms import TrackingSettingsForm
from kreis.parties.queries import party_get_for_user

log = logging.getLogger("kreis.marketing.tracking")


# --- staff ------------------------------------------------------------------------------------


def _days(request: HttpRequest) -> int:
    try:
        days = int(request.GET.get("days", 30))
    except ValueError:
        days = 30
    return days if days in (7, 30, 90) else 30


def _chart(stats: dict) -> dict:
    """The ECharts option of visits per day (analytics/charts.js draws it)."""
    return {
        "empty": stats["visits"] == 0,
        "option": {
            "grid": {"left": 40, "right": 16, "top": 16, "bottom": 32},
            "tooltip": {"trigger": "axis"},
            "xAxis": {
                "type": "category",
                "data": [row["day"].isoformat() for row in stats["per_day"]],
            },
            "yAxis": {"type": "value", "minInterval": 1},
            "series": [
                {
                    "name": _("Page visits"),
                    "type": "bar",
                    "data": [row["visits"] for row in stats["per_day"]],
                }
            ],
        },
    }


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    """Visits per day, top pages, referrers and UTM sources, identified vs anonymous
    visitors; the snippet to copy."""
    if not request.user.has_perm("marketing.view"):
        raise PermissionDenied
    days = _days(request)
    stats = queries.stats(days=days)
    config = MarketingSettings.load()
    base = public.public_base(request)
    return render(
        request,
        "marketing/tracking/overview.html",
        {
            "stats": stats,
            "days": days,
            "chart": _chart(stats),
            "config": config,
            "snippet": f'<script src="{base}/t/kreis.js" async></script>',
            "snippet_banner": f'<script src="{base}/t/kreis.js" data-banner="1" async></script>',
            "visitors": queries.visitors_recent(),
            "can_configure": request.user.has_perm("marketing.configure"),
        },
    )


@login_required
def visitor_detail(request: HttpRequest, pk: int) -> HttpResponse:
    visitor = queries.visitor_get_for_user(user=request.user, pk=pk)
    visits = list(visitor.visits.order_by("-at", "-pk")[:500])
    return render(
        request,
        "marketing/tracking/visitor.html",
        {"visitor": visitor, "sessions": queries.sessions(visits), "n_visits": len(visits)},
    )


@login_required
def settings_edit(request: HttpRequest) -> HttpResponse:
    """Tracking on or off, the websites that may send visits, how long visits are kept."""
    if not request.user.has_perm("marketing.configure"):
        raise PermissionDenied
    config = MarketingSettings.load()
    form = TrackingSettingsForm(request.POST or None, instance=config)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Tracking settings saved."))
        return redirect(reverse("marketing:tracking:overview"))
    return render(
        request,
        "marketing/tracking/settings.html",
        {"form": form},
        status=422 if form.is_bound else 200,
    )


def _panel(request: HttpRequest, *, lead=None, party=None) -> HttpResponse:
    visits = list(queries.visits_of(lead=lead, party=party))
    return render(
        request,
        "marketing/tracking/_visits_panel.html",
        {"sessions": queries.sessions(visits), "n_visits": len(visits)},
    )


@login_required
def lead_visits(request: HttpRequest, pk: int) -> HttpResponse:
    """The lead page's "Website visits" panel (HTMX)."""
    return _panel(request, lead=lead_get_for_user(user=request.user, pk=pk, related=()))


@login_required
def party_visits(request: HttpRequest, pk: int) -> HttpResponse:
    """The contact page's "Website visits" panel (HTMX)."""
    return _panel(request, party=party_get_for_user(user=request.user, pk=pk, related=False))
