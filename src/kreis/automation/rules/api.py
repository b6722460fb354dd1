"""API routes of the automation rules (administrators): the rules, their run logs, the dry run,
export and import."""

from datetime import datetime
from typing import Any, Literal

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from kreis.automation.rules import services
from kreis.automation.rules.models import RecordType, Rule, RunStatus, TriggerKind
from kreis.core.api_support import (
    PROBLEM_RESPONSES,
    Input,
    ObjectId,
    Pagination,
    check_if_match,
    etag,
    if_match_write,
    with_etag,
)

router = Router(tags=["automation rules"])

TriggerName = Literal[tuple(TriggerKind.values)]  # type: ignore[valid-type]
RecordTypeName = Literal[tuple(RecordType.values)]  # type: ignore[valid-type]
RunStatusName = Literal[tuple(RunStatus.values)]  # type: ignore[valid-type]


class AutomationRuleOut(Schema):
    id: int
    name: str
    description: str
    enabled: bool
    trigger: str
    record_type: str
    trigger_config: dict[str, Any]
    match: str
    conditions: list[dict[str, Any]]
    actions: list[dict[str, Any]]
    inbound_path: str = Field(description="For “webhook.received”: where to POST (signed)")
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_inbound_path(obj) -> str:
        if obj.trigger != TriggerKind.WEBHOOK_RECEIVED:
            return ""
        from django.urls import reverse

        return reverse("rules:inbound", args=[obj.inbound_token])


class AutomationRuleIn(Input):
    name: str = Field(min_length=1, max_length=120)
    description: str = ""
    enabled: bool = Field(False, description="New rules start disabled unless true")
    trigger: TriggerName
    record_type: RecordTypeName | Literal[""] = ""
    trigger_config: dict[str, Any] = Field(
        default_factory=dict,
        description="field, from_value, to_value (field.changed); stage_id; phase; threshold; "
        "days; form_id; survey_id",
    )
    match: Literal["all", "any"] = "all"
    conditions: list[dict[str, Any]] = Field(default_factory=list, max_length=20)
    actions: list[dict[str, Any]] = Field(min_length=1, max_length=20)


class AutomationRulePatch(Input):
    name: str | None = Field(None, min_length=1, max_length=120)
    description: str | None = None
    enabled: bool | None = None
    trigger: TriggerName | None = None
    record_type: RecordTypeName | Literal[""] | None = None
    trigger_config: dict[str, Any] | None = None
    match: Literal["all", "any"] | None = None
    conditions: list[dict[str, Any]] | None = Field(None, max_length=20)
    actions: list[dict[str, Any]] | None = Field(None, min_length=1, max_length=20)


class AutomationRunOut(Schema):
    id: int
    rule_id: int
    trigger: str
    record_type: str
    record_id: int | None
    record_label: str
    status: str
    conditions: list[dict[str, Any]]
    actions: list[dict[str, Any]]
    error: str
    chain_id: str
    depth: int
    attempts: int
    started_at: datetime
    duration_ms: float


class AutomationTryIn(Input):
    record_type: RecordTypeName
    record_id: int = Field(ge=1)


class AutomationTryOut(Schema):
    passed: bool = Field(description="Whether the conditions hold")
    conditions: list[dict[str, Any]]
    actions: list[dict[str, Any]] = Field(description="What each action would do")


class AutomationExportOut(Schema):
    format: str
    version: int
    exported_at: str
    rules: list[dict[str, Any]]


class AutomationImportIn(Input):
    format: str = services.EXPORT_FORMAT
    version: int = services.EXPORT_VERSION
    rules: list[dict[str, Any]] = Field(min_length=1, max_length=services.MAX_IMPORT)
    enable: bool = Field(False, description="Keep “enabled” as exported (else all start disabled)")


def _admin(request: HttpRequest) -> None:
    if not request.auth.is_admin:
        raise PermissionDenied


def _rule(request: HttpRequest, rule_id: int) -> Rule:
    _admin(request)
    return get_object_or_404(Rule, pk=rule_id)


@router.get(
    "/automation/rules",
    response=list[AutomationRuleOut],
    summary="Automation rules",
    operation_id="automation_rule_list",
)
@paginate(Pagination)
def automation_rule_list(request: HttpRequest, enabled: bool | None = None):
    _admin(request)
    rules = Rule.objects.order_by("name", "pk")
    return rules if enabled is None else rules.filter(enabled=enabled)


@router.post(
    "/automation/rules",
    response={201: AutomationRuleOut, **PROBLEM_RESPONSES},
    summary="Create a rule (disabled unless enabled is true)",
    operation_id="automation_rule_create",
)
def automation_rule_create(request: HttpRequest, payload: AutomationRuleIn, response: HttpResponse):
    rule = services.rule_create(actor=request.auth, data=payload.model_dump())
    response["ETag"] = etag(rule)
    return Status(201, rule)


@router.get(
    "/automation/rules/export",
    response={200: AutomationExportOut, **PROBLEM_RESPONSES},
    summary="Export all rules as JSON",
    operation_id="automation_rules_export",
)
def automation_rules_export(request: HttpRequest):
    _admin(request)
    return services.export_rules(Rule.objects.order_by("pk"))


@router.post(
    "/automation/rules/import",
    response={201: list[AutomationRuleOut], **PROBLEM_RESPONSES},
    summary="Import rules from an export: all or, with any error, none",
    operation_id="automation_rules_import",
)
def automation_rules_import(request: HttpRequest, payload: AutomationImportIn):
    data = payload.model_dump()
    enable = data.pop("enable")
    return Status(201, services.rules_import(actor=request.auth, raw=data, enable=enable))


@router.get(
    "/automation/rules/{int:automation_rule_id}",
    response={200: AutomationRuleOut, **PROBLEM_RESPONSES},
    summary="An automation rule",
    operation_id="automation_rule_detail",
)
def automation_rule_detail(
    request: HttpRequest, automation_rule_id: ObjectId, response: HttpResponse
):
    return with_etag(response, _rule(request, automation_rule_id))


@router.patch(
    "/automation/rules/{int:automation_rule_id}",
    response={200: AutomationRuleOut, **PROBLEM_RESPONSES},
    summary="Change a rule (only the keys given)",
    operation_id="automation_rule_update",
)
def automation_rule_update(
    request: HttpRequest,
    automation_rule_id: ObjectId,
    payload: AutomationRulePatch,
    response: HttpResponse,
):
    changes = payload.model_dump(exclude_unset=True, exclude_none=True)
    return if_match_write(
        request,
        _rule(request, automation_rule_id),
        lambda rule: services.rule_update(actor=request.auth, rule=rule, data=changes),
        response,
    )


@router.delete(
    "/automation/rules/{int:automation_rule_id}",
    response={204: None, **PROBLEM_RESPONSES},
    summary="Delete a rule and its run log",
    operation_id="automation_rule_delete",
)
def automation_rule_delete(request: HttpRequest, automation_rule_id: ObjectId):
    if_match_write(
        request,
        _rule(request, automation_rule_id),
        lambda rule: services.rule_delete(actor=request.auth, rule=rule),
    )
    return Status(204, None)


@router.get(
    "/automation/rules/{int:automation_rule_id}/export",
    response={200: AutomationExportOut, **PROBLEM_RESPONSES},
    summary="Export one rule as JSON",
    operation_id="automation_rule_export",
)
def automation_rule_export(request: HttpRequest, automation_rule_id: ObjectId):
    return services.export_rules([_rule(request, automation_rule_id)])


@router.post(
    "/automation/rules/{int:automation_rule_id}/try",
    response={200: AutomationTryOut, **PROBLEM_RESPONSES},
    summary="Dry run: which conditions pass and what each action would do (nothing changes)",
    operation_id="automation_rule_try",
)
def automation_rule_try(
    request: HttpRequest, automation_rule_id: ObjectId, payload: AutomationTryIn
):
    rule = _rule(request, automation_rule_id)
    check_if_match(request, rule)  # the dry run of the version the caller has seen
    outcome = services.rule_try(
        actor=request.auth, rule=rule, record_type=payload.record_type, record_id=payload.record_id
    )
    return {"passed": outcome.passed, "conditions": outcome.conditions, "actions": outcome.actions}


@router.get(
    "/automation/rules/{int:automation_rule_id}/runs",
    response={200: list[AutomationRunOut], **PROBLEM_RESPONSES},
    summary="The rule's run log, newest first",
    operation_id="automation_rule_runs",
)
@paginate(Pagination)
def automation_rule_runs(
    request: HttpRequest, automation_rule_id: ObjectId, status: RunStatusName | None = None
):
    rule = _rule(request, automation_rule_id)
    runs = rule.runs.all()
    return runs.filter(status=status) if status else runs
