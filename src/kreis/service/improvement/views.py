"""Pages of information usage: the improvement actions (list, new, detail with the effect,
edit) and a root cause with its cases over time and its actions."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from kreis.core.queries import user_list_for_user
from kreis.core.web import apply_errors, parse_id, query_without_page
from kreis.service.improvement import queries, services
from kreis.service.improvement.forms import ImprovementActionForm
from kreis.service.models import ActionStatus, RootCause

PAGE_SIZE = 25


def _users(request: HttpRequest):
    return user_list_for_user(user=request.user).prefetch_related(None)


def _viewer(request: HttpRequest) -> None:
    if not request.user.has_perm("service.view_improvementaction"):
        raise Http404


@require_GET
@login_required
def action_list(request: HttpRequest) -> HttpResponse:
    _viewer(request)
    get = request.GET
    params = {
        "status": get.get("status", "") if get.get("status") in ActionStatus.values else "",
        "root_cause_id": parse_id(get.get("root_cause")),
        "overdue": get.get("overdue") == "1",
    }
    actions = queries.improvement_action_list_for_user(user=request.user, **params)
    page = Paginator(actions, PAGE_SIZE).get_page(get.get("page"))
    today = timezone.localdate()
    for action in page:
        action.overdue = queries.is_overdue(action, today)
        action.effect = queries.effect(
            root_cause_id=action.root_cause_id, effective_on=action.effective_on, today=today
        )
    return render(
        request,
        "service/improvement/list.html",
        {
            "page": page,
            "params": params,
            "query": query_without_page(request),
            "statuses": ActionStatus.choices,
            "root_causes": RootCause.objects.all(),
            "can_add": request.user.has_perm("service.add_improvementaction"),
        },
    )


@login_required
def action_create(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("service.add_improvementaction"):
        raise PermissionDenied
    initial = {"owner": request.user.pk, "status": ActionStatus.PLANNED}
    cause = parse_id(request.GET.get("root_cause"))
    if cause:
        initial["root_cause"] = cause
    form = ImprovementActionForm(request.POST or None, users=_users(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            action = services.improvement_action_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Improvement action created."))
            return redirect("service:action_detail", pk=action.pk)
    return render(request, "service/improvement/form.html", {"form": form, "action": None})


@require_GET
@login_required
def action_detail(request: HttpRequest, pk: int) -> HttpResponse:
    action = queries.improvement_action_get_for_user(user=request.user, pk=pk)
    effect = queries.effect(root_cause_id=action.root_cause_id, effective_on=action.effective_on)
    return render(
        request,
        "service/improvement/detail.html",
        {
            "action": action,
            "effect": effect,
            "chart": effect.chart(),
            "overdue": queries.is_overdue(action),
            "can_change": request.user.has_perm("service.change_improvementaction", action),
        },
    )


@login_required
def action_edit(request: HttpRequest, pk: int) -> HttpResponse:
    action = queries.improvement_action_get_for_user(user=request.user, pk=pk, write=True)
    initial = {
        "root_cause": action.root_cause_id,
        "title": action.title,
        "description": action.description,
        "owner": action.owner_id,
        "due_date": action.due_date,
        "status": action.status,
        "effective_on": action.effective_on,
    }
    form = ImprovementActionForm(request.POST or None, users=_users(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.improvement_action_update(
                actor=request.user, action=action, **form.cleaned_data
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Improvement action saved."))
            return redirect("service:action_detail", pk=action.pk)
    return render(request, "service/improvement/form.html", {"form": form, "action": action})


@require_GET
@login_required
def root_cause_detail(request: HttpRequest, pk: int) -> HttpResponse:
    cause = queries.root_cause_get(user=request.user, pk=pk)
    today = timezone.localdate()
    actions = list(queries.improvement_action_list_for_user(user=request.user, root_cause_id=pk))
    for action in actions:
        action.overdue = queries.is_overdue(action, today)
        action.effect = queries.effect(
            root_cause_id=pk, effective_on=action.effective_on, today=today
        )
    trend = queries.effect(root_cause_id=pk, effective_on=None, today=today)
    return render(
        request,
        "service/improvement/root_cause.html",
        {
            "cause": cause,
            "actions": actions,
            "figures": queries.root_cause_figures(root_cause=cause, today=today),
            "chart": trend.chart(),
            "can_add": request.user.has_perm("service.add_improvementaction"),
        },
    )
