"""Writes of the complaint configuration: categories, root causes, SLA policies (business hours,
business days, the federal state for holidays), assignment rules and e-mail templates.

Who may: the Django model permissions (``service.add_slapolicy``, ``service.change_…``,
``service.delete_…``; ``kreis.service.rules`` grants them to administrators, a superuser and
a group with them have them anyway). Every write validates the whole row (``full_clean``:
the models' ``clean`` checks business hours, business days, that a rule assigns someone and
that an e-mail template can be used) before anything is saved.

``config_export`` and ``config_import`` move the whole configuration as one JSON document
(``kreis cases config export|import``). Rows are matched by their natural keys — a category
and a root cause by English name, an SLA policy by severity, an assignment rule by name, an
e-mail template by key and language; references by natural key as well (a product by SKU, a
user by user name, a team by name). An import runs in one transaction: any error and nothing
is written; the error names the section, the row and the field.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import ProtectedError
from django.utils.translation import gettext as _

from kreis.commerce.models import Product
from kreis.core.models import Competency, Team, User
from kreis.service.models import (
    AssignmentRule,
    CaseCategory,
    MailTemplate,
    RootCause,
    SlaPolicy,
)

FORMAT = "kreis.cases.config"
VERSION = 1
CONFIG_MODELS: tuple[type[models.Model], ...] = (
    CaseCategory,
    RootCause,
    SlaPolicy,
    AssignmentRule,
    MailTemplate,
)


def may(user: User | None, action: str, model: type[models.Model]) -> bool:
    """Whether ``user`` may ``action`` (view, add, change, delete) rows of ``model``."""
    if user is None:  # the system itself (CLI, data migrations)
        return True
    return user.has_perm(f"service.{action}_{model._meta.model_name}")


def _check(actor: User | None, action: str, model: type[models.Model]) -> None:
    if not may(actor, action, model):
        raise PermissionDenied


def config_entry_save(*, actor: User | None, entry: models.Model, values: dict[str, Any]):
    """Create (``entry`` unsaved) or change a configuration row: set ``values``, validate the
    whole row, save."""
    model = type(entry)
    _check(actor, "change" if entry.pk else "add", model)
    for name, value in values.items():
        setattr(entry, name, value)
    entry.full_clean()
    entry.save()
    return entry


def config_entry_delete(*, actor: User | None, entry: models.Model) -> None:
    """Delete a configuration row; one that cases still use is refused (deactivate it)."""
    _check(actor, "delete", type(entry))
    try:
        with transaction.atomic():
            entry.delete()
    except ProtectedError as exc:
        raise ValidationError(
            _("%(entry)s is used by %(count)d case(s): deactivate it instead of deleting it.")
            % {"entry": entry, "count": len(exc.protected_objects)}
        ) from exc


# --- Export and import ----------------------------------------------------------------------


def _time(value: dt.time) -> str:
    return value.strftime("%H:%M")


def config_export() -> dict[str, Any]:
    """The whole complaint configuration as a JSON-ready dict (natural keys, no ids)."""
    rules = AssignmentRule.objects.select_related(
        "category", "product", "assign_user", "assign_team"
    ).prefetch_related("required_competencies")
    return {
        "format": FORMAT,
        "version": VERSION,
        "categories": [
            {"name_en": c.name_en, "name_de": c.name_de, "kind": c.kind, "is_active": c.is_active}
            for c in CaseCategory.objects.order_by("name_en", "pk")
        ],
        "root_causes": [
            {
                "name_en": r.name_en,
                "name_de": r.name_de,
                "description": r.description,
                "is_active": r.is_active,
            }
            for r in RootCause.objects.order_by("name_en", "pk")
        ],
        "sla_policies": [
            {
                "severity": p.severity,
                "hours_to_acknowledge": p.hours_to_acknowledge,
                "hours_to_resolve": p.hours_to_resolve,
                "day_start": _time(p.day_start),
                "day_end": _time(p.day_end),
                "weekdays": p.weekdays,
                "state": p.state,
            }
            for p in SlaPolicy.objects.order_by("severity")
        ],
        "assignment_rules": [
            {
                "name": r.name,
                "position": r.position,
                "category": r.category.name_en if r.category else None,
                "product": r.product.sku if r.product else None,
                "region": r.region,
                "assign_user": r.assign_user.username if r.assign_user else None,
                "assign_team": r.assign_team.name if r.assign_team else None,
                # Competencies by natural key, "kind:key" (kreis.core.competencies).
                "required_competencies": sorted(
                    f"{c.kind}:{c.key}" for c in r.required_competencies.all()
                ),
                "competency_level": r.competency_level,
                "is_active": r.is_active,
            }
            for r in rules.order_by("position", "pk")
        ],
        "mail_templates": [
            {
                "key": t.key,
                "language": t.language,
                "subject": t.subject,
                "body": t.body,
                "is_active": t.is_active,
            }
            for t in MailTemplate.objects.order_by("key", "language")
        ],
    }


# section → (model, natural key fields, fields that may be given)
SECTIONS: dict[str, tuple[type[models.Model], tuple[str, ...], tuple[str, ...]]] = {
    "categories": (CaseCategory, ("name_en",), ("name_de", "kind", "is_active")),
    "root_causes": (RootCause, ("name_en",), ("name_de", "description", "is_active")),
    "sla_policies": (
        SlaPolicy,
        ("severity",),
        ("hours_to_acknowledge", "hours_to_resolve", "day_start", "day_end", "weekdays", "state"),
    ),
    "assignment_rules": (
        AssignmentRule,
        ("name",),
        (
            "position",
            "category",
            "product",
            "region",
            "assign_user",
            "assign_team",
            "required_competencies",
            "competency_level",
            "is_active",
        ),
    ),
    "mail_templates": (MailTemplate, ("key", "language"), ("subject", "body", "is_active")),
}
# Reference fields of assignment rules: field → (model, natural key, what the error calls it)
REFERENCES: dict[str, tuple[type[models.Model], str]] = {
    "category": (CaseCategory, "name_en"),
    "product": (Product, "sku"),
    "assign_user": (User, "username"),
    "assign_team": (Team, "name"),
}


class ImportProblem(ValidationError):
    """An import error naming where it is: ``section[row].field: message``."""


def _problem(section: str, row: int, field: str, message: str) -> ImportProblem:
    where = f"{section}[{row}]" + (f".{field}" if field else "")
    return ImportProblem(f"{where}: {message}")


def _reference(section: str, row: int, field: str, value: Any) -> models.Model | None:
    if value in (None, ""):
        return None
    model, key = REFERENCES[field]
    found = model.objects.filter(**{key: value}).first()
    if found is None:
        raise _problem(section, row, field, _("%(value)s not found.") % {"value": value})
    return found


def _competencies(section: str, row: int, value: Any) -> list[Competency]:
    """``["language:fr", "product:Pumps"]`` → the competencies (each must exist)."""
    field = "required_competencies"
    if not isinstance(value, list):
        raise _problem(section, row, field, _("A list of “kind:key” is expected."))
    found = []
    for item in value:
        kind, _sep, key = str(item).partition(":")
        competency = Competency.objects.filter(kind=kind, key=key).first()
        if competency is None:
            raise _problem(section, row, field, _("%(value)s not found.") % {"value": item})
        found.append(competency)
    return found


def _parse_time(section: str, row: int, field: str, value: Any) -> dt.time:
    try:
        return dt.time.fromisoformat(str(value))
    except ValueError as exc:
        message = _("%(value)s is not a time of day (HH:MM).") % {"value": value}
        raise _problem(section, row, field, message) from exc


def _row_values(section: str, row: int, item: dict, allowed: tuple[str, ...]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for field, value in item.items():
        if field not in allowed or field == "required_competencies":  # set after the save
            continue
        if field in REFERENCES and section == "assignment_rules":
            values[field] = _reference(section, row, field, value)
        elif field in ("day_start", "day_end"):
            values[field] = _parse_time(section, row, field, value)
        else:
            values[field] = value
    return values


def _messages(exc: ValidationError) -> list[tuple[str, str]]:
    if hasattr(exc, "error_dict"):
        return [(field, m) for field, messages in exc.message_dict.items() for m in messages]
    return [("", m) for m in exc.messages]


def config_import(
    *, actor: User | None, data: Any, dry_run: bool = False
) -> dict[str, dict[str, int]]:
    """Apply an exported configuration: rows matched by natural key are changed, others
    created; nothing is deleted. All in one transaction (``dry_run``: checked, then rolled
    back). Returns per section how many rows were created and changed; raises
    ValidationError (the first problem, with section, row and field) and writes nothing."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValidationError(
            _("This is not an export of the complaint configuration (format %(format)s).")
            % {"format": FORMAT}
        )
    if data.get("version") != VERSION:
        raise ValidationError(
            _("Unknown version %(version)s of the configuration export (known: %(known)s).")
            % {"version": data.get("version"), "known": VERSION}
        )
    unknown = set(data) - {"format", "version", *SECTIONS}
    if unknown:
        raise ValidationError(_("Unknown sections: %(names)s.") % {"names": ", ".join(unknown)})
    counts = {section: {"created": 0, "changed": 0} for section in SECTIONS}
    with transaction.atomic():
        # Categories before the rules that name them.
        for section, (model, keys, allowed) in SECTIONS.items():
            rows = data.get(section, [])
            if not isinstance(rows, list):
                raise ValidationError(_("%(section)s must be a list.") % {"section": section})
            for row, item in enumerate(rows):
                if not isinstance(item, dict):
                    raise _problem(section, row, "", _("Each entry must be an object."))
                missing = [key for key in keys if not item.get(key)]
                if missing:
                    message = _("%(field)s is required.") % {"field": missing[0]}
                    raise _problem(section, row, missing[0], message)
                unknown_fields = set(item) - set(keys) - set(allowed)
                if unknown_fields:
                    message = _("Unknown fields: %(names)s.") % {
                        "names": ", ".join(sorted(unknown_fields))
                    }
                    raise _problem(section, row, "", message)
                lookup = {key: item[key] for key in keys}
                entry = model.objects.filter(**lookup).order_by("pk").first()
                created = entry is None
                if created:
                    entry = model(**lookup)
                try:
                    with transaction.atomic():
                        config_entry_save(
                            actor=actor,
                            entry=entry,
                            values=_row_values(section, row, item, allowed),
                        )
                        if "required_competencies" in item:
                            entry.required_competencies.set(
                                _competencies(section, row, item["required_competencies"])
                            )
                except ImportProblem:
                    raise
                except ValidationError as exc:
                    field, message = _messages(exc)[0]
                    raise _problem(section, row, field, message) from exc
                counts[section]["created" if created else "changed"] += 1
        if dry_run:
            transaction.set_rollback(True)
    return counts
