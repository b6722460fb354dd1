"""API routes of the unified inbox: the queue with filters (paged), one item (with its
``ETag``), a change of one item (``If-Match``), a change of many (all or nothing, each item
checked), and the first-response SLA per channel."""

import datetime as dt
from typing import Annotated, Literal

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from ninja import Field, Router, Schema
from ninja.pagination import paginate

from kreis.core.api_support import (
    PROBLEM_RESPONSES,
    IdValue,
    Input,
    ObjectId,
    Pagination,
    SearchText,
    if_match_write,
    with_etag,
)
from kreis.inbox import queries, services, sla
from kreis.inbox.models import InboxChannel, ItemStatus

router = Router(tags=["inbox"])

ChannelName = Literal[tuple(InboxChannel.values)]  # type: ignore[valid-type]
StatusName = Literal[tuple(ItemStatus.values)]  # type: ignore[valid-type]
StatusFilter = Literal[(*ItemStatus.values, "all")]  # type: ignore[valid-type]
AssigneeFilter = Literal[queries.ASSIGNEE_FILTERS]  # type: ignore[valid-type]


class ItemOut(Schema):
    id: int
    channel: str
    source_type: str
    source_id: int
    subject: str
    excerpt: str
    sender: str
    received_at: dt.datetime
    party_id: int | None
    case_id: int | None
    lead_id: int | None
    deal_id: int | None
    assignee_id: int | None
    assigned_team_id: int | None
    status: str
    snoozed_until: dt.datetime | None
    first_response_due_at: dt.datetime | None
    first_responded_at: dt.datetime | None
    sla_breached: bool
    updated_at: dt.datetime

    @staticmethod
    def resolve_sla_breached(obj) -> bool:
        from django.utils import timezone

        return obj.is_breached(timezone.now())


class ItemWrite(Input):
    """Only the fields given change. ``assignee_id``/``assigned_team_id`` null: unassigned.
    ``status`` snoozed needs ``snoozed_until`` in the future. ``answered`` records the first
    response now (once)."""

    assignee_id: IdValue | None = None
    assigned_team_id: IdValue | None = None
    status: StatusName | None = None
    snoozed_until: dt.datetime | None = None
    answered: bool = False


class BulkWrite(ItemWrite):
    ids: Annotated[list[IdValue], Field(min_length=1, max_length=services.MAX_BULK)]


class BulkOut(Schema):
    changed: int
    items: list[ItemOut]


class PolicyOut(Schema):
    channel: str
    label: str
    hours: int
    calendar: str
    calendar_id: int | None
    configured: bool

    @staticmethod
    def resolve_label(obj) -> str:
        return str(obj["label"])  # the channel's name is a lazy translation


class PolicyWrite(Input):
    hours: Annotated[int, Field(ge=1, le=10_000)]
    calendar_id: IdValue | None = None


def _change(payload: ItemWrite) -> services.Change:
    given = payload.model_fields_set
    change = services.Change(
        status=payload.status, snoozed_until=payload.snoozed_until, answered=payload.answered
    )
    if "assignee_id" in given:
        change.assignee = services.user_get(payload.assignee_id)
    if "assigned_team_id" in given:
        change.assigned_team = services.team_get(payload.assigned_team_id)
    return change


@router.get(
    "/inbox/items",
    response=list[ItemOut],
    summary="The inbox: items the caller may see, newest first",
    operation_id="inbox_item_list",
)
@paginate(Pagination)
def item_list(
    request: HttpRequest,
    channel: ChannelName | None = None,
    status: StatusFilter | None = None,
    assignee: AssigneeFilter | None = None,
    breached: bool = False,
    party_id: IdValue | None = None,
    q: SearchText = "",
):
    filters = queries.ItemFilters(
        channel=channel or "",
        status=status or "",
        assignee=assignee or "",
        breached=breached,
        party_id=party_id,
        search=q.replace("\x00", "").strip(),
    )
    return queries.item_list_for_user(user=request.auth, filters=filters)


@router.get(
    "/inbox/items/{item_id}",
    response={200: ItemOut, **PROBLEM_RESPONSES},
    summary="An inbox item",
    operation_id="inbox_item_detail",
)
def item_detail(request: HttpRequest, item_id: ObjectId, response: HttpResponse):
    return with_etag(response, queries.item_get_for_user(user=request.auth, pk=item_id))


@router.patch(
    "/inbox/items/{item_id}",
    response={200: ItemOut, **PROBLEM_RESPONSES},
    summary="Assign, set the status, snooze or mark answered (If-Match: the ETag)",
    operation_id="inbox_item_update",
)
def item_update(
    request: HttpRequest, item_id: ObjectId, payload: ItemWrite, response: HttpResponse
):
    item = queries.item_get_for_user(user=request.auth, pk=item_id)
    change = _change(payload)
    return if_match_write(
        request,
        item,
        lambda i: services.item_update(actor=request.auth, item=i, change=change),
        response,
    )


@router.post(
    "/inbox/bulk",
    response={200: BulkOut, **PROBLEM_RESPONSES},
    summary="The same change on many items, all or nothing (each item permission-checked)",
    operation_id="inbox_item_bulk",
)
def item_bulk(request: HttpRequest, payload: BulkWrite):
    visible = set(
        queries.items_for_user(user=request.auth)
        .filter(pk__in=payload.ids)
        .values_list("pk", flat=True)
    )
    hidden = sorted(set(payload.ids) - visible)
    if hidden:
        raise ValidationError({"ids": f"No such items: {', '.join(map(str, hidden))}"})
    items = services.items_bulk_update(actor=request.auth, ids=payload.ids, change=_change(payload))
    return {"changed": len(items), "items": items}


@router.get(
    "/inbox/sla",
    response=list[PolicyOut],
    summary="The first-response time of each channel",
    operation_id="inbox_sla_list",
)
def sla_list(request: HttpRequest):
    return sla.policy_table()


@router.put(
    "/inbox/sla/{channel}",
    response={200: PolicyOut, **PROBLEM_RESPONSES},
    summary="Set a channel's first-response time (administrators)",
    operation_id="inbox_sla_set",
)
def sla_set(request: HttpRequest, channel: ChannelName, payload: PolicyWrite):
    from kreis.service.models import SlaPolicy as CaseSla

    if not request.auth.is_admin:
        raise PermissionDenied
    calendar = None
    if payload.calendar_id is not None:
        calendar = CaseSla.objects.filter(pk=payload.calendar_id).first()
        if calendar is None:
            raise ValidationError({"calendar_id": "No such complaint SLA policy."})
    services.sla_policy_set(
        actor=request.auth, channel=channel, hours=payload.hours, calendar=calendar
    )
    return next(row for row in sla.policy_table() if row["channel"] == channel)
