"""API of the handoff to sales: the assignment rules (CRUD), the handoffs (list with filters),
handing a lead off now, the SLA compliance report and the SLA settings.

Who may do what is the same as on the pages (``kreis.marketing.handoff.rules``): rules are
read by administrators, marketing and sales managers and changed by administrators and
marketing; handoffs are listed as the caller may see them (a rep his own, a manager his
teams'); the settings are for administrators. A bad value is 422 naming the field, and
nothing changes.
"""

from datetime import date, datetime
from typing import Annotated, Any, Literal

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from kreis.commerce.models import Product
from kreis.core.api_support import (
    PROBLEM_RESPONSES,
    DateValue,
    IdValue,
    Input,
    ObjectId,
    Pagination,
    check_if_match,
)
from kreis.core.models import Competency, Team, User
from kreis.leads.queries import lead_get_for_user
from kreis.marketing.handoff import queries, services
from kreis.marketing.models import HandoffStatus, LeadAssignmentRule, MarketingSettings

router = Router(tags=["lead handoff"])

StatusName = Literal[tuple(HandoffStatus.values)]  # type: ignore[valid-type]
LanguageCode = Literal["", "de", "en"]
Name = Annotated[str, Field(min_length=1, max_length=120)]
Territory = Annotated[str, Field(max_length=100)]
Cap = Annotated[int, Field(ge=1, le=10_000)]
Position = Annotated[int, Field(ge=0, le=32_767)]
CompetencyLevel = Annotated[int, Field(ge=1, le=4)]
NO_CONTENT = {204: None, **PROBLEM_RESPONSES}


class RuleOut(Schema):
    id: int
    name: str
    position: int
    territory: str
    product_interest_id: int | None
    language: str
    team_id: int | None
    user_ids: list[int]
    required_competency_ids: list[int]
    competency_level: int
    workload_cap: int | None
    last_user_id: int | None
    is_active: bool

    @staticmethod
    def resolve_user_ids(rule: LeadAssignmentRule) -> list[int]:
        return sorted(u.pk for u in rule.users.all())

    @staticmethod
    def resolve_required_competency_ids(rule: LeadAssignmentRule) -> list[int]:
        return sorted(c.pk for c in rule.required_competencies.all())


class RuleIn(Input):
    name: Name
    position: Position = 0
    territory: Territory = ""
    product_interest_id: IdValue | None = None
    language: LanguageCode = ""
    team_id: IdValue | None = None
    user_ids: list[IdValue] = Field(default_factory=list, max_length=500)
    # Only users who hold each of these competencies at ``competency_level`` (1 basic …
    # 4 expert) or higher take the rule's leads.
    required_competency_ids: list[IdValue] = Field(default_factory=list, max_length=100)
    competency_level: CompetencyLevel = 2
    workload_cap: Cap | None = None
    is_active: bool = True


class RulePatch(Input):
    name: Name | None = None
    position: Position | None = None
    territory: Territory | None = None
    product_interest_id: IdValue | None = None
    language: LanguageCode | None = None
    team_id: IdValue | None = None
    user_ids: list[IdValue] | None = Field(None, max_length=500)
    required_competency_ids: list[IdValue] | None = Field(None, max_length=100)
    competency_level: CompetencyLevel | None = None
    workload_cap: Cap | None = None
    is_active: bool | None = None


class HandoffOut(Schema):
    id: int
    lead_id: int
    lead_name: str
    assigned_to_id: int | None
    team_id: int | None
    rule_id: int | None
    # Why this rep: ``reason_code`` ("rule" or "fallback") with ``reason_params`` (rule name,
    # conditions, the rep's load and cap, who was skipped), and ``reason`` in words of the
    # request's language (Accept-Language). Handoffs stored before reason codes existed have
    # ``reason_code`` null and their stored text as ``reason``.
    reason: str
    reason_code: str | None
    reason_params: dict[str, Any]
    status: str
    assigned_at: datetime
    due_at: datetime
    first_contact_at: datetime | None
    reminded_at: datetime | None
    escalated_at: datetime | None
    recycled_at: datetime | None

    @staticmethod
    def resolve_lead_name(handoff) -> str:
        return str(handoff.lead)

    @staticmethod
    def resolve_reason(handoff) -> str:
        return services.reason_text(handoff.reason)

    @staticmethod
    def resolve_reason_code(handoff) -> str | None:
        decoded = services.reason_decode(handoff.reason)
        return decoded[0] if decoded else None

    @staticmethod
    def resolve_reason_params(handoff) -> dict[str, Any]:
        decoded = services.reason_decode(handoff.reason)
        return decoded[1] if decoded else {}


class ComplianceRowOut(Schema):
    id: int | None
    name: str
    handoffs: int
    in_time: int
    late: int
    recycled: int
    open: int
    overdue: int
    compliance_percent: float | None
    median_hours_to_first_contact: float | None


class ComplianceOut(Schema):
    from_: date = Field(..., alias="from")
    to: date
    reps: list[ComplianceRowOut]
    teams: list[ComplianceRowOut]
    total: ComplianceRowOut


class ReportQuery(Schema):
    from_: DateValue = Field(..., alias="from")
    to: DateValue


class SettingsOut(Schema):
    first_contact_hours: int
    reminder_percent: int
    recycle_hours: int


class SettingsIn(Input):
    first_contact_hours: Annotated[int, Field(ge=1, le=32_767)] | None = None
    reminder_percent: Annotated[int, Field(ge=1, le=99)] | None = None
    recycle_hours: Annotated[int, Field(ge=1, le=32_767)] | None = None


def _related(values: dict) -> tuple[dict, list[User] | None, list[Competency] | None]:
    """Ids in the payload → the records (an unknown id is 422 on its field)."""
    errors = {}
    competencies = None
    if "required_competency_ids" in values:
        wanted = set(values.pop("required_competency_ids") or [])
        competencies = list(Competency.objects.filter(pk__in=wanted, is_active=True))
        if len(competencies) != len(wanted):
            errors["required_competency_ids"] = _("Not found, or not active.")
    if "competency_level" in values and values["competency_level"] is None:
        values.pop("competency_level")
    for field, model in (("product_interest_id", Product), ("team_id", Team)):
        if values.get(field) is not None and not model.objects.filter(pk=values[field]).exists():
            errors[field] = _("Not found.")
    users = None
    if "user_ids" in values:
        ids = set(values.pop("user_ids") or [])
        users = list(User.objects.filter(pk__in=ids, is_active=True, role__in=services.OWNER_ROLES))
        if len(users) != len(ids):
            errors["user_ids"] = _("Only active sales reps and sales managers take leads.")
    if errors:
        raise ValidationError(errors)
    return values, users, competencies


def _rule_save(request: HttpRequest, rule: LeadAssignmentRule, values: dict):
    values, users, competencies = _related(values)
    if values.get("territory") is None and "territory" in values:
        values["territory"] = ""
    if values.get("language") is None and "language" in values:
        values["language"] = ""
    has_team = values.get("team_id", rule.team_id) is not None
    has_users = bool(users) if users is not None else (rule.pk and rule.users.exists())
    if not has_team and not has_users:
        raise ValidationError(
            {"user_ids": _("Pick users or a team: somebody must take the leads.")}
        )
    return services.rule_save(
        actor=request.auth, rule=rule, values=values, users=users, competencies=competencies
    )


@router.get(
    "/marketing/handoff/rules",
    response={200: list[RuleOut], **PROBLEM_RESPONSES},
    summary="The lead assignment rules, in order",
    operation_id="handoff_rule_list",
)
def rule_list(request: HttpRequest):
    if not request.auth.has_perm("marketing.view_handoff_rules"):
        raise PermissionDenied
    return list(queries.rule_list_for_user(user=request.auth))


@router.post(
    "/marketing/handoff/rules",
    response={201: RuleOut, **PROBLEM_RESPONSES},
    summary="Add a lead assignment rule",
    operation_id="handoff_rule_create",
)
def rule_create(request: HttpRequest, payload: RuleIn):
    if not request.auth.has_perm("marketing.change_handoff_rules"):
        raise PermissionDenied
    rule = _rule_save(request, LeadAssignmentRule(), payload.model_dump())
    return Status(201, rule)


@router.get(
    "/marketing/handoff/rules/{handoff_rule_id}",
    response={200: RuleOut, **PROBLEM_RESPONSES},
    summary="A lead assignment rule",
    operation_id="handoff_rule_detail",
)
def rule_detail(request: HttpRequest, handoff_rule_id: ObjectId):
    return queries.rule_get_for_user(user=request.auth, pk=handoff_rule_id)


@router.patch(
    "/marketing/handoff/rules/{handoff_rule_id}",
    response={200: RuleOut, **PROBLEM_RESPONSES},
    summary="Change a lead assignment rule",
    operation_id="handoff_rule_update",
)
def rule_update(request: HttpRequest, handoff_rule_id: ObjectId, payload: RulePatch):
    rule = queries.rule_get_for_user(user=request.auth, pk=handoff_rule_id, write=True)
    values = payload.model_dump(exclude_unset=True)
    for required in ("name", "position", "is_active"):
        if values.get(required, 0) is None:
            values.pop(required)
    return _rule_save(request, rule, values)


@router.delete(
    "/marketing/handoff/rules/{handoff_rule_id}",
    response=NO_CONTENT,
    summary="Delete a lead assignment rule (its handoffs stay)",
    operation_id="handoff_rule_delete",
)
def rule_delete(request: HttpRequest, handoff_rule_id: ObjectId):
    rule = queries.rule_get_for_user(user=request.auth, pk=handoff_rule_id, write=True)
    services.rule_delete(actor=request.auth, rule=rule)
    return Status(204, None)


@router.get(
    "/marketing/handoffs",
    response=list[HandoffOut],
    summary="Handoffs as the caller may see them (open ones by due time)",
    operation_id="handoff_list",
)
@paginate(Pagination)
def handoff_list(
    request: HttpRequest,
    status: StatusName | None = None,
    rep_id: IdValue | None = None,
    team_id: IdValue | None = None,
    overdue: bool = False,
):
    return queries.handoff_list_for_user(
        user=request.auth, status=status or "", rep_id=rep_id, team_id=team_id, overdue=overdue
    )


@router.get(
    "/marketing/handoffs/{handoff_id}",
    response={200: HandoffOut, **PROBLEM_RESPONSES},
    summary="A handoff",
    operation_id="handoff_detail",
)
def handoff_detail(request: HttpRequest, handoff_id: ObjectId):
    return queries.handoff_get_for_user(user=request.auth, pk=handoff_id)


@router.post(
    "/leads/{lead_id}/hand-off",
    response={201: HandoffOut, **PROBLEM_RESPONSES},
    summary="Hand a new lead to the next sales rep by the assignment rules, now",
    operation_id="lead_hand_off",
)
def lead_hand_off(request: HttpRequest, lead_id: ObjectId):
    lead = lead_get_for_user(user=request.auth, pk=lead_id, related=("owner", "team"))
    if not services.may_hand_off(request.auth, lead):
        raise Http404
    check_if_match(request, lead)
    handoff = services.hand_off(lead, actor=request.auth)
    if handoff is None:
        raise ValidationError(
            {
                "lead_id": _(
                    "The lead was not handed off: it is not new, already waits for a first "
                    "contact, or no sales rep can take it."
                )
            }
        )
    return Status(201, handoff)


@router.get(
    "/marketing/handoff/report",
    response={200: ComplianceOut, **PROBLEM_RESPONSES},
    summary="SLA compliance per rep and team for the handoffs assigned in a period",
    operation_id="handoff_report",
)
def handoff_report(request: HttpRequest, period: Query[ReportQuery]):
    if not request.auth.has_perm("marketing.view_handoffs"):
        raise PermissionDenied
    from_, to = period.from_, period.to
    if from_ > to or (to - from_).days > 3660:
        raise ValidationError(
            {"to": _("The period must end on or after its first day, ten years at most.")}
        )
    return queries.compliance_report(user=request.auth, start=from_, end=to).as_dict()


@router.get(
    "/marketing/handoff/settings",
    response={200: SettingsOut, **PROBLEM_RESPONSES},
    summary="The first-contact SLA settings",
    operation_id="handoff_settings",
)
def settings_detail(request: HttpRequest):
    if not request.auth.has_perm("marketing.configure"):
        raise PermissionDenied
    return MarketingSettings.load()


@router.patch(
    "/marketing/handoff/settings",
    response={200: SettingsOut, **PROBLEM_RESPONSES},
    summary="Change the first-contact SLA settings",
    operation_id="handoff_settings_update",
)
def settings_update(request: HttpRequest, payload: SettingsIn):
    if not request.auth.has_perm("marketing.configure"):
        raise PermissionDenied
    values = {k: v for k, v in payload.model_dump(exclude_unset=True).items() if v is not None}
    return services.settings_update(actor=request.auth, **values)
