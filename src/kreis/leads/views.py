"""Pages for leads: list with bulk actions, detail with status flow and conversion, forms."""

from __future__ import annotations

import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from kreis.core.bulk import bulk_view
from kreis.core.customfields import active_filters, custom_columns
from kreis.core.exports import export_download
from kreis.core.models import Team
from kreis.core.queries import team_list_for_user, user_list_for_user
from kreis.core.web import (
    apply_errors,
    is_htmx,
    parse_id,
    query_without_page,
)
from kreis.leads import exports, queries, services
from kreis.leads.forms import SOURCES, ConvertForm, DisqualifyForm, LeadForm
from kreis.leads.models import Lead, LeadStatus
from kreis.parties.models import PartyKind
from kreis.parties.queries import party_list_for_user

PAGE_SIZE = 25
SORTS = [
    ("-created", gettext_lazy("Newest first")),
    ("created", gettext_lazy("Oldest first")),
    ("name", gettext_lazy("Name A–Z")),
    ("-name", gettext_lazy("Name Z–A")),
    ("company", gettext_lazy("Company")),
    ("status", gettext_lazy("Status")),
    ("-score", gettext_lazy("Score, highest first")),
    ("-predicted", gettext_lazy("Predicted score, highest first")),
    ("-updated", gettext_lazy("Recently changed")),
]


def _int(value: str | None) -> int | None:
    return parse_id(value)


def _list_params(request: HttpRequest) -> dict:
    return exports.list_params(request.GET)


@login_required
def lead_list(request: HttpRequest) -> HttpResponse:
    params = _list_params(request)
    leads = queries.lead_list_rows(queries.lead_list_for_user(user=request.user, **params))
    page = Paginator(leads, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "params": params,
        "query": query_without_page(request),
        "custom_columns": custom_columns("lead")[:3],
    }
    if is_htmx(request):
        return render(request, "leads/_rows.html", context)
    # The owner filter and the bulk bar show each colleague's name only, not their teams.
    owners = list(
        user_list_for_user(user=request.user)
        .prefetch_related(None)
        .only("id", "username", "first_name", "last_name")
    )
    context |= {
        "statuses": LeadStatus.choices,
        "owners": owners,
        "teams": team_list_for_user(user=request.user),
        "sources": queries.lead_sources(user=request.user),
        "sorts": SORTS,
        "custom_filters": active_filters("lead", request.GET),
        "bulk_url": reverse("leads:bulk"),
        "bulk_tags": True,
        "bulk_owners": owners,
    }
    return render(request, "leads/list.html", context)


@login_required
def lead_export(request: HttpRequest, fmt: str = "csv") -> StreamingHttpResponse:
    """The list as it is filtered and sorted: CSV, Excel or JSON."""
    return export_download(request, exports.lead_export(user=request.user, query=request.GET), fmt)


lead_bulk = bulk_view(
    actions=services.LEAD_BULK, records=queries.leads_for_bulk, list_url="leads:list"
)


def _form_context(request: HttpRequest, form: LeadForm, lead: Lead | None, duplicates=None):
    used = queries.lead_sources(user=request.user)
    sources = [*map(str, SOURCES), *(s for s in used if s not in map(str, SOURCES))]
    return {"form": form, "lead": lead, "duplicates": duplicates, "sources": sources}


@login_required
def lead_create(request: HttpRequest) -> HttpResponse:
    if request.user.is_read_only:
        raise PermissionDenied
    team = Team.objects.filter(pk__in=request.user.team_ids()).order_by("pk").first()
    form = LeadForm(
        request.POST or None,
        initial={"owner": request.user, "team": team},
        referrers=party_list_for_user(user=request.user),
    )
    if request.method == "POST" and form.is_valid():
        try:
            lead = services.lead_create(actor=request.user, **form.service_data())
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Lead “%s” created.") % lead)
            return redirect("leads:detail", pk=lead.pk)
    duplicates = _duplicates(request, request.POST) if request.method == "POST" else None
    return render(request, "leads/form.html", _form_context(request, form, None, duplicates))


@login_required
def lead_edit(request: HttpRequest, pk: int) -> HttpResponse:
    lead = queries.lead_get_for_user(user=request.user, pk=pk, write=True)
    initial = {
        **{f: getattr(lead, f) for f in LeadForm.base_fields if hasattr(lead, f)},
        "tags": ", ".join(t.name for t in lead.tags.all()),
        "referred_by": f"{lead.referred_by} (#{lead.referred_by_id})" if lead.referred_by else "",
    }
    form = LeadForm(
        request.POST or None,
        initial=initial,
        custom=lead.custom,
        exclude_pk=lead.pk,
        referrers=party_list_for_user(user=request.user),
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.lead_update(actor=request.user, lead=lead, **form.service_data())
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Lead “%s” saved.") % lead)
            return redirect("leads:detail", pk=lead.pk)
    return render(request, "leads/form.html", _form_context(request, form, lead))


def _duplicates(request: HttpRequest, data, exclude_pk: int | None = None) -> list:
    return queries.likely_duplicates_for_lead(
        user=request.user,
        **{f: str(data.get(f, ""))[:254] for f in ("email", "phone", "company")},
        first_name=str(data.get("first_name", ""))[:100],
        last_name=str(data.get("last_name", ""))[:100],
        exclude_pk=exclude_pk,
    )


@login_required
def lead_duplicates(request: HttpRequest) -> HttpResponse:
    """The warning list on the lead form: records the lead being typed probably duplicates."""
    duplicates = _duplicates(request, request.GET, exclude_pk=_int(request.GET.get("exclude")))
    return render(request, "leads/_duplicates.html", {"duplicates": duplicates})


@login_required
def party_lookup(request: HttpRequest) -> HttpResponse:
    """Suggestions for the conversion form's person and organisation fields and the lead
    form's referring party."""
    kind = request.GET.get("kind", "")
    kind = kind if kind in PartyKind.values else ""
    text = (
        request.GET.get("person")
        or request.GET.get("organization")
        or request.GET.get("referred_by")
        or ""
    )
    text = re.sub(r"\s*\(#\d+\)?\s*$", "", text).strip()[:100]
    parties = []
    if len(text) >= 2:
        parties = party_list_for_user(user=request.user, kind=kind, search=text)[:20]
    return render(request, "parties/_lookup_options.html", {"parties": parties})


def _convert_form(request: HttpRequest, lead: Lead, data=None) -> ConvertForm:
    visible = party_list_for_user(user=request.user)
    return ConvertForm(
        data,
        persons=visible.filter(kind=PartyKind.PERSON),
        organizations=visible.filter(kind=PartyKind.ORGANIZATION),
        initial={"amount": lead.budget, "deal_name": lead.company or lead.full_name},
    )


@login_required
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    lead = queries.lead_get_for_user(user=request.user, pk=pk)
    can_change = request.user.has_perm("core.change_record", lead)
    can_convert = can_change and lead.status in services.CONVERTIBLE
    next_statuses = [
        (value, LeadStatus(value).label)
        for value in services.allowed_statuses(lead)
        if value != LeadStatus.DISQUALIFIED
    ]
    context = {
        "lead": lead,
        "can_change": can_change,
        "next_statuses": next_statuses if can_change else [],
        "can_disqualify": can_change and LeadStatus.DISQUALIFIED in services.allowed_statuses(lead),
        "disqualify_form": DisqualifyForm(),
        "can_convert": can_convert,
        "convert_form": _convert_form(request, lead) if can_convert else None,
        "plan": services.conversion_plan(actor=request.user, lead=lead) if can_convert else None,
        "flow": [s for s in LeadStatus.choices if s[0] != LeadStatus.DISQUALIFIED],
        "history": queries.lead_history(lead=lead),
    }
    return render(request, "leads/detail.html", context)


@login_required
@require_POST
def lead_delete(request: HttpRequest, pk: int) -> HttpResponse:
    lead = queries.lead_get_for_user(user=request.user, pk=pk, write=True)
    services.lead_delete(actor=request.user, lead=lead)
    messages.success(request, _("Lead “%s” deleted.") % lead)
    return redirect("leads:list")


@login_required
@require_POST
def lead_status(request: HttpRequest, pk: int) -> HttpResponse:
    """Move the lead to the posted status (disqualifying with a reason and note)."""
    lead = queries.lead_get_for_user(user=request.user, pk=pk, write=True)
    try:
        services.lead_set_status(
            actor=request.user,
            lead=lead,
            status=request.POST.get("status", ""),
            reason=request.POST.get("reason", ""),
            note=request.POST.get("note", ""),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Status is now “%s”.") % lead.get_status_display())
    return redirect("leads:detail", pk=lead.pk)


@login_required
@require_POST
def lead_convert(request: HttpRequest, pk: int) -> HttpResponse:
    lead = queries.lead_get_for_user(user=request.user, pk=pk, write=True)
    form = _convert_form(request, lead, request.POST)
    if not form.is_valid():
        errors = [str(e) for field_errors in form.errors.values() for e in field_errors]
        messages.error(request, " ".join(errors))
        return redirect("leads:detail", pk=lead.pk)
    try:
        result = services.lead_convert(actor=request.user, lead=lead, **form.cleaned_data)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("leads:detail", pk=lead.pk)
    created = [
        str(record)
        for record, made in (
            (result.person, result.person_created),
            (result.organization, result.organization_created),
        )
        if record is not None and made
    ]
    reused = [
        str(record)
        for record, made in (
            (result.person, result.person_created),
            (result.organization, result.organization_created),
        )
        if record is not None and not made
    ]
    text = _("Lead converted.")
    if created:
        text += " " + _("Created: %s.") % ", ".join(created)
    if reused:
        text += " " + _("Reused: %s.") % ", ".join(reused)
    messages.success(request, text)
    return redirect("leads:detail", pk=lead.pk)
