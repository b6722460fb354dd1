"""API routes for targets (quotas): list, read with attainment, create, change, delete, and the
CSV import and export (the columns of ``kreis sales targets export``)."""

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from kreis.core.api_support import (
    PROBLEM_RESPONSES,
    IdValue,
    Input,
    ObjectId,
    Pagination,
    if_match_write,
    with_etag,
)
from kreis.core.models import Team, User
from kreis.sales.models import Target
from kreis.sales.periods import period_from_key, period_of
from kreis.sales.targets import queries, services

router = Router(tags=["sales management"])

PeriodKey = Annotated[str, Field(pattern=r"^\d{4}(-(Q[1-4]|0[1-9]|1[0-2]))?$")]
Metric = Literal["revenue", "quantity"]
Dimension = Literal["rep", "team", "region", "channel", "category"]
Channel = Literal["", "direct", "field", "partner", "online"]
PeriodKindValue = Literal["month", "quarter", "year"]
Year = Annotated[int, Field(ge=1900, le=2999)]


class SalesTargetOut(Schema):
    id: int
    metric: str
    dimension: str
    period: str
    period_kind: str
    period_start: dt.date
    period_end: dt.date
    user_id: int | None
    team_id: int | None
    region: str
    channel: str
    category: str
    amount: Decimal
    currency: str
    note: str
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_period(obj: Target) -> str:
        return period_of(obj).key


class SalesTargetAttainmentOut(Schema):
    id: int
    metric: str
    dimension: str
    period: str
    period_kind: str
    period_start: dt.date
    period_end: dt.date
    user_id: int | None
    team_id: int | None
    region: str
    channel: str
    category: str
    amount: Decimal
    currency: str
    note: str
    created_at: dt.datetime
    updated_at: dt.datetime
    actual: Decimal
    weighted_pipeline: Decimal
    attainment_percent: Decimal | None
    projected_percent: Decimal | None


class SalesTargetIn(Input):
    metric: Metric
    dimension: Dimension
    period: PeriodKey
    amount: Decimal = Field(ge=0, max_digits=14, decimal_places=2)
    user_id: IdValue | None = None
    team_id: IdValue | None = None
    region: str = Field("", max_length=100)
    channel: Channel = ""
    category: str = Field("", max_length=100)
    currency: str = Field("EUR", pattern=r"^[A-Za-z]{3}$")
    note: str = Field("", max_length=300)


class SalesTargetUpdate(Input):
    metric: Metric | None = None
    dimension: Dimension | None = None
    period: PeriodKey | None = None
    amount: Decimal | None = Field(None, ge=0, max_digits=14, decimal_places=2)
    user_id: IdValue | None = None
    team_id: IdValue | None = None
    region: str | None = Field(None, max_length=100)
    channel: Channel | None = None
    category: str | None = Field(None, max_length=100)
    currency: str | None = Field(None, pattern=r"^[A-Za-z]{3}$")
    note: str | None = Field(None, max_length=300)


class SalesTargetImport(Input):
    csv: str = Field(min_length=1, max_length=2_000_000)


class SalesTargetImportOut(Schema):
    created: int
    updated: int


def _with_attainment(row: queries.Attainment) -> dict[str, Any]:
    t = row.target
    out = {
        name: getattr(t, name)
        for name in (
            "id", "metric", "dimension", "period_kind", "period_start", "period_end", "user_id",
            "team_id", "region", "channel", "category", "amount", "currency", "note",
            "created_at", "updated_at",
        )
    }  # fmt: skip
    out["period"] = period_of(t).key
    out.update(
        actual=row.actual,
        weighted_pipeline=row.weighted,
        attainment_percent=row.percent,
        projected_percent=row.projected_percent,
    )
    return out


def _refs(data: dict[str, Any]) -> dict[str, Any]:
    """Ids to objects: an unknown user or team is a 422 naming the field."""
    if "user_id" in data:
        user_id = data.pop("user_id")
        data["user"] = User.objects.filter(pk=user_id, is_active=True).first() if user_id else None
        if user_id and data["user"] is None:
            raise ValidationError({"user_id": "No such active user."})
    if "team_id" in data:
        team_id = data.pop("team_id")
        data["team"] = Team.objects.filter(pk=team_id).first() if team_id else None
        if team_id and data["team"] is None:
            raise ValidationError({"team_id": "No such team."})
    if data.get("period") is not None:
        data["period"] = period_from_key(data["period"])
    return data


@router.get("/sales/targets", response=list[SalesTargetOut], summary="Targets you may see")
@paginate(Pagination)
def target_list(
    request: HttpRequest,
    year: Year | None = None,
    period_kind: PeriodKindValue | None = None,
    dimension: Dimension | None = None,
    metric: Metric | None = None,
    team_id: IdValue | None = None,
    user_id: IdValue | None = None,
):
    return queries.target_list_for_user(
        user=request.auth,
        year=year,
        period_kind=period_kind or "",
        dimension=dimension or "",
        metric=metric or "",
        team_id=team_id,
        user_id=user_id,
    )


@router.get(
    "/sales/targets/attainment",
    response={200: list[SalesTargetAttainmentOut], **PROBLEM_RESPONSES},
    summary="Targets of a year with actual, weighted pipeline and attainment (at most 500)",
)
def target_attainment(
    request: HttpRequest,
    year: Year,
    period_kind: PeriodKindValue | None = None,
    dimension: Dimension | None = None,
    team_id: IdValue | None = None,
):
    targets = queries.target_list_for_user(
        user=request.auth,
        year=year,
        period_kind=period_kind or "",
        dimension=dimension or "",
        team_id=team_id,
    )[:500]
    return [_with_attainment(row) for row in queries.attainment(targets)]


@router.get(
    "/sales/targets/export",
    response={200: None, **PROBLEM_RESPONSES},
    summary="The targets of a year as CSV (the import's columns)",
)
def target_export(request: HttpRequest, year: Year):
    targets = queries.target_list_for_user(user=request.auth, year=year)
    response = HttpResponse(services.targets_to_csv(targets), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="targets-{year}.csv"'
    return response


@router.post(
    "/sales/targets/import",
    response={200: SalesTargetImportOut, **PROBLEM_RESPONSES},
    summary="Create or update targets from CSV (all or nothing)",
)
def target_import(request: HttpRequest, payload: SalesTargetImport):
    return services.targets_import_csv(actor=request.auth, text=payload.csv)


@router.post(
    "/sales/targets",
    response={201: SalesTargetAttainmentOut, **PROBLEM_RESPONSES},
    summary="Plan a target",
)
def target_create(request: HttpRequest, payload: SalesTargetIn):
    data = _refs(payload.model_dump())
    target = services.target_create(actor=request.auth, **data)
    (row,) = queries.attainment([target])
    return Status(201, _with_attainment(row))


@router.get(
    "/sales/targets/{sales_target_id}",
    response={200: SalesTargetAttainmentOut, **PROBLEM_RESPONSES},
    summary="A target with its attainment",
)
def target_detail(request: HttpRequest, sales_target_id: ObjectId, response: HttpResponse):
    target = with_etag(response, queries.target_get_for_user(user=request.auth, pk=sales_target_id))
    (row,) = queries.attainment([target])
    return _with_attainment(row)


@router.patch(
    "/sales/targets/{sales_target_id}",
    response={200: SalesTargetAttainmentOut, **PROBLEM_RESPONSES},
    summary="Change a target",
)
def target_update(
    request: HttpRequest,
    sales_target_id: ObjectId,
    payload: SalesTargetUpdate,
    response: HttpResponse,
):
    target = queries.target_get_for_user(user=request.auth, pk=sales_target_id, write=True)

    def change(target: Target) -> Target:
        data = _refs(payload.model_dump(exclude_unset=True))
        data = {k: v for k, v in data.items() if v is not None or k in ("user", "team")}
        return services.target_update(actor=request.auth, target=target, **data)

    target = if_match_write(request, target, change, response)
    (row,) = queries.attainment([target])
    return _with_attainment(row)


@router.delete(
    "/sales/targets/{sales_target_id}",
    response={204: None, **PROBLEM_RESPONSES},
    summary="Delete a target",
)
def target_delete(request: HttpRequest, sales_target_id: ObjectId):
    target = queries.target_get_for_user(user=request.auth, pk=sales_target_id, write=True)
    if_match_write(
        request, target, lambda target: services.target_delete(actor=request.auth, target=target)
    )
    return Status(204, None)
