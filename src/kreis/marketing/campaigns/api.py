"""API routes for campaigns: CRUD, costs, members and their responses, the funnel, event
registrations and attendance, and the first/last-touch attribution of a lead or deal."""

import datetime as dt
from decimal import Decimal
from typing import Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from kreis.core.api_support import (
    PROBLEM_RESPONSES,
    IdValue,
    Input,
    ObjectId,
    Pagination,
    check_if_match,
    etag,
)
from kreis.core.models import Team, User
from kreis.leads.queries import lead_get_for_user
from kreis.marketing.campaigns import queries, services
from kreis.marketing.models import (
    CampaignChannel,
    CampaignCost,
    CampaignCostCategory,
    CampaignMember,
    CampaignStatus,
    ResponseKind,
    Segment,
)
from kreis.parties.queries import party_get_for_user
from kreis.sales.queries import deal_get_for_user

router = Router(tags=["campaigns"])

ChannelName = Literal[tuple(CampaignChannel.values)]  # type: ignore[valid-type]
StatusName = Literal[tuple(CampaignStatus.values)]  # type: ignore[valid-type]
CategoryName = Literal[tuple(CampaignCostCategory.values)]  # type: ignore[valid-type]
ResponseName = Literal[tuple(ResponseKind.values)]  # type: ignore[valid-type]
CHANGE = "marketing.change_record"
NO_NUL = r"^[^\x00]*$"


class CampaignOut(Schema):
    id: int
    name: str
    code: str
    goal: str
    channel: str
    status: str
    target_segment_id: int | None
    target_description: str
    starts_on: dt.date | None
    ends_on: dt.date | None
    budget: Decimal
    expected_leads: int | None
    expected_revenue: Decimal | None
    event_starts_at: dt.datetime | None
    event_location: str
    event_capacity: int | None
    owner_id: int | None
    team_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime


class CampaignWrite(Input):
    goal: str | None = Field(None, max_length=5000, pattern=NO_NUL)
    status: StatusName | None = None
    target_segment_id: IdValue | None = None
    target_description: str | None = Field(None, max_length=5000, pattern=NO_NUL)
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None
    budget: Decimal | None = Field(None, ge=0, max_digits=12, decimal_places=2)
    expected_leads: int | None = Field(None, ge=0, le=2_000_000_000)
    expected_revenue: Decimal | None = Field(None, ge=0, max_digits=14, decimal_places=2)
    event_starts_at: dt.datetime | None = None
    event_location: str | None = Field(None, max_length=200, pattern=NO_NUL)
    event_capacity: int | None = Field(None, ge=0, le=2_000_000_000)
    owner_id: IdValue | None = None
    team_id: IdValue | None = None


class CampaignCreate(CampaignWrite):
    name: str = Field(min_length=1, max_length=200, pattern=NO_NUL)
    code: str = Field(min_length=1, max_length=60, pattern=r"^[-a-zA-Z0-9_]+$")
    channel: ChannelName


class CampaignUpdate(CampaignWrite):
    name: str | None = Field(None, min_length=1, max_length=200, pattern=NO_NUL)
    code: str | None = Field(None, min_length=1, max_length=60, pattern=r"^[-a-zA-Z0-9_]+$")
    channel: ChannelName | None = None


class CostOut(Schema):
    id: int
    campaign_id: int
    date: dt.date
    category: str
    amount: Decimal
    note: str
    created_by_id: int | None


class CostIn(Input):
    date: dt.date
    category: CategoryName
    amount: Decimal = Field(ge=0, max_digits=12, decimal_places=2)
    note: str = Field("", max_length=300, pattern=NO_NUL)


class MemberOut(Schema):
    id: int
    campaign_id: int
    lead_id: int | None
    party_id: int | None
    added_at: dt.datetime
    sent_at: dt.datetime | None
    opened_at: dt.datetime | None
    clicked_at: dt.datetime | None
    registered_at: dt.datetime | None
    attended_at: dt.datetime | None
    responded_at: dt.datetime | None
    note: str


class MembersIn(Input):
    lead_ids: list[IdValue] = Field(default_factory=list, max_length=5000)
    party_ids: list[IdValue] = Field(default_factory=list, max_length=5000)
    segment_id: IdValue | None = Field(None, description="Add every party of this segment.")


class MembersAddedOut(Schema):
    added: int
    skipped: int


class MemberUpdate(Input):
    sent_at: dt.datetime | None = None
    opened_at: dt.datetime | None = None
    clicked_at: dt.datetime | None = None
    registered_at: dt.datetime | None = None
    attended_at: dt.datetime | None = None
    responded_at: dt.datetime | None = None
    note: str | None = Field(None, max_length=300, pattern=NO_NUL)


class MarkIn(Input):
    member_ids: list[IdValue] = Field(min_length=1, max_length=5000)
    response: ResponseName
    at: dt.datetime | None = None
    clear: bool = False


class MarkedOut(Schema):
    changed: int


class FunnelOut(Schema):
    campaign_id: int
    model: str
    members: int
    leads: int
    mql: int
    sql: int
    opportunities: int
    won: int
    won_customers: int
    revenue: Decimal
    cost: Decimal
    cost_per_lead: Decimal | None = Field(description="null without cost or without leads")
    cost_per_won_customer: Decimal | None = Field(
        description="null without cost or without won customers"
    )
    roi: Decimal | None = Field(description="(revenue − cost) / cost; null without cost")
    responses: dict[str, int]


class RegistrationIn(Input):
    lead_id: IdValue | None = None
    party_id: IdValue | None = None
    first_name: str = Field("", max_length=100, pattern=NO_NUL)
    last_name: str = Field("", max_length=100, pattern=NO_NUL)
    email: str = Field("", max_length=254, pattern=NO_NUL)
    company: str = Field("", max_length=200, pattern=NO_NUL)


class RegistrationOut(Schema):
    member: MemberOut
    lead_id: int | None
    lead_created: bool


class AttendIn(Input):
    attended: bool = True


class AttributionOut(Schema):
    first_campaign_id: int | None
    first_campaign: str | None
    last_campaign_id: int | None
    last_campaign: str | None
    first_at: dt.datetime | None = None
    last_at: dt.datetime | None = None


def _campaign(request: HttpRequest, campaign_id: int, perm: str = "marketing.view_record"):
    return queries.campaign_get_for_user(user=request.auth, pk=campaign_id, perm=perm)


def _campaign_args(payload: Input) -> dict:
    data = payload.model_dump(exclude_unset=True)
    args = {}
    for name, value in data.items():
        if name == "target_segment_id":
            segment = None
            if value is not None:
                segment = Segment.objects.filter(pk=value).first()
                if segment is None:
                    raise ValidationError({name: _("No such segment.")})
            args["target_segment"] = segment
        elif name == "owner_id":
            owner = None
            if value is not None:
                owner = User.objects.filter(pk=value, is_active=True).first()
                if owner is None:
                    raise ValidationError({name: _("No such active user.")})
            args["owner"] = owner
        elif name == "team_id":
            team = None
            if value is not None:
                team = Team.objects.filter(pk=value).first()
                if team is None:
                    raise ValidationError({name: _("No such team.")})
            args["team"] = team
        elif value is None and name in {"goal", "target_description", "event_location"}:
            args[name] = ""
        elif value is None and name == "budget":
            args[name] = Decimal(0)
        else:
            args[name] = value
    return args


@router.get(
    "/campaigns", response=list[CampaignOut], summary="List campaigns", operation_id="campaign_list"
)
@paginate(Pagination)
def campaign_list(
    request: HttpRequest, channel: ChannelName | None = None, status: StatusName | None = None
):
    qs = queries.campaigns_for_user(user=request.auth)
    if channel:
        qs = qs.filter(channel=channel)
    if status:
        qs = qs.filter(status=status)
    return qs


@router.post(
    "/campaigns",
    response={201: CampaignOut, **PROBLEM_RESPONSES},
    summary="Create a campaign",
    operation_id="campaign_create",
)
def campaign_create(request: HttpRequest, payload: CampaignCreate, response: HttpResponse):
    campaign = services.campaign_create(actor=request.auth, **_campaign_args(payload))
    response["ETag"] = etag(campaign)
    return Status(201, campaign)


@router.get(
    "/campaigns/{campaign_id}",
    response={200: CampaignOut, **PROBLEM_RESPONSES},
    summary="A campaign",
    operation_id="campaign_detail",
)
def campaign_detail(request: HttpRequest, campaign_id: ObjectId, response: HttpResponse):
    campaign = _campaign(request, campaign_id)
    response["ETag"] = etag(campaign)
    return campaign


@router.patch(
    "/campaigns/{campaign_id}",
    response={200: CampaignOut, **PROBLEM_RESPONSES},
    summary="Change a campaign",
    operation_id="campaign_update",
)
def campaign_update(
    request: HttpRequest, campaign_id: ObjectId, payload: CampaignUpdate, response: HttpResponse
):
    campaign = _campaign(request, campaign_id, CHANGE)
    check_if_match(request, campaign)
    campaign = services.campaign_update(
        actor=request.auth, campaign=campaign, **_campaign_args(payload)
    )
    response["ETag"] = etag(campaign)
    return campaign


@router.delete(
    "/campaigns/{campaign_id}",
    response={204: None, **PROBLEM_RESPONSES},
    summary="Delete a campaign with its costs, members and touches",
    operation_id="campaign_delete",
)
def campaign_delete(request: HttpRequest, campaign_id: ObjectId):
    campaign = _campaign(request, campaign_id, CHANGE)
    check_if_match(request, campaign)
    services.campaign_delete(actor=request.auth, campaign=campaign)
    return Status(204, None)


@router.get(
    "/campaigns/{campaign_id}/funnel",
    response={200: FunnelOut, **PROBLEM_RESPONSES},
    summary="The campaign's funnel, cost per lead, cost per won customer and ROI",
    operation_id="campaign_funnel",
)
def campaign_funnel(
    request: HttpRequest, campaign_id: ObjectId, model: Literal["first", "last"] = "first"
):
    return queries.funnel(_campaign(request, campaign_id), model=model).as_dict()


@router.get(
    "/campaigns/{campaign_id}/costs",
    response={200: list[CostOut], **PROBLEM_RESPONSES},
    summary="The campaign's costs",
    operation_id="campaign_cost_list",
)
def cost_list(request: HttpRequest, campaign_id: ObjectId):
    return list(_campaign(request, campaign_id).costs.all())


@router.post(
    "/campaigns/{campaign_id}/costs",
    response={201: CostOut, **PROBLEM_RESPONSES},
    summary="Enter a cost of the campaign",
    operation_id="campaign_cost_create",
)
def cost_create(request: HttpRequest, campaign_id: ObjectId, payload: CostIn):
    campaign = _campaign(request, campaign_id, CHANGE)
    check_if_match(request, campaign)
    cost = services.cost_add(actor=request.auth, campaign=campaign, **payload.model_dump())
    return Status(201, cost)


@router.delete(
    "/campaigns/{campaign_id}/costs/{cost_id}",
    response={204: None, **PROBLEM_RESPONSES},
    summary="Remove a cost",
    operation_id="campaign_cost_delete",
)
def cost_delete(request: HttpRequest, campaign_id: ObjectId, cost_id: ObjectId):
    campaign = _campaign(request, campaign_id, CHANGE)
    cost = get_object_or_404(CampaignCost, pk=cost_id, campaign=campaign)
    services.cost_delete(actor=request.auth, cost=cost)
    return Status(204, None)


@router.get(
    "/campaigns/{campaign_id}/members",
    response=list[MemberOut],
    summary="The campaign's members and their responses",
    operation_id="campaign_member_list",
)
@paginate(Pagination)
def member_list(request: HttpRequest, campaign_id: ObjectId, response: ResponseName | None = None):
    campaign = _campaign(request, campaign_id)
    return queries.members_for_campaign(campaign, response=response or "")


@router.post(
    "/campaigns/{campaign_id}/members",
    response={200: MembersAddedOut, **PROBLEM_RESPONSES},
    summary="Add leads, parties or a segment's parties (members already in are skipped)",
    operation_id="campaign_member_add",
)
def member_add(request: HttpRequest, campaign_id: ObjectId, payload: MembersIn):
    campaign = _campaign(request, campaign_id, CHANGE)
    check_if_match(request, campaign)
    user = request.auth
    leads = [lead_get_for_user(user=user, pk=pk, related=()) for pk in payload.lead_ids]
    parties = [party_get_for_user(user=user, pk=pk) for pk in payload.party_ids]
    result = services.members_add(
        actor=user,
        campaign=campaign,
        leads=leads,
        parties=parties,
    )
    added, skipped = result.added, result.skipped
    if payload.segment_id is not None:
        segment = Segment.objects.filter(pk=payload.segment_id).first()
        if segment is None:
            raise ValidationError({"segment_id": _("No such segment.")})
        more = services.members_add_from_segment(actor=user, campaign=campaign, segment=segment)
        added, skipped = added + more.added, skipped + more.skipped
    return {"added": added, "skipped": skipped}


@router.post(
    "/campaigns/{campaign_id}/members/mark",
    response={200: MarkedOut, **PROBLEM_RESPONSES},
    summary="Mark (or clear) one response on many members",
    operation_id="campaign_member_mark",
)
def member_mark(request: HttpRequest, campaign_id: ObjectId, payload: MarkIn):
    campaign = _campaign(request, campaign_id, CHANGE)
    check_if_match(request, campaign)
    changed = services.members_mark(
        actor=request.auth,
        campaign=campaign,
        member_ids=payload.member_ids,
        response=payload.response,
        at=payload.at,
        clear=payload.clear,
    )
    return {"changed": changed}


@router.patch(
    "/campaigns/{campaign_id}/members/{member_id}",
    response={200: MemberOut, **PROBLEM_RESPONSES},
    summary="Set a member's response times and note",
    operation_id="campaign_member_update",
)
def member_update(
    request: HttpRequest, campaign_id: ObjectId, member_id: ObjectId, payload: MemberUpdate
):
    campaign = _campaign(request, campaign_id, CHANGE)
    member = get_object_or_404(CampaignMember, pk=member_id, campaign=campaign)
    data = payload.model_dump(exclude_unset=True)
    note = data.pop("note", None)
    responses = {name.removesuffix("_at"): value for name, value in data.items()}
    return services.member_update(actor=request.auth, member=member, responses=responses, note=note)


@router.delete(
    "/campaigns/{campaign_id}/members/{member_id}",
    response={204: None, **PROBLEM_RESPONSES},
    summary="Remove a member",
    operation_id="campaign_member_delete",
)
def member_delete(request: HttpRequest, campaign_id: ObjectId, member_id: ObjectId):
    campaign = _campaign(request, campaign_id, CHANGE)
    member = get_object_or_404(CampaignMember, pk=member_id, campaign=campaign)
    services.member_remove(actor=request.auth, member=member)
    return Status(204, None)


@router.post(
    "/campaigns/{campaign_id}/registrations",
    response={201: RegistrationOut, **PROBLEM_RESPONSES},
    summary="Register a lead, a party, or a new person (found or created as a lead) for an event",
    operation_id="campaign_event_register",
)
def event_register(request: HttpRequest, campaign_id: ObjectId, payload: RegistrationIn):
    campaign = _campaign(request, campaign_id, CHANGE)
    check_if_match(request, campaign)
    user = request.auth
    lead = party = None
    if payload.lead_id is not None:
        lead = lead_get_for_user(user=user, pk=payload.lead_id, related=())
    elif payload.party_id is not None:
        party = party_get_for_user(user=user, pk=payload.party_id)
    result = services.event_register(
        actor=user,
        campaign=campaign,
        lead=lead,
        party=party,
        first_name=payload.first_name,
        last_name=payload.last_name,
        email=payload.email,
        company=payload.company,
    )
    return Status(
        201,
        {
            "member": result.member,
            "lead_id": result.lead.pk if result.lead else None,
            "lead_created": result.lead_created,
        },
    )


@router.post(
    "/campaigns/{campaign_id}/members/{member_id}/attendance",
    response={200: MemberOut, **PROBLEM_RESPONSES},
    summary="Tick (or untick) a member's attendance at an event",
    operation_id="campaign_event_attend",
)
def event_attend(
    request: HttpRequest, campaign_id: ObjectId, member_id: ObjectId, payload: AttendIn
):
    campaign = _campaign(request, campaign_id, CHANGE)
    member = get_object_or_404(CampaignMember, pk=member_id, campaign=campaign)
    return services.event_attend(actor=request.auth, member=member, attended=payload.attended)


def _attribution_out(attribution) -> dict:
    if attribution is None:
        return {
            "first_campaign_id": None,
            "first_campaign": None,
            "last_campaign_id": None,
            "last_campaign": None,
        }
    out = {
        "first_campaign_id": attribution.first_campaign_id,
        "first_campaign": str(attribution.first_campaign) if attribution.first_campaign else None,
        "last_campaign_id": attribution.last_campaign_id,
        "last_campaign": str(attribution.last_campaign) if attribution.last_campaign else None,
    }
    for name in ("first_at", "last_at"):
        if hasattr(attribution, name):
            out[name] = getattr(attribution, name)
    return out


@router.get(
    "/leads/{lead_id}/attribution",
    response={200: AttributionOut, **PROBLEM_RESPONSES},
    summary="The lead's first- and last-touch campaign",
    operation_id="lead_attribution",
)
def lead_attribution(request: HttpRequest, lead_id: ObjectId):
    lead = lead_get_for_user(user=request.auth, pk=lead_id, related=())
    return _attribution_out(queries.attribution_of_lead(lead))


@router.get(
    "/deals/{deal_id}/attribution",
    response={200: AttributionOut, **PROBLEM_RESPONSES},
    summary="The deal's first- and last-touch campaign",
    operation_id="deal_attribution",
)
def deal_attribution(request: HttpRequest, deal_id: ObjectId):
    deal = deal_get_for_user(user=request.auth, pk=deal_id, details=False)
    return _attribution_out(queries.attribution_of_deal(deal))
