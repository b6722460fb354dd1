"""Pages of the scoring models: list, define (administrators), preview, apply, utility-value
analysis, and a party's score history (a fragment the party page embeds)."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from kreis.analytics.scoring import engine, services
from kreis.analytics.scoring.forms import (
    CriterionFormSet,
    OptionForm,
    ScoringModelForm,
    criterion_initial,
    format_number,
    formset_criteria,
    grades_text,
    raw_rows,
)
from kreis.analytics.scoring.models import (
    PRIMARY_TARGETS,
    ScoreRecord,
    ScoringModel,
    ScoringTarget,
    UtilityOption,
)
from kreis.core.web import apply_errors, csv_response, is_htmx
from kreis.parties.queries import party_get_for_user

PREVIEW_MAX = 200
FORMSET_PREFIX = "criteria"


def post_only(view):
    """Only POST (django.views.decorators is not imported: the import-graph test reserves
    ``views`` imports for modules named views.py)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        return view(request, *args, **kwargs)

    return wrapped


def _admin(request: HttpRequest) -> None:
    if not request.user.is_admin or request.user.is_read_only:
        raise PermissionDenied


def _model(pk: int) -> ScoringModel:
    return get_object_or_404(ScoringModel.objects.prefetch_related("criteria"), pk=pk)


def shown(value) -> str:
    """A cell's value as the user reads it: numbers localised, nothing as a dash."""
    if value is None or value == "":
        return "–"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, int | float):
        return number_format(value, decimal_pos=None if float(value).is_integer() else 2)
    return str(value)


def _with_shown(rows: list[dict]) -> list[dict]:
    for row in rows:
        for cell in row["cells"]:
            cell["shown"] = shown(cell["value"])
    return rows


def _sample_size(raw: str | None) -> int:
    return min(int(raw), PREVIEW_MAX) if raw and raw.isdigit() and int(raw) > 0 else 20


@login_required
def scoring_list(request: HttpRequest) -> HttpResponse:
    models = ScoringModel.objects.annotate(criteria_count=Count("criteria")).order_by(
        "target", "name", "pk"
    )
    return render(
        request,
        "analytics/scoring/list.html",
        {"models": models, "targets": ScoringTarget.choices, "can_edit": request.user.is_admin},
    )


def _apply_service_errors(form, formset, indexes: list[int], exc: ValidationError) -> None:
    """Service errors name ``criteria.<n>.<field>``: put them on the row the user typed."""
    if not hasattr(exc, "error_dict"):
        apply_errors(form, exc)
        return
    for key, errors in exc.error_dict.items():
        if key.startswith("criteria."):
            _, n, name = (key.split(".") + ["", ""])[:3]
            row = formset.forms[indexes[int(n)]] if n.isdigit() and int(n) < len(indexes) else None
            if row is not None and name in row.fields:
                for error in errors:
                    row.add_error(name, error)
                continue
            for error in errors:
                form.add_error(None, error)
            continue
        apply_errors(form, ValidationError({key: errors}))


def _formset(request: HttpRequest, target: str, initial=None):
    kwargs = {"target": target, "fields": engine.available_fields(target)}
    data = request.POST if request.method == "POST" else None
    formset = CriterionFormSet(data, initial=initial, prefix=FORMSET_PREFIX, form_kwargs=kwargs)
    if data is not None and "add" in request.POST:
        # Re-show what was typed, one empty row more, without validating yet.
        formset = CriterionFormSet(
            initial=raw_rows(formset), prefix=FORMSET_PREFIX, form_kwargs=kwargs
        )
        formset.extra = 1
    return formset


@login_required
def scoring_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """Create or change a model with its criteria; "add criterion" keeps everything typed."""
    _admin(request)
    model = None if pk is None else _model(pk)
    target = model.target if model else request.POST.get("target") or request.GET.get("target")
    if target not in ScoringTarget.values:
        return render(
            request, "analytics/scoring/choose_target.html", {"targets": ScoringTarget.choices}
        )
    initial = None
    criteria_initial = None
    if model is not None:
        initial = {
            "name": model.name,
            "description": model.description,
            "max_points": model.max_points,
            "grades": grades_text(model.grades),
        }
        criteria_initial = [criterion_initial(c) for c in model.criteria.all()]
    form = ScoringModelForm(request.POST or None, initial=initial)
    formset = _formset(request, target, criteria_initial)
    if request.method == "POST" and "add" not in request.POST:
        if form.is_valid() and formset.is_valid():
            data = form.service_data()
            rows = formset_criteria(formset)
            indexes = [index for index, _row in rows]
            data["criteria"] = [row for _index, row in rows]
            try:
                if model is None:
                    model = services.scoring_model_create(actor=request.user, target=target, **data)
                    messages.success(request, _("Scoring model “%s” created.") % model.name)
                else:
                    services.scoring_model_update(actor=request.user, model=model, **data)
                    messages.success(request, _("Scoring model “%s” saved.") % model.name)
            except ValidationError as exc:
                if pk is None:
                    model = None
                _apply_service_errors(form, formset, indexes, exc)
            else:
                return redirect("analytics:scoring_detail", pk=model.pk)
    context = {
        "form": form,
        "formset": formset,
        "model": model,
        "target": target,
        "target_label": ScoringTarget(target).label,
        "fields": engine.available_fields(target),
    }
    return render(request, "analytics/scoring/form.html", context)


@login_required
def scoring_detail(request: HttpRequest, pk: int) -> HttpResponse:
    model = _model(pk)
    criteria = [{"criterion": c, "thresholds": _thresholds_shown(c)} for c in model.criteria.all()]
    context = {
        "model": model,
        "criteria": criteria,
        "can_edit": request.user.is_admin and not request.user.is_read_only,
        "can_be_primary": model.target in PRIMARY_TARGETS,
        "records": model.records.count() if not model.is_utility_analysis else None,
    }
    return render(request, "analytics/scoring/detail.html", context)


def _thresholds_shown(criterion) -> list[str]:
    if criterion.kind == "numeric":
        return [f"≥ {format_number(m)}: {format_number(p)}" for m, p in criterion.thresholds]
    return [f"{k}: {format_number(p)}" for k, p in criterion.thresholds.items()]


def _redirect_back(request: HttpRequest, model: ScoringModel) -> HttpResponse:
    return redirect("analytics:scoring_detail", pk=model.pk)


@login_required
@post_only
def scoring_activate(request: HttpRequest, pk: int) -> HttpResponse:
    _admin(request)
    model = _model(pk)
    active = request.POST.get("active", "1") == "1"
    try:
        services.scoring_model_set_active(actor=request.user, model=model, active=active)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Model activated.") if active else _("Model deactivated."))
    return _redirect_back(request, model)


@login_required
@post_only
def scoring_make_primary(request: HttpRequest, pk: int) -> HttpResponse:
    _admin(request)
    model = _model(pk)
    try:
        services.scoring_model_make_primary(actor=request.user, model=model)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _("“%s” is now the primary model; its scores and grades are shown on the records.")
            % model,
        )
    return _redirect_back(request, model)


@login_required
@post_only
def scoring_apply(request: HttpRequest, pk: int) -> HttpResponse:
    _admin(request)
    model = _model(pk)
    try:
        counts = services.scoring_model_apply(actor=request.user, model=model)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _("%(scored)d records scored; %(changed)d changed score or grade.") % counts,
        )
    return _redirect_back(request, model)


@login_required
@post_only
def scoring_delete(request: HttpRequest, pk: int) -> HttpResponse:
    _admin(request)
    model = _model(pk)
    services.scoring_model_delete(actor=request.user, model=model)
    messages.success(request, _("Scoring model “%s” deleted.") % model.name)
    return redirect("analytics:scoring_list")


def _ids(raw: str) -> list[int] | None:
    ids = [int(part) for part in raw.split(",") if part.strip().isdigit()][:PREVIEW_MAX]
    return ids or None


@login_required
def scoring_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """A sample of records scored by the model: nothing is stored."""
    model = _model(pk)
    if model.is_utility_analysis:
        return redirect("analytics:scoring_options", pk=model.pk)
    if not model.criteria.all():
        messages.error(request, _("Add criteria before previewing the model."))
        return _redirect_back(request, model)
    n = _sample_size(request.GET.get("n"))
    result = engine.preview(model, n, user=request.user)
    _with_shown(result["rows"])
    ids = ",".join(str(i) for i in result["ids"])
    context = {
        "model": model,
        "result": result,
        "n": n,
        "chart_url": reverse("analytics:scoring_preview_chart", args=[model.pk]) + f"?ids={ids}",
        "record_url": "/leads/" if model.target == ScoringTarget.LEAD else "/parties/",
    }
    return render(request, "analytics/scoring/preview.html", context)


@login_required
def scoring_preview_chart(request: HttpRequest, pk: int) -> JsonResponse:
    """The grade distribution of the previewed sample, as an ECharts option."""
    model = _model(pk)
    if model.is_utility_analysis or not model.criteria.all():
        raise Http404
    ids = _ids(request.GET.get("ids", "")) or []
    result = engine.preview(model, user=request.user, ids=ids)
    labels = [label for label, _count in result["distribution"]]
    option = {
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 40, "right": 16, "top": 24, "bottom": 32},
        "xAxis": {"type": "category", "data": labels, "name": _("Grade")},
        "yAxis": {"type": "value", "minInterval": 1, "name": _("Records")},
        "series": [
            {
                "type": "bar",
                "name": _("Records"),
                "data": [count for _label, count in result["distribution"]],
                "label": {"show": True, "position": "top"},
            }
        ],
    }
    return JsonResponse({"option": option})


# --- Utility-value analysis -------------------------------------------------------------------


def _analysis(pk: int) -> ScoringModel:
    model = _model(pk)
    if not model.is_utility_analysis:
        raise Http404
    return model


@login_required
def scoring_options(request: HttpRequest, pk: int) -> HttpResponse:
    """Options × criteria: values, weighted points, ranking; administrators add options."""
    model = _analysis(pk)
    criteria = list(model.criteria.all())
    form = OptionForm(request.POST or None, criteria=criteria, prefix="new")
    if request.method == "POST":
        _admin(request)
        if form.is_valid():
            try:
                services.utility_option_create(
                    actor=request.user, model=model, **form.service_data()
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Option added."))
                return redirect("analytics:scoring_options", pk=model.pk)
    ranking = engine.ranking(model)
    _with_shown(ranking["rows"])
    context = {
        "model": model,
        "ranking": ranking,
        "form": form,
        "can_edit": request.user.is_admin and not request.user.is_read_only,
    }
    return render(request, "analytics/scoring/options.html", context)


def _option_row(request: HttpRequest, model: ScoringModel, option_id: int) -> dict:
    rows = {row["id"]: row for row in _with_shown(engine.ranking(model)["rows"])}
    if option_id not in rows:
        raise Http404
    return {
        "model": model,
        "row": rows[option_id],
        "can_edit": request.user.is_admin and not request.user.is_read_only,
    }


@login_required
def scoring_option_edit(request: HttpRequest, pk: int, option_id: int) -> HttpResponse:
    """The inline edit form of one option (HTMX swaps the table row); POST saves it."""
    _admin(request)
    model = _analysis(pk)
    option = get_object_or_404(UtilityOption, pk=option_id, model=model)
    criteria = list(model.criteria.all())
    initial = {"name": option.name, "description": option.description}
    initial.update({f"value_{c.field}": option.values.get(c.field, "") for c in criteria})
    form = OptionForm(
        request.POST or None, initial=initial, criteria=criteria, prefix=f"o{option.pk}"
    )
    if request.method == "POST" and "cancel" not in request.POST:
        if form.is_valid():
            try:
                services.utility_option_update(
                    actor=request.user, option=option, **form.service_data()
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Option saved."))
                if is_htmx(request):
                    # The ranking, chart and winner may all change: show the page anew.
                    response = HttpResponse(status=204)
                    response["HX-Refresh"] = "true"
                    return response
                return redirect("analytics:scoring_options", pk=model.pk)
    elif request.method == "POST":
        if is_htmx(request):
            return render(
                request,
                "analytics/scoring/_option_row.html",
                _option_row(request, model, option.pk),
            )
        return redirect("analytics:scoring_options", pk=model.pk)
    template = (
        "analytics/scoring/_option_form_row.html"
        if is_htmx(request)
        else "analytics/scoring/option_form.html"
    )
    return render(
        request, template, {"model": model, "option": option, "form": form, "criteria": criteria}
    )


@login_required
@post_only
def scoring_option_delete(request: HttpRequest, pk: int, option_id: int) -> HttpResponse:
    _admin(request)
    model = _analysis(pk)
    option = get_object_or_404(UtilityOption, pk=option_id, model=model)
    services.utility_option_delete(actor=request.user, option=option)
    messages.success(request, _("Option “%s” deleted.") % option.name)
    return redirect("analytics:scoring_options", pk=model.pk)


@login_required
def scoring_ranking_chart(request: HttpRequest, pk: int) -> JsonResponse:
    """The options by score as horizontal bars, best on top, winners in green."""
    model = _analysis(pk)
    rows = list(reversed(engine.ranking(model)["rows"]))
    option = {
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "grid": {"left": 8, "right": 48, "top": 16, "bottom": 24, "containLabel": True},
        "xAxis": {"type": "value", "max": 100, "name": "%"},
        "yAxis": {"type": "category", "data": [row["name"] for row in rows]},
        "series": [
            {
                "type": "bar",
                "name": _("Score"),
                "data": [
                    {
                        "value": row["score"],
                        "itemStyle": {"color": "#198754" if row["is_winner"] else "#0d6efd"},
                    }
                    for row in rows
                ],
                "label": {"show": True, "position": "right", "formatter": "{c} %"},
            }
        ],
    }
    return JsonResponse({"option": option})


@login_required
def scoring_matrix_csv(request: HttpRequest, pk: int):
    """The matrix as CSV: per option its value, points and weighted points per criterion."""
    model = _analysis(pk)
    result = engine.ranking(model)
    header = [_("Rank"), _("Option")]
    for c in result["criteria"]:
        header += [
            f"{c.label}",
            _("%(criterion)s points") % {"criterion": c.label},
            _("%(criterion)s weighted (× %(weight)s)")
            % {"criterion": c.label, "weight": format_number(c.weight)},
        ]
    header += [_("Weighted points"), _("Score (%)"), _("Grade")]
    rows = (
        [row["rank"], row["name"]]
        + [v for cell in row["cells"] for v in (cell["value"], cell["points"], cell["weighted"])]
        + [row["weighted_points"], row["score"], row["grade"]]
        for row in result["rows"]
    )
    return csv_response(f"utility-analysis-{model.pk}.csv", header, rows)


# --- A party's scores -------------------------------------------------------------------------


@login_required
def party_scores_fragment(request: HttpRequest, party_id: int) -> HttpResponse:
    """The party's score history per model (for the party page, loaded with HTMX)."""
    party = party_get_for_user(user=request.user, pk=party_id, related=False)
    records = list(
        ScoreRecord.objects.filter(party=party)
        .select_related("model")
        .order_by("-computed_at", "-pk")[:50]
    )
    return render(
        request, "analytics/scoring/_party_scores.html", {"party": party, "records": records}
    )


scoring_urlpatterns = [
    path("scoring/", scoring_list, name="scoring_list"),
    path("scoring/new/", scoring_edit, name="scoring_create"),
    path("scoring/<int:pk>/", scoring_detail, name="scoring_detail"),
    path("scoring/<int:pk>/edit/", scoring_edit, name="scoring_edit"),
    path("scoring/<int:pk>/delete/", scoring_delete, name="scoring_delete"),
    path("scoring/<int:pk>/activate/", scoring_activate, name="scoring_activate"),
    path("scoring/<int:pk>/primary/", scoring_make_primary, name="scoring_primary"),
    path("scoring/<int:pk>/apply/", scoring_apply, name="scoring_apply"),
    path("scoring/<int:pk>/preview/", scoring_preview, name="scoring_preview"),
    path(
        "scoring/<int:pk>/preview/chart.json",
        scoring_preview_chart,
        name="scoring_preview_chart",
    ),
    path("scoring/<int:pk>/options/", scoring_options, name="scoring_options"),
    path(
        "scoring/<int:pk>/options/<int:option_id>/",
        scoring_option_edit,
        name="scoring_option_edit",
    ),
    path(
        "scoring/<int:pk>/options/<int:option_id>/delete/",
        scoring_option_delete,
        name="scoring_option_delete",
    ),
    path("scoring/<int:pk>/ranking.json", scoring_ranking_chart, name="scoring_ranking_chart"),
    path("scoring/<int:pk>/matrix.csv", scoring_matrix_csv, name="scoring_matrix_csv"),
    path("scoring/party/<int:party_id>/", party_scores_fragment, name="scoring_party"),
]
