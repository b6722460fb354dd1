"""API routes for segments: CRUD, live members and count, static members, the counts over
time, saved views turned into segments, and the catalogue of condition fields."""

import datetime as dt
from typing import Annotated, Any, Literal

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
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
from kreis.core.models import SavedView, Team
from kreis.marketing.models import SegmentKind
from kreis.marketing.segments import queries, services
from kreis.parties.queries import party_list_for_user

router = Router(tags=["segments"])

KindName = Literal[tuple(SegmentKind.values)]  # type: ignore[valid-type]
Match = Literal["all", "any"]
Name = Annotated[str, Field(min_length=1, max_length=120, pattern=r"^[^\x00]*$")]
Description = Annotated[str, Field(max_length=5000, pattern=r"^[^\x00]*$")]


class ConditionIn(Input):
    field: str = Field(max_length=120, description="A key of GET /marketing/segments/fields")
    op: str = Field(max_length=30, description="One of the field's operators")
    value: Any = Field(
        None,
        description="One value; a list for `in` and for `between` [from, to]; a number of days "
        "for `within_last_days`; none for `is_empty`/`not_empty`.",
    )


class SegmentOut(Schema):
    id: int
    name: str
    description: str
    kind: str
    match: str
    conditions: list[dict]
    source_view_id: int | None
    owner_id: int | None
    team_id: int | None
    member_count: int | None
    counted_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


class SegmentWrite(Input):
    description: Description | None = None
    kind: KindName | None = None
    match: Match | None = None
    conditions: list[ConditionIn] | None = Field(None, max_length=queries.MAX_CONDITIONS)
    team_id: IdValue | None = None


class SegmentCreate(SegmentWrite):
    name: Name


class SegmentUpdate(SegmentWrite):
    name: Name | None = None


class MemberOut(Schema):
    id: int
    kind: str
    name: str
    abc_class: str
    lifecycle_phase: str
    clv: float | None
    owner_id: int | None
    team_id: int | None


class CountOut(Schema):
    count: int = Field(description="Live members (every party, whether you may see it or not).")
    visible: int = Field(description="Of those, the parties you may see.")


class SegmentMembersIn(Input):
    party_ids: list[IdValue] = Field(min_length=1, max_length=10_000)


class MembersChangedOut(Schema):
    changed: int
    count: int


class SnapshotOut(Schema):
    day: dt.date
    count: int


class FieldOut(Schema):
    key: str
    label: str
    group: str
    type: str
    operators: list[str]
    choices: list[list[str]]


class FromViewIn(Input):
    view_id: IdValue
    name: Name | None = None
    snapshot: bool = Field(False, description="A static list even when the filters translate.")


class FromViewOut(Schema):
    segment: SegmentOut
    dynamic: bool
    untranslated: list[str] = Field(description="The view's filters without a condition.")


def _segment(request: HttpRequest, segment_id: int, *, write: bool = False):
    return queries.segment_get_for_user(user=request.auth, pk=segment_id, write=write)


def _args(request: HttpRequest, payload: Input) -> dict:
    data = payload.model_dump(exclude_unset=True)
    args: dict[str, Any] = {k: v for k, v in data.items() if v is not None}
    if "conditions" in args:
        args["conditions"] = [dict(c) for c in args["conditions"]]
    if "team_id" in data:
        team_id = args.pop("team_id", None)
        team = None
        if team_id:
            team = Team.objects.filter(pk=team_id).first()
            user = request.auth
            if team is None or not (user.is_admin or team.pk in user.team_ids()):
                raise ValidationError({"team_id": _("Choose one of your teams.")})
        args["team"] = team
    return args


@router.get(
    "/marketing/segments",
    response=list[SegmentOut],
    summary="List segments",
    operation_id="segment_list",
)
@paginate(Pagination)
def segment_list(request: HttpRequest, kind: KindName | None = None):
    if not request.auth.has_perm("marketing.view"):
        raise PermissionDenied
    qs = queries.segment_list_for_user(user=request.auth)
    return qs.filter(kind=kind) if kind else qs


@router.get(
    "/marketing/segments/fields",
    response=list[FieldOut],
    summary="The fields, operators and values segment conditions can use",
    operation_id="segment_fields",
)
def segment_fields(request: HttpRequest):
    if not request.auth.has_perm("marketing.view"):
        raise PermissionDenied
    return [
        {
            "key": spec.key,
            "label": str(spec.label),
            "group": spec.group,
            "type": spec.type,
            "operators": list(spec.operators),
            "choices": [[str(v), str(label)] for v, label in spec.choices],
        }
        for spec in queries.condition_fields()
    ]


@router.post(
    "/marketing/segments",
    response={201: SegmentOut, **PROBLEM_RESPONSES},
    summary="Create a segment",
    operation_id="segment_create",
)
def segment_create(request: HttpRequest, payload: SegmentCreate, response: HttpResponse):
    segment = services.segment_create(actor=request.auth, **_args(request, payload))
    response["ETag"] = etag(segment)
    return Status(201, segment)


@router.post(
    "/marketing/segments/from-view",
    response={201: FromViewOut, **PROBLEM_RESPONSES},
    summary="Make a segment from one of your saved party-list views",
    operation_id="segment_from_view",
)
def segment_from_view(request: HttpRequest, payload: FromViewIn):
    if not request.auth.has_perm("marketing.add"):
        raise PermissionDenied
    view = SavedView.objects.filter(
        pk=payload.view_id, user=request.auth, list_name="parties"
    ).first()
    if view is None:
        raise ValidationError({"view_id": _("No such saved party view of yours.")})
    made = services.segment_from_saved_view(
        actor=request.auth, view=view, name=payload.name or "", snapshot=payload.snapshot
    )
    return Status(
        201,
        {"segment": made.segment, "dynamic": made.dynamic, "untranslated": made.untranslated},
    )


@router.get(
    "/marketing/segments/{segment_id}",
    response={200: SegmentOut, **PROBLEM_RESPONSES},
    summary="A segment",
    operation_id="segment_detail",
)
def segment_detail(request: HttpRequest, segment_id: ObjectId, response: HttpResponse):
    segment = _segment(request, segment_id)
    response["ETag"] = etag(segment)
    return segment


@router.patch(
    "/marketing/segments/{segment_id}",
    response={200: SegmentOut, **PROBLEM_RESPONSES},
    summary="Change a segment",
    operation_id="segment_update",
)
def segment_update(
    request: HttpRequest, segment_id: ObjectId, payload: SegmentUpdate, response: HttpResponse
):
    segment = _segment(request, segment_id, write=True)
    check_if_match(request, segment)
    segment = services.segment_update(
        actor=request.auth, segment=segment, **_args(request, payload)
    )
    response["ETag"] = etag(segment)
    return segment


@router.delete(
    "/marketing/segments/{segment_id}",
    response={204: None, **PROBLEM_RESPONSES},
    summary="Delete a segment",
    operation_id="segment_delete",
)
def segment_delete(request: HttpRequest, segment_id: ObjectId):
    segment = _segment(request, segment_id, write=True)
    check_if_match(request, segment)
    services.segment_delete(actor=request.auth, segment=segment)
    return Status(204, None)


@router.get(
    "/marketing/segments/{segment_id}/members",
    response={200: list[MemberOut], **PROBLEM_RESPONSES},
    summary="The segment's live members you may see",
    operation_id="segment_members",
)
@paginate(Pagination)
def segment_members(request: HttpRequest, segment_id: ObjectId):
    segment = _segment(request, segment_id)
    return (
        party_list_for_user(user=request.auth, extra={"segment": str(segment.pk)})
        .prefetch_related(None)
        .select_related(None)
        .only("id", "kind", "name", "abc_class", "lifecycle_phase", "clv", "owner", "team")
    )


@router.get(
    "/marketing/segments/{segment_id}/count",
    response={200: CountOut, **PROBLEM_RESPONSES},
    summary="The segment's live member count",
    operation_id="segment_count",
)
def segment_count(request: HttpRequest, segment_id: ObjectId):
    segment = _segment(request, segment_id)
    return {
        "count": queries.count_members(segment),
        "visible": queries.segment_parties(segment, user=request.auth).count(),
    }


@router.post(
    "/marketing/segments/{segment_id}/members",
    response={200: MembersChangedOut, **PROBLEM_RESPONSES},
    summary="Put parties on a static segment's list",
    operation_id="segment_members_add",
)
def segment_members_add(request: HttpRequest, segment_id: ObjectId, payload: SegmentMembersIn):
    segment = _segment(request, segment_id, write=True)
    check_if_match(request, segment)
    added = services.members_add(actor=request.auth, segment=segment, party_ids=payload.party_ids)
    return {"changed": added, "count": segment.member_count or 0}


@router.delete(
    "/marketing/segments/{segment_id}/members",
    response={200: MembersChangedOut, **PROBLEM_RESPONSES},
    summary="Take parties off a static segment's list",
    operation_id="segment_members_remove",
)
def segment_members_remove(request: HttpRequest, segment_id: ObjectId, payload: SegmentMembersIn):
    segment = _segment(request, segment_id, write=True)
    check_if_match(request, segment)
    removed = services.members_remove(
        actor=request.auth, segment=segment, party_ids=payload.party_ids
    )
    return {"changed": removed, "count": segment.member_count or 0}


@router.get(
    "/marketing/segments/{segment_id}/snapshots",
    response={200: list[SnapshotOut], **PROBLEM_RESPONSES},
    summary="The segment's member count per day (the last year)",
    operation_id="segment_snapshots",
)
def segment_snapshots(request: HttpRequest, segment_id: ObjectId):
    segment = _segment(request, segment_id)
    return queries.snapshots(segment)
