"""Pages of the phone channel: logging a call (the ``tel:`` dialog and its no-JavaScript form
page), the call lists, one list with progress and results, working a list, the CSV export."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kreis.activities import queries as activity_queries
from kreis.calls import queries, services
from kreis.calls.forms import CallListForm, CallLogForm, EntryLogForm
from kreis.calls.models import EntryState
from kreis.core.web import csv_response, parse_id, safe_next

PAGE_SIZE = 50


def _form_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _links(request: HttpRequest, source) -> dict:
    """The party, lead and deal named in the request (``?party=12``), each one the user may
    see (else 404)."""
    links = {}
    for name, fetch in (
        ("party", activity_queries.party_for_user),
        ("lead", activity_queries.lead_for_user),
        ("deal", activity_queries.deal_for_user),
    ):
        value = source.get(name)
        if value:
            pk = parse_id(str(value))
            if pk is None:
                raise Http404
            links[name] = fetch(user=request.user, pk=pk)
    return links


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _back(links: dict) -> str:
    for name, prefix in (("party", "/parties/"), ("lead", "/leads/"), ("deal", "/deals/")):
        if name in links:
            return f"{prefix}{links[name].pk}/"
    return "/activities/"


@login_required
def call_log(request: HttpRequest) -> HttpResponse:
    """Log a call on the party, lead or deal whose number was clicked. GET shows the form (the
    dialog asks for ``?partial=1``); POST saves it — JSON for the dialog, a redirect else."""
    if request.user.is_read_only:
        raise PermissionDenied
    links = _links(request, request.GET if request.method == "GET" else request.POST)
    if not links:
        raise Http404
    initial = {"phone": request.GET.get("phone", "")[:40]}
    form = CallLogForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            activity = services.call_log(
                actor=request.user,
                phone=data["phone"],
                outcome=data["outcome"],
                direction=data["direction"],
                duration_minutes=data["duration_minutes"],
                notes=data["notes"],
                **links,
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            if _wants_json(request):
                return JsonResponse({"id": activity.pk, "subject": activity.subject}, status=201)
            messages.success(request, _("Call logged."))
            return redirect(safe_next(request, _back(links)))
    if request.method == "POST" and _wants_json(request):
        return JsonResponse({"errors": form.errors.get_json_data()}, status=400)
    whom = links.get("party") or links.get("lead") or links.get("deal")
    context = {
        "form": form,
        "links": links,
        "whom": whom,
        "phone": form["phone"].value() or "",
        "back": _back(links),
        "next": safe_next(request, ""),
    }
    context["partial"] = bool(request.GET.get("partial"))
    template = "calls/_log_form.html" if context["partial"] else "calls/log.html"
    return render(request, template, context)


@login_required
def list_index(request: HttpRequest) -> HttpResponse:
    lists = list(queries.lists_for_user(user=request.user).order_by("is_closed", "-created_at"))
    rows = [(call_list, queries.results(call_list)) for call_list in lists]
    return render(
        request,
        "calls/list.html",
        {"rows": rows, "can_add": request.user.has_perm("calls.add")},
    )


def _list_form_data(form) -> dict:
    data = dict(form.cleaned_data)
    data.pop("assignees", None)
    return data


@login_required
def list_create(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("calls.add"):
        raise PermissionDenied
    initial = {}
    for name in ("segment", "campaign"):
        if request.GET.get(name):
            initial[name] = parse_id(request.GET[name])
    form = CallListForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            built = services.call_list_create(
                actor=request.user,
                name=data["name"],
                segment=data["segment"],
                campaign=data["campaign"],
                purpose=data["purpose"],
                script=data["script"],
                max_attempts=data["max_attempts"],
                team=data["team"],
                assignees=data["assignees"],
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            skipped = sum(built.skipped.values())
            messages.success(
                request,
                _("Call list built: %(n)d to call, %(s)d skipped.")
                % {"n": built.to_call, "s": skipped},
            )
            return redirect("calls:detail", built.call_list.pk)
    return render(request, "calls/form.html", {"form": form, "call_list": None})


@login_required
def list_edit(request: HttpRequest, pk: int) -> HttpResponse:
    call_list = queries.list_get_for_user(user=request.user, pk=pk, perm="calls.change_list")
    form = CallListForm(request.POST or None, instance=call_list, editing=True)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.call_list_update(
                actor=request.user,
                call_list=call_list,
                name=data["name"],
                script=data["script"],
                max_attempts=data["max_attempts"],
                team=data["team"],
                is_closed=data["is_closed"],
                assignees=data["assignees"],
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Call list saved."))
            return redirect("calls:detail", call_list.pk)
    return render(request, "calls/form.html", {"form": form, "call_list": call_list})


@login_required
def list_detail(request: HttpRequest, pk: int) -> HttpResponse:
    call_list = queries.list_get_for_user(user=request.user, pk=pk)
    state = request.GET.get("state", "")
    if state not in EntryState.values:
        state = ""
    page = Paginator(queries.entries(call_list, state=state), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "calls/detail.html",
        {
            "call_list": call_list,
            "results": queries.results(call_list),
            "page": page,
            "state": state,
            "states": EntryState.choices,
            "assignees": list(call_list.assignees.all()),
            "can_work": request.user.has_perm("calls.work_list", call_list)
            and not call_list.is_closed,
            "can_change": request.user.has_perm("calls.change_list", call_list),
        },
    )


@login_required
def list_export(request: HttpRequest, pk: int) -> HttpResponse:
    call_list = queries.list_get_for_user(user=request.user, pk=pk)
    return csv_response(
        f"call-list-{call_list.pk}.csv",
        list(queries.EXPORT_HEADER),
        queries.export_rows(call_list),
    )


@login_required
def list_work(request: HttpRequest, pk: int) -> HttpResponse:
    """One entry after the other. GET shows the entry the user holds, or a button to take the
    next one; the POST of that button claims it (a page load never takes anything)."""
    call_list = queries.list_get_for_user(user=request.user, pk=pk, perm="calls.work_list")
    if call_list.is_closed:
        messages.info(request, _("This call list is closed."))
        return redirect("calls:detail", call_list.pk)
    if request.method == "POST":
        services.entry_claim_next(actor=request.user, call_list=call_list)
        return redirect("calls:work", call_list.pk)
    entry = services.entry_held(actor=request.user, call_list=call_list)
    form = EntryLogForm(initial={"duration_minutes": 0})
    return _work_page(request, call_list, entry, form)


def _work_page(request, call_list, entry, form, status: int = 200) -> HttpResponse:
    return render(
        request,
        "calls/work.html",
        {
            "call_list": call_list,
            "entry": entry,
            "form": form,
            "results": queries.results(call_list),
            "recent": queries.recent_calls(party_id=entry.party_id) if entry else [],
            "due": 0 if entry else services.entries_due(call_list),
            "now": timezone.localtime(),
        },
        status=status,
    )


@login_required
@require_POST
def entry_log(request: HttpRequest, pk: int) -> HttpResponse:
    entry = queries.entry_get_for_user(user=request.user, pk=pk, perm="calls.work_list")
    form = EntryLogForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.entry_log(
                actor=request.user,
                entry=entry,
                result=data["result"],
                notes=data["notes"],
                duration_minutes=data["duration_minutes"],
                call_back_at=data["call_back_at"],
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Call saved: %s") % entry.party.name)
            if not entry.call_list.is_closed:
                services.entry_claim_next(actor=request.user, call_list=entry.call_list)
            return redirect("calls:work", entry.call_list_id)
    return _work_page(request, entry.call_list, entry, form, status=400)


@login_required
@require_POST
def entry_release(request: HttpRequest, pk: int) -> HttpResponse:
    entry = queries.entry_get_for_user(user=request.user, pk=pk, perm="calls.work_list")
    try:
        services.entry_release(actor=request.user, entry=entry)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("calls:detail", entry.call_list_id)
