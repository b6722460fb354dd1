"""API routes of a case's processing: tasks, supplier requests, costs.

Reading needs the case to be visible; adding or changing needs the right to handle it
(``service.change_case``: owner, the case's team, managers). A case someone may not see is
404, one they may only read is 404 for writes too (as the case routes answer)."""

import datetime as dt
from decimal import Decimal
from typing import Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from kreis.core.api_support import PROBLEM_RESPONSES, IdValue, Input, ObjectId
from kreis.core.queries import user_get_for_user
from kreis.parties.models import Party
from kreis.service.models import CostKind
from kreis.service.processing import queries, services
from kreis.service.queries import case_get_for_user

router = Router(tags=["cases"])

CostKindName = Literal[tuple(CostKind.values)]  # type: ignore[valid-type]


class CaseTaskOut(Schema):
    id: int
    case_id: int
    activity_id: int
    title: str
    due_at: dt.datetime
    assignee_id: int | None
    done: bool
    done_at: dt.datetime | None

    @staticmethod
    def resolve_title(obj) -> str:
        # The activity's subject names the case (for My day); the task's title does not.
        return obj.activity.subject.removeprefix(f"{obj.case.number}: ")

    @staticmethod
    def resolve_due_at(obj) -> dt.datetime:
        return obj.activity.occurred_at

    @staticmethod
    def resolve_assignee_id(obj) -> int | None:
        return obj.activity.owner_id

    @staticmethod
    def resolve_done(obj) -> bool:
        return obj.activity.done_at is not None

    @staticmethod
    def resolve_done_at(obj) -> dt.datetime | None:
        return obj.activity.done_at


class CaseTaskIn(Input):
    title: str = Field(min_length=1, max_length=180)
    due_at: dt.datetime
    assignee_id: IdValue | None = None


class TaskDoneIn(Input):
    done: bool = True


class SupplierRequestOut(Schema):
    id: int
    case_id: int
    supplier_id: int
    supplier_name: str
    message: str
    sent_to: str
    sent_by_id: int | None
    sent_at: dt.datetime
    status: str
    answer: str
    answered_at: dt.datetime | None
    answer_recorded_by_id: int | None

    @staticmethod
    def resolve_supplier_name(obj) -> str:
        return obj.supplier.name


class SupplierRequestIn(Input):
    supplier_id: IdValue
    message: str = Field("", max_length=20000, description="Empty: the text made from the case.")


class SupplierAnswerIn(Input):
    answer: str = Field(min_length=1, max_length=20000)


class CaseCostOut(Schema):
    id: int
    case_id: int
    kind: str
    date: dt.date
    hours: Decimal | None
    hourly_rate: Decimal | None
    amount: Decimal
    note: str
    cost_entry_id: int | None
    created_by_id: int | None
    created_at: dt.datetime


class CaseCostIn(Input):
    kind: CostKindName
    date: dt.date | None = None
    amount: Decimal | None = Field(None, ge=0, max_digits=12, decimal_places=2)
    hours: Decimal | None = Field(None, ge=0, max_digits=7, decimal_places=2)
    hourly_rate: Decimal | None = Field(
        None, ge=0, max_digits=8, decimal_places=2, description="Empty: the settings' rate."
    )
    note: str = Field("", max_length=300)


class CaseCostPatch(Input):
    kind: CostKindName | None = None
    date: dt.date | None = None
    amount: Decimal | None = Field(None, ge=0, max_digits=12, decimal_places=2)
    hours: Decimal | None = Field(None, ge=0, max_digits=7, decimal_places=2)
    hourly_rate: Decimal | None = Field(None, ge=0, max_digits=8, decimal_places=2)
    note: str | None = Field(None, max_length=300)


# --- Tasks ----------------------------------------------------------------------------------


@router.get(
    "/cases/{case_id}/tasks",
    response={200: list[CaseTaskOut], **PROBLEM_RESPONSES},
    summary="The tasks of a case (open and done)",
    operation_id="case_task_list",
)
def case_task_list(request: HttpRequest, case_id: ObjectId):
    case = case_get_for_user(user=request.auth, pk=case_id)
    return list(queries.case_tasks(case=case))


@router.post(
    "/cases/{case_id}/tasks",
    response={201: CaseTaskOut, **PROBLEM_RESPONSES},
    summary="Add a task to a case (an activity of kind task on its customer)",
    operation_id="case_task_create",
)
def case_task_create(request: HttpRequest, case_id: ObjectId, payload: CaseTaskIn):
    user = request.auth
    case = case_get_for_user(user=user, pk=case_id, write=True)
    assignee = user_get_for_user(user=user, pk=payload.assignee_id) if payload.assignee_id else None
    task = services.case_task_create(
        actor=user, case=case, title=payload.title, due_at=payload.due_at, assignee=assignee
    )
    return Status(201, task)


@router.post(
    "/cases/{case_id}/tasks/{task_id}/done",
    response={200: CaseTaskOut, **PROBLEM_RESPONSES},
    summary="Mark a case's task done (done=false: open again)",
    operation_id="case_task_set_done",
)
def case_task_set_done(
    request: HttpRequest, case_id: ObjectId, task_id: ObjectId, payload: TaskDoneIn
):
    task = queries.case_task_get_for_user(
        user=request.auth, case_id=case_id, pk=task_id, write=True
    )
    services.case_task_set_done(actor=request.auth, task=task, done=payload.done)
    task.activity.refresh_from_db()
    return task


# --- Supplier requests ----------------------------------------------------------------------


@router.get(
    "/cases/{case_id}/supplier-requests",
    response={200: list[SupplierRequestOut], **PROBLEM_RESPONSES},
    summary="The case's requests to suppliers and their answers",
    operation_id="case_supplier_request_list",
)
def case_supplier_request_list(request: HttpRequest, case_id: ObjectId):
    case = case_get_for_user(user=request.auth, pk=case_id)
    return list(queries.supplier_requests(case=case))


@router.post(
    "/cases/{case_id}/supplier-requests",
    response={201: SupplierRequestOut, **PROBLEM_RESPONSES},
    summary="Forward a case to a supplier (e-mailed to the supplier's address)",
    operation_id="case_supplier_request_create",
)
def case_supplier_request_create(
    request: HttpRequest, case_id: ObjectId, payload: SupplierRequestIn
):
    user = request.auth
    case = case_get_for_user(user=user, pk=case_id, write=True)
    supplier = Party.objects.filter(pk=payload.supplier_id, deleted_at__isnull=True).first()
    if supplier is None:
        raise ValidationError({"supplier_id": "Not found."})
    message = payload.message.strip() or services.default_supplier_message(case)
    created = services.supplier_request_create(
        actor=user, case=case, supplier=supplier, message=message
    )
    return Status(201, created)


@router.post(
    "/cases/{case_id}/supplier-requests/{request_id}/answer",
    response={200: SupplierRequestOut, **PROBLEM_RESPONSES},
    summary="Record the supplier's answer",
    operation_id="case_supplier_request_answer",
)
def case_supplier_request_answer(
    request: HttpRequest, case_id: ObjectId, request_id: ObjectId, payload: SupplierAnswerIn
):
    found = queries.supplier_request_get_for_user(
        user=request.auth, case_id=case_id, pk=request_id, write=True
    )
    return services.supplier_request_answer(
        actor=request.auth, request=found, answer=payload.answer
    )


@router.post(
    "/cases/{case_id}/supplier-requests/{request_id}/withdraw",
    response={200: SupplierRequestOut, **PROBLEM_RESPONSES},
    summary="Withdraw an open request to a supplier",
    operation_id="case_supplier_request_withdraw",
)
def case_supplier_request_withdraw(request: HttpRequest, case_id: ObjectId, request_id: ObjectId):
    found = queries.supplier_request_get_for_user(
        user=request.auth, case_id=case_id, pk=request_id, write=True
    )
    return services.supplier_request_withdraw(actor=request.auth, request=found)


# --- Costs ----------------------------------------------------------------------------------


@router.get(
    "/cases/{case_id}/costs",
    response={200: list[CaseCostOut], **PROBLEM_RESPONSES},
    summary="The costs of a case (each is a CM III cost entry of the customer)",
    operation_id="case_cost_list",
)
def case_cost_list(request: HttpRequest, case_id: ObjectId):
    case = case_get_for_user(user=request.auth, pk=case_id)
    return list(queries.case_costs(case=case))


@router.post(
    "/cases/{case_id}/costs",
    response={201: CaseCostOut, **PROBLEM_RESPONSES},
    summary="Add a cost: goodwill or replacement (amount), handling (hours × hourly rate)",
    operation_id="case_cost_create",
)
def case_cost_create(request: HttpRequest, case_id: ObjectId, payload: CaseCostIn):
    case = case_get_for_user(user=request.auth, pk=case_id, write=True)
    cost = services.case_cost_create(actor=request.auth, case=case, **payload.model_dump())
    return Status(201, cost)


@router.patch(
    "/cases/{case_id}/costs/{cost_id}",
    response={200: CaseCostOut, **PROBLEM_RESPONSES},
    summary="Change a cost (its cost entry follows)",
    operation_id="case_cost_update",
)
def case_cost_update(
    request: HttpRequest, case_id: ObjectId, cost_id: ObjectId, payload: CaseCostPatch
):
    cost = queries.case_cost_get_for_user(
        user=request.auth, case_id=case_id, pk=cost_id, write=True
    )
    changes = payload.model_dump(exclude_unset=True)
    return services.case_cost_update(actor=request.auth, cost=cost, **changes)


@router.delete(
    "/cases/{case_id}/costs/{cost_id}",
    response={204: None, **PROBLEM_RESPONSES},
    summary="Delete a cost and its cost entry",
    operation_id="case_cost_delete",
)
def case_cost_delete(request: HttpRequest, case_id: ObjectId, cost_id: ObjectId):
    cost = queries.case_cost_get_for_user(
        user=request.auth, case_id=case_id, pk=cost_id, write=True
    )
    services.case_cost_delete(actor=request.auth, cost=cost)
    return Status(204, None)
