"""API routes for leads: CRUD, status flow, conversion and bulk import."""

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from kreis.core.api_support import (
    MAX_BULK,
    PROBLEM_RESPONSES,
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
from kreis.leads import queries, services
from kreis.leads.models import DisqualifyReason, Lead, LeadStatus
from kreis.parties.models import PartyKind
from kreis.parties.queries import party_get_for_user
from kreis.sales.models import Pipeline

router = Router(tags=["leads"])

StatusName = Literal[tuple(LeadStatus.values)]  # type: ignore[valid-type]
ReasonName = Literal[tuple(DisqualifyReason.values)]  # type: ignore[valid-type]
Sort = Literal[
    "-created", "created", "name", "-name", "company", "-updated", "status", "-score", "-predicted"
]
Money = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)]


class LeadOut(Schema):
    id: int
    status: str
    salutation: str
    first_name: str
    last_name: str
    company: str
    position: str
    email: str
    phone: str
    website: str
    source: str
    referred_by_id: int | None
    budget: Decimal | None
    authority: str
    need: str
    timeline: dt.date | None
    disqualify_reason: str
    disqualify_note: str
    notes: str
    tags: list[str]
    custom: dict[str, Any]
    owner_id: int | None
    team_id: int | None
    converted_at: dt.datetime | None
    converted_person_id: int | None
    converted_organization_id: int | None
    converted_deal_id: int | None
    external_id: str | None
    # Read only: the rule score (kreis.analytics.scoring) and the predicted chance of
    # conversion in percent (kreis.marketing.predictive), each with when it was computed.
    score: float | None
    scored_at: dt.datetime | None
    predicted_score: float | None
    predicted_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_tags(obj: Lead) -> list[str]:
        return sorted(t.name for t in obj.tags.all())


class LeadWrite(Input):
    salutation: str | None = Field(None, max_length=40)
    first_name: str | None = Field(None, max_length=100)
    company: str | None = Field(None, max_length=200)
    position: str | None = Field(None, max_length=120)
    email: str | None = Field(None, max_length=254)
    phone: str | None = Field(None, max_length=40)
    website: str | None = Field(None, max_length=200)
    source: str | None = Field(None, max_length=100)
    referred_by_id: IdValue | None = None
    budget: Money | None = None
    authority: str | None = Field(None, max_length=200)
    need: str | None = Field(None, max_length=20000)
    timeline: dt.date | None = None
    notes: str | None = Field(None, max_length=20000)
    external_id: str | None = Field(None, max_length=100)
    owner_id: IdValue | None = None
    team_id: IdValue | None = None
    tags: list[str] | None = Field(None, max_length=50)
    custom: dict[str, Any] | None = None


class LeadCreate(LeadWrite):
    last_name: str = Field(min_length=1, max_length=100)


class LeadUpdate(LeadWrite):
    last_name: str | None = Field(None, min_length=1, max_length=100)


class StatusIn(Input):
    status: StatusName
    reason: ReasonName | Literal[""] = ""
    note: str = Field("", max_length=300)


class ConvertIn(Input):
    create_deal: bool = True
    deal_name: str = Field("", max_length=200)
    amount: Money | None = None
    pipeline_id: IdValue | None = None
    person_id: IdValue | None = None
    organization_id: IdValue | None = None


class Outcome(Schema):
    id: int
    outcome: Literal["created", "reused"]


class ConversionOut(Schema):
    lead: LeadOut
    person: Outcome
    organization: Outcome | None
    deal: Outcome | None


class LeadBulk(Input):
    items: list[LeadCreate] = Field(min_length=1, max_length=MAX_BULK)


class BulkCreated(Schema):
    created: int
    ids: list[int]


# Fields a client may clear by sending null; for the others null means "leave as it is".
NULLABLE = {"owner", "team", "referred_by", "budget", "timeline", "external_id"}


def _write_args(request: HttpRequest, payload: Input) -> dict:
    data = payload.model_dump(exclude_unset=True)
    for key in ("tags", "custom"):
        if data.get(key) is None:
            data.pop(key, None)
    if "owner_id" in data:
        owner_id = data.pop("owner_id")
        data["owner"] = user_get_for_user(user=request.auth, pk=owner_id) if owner_id else None
    if "team_id" in data:
        team_id = data.pop("team_id")
        data["team"] = team_get_for_user(user=request.auth, pk=team_id) if team_id else None
    if "referred_by_id" in data:
        party_id = data.pop("referred_by_id")
        data["referred_by"] = (
            party_get_for_user(user=request.auth, pk=party_id, related=False) if party_id else None
        )
    return {k: v for k, v in data.items() if v is not None or k in NULLABLE}


def _reload(request: HttpRequest, lead: Lead) -> Lead:
    return queries.lead_get_for_user(user=request.auth, pk=lead.pk, related=())


@router.get("/leads", response=list[LeadOut], summary="List leads", operation_id="lead_list")
@paginate(Pagination)
def lead_list(
    request: HttpRequest,
    q: SearchText = "",
    status: StatusName | None = None,
    owner_id: IdValue | None = None,
    team_id: IdValue | None = None,
    source: SearchText = "",
    tag: SearchText = "",
    sort: Sort = "-created",
):
    return queries.lead_list_for_user(
        user=request.auth,
        search=q,
        status=status or "",
        owner_id=owner_id,
        team_id=team_id,
        source=source,
        tag=tag,
        sort=sort,
        custom=request.GET,
    )


@router.post(
    "/leads",
    response={201: LeadOut, **PROBLEM_RESPONSES},
    summary="Create a lead",
    operation_id="lead_create",
)
def lead_create(request: HttpRequest, payload: LeadCreate, response: HttpResponse):
    lead = _reload(
        request, services.lead_create(actor=request.auth, **_write_args(request, payload))
    )
    response["ETag"] = etag(lead)
    return Status(201, lead)


# Before /leads/{lead_id}, so that "bulk" is not taken for an id.
@router.post(
    "/leads/bulk",
    response={201: BulkCreated, **PROBLEM_RESPONSES},
    summary="Create up to 1,000 leads at once (all or nothing; errors name the row)",
    operation_id="lead_bulk",
)
def lead_bulk(request: HttpRequest, payload: LeadBulk):
    if request.auth.is_read_only:
        raise PermissionDenied

    def create(item: LeadCreate) -> Lead:
        return services.lead_create(actor=request.auth, **_write_args(request, item))

    leads = bulk_create_all_or_nothing(payload.items, create)
    return Status(201, {"created": len(leads), "ids": [lead.pk for lead in leads]})


@router.get(
    "/leads/{lead_id}",
    response={200: LeadOut, **PROBLEM_RESPONSES},
    summary="A lead",
    operation_id="lead_detail",
)
def lead_detail(request: HttpRequest, lead_id: ObjectId, response: HttpResponse):
    lead = queries.lead_get_for_user(user=request.auth, pk=lead_id, related=())
    response["ETag"] = etag(lead)
    return lead


@router.patch(
    "/leads/{lead_id}",
    response={200: LeadOut, **PROBLEM_RESPONSES},
    summary="Change a lead (tags given replace the old; status changes go through /status)",
    operation_id="lead_update",
)
def lead_update(
    request: HttpRequest, lead_id: ObjectId, payload: LeadUpdate, response: HttpResponse
):
    # The owner and team: lead_update compares the new ones with them.
    lead = queries.lead_get_for_user(
        user=request.auth, pk=lead_id, write=True, related=("owner", "team")
    )
    check_if_match(request, lead)
    services.lead_update(actor=request.auth, lead=lead, **_write_args(request, payload))
    lead = _reload(request, lead)
    response["ETag"] = etag(lead)
    return lead


@router.delete(
    "/leads/{lead_id}",
    response={204: None, **PROBLEM_RESPONSES},
    summary="Delete a lead (soft; restorable)",
    operation_id="lead_delete",
)
def lead_delete(request: HttpRequest, lead_id: ObjectId):
    lead = queries.lead_get_for_user(user=request.auth, pk=lead_id, write=True)
    check_if_match(request, lead)
    services.lead_delete(actor=request.auth, lead=lead)
    return Status(204, None)


@router.post(
    "/leads/{lead_id}/status",
    response={200: LeadOut, **PROBLEM_RESPONSES},
    summary="Move a lead along the flow (disqualified needs a reason)",
    operation_id="lead_set_status",
)
def lead_set_status(
    request: HttpRequest, lead_id: ObjectId, payload: StatusIn, response: HttpResponse
):
    lead = queries.lead_get_for_user(user=request.auth, pk=lead_id, write=True)
    check_if_match(request, lead)
    services.lead_set_status(actor=request.auth, lead=lead, **payload.model_dump())
    lead = _reload(request, lead)
    response["ETag"] = etag(lead)
    return lead


@router.post(
    "/leads/{lead_id}/convert",
    response={200: ConversionOut, **PROBLEM_RESPONSES},
    summary="Convert a contacted or qualified lead into person, organisation and deal",
    operation_id="lead_convert",
)
def lead_convert(request: HttpRequest, lead_id: ObjectId, payload: ConvertIn):
    lead = queries.lead_get_for_user(user=request.auth, pk=lead_id, write=True)
    check_if_match(request, lead)
    data = payload.model_dump()
    pipeline = None
    if data["pipeline_id"]:
        pipeline = Pipeline.objects.filter(pk=data["pipeline_id"], is_active=True).first()
        if pipeline is None:
            raise ValidationError({"pipeline_id": _("No such pipeline.")})
    person = organization = None
    if data["person_id"]:
        person = party_get_for_user(user=request.auth, pk=data["person_id"], kind=PartyKind.PERSON)
    if data["organization_id"]:
        organization = party_get_for_user(
            user=request.auth, pk=data["organization_id"], kind=PartyKind.ORGANIZATION
        )
    result = services.lead_convert(
        actor=request.auth,
        lead=lead,
        create_deal=data["create_deal"],
        deal_name=data["deal_name"],
        amount=data["amount"],
        pipeline=pipeline,
        person=person,
        organization=organization,
    )

    def outcome(record, created: bool) -> dict | None:
        if record is None:
            return None
        return {"id": record.pk, "outcome": "created" if created else "reused"}

    return {
        "lead": _reload(request, result.lead),
        "person": outcome(result.person, result.person_created),
        "organization": outcome(result.organization, result.organization_created),
        "deal": outcome(result.deal, True),
    }
