"""What a rule may say, checked in one place for the form, the API, the admin and the import.

``clean_rule(data)`` takes the rule as plain data (the export's shape) and returns it cleaned,
or raises ``ValidationError`` whose messages name the place: ``conditions[1].field: …``.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kreis.automation.rules import records
from kreis.automation.rules.models import RecordType, TriggerKind

OPERATORS = {
    "eq": gettext_lazy("is"),
    "ne": gettext_lazy("is not"),
    "lt": gettext_lazy("is less than"),
    "gt": gettext_lazy("is greater than"),
    "contains": gettext_lazy("contains"),
    "empty": gettext_lazy("is empty"),
    "in": gettext_lazy("is one of (comma-separated)"),
}
CONDITION_KINDS = {
    "field": gettext_lazy("Field comparison"),
    "segment": gettext_lazy("Member of a segment"),
    "abc": gettext_lazy("ABC class"),
    "owner": gettext_lazy("Owner"),
    "team": gettext_lazy("Team"),
}
ACTION_KINDS = {
    "create_task": gettext_lazy("Create a task"),
    "send_email": gettext_lazy("Send an e-mail (with consent)"),
    "assign_owner": gettext_lazy("Assign an owner"),
    "set_field": gettext_lazy("Set a field"),
    "add_tag": gettext_lazy("Add a tag"),
    "add_to_segment": gettext_lazy("Add to a static segment"),
    "add_to_campaign": gettext_lazy("Add to a campaign"),
    "notify": gettext_lazy("Notify a user"),
    "call_webhook": gettext_lazy("Call a webhook"),
    "start_playbook": gettext_lazy("Start a playbook"),
    "stop_playbook": gettext_lazy("Stop a playbook"),
}
# Triggers and the record types they are about (None: the rule chooses).
TRIGGER_RECORDS: dict[str, tuple[str, ...] | None] = {
    TriggerKind.RECORD_CREATED: None,
    TriggerKind.RECORD_UPDATED: None,
    TriggerKind.RECORD_DELETED: None,
    TriggerKind.FIELD_CHANGED: None,
    TriggerKind.DEAL_STAGE_CHANGED: ("deal",),
    TriggerKind.PHASE_CHANGED: ("party",),
    TriggerKind.SCORE_CROSSED: ("lead", "party"),
    TriggerKind.NO_ORDER: ("party",),
    TriggerKind.CONTRACT_ENDS: ("party",),
    TriggerKind.FORM_SUBMITTED: ("lead",),
    TriggerKind.CASE_OPENED: ("case",),
    TriggerKind.SLA_BREACHED: ("case",),
    TriggerKind.SURVEY_ANSWERED: ("party",),
    TriggerKind.WEBHOOK_RECEIVED: (*RecordType.values, ""),
}
RECORD_KINDS = {"record.created", "record.updated", "record.deleted", "field.changed"}
MAX_CONDITIONS = 20
MAX_ACTIONS = 20
PHASES = (
    "prospect",
    "new",
    "growth",
    "maturity",
    "endangerment",
    "dissolution",
    "abstinence",
    "won_back",
)


def _phases() -> list[str]:
    try:
        from kreis.parties.models import LifecyclePhase

        return list(LifecyclePhase.values)
    except ImportError:
        return list(PHASES)


class Errors:
    def __init__(self) -> None:
        self.messages: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.messages.append(f"{where}: {message}")


def _int(value: Any) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        raise ValueError
    return int(value)


def _number(value: Any) -> Decimal:
    try:
        return Decimal(str(value).strip().replace(",", "."))
    except (InvalidOperation, ValueError) as exc:
        raise ValueError from exc


def _exists(model_label: str, pk: Any) -> bool:
    from django.apps import apps

    return apps.get_model(model_label).objects.filter(pk=pk).exists()


def _text(value: Any, limit: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str | int | float | Decimal):
        raise ValueError
    return str(value).strip()[:limit]


def _ref(errors: Errors, where: str, item: dict, key: str, model_label: str, *, required=True):
    try:
        pk = _int(item.get(key))
    except (TypeError, ValueError):
        errors.add(f"{where}.{key}", _("Expected a number."))
        return None
    if pk is None:
        if required:
            errors.add(f"{where}.{key}", _("This is required."))
        return None
    if not _exists(model_label, pk):
        errors.add(f"{where}.{key}", _("There is no such record (%(id)s).") % {"id": pk})
        return None
    return pk


def _field(errors: Errors, where: str, record_type: str, field: Any, *, settable=False) -> str:
    field = str(field or "").strip()
    if not field:
        errors.add(f"{where}.field", _("Name a field."))
        return ""
    if field.startswith("custom."):
        from kreis.core.customfields import custom_fields_for

        keys = {f.key for f in custom_fields_for(record_type)} if record_type else set()
        if record_type and field[7:] not in keys:
            errors.add(f"{where}.field", _("There is no custom field “%(f)s”.") % {"f": field})
        return field
    if not record_type:
        return field
    names = records.settable_fields(record_type) if settable else records.field_names(record_type)
    if field not in names:
        errors.add(
            f"{where}.field",
            _("“%(f)s” is not a field that can be used here; use one of: %(names)s.")
            % {"f": field, "names": ", ".join(names)},
        )
    return field


def clean_trigger(errors: Errors, trigger: str, record_type: str, config: Any) -> dict:
    if not isinstance(config, dict):
        errors.add("trigger_config", _("Expected an object."))
        return {}
    out: dict[str, Any] = {}
    if trigger == TriggerKind.FIELD_CHANGED:
        out["field"] = _field(errors, "trigger_config", record_type, config.get("field"))
        for key in ("from_value", "to_value"):
            if config.get(key) not in (None, ""):
                out[key] = _text(config.get(key), 200)
    elif trigger == TriggerKind.DEAL_STAGE_CHANGED:
        stage = _ref(errors, "trigger_config", config, "stage_id", "sales.Stage", required=False)
        if stage:
            out["stage_id"] = stage
    elif trigger == TriggerKind.PHASE_CHANGED:
        phase = str(config.get("phase") or "")
        if phase and phase not in _phases():
            errors.add("trigger_config.phase", _("Unknown lifecycle phase “%s”.") % phase)
        elif phase:
            out["phase"] = phase
    elif trigger == TriggerKind.SCORE_CROSSED:
        try:
            out["threshold"] = float(_number(config.get("threshold")))
        except ValueError:
            errors.add("trigger_config.threshold", _("Give the threshold as a number."))
    elif trigger in (TriggerKind.NO_ORDER, TriggerKind.CONTRACT_ENDS):
        try:
            days = _int(config.get("days"))
        except (TypeError, ValueError):
            days = None
        if days is None or not 0 <= days <= 3650:
            errors.add("trigger_config.days", _("Give a number of days from 0 to 3650."))
        else:
            out["days"] = days
    elif trigger == TriggerKind.FORM_SUBMITTED:
        form = _ref(
            errors, "trigger_config", config, "form_id", "marketing.LeadForm", required=False
        )
        if form:
            out["form_id"] = form
    elif trigger == TriggerKind.SURVEY_ANSWERED:
        survey = _ref(
            errors, "trigger_config", config, "survey_id", "feedback.Survey", required=False
        )
        if survey:
            out["survey_id"] = survey
    return out


def clean_condition(errors: Errors, where: str, record_type: str, item: Any) -> dict | None:
    if not isinstance(item, dict):
        errors.add(where, _("Expected an object."))
        return None
    kind = item.get("kind")
    if kind not in CONDITION_KINDS:
        errors.add(f"{where}.kind", _("Unknown kind of condition “%s”.") % kind)
        return None
    if kind == "field":
        field = _field(errors, where, record_type, item.get("field"))
        op = item.get("op")
        if op not in OPERATORS:
            errors.add(f"{where}.op", _("Unknown comparison “%s”.") % op)
            return None
        try:
            value = _text(item.get("value"), 500)
        except ValueError:
            errors.add(f"{where}.value", _("Expected text or a number."))
            return None
        if op in ("lt", "gt"):
            try:
                _number(value)
            except ValueError:
                errors.add(f"{where}.value", _("Compare with a number."))
        return {"kind": kind, "field": field, "op": op, "value": value}
    if kind == "segment":
        pk = _ref(errors, where, item, "segment_id", "marketing.Segment")
        return {"kind": kind, "segment_id": pk}
    if kind == "abc":
        value = item.get("value")
        classes = value if isinstance(value, list) else str(value or "").split(",")
        classes = [str(c).strip().upper() for c in classes if str(c).strip()]
        if not classes or any(c not in ("A", "B", "C") for c in classes):
            errors.add(f"{where}.value", _("Give ABC classes: A, B and/or C."))
        return {"kind": kind, "value": classes}
    if kind == "owner":
        return {"kind": kind, "user_id": _ref(errors, where, item, "user_id", "core.User")}
    return {"kind": kind, "team_id": _ref(errors, where, item, "team_id", "core.Team")}


def clean_action(errors: Errors, where: str, record_type: str, item: Any) -> dict | None:
    if not isinstance(item, dict):
        errors.add(where, _("Expected an object."))
        return None
    kind = item.get("kind")
    if kind not in ACTION_KINDS:
        errors.add(f"{where}.kind", _("Unknown kind of action “%s”.") % kind)
        return None
    out: dict[str, Any] = {"kind": kind}
    try:
        if kind == "create_task":
            out["subject"] = _text(item.get("subject"), 200)
            if not out["subject"]:
                errors.add(f"{where}.subject", _("Give the task a subject."))
            days = _int(item.get("days")) or 0
            if not 0 <= days <= 365:
                errors.add(f"{where}.days", _("Give a number of days from 0 to 365."))
            out["days"] = days
            out["user_id"] = _ref(errors, where, item, "user_id", "core.User", required=False)
        elif kind == "send_email":
            from kreis.marketing.models import ConsentPurpose

            purpose = item.get("purpose") or ConsentPurpose.MARKETING
            if purpose not in ConsentPurpose.values:
                errors.add(f"{where}.purpose", _("Unknown purpose “%s”.") % purpose)
            out["purpose"] = purpose
            for key in ("subject_de", "subject_en"):
                out[key] = _text(item.get(key), 200)
            for key in ("body_de", "body_en"):
                out[key] = _text(item.get(key), 20000)
            if not (out["subject_de"] and out["body_de"]) and not (
                out["subject_en"] and out["body_en"]
            ):
                errors.add(where, _("Write the subject and text in German or English."))
        elif kind == "assign_owner":
            out["user_id"] = _ref(errors, where, item, "user_id", "core.User")
        elif kind == "set_field":
            out["field"] = _field(errors, where, record_type, item.get("field"), settable=True)
            out["value"] = _text(item.get("value"), 500)
        elif kind == "add_tag":
            out["tag"] = _text(item.get("tag"), 50)
            if not out["tag"]:
                errors.add(f"{where}.tag", _("Name the tag."))
            elif record_type and record_type not in ("party", "lead", "deal"):
                errors.add(f"{where}.tag", _("Only parties, leads and deals have tags."))
        elif kind == "add_to_segment":
            pk = _ref(errors, where, item, "segment_id", "marketing.Segment")
            if pk:
                from kreis.marketing.models import Segment, SegmentKind

                if Segment.objects.get(pk=pk).kind != SegmentKind.STATIC:
                    errors.add(f"{where}.segment_id", _("Only a static segment has members."))
            out["segment_id"] = pk
        elif kind == "add_to_campaign":
            out["campaign_id"] = _ref(errors, where, item, "campaign_id", "marketing.Campaign")
        elif kind == "notify":
            out["message"] = _text(item.get("message"), 200)
            if not out["message"]:
                errors.add(f"{where}.message", _("Write the message."))
            out["user_id"] = _ref(errors, where, item, "user_id", "core.User", required=False)
        elif kind == "call_webhook":
            out["webhook_id"] = _ref(
                errors, where, item, "webhook_id", "automation.WebhookSubscription"
            )
        else:  # start_playbook, stop_playbook
            out["playbook_id"] = _ref(errors, where, item, "playbook_id", "playbooks.Playbook")
    except (TypeError, ValueError):
        errors.add(where, _("A value has the wrong type."))
        return None
    return out


def clean_rule(data: Any) -> dict[str, Any]:
    """The rule's data cleaned, or ValidationError listing every problem with its place."""
    errors = Errors()
    if not isinstance(data, dict):
        raise ValidationError(_("Expected a rule as an object."))
    unknown = set(data) - {
        "name",
        "description",
        "enabled",
        "trigger",
        "record_type",
        "trigger_config",
        "match",
        "conditions",
        "actions",
        "id",
    }
    if unknown:
        errors.add("rule", _("Unknown keys: %s.") % ", ".join(sorted(unknown)))
    name = str(data.get("name") or "").strip()
    if not name:
        errors.add("name", _("Give the rule a name."))
    elif len(name) > 120:
        errors.add("name", _("At most 120 characters."))
    trigger = data.get("trigger")
    record_type = str(data.get("record_type") or "")
    if trigger not in TriggerKind.values:
        errors.add("trigger", _("Unknown trigger “%s”.") % trigger)
        raise ValidationError(errors.messages)
    allowed = TRIGGER_RECORDS[trigger]
    if allowed is None:
        if record_type not in RecordType.values:
            errors.add("record_type", _("Choose the kind of record this rule is about."))
            raise ValidationError(errors.messages)
    elif record_type not in allowed:
        if len(allowed) == 1:
            record_type = allowed[0]
        elif record_type:
            errors.add(
                "record_type",
                _("This trigger is about: %s.") % ", ".join(a or "—" for a in allowed),
            )
        else:
            record_type = allowed[0]
    if trigger == TriggerKind.DEAL_STAGE_CHANGED:
        record_type = "deal"
    config = clean_trigger(errors, trigger, record_type, data.get("trigger_config") or {})
    match = data.get("match") or "all"
    if match not in ("all", "any"):
        errors.add("match", _("Either “all” or “any”."))
    conditions_in = data.get("conditions") or []
    actions_in = data.get("actions") or []
    if not isinstance(conditions_in, list) or len(conditions_in) > MAX_CONDITIONS:
        errors.add("conditions", _("A list of at most %d conditions.") % MAX_CONDITIONS)
        conditions_in = []
    if not isinstance(actions_in, list) or len(actions_in) > MAX_ACTIONS:
        errors.add("actions", _("A list of at most %d actions.") % MAX_ACTIONS)
        actions_in = []
    conditions = [
        clean_condition(errors, f"conditions[{i}]", record_type, item)
        for i, item in enumerate(conditions_in)
    ]
    actions = [
        clean_action(errors, f"actions[{i}]", record_type, item)
        for i, item in enumerate(actions_in)
    ]
    if not actions_in:
        errors.add("actions", _("Give the rule at least one action."))
    if errors.messages:
        raise ValidationError(errors.messages)
    enabled = data.get("enabled", False)
    if not isinstance(enabled, bool):
        raise ValidationError([f"enabled: {_('Expected true or false.')}"])
    return {
        "name": name,
        "description": str(data.get("description") or "").strip()[:5000],
        "enabled": enabled,
        "trigger": trigger,
        "record_type": record_type,
        "trigger_config": config,
        "match": match,
        "conditions": [c for c in conditions if c],
        "actions": [a for a in actions if a],
    }


def as_data(rule) -> dict[str, Any]:
    """The rule in the export's shape (what ``clean_rule`` takes)."""
    return {
        "name": rule.name,
        "description": rule.description,
        "enabled": rule.enabled,
        "trigger": rule.trigger,
        "record_type": rule.record_type,
        "trigger_config": rule.trigger_config,
        "match": rule.match,
        "conditions": rule.conditions,
        "actions": rule.actions,
    }
