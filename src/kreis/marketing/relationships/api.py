"""API routes for relationship types: CRUD, the parties of a type, a party's type, and
applying the types now (as a job) or as a dry run."""

import datetime as dt
from typing import Annotated, Literal

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from kreis.core.api_support import (
    PROBLEM_RESPONSES,
    IdValue,
    Input,
    ObjectId,
    Pagination,
    etag,
    if_match_write,
    with_etag,
)
from kreis.core.models import Team, User
from kreis.core.queries import visible_records
from kreis.marketing.models import Segment
from kreis.marketing.relationships import queries, services, tasks
from kreis.marketing.relationships.models import Ownership, RelationshipType
from kreis.parties.models import Party

router = Router(tags=["relationship types"])

OwnershipName = Literal[tuple(Ownership.values)]  # type: ignore[valid-type]
TypeName = Annotated[str, Field(min_length=1, max_length=120, pattern=r"^[^\x00]*$")]
Text = Annotated[str, Field(max_length=5000, pattern=r"^[^\x00]*$")]
Priority = Annotated[int, Field(ge=0, le=32_767)]


class RelationshipTypeOut(Schema):
    id: int
    name: str
    name_de: str
    name_en: str
    segment_id: int
    priority: int
    ownership: str
    owner_id: int | None
    team_id: int | None
    keep_existing_owner: bool
    description: str
    is_active: bool
    applied_at: dt.datetime | None
    applied_count: int
    created_at: dt.datetime
    updated_at: dt.datetime


class RelationshipTypeIn(Input):
    name_de: TypeName
    name_en: TypeName
    segment_id: IdValue
    priority: Priority = 10
    ownership: OwnershipName = Ownership.TEAM.value
    owner_id: IdValue | None = None
    team_id: IdValue | None = None
    keep_existing_owner: bool = False
    description: Text = ""
    is_active: bool = True


class RelationshipTypePatch(Input):
    name_de: TypeName | None = None
    name_en: TypeName | None = None
    segment_id: IdValue | None = None
    priority: Priority | None = None
    ownership: OwnershipName | None = None
    owner_id: IdValue | None = None
    team_id: IdValue | None = None
    keep_existing_owner: bool | None = None
    description: Text | None = None
    is_active: bool | None = None


class RelationshipPartyOut(Schema):
    id: int
    name: str
    owner_id: int | None
    team_id: int | None


class PartyRelationshipTypeOut(Schema):
    party_id: int
    relationship_type_id: int | None
    relationship_type_name: str | None


class ApplyIn(Input):
    dry_run: bool = Field(
        False, description="Count what would change, write nothing (answers at once)."
    )


class ApplyOut(Schema):
    queued: bool
    members: int | None = None
    changed: int | None = None
    per_type: dict[str, int] | None = None


class ApplyStateOut(Schema):
    state: str | None
    done: int
    total: int
    changed: int
    error: str


REFERENCES = {
    "segment_id": ("segment", Segment),
    "owner_id": ("owner", User),
    "team_id": ("team", Team),
}


def _values(given: dict) -> dict:
    values, errors = {}, {}
    for name, value in given.items():
        if name in REFERENCES:
            field, model = REFERENCES[name]
            if value is None:
                if name == "segment_id":
                    continue
                values[field] = None
                continue
            found = model.objects.filter(pk=value).first()
            if found is None:
                errors[name] = _("Not found.")
            values[field] = found
        elif value is not None:
            values[name] = value
    if errors:
        raise ValidationError(errors)
    return values


@router.get(
    "/marketing/relationship-types",
    response=list[RelationshipTypeOut],
    summary="List relationship types (highest priority first)",
    operation_id="relationship_type_list",
)
@paginate(Pagination)
def relationship_type_list(request: HttpRequest):
    if not request.auth.has_perm("marketing.view_relationship_types"):
        raise PermissionDenied
    return queries.type_list_for_user(user=request.auth)


@router.post(
    "/marketing/relationship-types",
    response={201: RelationshipTypeOut, **PROBLEM_RESPONSES},
    summary="Create a relationship type",
    operation_id="relationship_type_create",
)
def relationship_type_create(
    request: HttpRequest, payload: RelationshipTypeIn, response: HttpResponse
):
    if not request.auth.has_perm("marketing.change_relationship_types"):
        raise PermissionDenied
    rtype = services.relationship_type_save(
        actor=request.auth, relationship_type=RelationshipType(), values=_values(payload.dict())
    )
    response["ETag"] = etag(rtype)
    return Status(201, rtype)


@router.post(
    "/marketing/relationship-types/apply",
    response={200: ApplyOut, 202: ApplyOut, **PROBLEM_RESPONSES},
    summary="Apply the relationship types: set owner and team of the segments' members",
    description="Queued as a job (202; its progress at GET …/apply); with dry_run the counts "
    "of what would change come back at once (200).",
    operation_id="relationship_type_apply",
)
def relationship_type_apply(request: HttpRequest, payload: ApplyIn):
    if not request.auth.has_perm("marketing.change_relationship_types"):
        raise PermissionDenied
    if payload.dry_run:
        result = services.relationship_types_apply(actor=request.auth, dry_run=True)
        return Status(
            200,
            {
                "queued": False,
                "members": result.members,
                "changed": result.changed,
                "per_type": {str(k): v for k, v in result.per_type.items()},
            },
        )
    tasks.apply_enqueue(actor=request.auth)
    return Status(202, {"queued": True})


@router.get(
    "/marketing/relationship-types/apply",
    response={200: ApplyStateOut, **PROBLEM_RESPONSES},
    summary="The progress of the running (or the last) application",
    operation_id="relationship_type_apply_state",
)
def relationship_type_apply_state(request: HttpRequest):
    if not request.auth.has_perm("marketing.view_relationship_types"):
        raise PermissionDenied
    entry = tasks.progress_get() or {}
    return {
        "state": entry.get("state"),
        "done": entry.get("done", 0),
        "total": entry.get("total", 0),
        "changed": entry.get("changed", 0),
        "error": entry.get("error", ""),
    }


class ApplyRunOut(Schema):
    id: int
    applied_at: dt.datetime
    started_by_id: int | None
    only_id: int | None
    changed: int
    undone_at: dt.datetime | None
    undone_by_id: int | None
    restored: int
    skipped: int
    skipped_type_deleted: int


class UndoOut(Schema):
    restored: int
    skipped: int = Field(
        description="Customers left as they are: changed since the application, or their "
        "previous type has been deleted since."
    )
    skipped_type_deleted: int = Field(
        description="Of the skipped: customers whose previous type has been deleted since "
        "(undoing would leave them with no type)."
    )


@router.get(
    "/marketing/relationship-types/applications",
    response={200: list[ApplyRunOut], **PROBLEM_RESPONSES},
    summary="The applications that changed customers, newest first (each can be undone once)",
    operation_id="relationship_type_run_list",
)
@paginate(Pagination)
def relationship_type_run_list(request: HttpRequest):
    return queries.run_list_for_user(user=request.auth)


@router.post(
    "/marketing/relationship-types/applications/{application_id}/undo",
    response={200: UndoOut, **PROBLEM_RESPONSES},
    summary="Undo an application: each customer's previous type, owner and team come back",
    description="In one transaction. Customers whose type, owner or team changed since, or whose "
    "previous type has been deleted since, are skipped and counted.",
    operation_id="relationship_type_run_undo",
)
def relationship_type_run_undo(request: HttpRequest, application_id: ObjectId):
    run = queries.run_get_for_user(user=request.auth, pk=application_id, write=True)
    result = services.relationship_apply_undo(actor=request.auth, run=run)
    return {
        "restored": result.restored,
        "skipped": result.skipped,
        "skipped_type_deleted": result.skipped_type_deleted,
    }


@router.get(
    "/marketing/relationship-types/parties/{party_id}",
    response={200: PartyRelationshipTypeOut, **PROBLEM_RESPONSES},
    summary="The relationship type a party has now",
    operation_id="relationship_type_of_party",
)
def relationship_type_of_party(request: HttpRequest, party_id: ObjectId):
    party = visible_records(
        Party.objects.filter(pk=party_id, deleted_at__isnull=True), user=request.auth
    ).first()
    if party is None:
        raise Http404
    rtype = queries.party_relationship_type(party=party)
    return {
        "party_id": party.pk,
        "relationship_type_id": rtype.pk if rtype else None,
        "relationship_type_name": rtype.name if rtype else None,
    }


@router.get(
    "/marketing/relationship-types/{relationship_type_id}",
    response={200: RelationshipTypeOut, **PROBLEM_RESPONSES},
    summary="A relationship type",
    operation_id="relationship_type_detail",
)
def relationship_type_detail(
    request: HttpRequest, relationship_type_id: ObjectId, response: HttpResponse
):
    return with_etag(
        response, queries.type_get_for_user(user=request.auth, pk=relationship_type_id)
    )


@router.patch(
    "/marketing/relationship-types/{relationship_type_id}",
    response={200: RelationshipTypeOut, **PROBLEM_RESPONSES},
    summary="Change a relationship type",
    operation_id="relationship_type_update",
)
def relationship_type_update(
    request: HttpRequest,
    relationship_type_id: ObjectId,
    payload: RelationshipTypePatch,
    response: HttpResponse,
):
    rtype = queries.type_get_for_user(user=request.auth, pk=relationship_type_id, write=True)
    return if_match_write(
        request,
        rtype,
        lambda rtype: services.relationship_type_save(
            actor=request.auth,
            relationship_type=rtype,
            values=_values(payload.model_dump(exclude_unset=True)),
        ),
        response,
    )


@router.delete(
    "/marketing/relationship-types/{relationship_type_id}",
    response={204: None, **PROBLEM_RESPONSES},
    summary="Delete a relationship type (its customers keep their owners)",
    operation_id="relationship_type_delete",
)
def relationship_type_delete(request: HttpRequest, relationship_type_id: ObjectId):
    rtype = queries.type_get_for_user(user=request.auth, pk=relationship_type_id, write=True)
    if_match_write(
        request,
        rtype,
        lambda rtype: services.relationship_type_delete(
            actor=request.auth, relationship_type=rtype
        ),
    )
    return Status(204, None)


@router.get(
    "/marketing/relationship-types/{relationship_type_id}/parties",
    response=list[RelationshipPartyOut],
    summary="The parties that have this relationship type now (those you may see)",
    operation_id="relationship_type_parties",
)
@paginate(Pagination)
def relationship_type_parties(request: HttpRequest, relationship_type_id: ObjectId):
    rtype = queries.type_get_for_user(user=request.auth, pk=relationship_type_id)
    return queries.type_parties_for_user(user=request.auth, rtype=rtype)
