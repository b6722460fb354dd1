"""The forecast by category: my deals per category and my call; the team's roll-up for its
managers with their adjustments; the history of snapshots; the accuracy of past calls."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kreis.core.models import Team, User
from kreis.core.web import parse_id
from kreis.sales.charts import bar_chart
from kreis.sales.forecast import queries, services
from kreis.sales.forecast.forms import AdjustForm, SubmitForm
from kreis.sales.models import ForecastCategory, PeriodKind
from kreis.sales.periods import Period, period_containing, period_from_key

ACCURACY_PERIODS = 4


def _period(request: HttpRequest) -> Period:
    raw = request.GET.get("period") or request.POST.get("period") or ""
    try:
        return period_from_key(raw)
    except ValidationError:
        return period_containing(timezone.localdate(), PeriodKind.QUARTER)


def _team(request: HttpRequest, teams: list[Team]) -> Team | None:
    team_id = parse_id(request.GET.get("team") or request.POST.get("team"))
    if team_id is None:
        return teams[0] if teams else None
    team = next((t for t in teams if t.pk == team_id), None)
    if team is None:
        raise Http404
    return team


def _periods_around(period: Period) -> list[Period]:
    """The picker: this year's quarters and months, and the two years around it."""
    year = period.start.year
    keys = [str(year - 1), str(year), *(f"{year}-Q{q}" for q in range(1, 5))]
    keys += [f"{year}-{m:02d}" for m in range(1, 13)]
    return [period_from_key(k) for k in keys]


def _category_links(period: Period, owner: User) -> dict[str, str]:
    base = reverse("sales:forecasting:deals")
    return {
        c: f"{base}?period={period.key}&rep={owner.pk}&category={c}"
        for c in ForecastCategory.values
    }


@login_required
def forecast_page(request: HttpRequest) -> HttpResponse:
    user = request.user
    period = _period(request)
    mine = queries.category_sums(period=period, owner_ids=[user.pk]).get(
        user.pk, queries.CategorySums()
    )
    my_calls = queries.latest_calls(period=period, team=None, user_ids=[user.pk])
    my_call = my_calls.get(user.pk)
    teams = list(queries.forecast_teams_for_user(user))
    team = _team(request, teams)
    rollup = queries.team_rollup(team=team, period=period) if team is not None else None
    chart = None
    if rollup is not None and rollup.rows:
        rows = rollup.rows
        chart = bar_chart(
            categories=[str(r.rep) for r in rows],
            series=[
                {
                    "name": str(ForecastCategory.CLOSED.label),
                    "data": [r.sums.closed for r in rows],
                    "stack": "c",
                    "color": "#198754",
                },
                {
                    "name": str(ForecastCategory.COMMIT.label),
                    "data": [r.sums.commit for r in rows],
                    "stack": "c",
                    "color": "#2f6fdf",
                },
                {
                    "name": str(ForecastCategory.BEST_CASE.label),
                    "data": [r.sums.best_case for r in rows],
                    "stack": "c",
                    "color": "#9ec5fe",
                },
                {
                    "name": str(ForecastCategory.PIPELINE.label),
                    "data": [r.sums.pipeline for r in rows],
                    "stack": "c",
                    "color": "#dee2e6",
                },
            ],  # fmt: skip
            target=[r.forecast for r in rows],
            target_label=_("Forecast call"),
            links=[
                f"{reverse('sales:forecasting:deals')}?period={period.key}&rep={r.rep.pk}"
                for r in rows
            ],
            unit="money",
        )
    reps = [r.rep for r in rollup.rows] if rollup else [user]
    accuracy_periods = []
    previous = period.previous()
    for _i in range(ACCURACY_PERIODS):
        accuracy_periods.append(previous)
        previous = previous.previous()
    accuracy = queries.forecast_accuracy(reps=reps, periods=accuracy_periods)
    history = queries.snapshot_list_for_user(
        user=user, period=period, team_id=team.pk if team else None
    )[:50]
    if team is None:
        history = queries.snapshot_list_for_user(user=user, period=period, user_id=user.pk)[:50]
    context = {
        "period": period,
        "periods": _periods_around(period),
        "mine": mine,
        "my_call": my_call,
        "my_links": _category_links(period, user),
        "submit_form": SubmitForm(
            initial={"forecast": my_call.forecast if my_call else mine.suggested}
        ),
        "can_submit": not user.is_read_only and bool(user.team_ids()),
        "teams": teams,
        "team": team,
        "rollup": rollup,
        "adjust_form": AdjustForm(reps=reps) if rollup else None,
        "chart": chart,
        "accuracy": accuracy,
        "history": history,
        "categories": ForecastCategory.choices,
    }
    return render(request, "sales/forecast/page.html", context)


@login_required
@require_POST
def forecast_submit(request: HttpRequest) -> HttpResponse:
    period = _period(request)
    form = SubmitForm(request.POST)
    if form.is_valid():
        try:
            services.forecast_submit(
                actor=request.user,
                period=period,
                forecast=form.cleaned_data["forecast"],
                note=form.cleaned_data["note"],
            )
        except PermissionDenied:
            raise
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Your forecast is submitted."))
    else:
        messages.error(request, _("Enter your forecast as a number of zero or more."))
    return redirect(f"{reverse('sales:forecasting:page')}?period={period.key}")


@login_required
@require_POST
def forecast_adjust(request: HttpRequest) -> HttpResponse:
    period = _period(request)
    teams = list(queries.forecast_teams_for_user(request.user))
    team = _team(request, teams)
    if team is None:
        raise PermissionDenied
    rollup_reps = [m.user for m in team.memberships.select_related("user")]
    form = AdjustForm(request.POST, reps=rollup_reps)
    target = f"{reverse('sales:forecasting:page')}?period={period.key}&team={team.pk}"
    if not form.is_valid():
        for field, errors in form.errors.items():
            for error in errors:
                messages.error(request, f"{form.fields[field].label}: {error}")
        return redirect(target)
    rep = next((u for u in rollup_reps if u.pk == form.cleaned_data["rep"]), None)
    try:
        services.forecast_adjust(
            actor=request.user,
            team=team,
            rep=rep,
            period=period,
            forecast=form.cleaned_data["forecast"],
            note=form.cleaned_data["note"],
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The forecast is adjusted."))
    return redirect(target)


@login_required
def forecast_deals(request: HttpRequest) -> HttpResponse:
    """The deals behind a rep's forecast in a period (by category): the drill-down."""
    period = _period(request)
    rep_id = parse_id(request.GET.get("rep")) or request.user.pk
    rep = User.objects.filter(pk=rep_id).first()
    if rep is None or not queries.can_see_rep(request.user, rep):
        raise Http404
    category = request.GET.get("category", "")
    category = category if category in ForecastCategory.values else ""
    deals = list(
        queries.deals_in_period(
            user=request.user, period=period, owner_id=rep.pk, category=category
        )[:500]
    )
    total = sum((d.amount for d in deals), Decimal(0))
    context = {
        "period": period,
        "rep": rep,
        "category": category,
        "category_label": ForecastCategory(category).label if category else "",
        "deals": deals,
        "total": total,
    }
    return render(request, "sales/forecast/deals.html", context)
