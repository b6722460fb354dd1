"""Changing rules (administrators only), export and import, trying a rule, inbound webhooks."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from standardwebhooks import Webhook, WebhookVerificationError

from kreis.automation.rules import capture, engine, records, spec
from kreis.automation.rules.models import Rule, TriggerKind, new_inbound_secret

EXPORT_FORMAT = "kreis.automation.rules"
EXPORT_VERSION = 1
MAX_IMPORT = 500
MAX_INBOUND_BYTES = 256 * 1024


def require_admin(actor) -> None:
    """Administrators own automation (``actor`` None: the command line)."""
    if actor is not None and not actor.is_admin:
        raise PermissionDenied


@transaction.atomic
def rule_create(*, actor, data: dict[str, Any]) -> Rule:
    require_admin(actor)
    cleaned = spec.clean_rule({"enabled": False, **data})
    rule = Rule.objects.create(created_by=actor if actor and actor.pk else None, **cleaned)
    transaction.on_commit(capture.changed)
    return rule


@transaction.atomic
def rule_update(*, actor, rule: Rule, data: dict[str, Any]) -> Rule:
    """Change a rule; ``data`` may hold only some keys (the rest stay)."""
    require_admin(actor)
    cleaned = spec.clean_rule({**spec.as_data(rule), **data})
    for key, value in cleaned.items():
        setattr(rule, key, value)
    rule.save()
    transaction.on_commit(capture.changed)
    return rule


def rule_set_enabled(*, actor, rule: Rule, enabled: bool) -> Rule:
    require_admin(actor)
    rule.enabled = enabled
    rule.save(update_fields=["enabled", "updated_at"])
    transaction.on_commit(capture.changed)
    return rule


def rule_delete(*, actor, rule: Rule) -> None:
    require_admin(actor)
    rule.delete()
    transaction.on_commit(capture.changed)


def rule_rotate_inbound_secret(*, actor, rule: Rule) -> str:
    require_admin(actor)
    rule.inbound_secret = new_inbound_secret()
    rule.save(update_fields=["inbound_secret", "updated_at"])
    return rule.inbound_secret


# --- export and import --------------------------------------------------------------------------


def export_rules(rules) -> dict[str, Any]:
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "exported_at": timezone.now().isoformat(),
        "rules": [spec.as_data(rule) for rule in rules],
    }


def parse_import(raw: str | bytes | dict | list) -> list[Any]:
    """The rules of an export (a whole export, one rule, or a list of rules)."""
    if isinstance(raw, str | bytes):
        try:
            raw = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValidationError(_("This is not valid JSON: %s") % exc) from exc
    if isinstance(raw, dict) and "rules" in raw:
        if raw.get("format") not in (None, EXPORT_FORMAT):
            raise ValidationError(_("This is not an export of automation rules."))
        if raw.get("version", EXPORT_VERSION) != EXPORT_VERSION:
            raise ValidationError(_("Unknown export version %s.") % raw.get("version"))
        found = raw["rules"]
    elif isinstance(raw, dict):
        found = [raw]
    else:
        found = raw
    if not isinstance(found, list) or not found:
        raise ValidationError(_("The file holds no rules."))
    if len(found) > MAX_IMPORT:
        raise ValidationError(_("At most %d rules at once.") % MAX_IMPORT)
    return found


@transaction.atomic
def rules_import(*, actor, raw, enable: bool = False) -> list[Rule]:
    """Create the rules of an export: all of them, or — with any error — none. Imported rules
    start disabled unless ``enable``. The errors name the rule and the place."""
    require_admin(actor)
    found = parse_import(raw)
    cleaned, problems = [], []
    for index, item in enumerate(found):
        name = item.get("name") if isinstance(item, dict) else None
        try:
            cleaned.append(spec.clean_rule(item))
        except ValidationError as exc:
            where = _("Rule %(n)d (“%(name)s”)") % {"n": index + 1, "name": name or "?"}
            problems.extend(f"{where}: {message}" for message in exc.messages)
    if problems:
        raise ValidationError(problems)
    created = [
        Rule.objects.create(
            created_by=actor if actor and actor.pk else None,
            **{**data, "enabled": bool(enable and data["enabled"])},
        )
        for data in cleaned
    ]
    transaction.on_commit(capture.changed)
    return created


# --- trying and running -------------------------------------------------------------------------


def record_for(*, actor, record_type: str, record_id: int):
    """The record a rule is tried or run on (administrators see every record)."""
    require_admin(actor)
    if record_type not in records.MODELS:
        raise ValidationError({"record_type": _("Unknown kind of record.")})
    record = records.load(record_type, record_id)
    if record is None:
        raise ValidationError({"record_id": _("There is no such record.")})
    return record


def rule_try(*, actor, rule: Rule, record_type: str, record_id: int) -> engine.Outcome:
    """The dry run: which conditions pass and what each action would do; nothing changes."""
    record = record_for(actor=actor, record_type=record_type, record_id=record_id)
    if rule.record_type and rule.record_type != record_type:
        raise ValidationError(
            {"record_type": _("This rule is about a %s.") % rule.get_record_type_display()}
        )
    return engine.dry_run(rule, record)


def rule_run_now(*, actor, rule: Rule, record_type: str, record_id: int):
    """Run the rule on a record now (the command line's ``run``): logged like any run."""
    record = record_for(actor=actor, record_type=record_type, record_id=record_id)
    event = capture.event(rule.trigger, record_type, record.pk, {"manual": True})
    event["chain"] = engine.new_chain()
    return engine.run_rule(rule, event, record)


# --- inbound webhooks ---------------------------------------------------------------------------


class InboundRefused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def inbound_receive(*, token: str, body: bytes, headers: dict[str, str]) -> Rule:
    """An inbound webhook for a "webhook received" rule: the signature checked (Standard
    Webhooks, the rule's secret), the JSON body queued as the record of the event."""
    rule = Rule.objects.filter(inbound_token=token, trigger=TriggerKind.WEBHOOK_RECEIVED).first()
    if rule is None:
        raise InboundRefused(404, "Unknown webhook.")
    if len(body) > MAX_INBOUND_BYTES:
        raise InboundRefused(413, "The body is too large.")
    try:
        Webhook(rule.inbound_secret).verify(body, headers)
    except WebhookVerificationError as exc:
        raise InboundRefused(401, f"Signature not valid: {exc}") from exc
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise InboundRefused(400, "The body is not JSON.") from exc
    if not isinstance(data, dict):
        raise InboundRefused(400, "The body must be a JSON object.")
    if not rule.enabled:
        raise InboundRefused(409, "The rule is disabled.")
    record_id = None
    if rule.record_type and isinstance(data.get("id"), int):
        record_id = data["id"]
    event = capture.event(
        TriggerKind.WEBHOOK_RECEIVED,
        rule.record_type,
        record_id,
        {"record": data, "webhook_id": headers.get("webhook-id", "")},
    ) | {"rule_id": rule.pk}
    capture.emit([event])
    return rule
