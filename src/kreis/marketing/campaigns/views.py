"""Campaign pages: the list with key figures and a comparison, a campaign with its funnel,
costs and members (bulk response marking, members from the target segment), and an event's
registrations and attendance."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kreis.core.queries import visible_records
from kreis.core.web import apply_errors
from kreis.leads.models import Lead
from kreis.marketing.campaigns import charts, queries, services
from kreis.marketing.campaigns.forms import (
    AddFromSegmentForm,
    CampaignForm,
    CostForm,
    MarkMembersForm,
    RegistrationForm,
)
from kreis.marketing.models import (
    CampaignChannel,
    CampaignCost,
    CampaignMember,
    ResponseKind,
)
from kreis.parties.models import Party
from kreis.parties.queries import party_list_for_user

CHANGE = "marketing.change_record"
MEMBERS_PER_PAGE = 50


def _model(request: HttpRequest) -> str:
    model = request.GET.get("model", "first")
    return model if model in queries.MODELS else "first"


@login_required
def campaign_list(request: HttpRequest) -> HttpResponse:
    campaigns = list(queries.campaigns_for_user(user=request.user))
    model = _model(request)
    figures = queries.funnels([c.pk for c in campaigns], model=model)
    rows = [(c, figures[c.pk]) for c in campaigns]
    chart = None
    if rows:
        chart = charts.compare_svg(
            [{"label": c.name, "a": f.leads, "b": f.won} for c, f in rows[:12]],
            first=_("Leads"),
            second=_("Won"),
            title=_("Leads and won deals per campaign"),
            label=_("Comparison of campaigns"),
        )
    return render(
        request,
        "marketing/campaigns/list.html",
        {
            "rows": rows,
            "model": model,
            "chart": chart,
            "can_add": request.user.has_perm("marketing.add"),
        },
    )


@login_required
def campaign_create(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("marketing.add"):
        raise PermissionDenied
    form = CampaignForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            campaign = services.campaign_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Campaign created."))
            return redirect("marketing:campaign_detail", campaign.pk)
    return render(request, "marketing/campaigns/form.html", {"form": form, "campaign": None})


@login_required
def campaign_edit(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = queries.campaign_get_for_user(user=request.user, pk=pk, perm=CHANGE)
    form = CampaignForm(request.POST or None, instance=campaign, user=request.user)
    if request.method == "POST" and form.is_valid():
        original = queries.campaign_get_for_user(user=request.user, pk=pk, perm=CHANGE)
        try:
            services.campaign_update(actor=request.user, campaign=original, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Campaign saved."))
            return redirect("marketing:campaign_detail", pk)
    return render(request, "marketing/campaigns/form.html", {"form": form, "campaign": campaign})


@login_required
@require_POST
def campaign_delete(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = queries.campaign_get_for_user(user=request.user, pk=pk, perm=CHANGE)
    services.campaign_delete(actor=request.user, campaign=campaign)
    messages.success(request, _("Campaign deleted."))
    return redirect("marketing:campaign_list")


def _member_rows(user, members) -> list[dict]:
    """Each member with its name, or no name when the user may not see the lead or party."""
    lead_ids = {m.lead_id for m in members if m.lead_id}
    party_ids = {m.party_id for m in members if m.party_id}
    seen_leads = set(
        visible_records(Lead.objects.filter(pk__in=lead_ids), user=user).values_list(
            "pk", flat=True
        )
    )
    seen_parties = set(
        visible_records(Party.objects.filter(pk__in=party_ids), user=user).values_list(
            "pk", flat=True
        )
    )
    rows = []
    for m in members:
        if m.lead_id:
            visible = m.lead_id in seen_leads
            url = reverse("leads:detail", args=[m.lead_id]) if visible else ""
            name = str(m.lead) if visible else ""
            kind = _("Lead")
        else:
            visible = m.party_id in seen_parties
            url = reverse("parties:detail", args=[m.party_id]) if visible else ""
            name = m.party.name if visible else ""
            kind = _("Contact")
        rows.append(
            {
                "member": m,
                "name": name,
                "url": url,
                "kind": kind,
                "responses": [getattr(m, f"{r}_at") for r in ResponseKind.values],
            }
        )
    return rows


def _detail_context(request: HttpRequest, campaign, **forms) -> dict:
    user = request.user
    model = _model(request)
    figures = queries.funnel(campaign, model=model)
    response = request.GET.get("response", "")
    search = request.GET.get("q", "").strip()
    members = queries.members_for_campaign(campaign, response=response, search=search)
    page = Paginator(members, MEMBERS_PER_PAGE).get_page(request.GET.get("page"))
    is_event = campaign.channel == CampaignChannel.EVENT
    can_change = user.has_perm(CHANGE, campaign)
    context = {
        "campaign": campaign,
        "model": model,
        "figures": figures,
        "stages": figures.stages(),
        "funnel_chart": charts.funnel_svg(
            figures.stages(),
            title=_("Funnel: leads, MQL, SQL, opportunities, won"),
            label=_("Campaign funnel"),
        ),
        "responses": [(r.value, r.label, figures.responses.get(r.value, 0)) for r in ResponseKind],
        "costs": campaign.costs.all(),
        "page": page,
        "member_rows": _member_rows(user, page.object_list),
        "query": urlencode(
            {k: v for k, v in (("model", model), ("response", response), ("q", search)) if v}
        ),
        "response_filter": response,
        "search": search,
        "can_change": can_change,
        "is_event": is_event,
        "places_left": services.event_places_left(campaign) if is_event else None,
        "registered": figures.responses.get("registered", 0),
        "attended": figures.responses.get("attended", 0),
    }
    if can_change:
        context["cost_form"] = forms.get("cost_form") or CostForm()
        context["segment_form"] = forms.get("segment_form") or AddFromSegmentForm(
            initial_segment=campaign.target_segment
        )
        if is_event:
            context["registration_form"] = forms.get("registration_form") or RegistrationForm(
                parties=party_list_for_user(user=user)
            )
    return context


@login_required
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = queries.campaign_get_for_user(user=request.user, pk=pk)
    return render(request, "marketing/campaigns/detail.html", _detail_context(request, campaign))


def _back(campaign, anchor: str = "") -> HttpResponse:
    url = reverse("marketing:campaign_detail", args=[campaign.pk])
    return redirect(url + (f"#{anchor}" if anchor else ""))


@login_required
@require_POST
def cost_add(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = queries.campaign_get_for_user(user=request.user, pk=pk, perm=CHANGE)
    form = CostForm(request.POST)
    if form.is_valid():
        try:
            services.cost_add(actor=request.user, campaign=campaign, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Cost added."))
            return _back(campaign, "costs")
    context = _detail_context(request, campaign, cost_form=form)
    return render(request, "marketing/campaigns/detail.html", context, status=400)


@login_required
@require_POST
def cost_delete(request: HttpRequest, pk: int, cost_pk: int) -> HttpResponse:
    campaign = queries.campaign_get_for_user(user=request.user, pk=pk, perm=CHANGE)
    cost = get_object_or_404(CampaignCost, pk=cost_pk, campaign=campaign)
    services.cost_delete(actor=request.user, cost=cost)
    messages.success(request, _("Cost removed."))
    return _back(campaign, "costs")


@login_required
@require_POST
def members_add_segment(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = queries.campaign_get_for_user(user=request.user, pk=pk, perm=CHANGE)
    form = AddFromSegmentForm(request.POST)
    if not form.is_valid():
        context = _detail_context(request, campaign, segment_form=form)
        return render(request, "marketing/campaigns/detail.html", context, status=400)
    result = services.members_add_from_segment(
        actor=request.user, campaign=campaign, segment=form.cleaned_data["segment"]
    )
    messages.success(
        request,
        _("%(added)s members added, %(skipped)s were members already.")
        % {"added": result.added, "skipped": result.skipped},
    )
    return _back(campaign, "members")


@login_required
@require_POST
def members_mark(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = queries.campaign_get_for_user(user=request.user, pk=pk, perm=CHANGE)
    ids = campaign.members.values_list("pk", flat=True)
    form = MarkMembersForm(request.POST, member_ids=list(ids))
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return _back(campaign, "members")
    data = form.cleaned_data
    changed = services.members_mark(
        actor=request.user,
        campaign=campaign,
        member_ids=data["members"],
        response=data["response"],
        clear=data["clear"],
    )
    label = ResponseKind(data["response"]).label
    if data["clear"]:
        text = _("“%(response)s” cleared on %(n)s members.")
    else:
        text = _("%(n)s members marked “%(response)s”.")
    messages.success(request, text % {"n": changed, "response": label})
    return _back(campaign, "members")


@login_required
@require_POST
def member_remove(request: HttpRequest, pk: int, member_pk: int) -> HttpResponse:
    campaign = queries.campaign_get_for_user(user=request.user, pk=pk, perm=CHANGE)
    member = get_object_or_404(CampaignMember, pk=member_pk, campaign=campaign)
    services.member_remove(actor=request.user, member=member)
    messages.success(request, _("Member removed."))
    return _back(campaign, "members")


@login_required
@require_POST
def event_register(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = queries.campaign_get_for_user(user=request.user, pk=pk, perm=CHANGE)
    form = RegistrationForm(request.POST, parties=party_list_for_user(user=request.user))
    if form.is_valid():
        data = form.cleaned_data
        try:
            result = services.event_register(
                actor=request.user,
                campaign=campaign,
                party=data["party"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                email=data["email"],
                company=data["company"],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            if result.lead_created:
                messages.success(request, _("Registered; a new lead was created."))
            elif result.lead is not None:
                messages.success(request, _("Registered; the person was found among the leads."))
            else:
                messages.success(request, _("Registered."))
            return _back(campaign, "event")
    context = _detail_context(request, campaign, registration_form=form)
    return render(request, "marketing/campaigns/detail.html", context, status=400)


@login_required
@require_POST
def event_attend(request: HttpRequest, pk: int, member_pk: int) -> HttpResponse:
    campaign = queries.campaign_get_for_user(user=request.user, pk=pk, perm=CHANGE)
    member = get_object_or_404(CampaignMember, pk=member_pk, campaign=campaign)
    attended = request.POST.get("attended") == "1"
    try:
        services.event_attend(actor=request.user, member=member, attended=attended)
    except ValidationError as exc:
        for error in exc.messages:
            messages.error(request, error)
    else:
        messages.success(request, _("Attendance saved."))
    return _back(campaign, "members")
