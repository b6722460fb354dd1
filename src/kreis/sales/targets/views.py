"""Target pages: attainment of the targets (chart and table), the team view with its reps,
one target with the records behind it, create/edit/delete, CSV export and import."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kreis.commerce.queries import product_categories
from kreis.core.models import Membership, Team, User
from kreis.core.web import apply_errors, csv_response, parse_id, query_without_page
from kreis.parties.models import Party
from kreis.sales.charts import bar_chart
from kreis.sales.models import PeriodKind, Target, TargetDimension, TargetMetric
from kreis.sales.periods import Period, period_containing, period_from_key, period_of
from kreis.sales.targets import queries, services
from kreis.sales.targets.forms import TargetForm, TargetImportForm

CHART_LIMIT = 40
PAGE_SIZE = 100


def _year(request: HttpRequest) -> int:
    raw = (request.GET.get("year") or "").strip()
    if raw.isdigit() and 1900 <= int(raw) <= 2999:
        return int(raw)
    return timezone.localdate().year


def _plannable_teams(user: User) -> QuerySet[Team]:
    if user.is_admin:
        return Team.objects.order_by("name")
    return Team.objects.filter(pk__in=user.managed_team_ids()).order_by("name")


def _can_plan(user: User) -> bool:
    return user.is_admin or (not user.is_read_only and bool(user.managed_team_ids()))


def _chart(rows: list[queries.Attainment], *, links: list[str]) -> dict:
    money = all(r.target.metric == TargetMetric.REVENUE for r in rows)
    return bar_chart(
        categories=[f"{r.target.subject_label} · {period_of(r.target).label}" for r in rows],
        series=[
            {
                "name": _("Actual"),
                "data": [r.actual for r in rows],
                "stack": "a",
                "color": "#198754",
            },
            {
                "name": _("Weighted pipeline"),
                "data": [r.weighted for r in rows],
                "stack": "a",
                "color": "#9ec5fe",
            },
        ],  # fmt: skip
        target=[r.target.amount for r in rows],
        target_label=_("Target"),
        links=links,
        unit="money" if money else "number",
        horizontal=True,
    )


@login_required
def target_list(request: HttpRequest) -> HttpResponse:
    """The targets of a year the user may see, with actual, weighted pipeline and attainment."""
    year = _year(request)
    kind = request.GET.get("kind", PeriodKind.YEAR)
    kind = kind if kind in PeriodKind.values or kind == "all" else PeriodKind.YEAR
    dimension = request.GET.get("dimension", "")
    dimension = dimension if dimension in TargetDimension.values else ""
    metric = request.GET.get("metric", "")
    metric = metric if metric in TargetMetric.values else ""
    team_id = parse_id(request.GET.get("team"))
    targets = queries.target_list_for_user(
        user=request.user,
        year=year,
        period_kind="" if kind == "all" else kind,
        dimension=dimension,
        metric=metric,
        team_id=team_id,
    )
    page = Paginator(targets, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = queries.attainment(page.object_list)
    charted = [r for r in rows if r.target.metric == (metric or TargetMetric.REVENUE)][:CHART_LIMIT]
    context = {
        "rows": rows,
        "page": page,
        "chart": _chart(
            charted, links=[reverse("sales:targets:detail", args=[r.target.pk]) for r in charted]
        )
        if charted
        else None,
        "year": year,
        "kind": kind,
        "dimension": dimension,
        "metric": metric,
        "team_id": team_id,
        "kinds": [*PeriodKind.choices, ("all", _("All periods"))],
        "dimensions": TargetDimension.choices,
        "metrics": TargetMetric.choices,
        "teams": Team.objects.filter(pk__in=request.user.team_ids()).order_by("name")
        if not request.user.is_admin
        else Team.objects.order_by("name"),
        "can_plan": _can_plan(request.user),
        "query": query_without_page(request),
    }
    return render(request, "sales/targets/list.html", context)


@login_required
def target_team(request: HttpRequest) -> HttpResponse:
    """A manager's team view: the team's targets and each rep's, for one period."""
    user = request.user
    teams = (
        Team.objects.order_by("name")
        if user.is_admin
        else Team.objects.filter(pk__in=user.team_ids()).order_by("name")
    )
    teams = list(teams)
    team_id = parse_id(request.GET.get("team"))
    managed = user.managed_team_ids()
    default = next((t for t in teams if t.pk in managed), teams[0] if teams else None)
    team = next((t for t in teams if t.pk == team_id), None) if team_id else default
    if team_id and team is None:
        raise Http404
    try:
        period = period_from_key(request.GET.get("period") or "")
    except ValidationError:
        period = period_containing(timezone.localdate(), PeriodKind.QUARTER)
    rows: list[queries.Attainment] = []
    reps: list[dict] = []
    if team is not None:
        targets = list(
            Target.objects.filter(
                team=team, period_kind=period.kind, period_start=period.start
            ).select_related("user", "team")
        )
        rows = queries.attainment(targets)
        by_rep = {r.target.user_id: r for r in rows if r.target.dimension == TargetDimension.REP}
        members = (
            Membership.objects.filter(team=team, user__is_active=True)
            .select_related("user")
            .order_by("-is_manager", "user__last_name", "user__first_name")
        )
        for membership in members:
            if user.is_admin or team.pk in managed or membership.user_id == user.pk:
                reps.append({"user": membership.user, "row": by_rep.get(membership.user_id)})
    rep_rows = [r["row"] for r in reps if r["row"] is not None]
    chart = None
    if rep_rows:
        chart = bar_chart(
            categories=[str(r.target.user) for r in rep_rows],
            series=[
                {
                    "name": _("Attainment"),
                    "data": [r.percent for r in rep_rows],
                    "color": "#198754",
                },
                {
                    "name": _("Projected with pipeline"),
                    "data": [r.projected_percent for r in rep_rows],
                    "color": "#9ec5fe",
                },
            ],  # fmt: skip
            target=[100 for _r in rep_rows],
            target_label=_("Target"),
            links=[reverse("sales:targets:detail", args=[r.target.pk]) for r in rep_rows],
            unit="percent",
        )
    context = {
        "teams": teams,
        "team": team,
        "period": period,
        "period_key": period.key,
        "periods": period_choices(period.start.year),
        "team_rows": [r for r in rows if r.target.dimension != TargetDimension.REP],
        "reps": reps,
        "chart": chart,
        "can_plan": team is not None and services.can_plan_targets(user, team),
        "is_manager_view": team is not None and (user.is_admin or team.pk in managed),
    }
    return render(request, "sales/targets/team.html", context)


@login_required
def target_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One target: its attainment and the visible records behind actual and pipeline."""
    target = queries.target_get_for_user(user=request.user, pk=pk)
    (row,) = queries.attainment([target])
    transactions = queries.target_transactions(user=request.user, target=target).select_related(
        "party"
    )
    deals = queries.target_deals(user=request.user, target=target)
    context = {
        "target": target,
        "row": row,
        "period": period_of(target),
        "transactions": Paginator(transactions, 50).get_page(request.GET.get("tpage")),
        "deals": Paginator(deals, 50).get_page(request.GET.get("dpage")),
        "can_plan": services.can_plan_targets(request.user, target.team),
    }
    return render(request, "sales/targets/detail.html", context)


def _form(request: HttpRequest, target: Target | None = None) -> TargetForm:
    teams = _plannable_teams(request.user)
    if request.user.is_admin:
        users = User.objects.filter(is_active=True)
    else:
        users = User.objects.filter(
            is_active=True, memberships__team_id__in=request.user.managed_team_ids()
        ).distinct()
    initial = {"currency": "EUR", "period": str(timezone.localdate().year)}
    if target is not None:
        initial = {
            "metric": target.metric,
            "dimension": target.dimension,
            "period": period_of(target).key,
            "amount": target.amount,
            "user": target.user_id,
            "team": target.team_id,
            "region": target.region,
            "channel": target.channel,
            "category": target.category,
            "currency": target.currency,
            "note": target.note,
        }
    else:
        for key in ("metric", "dimension", "team", "user", "period"):
            if request.GET.get(key):
                initial[key] = request.GET[key]
    return TargetForm(request.POST or None, initial=initial, teams=teams, users=users)


def _form_context(form: TargetForm, target: Target | None) -> dict:
    regions = (
        Party.objects.exclude(territory="")
        .values_list("territory", flat=True)
        .distinct()
        .order_by("territory")[:200]
    )
    return {
        "form": form,
        "target": target,
        "categories": product_categories(),
        "regions": list(regions),
    }


@login_required
def target_create(request: HttpRequest) -> HttpResponse:
    if not _can_plan(request.user):
        raise PermissionDenied
    form = _form(request)
    if request.method == "POST" and form.is_valid():
        try:
            target = services.target_create(actor=request.user, **form.service_data())
        except ValidationError as exc:
            apply_errors(form, exc)
        except PermissionDenied:
            form.add_error("team", _("You may not plan targets for this team."))
        else:
            messages.success(request, _("Target saved."))
            return redirect("sales:targets:detail", pk=target.pk)
    return render(request, "sales/targets/form.html", _form_context(form, None))


@login_required
def target_edit(request: HttpRequest, pk: int) -> HttpResponse:
    target = queries.target_get_for_user(user=request.user, pk=pk, write=True)
    form = _form(request, target)
    if request.method == "POST" and form.is_valid():
        try:
            services.target_update(actor=request.user, target=target, **form.service_data())
        except ValidationError as exc:
            apply_errors(form, exc)
        except PermissionDenied:
            form.add_error("team", _("You may not plan targets for this team."))
        else:
            messages.success(request, _("Target saved."))
            return redirect("sales:targets:detail", pk=target.pk)
    return render(request, "sales/targets/form.html", _form_context(form, target))


@login_required
@require_POST
def target_delete(request: HttpRequest, pk: int) -> HttpResponse:
    target = queries.target_get_for_user(user=request.user, pk=pk, write=True)
    services.target_delete(actor=request.user, target=target)
    messages.success(request, _("Target deleted."))
    return redirect("sales:targets:list")


@login_required
def target_export(request: HttpRequest) -> HttpResponse:
    """The visible targets of the year (all periods) as CSV, in the import's columns."""
    targets = queries.target_list_for_user(user=request.user, year=_year(request))
    return csv_response(
        f"targets-{_year(request)}.csv", list(services.CSV_COLUMNS), services.target_rows(targets)
    )


@login_required
def target_import(request: HttpRequest) -> HttpResponse:
    if not _can_plan(request.user):
        raise PermissionDenied
    form = TargetImportForm(request.POST or None, request.FILES or None)
    errors: dict = {}
    if request.method == "POST" and form.is_valid():
        try:
            counts = services.targets_import_csv(actor=request.user, text=form.cleaned_data["file"])
        except ValidationError as exc:
            errors = exc.message_dict
        else:
            messages.success(
                request,
                _("Targets imported: %(created)s new, %(updated)s changed.") % counts,
            )
            return redirect("sales:targets:list")
    return render(request, "sales/targets/import.html", {"form": form, "errors": errors})


def period_choices(year: int) -> list[Period]:
    """The periods of a year, for pickers: the year, its quarters, its months."""
    year_period = period_from_key(str(year))
    quarters = [period_from_key(f"{year}-Q{q}") for q in range(1, 5)]
    months = [period_from_key(f"{year}-{m:02d}") for m in range(1, 13)]
    return [year_period, *quarters, *months]
