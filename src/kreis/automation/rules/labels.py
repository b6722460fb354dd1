"""A rule's trigger settings and action details as people read them: names instead of keys
(the stage, user, segment, playbook … by name; a field by its label)."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.utils.translation import gettext as _

from kreis.automation.rules import records

# The keys that refer to a record: (the model, how the key is labelled).
REFERENCES = {
    "stage_id": "sales.Stage",
    "user_id": "core.User",
    "segment_id": "marketing.Segment",
    "campaign_id": "marketing.Campaign",
    "playbook_id": "playbooks.Playbook",
    "webhook_id": "automation.WebhookSubscription",
    "form_id": "marketing.LeadForm",
    "survey_id": "feedback.Survey",
    "team_id": "core.Team",
}


def _key_labels() -> dict[str, str]:
    return {
        "stage_id": _("Stage"),
        "user_id": _("User"),
        "segment_id": _("Segment"),
        "campaign_id": _("Campaign"),
        "playbook_id": _("Playbook"),
        "webhook_id": _("Webhook"),
        "form_id": _("Form"),
        "survey_id": _("Survey"),
        "team_id": _("Team"),
        "field": _("Field"),
        "from_value": _("From"),
        "to_value": _("To"),
        "phase": _("Lifecycle phase"),
        "threshold": _("Threshold"),
        "days": _("Days"),
        "subject": _("Subject"),
        "subject_de": _("Subject (German)"),
        "subject_en": _("Subject (English)"),
        "body_de": _("Text (German)"),
        "body_en": _("Text (English)"),
        "purpose": _("Purpose"),
        "value": _("Value"),
        "tag": _("Tag"),
        "message": _("Message"),
    }


def _record_name(model_label: str, pk: Any) -> str:
    model = apps.get_model(model_label)
    found = model._base_manager.filter(pk=pk).first()
    if found is None:
        return _("deleted (%s)") % pk
    if model_label == "core.User":
        return found.get_full_name() or found.get_username()
    return str(found)


def _field_label(record_type: str, name: str) -> str:
    if not record_type or name.startswith("custom."):
        return name
    try:
        field = records.model_for(record_type)._meta.get_field(name.removesuffix("_id"))
    except (FieldDoesNotExist, KeyError, LookupError):
        return name
    return str(field.verbose_name)


def _short(text: Any, limit: int = 80) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def details(data: dict, record_type: str, *, skip: tuple[str, ...] = ("kind",)) -> list[tuple]:
    """``(label, value)`` pairs of a trigger's settings or an action, names for references."""
    labels = _key_labels()
    out = []
    for key, value in data.items():
        if key in skip or value in (None, ""):
            continue
        if key in REFERENCES:
            shown = _record_name(REFERENCES[key], value)
        elif key == "field":
            shown = _field_label(record_type, str(value))
        elif key == "purpose":
            from kreis.marketing.models import ConsentPurpose

            shown = str(dict(ConsentPurpose.choices).get(value, value))
        else:
            shown = _short(value)
        out.append((labels.get(key, key), shown))
    return out
