"""Pages of the contribution margin accounting (DOMAIN.md §7.2): /analytics/margin/…"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator

import ibis
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Max
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from kreis.analytics.margin import accounting
from kreis.analytics.margin.forms import CostEntryForm, CostRuleForm, PeriodForm
from kreis.analytics.margin.models import CostEntry, CostRule
from kreis.core.web import apply_errors, csv_response, safe_next
from kreis.parties.queries import party_get_for_user

PER_PAGE = 25
TOTALS_SECONDS = 120
CSV_CHUNK = 5000
SORT_LABELS = {
    "net_revenue": gettext_lazy("Net revenue"),
    "cm1": gettext_lazy("CM I"),
    "cm2": gettext_lazy("CM II"),
    "cm3": gettext_lazy("CM III"),
    "cm4": gettext_lazy("CM IV"),
}


# --- Period and sorting -----------------------------------------------------------------------


def _presets(today: dt.date) -> list[tuple[str, dt.date, dt.date]]:
    quarter = dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    return [
        (_("Last 12 months"), *accounting.last_12_months(today)),
        (_("This year"), dt.date(today.year, 1, 1), today),
        (_("Last year"), dt.date(today.year - 1, 1, 1), dt.date(today.year - 1, 12, 31)),
        (_("This quarter"), quarter, today),
        (_("Last quarter"), accounting.add_months(quarter, -3), quarter - dt.timedelta(days=1)),
    ]


class Period:
    """The analysed days from ``?start=&end=`` (default: the last 12 months), with the form
    that shows them and any error in them."""

    def __init__(self, request: HttpRequest):
        today = timezone.localdate()
        self.start, self.end = accounting.last_12_months(today)
        self.presets = _presets(today)
        if "start" in request.GET or "end" in request.GET:
            self.form = PeriodForm(request.GET)
            if self.form.is_valid():
                self.start = self.form.cleaned_data["start"]
                self.end = self.form.cleaned_data["end"]
        else:
            self.form = PeriodForm(initial={"start": self.start, "end": self.end})
        self.query = urlencode({"start": self.start.isoformat(), "end": self.end.isoformat()})


def _sort(request: HttpRequest) -> tuple[str, str, bool]:
    """``sort=-cm4`` (highest first, the default) or ``sort=cm4`` (lowest first)."""
    sort = request.GET.get("sort", "-cm4")
    level = sort.lstrip("-")
    if level not in accounting.RANK_KEYS:
        sort, level = "-cm4", "cm4"
    return sort, level, sort.startswith("-")


class _RankedRows:
    """The ranking as the Paginator's object list: each page is one LIMIT/OFFSET query."""

    def __init__(self, ranked: ibis.Table, count: int):
        self.ranked = ranked
        self.total = count

    def count(self) -> int:
        return self.total

    def __len__(self) -> int:
        return self.total

    def __getitem__(self, bounds: slice) -> list[dict]:
        offset = bounds.start or 0
        limit = (bounds.stop or self.total) - offset
        return self.ranked.limit(limit, offset=offset).to_pyarrow().to_pylist()


def _totals(tables: accounting.Tables | None, *, user, period: Period) -> dict:
    """The summed margins of the user's customers. Kept two minutes: the page computes them
    and its chart asks again right after. The key moves with every change of a rule or a
    cost entry; a warehouse refresh shows within the two minutes."""
    rules = CostRule.objects.aggregate(n=Count("pk"), at=Max("updated_at"))
    entries = CostEntry.objects.aggregate(n=Count("pk"), at=Max("updated_at"))
    raw = f"{user.pk}:{period.start}:{period.end}:{rules}:{entries}"
    key = f"kreis:margin-totals:{hashlib.sha256(raw.encode()).hexdigest()}"
    summary = cache.get(key)
    if summary is None:
        if tables is None:
            with accounting.warehouse_tables() as opened:
                return _totals(opened, user=user, period=period)
        visible = accounting.margins_for_user(tables, user=user, start=period.start, end=period.end)
        summary = accounting.totals(visible).to_pyarrow().to_pylist()[0]
        cache.set(key, summary, TOTALS_SECONDS)
    return summary


def _unavailable(request: HttpRequest, template: str, context: dict) -> HttpResponse:
    context["unavailable"] = True
    return render(request, template, context, status=503)


# --- Ranking ----------------------------------------------------------------------------------


@login_required
def ranking_page(request: HttpRequest) -> HttpResponse:
    period = Period(request)
    sort, level, descending = _sort(request)
    context = {
        "period": period,
        "chart_url": f"{reverse('analytics:margin_chart')}?{period.query}",
        "csv_url": f"{reverse('analytics:margin_csv')}?{period.query}&sort={sort}",
        "sort": sort,
        "level": level,
        "sort_labels": SORT_LABELS,
        "can_manage_rules": request.user.is_admin,
    }
    try:
        with accounting.warehouse_tables() as tables:
            visible = accounting.margins_for_user(
                tables, user=request.user, start=period.start, end=period.end
            )
            summary = _totals(tables, user=request.user, period=period)
            ranked = accounting.ranking(visible, level=level, descending=descending)
            page = Paginator(_RankedRows(ranked, summary["customers"]), PER_PAGE).get_page(
                request.GET.get("page")
            )
            rows = list(page.object_list)
    except accounting.WarehouseUnavailable:
        return _unavailable(request, "analytics/margin/ranking.html", context)
    names = accounting.party_names([row["party_id"] for row in rows])
    for row in rows:
        row["name"] = names.get(row["party_id"], f"#{row['party_id']}")
        row["levels"] = [(key, row[key], row[f"{key}_pct"]) for key in accounting.LEVELS]
    query = request.GET.copy()
    query.pop("page", None)
    context |= {
        "page": page,
        "rows": rows,
        "summary": summary,
        "summary_levels": [(key, summary[key]) for key in accounting.LEVELS],
        "query": query.urlencode(),
        "headers": _headers(period, level, descending),
    }
    return render(request, "analytics/margin/ranking.html", context)


def _headers(period: Period, level: str, descending: bool) -> list[dict]:
    """Sortable column heads: a click sorts highest first, a second click lowest first."""
    headers = []
    for key, label in SORT_LABELS.items():
        active = key == level
        sort = key if active and descending else f"-{key}"
        headers.append(
            {
                "key": key,
                "label": label,
                "url": f"?{period.query}&sort={sort}",
                "active": active,
                "descending": descending,
            }
        )
    return headers


@login_required
def totals_chart(request: HttpRequest) -> JsonResponse:
    """The waterfall of all customers the user may see, summed: {"option", "steps"}."""
    period = Period(request)
    try:
        summary = _totals(None, user=request.user, period=period)
    except accounting.WarehouseUnavailable:
        return JsonResponse({"error": _("The analytics warehouse is not available.")}, status=503)
    steps = accounting.waterfall(summary)
    return JsonResponse({"option": accounting.waterfall_option(steps), "steps": steps})


CSV_LABELS = (
    gettext_lazy("Gross revenue"),
    gettext_lazy("Discounts"),
    gettext_lazy("Returns"),
    gettext_lazy("Net revenue"),
    gettext_lazy("Cost of goods"),
    gettext_lazy("CM I"),
    gettext_lazy("Order costs"),
    gettext_lazy("CM II"),
    gettext_lazy("Relationship costs"),
    gettext_lazy("CM III"),
    gettext_lazy("Fixed costs"),
    gettext_lazy("CM IV"),
    gettext_lazy("CM I %"),
    gettext_lazy("CM II %"),
    gettext_lazy("CM III %"),
    gettext_lazy("CM IV %"),
    gettext_lazy("Cumulative share"),
)
CSV_COLUMNS = (
    "rank",
    "party_id",
    *accounting.MONEY_COLUMNS,
    *accounting.PCT_COLUMNS,
    "cumulative_share",
)


def _csv_rows(tables, *, user, period: Period, level: str, descending: bool) -> Iterator[list]:
    """Rows of the download, a slice at a time; closes the warehouse when done."""
    try:
        visible = accounting.margins_for_user(tables, user=user, start=period.start, end=period.end)
        ranked = accounting.ranking(visible, level=level, descending=descending)
        # One query: every row of the result, the columns of the file only.
        result = ranked.select(*CSV_COLUMNS).to_pyarrow()
    finally:
        accounting.close_tables(tables)
    for offset in range(0, result.num_rows, CSV_CHUNK):
        data = result.slice(offset, CSV_CHUNK).to_pylist()
        names = accounting.party_names([row["party_id"] for row in data])
        for row in data:
            cells = [row[column] for column in CSV_COLUMNS]
            cells.insert(2, names.get(row["party_id"], ""))
            yield cells


@login_required
def ranking_csv(request: HttpRequest) -> HttpResponse:
    period = Period(request)
    _sort_key, level, descending = _sort(request)
    try:
        tables = accounting.open_tables()
    except accounting.WarehouseUnavailable:
        return HttpResponse(_("The analytics warehouse is not available."), status=503)
    header = [_("Rank"), _("Party ID"), _("Name"), *(str(label) for label in CSV_LABELS)]
    rows = _csv_rows(tables, user=request.user, period=period, level=level, descending=descending)
    filename = f"contribution-margins-{period.start}-{period.end}.csv"
    return csv_response(filename, header, rows)


# --- One customer -----------------------------------------------------------------------------


def _party_url(pk: int, period: Period) -> str:
    return f"{reverse('analytics:margin_party', args=[pk])}?{period.query}"


@login_required
def party_page(request: HttpRequest, pk: int) -> HttpResponse:
    """A customer's waterfall, its steps, what the costs consist of, the cost entries of the
    period and (for those who may change the party) a form to enter a cost."""
    party = party_get_for_user(user=request.user, pk=pk)
    period = Period(request)
    can_change = request.user.has_perm("core.change_record", party)
    form = CostEntryForm(initial={"date": min(timezone.localdate(), period.end)})
    if request.method == "POST":
        if not can_change:
            raise PermissionDenied
        form = CostEntryForm(request.POST)
        if form.is_valid():
            try:
                accounting.cost_entry_create(actor=request.user, party=party, **form.cleaned_data)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Cost entry saved."))
                return redirect(_party_url(pk, period))
    context = {
        "party": party,
        "period": period,
        "chart_url": f"{reverse('analytics:margin_party_chart', args=[pk])}?{period.query}",
        "form": form,
        "can_change": can_change,
        "entries": accounting.cost_entry_list_for_user(
            user=request.user, party_id=pk, start=period.start, end=period.end
        ),
    }
    try:
        with accounting.warehouse_tables() as tables:
            row, breakdown = accounting.party_margin(
                tables, party_id=pk, start=period.start, end=period.end
            )
    except accounting.WarehouseUnavailable:
        context["unavailable"] = True
    else:
        steps = accounting.waterfall(row)
        for step in steps:
            step["value"] += 0.0  # -0.0 (nothing subtracted) reads as “-0,00 €”
        context |= {"row": row, "steps": steps, "breakdown": breakdown}
    return render(request, "analytics/margin/party.html", context)


@login_required
def party_chart(request: HttpRequest, pk: int) -> JsonResponse:
    party_get_for_user(user=request.user, pk=pk, related=False)
    period = Period(request)
    try:
        with accounting.warehouse_tables() as tables:
            row, _breakdown = accounting.party_margin(
                tables, party_id=pk, start=period.start, end=period.end
            )
    except accounting.WarehouseUnavailable:
        return JsonResponse({"error": _("The analytics warehouse is not available.")}, status=503)
    steps = accounting.waterfall(row)
    return JsonResponse({"option": accounting.waterfall_option(steps), "steps": steps})


@login_required
def party_panel(request: HttpRequest, pk: int) -> HttpResponse:
    """CM I–IV of the last 12 months, compact, for the party page (loaded with HTMX)."""
    party = party_get_for_user(user=request.user, pk=pk, related=False)
    start, end = accounting.last_12_months(timezone.localdate())
    context = {
        "party": party,
        "query": urlencode({"start": start.isoformat(), "end": end.isoformat()}),
    }
    try:
        with accounting.warehouse_tables() as tables:
            row, _breakdown = accounting.party_margin(tables, party_id=pk, start=start, end=end)
    except accounting.WarehouseUnavailable:
        context["unavailable"] = True
    else:
        labels = {key: label for key, label, _kind in accounting.STEPS}
        context["levels"] = [
            (str(labels[key]), row[key], row[f"{key}_pct"]) for key in accounting.LEVELS
        ]
        context["row"] = row
    return render(request, "analytics/margin/_party_panel.html", context)


@login_required
@require_POST
def cost_entry_delete(request: HttpRequest, pk: int) -> HttpResponse:
    entry = accounting.cost_entry_get_for_user(user=request.user, pk=pk, write=True)
    accounting.cost_entry_delete(actor=request.user, entry=entry)
    messages.success(request, _("Cost entry deleted."))
    default = reverse("analytics:margin_party", args=[entry.party_id])
    return redirect(safe_next(request, default))


# --- Cost rules (administrators) --------------------------------------------------------------


def _admin_only(request: HttpRequest) -> None:
    if not request.user.is_admin:
        raise PermissionDenied


@login_required
def rule_list(request: HttpRequest) -> HttpResponse:
    _admin_only(request)
    rules = CostRule.objects.all()
    return render(request, "analytics/margin/rules.html", {"rules": rules})


RULE_FIELDS = [
    "name",
    "level",
    "category",
    "basis",
    "amount",
    "activity_kind",
    "valid_from",
    "valid_to",
    "is_active",
]


@login_required
def rule_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    _admin_only(request)
    rule = None if pk is None else accounting.cost_rule_get(pk=pk)
    initial = None if rule is None else {name: getattr(rule, name) for name in RULE_FIELDS}
    form = CostRuleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if rule is None:
                accounting.cost_rule_create(actor=request.user, **form.cleaned_data)
                messages.success(request, _("Cost rule added."))
            else:
                accounting.cost_rule_update(actor=request.user, rule=rule, **form.cleaned_data)
                messages.success(request, _("Cost rule saved."))
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            return redirect("analytics:margin_rules")
    return render(request, "analytics/margin/rule_form.html", {"form": form, "rule": rule})


@login_required
@require_POST
def rule_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    _admin_only(request)
    rule = accounting.cost_rule_deactivate(actor=request.user, rule=accounting.cost_rule_get(pk=pk))
    messages.success(request, _("Cost rule “%s” deactivated.") % rule.name)
    return redirect("analytics:margin_rules")


margin_urlpatterns = [
    path("margin/", ranking_page, name="margin"),
    path("margin/chart.json", totals_chart, name="margin_chart"),
    path("margin/export.csv", ranking_csv, name="margin_csv"),
    path("margin/party/<int:pk>/", party_page, name="margin_party"),
    path("margin/party/<int:pk>/chart.json", party_chart, name="margin_party_chart"),
    path("margin/party/<int:pk>/panel/", party_panel, name="margin_party_panel"),
    path("margin/costs/<int:pk>/delete/", cost_entry_delete, name="margin_cost_delete"),
    path("margin/rules/", rule_list, name="margin_rules"),
    path("margin/rules/new/", rule_edit, name="margin_rule_create"),
    path("margin/rules/<int:pk>/", rule_edit, name="margin_rule_edit"),
    path("margin/rules/<int:pk>/deactivate/", rule_deactivate, name="margin_rule_deactivate"),
]
