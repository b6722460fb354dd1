"""Staff pages for complaint cases: list, detail with the flow, new case; the party card."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from kreis.activities.forms import party_label
from kreis.core.queries import team_list_for_user, user_list_for_user
from kreis.core.web import IndexPaginator, apply_errors, is_htmx, parse_id, query_without_page
from kreis.parties.queries import party_get_for_user, party_list_for_user
from kreis.service import queries, services
from kreis.service.forms import AssignForm, CaseForm, MessageForm, TransitionForm
from kreis.service.models import CaseStatus, Severity
from kreis.service.processing.forms import case_page_context

PAGE_SIZE = 25
SORTS = [
    ("-created", gettext_lazy("Newest first")),
    ("created", gettext_lazy("Oldest first")),
    ("due", gettext_lazy("Due first")),
    ("-severity", gettext_lazy("Most severe first")),
    ("status", gettext_lazy("Status")),
    ("-number", gettext_lazy("Number")),
]


def _list_params(request: HttpRequest) -> dict:
    get = request.GET
    sort = get.get("sort", "-created")
    return {
        "status": get.get("status", "") if get.get("status") in CaseStatus.values else "",
        "severity": get.get("severity", "") if get.get("severity") in Severity.values else "",
        "owner_id": parse_id(get.get("owner")),
        "category_id": parse_id(get.get("category")),
        "overdue": get.get("overdue") == "1",
        "waiting_for_supplier": get.get("supplier") == "1",
        "search": get.get("q", "").strip()[:100],
        "sort": sort if sort in queries.SORTS else "-created",
    }


@require_GET
@login_required
def case_list(request: HttpRequest) -> HttpResponse:
    params = _list_params(request)
    cases = queries.case_list_for_user(user=request.user, **params)
    # The page's ids first, then only those rows with their joins and annotations: a sort
    # over every visible case stays narrow (see IndexPaginator).
    page = IndexPaginator(cases, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"page": page, "params": params, "query": query_without_page(request)}
    if is_htmx(request):
        return render(request, "service/_rows.html", context)
    context |= {
        "statuses": CaseStatus.choices,
        "severities": Severity.choices,
        "owners": user_list_for_user(user=request.user)
        .prefetch_related(None)
        .only("id", "username", "first_name", "last_name"),
        "categories": queries.categories(),
        "sorts": SORTS,
    }
    return render(request, "service/list.html", context)


@login_required
def case_create(request: HttpRequest) -> HttpResponse:
    if request.user.is_read_only:
        raise PermissionDenied
    parties = party_list_for_user(user=request.user)
    initial = {"language": request.user.language or request.LANGUAGE_CODE}
    chosen = parse_id(request.GET.get("party"))
    if chosen is not None:  # "New case" on a party's page
        party = parties.filter(pk=chosen).first()
        if party is not None:
            initial["party"] = party_label(party)
    form = CaseForm(request.POST or None, parties=parties, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            case = services.case_create(actor=request.user, **form.service_data())
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Case %(number)s created.") % {"number": case.number})
            if request.user.has_perm("service.view_case", case):
                return redirect("service:detail", pk=case.pk)
            return redirect("service:list")
    return render(request, "service/form.html", {"form": form, "lookup_id": "case-party-options"})


@require_GET
@login_required
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    case = queries.case_get_for_user(user=request.user, pk=pk)
    can_change = request.user.has_perm("service.change_case", case)
    labels = dict(CaseStatus.choices)
    context = {
        "case": case,
        "timeline": queries.case_timeline(case=case),
        "can_change": can_change,
        "flow": CaseStatus.choices,
        "next_statuses": [(s, labels[s]) for s in services.allowed_transitions(case)]
        if can_change
        else [],
        "transition_form": TransitionForm(),
        "can_resolve": can_change and CaseStatus.RESOLVED in services.allowed_transitions(case),
        "note_form": MessageForm(auto_id="note_%s"),
        "reply_form": MessageForm(auto_id="reply_%s"),
        "customer_form": MessageForm(auto_id="customer_%s"),
        "due": case.due_at(),
        "overdue": case.is_overdue(),
        "customer_email": services.customer_email(case),
    }
    if can_change:
        context["assign_form"] = AssignForm(
            initial={"owner": case.owner_id, "team": case.team_id},
            users=user_list_for_user(user=request.user).prefetch_related(None),
            teams=team_list_for_user(user=request.user),
        )
    context |= case_page_context(user=request.user, case=case, can_change=can_change)
    return render(request, "service/detail.html", context)


def _done(request: HttpRequest, case, message: str) -> HttpResponse:
    messages.success(request, message)
    return redirect("service:detail", pk=case.pk)


def _failed(request: HttpRequest, case, exc: ValidationError) -> HttpResponse:
    for text in exc.messages:
        messages.error(request, text)
    return redirect("service:detail", pk=case.pk)


@require_POST
@login_required
def case_transition(request: HttpRequest, pk: int) -> HttpResponse:
    case = queries.case_get_for_user(user=request.user, pk=pk, write=True)
    form = TransitionForm(request.POST)
    if not form.is_valid():
        return _failed(request, case, ValidationError(_("Choose a valid status.")))
    try:
        case = services.case_transition(
            actor=request.user,
            case=case,
            to_status=form.cleaned_data["to_status"],
            note=form.cleaned_data["note"],
            root_cause=form.cleaned_data["root_cause"],
            base_url=request.build_absolute_uri("/"),
        )
    except ValidationError as exc:
        return _failed(request, case, exc)
    return _done(request, case, _("Case is now “%s”.") % case.get_status_display())


@require_POST
@login_required
def case_waiting(request: HttpRequest, pk: int) -> HttpResponse:
    case = queries.case_get_for_user(user=request.user, pk=pk, write=True)
    waiting = request.POST.get("waiting") == "1"
    try:
        case = services.case_set_waiting(actor=request.user, case=case, waiting=waiting)
    except ValidationError as exc:
        return _failed(request, case, exc)
    text = _("Waiting for the customer.") if waiting else _("The SLA clock runs again.")
    return _done(request, case, text)


def _message_view(service, done_text):
    @require_POST
    @login_required
    def view(request: HttpRequest, pk: int) -> HttpResponse:
        case = queries.case_get_for_user(user=request.user, pk=pk, write=True)
        form = MessageForm(request.POST)
        if not form.is_valid():
            return _failed(request, case, ValidationError(_("Write something.")))
        try:
            service(actor=request.user, case=case, body=form.cleaned_data["body"])
        except ValidationError as exc:
            return _failed(request, case, exc)
        return _done(request, case, str(done_text))

    return view


case_note = _message_view(services.case_add_note, gettext_lazy("Internal note added."))
case_reply = _message_view(services.case_reply, gettext_lazy("Reply sent to the customer."))
case_customer_message = _message_view(
    services.case_add_customer_message, gettext_lazy("The customer's message is recorded.")
)


@require_POST
@login_required
def case_assign(request: HttpRequest, pk: int) -> HttpResponse:
    case = queries.case_get_for_user(user=request.user, pk=pk, write=True)
    form = AssignForm(
        request.POST,
        users=user_list_for_user(user=request.user).prefetch_related(None),
        teams=team_list_for_user(user=request.user),
    )
    if not form.is_valid():
        return _failed(request, case, ValidationError(_("Choose an owner.")))
    try:
        case = services.case_assign(
            actor=request.user,
            case=case,
            owner=form.cleaned_data["owner"],
            team=form.cleaned_data["team"],
        )
    except ValidationError as exc:
        return _failed(request, case, exc)
    return _done(request, case, _("Case assigned to %s.") % case.owner)


@require_GET
@login_required
def party_cases(request: HttpRequest, party_pk: int) -> HttpResponse:
    """The party page's card: the party's cases the user may see."""
    party = party_get_for_user(user=request.user, pk=party_pk, related=False)
    cases = queries.case_list_for_user(user=request.user, party_id=party.pk)[:10]
    return render(request, "service/_party_cases.html", {"cases": cases, "party": party})
