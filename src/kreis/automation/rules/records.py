"""The records rules are about: their models, how to load one, read a field, name it."""

from __future__ import annotations

from typing import Any

from django.apps import apps

MODELS = {
    "party": "parties.Party",
    "lead": "leads.Lead",
    "deal": "sales.Deal",
    "activity": "activities.Activity",
    "transaction": "commerce.Transaction",
    "case": "service.Case",
}
LABELS = {label.lower(): name for name, label in MODELS.items()}
# Fields a rule never writes (keys, bookkeeping, computed figures).
NOT_SETTABLE = {"id", "created_at", "updated_at", "deleted_at", "created_by", "number"}


def model_for(record_type: str):
    return apps.get_model(MODELS[record_type])


def type_of(instance) -> str | None:
    return LABELS.get(instance._meta.label_lower)


def field_names(record_type: str) -> list[str]:
    """Every column a condition may compare (foreign keys as ``<name>_id``)."""
    return [f.attname for f in model_for(record_type)._meta.concrete_fields]


def settable_fields(record_type: str) -> list[str]:
    """The scalar columns an action may set (no keys, no bookkeeping)."""
    return [
        f.name
        for f in model_for(record_type)._meta.concrete_fields
        if f.editable and not f.is_relation and f.name not in NOT_SETTABLE
    ]


def load(record_type: str, record_id: int | None):
    if not record_type or record_id is None:
        return None
    return model_for(record_type)._base_manager.filter(pk=record_id).first()


def value_of(record: Any, field: str) -> Any:
    """A record's field (``custom.<key>`` for a custom field); records may be dicts (the body
    of an inbound webhook)."""
    if isinstance(record, dict):
        if field.startswith("custom."):
            return (record.get("custom") or {}).get(field[7:])
        return record.get(field)
    if field.startswith("custom."):
        return (getattr(record, "custom", None) or {}).get(field[7:])
    return getattr(record, field, None)


def label(record: Any) -> str:
    if record is None:
        return ""
    if isinstance(record, dict):
        return str(record.get("name") or record.get("id") or "")[:200]
    return str(record)[:200]


def party_of(record: Any):
    """The party a record is about (itself, its organisation or contact, its party)."""
    from kreis.parties.models import Party

    if isinstance(record, Party):
        return record
    for name in ("party", "organization", "contact", "converted_organization", "converted_person"):
        if getattr(record, f"{name}_id", None):
            return getattr(record, name)
    return None
