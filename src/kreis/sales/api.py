"""API routes for pipelines, stages, lost reasons and deals (with moves, forecast and bulk)."""

import datetime as dt
from decimal import Decimal
from http import HTTPStatus
from typing import Annotated, Any, Literal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import paginate
from pydantic import ValidationError as SchemaError

from kreis.core.api_support import (
    MAX_BULK,
    PROBLEM_RESPONSES,
    DateValue,
    IdValue,
    Input,
    ObjectId,
    Pagination,
    SearchText,
    bulk_create_all_or_nothing,
    check_if_match,
    etag,
)
from kreis.core.queries import team_get_for_user, user_get_for_user
from kreis.parties.models import PartyKind
from kreis.parties.queries import party_list_for_user
from kreis.sales import queries, services
from kreis.sales.models import Deal, Pipeline, Stage, StageKind
from kreis.sales.services import StaleDeal

router = Router(tags=["sales"])

Kind = Literal["open", "won", "lost"]
Sort = Literal[tuple(queries.SORTS)]  # type: ignore[valid-type]
BULK_LIMIT = 1000


# --- Pipelines, stages, lost reasons --------------------------------------------------------


class StageOut(Schema):
    id: int
    name: str
    position: int
    probability: int
    kind: str


class PipelineOut(Schema):
    id: int
    name: str
    description: str
    position: int
    is_default: bool
    is_active: bool
    stages: list[StageOut]

    @staticmethod
    def resolve_stages(obj: Pipeline) -> list:
        return list(obj.stages.all())


class StageIn(Input):
    name: str = Field(min_length=1, max_length=100)
    probability: int = Field(10, ge=0, le=100)
    kind: Kind = "open"
    position: int | None = Field(None, ge=0, le=999)


class StageUpdate(Input):
    name: str | None = Field(None, min_length=1, max_length=100)
    probability: int | None = Field(None, ge=0, le=100)
    kind: Kind | None = None
    position: int | None = Field(None, ge=0, le=999)


class PipelineCreate(Input):
    name: str = Field(min_length=1, max_length=100)
    description: str = Field("", max_length=300)
    position: int | None = Field(None, ge=0, le=999)
    is_default: bool = False
    is_active: bool = True
    stages: list[StageIn] = Field(default_factory=list, max_length=50)


class PipelineUpdate(Input):
    name: str | None = Field(None, min_length=1, max_length=100)
    description: str | None = Field(None, max_length=300)
    position: int | None = Field(None, ge=0, le=999)
    is_default: bool | None = None
    is_active: bool | None = None


class StageOrder(Input):
    stage_ids: list[IdValue] = Field(max_length=50)


class LostReasonOut(Schema):
    id: int
    name: str
    is_active: bool


class LostReasonIn(Input):
    name: str = Field(min_length=1, max_length=100)
    is_active: bool = True


class LostReasonUpdate(Input):
    name: str | None = Field(None, min_length=1, max_length=100)
    is_active: bool | None = None


def _set(payload: Input) -> dict:
    return {k: v for k, v in payload.model_dump(exclude_unset=True).items() if v is not None}


@router.get("/pipelines", response=list[PipelineOut], summary="Pipelines with their stages")
@paginate(Pagination)
def pipeline_list(request: HttpRequest, active: bool | None = None):
    return queries.pipeline_list(active_only=bool(active))


@router.post(
    "/pipelines",
    response={201: PipelineOut, **PROBLEM_RESPONSES},
    summary="Create a pipeline (administrators)",
)
def pipeline_create(request: HttpRequest, payload: PipelineCreate):
    data = payload.model_dump()
    data["stages"] = [{k: v for k, v in s.items() if v is not None} for s in data["stages"]]
    pipeline = services.pipeline_create(actor=request.auth, **data)
    return Status(201, queries.pipeline_get(pk=pipeline.pk))


class PipelineBulk(Input):
    items: list[PipelineCreate] = Field(min_length=1, max_length=MAX_BULK)


class PipelinesCreated(Schema):
    created: int
    ids: list[int]


@router.post(
    "/pipelines/bulk",
    response={201: PipelinesCreated, **PROBLEM_RESPONSES},
    summary="Create up to 1,000 pipelines at once (administrators; all or nothing)",
)
def pipeline_bulk(request: HttpRequest, payload: PipelineBulk):
    def create(item: PipelineCreate) -> Pipeline:
        data = item.model_dump()
        data["stages"] = [{k: v for k, v in st.items() if v is not None} for st in data["stages"]]
        return services.pipeline_create(actor=request.auth, **data)

    pipelines = bulk_create_all_or_nothing(payload.items, create)
    return Status(201, {"created": len(pipelines), "ids": [p.pk for p in pipelines]})


@router.get("/pipelines/{int:pipeline_id}", response={200: PipelineOut, **PROBLEM_RESPONSES})
def pipeline_detail(request: HttpRequest, pipeline_id: ObjectId):
    return queries.pipeline_get(pk=pipeline_id)


@router.patch(
    "/pipelines/{int:pipeline_id}",
    response={200: PipelineOut, **PROBLEM_RESPONSES},
    summary="Change a pipeline (administrators)",
)
def pipeline_update(request: HttpRequest, pipeline_id: ObjectId, payload: PipelineUpdate):
    pipeline = queries.pipeline_get(pk=pipeline_id, user=request.auth, write=True)
    services.pipeline_update(actor=request.auth, pipeline=pipeline, **_set(payload))
    return queries.pipeline_get(pk=pipeline.pk)


@router.delete(
    "/pipelines/{int:pipeline_id}",
    response={204: None, **PROBLEM_RESPONSES},
    summary="Delete a pipeline no deal used (administrators)",
)
def pipeline_delete(request: HttpRequest, pipeline_id: ObjectId):
    pipeline = queries.pipeline_get(pk=pipeline_id, user=request.auth, write=True)
    services.pipeline_delete(actor=request.auth, pipeline=pipeline)
    return Status(204, None)


@router.post(
    "/pipelines/{int:pipeline_id}/stages",
    response={201: StageOut, **PROBLEM_RESPONSES},
    summary="Add a stage (administrators)",
)
def stage_create(request: HttpRequest, pipeline_id: ObjectId, payload: StageIn):
    pipeline = queries.pipeline_get(pk=pipeline_id, user=request.auth, write=True)
    stage = services.stage_create(actor=request.auth, pipeline=pipeline, **_set(payload))
    return Status(201, stage)


@router.put(
    "/pipelines/{int:pipeline_id}/stage-order",
    response={200: PipelineOut, **PROBLEM_RESPONSES},
    summary="Put the stages in a new order (administrators)",
)
def stage_reorder(request: HttpRequest, pipeline_id: ObjectId, payload: StageOrder):
    pipeline = queries.pipeline_get(pk=pipeline_id, user=request.auth, write=True)
    services.stage_reorder(actor=request.auth, pipeline=pipeline, stage_ids=payload.stage_ids)
    return queries.pipeline_get(pk=pipeline.pk)


@router.patch(
    "/stages/{stage_id}",
    response={200: StageOut, **PROBLEM_RESPONSES},
    summary="Change a stage (administrators)",
)
def stage_update(request: HttpRequest, stage_id: ObjectId, payload: StageUpdate):
    stage = queries.stage_get(pk=stage_id, user=request.auth, write=True)
    return services.stage_update(actor=request.auth, stage=stage, **_set(payload))


@router.delete(
    "/stages/{stage_id}",
    response={204: None, **PROBLEM_RESPONSES},
    summary="Delete a stage no deal used (administrators)",
)
def stage_delete(request: HttpRequest, stage_id: ObjectId):
    stage = queries.stage_get(pk=stage_id, user=request.auth, write=True)
    services.stage_delete(actor=request.auth, stage=stage)
    return Status(204, None)


@router.get("/lost-reasons", response=list[LostReasonOut], summary="Reasons a deal is lost")
@paginate(Pagination)
def lost_reason_list(request: HttpRequest, active: bool | None = None):
    return queries.lost_reason_list(active_only=bool(active))


@router.post(
    "/lost-reasons",
    response={201: LostReasonOut, **PROBLEM_RESPONSES},
    summary="Add a lost reason (administrators)",
)
def lost_reason_create(request: HttpRequest, payload: LostReasonIn):
    return Status(201, services.lost_reason_create(actor=request.auth, **payload.model_dump()))


@router.patch(
    "/lost-reasons/{reason_id}",
    response={200: LostReasonOut, **PROBLEM_RESPONSES},
    summary="Rename or (de)activate a lost reason (administrators)",
)
def lost_reason_update(request: HttpRequest, reason_id: ObjectId, payload: LostReasonUpdate):
    reason = queries.lost_reason_get(pk=reason_id, user=request.auth, write=True)
    return services.lost_reason_update(actor=request.auth, reason=reason, **_set(payload))


@router.delete(
    "/lost-reasons/{reason_id}",
    response={204: None, **PROBLEM_RESPONSES},
    summary="Delete a lost reason no deal names (administrators)",
)
def lost_reason_delete(request: HttpRequest, reason_id: ObjectId):
    reason = queries.lost_reason_get(pk=reason_id, user=request.auth, write=True)
    services.lost_reason_delete(actor=request.auth, reason=reason)
    return Status(204, None)


# --- Deals ----------------------------------------------------------------------------------


class DealLineIn(Input):
    product_id: IdValue | None = None
    description: str = Field("", max_length=200)
    quantity: Decimal = Field(Decimal(1), ge=0, max_digits=12, decimal_places=3)
    unit_price: Decimal | None = Field(None, ge=0, max_digits=12, decimal_places=2)
    discount: Decimal | None = Field(None, ge=0, max_digits=12, decimal_places=2)


class DealLineOut(Schema):
    id: int
    product_id: int | None
    description: str
    quantity: Decimal
    unit_price: Decimal
    discount: Decimal
    total: Decimal


class DealOut(Schema):
    id: int
    name: str
    pipeline_id: int
    stage_id: int
    status: str
    probability: int
    organization_id: int | None
    contact_id: int | None
    amount: Decimal
    currency: str
    weighted_amount: Decimal
    expected_close: dt.date | None
    closed_at: dt.datetime | None
    lost_reason_id: int | None
    lost_note: str
    source: str
    channel: str
    forecast_category: str
    notes: str
    position: int
    custom: dict[str, Any]
    tags: list[str]
    lines: list[DealLineOut]
    owner_id: int | None
    team_id: int | None
    external_id: str | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_status(obj: Deal) -> str:
        return obj.stage.kind

    @staticmethod
    def resolve_probability(obj: Deal) -> int:
        return obj.stage.probability

    @staticmethod
    def resolve_tags(obj: Deal) -> list[str]:
        return sorted(t.name for t in obj.tags.all())

    @staticmethod
    def resolve_lines(obj: Deal) -> list:
        return list(obj.lines.all())


class DealWrite(Input):
    pipeline_id: IdValue | None = None
    stage_id: IdValue | None = None
    organization_id: IdValue | None = None
    organization_external_id: str | None = Field(None, max_length=100)
    contact_id: IdValue | None = None
    contact_external_id: str | None = Field(None, max_length=100)
    amount: Decimal | None = Field(None, ge=0, max_digits=14, decimal_places=2)
    currency: str | None = Field(None, pattern=r"^[A-Za-z]{3}$")
    expected_close: dt.date | None = None
    lost_reason_id: IdValue | None = None
    lost_note: str | None = Field(None, max_length=300)
    source: str | None = Field(None, max_length=100)
    channel: Literal["", "direct", "field", "partner", "online"] | None = None
    forecast_category: Literal["pipeline", "best_case", "commit", "closed"] | None = None
    notes: str | None = Field(None, max_length=20000)
    external_id: str | None = Field(None, max_length=100)
    owner_id: IdValue | None = None
    team_id: IdValue | None = None
    custom: dict[str, Any] | None = None
    tags: list[str] | None = Field(None, max_length=50)
    lines: list[DealLineIn] | None = Field(None, max_length=100)


class DealCreate(DealWrite):
    name: str = Field(min_length=1, max_length=200)


class DealUpdate(DealWrite):
    name: str | None = Field(None, min_length=1, max_length=200)


class DealMove(Input):
    stage_id: IdValue
    expected_updated_at: dt.datetime | None = None
    position: int | None = Field(None, ge=0, le=100_000)
    lost_reason_id: IdValue | None = None
    lost_note: str = Field("", max_length=300)


def _party(user, *, pk: int | None, external_id: str | None, kind: str, field: str):
    """A party referenced by id or by external ID; only parties the user may see count."""
    visible = party_list_for_user(user=user, kind=kind)
    party = None
    if pk is not None:
        party = visible.filter(pk=pk).first()
        if party is None:
            raise ValidationError({field: "No such party, or you may not see it."})
    if external_id:
        by_key = visible.filter(external_id=external_id).first()
        if by_key is None:
            key = field.replace("_id", "_external_id")
            raise ValidationError({key: "No party has this external ID, or you may not see it."})
        if party is not None and party.pk != by_key.pk:
            raise ValidationError({field: "The id and the external ID name different parties."})
        party = by_key
    return party


def _write_args(request: HttpRequest, payload: DealWrite, *, deal: Deal | None = None) -> dict:
    """The payload in the shape of the services: ids become the (visible) objects."""
    user = request.auth
    data = payload.model_dump(exclude_unset=True)
    args: dict[str, Any] = {}
    for kind, field in ((PartyKind.ORGANIZATION, "organization"), (PartyKind.PERSON, "contact")):
        pk_key, ext_key = f"{field}_id", f"{field}_external_id"
        if pk_key in data or ext_key in data:
            args[field] = _party(
                user,
                pk=data.pop(pk_key, None),
                external_id=data.pop(ext_key, None),
                kind=kind,
                field=pk_key,
            )
    pipeline_id, stage_id = data.pop("pipeline_id", None), data.pop("stage_id", None)
    if pipeline_id:
        args["pipeline"] = Pipeline.objects.filter(pk=pipeline_id).first()
        if args["pipeline"] is None:
            raise ValidationError({"pipeline_id": "No such pipeline."})
    if stage_id:
        args["stage"] = Stage.objects.select_related("pipeline").filter(pk=stage_id).first()
        if args["stage"] is None:
            raise ValidationError({"stage_id": "No such stage."})
        if "pipeline" not in args and (
            deal is None or args["stage"].pipeline_id != deal.pipeline_id
        ):
            args["pipeline"] = args["stage"].pipeline
    if "lost_reason_id" in data:
        reason_id = data.pop("lost_reason_id")
        args["lost_reason"] = queries.lost_reason_get(pk=reason_id) if reason_id else None
    if "owner_id" in data:
        owner_id = data.pop("owner_id")
        args["owner"] = user_get_for_user(user=user, pk=owner_id) if owner_id else None
    if "team_id" in data:
        team_id = data.pop("team_id")
        args["team"] = team_get_for_user(user=user, pk=team_id) if team_id else None
    if data.get("lines") is not None:
        data["lines"] = [
            {k: v for k, v in line.items() if v is not None or k == "product_id"}
            for line in data["lines"]
        ]
    for key, value in data.items():
        if value is not None or key in {"expected_close", "external_id"}:
            args[key] = value
    return args


def _reload(request: HttpRequest, deal: Deal) -> Deal:
    return queries.deal_get_for_user(user=request.auth, pk=deal.pk)


class ForecastMonth(Schema):
    month: dt.date
    open_count: int
    open_amount: Decimal
    weighted: Decimal
    won_count: int
    won_amount: Decimal


class ForecastOut(Schema):
    start: dt.date
    end: dt.date
    months: list[ForecastMonth]
    total_weighted: Decimal
    total_open: Decimal
    total_won: Decimal
    undated_count: int
    undated_amount: Decimal
    undated_weighted: Decimal


@router.get(
    "/deals/forecast",
    response={200: ForecastOut, **PROBLEM_RESPONSES},
    summary="Weighted forecast and won amount per month",
)
def deal_forecast(
    request: HttpRequest,
    pipeline_id: IdValue | None = None,
    owner_id: IdValue | None = None,
    start: DateValue | None = None,
    months: Annotated[int, Field(ge=1, le=36)] = 12,
):
    return queries.forecast_for_user(
        user=request.auth, pipeline_id=pipeline_id, owner_id=owner_id, start=start, months=months
    )


class BulkIn(Input):
    deals: list[dict[str, Any]] = Field(min_length=1, max_length=BULK_LIMIT)


class BulkOut(Schema):
    created: int
    updated: int
    ids: list[int]


def _row_errors(row: int, exc: Exception) -> list[dict]:
    if isinstance(exc, SchemaError):
        return [
            {
                "row": row,
                "field": ".".join(str(p) for p in err["loc"]) or "body",
                "message": err["msg"],
            }
            for err in exc.errors()
        ]
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        return [
            {"row": row, "field": field, "message": message}
            for field, messages in exc.message_dict.items()
            for message in messages
        ]
    if isinstance(exc, ValidationError):
        return [{"row": row, "field": "body", "message": m} for m in exc.messages]
    if isinstance(exc, PermissionDenied):
        return [{"row": row, "field": "body", "message": "You may not change this deal."}]
    return [{"row": row, "field": "body", "message": "No such object, or you may not see it."}]


class _RollBack(Exception):
    pass


@router.post(
    "/deals/bulk",
    response={200: BulkOut, **PROBLEM_RESPONSES},
    summary="Create or update up to 1,000 deals at once (all or nothing)",
    description=(
        "Each row is a deal as for `POST /deals`. A row whose `external_id` names an existing "
        "deal updates it; any other row creates one. Organisations and contacts may be named "
        "by id or by `organization_external_id` / `contact_external_id`. If any row fails, "
        "nothing is saved and the answer is a 422 problem listing every error with its row."
    ),
)
def deal_bulk(request: HttpRequest, payload: BulkIn):
    user = request.auth
    errors: list[dict] = []
    created, updated, ids = 0, 0, []
    try:
        with transaction.atomic():
            for row, raw in enumerate(payload.deals):
                try:
                    with transaction.atomic():
                        item = DealCreate.model_validate(raw)
                        existing = (
                            Deal.objects.filter(external_id=item.external_id).first()
                            if item.external_id
                            else None
                        )
                        if existing is not None:
                            deal = queries.deal_get_for_user(user=user, pk=existing.pk, write=True)
                            args = _write_args(request, item, deal=deal)
                            services.deal_update(actor=user, deal=deal, **args)
                            updated += 1
                        else:
                            args = _write_args(request, item)
                            deal = services.deal_create(actor=user, **args)
                            created += 1
                        ids.append(deal.pk)
                except (SchemaError, ValidationError, PermissionDenied, Http404) as exc:
                    errors.extend(_row_errors(row, exc))
            if errors:
                raise _RollBack
    except _RollBack:
        body = {
            "type": "urn:kreis:problem:validation",
            "title": HTTPStatus(422).phrase,
            "status": 422,
            "detail": "No deal was saved: some rows are invalid.",
            "instance": request.path,
            "errors": errors,
        }
        return JsonResponse(body, status=422, content_type="application/problem+json")
    return {"created": created, "updated": updated, "ids": ids}


@router.get("/deals", response=list[DealOut], summary="List deals")
@paginate(Pagination)
def deal_list(
    request: HttpRequest,
    q: SearchText = "",
    pipeline_id: IdValue | None = None,
    stage_id: IdValue | None = None,
    status: Kind | None = None,
    owner_id: IdValue | None = None,
    team_id: IdValue | None = None,
    organization_id: IdValue | None = None,
    tag: SearchText = "",
    close_from: dt.date | None = None,
    close_to: dt.date | None = None,
    closed_from: dt.date | None = None,
    closed_to: dt.date | None = None,
    channel: Literal["direct", "field", "partner", "online", "none"] | None = None,
    forecast_category: Literal["pipeline", "best_case", "commit", "closed"] | None = None,
    sort: Sort = "-created",
):
    """Filters combine; custom fields filter with `cf_<key>=` (and `_min`/`_max`)."""
    deals = queries.deal_list_for_user(
        user=request.auth,
        search=q,
        pipeline_id=pipeline_id,
        stage_id=stage_id,
        status=status or "",
        owner_id=owner_id,
        team_id=team_id,
        organization_id=organization_id,
        tag=tag,
        close_from=close_from,
        close_to=close_to,
        closed_from=closed_from,
        closed_to=closed_to,
        channel=channel or "",
        forecast_category=forecast_category or "",
        custom=request.GET,
        sort=sort,
    )
    return deals.prefetch_related("lines")


@router.post("/deals", response={201: DealOut, **PROBLEM_RESPONSES}, summary="Create a deal")
def deal_create(request: HttpRequest, payload: DealCreate):
    deal = services.deal_create(actor=request.auth, **_write_args(request, payload))
    return Status(201, _reload(request, deal))


@router.get("/deals/{deal_id}", response={200: DealOut, **PROBLEM_RESPONSES}, summary="A deal")
def deal_detail(request: HttpRequest, deal_id: ObjectId, response: HttpResponse):
    deal = queries.deal_get_for_user(user=request.auth, pk=deal_id)
    response["ETag"] = etag(deal)
    return deal


@router.patch(
    "/deals/{deal_id}",
    response={200: DealOut, **PROBLEM_RESPONSES},
    summary="Change a deal (lines and tags given replace the old ones)",
)
def deal_update(
    request: HttpRequest, deal_id: ObjectId, payload: DealUpdate, response: HttpResponse
):
    deal = queries.deal_get_for_user(user=request.auth, pk=deal_id, write=True)
    check_if_match(request, deal)
    services.deal_update(actor=request.auth, deal=deal, **_write_args(request, payload, deal=deal))
    deal = _reload(request, deal)
    response["ETag"] = etag(deal)
    return deal


@router.delete(
    "/deals/{deal_id}",
    response={204: None, **PROBLEM_RESPONSES},
    summary="Delete a deal (soft; restorable)",
)
def deal_delete(request: HttpRequest, deal_id: ObjectId):
    deal = queries.deal_get_for_user(user=request.auth, pk=deal_id, write=True)
    check_if_match(request, deal)
    services.deal_delete(actor=request.auth, deal=deal)
    return Status(204, None)


@router.post(
    "/deals/{deal_id}/move",
    response={200: DealOut, **PROBLEM_RESPONSES},
    summary="Move a deal to another stage of its pipeline",
    description=(
        "With `expected_updated_at` (the `updated_at` you read), a move on a deal someone "
        "else has changed since is refused with 409. A lost stage needs `lost_reason_id`."
    ),
)
def deal_move(request: HttpRequest, deal_id: ObjectId, payload: DealMove, response: HttpResponse):
    deal = queries.deal_get_for_user(user=request.auth, pk=deal_id, write=True, details=False)
    check_if_match(request, deal)
    stage = Stage.objects.filter(pk=payload.stage_id, pipeline_id=deal.pipeline_id).first()
    if stage is None:
        raise ValidationError({"stage_id": "Choose a stage of the deal's pipeline."})
    reason = queries.lost_reason_get(pk=payload.lost_reason_id) if payload.lost_reason_id else None
    try:
        services.deal_move(
            actor=request.auth,
            deal=deal,
            stage=stage,
            expected_updated_at=payload.expected_updated_at,
            position=payload.position,
            lost_reason=reason if stage.kind == StageKind.LOST else None,
            lost_note=payload.lost_note,
        )
    except StaleDeal:
        raise HttpError(409, "The deal was changed by someone else; fetch it again.") from None
    deal = _reload(request, deal)
    response["ETag"] = etag(deal)
    return deal
