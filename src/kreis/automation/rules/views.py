"""Settings → Integration → Automation rules (administrators): list, form, run log, dry run,
export and import, and the inbound webhook of "webhook received" rules."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from kreis.automation.rules import forms as rule_forms
from kreis.automation.rules import labels, records, services
from kreis.automation.rules.models import RecordType, Rule, RunStatus
from kreis.core import publicforms

INBOUND_PER_HOUR = 600
TRY_CANDIDATES = 10


def _admin(request: HttpRequest) -> None:
    if not request.user.is_admin:
        raise PermissionDenied


def _rule(request: HttpRequest, pk: int) -> Rule:
    _admin(request)
    return get_object_or_404(Rule, pk=pk)


@login_required
def rule_list(request: HttpRequest) -> HttpResponse:
    _admin(request)
    rules = Rule.objects.order_by("name", "pk")
    return render(request, "automation/rules/list.html", {"rules": rules})


def _form_page(request: HttpRequest, rule: Rule | None) -> HttpResponse:
    more = "add_rows" in request.POST
    if request.method == "POST":
        form, conditions, actions = rule_forms.build(request.POST)
        data, rows = rule_forms.collect(form, conditions, actions)
        if data is not None and not more:
            try:
                if rule is None:
                    rule = services.rule_create(actor=request.user, data=data)
                    messages.success(
                        request,
                        _("Rule “%s” created. It is disabled: try it on a record, then enable it.")
                        % rule.name,
                    )
                else:
                    services.rule_update(actor=request.user, rule=rule, data=data)
                    messages.success(request, _("Rule “%s” saved.") % rule.name)
            except ValidationError as exc:
                rule_forms.apply_errors(exc, form, conditions, actions, rows)
            else:
                return redirect("rules:rule_detail", rule.pk)
        if more:  # the same rows again, with an empty one more of each
            conditions = _with_row(conditions, rule_forms.ConditionFormSet, "conditions")
            actions = _with_row(actions, rule_forms.ActionFormSet, "actions")
    else:
        form, conditions, actions = rule_forms.build(rule=rule)
    context = {"form": form, "conditions": conditions, "actions": actions, "rule": rule}
    return render(request, "automation/rules/form.html", context)


def _with_row(formset, formset_class, prefix):
    initial = [
        {
            k[len(f"{prefix}-{i}-") :]: v
            for k, v in formset.data.items()
            if k.startswith(f"{prefix}-{i}-")
        }
        for i in range(len(formset.forms))
    ]
    return formset_class(initial=[*initial, {}], prefix=prefix)


@login_required
def rule_create(request: HttpRequest) -> HttpResponse:
    _admin(request)
    return _form_page(request, None)


@login_required
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _form_page(request, _rule(request, pk))


@login_required
def rule_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The rule, its inbound address (for "webhook received"), the dry run and the run log."""
    rule = _rule(request, pk)
    runs = rule.runs.all()
    status = request.GET.get("status", "")
    if status in RunStatus.values:
        runs = runs.filter(status=status)
    page = Paginator(runs, 25).get_page(request.GET.get("page"))
    inbound = request.build_absolute_uri(reverse("rules:inbound", args=[rule.inbound_token]))
    context = {
        "rule": rule,
        "page": page,
        "status": status,
        "statuses": RunStatus.choices,
        "inbound_url": inbound,
        "record_types": RecordType.choices,
        "conditions": [_condition_text(c) for c in rule.conditions],
        "actions": [_action_text(a, rule.record_type) for a in rule.actions],
        "trigger_details": labels.details(rule.trigger_config or {}, rule.record_type),
    }
    return render(request, "automation/rules/detail.html", context)


def _condition_text(condition: dict) -> str:
    from kreis.automation.rules.engine import describe_condition

    return describe_condition(condition)


def _action_text(action: dict, record_type: str) -> tuple[str, list[tuple]]:
    """The action's kind and its details by name (the stage, user, segment … not its ID)."""
    from kreis.automation.rules.engine import describe_action

    return describe_action(action), labels.details(action, record_type)


@login_required
def rule_try(request: HttpRequest, pk: int) -> HttpResponse:
    """Try the rule on a record (by ID or name): which conditions pass, what each action would
    do. Nothing is changed, nothing logged."""
    rule = _rule(request, pk)
    record_type = request.GET.get("record_type") or rule.record_type or "party"
    query = (request.GET.get("q") or "").strip()
    outcome = record = None
    candidates = []
    error = ""
    if record_type not in records.MODELS:
        record_type = "party"
    if query:
        model = records.model_for(record_type)
        if query.isdigit():
            record = model._base_manager.filter(pk=int(query)).first()
        else:
            names = [f.name for f in model._meta.concrete_fields]
            text_fields = [
                f for f in ("name", "subject", "last_name", "company", "number") if f in names
            ]
            lookup = Q()
            for name in text_fields:
                lookup |= Q(**{f"{name}__icontains": query})
            candidates = (
                list(model._base_manager.filter(lookup).order_by("pk")[:TRY_CANDIDATES])
                if text_fields
                else []
            )
            if len(candidates) == 1:
                record, candidates = candidates[0], []
        if record is None and not candidates:
            error = _("No record found for “%s”.") % query
    if record is not None:
        try:
            outcome = services.rule_try(
                actor=request.user, rule=rule, record_type=record_type, record_id=record.pk
            )
        except ValidationError as exc:
            error = " ".join(exc.messages)
    context = {
        "rule": rule,
        "record_type": record_type,
        "record_types": RecordType.choices,
        "q": query,
        "record": record,
        "candidates": candidates,
        "outcome": outcome,
        "error": error,
    }
    return render(request, "automation/rules/try.html", context)


@login_required
@require_POST
def rule_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    rule = _rule(request, pk)
    enabled = request.POST.get("enabled") == "1"
    services.rule_set_enabled(actor=request.user, rule=rule, enabled=enabled)
    if enabled:
        messages.success(request, _("Rule “%s” enabled.") % rule.name)
    else:
        messages.success(request, _("Rule “%s” disabled.") % rule.name)
    return redirect("rules:rule_detail", rule.pk)


@login_required
@require_POST
def rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    rule = _rule(request, pk)
    services.rule_delete(actor=request.user, rule=rule)
    messages.success(request, _("Rule “%s” deleted.") % rule.name)
    return redirect("rules:rule_list")


@login_required
@require_POST
def rule_rotate_secret(request: HttpRequest, pk: int) -> HttpResponse:
    rule = _rule(request, pk)
    services.rule_rotate_inbound_secret(actor=request.user, rule=rule)
    messages.success(request, _("New signing secret created; senders need the new one now."))
    return redirect("rules:rule_detail", rule.pk)


def _download(payload: dict, name: str) -> HttpResponse:
    response = HttpResponse(
        json.dumps(payload, ensure_ascii=False, indent=2), content_type="application/json"
    )
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
def rule_export(request: HttpRequest, pk: int) -> HttpResponse:
    rule = _rule(request, pk)
    return _download(services.export_rules([rule]), f"kreis-rule-{rule.pk}.json")


@login_required
def rules_export(request: HttpRequest) -> HttpResponse:
    _admin(request)
    return _download(services.export_rules(Rule.objects.order_by("pk")), "kreis-rules.json")


@login_required
def rules_import(request: HttpRequest) -> HttpResponse:
    """Import rules from an export (file or pasted JSON): all or none, with each error."""
    _admin(request)
    errors: list[str] = []
    text = request.POST.get("json", "")
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is not None:
            raw = upload.read(services.MAX_INBOUND_BYTES * 20 + 1)
            text = raw.decode("utf-8", errors="replace")
        if not text.strip():
            errors = [_("Choose a file or paste the JSON.")]
        else:
            try:
                created = services.rules_import(actor=request.user, raw=text)
            except ValidationError as exc:
                errors = exc.messages
            else:
                messages.success(
                    request,
                    _("%(n)d rules imported; they are disabled until you enable them.")
                    % {"n": len(created)},
                )
                return redirect("rules:rule_list")
    return render(request, "automation/rules/import.html", {"errors": errors, "json": text})


@csrf_exempt
@require_POST
def inbound(request: HttpRequest, token: str) -> HttpResponse:
    """The inbound webhook of a "webhook received" rule (no sign-in: the secret address and the
    Standard Webhooks signature say who sends). Rate-limited per address."""
    wait = publicforms.seconds_until_allowed(
        request, scope="automation-inbound", per_hour=INBOUND_PER_HOUR
    )
    if wait is not None:
        return publicforms.throttled(JsonResponse({"title": "Too many requests."}), wait)
    headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        services.inbound_receive(token=token, body=request.body, headers=headers)
    except services.InboundRefused as exc:
        return JsonResponse({"title": str(exc)}, status=exc.status)
    return JsonResponse({"accepted": True}, status=202)
