"""API routes of activities: CRUD with kind-specific fields, complete/reopen, bulk import."""

from datetime import date, datetime
from typing import Any, Literal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from kreis.activities import queries, services
from kreis.activities.models import Activity, ActivityKind, CallOutcome, Direction
from kreis.core.api_support import (
    PROBLEM_RESPONSES,
    IdValue,
    Input,
    ObjectId,
    Pagination,
    SearchText,
    check_if_match,
    etag,
)
from kreis.core.queries import team_get_for_user, user_get_for_user
from kreis.parties.models import Party

router = Router(tags=["activities"])

KindName = Literal[tuple(ActivityKind.values)]  # type: ignore[valid-type]
DirectionName = Literal[tuple(Direction.values)]  # type: ignore[valid-type]
OutcomeName = Literal[tuple(CallOutcome.values)]  # type: ignore[valid-type]
Ordering = Literal["date", "-date", "subject", "-subject", "created", "-created"]
MAX_BULK = 1000


class ActivityOut(Schema):
    id: int
    kind: str
    subject: str
    body: str = Field(description="Sanitised HTML.")
    occurred_at: datetime = Field(description="When it happened, starts (meeting) or is due.")
    ends_at: datetime | None
    reminder_at: datetime | None
    reminded_at: datetime | None
    done_at: datetime | None
    direction: str
    duration_minutes: int | None
    outcome: str
    location: str
    party_id: int | None
    deal_id: int | None
    lead_id: int | None
    attendee_ids: list[int]
    owner_id: int | None
    team_id: int | None
    external_id: str | None
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_attendee_ids(obj: Activity) -> list[int]:
        return sorted(p.pk for p in obj.attendees.all())


class ActivityWrite(Input):
    subject: str | None = Field(None, max_length=200)
    body: str | None = Field(None, max_length=100_000)
    occurred_at: datetime | None = None
    ends_at: datetime | None = None
    reminder_at: datetime | None = None
    direction: DirectionName | None = None
    duration_minutes: int | None = Field(None, ge=0, le=1440)
    outcome: OutcomeName | Literal[""] | None = None
    location: str | None = Field(None, max_length=200)
    party_id: IdValue | None = None
    deal_id: IdValue | None = None
    lead_id: IdValue | None = None
    attendee_ids: list[IdValue] | None = Field(None, max_length=100)
    owner_id: IdValue | None = None
    team_id: IdValue | None = None
    external_id: str | None = Field(None, max_length=100)


class ActivityCreate(ActivityWrite):
    kind: KindName
    done: bool | None = Field(None, description="Default: tasks open, past calls/meetings done.")


class ActivityUpdate(ActivityWrite):
    pass


class CompleteIn(Input):
    outcome: OutcomeName | None = None


class BulkRow(ActivityCreate):
    party_external_id: str | None = Field(None, max_length=100)


class BulkIn(Input):
    items: list[BulkRow] = Field(min_length=1, max_length=MAX_BULK)


class BulkOut(Schema):
    created: int
    updated: int
    ids: list[int]


def _linked(user, model_fetch, pk: int | None, field: str):
    """A linked record the user may see; a hidden one is a validation error, not a 404."""
    if pk is None:
        return None
    try:
        return model_fetch(user=user, pk=pk)
    except Http404:
        raise ValidationError({field: _("No such record, or you may not see it.")}) from None


def _write_args(request: HttpRequest, payload: Input, *, party: Party | None = None) -> dict:
    user = request.auth
    data = payload.model_dump(exclude_unset=True)
    data.pop("party_external_id", None)
    args: dict[str, Any] = {}
    for name, fetch in (
        ("party", queries.party_for_user),
        ("deal", queries.deal_for_user),
        ("lead", queries.lead_for_user),
    ):
        if f"{name}_id" in data:
            args[name] = _linked(user, fetch, data.pop(f"{name}_id"), f"{name}_id")
    if party is not None:
        args["party"] = party
    if "attendee_ids" in data:
        ids = data.pop("attendee_ids") or []
        found = {p.pk: p for p in queries.parties_for_user(user=user).filter(pk__in=ids)}
        if set(ids) - set(found):
            raise ValidationError({"attendee_ids": _("No such party, or you may not see it.")})
        args["attendees"] = [found[i] for i in ids]
    if "owner_id" in data:
        owner_id = data.pop("owner_id")
        args["owner"] = _linked(user, user_get_for_user, owner_id, "owner_id")
    if "team_id" in data:
        team_id = data.pop("team_id")
        args["team"] = _linked(user, team_get_for_user, team_id, "team_id")
    args.update(data)
    return args


def _reload(request: HttpRequest, activity: Activity) -> Activity:
    return queries.activity_get_for_user(user=request.auth, pk=activity.pk, related=False)


@router.get(
    "/activities",
    response=list[ActivityOut],
    summary="List activities",
    operation_id="activity_list",
)
@paginate(Pagination)
def activity_list(
    request: HttpRequest,
    kind: KindName | None = None,
    party_id: IdValue | None = None,
    deal_id: IdValue | None = None,
    lead_id: IdValue | None = None,
    owner_id: IdValue | None = None,
    open: bool | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    q: SearchText = "",
    ordering: Ordering = "-date",
):
    state = "" if open is None else "open" if open else "done"
    return queries.activity_list_for_user(
        user=request.auth,
        kind=kind or "",
        party_id=party_id,
        deal_id=deal_id,
        lead_id=lead_id,
        owner_id=owner_id,
        state=state,
        date_from=date_from,
        date_to=date_to,
        search=q,
        sort=ordering,
    )


@router.post(
    "/activities",
    response={201: ActivityOut, **PROBLEM_RESPONSES},
    summary="Create an activity (task, call, meeting, note, e-mail)",
    operation_id="activity_create",
)
def activity_create(request: HttpRequest, payload: ActivityCreate, response: HttpResponse):
    args = _write_args(request, payload)
    activity = services.activity_create(actor=request.auth, **args)
    activity = _reload(request, activity)
    response["ETag"] = etag(activity)
    return Status(201, activity)


@router.post(
    "/activities/bulk",
    response={200: BulkOut, **PROBLEM_RESPONSES},
    summary="Create or update up to 1,000 activities at once (all or nothing)",
    description=(
        "Rows with an `external_id` that exists update that activity; others are created. "
        "A party is given by `party_id` or `party_external_id`. If any row fails, nothing is "
        "saved and the answer is 422 with `errors: [{row, field, message}]`."
    ),
    operation_id="activity_bulk",
)
def activity_bulk(request: HttpRequest, payload: BulkIn, response: HttpResponse):
    user = request.auth
    if user.is_read_only:
        raise PermissionDenied
    errors: list[dict] = []
    ids: list[int] = []
    counts = {"created": 0, "updated": 0}
    external_parties = {
        p.external_id: p
        for p in queries.parties_for_user(user=user).filter(
            external_id__in={r.party_external_id for r in payload.items if r.party_external_id}
        )
    }
    existing = {
        a.external_id: a
        for a in Activity.objects.filter(
            deleted_at__isnull=True,
            external_id__in={r.external_id for r in payload.items if r.external_id},
        )
    }
    with transaction.atomic():
        for row_number, row in enumerate(payload.items):
            try:
                ids.append(_bulk_row(request, row, external_parties, existing, counts))
            except ValidationError as exc:
                messages = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
                errors.extend(
                    {"row": row_number, "field": field or "body", "message": message}
                    for field, field_messages in messages.items()
                    for message in field_messages
                )
            except (PermissionDenied, Http404):
                errors.append(
                    {
                        "row": row_number,
                        "field": "external_id",
                        "message": _("You may not change this activity."),
                    }
                )
        if errors:
            transaction.set_rollback(True)
    if errors:
        response["Content-Type"] = "application/problem+json"
        return Status(
            422,
            {
                "type": "urn:kreis:problem:validation",
                "title": "Unprocessable Content",
                "status": 422,
                "detail": "No activity was saved: some rows are invalid.",
                "instance": request.path,
                "errors": errors,
            },
        )
    return {**counts, "ids": ids}


def _bulk_row(request, row: BulkRow, external_parties, existing, counts) -> int:
    party = None
    if row.party_external_id:
        if row.party_id:
            raise ValidationError({"party_id": _("Give party_id or party_external_id, not both.")})
        party = external_parties.get(row.party_external_id)
        if party is None:
            raise ValidationError({"party_external_id": _("No such party, or you may not see it.")})
    # Each row in a savepoint: a failed row must not poison the rows after it.
    with transaction.atomic():
        current = existing.get(row.external_id) if row.external_id else None
        args = _write_args(request, row, party=party)
        if current is not None:
            if not request.auth.has_perm("core.change_record", current):
                raise PermissionDenied
            args.pop("done", None)
            activity = services.activity_update(actor=request.auth, activity=current, **args)
            counts["updated"] += 1
        else:
            activity = services.activity_create(actor=request.auth, **args)
            counts["created"] += 1
    return activity.pk


@router.get(
    "/activities/{activity_id}",
    response={200: ActivityOut, **PROBLEM_RESPONSES},
    summary="An activity",
    operation_id="activity_detail",
)
def activity_detail(request: HttpRequest, activity_id: ObjectId, response: HttpResponse):
    activity = queries.activity_get_for_user(user=request.auth, pk=activity_id, related=False)
    response["ETag"] = etag(activity)
    return activity


@router.patch(
    "/activities/{activity_id}",
    response={200: ActivityOut, **PROBLEM_RESPONSES},
    summary="Change an activity (its kind stays)",
    operation_id="activity_update",
)
def activity_update(
    request: HttpRequest, activity_id: ObjectId, payload: ActivityUpdate, response: HttpResponse
):
    activity = queries.activity_get_for_user(user=request.auth, pk=activity_id, write=True)
    check_if_match(request, activity)
    services.activity_update(actor=request.auth, activity=activity, **_write_args(request, payload))
    activity = _reload(request, activity)
    response["ETag"] = etag(activity)
    return activity


@router.delete(
    "/activities/{activity_id}",
    response={204: None, **PROBLEM_RESPONSES},
    summary="Delete an activity (soft; restorable)",
    operation_id="activity_delete",
)
def activity_delete(request: HttpRequest, activity_id: ObjectId):
    activity = queries.activity_get_for_user(user=request.auth, pk=activity_id, write=True)
    check_if_match(request, activity)
    services.activity_delete(actor=request.auth, activity=activity)
    return Status(204, None)


@router.post(
    "/activities/{activity_id}/complete",
    response={200: ActivityOut, **PROBLEM_RESPONSES},
    summary="Mark a task done (a call or meeting held)",
    operation_id="activity_complete",
)
def activity_complete(
    request: HttpRequest,
    activity_id: ObjectId,
    response: HttpResponse,
    payload: CompleteIn | None = None,
):
    activity = queries.activity_get_for_user(user=request.auth, pk=activity_id, write=True)
    check_if_match(request, activity)
    outcome = payload.outcome if payload else None
    services.activity_complete(actor=request.auth, activity=activity, outcome=outcome)
    activity = _reload(request, activity)
    response["ETag"] = etag(activity)
    return activity


@router.post(
    "/activities/{activity_id}/reopen",
    response={200: ActivityOut, **PROBLEM_RESPONSES},
    summary="Open a done task again",
    operation_id="activity_reopen",
)
def activity_reopen(request: HttpRequest, activity_id: ObjectId, response: HttpResponse):
    activity = queries.activity_get_for_user(user=request.auth, pk=activity_id, write=True)
    check_if_match(request, activity)
    services.activity_reopen(actor=request.auth, activity=activity)
    activity = _reload(request, activity)
    response["ETag"] = etag(activity)
    return activity
