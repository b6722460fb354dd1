"""API routes of improvement actions (information usage): list, get with the effect, create,
change. Every active user reads them; service agents, sales managers and administrators
create them; those and the action's owner change it (``kreis.service.rules``)."""

import datetime as dt
from typing import Literal

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
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
from kreis.core.queries import user_get_for_user
from kreis.service.improvement import queries, services
from kreis.service.models import ActionStatus, RootCause

router = Router(tags=["improvement actions"])

ActionStatusName = Literal[tuple(ActionStatus.values)]  # type: ignore[valid-type]


class EffectOut(Schema):
    effective_on: dt.date | None
    days: int
    before: int
    after: int
    change_percent: float | None


class ActionOut(Schema):
    id: int
    root_cause_id: int
    title: str
    description: str
    owner_id: int | None
    due_date: dt.date | None
    status: str
    effective_on: dt.date | None
    overdue: bool
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_overdue(obj) -> bool:
        return queries.is_overdue(obj)


class ActionDetailOut(ActionOut):
    effect: EffectOut

    @staticmethod
    def resolve_effect(obj) -> EffectOut:
        found = queries.effect(root_cause_id=obj.root_cause_id, effective_on=obj.effective_on)
        return EffectOut(
            effective_on=found.effective_on,
            days=found.days,
            before=found.before,
            after=found.after,
            change_percent=found.change_percent,
        )


class ActionIn(Input):
    root_cause_id: IdValue
    title: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=20000)
    owner_id: IdValue | None = None
    due_date: dt.date | None = None
    status: ActionStatusName = "planned"
    effective_on: dt.date | None = None


class ActionPatch(Input):
    root_cause_id: IdValue | None = None
    title: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=20000)
    owner_id: IdValue | None = None
    due_date: dt.date | None = None
    status: ActionStatusName | None = None
    effective_on: dt.date | None = None


def _root_cause(pk: int) -> RootCause:
    cause = RootCause.objects.filter(pk=pk).first()
    if cause is None:
        raise ValidationError({"root_cause_id": "Not found."})
    return cause


def _relations(user, data: dict) -> dict:
    if "root_cause_id" in data:
        pk = data.pop("root_cause_id")
        if pk is None:
            raise ValidationError({"root_cause_id": "An action needs its root cause."})
        data["root_cause"] = _root_cause(pk)
    if "owner_id" in data:
        pk = data.pop("owner_id")
        data["owner"] = user_get_for_user(user=user, pk=pk) if pk else None
    return data


@router.get(
    "/improvement-actions",
    response=list[ActionOut],
    summary="Improvement actions (filter by status, root cause, overdue)",
    operation_id="improvement_action_list",
)
@paginate(Pagination)
def improvement_action_list(
    request: HttpRequest,
    status: ActionStatusName | None = None,
    root_cause_id: IdValue | None = None,
    owner_id: IdValue | None = None,
    overdue: bool = False,
):
    return queries.improvement_action_list_for_user(
        user=request.auth,
        status=status or "",
        root_cause_id=root_cause_id,
        owner_id=owner_id,
        overdue=overdue,
    ).order_by("pk")


@router.post(
    "/improvement-actions",
    response={201: ActionDetailOut, **PROBLEM_RESPONSES},
    summary="Plan an improvement action against a root cause",
    operation_id="improvement_action_create",
)
def improvement_action_create(request: HttpRequest, payload: ActionIn):
    user = request.auth
    if not user.has_perm("service.add_improvementaction"):
        raise PermissionDenied
    data = _relations(user, payload.model_dump())
    return Status(201, services.improvement_action_create(actor=user, **data))


@router.get(
    "/improvement-actions/{action_id}",
    response={200: ActionDetailOut, **PROBLEM_RESPONSES},
    summary="An improvement action with its effect (cases before and after it took effect)",
    operation_id="improvement_action_detail",
)
def improvement_action_detail(request: HttpRequest, action_id: ObjectId, response: HttpResponse):
    action = queries.improvement_action_get_for_user(user=request.auth, pk=action_id)
    response["ETag"] = etag(action)
    return action


@router.patch(
    "/improvement-actions/{action_id}",
    response={200: ActionDetailOut, **PROBLEM_RESPONSES},
    summary="Change an improvement action (done sets the effective date to today if empty)",
    operation_id="improvement_action_update",
)
def improvement_action_update(
    request: HttpRequest, action_id: ObjectId, payload: ActionPatch, response: HttpResponse
):
    user = request.auth
    action = queries.improvement_action_get_for_user(user=user, pk=action_id, write=True)
    check_if_match(request, action)
    changes = _relations(user, payload.model_dump(exclude_unset=True))
    action = services.improvement_action_update(actor=user, action=action, **changes)
    response["ETag"] = etag(action)
    return action
