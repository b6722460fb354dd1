"""API routes of the phone channel: logging a call, call lists (built from a segment or a
campaign), their entries and results, claiming the next entry and logging its outcome."""

import datetime as dt
from typing import Annotated, Literal

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from kreis.activities import queries as activity_queries
from kreis.activities.models import CallOutcome, Direction
from kreis.calls import queries, services
from kreis.calls.models import CallResult, EntryState
from kreis.core.api_support import (
    PROBLEM_RESPONSES,
    IdValue,
    Input,
    ObjectId,
    Pagination,
    check_if_match,
    etag,
    if_match_write,
    with_etag,
)
from kreis.core.models import Team, User
from kreis.marketing.campaigns.queries import campaign_get_for_user
from kreis.marketing.models import ConsentPurpose
from kreis.marketing.segments.queries import segment_get_for_user

router = Router(tags=["calls"])

OutcomeName = Literal[tuple(CallOutcome.values)]  # type: ignore[valid-type]
DirectionName = Literal[tuple(Direction.values)]  # type: ignore[valid-type]
ResultName = Literal[tuple(CallResult.values)]  # type: ignore[valid-type]
StateName = Literal[tuple(EntryState.values)]  # type: ignore[valid-type]
PurposeName = Literal[tuple(ConsentPurpose.values)]  # type: ignore[valid-type]
Name = Annotated[str, Field(min_length=1, max_length=120)]
Script = Annotated[str, Field(max_length=services.SCRIPT_MAX)]
Notes = Annotated[str, Field(max_length=services.NOTES_MAX)]
Minutes = Annotated[int, Field(ge=0, le=1440)]
Attempts = Annotated[int, Field(ge=1, le=20)]


class CallIn(Input):
    party_id: IdValue | None = None
    lead_id: IdValue | None = None
    deal_id: IdValue | None = None
    phone: Annotated[str, Field(max_length=40)] = ""
    outcome: OutcomeName | Literal[""] = ""
    direction: DirectionName = "outbound"
    duration_minutes: Minutes | None = None
    notes: Notes = ""
    occurred_at: dt.datetime | None = None


class CallOut(Schema):
    id: int
    subject: str
    party_id: int | None
    lead_id: int | None
    deal_id: int | None
    direction: str
    outcome: str
    duration_minutes: int | None
    occurred_at: dt.datetime


class ResultsOut(Schema):
    total: int
    to_call: int
    finished: int
    percent: int
    states: dict[str, int]
    results: dict[str, int]
    skipped: dict[str, int]


class CallListOut(Schema):
    id: int
    name: str
    purpose: str
    segment_id: int | None
    campaign_id: int | None
    script: str
    max_attempts: int
    assignee_ids: list[int]
    owner_id: int | None
    team_id: int | None
    is_closed: bool
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_assignee_ids(obj) -> list[int]:
        return sorted(u.pk for u in obj.assignees.all())


class CallListCreateIn(Input):
    name: Name
    segment_id: IdValue | None = Field(None, description="Build from this segment …")
    campaign_id: IdValue | None = Field(None, description="… or from this campaign's members.")
    purpose: PurposeName = "phone"
    script: Script = ""
    max_attempts: Attempts = 3
    assignee_ids: list[IdValue] = Field(default_factory=list, max_length=200)
    team_id: IdValue | None = None


class CallListUpdateIn(Input):
    name: Name | None = None
    script: Script | None = None
    max_attempts: Attempts | None = None
    assignee_ids: list[IdValue] | None = Field(None, max_length=200)
    team_id: IdValue | None = None
    is_closed: bool | None = None


class BuiltOut(Schema):
    call_list: CallListOut
    to_call: int
    skipped: dict[str, int]


class EntryOut(Schema):
    id: int
    call_list_id: int
    party_id: int
    party_name: str
    phone: str
    position: int
    state: str
    skip_reason: str
    due_at: dt.datetime
    claimed_by_id: int | None
    attempts: int
    result: str
    last_activity_id: int | None
    called_by_id: int | None
    called_at: dt.datetime | None
    updated_at: dt.datetime

    @staticmethod
    def resolve_party_name(obj) -> str:
        return obj.party.name


class EntryLogIn(Input):
    result: ResultName
    notes: Notes = ""
    duration_minutes: Minutes | None = None
    call_back_at: dt.datetime | None = Field(None, description="Needed for call_back.")


class EntryLogOut(Schema):
    entry: EntryOut
    activity_id: int


# --- a single call ----------------------------------------------------------------------------


@router.post(
    "/calls/log",
    response={201: CallOut, **PROBLEM_RESPONSES},
    summary="Log a call (a tel: click) on a party, lead and/or deal",
    operation_id="calls_log",
)
def call_log(request: HttpRequest, payload: CallIn):
    user = request.auth
    links = {}
    for name, fetch in (
        ("party", activity_queries.party_for_user),
        ("lead", activity_queries.lead_for_user),
        ("deal", activity_queries.deal_for_user),
    ):
        pk = getattr(payload, f"{name}_id")
        if pk:
            links[name] = fetch(user=user, pk=pk)
    activity = services.call_log(
        actor=user,
        phone=payload.phone,
        outcome=payload.outcome,
        direction=payload.direction,
        duration_minutes=payload.duration_minutes,
        notes=payload.notes,
        occurred_at=payload.occurred_at,
        **links,
    )
    return Status(201, activity)


# --- call lists -------------------------------------------------------------------------------


def _users(ids: list[int] | None) -> list[User] | None:
    if ids is None:
        return None
    users = list(User.objects.filter(pk__in=ids))
    if len(users) != len(set(ids)):
        raise ValidationError({"assignee_ids": _("No such user.")})
    return users


def _team(team_id):
    return get_object_or_404(Team, pk=team_id) if team_id else None


@router.get(
    "/calls/lists",
    response=list[CallListOut],
    summary="The call lists you see (assigned to you or your teams; managers: all)",
    operation_id="calls_list_list",
)
@paginate(Pagination)
def list_list(request: HttpRequest, closed: bool | None = None):
    qs = queries.lists_for_user(user=request.auth).prefetch_related("assignees")
    return qs if closed is None else qs.filter(is_closed=closed)


@router.post(
    "/calls/lists",
    response={201: BuiltOut, **PROBLEM_RESPONSES},
    summary="Build a call list from a segment or a campaign (phone consent checked)",
    operation_id="calls_list_create",
)
def list_create(request: HttpRequest, payload: CallListCreateIn, response: HttpResponse):
    user = request.auth
    if not user.has_perm("calls.add"):
        raise PermissionDenied
    segment = segment_get_for_user(user=user, pk=payload.segment_id) if payload.segment_id else None
    campaign = (
        campaign_get_for_user(user=user, pk=payload.campaign_id) if payload.campaign_id else None
    )
    built = services.call_list_create(
        actor=user,
        name=payload.name,
        segment=segment,
        campaign=campaign,
        purpose=payload.purpose,
        script=payload.script,
        max_attempts=payload.max_attempts,
        assignees=_users(payload.assignee_ids) or [],
        team=_team(payload.team_id),
    )
    response["ETag"] = etag(built.call_list)
    return Status(
        201, {"call_list": built.call_list, "to_call": built.to_call, "skipped": built.skipped}
    )


@router.get(
    "/calls/lists/{call_list_id}",
    response={200: CallListOut, **PROBLEM_RESPONSES},
    summary="A call list",
    operation_id="calls_list_detail",
)
def list_detail(request: HttpRequest, call_list_id: ObjectId, response: HttpResponse):
    return with_etag(response, queries.list_get_for_user(user=request.auth, pk=call_list_id))


@router.patch(
    "/calls/lists/{call_list_id}",
    response={200: CallListOut, **PROBLEM_RESPONSES},
    summary="Change a call list: name, script, attempts, team, assignees, closed",
    operation_id="calls_list_update",
)
def list_update(
    request: HttpRequest, call_list_id: ObjectId, payload: CallListUpdateIn, response: HttpResponse
):
    user = request.auth
    call_list = queries.list_get_for_user(user=user, pk=call_list_id, perm="calls.change_list")
    data = payload.model_dump(exclude_unset=True)
    assignees = _users(data.pop("assignee_ids", None))
    if "team_id" in data:
        data["team"] = _team(data.pop("team_id"))
    changes = {k: v for k, v in data.items() if v is not None or k == "team"}
    return if_match_write(
        request,
        call_list,
        lambda record: services.call_list_update(
            actor=user, call_list=record, assignees=assignees, **changes
        ),
        response,
    )


@router.get(
    "/calls/lists/{call_list_id}/results",
    response={200: ResultsOut, **PROBLEM_RESPONSES},
    summary="Progress and results of a call list (entries per state, result, skip reason)",
    operation_id="calls_list_results",
)
def list_results(request: HttpRequest, call_list_id: ObjectId):
    call_list = queries.list_get_for_user(user=request.auth, pk=call_list_id)
    r = queries.results(call_list)
    return {
        "total": r.total,
        "to_call": r.to_call,
        "finished": r.finished,
        "percent": r.percent,
        "states": r.states,
        "results": r.results,
        "skipped": r.skipped,
    }


@router.get(
    "/calls/lists/{call_list_id}/entries",
    response={200: list[EntryOut], **PROBLEM_RESPONSES},
    summary="The entries of a call list, in list order",
    operation_id="calls_entry_list",
)
@paginate(Pagination)
def entry_list(
    request: HttpRequest,
    call_list_id: ObjectId,
    state: StateName | None = None,
    result: ResultName | None = None,
):
    call_list = queries.list_get_for_user(user=request.auth, pk=call_list_id)
    return queries.entries(call_list, state=state or "", result=result or "")


@router.post(
    "/calls/lists/{call_list_id}/next",
    response={200: EntryOut, 204: None, **PROBLEM_RESPONSES},
    summary="Claim the next entry to call (204: nothing due now; If-Match: the list's tag)",
    operation_id="calls_entry_next",
)
def entry_next(request: HttpRequest, call_list_id: ObjectId, response: HttpResponse):
    user = request.auth
    call_list = queries.list_get_for_user(user=user, pk=call_list_id, perm="calls.work_list")
    check_if_match(request, call_list)
    entry = services.entry_claim_next(actor=user, call_list=call_list)
    if entry is None:
        return Status(204, None)
    return with_etag(response, queries.entry_get_for_user(user=user, pk=entry.pk))


@router.get(
    "/calls/entries/{call_entry_id}",
    response={200: EntryOut, **PROBLEM_RESPONSES},
    summary="One entry of a call list",
    operation_id="calls_entry_detail",
)
def entry_detail(request: HttpRequest, call_entry_id: ObjectId, response: HttpResponse):
    return with_etag(response, queries.entry_get_for_user(user=request.auth, pk=call_entry_id))


@router.post(
    "/calls/entries/{call_entry_id}/log",
    response={200: EntryLogOut, **PROBLEM_RESPONSES},
    summary="Log the call on an entry: its result (a CALL activity on the party's timeline)",
    operation_id="calls_entry_log",
)
def entry_log(
    request: HttpRequest, call_entry_id: ObjectId, payload: EntryLogIn, response: HttpResponse
):
    user = request.auth
    entry = queries.entry_get_for_user(user=user, pk=call_entry_id, perm="calls.work_list")
    check_if_match(request, entry)
    activity = services.entry_log(
        actor=user,
        entry=entry,
        result=payload.result,
        notes=payload.notes,
        duration_minutes=payload.duration_minutes,
        call_back_at=payload.call_back_at,
    )
    entry = with_etag(response, queries.entry_get_for_user(user=user, pk=entry.pk))
    return {"entry": entry, "activity_id": activity.pk}


@router.post(
    "/calls/entries/{call_entry_id}/release",
    response={200: EntryOut, **PROBLEM_RESPONSES},
    summary="Give a claimed entry back untouched (skip it for now)",
    operation_id="calls_entry_release",
)
def entry_release(request: HttpRequest, call_entry_id: ObjectId, response: HttpResponse):
    user = request.auth
    entry = queries.entry_get_for_user(user=user, pk=call_entry_id, perm="calls.work_list")
    check_if_match(request, entry)
    services.entry_release(actor=user, entry=entry)
    return with_etag(response, queries.entry_get_for_user(user=user, pk=entry.pk))
