"""API routes of the complaint configuration, for administrators: categories, root causes,
SLA policies (business hours, business days, the federal state for holidays), assignment
rules and the customer e-mail templates — under ``/cases/config/…``.

Each route needs the Django model permission of what it reads or writes
(``service.view_slapolicy``, ``service.change_mailtemplate`` …; administrators have them,
``kreis.service.rules``): anyone else gets 403. Writes go through ``kreis.service.config``,
which validates the whole row first: a problem is 422 with the field and a clear message, and
nothing is saved. SLA policies are addressed by severity and e-mail templates by key and
language (their natural keys: ``PUT`` creates or replaces). The active categories and root
causes for everyone stay at ``/cases/categories`` and ``/cases/root-causes``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, Path, Router, Schema, Status
from pydantic import field_validator

from kreis.commerce.models import Product
from kreis.core.api_support import PROBLEM_RESPONSES, IdValue, Input, ObjectId
from kreis.core.models import Competency, Team, User
from kreis.service import mail as service_mail
from kreis.service import mailtemplates, queries
from kreis.service.config import config_entry_delete, config_entry_save, may
from kreis.service.models import (
    BUNDESLAENDER,
    AssignmentRule,
    CaseCategory,
    CategoryKind,
    MailTemplate,
    RootCause,
    Severity,
    SlaPolicy,
)

router = Router(tags=["case configuration"])

KindName = Literal[tuple(CategoryKind.values)]  # type: ignore[valid-type]
SeverityName = Literal[tuple(Severity.values)]  # type: ignore[valid-type]
StateCode = Literal[("", *(code for code, _name in BUNDESLAENDER))]  # type: ignore[valid-type]
MailKeyName = Literal[tuple(mailtemplates.MAIL_KEYS)]  # type: ignore[valid-type]
LanguageCode = Literal["de", "en"]
Name = Annotated[str, Field(min_length=1, max_length=120)]
Hours = Annotated[int, Field(ge=1, le=100_000)]
Weekdays = Annotated[str, Field(pattern=r"^[1-7]{1,7}$")]
NO_CONTENT = {204: None, **PROBLEM_RESPONSES}


def _allowed(request: HttpRequest, action: str, model: type[models.Model]) -> None:
    if not may(request.auth, action, model):  # type: ignore[arg-type]
        raise PermissionDenied


def _unique_name(model: type[models.Model], field: str, value: str, pk: int | None) -> None:
    """The natural key of an import (English name, a rule's name) names one row."""
    others = model.objects.filter(**{f"{field}__iexact": value}).exclude(pk=pk)
    if others.exists():
        raise ValidationError({field: _("“%(value)s” exists already.") % {"value": value}})


def _found(model: type[models.Model], pk: int | None, field: str):
    if pk is None:
        return None
    obj = model.objects.filter(pk=pk).first()
    if obj is None:
        raise ValidationError({field: _("Not found.")})
    return obj


# --- Categories and root causes ---------------------------------------------------------------


class CategoryOut(Schema):
    id: int
    name_de: str
    name_en: str
    kind: str
    is_active: bool


class CategoryIn(Input):
    name_de: Name
    name_en: Name
    kind: KindName = "other"
    is_active: bool = True


class CategoryPatch(Input):
    name_de: Name | None = None
    name_en: Name | None = None
    kind: KindName | None = None
    is_active: bool | None = None


class RootCauseOut(Schema):
    id: int
    name_de: str
    name_en: str
    description: str
    is_active: bool


class RootCauseIn(Input):
    name_de: Name
    name_en: Name
    description: str = Field("", max_length=5000)
    is_active: bool = True


class RootCausePatch(Input):
    name_de: Name | None = None
    name_en: Name | None = None
    description: str | None = Field(None, max_length=5000)
    is_active: bool | None = None


def _set(values: dict) -> dict:
    """A PATCH: the fields given (a null for a required field means "leave as it is")."""
    return {name: value for name, value in values.items() if value is not None}


def _category(pk: int) -> CaseCategory:
    return get_object_or_404(CaseCategory, pk=pk)


@router.get(
    "/cases/config/categories",
    response={200: list[CategoryOut], **PROBLEM_RESPONSES},
    summary="Every case category, active or not",
    operation_id="case_config_category_list",
)
def category_list(request: HttpRequest):
    _allowed(request, "view", CaseCategory)
    return list(CaseCategory.objects.all())


@router.post(
    "/cases/config/categories",
    response={201: CategoryOut, **PROBLEM_RESPONSES},
    summary="Add a case category",
    operation_id="case_config_category_create",
)
def category_create(request: HttpRequest, payload: CategoryIn):
    _allowed(request, "add", CaseCategory)
    _unique_name(CaseCategory, "name_en", payload.name_en, None)
    entry = config_entry_save(actor=request.auth, entry=CaseCategory(), values=payload.dict())
    return Status(201, entry)


@router.get(
    "/cases/config/categories/{category_id}",
    response={200: CategoryOut, **PROBLEM_RESPONSES},
    summary="A case category",
    operation_id="case_config_category_detail",
)
def category_detail(request: HttpRequest, category_id: ObjectId):
    _allowed(request, "view", CaseCategory)
    return _category(category_id)


@router.patch(
    "/cases/config/categories/{category_id}",
    response={200: CategoryOut, **PROBLEM_RESPONSES},
    summary="Change a case category",
    operation_id="case_config_category_update",
)
def category_update(request: HttpRequest, category_id: ObjectId, payload: CategoryPatch):
    _allowed(request, "change", CaseCategory)
    entry = _category(category_id)
    values = _set(payload.model_dump(exclude_unset=True))
    if "name_en" in values:
        _unique_name(CaseCategory, "name_en", values["name_en"], entry.pk)
    return config_entry_save(actor=request.auth, entry=entry, values=values)


@router.delete(
    "/cases/config/categories/{category_id}",
    response=NO_CONTENT,
    summary="Delete a case category no case uses (else deactivate it)",
    operation_id="case_config_category_delete",
)
def category_delete(request: HttpRequest, category_id: ObjectId):
    _allowed(request, "delete", CaseCategory)
    config_entry_delete(actor=request.auth, entry=_category(category_id))
    return Status(204, None)


def _root_cause(pk: int) -> RootCause:
    return get_object_or_404(RootCause, pk=pk)


@router.get(
    "/cases/config/root-causes",
    response={200: list[RootCauseOut], **PROBLEM_RESPONSES},
    summary="Every root cause, active or not",
    operation_id="case_config_root_cause_list",
)
def root_cause_list(request: HttpRequest):
    _allowed(request, "view", RootCause)
    return list(RootCause.objects.all())


@router.post(
    "/cases/config/root-causes",
    response={201: RootCauseOut, **PROBLEM_RESPONSES},
    summary="Add a root cause",
    operation_id="case_config_root_cause_create",
)
def root_cause_create(request: HttpRequest, payload: RootCauseIn):
    _allowed(request, "add", RootCause)
    _unique_name(RootCause, "name_en", payload.name_en, None)
    entry = config_entry_save(actor=request.auth, entry=RootCause(), values=payload.dict())
    return Status(201, entry)


@router.get(
    "/cases/config/root-causes/{root_cause_id}",
    response={200: RootCauseOut, **PROBLEM_RESPONSES},
    summary="A root cause",
    operation_id="case_config_root_cause_detail",
)
def root_cause_detail(request: HttpRequest, root_cause_id: ObjectId):
    _allowed(request, "view", RootCause)
    return _root_cause(root_cause_id)


@router.patch(
    "/cases/config/root-causes/{root_cause_id}",
    response={200: RootCauseOut, **PROBLEM_RESPONSES},
    summary="Change a root cause",
    operation_id="case_config_root_cause_update",
)
def root_cause_update(request: HttpRequest, root_cause_id: ObjectId, payload: RootCausePatch):
    _allowed(request, "change", RootCause)
    entry = _root_cause(root_cause_id)
    values = _set(payload.model_dump(exclude_unset=True))
    if "name_en" in values:
        _unique_name(RootCause, "name_en", values["name_en"], entry.pk)
    return config_entry_save(actor=request.auth, entry=entry, values=values)


@router.delete(
    "/cases/config/root-causes/{root_cause_id}",
    response=NO_CONTENT,
    summary="Delete a root cause no case uses (else deactivate it)",
    operation_id="case_config_root_cause_delete",
)
def root_cause_delete(request: HttpRequest, root_cause_id: ObjectId):
    _allowed(request, "delete", RootCause)
    config_entry_delete(actor=request.auth, entry=_root_cause(root_cause_id))
    return Status(204, None)


# --- SLA policies ---------------------------------------------------------------------------


class SlaPolicyOut(Schema):
    severity: str
    hours_to_acknowledge: int
    hours_to_resolve: int
    day_start: dt.time
    day_end: dt.time
    weekdays: str
    state: str


def _local_time(value: dt.time | None) -> dt.time | None:
    # Business hours are wall-clock times of the instance's time zone, to the minute.
    if value is not None and (value.tzinfo is not None or value.second or value.microsecond):
        raise ValueError("a time of day as HH:MM, without seconds or time zone")
    return value


class SlaPolicyIn(Input):
    hours_to_acknowledge: Hours
    hours_to_resolve: Hours
    day_start: dt.time = dt.time(8)
    day_end: dt.time = dt.time(17)
    weekdays: Weekdays = "12345"
    state: StateCode = ""

    _times = field_validator("day_start", "day_end")(_local_time)


@router.get(
    "/cases/config/sla-policies",
    response={200: list[SlaPolicyOut], **PROBLEM_RESPONSES},
    summary="The SLA policy of each severity (business hours, days, federal state)",
    operation_id="case_config_sla_policy_list",
)
def sla_policy_list(request: HttpRequest):
    _allowed(request, "view", SlaPolicy)
    return list(SlaPolicy.objects.all())


@router.get(
    "/cases/config/sla-policies/{severity}",
    response={200: SlaPolicyOut, **PROBLEM_RESPONSES},
    summary="The SLA policy of a severity",
    operation_id="case_config_sla_policy_detail",
)
def sla_policy_detail(request: HttpRequest, severity: Annotated[SeverityName, Path()]):
    _allowed(request, "view", SlaPolicy)
    return get_object_or_404(SlaPolicy, severity=severity)


@router.put(
    "/cases/config/sla-policies/{severity}",
    response={200: SlaPolicyOut, **PROBLEM_RESPONSES},
    summary="Set the SLA policy of a severity (created if there is none)",
    operation_id="case_config_sla_policy_set",
)
def sla_policy_set(
    request: HttpRequest, severity: Annotated[SeverityName, Path()], payload: SlaPolicyIn
):
    entry = SlaPolicy.objects.filter(severity=severity).first()
    _allowed(request, "change" if entry else "add", SlaPolicy)
    return config_entry_save(
        actor=request.auth,
        entry=entry or SlaPolicy(severity=severity),
        values=payload.dict(),
    )


@router.delete(
    "/cases/config/sla-policies/{severity}",
    response=NO_CONTENT,
    summary="Delete the SLA policy of a severity (Kreis's default hours apply then)",
    operation_id="case_config_sla_policy_delete",
)
def sla_policy_delete(request: HttpRequest, severity: Annotated[SeverityName, Path()]):
    _allowed(request, "delete", SlaPolicy)
    entry = get_object_or_404(SlaPolicy, severity=severity)
    config_entry_delete(actor=request.auth, entry=entry)
    return Status(204, None)


# --- Assignment rules -----------------------------------------------------------------------


class AssignmentRuleOut(Schema):
    id: int
    position: int
    name: str
    category_id: int | None
    product_id: int | None
    region: str
    assign_user_id: int | None
    assign_team_id: int | None
    required_competency_ids: list[int]
    competency_level: int
    is_active: bool

    @staticmethod
    def resolve_required_competency_ids(rule: AssignmentRule) -> list[int]:
        return sorted(c.pk for c in rule.required_competencies.all())


class AssignmentRuleIn(Input):
    name: Name
    position: int = Field(0, ge=0, le=1_000_000)
    category_id: IdValue | None = None
    product_id: IdValue | None = None
    region: str = Field("", max_length=100)
    assign_user_id: IdValue | None = None
    assign_team_id: IdValue | None = None
    # Only someone holding each of these at ``competency_level`` (1 basic … 4 expert) or
    # higher gets the case (kreis.core.competencies).
    required_competency_ids: list[IdValue] = Field(default_factory=list, max_length=100)
    competency_level: int = Field(2, ge=1, le=4)
    is_active: bool = True


class AssignmentRulePatch(Input):
    name: Name | None = None
    position: int | None = Field(None, ge=0, le=1_000_000)
    category_id: IdValue | None = None
    product_id: IdValue | None = None
    region: str | None = Field(None, max_length=100)
    assign_user_id: IdValue | None = None
    assign_team_id: IdValue | None = None
    required_competency_ids: list[IdValue] | None = Field(None, max_length=100)
    competency_level: int | None = Field(None, ge=1, le=4)
    is_active: bool | None = None


REFERENCES = {
    "category_id": ("category", CaseCategory),
    "product_id": ("product", Product),
    "assign_user_id": ("assign_user", User),
    "assign_team_id": ("assign_team", Team),
}


def _rule_competencies(given: dict) -> list[Competency] | None:
    """The required competencies named in the input (``None``: not given, keep them)."""
    ids = given.pop("required_competency_ids", None)
    if ids is None:
        return None
    found = list(Competency.objects.filter(pk__in=set(ids), is_active=True))
    if len(found) != len(set(ids)):
        raise ValidationError({"required_competency_ids": _("Not found, or not active.")})
    return found


def _rule_save(*, actor, entry: AssignmentRule, given: dict) -> AssignmentRule:
    """Fields and required competencies of a rule, in one transaction."""
    competencies = _rule_competencies(given)
    with transaction.atomic():
        entry = config_entry_save(actor=actor, entry=entry, values=_rule_values(given))
        if competencies is not None:
            entry.required_competencies.set(competencies)
    return entry


def _rule_values(given: dict) -> dict:
    """The rule's fields from the input: ids of existing records (a null clears one)."""
    values = {}
    for name, value in given.items():
        if name in REFERENCES:
            field, model = REFERENCES[name]
            values[field] = _found(model, value, name)
            if field == "assign_user" and values[field] and not values[field].is_active:
                raise ValidationError({name: _("This user is deactivated.")})
        elif value is not None:
            values[name] = value
    return values


def _rule(pk: int) -> AssignmentRule:
    return get_object_or_404(AssignmentRule, pk=pk)


@router.get(
    "/cases/config/assignment-rules",
    response={200: list[AssignmentRuleOut], **PROBLEM_RESPONSES},
    summary="The assignment rules in the order they are tried",
    operation_id="case_config_assignment_rule_list",
)
def assignment_rule_list(request: HttpRequest):
    _allowed(request, "view", AssignmentRule)
    return list(AssignmentRule.objects.prefetch_related("required_competencies"))


@router.post(
    "/cases/config/assignment-rules",
    response={201: AssignmentRuleOut, **PROBLEM_RESPONSES},
    summary="Add an assignment rule (it assigns to a user or a team)",
    operation_id="case_config_assignment_rule_create",
)
def assignment_rule_create(request: HttpRequest, payload: AssignmentRuleIn):
    _allowed(request, "add", AssignmentRule)
    _unique_name(AssignmentRule, "name", payload.name, None)
    entry = _rule_save(actor=request.auth, entry=AssignmentRule(), given=payload.dict())
    return Status(201, entry)


@router.get(
    "/cases/config/assignment-rules/{assignment_rule_id}",
    response={200: AssignmentRuleOut, **PROBLEM_RESPONSES},
    summary="An assignment rule",
    operation_id="case_config_assignment_rule_detail",
)
def assignment_rule_detail(request: HttpRequest, assignment_rule_id: ObjectId):
    _allowed(request, "view", AssignmentRule)
    return _rule(assignment_rule_id)


@router.patch(
    "/cases/config/assignment-rules/{assignment_rule_id}",
    response={200: AssignmentRuleOut, **PROBLEM_RESPONSES},
    summary="Change an assignment rule (a null criterion matches anything)",
    operation_id="case_config_assignment_rule_update",
)
def assignment_rule_update(
    request: HttpRequest, assignment_rule_id: ObjectId, payload: AssignmentRulePatch
):
    _allowed(request, "change", AssignmentRule)
    entry = _rule(assignment_rule_id)
    given = payload.model_dump(exclude_unset=True)
    if given.get("name"):
        _unique_name(AssignmentRule, "name", given["name"], entry.pk)
    return _rule_save(actor=request.auth, entry=entry, given=given)


@router.delete(
    "/cases/config/assignment-rules/{assignment_rule_id}",
    response=NO_CONTENT,
    summary="Delete an assignment rule",
    operation_id="case_config_assignment_rule_delete",
)
def assignment_rule_delete(request: HttpRequest, assignment_rule_id: ObjectId):
    _allowed(request, "delete", AssignmentRule)
    config_entry_delete(actor=request.auth, entry=_rule(assignment_rule_id))
    return Status(204, None)


# --- E-mail templates -----------------------------------------------------------------------


class VariableOut(Schema):
    name: str
    description: str


class MailTemplateOut(Schema):
    key: str
    language: str
    subject: str
    body: str
    is_active: bool
    updated_at: dt.datetime


class MailLanguageOut(Schema):
    language: str
    shipped_subject: str
    shipped_body: str
    template: MailTemplateOut | None


class MailKeyOut(Schema):
    key: str
    label: str
    recipient: str
    variables: list[VariableOut]
    languages: list[MailLanguageOut]


class MailTemplateIn(Input):
    subject: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=20000)
    is_active: bool = True


class PreviewIn(Input):
    subject: str | None = Field(None, max_length=200)
    body: str | None = Field(None, max_length=20000)
    case_id: IdValue | None = None


class PreviewOut(Schema):
    subject: str
    body: str


MailKeyPath = Annotated[MailKeyName, Path()]
LanguagePath = Annotated[LanguageCode, Path()]


@router.get(
    "/cases/config/mail-templates",
    response={200: list[MailKeyOut], **PROBLEM_RESPONSES},
    summary="The e-mails Kreis writes: variables, shipped wording and own templates",
    operation_id="case_config_mail_template_list",
)
def mail_template_list(request: HttpRequest):
    _allowed(request, "view", MailTemplate)
    own = {(t.key, t.language): t for t in MailTemplate.objects.all()}
    found = []
    for key, mail in mailtemplates.MAIL_KEYS.items():
        variables = [
            {"name": name, "description": text}
            for name, text in mailtemplates.variables_of(key).items()
        ]
        languages = [
            {
                "language": language,
                "shipped_subject": mailtemplates.shipped_source(key, "subject").strip(),
                "shipped_body": mailtemplates.shipped_source(key, "body"),
                "template": own.get((key, language)),
            }
            for language in ("de", "en")
        ]
        found.append(
            {
                "key": key,
                "label": str(mail.label),
                "recipient": str(mail.recipient),
                "variables": variables,
                "languages": languages,
            }
        )
    return found


@router.put(
    "/cases/config/mail-templates/{key}/{language}",
    response={200: MailTemplateOut, **PROBLEM_RESPONSES},
    summary="Set the own wording of an e-mail in a language (created if there is none)",
    operation_id="case_config_mail_template_set",
)
def mail_template_set(
    request: HttpRequest, key: MailKeyPath, language: LanguagePath, payload: MailTemplateIn
):
    entry = MailTemplate.objects.filter(key=key, language=language).first()
    _allowed(request, "change" if entry else "add", MailTemplate)
    return config_entry_save(
        actor=request.auth,
        entry=entry or MailTemplate(key=key, language=language),
        values=payload.dict(),
    )


@router.delete(
    "/cases/config/mail-templates/{key}/{language}",
    response=NO_CONTENT,
    summary="Delete the own wording of an e-mail (the shipped wording is sent again)",
    operation_id="case_config_mail_template_delete",
)
def mail_template_delete(request: HttpRequest, key: MailKeyPath, language: LanguagePath):
    _allowed(request, "delete", MailTemplate)
    entry = get_object_or_404(MailTemplate, key=key, language=language)
    config_entry_delete(actor=request.auth, entry=entry)
    return Status(204, None)


@router.post(
    "/cases/config/mail-templates/{key}/{language}/preview",
    response={200: PreviewOut, **PROBLEM_RESPONSES},
    summary=(
        "Render an e-mail as the recipient would get it: the given subject and body (else "
        "the saved template, else the shipped wording), against a case or an invented one"
    ),
    operation_id="case_config_mail_template_preview",
)
def mail_template_preview(
    request: HttpRequest, key: MailKeyPath, language: LanguagePath, payload: PreviewIn
):
    _allowed(request, "view", MailTemplate)
    case = None
    if payload.case_id is not None:
        case = queries.case_get_for_user(user=request.auth, pk=payload.case_id)
    subject, body = service_mail.preview(
        key=key, language=language, subject=payload.subject, body=payload.body, case=case
    )
    return {"subject": subject, "body": body}
