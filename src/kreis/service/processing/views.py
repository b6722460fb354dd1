"""The case page's processing actions: tasks, forwarding to a supplier, costs. Each checks
that the user may change the case (404 when they may not see it, 403 when they may only
read it), calls the service and goes back to the case page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kreis.core.queries import user_list_for_user
from kreis.core.web import apply_errors
from kreis.service.models import Case
from kreis.service.processing import queries, services
from kreis.service.processing.forms import (
    CaseCostForm,
    CaseTaskForm,
    SupplierAnswerForm,
    SupplierRequestForm,
)
from kreis.service.queries import case_get_for_user


def _writable(request: HttpRequest, pk: int) -> Case:
    """The case, for a user who may change it: 404 if they may not see it, 403 if only read."""
    case = case_get_for_user(user=request.user, pk=pk)
    if not request.user.has_perm("service.change_case", case):
        raise PermissionDenied
    return case


def _back(case: Case, anchor: str) -> HttpResponse:
    return redirect(reverse("service:detail", args=[case.pk]) + anchor)


def _failed(request: HttpRequest, case: Case, exc: ValidationError, anchor: str) -> HttpResponse:
    for text in exc.messages:
        messages.error(request, text)
    return _back(case, anchor)


def _form_failed(request: HttpRequest, case: Case, form, anchor: str) -> HttpResponse:
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        for error in errors:
            messages.error(request, f"{label}: {error}" if label else error)
    return _back(case, anchor)


# --- Tasks ----------------------------------------------------------------------------------


@require_POST
@login_required
def task_create(request: HttpRequest, pk: int) -> HttpResponse:
    case = _writable(request, pk)
    form = CaseTaskForm(
        request.POST, users=user_list_for_user(user=request.user).prefetch_related(None)
    )
    if not form.is_valid():
        return _form_failed(request, case, form, "#case-tasks")
    try:
        services.case_task_create(
            actor=request.user,
            case=case,
            title=form.cleaned_data["title"],
            due_at=form.cleaned_data["due_at"],
            assignee=form.cleaned_data["assignee"],
        )
    except ValidationError as exc:
        return _failed(request, case, exc, "#case-tasks")
    messages.success(request, _("Task added."))
    return _back(case, "#case-tasks")


@require_POST
@login_required
def task_done(request: HttpRequest, pk: int, task_pk: int) -> HttpResponse:
    _writable(request, pk)
    task = queries.case_task_get_for_user(user=request.user, case_id=pk, pk=task_pk, write=True)
    done = request.POST.get("done", "1") != "0"
    services.case_task_set_done(actor=request.user, task=task, done=done)
    messages.success(request, _("Task done.") if done else _("Task open again."))
    return _back(task.case, "#case-tasks")


# --- Supplier requests ----------------------------------------------------------------------


@login_required
def supplier_forward(request: HttpRequest, pk: int) -> HttpResponse:
    """The forwarding form: a supplier and the message, prefilled from the case."""
    case = _writable(request, pk)
    form = SupplierRequestForm(
        request.POST or None,
        suppliers=services.suppliers(),
        initial={"message": services.default_supplier_message(case)},
    )
    if request.method == "POST" and form.is_valid():
        try:
            supplier_request = services.supplier_request_create(
                actor=request.user,
                case=case,
                supplier=form.cleaned_data["supplier"],
                message=form.cleaned_data["message"],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            if supplier_request.sent_to:
                text = _("Sent to the supplier at %s.") % supplier_request.sent_to
                messages.success(request, text)
            else:
                messages.warning(
                    request,
                    _(
                        "The supplier has no e-mail address: the request is recorded, "
                        "send it another way."
                    ),
                )
            return _back(case, "#case-supplier")
    return render(
        request,
        "service/processing/supplier_form.html",
        {"case": case, "form": form, "has_suppliers": services.suppliers().exists()},
    )


@require_POST
@login_required
def supplier_answer(request: HttpRequest, pk: int, request_pk: int) -> HttpResponse:
    _writable(request, pk)
    supplier_request = queries.supplier_request_get_for_user(
        user=request.user, case_id=pk, pk=request_pk, write=True
    )
    case = supplier_request.case
    form = SupplierAnswerForm(request.POST)
    if not form.is_valid():
        return _form_failed(request, case, form, "#case-supplier")
    try:
        services.supplier_request_answer(
            actor=request.user, request=supplier_request, answer=form.cleaned_data["answer"]
        )
    except ValidationError as exc:
        return _failed(request, case, exc, "#case-supplier")
    messages.success(request, _("The supplier's answer is recorded."))
    return _back(case, "#case-supplier")


@require_POST
@login_required
def supplier_withdraw(request: HttpRequest, pk: int, request_pk: int) -> HttpResponse:
    _writable(request, pk)
    supplier_request = queries.supplier_request_get_for_user(
        user=request.user, case_id=pk, pk=request_pk, write=True
    )
    try:
        services.supplier_request_withdraw(actor=request.user, request=supplier_request)
    except ValidationError as exc:
        return _failed(request, supplier_request.case, exc, "#case-supplier")
    messages.success(request, _("Request to the supplier withdrawn."))
    return _back(supplier_request.case, "#case-supplier")


# --- Costs ----------------------------------------------------------------------------------


@require_POST
@login_required
def cost_create(request: HttpRequest, pk: int) -> HttpResponse:
    case = _writable(request, pk)
    form = CaseCostForm(request.POST)
    if not form.is_valid():
        return _form_failed(request, case, form, "#case-costs")
    try:
        services.case_cost_create(actor=request.user, case=case, **form.service_data())
    except ValidationError as exc:
        return _failed(request, case, exc, "#case-costs")
    messages.success(request, _("Cost added; it counts in the customer's CM III."))
    return _back(case, "#case-costs")


@login_required
def cost_edit(request: HttpRequest, pk: int, cost_pk: int) -> HttpResponse:
    _writable(request, pk)
    cost = queries.case_cost_get_for_user(user=request.user, case_id=pk, pk=cost_pk, write=True)
    initial = {
        "kind": cost.kind,
        "date": cost.date,
        "amount": cost.amount,
        "hours": cost.hours,
        "hourly_rate": cost.hourly_rate,
        "note": cost.note,
    }
    form = CaseCostForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.case_cost_update(actor=request.user, cost=cost, **form.service_data())
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Cost changed."))
            return _back(cost.case, "#case-costs")
    return render(
        request,
        "service/processing/cost_form.html",
        {"case": cost.case, "cost": cost, "form": form},
    )


@require_POST
@login_required
def cost_delete(request: HttpRequest, pk: int, cost_pk: int) -> HttpResponse:
    _writable(request, pk)
    cost = queries.case_cost_get_for_user(user=request.user, case_id=pk, pk=cost_pk, write=True)
    case = cost.case
    services.case_cost_delete(actor=request.user, cost=cost)
    messages.success(request, _("Cost deleted; the customer's CM III no longer counts it."))
    return _back(case, "#case-costs")
