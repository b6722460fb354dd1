"""Pages for deals: the Kanban board (drag and drop), list, detail, forms and the forecast."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from kreis.core.bulk import bulk_view
from kreis.core.customfields import active_filters, custom_cells, custom_columns
from kreis.core.exports import export_download
from kreis.core.queries import user_list_for_user
from kreis.core.web import (
    apply_errors,
    is_htmx,
    parse_id,
    parse_month,
    query_without_page,
    safe_next,
)
from kreis.parties.queries import party_list_for_user
from kreis.sales import exports, queries, services
from kreis.sales.forms import (
    DealForm,
    DealLineFormSet,
    LostForm,
    formset_lines,
    party_label,
)
from kreis.sales.models import Deal, ForecastCategory, Pipeline, Stage, StageKind
from kreis.sales.services import StaleDeal

PAGE_SIZE = 25
STALE_MESSAGE = gettext_lazy("Someone else changed this deal — reloaded.")


def _int(value) -> int | None:
    number = parse_id(None if value is None else str(value))
    return number or None


def _index(value) -> int | None:
    """A position in a column (0 is the top)."""
    number = _int(value) if value != "0" else 0
    return number if number is None or number < 100_000 else None


def _date(value) -> dt.date | None:
    try:
        return parse_date(value or "")
    except ValueError:  # well-formed but impossible, such as 2026-02-31
        return None


def _pipeline_from(request: HttpRequest, pipelines: list[Pipeline]) -> Pipeline:
    wanted = _int(request.GET.get("pipeline"))
    chosen = next((p for p in pipelines if p.pk == wanted), None)
    if chosen is None:
        chosen = next((p for p in pipelines if p.is_default), pipelines[0] if pipelines else None)
    if chosen is None:
        chosen = queries.pipeline_get(pk=services.default_pipeline().pk)
    return chosen


def _board_filters(request: HttpRequest) -> dict:
    return {
        "owner_id": request.user.pk if request.GET.get("owner") == "me" else None,
        "search": request.GET.get("q", "").strip()[:100],
    }


# --- Board ----------------------------------------------------------------------------------


@login_required
def board(request: HttpRequest) -> HttpResponse:
    pipelines = list(queries.pipeline_list(active_only=True))
    pipeline = _pipeline_from(request, pipelines)
    filters = _board_filters(request)
    columns = queries.board_for_user(user=request.user, pipeline=pipeline, **filters)
    context = {
        "pipelines": pipelines,
        "pipeline": pipeline,
        "stages": list(pipeline.stages.all()),
        "columns": columns,
        "filters": filters,
        "owner_me": request.GET.get("owner") == "me",
        "query": request.GET.urlencode(),
        "can_move": not request.user.is_read_only,
        "lost_form": LostForm(),
        "stale_message": STALE_MESSAGE,
    }
    return render(request, "sales/board.html", context)


@login_required
def board_column(request: HttpRequest, stage_id: int) -> HttpResponse:
    """One column again (after a refused move, the board refreshes what it shows)."""
    stage = queries.stage_get(pk=stage_id)
    pipeline = queries.pipeline_get(pk=stage.pipeline_id)
    columns = queries.board_for_user(
        user=request.user, pipeline=pipeline, stage_ids=[stage.pk], **_board_filters(request)
    )
    context = {
        "column": columns[0],
        "stages": list(pipeline.stages.all()),
        "pipeline": pipeline,
        "query": request.GET.urlencode(),
        "can_move": not request.user.is_read_only,
    }
    return render(request, "sales/_column.html", context)


def _card_response(request, deal: Deal, *, stage_ids: list[int], status: int = 200, message=""):
    pipeline = queries.pipeline_get(pk=deal.pipeline_id)
    deal.stage = next(s for s in pipeline.stages.all() if s.pk == deal.stage_id)
    columns = queries.board_for_user(
        user=request.user, pipeline=pipeline, stage_ids=stage_ids, limit=0
    )
    context = {
        "deal": deal,
        "stages": list(pipeline.stages.all()),
        "pipeline": pipeline,
        "summaries": columns,
        "can_move": True,
        "message": message,
        "query": "",
    }
    return render(request, "sales/_moved.html", context, status=status)


@login_required
@require_POST
def deal_move(request: HttpRequest, pk: int) -> HttpResponse:
    """A card dropped on a column (or its stage chosen in the card's select).

    Answers with the updated card and the two columns' sums; 409 when someone else changed
    the deal since the card was drawn; 422 when the move is not possible (lost reason).
    Without JavaScript it answers with a redirect to the board (or the lost-reason page).
    """
    deal = queries.deal_get_for_user(user=request.user, pk=pk, details=False)
    if not request.user.has_perm("core.change_record", deal):
        raise PermissionDenied
    stage = Stage.objects.filter(pk=_int(request.POST.get("stage")), pipeline=deal.pipeline).first()
    if stage is None:
        return HttpResponseBadRequest(_("Choose a stage of the deal's pipeline."))
    token = parse_datetime(request.POST.get("updated_at", ""))
    position = _index(request.POST.get("position"))
    lost_form = LostForm(request.POST) if stage.kind == StageKind.LOST else None
    lost_reason = None
    if lost_form is not None and lost_form.is_valid():
        lost_reason = lost_form.cleaned_data["lost_reason"]
    old_stage_id = deal.stage_id
    board_url = safe_next(request, reverse("sales:board") + f"?pipeline={deal.pipeline_id}")
    try:
        services.deal_move(
            actor=request.user,
            deal=deal,
            stage=stage,
            expected_updated_at=token,
            position=position,
            lost_reason=lost_reason,
            lost_note=lost_form.cleaned_data.get("lost_note", "") if lost_reason else "",
        )
    except StaleDeal as exc:
        if not is_htmx(request):
            messages.warning(request, STALE_MESSAGE)
            return redirect(board_url)
        fresh = queries.deal_get_for_user(user=request.user, pk=exc.deal.pk, details=False)
        return _card_response(
            request,
            fresh,
            stage_ids=sorted({old_stage_id, fresh.stage_id, stage.pk}),
            status=409,
            message=STALE_MESSAGE,
        )
    except ValidationError as exc:
        if not is_htmx(request) and "lost_reason_id" in getattr(exc, "message_dict", {}):
            form = lost_form if "lost_reason" in request.POST else LostForm()
            context = {"deal": deal, "stage": stage, "form": form, "next": board_url}
            return render(request, "sales/lost.html", context)
        return _refused(request, exc, board_url)
    if not is_htmx(request):
        messages.success(
            request, _("“%(deal)s” is now in %(stage)s.") % {"deal": deal, "stage": stage}
        )
        return redirect(board_url)
    return _card_response(request, deal, stage_ids=sorted({old_stage_id, stage.pk}))


def _refused(request: HttpRequest, exc: ValidationError, board_url: str) -> HttpResponse:
    """A board change the service refused: the message on the board (422 for board.js), or
    after a redirect without JavaScript."""
    if not is_htmx(request):
        messages.error(request, " ".join(exc.messages))
        return redirect(board_url)
    return render(
        request, "sales/_board_message.html", {"message": " ".join(exc.messages)}, status=422
    )


@login_required
@require_POST
def deal_forecast_category(request: HttpRequest, pk: int) -> HttpResponse:
    """A card's forecast category chosen in place (pipeline, best case, commit).

    Answers board.js (HX-Request) with the updated card, 409 with the fresh card when someone
    else changed the deal since the card was drawn, 422 when the category is not possible;
    without JavaScript with a redirect to the board.
    """
    deal = queries.deal_get_for_user(user=request.user, pk=pk, details=False)
    if not request.user.has_perm("core.change_record", deal):
        raise PermissionDenied
    category = request.POST.get("forecast_category", "")
    token = parse_datetime(request.POST.get("updated_at", ""))
    board_url = safe_next(request, reverse("sales:board") + f"?pipeline={deal.pipeline_id}")
    try:
        if category not in ForecastCategory.values or category == ForecastCategory.CLOSED:
            raise ValidationError({"forecast_category": _("Choose pipeline, best case or commit.")})
        services.deal_update(
            actor=request.user,
            deal=deal,
            forecast_category=category,
            expected_updated_at=token,
        )
    except StaleDeal as exc:
        if not is_htmx(request):
            messages.warning(request, STALE_MESSAGE)
            return redirect(board_url)
        fresh = queries.deal_get_for_user(user=request.user, pk=exc.deal.pk, details=False)
        return _card_response(
            request, fresh, stage_ids=[fresh.stage_id], status=409, message=STALE_MESSAGE
        )
    except ValidationError as exc:
        return _refused(request, exc, board_url)
    if not is_htmx(request):
        messages.success(
            request,
            _("Forecast category of “%(deal)s”: %(category)s.")
            % {"deal": deal, "category": deal.get_forecast_category_display()},
        )
        return redirect(board_url)
    return _card_response(request, deal, stage_ids=[deal.stage_id])


# --- List, export, bulk actions -------------------------------------------------------------


def _list_params(request: HttpRequest) -> dict:
    return exports.list_params(request.GET, user=request.user)


@login_required
def deal_list(request: HttpRequest) -> HttpResponse:
    params = _list_params(request)
    deals = queries.deal_list_rows(queries.deal_list_for_user(user=request.user, **params))
    page = Paginator(deals, PAGE_SIZE).get_page(request.GET.get("page"))
    pipelines = list(queries.pipeline_list())
    columns = custom_columns("deal")
    context = {
        "page": page,
        "rows": [
            (deal, custom_cells(deal, columns))
            for deal in queries.with_stages(page.object_list, pipelines)
        ],
        "custom_columns": columns,
        "params": params,
        "get": request.GET,
        "query": query_without_page(request),
        "pipelines": pipelines,
        "statuses": [(s.value, s.label) for s in StageKind],
        "custom_filters": active_filters("deal", request.GET),
        # Names for the owner filter and the bulk bar: no teams needed.
        "users": (
            users := user_list_for_user(user=request.user)
            .prefetch_related(None)
            .only("username", "first_name", "last_name")
        ),
        **services.DEAL_BULK.bar(url=reverse("sales:bulk"), owners=users),
        "sorts": [
            ("-created", _("Newest first")),
            ("-updated", _("Recently changed")),
            ("name", _("Name A–Z")),
            ("-amount", _("Largest amount")),
            ("expected_close", _("Closing soonest")),
            ("stage", _("Stage")),
        ],
    }
    template = "sales/_rows.html" if is_htmx(request) else "sales/list.html"
    return render(request, template, context)


@login_required
def deal_export(request: HttpRequest, fmt: str = "csv") -> StreamingHttpResponse:
    """The list as it is filtered and sorted: CSV, Excel or JSON (custom fields as columns)."""
    return export_download(request, exports.deal_export(user=request.user, query=request.GET), fmt)


deal_bulk = bulk_view(
    actions=services.DEAL_BULK, records=queries.deals_for_bulk, list_url="sales:list"
)


# --- Detail and forms -----------------------------------------------------------------------


def _change_shown(name: str, old, new) -> tuple[str, object, object]:
    """A field's label and, for a field with choices (forecast category, channel), the
    labels of the old and new values instead of their keys."""
    try:
        field = Deal._meta.get_field(name)
    except FieldDoesNotExist:
        return name, old, new
    if getattr(field, "choices", None):
        labels = dict(field.flatchoices)
        old, new = labels.get(old, old), labels.get(new, new)
    return capfirst(field.verbose_name), old, new


def _history(deal: Deal, limit: int = 25) -> list[dict]:
    """Each change with who, when and old → new per field (django-simple-history)."""
    records = list(deal.history.select_related("history_user")[: limit + 1])
    entries = []
    for newer, older in zip(records, [*records[1:], None], strict=False):
        changes = []
        if older is not None:
            delta = newer.diff_against(older, excluded_fields=["updated_at", "position"])
            changes = [_change_shown(c.field, c.old, c.new) for c in delta.changes]
        entries.append({"record": newer, "changes": changes})
    return entries[:limit]


@login_required
def deal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    deal = queries.deal_get_for_user(user=request.user, pk=pk)
    lines = list(deal.lines.all())
    context = {
        "deal": deal,
        "can_change": request.user.has_perm("core.change_record", deal),
        "lines": lines,
        "lines_total": sum((line.total for line in lines), 0),
        "stage_history": queries.deal_stage_history(deal=deal),
        "history": _history(deal),
        "stages": list(deal.pipeline.stages.all()),
        "lost_form": LostForm(use_required_attribute=False),  # only for lost stages
    }
    return render(request, "sales/detail.html", context)


def _form_for(request: HttpRequest, deal: Deal | None):
    pipelines = list(queries.pipeline_list(active_only=True))
    if deal is not None and deal.pipeline not in pipelines:
        pipelines.append(queries.pipeline_get(pk=deal.pipeline_id))
    parties = party_list_for_user(user=request.user)
    if deal is None:
        initial = {"owner": request.user, "currency": "EUR"}
        organization = _int(request.GET.get("organization"))
        if organization:
            org = parties.filter(pk=organization).first()
            initial["organization"] = party_label(org) if org else ""
        default = services.default_pipeline()
        first_open = default.stages.filter(kind=StageKind.OPEN).order_by("position").first()
        initial["stage"] = first_open.pk if first_open else None
        custom = None
        lines_initial: list[dict] = []
    else:
        lines = list(deal.lines.all())
        initial = {
            "name": deal.name,
            "stage": deal.stage_id,
            "organization": party_label(deal.organization),
            "contact": party_label(deal.contact),
            "amount": None if lines and deal.amount == sum(x.total for x in lines) else deal.amount,
            "currency": deal.currency,
            "expected_close": deal.expected_close,
            "lost_reason": deal.lost_reason_id,
            "lost_note": deal.lost_note,
            "source": deal.source,
            "channel": deal.channel,
            "forecast_category": deal.forecast_category,
            "tags": ", ".join(t.name for t in deal.tags.all()),
            "owner": deal.owner_id,
            "team": deal.team_id,
            "notes": deal.notes,
        }
        custom = deal.custom
        lines_initial = [
            {
                "product": x.product_id,
                "description": x.description,
                "quantity": x.quantity,
                "unit_price": x.unit_price,
                "discount": x.discount,
            }
            for x in lines
        ]
    form = DealForm(
        request.POST or None, initial=initial, pipelines=pipelines, parties=parties, custom=custom
    )
    formset = DealLineFormSet(request.POST or None, initial=lines_initial, prefix="lines")
    return form, formset


def _apply_service_errors(form, formset, exc: ValidationError) -> None:
    """Service errors name API fields (``stage_id``, ``lines.0.quantity``); show them on the
    form's fields."""
    if not hasattr(exc, "error_dict"):
        apply_errors(form, exc)
        return
    for key, errors in exc.error_dict.items():
        if key.startswith("lines."):
            _, index, field = (key.split(".") + ["", ""])[:3]
            target = formset.forms[int(index)] if index.isdigit() else None
            if target is not None and field in target.fields:
                for error in errors:
                    target.add_error(field, error)
                continue
        name = key.removesuffix("_id")
        if name.startswith("custom."):
            name = "cf_" + name.removeprefix("custom.")
        apply_errors(form, ValidationError({name: errors}))


def _save_deal(request: HttpRequest, form, formset, deal: Deal | None) -> Deal | None:
    if not (form.is_valid() and formset.is_valid()):
        return None
    data = form.service_data()
    data["lines"] = formset_lines(formset)
    try:
        if deal is None:
            return services.deal_create(actor=request.user, **data)
        return services.deal_update(actor=request.user, deal=deal, **data)
    except ValidationError as exc:
        _apply_service_errors(form, formset, exc)
        return None


@login_required
def deal_create(request: HttpRequest) -> HttpResponse:
    if request.user.is_read_only:
        raise PermissionDenied
    form, formset = _form_for(request, None)
    if request.method == "POST":
        deal = _save_deal(request, form, formset, None)
        if deal is not None:
            messages.success(request, _("“%s” created.") % deal)
            return redirect("sales:detail", pk=deal.pk)
    return render(request, "sales/form.html", {"form": form, "formset": formset, "deal": None})


@login_required
def deal_edit(request: HttpRequest, pk: int) -> HttpResponse:
    deal = queries.deal_get_for_user(user=request.user, pk=pk, write=True)
    form, formset = _form_for(request, deal)
    if request.method == "POST":
        if _save_deal(request, form, formset, deal) is not None:
            messages.success(request, _("“%s” saved.") % deal)
            return redirect("sales:detail", pk=deal.pk)
    return render(request, "sales/form.html", {"form": form, "formset": formset, "deal": deal})


@login_required
@require_POST
def deal_delete(request: HttpRequest, pk: int) -> HttpResponse:
    deal = queries.deal_get_for_user(user=request.user, pk=pk, write=True)
    services.deal_delete(actor=request.user, deal=deal)
    messages.success(request, _("“%s” deleted.") % deal)
    return redirect("sales:board")


# --- Forecast -------------------------------------------------------------------------------


def _forecast(request: HttpRequest) -> dict:
    start = parse_month(request.GET.get("start"))
    return queries.forecast_for_user(
        user=request.user,
        pipeline_id=_int(request.GET.get("pipeline")),
        owner_id=request.user.pk if request.GET.get("owner") == "me" else None,
        start=start,
    )


@login_required
def forecast(request: HttpRequest) -> HttpResponse:
    context = {
        "forecast": _forecast(request),
        "pipelines": list(queries.pipeline_list()),
        "pipeline_id": _int(request.GET.get("pipeline")),
        "owner_me": request.GET.get("owner") == "me",
        "query": request.GET.urlencode(),
        "currency": settings.KREIS_CURRENCY,
    }
    return render(request, "sales/forecast.html", context)


@login_required
def forecast_data(request: HttpRequest) -> JsonResponse:
    """The forecast for the chart: months, weighted open amount, won amount."""
    data = _forecast(request)
    return JsonResponse(
        {
            "months": [row["month"].strftime("%Y-%m") for row in data["months"]],
            "weighted": [str(row["weighted"]) for row in data["months"]],
            "open": [str(row["open_amount"]) for row in data["months"]],
            "won": [str(row["won_amount"]) for row in data["months"]],
            "labels": {"weighted": _("Weighted forecast"), "won": _("Won")},
        }
    )
