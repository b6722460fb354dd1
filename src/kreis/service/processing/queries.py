"""Reads of a case's tasks, supplier requests and costs: each through the case, so the case's
rule (``kreis.service.rules``) decides; a record of another case is 404."""

from __future__ import annotations

from django.db.models import Exists, F, OuterRef, QuerySet
from django.http import Http404

from kreis.core.models import User
from kreis.service.models import (
    Case,
    CaseCost,
    CaseTask,
    SupplierRequest,
    SupplierRequestStatus,
)
from kreis.service.queries import case_get_for_user


def case_tasks(*, case: Case) -> QuerySet[CaseTask]:
    """The case's tasks (deleted activities left out): open ones first, by due date."""
    return (
        CaseTask.objects.filter(case=case, activity__deleted_at__isnull=True)
        .select_related("case", "activity", "activity__owner")
        .order_by(F("activity__done_at").asc(nulls_first=True), "activity__occurred_at", "pk")
    )


def supplier_requests(*, case: Case) -> QuerySet[SupplierRequest]:
    return SupplierRequest.objects.filter(case=case).select_related(
        "supplier", "sent_by", "answer_recorded_by"
    )


def case_costs(*, case: Case) -> QuerySet[CaseCost]:
    return CaseCost.objects.filter(case=case).select_related("created_by")


def waiting_for_supplier():
    """True for a case with an open supplier request (an expression for filters)."""
    return Exists(
        SupplierRequest.objects.filter(case=OuterRef("pk"), status=SupplierRequestStatus.OPEN)
    )


def _case(user: User, case_id: int, write: bool) -> Case:
    return case_get_for_user(user=user, pk=case_id, write=write)


def case_task_get_for_user(*, user: User, case_id: int, pk: int, write: bool = False) -> CaseTask:
    case = _case(user, case_id, write)
    task = case_tasks(case=case).filter(pk=pk).first()
    if task is None:
        raise Http404
    task.case = case
    return task


def supplier_request_get_for_user(
    *, user: User, case_id: int, pk: int, write: bool = False
) -> SupplierRequest:
    case = _case(user, case_id, write)
    request = supplier_requests(case=case).filter(pk=pk).first()
    if request is None:
        raise Http404
    request.case = case
    return request


def case_cost_get_for_user(*, user: User, case_id: int, pk: int, write: bool = False) -> CaseCost:
    case = _case(user, case_id, write)
    cost = CaseCost.objects.filter(case=case, pk=pk).select_related("cost_entry").first()
    if cost is None:
        raise Http404
    cost.case = case
    return cost
