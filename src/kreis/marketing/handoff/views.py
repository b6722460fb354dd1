"""Pages of the handoff to sales under /marketing/handoff/: the queue of open handoffs (and the
qualified leads waiting for a rep), the assignment rules, the SLA compliance report, the SLA
settings, and the handoff panel on the lead's page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kreis.core.models import User
from kreis.core.web import apply_errors, parse_id, query_without_page
from kreis.leads.queries import lead_get_for_user
from kreis.marketing.handoff import queries, services
from kreis.marketing.handoff.charts import compliance_bars_svg
from kreis.marketing.handoff.forms import PeriodForm, RuleForm, SettingsForm
from kreis.marketing.models import HandoffStatus, LeadAssignmentRule, MarketingSettings

PAGE_SIZE = 25


def _require(request: HttpRequest, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise Http404


def _tabs(request: HttpRequest, active: str) -> dict:
    user = request.user
    return {
        "tab": active,
        "can_rules": user.has_perm("marketing.view_handoff_rules"),
        "can_configure": user.has_perm("marketing.configure"),
    }


@require_GET
@login_required
def queue(request: HttpRequest) -> HttpResponse:
    _require(request, "marketing.view_handoffs")
    get = request.GET
    now = timezone.now()
    status = get.get("status", HandoffStatus.OPEN)
    params = {
        "status": status if status in HandoffStatus.values or status == "" else "open",
        "rep_id": parse_id(get.get("rep")),
        "overdue": get.get("overdue") == "1",
    }
    handoffs = queries.handoff_list_for_user(user=request.user, now=now, **params)
    page = Paginator(handoffs, PAGE_SIZE).get_page(get.get("page"))
    reps = User.objects.filter(
        pk__in=queries.handoffs_for_user(user=request.user).values("assigned_to_id")
    ).order_by("username")
    waiting = queries.waiting_leads_for_user(user=request.user)[:50]
    return render(
        request,
        "marketing/handoff/queue.html",
        {
            "page": page,
            "params": params,
            "query": query_without_page(request),
            "statuses": HandoffStatus.choices,
            "reps": reps,
            "now": now,
            "waiting": waiting,
            **_tabs(request, "queue"),
        },
    )


# --- Lead page --------------------------------------------------------------------------------


@require_GET
@login_required
def lead_panel(request: HttpRequest, pk: int) -> HttpResponse:
    """The handoff card on the lead's page (fetched by HTMX): who has it, due when, and the
    "Hand off now" button for marketing and managers."""
    lead = lead_get_for_user(user=request.user, pk=pk, related=("owner", "team"))
    if not request.user.has_perm("marketing.view_handoffs"):
        return HttpResponse("")
    handoff = services.handoff_for_lead(lead)
    can_hand_off = (
        services.may_hand_off(request.user, lead)
        and lead.status == "new"
        and (handoff is None or handoff.status != HandoffStatus.OPEN)
    )
    return render(
        request,
        "marketing/handoff/_lead_panel.html",
        {"lead": lead, "handoff": handoff, "can_hand_off": can_hand_off, "now": timezone.now()},
    )


@require_POST
@login_required
def lead_hand_off(request: HttpRequest, pk: int) -> HttpResponse:
    lead = lead_get_for_user(user=request.user, pk=pk, related=("owner", "team"))
    if not services.may_hand_off(request.user, lead):
        raise Http404
    try:
        handoff = services.hand_off(lead, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        handoff = None
    else:
        if handoff is None:
            messages.warning(
                request,
                _(
                    "The lead was not handed off: it is not new, already waits for a first "
                    "contact, or no sales rep can take it."
                ),
            )
        else:
            messages.success(
                request,
                _("Handed off to %(rep)s; first contact due %(due)s.")
                % {"rep": handoff.assigned_to, "due": services._when(handoff.due_at)},
            )
    if request.POST.get("next") == "queue":
        return redirect("marketing:handoff_queue")
    return redirect("leads:detail", pk=lead.pk)


# --- Rules ------------------------------------------------------------------------------------


@require_GET
@login_required
def rule_list(request: HttpRequest) -> HttpResponse:
    _require(request, "marketing.view_handoff_rules")
    rules = list(queries.rule_list_for_user(user=request.user))
    return render(
        request,
        "marketing/handoff/rules.html",
        {
            "rules": rules,
            "can_change": request.user.has_perm("marketing.change_handoff_rules"),
            **_tabs(request, "rules"),
        },
    )


def _rule_form(request: HttpRequest, rule: LeadAssignmentRule) -> HttpResponse:
    creating = rule.pk is None
    if creating and request.method == "GET":
        last = LeadAssignmentRule.objects.order_by("-position").first()
        rule.position = (last.position + 10) if last else 10
    form = RuleForm(request.POST or None, instance=rule)
    if request.method == "POST" and form.is_valid():
        values = {
            k: v
            for k, v in form.cleaned_data.items()
            if k not in ("users", "required_competencies")
        }
        try:
            services.rule_save(
                actor=request.user,
                rule=rule,
                values=values,
                users=list(form.cleaned_data["users"]),
                competencies=list(form.cleaned_data["required_competencies"]),
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Rule “%(name)s” saved.") % {"name": rule.name})
            return redirect("marketing:handoff_rules")
    return render(
        request,
        "marketing/handoff/rule_form.html",
        {"form": form, "rule": rule, "creating": creating, **_tabs(request, "rules")},
        status=400 if form.is_bound and form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
@login_required
def rule_create(request: HttpRequest) -> HttpResponse:
    _require(request, "marketing.change_handoff_rules")
    return _rule_form(request, LeadAssignmentRule())


@require_http_methods(["GET", "POST"])
@login_required
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    rule = queries.rule_get_for_user(user=request.user, pk=pk, write=True)
    return _rule_form(request, rule)


@require_POST
@login_required
def rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    rule = queries.rule_get_for_user(user=request.user, pk=pk, write=True)
    services.rule_delete(actor=request.user, rule=rule)
    messages.success(request, _("Rule “%(name)s” deleted.") % {"name": rule.name})
    return redirect("marketing:handoff_rules")


@require_POST
@login_required
def rule_move(request: HttpRequest, pk: int) -> HttpResponse:
    """One place up or down in the order (buttons, so the keyboard can reorder too)."""
    rule = queries.rule_get_for_user(user=request.user, pk=pk, write=True)
    ids = list(LeadAssignmentRule.objects.order_by("position", "pk").values_list("pk", flat=True))
    at = ids.index(rule.pk)
    to = at - 1 if request.POST.get("direction") == "up" else at + 1
    if 0 <= to < len(ids):
        ids[at], ids[to] = ids[to], ids[at]
        services.rules_reorder(actor=request.user, ids=ids)
    return redirect(reverse("marketing:handoff_rules") + f"#rule-{rule.pk}")


# --- Report and settings ----------------------------------------------------------------------


@require_GET
@login_required
def report(request: HttpRequest) -> HttpResponse:
    _require(request, "marketing.view_handoffs")
    form = PeriodForm(request.GET)
    start, end = form.period()
    result = queries.compliance_report(user=request.user, start=start, end=end)
    return render(
        request,
        "marketing/handoff/report.html",
        {
            "form": form,
            "report": result,
            "rep_chart": compliance_bars_svg(result.reps, label=_("SLA compliance per rep")),
            "team_chart": compliance_bars_svg(result.teams, label=_("SLA compliance per team")),
            **_tabs(request, "report"),
        },
        status=400 if form.is_bound and form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
@login_required
def settings_page(request: HttpRequest) -> HttpResponse:
    _require(request, "marketing.configure")
    form = SettingsForm(request.POST or None, instance=MarketingSettings.load())
    if request.method == "POST" and form.is_valid():
        try:
            services.settings_update(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The handoff settings are saved."))
            return redirect("marketing:handoff_settings")
    return render(
        request,
        "marketing/handoff/settings.html",
        {"form": form, **_tabs(request, "settings")},
        status=400 if form.is_bound and form.errors else 200,
    )
