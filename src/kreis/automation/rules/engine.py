"""Evaluating rules: match a trigger, check the conditions, carry out the actions, log it.

Runs in the job worker (``kreis.automation.rules.tasks``), never in the user's save. An event is
a dict ``{"trigger", "record_type", "record_id", "data", "chain", "rule_id"?}``; ``chain``
(``{"id", "depth", "seen"}``) travels with every event an action causes, so a rule that would
fire again for the same record within one chain is stopped (and logged), and a chain deeper
than ``MAX_DEPTH`` stops too.

A failing action does not stop the others. The run is then ``retrying``: the failed actions are
tried again after ``RETRY_DELAYS`` (exponential back-off); after the last attempt the run has
failed and the administrators get a notification.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import logging
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kreis.automation.rules import records
from kreis.automation.rules.models import Rule, RuleRun, RunStatus, TriggerKind
from kreis.automation.rules.spec import ACTION_KINDS, CONDITION_KINDS, OPERATORS
from kreis.core.services import notify_in_own_language

log = logging.getLogger("kreis.automation")

MAX_DEPTH = 5
RETRY_DELAYS = (30, 120, 600)  # seconds before the 2nd, 3rd and 4th attempt
# Schedules a retry (run id, delay in seconds); set by ``kreis.automation.rules.tasks``, which
# imports this module.
schedule_retry: Callable[[int, int], Any] | None = None
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1

# The chain of the actions being carried out now (set while a rule's actions run).
current_chain: contextvars.ContextVar[dict | None] = contextvars.ContextVar(
    "kreis_rule_chain", default=None
)


def new_chain() -> dict:
    return {"id": uuid.uuid4().hex, "depth": 0, "seen": []}


def chain_for_event() -> dict:
    """The chain a new event belongs to: the running action's, or a new one."""
    running = current_chain.get()
    return dict(running) if running is not None else new_chain()


class ActionFailed(Exception):
    """An action could not be carried out (its message is logged with the run)."""


class Skipped(Exception):
    """An action that does not apply (no consent, no party): logged, not retried."""


# --- conditions ---------------------------------------------------------------------------------


@dataclass
class Batch:
    """What a batch of events shares: segment memberships asked once per segment."""

    party_ids: set[int] = field(default_factory=set)
    members: dict[int, set[int]] = field(default_factory=dict)

    def in_segment(self, segment_id: int, party) -> bool:
        """Membership now; for the batch's parties asked in one query per segment."""
        from kreis.marketing.models import Segment
        from kreis.marketing.segments.queries import party_in_segment, segment_parties

        if party is None:
            return False
        segment = Segment.objects.filter(pk=segment_id).first()
        if segment is None:
            return False
        if party.pk not in self.party_ids:
            return party_in_segment(party, segment)
        if segment_id not in self.members:
            self.members[segment_id] = set(
                segment_parties(segment).filter(pk__in=self.party_ids).values_list("pk", flat=True)
            )
        return party.pk in self.members[segment_id]


def _number(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value).strip().replace(",", "."))
    except (InvalidOperation, ValueError):
        return None


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def compare(actual: Any, op: str, wanted: str) -> bool:
    """One field comparison; numbers compare as numbers, everything else as text
    (case-insensitive)."""
    if op == "empty":
        return actual in (None, "", [], {})
    if op in ("lt", "gt"):
        left, right = _number(actual), _number(wanted)
        if left is None or right is None:
            return False
        return left < right if op == "lt" else left > right
    if op == "in":
        options = {o.strip().lower() for o in wanted.split(",") if o.strip()}
        return _as_text(actual).lower() in options
    if op == "contains":
        if isinstance(actual, list | tuple):
            return wanted.lower() in {_as_text(a).lower() for a in actual}
        return wanted.lower() in _as_text(actual).lower()
    left, right = _number(actual), _number(wanted)
    if left is not None and right is not None and not isinstance(actual, str):
        same = left == right
    else:
        same = _as_text(actual).lower() == wanted.lower()
    return same if op == "eq" else not same


def describe_condition(condition: dict) -> str:
    kind = condition.get("kind")
    if kind == "field":
        op = str(OPERATORS.get(condition["op"], condition["op"]))
        value = "" if condition["op"] == "empty" else f" “{condition.get('value', '')}”"
        return f"{condition['field']} {op}{value}"
    if kind == "segment":
        from kreis.marketing.models import Segment

        segment = Segment.objects.filter(pk=condition["segment_id"]).first()
        return _("member of the segment “%s”") % (segment or condition["segment_id"])
    if kind == "abc":
        return _("ABC class is %s") % ", ".join(condition.get("value") or [])
    if kind == "owner":
        return _("owner is %s") % _user_name(condition.get("user_id"))
    if kind == "team":
        from kreis.core.models import Team

        team = Team.objects.filter(pk=condition.get("team_id")).first()
        return _("team is %s") % (team or condition.get("team_id"))
    return str(CONDITION_KINDS.get(kind, kind))


def check_condition(condition: dict, record: Any, batch: Batch) -> bool:
    kind = condition["kind"]
    if record is None:
        return False
    if kind == "field":
        return compare(
            records.value_of(record, condition["field"]), condition["op"], condition["value"]
        )
    party = None if isinstance(record, dict) else records.party_of(record)
    if kind == "segment":
        return batch.in_segment(condition["segment_id"], party)
    if kind == "abc":
        if isinstance(record, dict):
            value = record.get("abc_class")
        else:
            value = getattr(party, "abc_class", None) if party is not None else None
        return (value or "") in condition.get("value", [])
    if kind == "owner":
        return records.value_of(record, "owner_id") == condition["user_id"]
    if kind == "team":
        return records.value_of(record, "team_id") == condition["team_id"]
    return False


def evaluate_conditions(rule: Rule, record: Any, batch: Batch) -> tuple[bool, list[dict]]:
    results = []
    for condition in rule.conditions:
        try:
            passed = check_condition(condition, record, batch)
        except Exception as exc:  # noqa: BLE001 (a broken condition does not pass; it is logged)
            log.warning("rule %s: condition %s failed: %s", rule.pk, condition, exc)
            passed = False
        results.append({"text": describe_condition(condition), "passed": passed})
    if not results:
        return True, results
    flags = [r["passed"] for r in results]
    return (all(flags) if rule.match == "all" else any(flags)), results


# --- actions ------------------------------------------------------------------------------------


def _user_name(user_id: int | None) -> str:
    from kreis.core.models import User

    user = User.objects.filter(pk=user_id).first() if user_id else None
    return str(user) if user else _("the record's owner")


def _user(user_id: int | None, record: Any):
    from kreis.core.models import User

    if user_id:
        user = User.objects.filter(pk=user_id, is_active=True).first()
        if user is None:
            raise ActionFailed(_("The user %(id)s is not active or gone.") % {"id": user_id})
        return user
    owner_id = records.value_of(record, "owner_id") if record is not None else None
    user = User.objects.filter(pk=owner_id, is_active=True).first() if owner_id else None
    if user is None:
        raise Skipped(_("The record has no active owner."))
    return user


def _require_record(record: Any) -> Any:
    if record is None or isinstance(record, dict):
        raise Skipped(_("This action needs a record in Kreis; the event has none."))
    return record


def _party(record: Any):
    party = records.party_of(_require_record(record))
    if party is None:
        raise Skipped(_("The record has no party."))
    return party


MERGE = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")


def merge(text: str, record: Any, party) -> str:
    """Fill the merge fields ``{{ name }}``, ``{{ first_name }}``, ``{{ last_name }}``,
    ``{{ record }}``, ``{{ owner }}`` (nothing else: no template language)."""
    person = party if party is not None else record
    values = {
        "name": records.label(party) if party is not None else records.label(record),
        "first_name": getattr(person, "first_name", "") or "",
        "last_name": getattr(person, "last_name", "") or "",
        "record": records.label(record),
        "owner": str(getattr(record, "owner", "") or "") if not isinstance(record, dict) else "",
    }
    return MERGE.sub(lambda m: str(values.get(m.group(1), m.group(0))), text)


def _language(record: Any, party) -> str:
    if getattr(record, "language", ""):
        return record.language
    if party is not None:
        from kreis.feedback.services import contact_language

        return contact_language(party, settings.LANGUAGE_CODE[:2])
    return settings.LANGUAGE_CODE[:2]


def _mail_texts(action: dict, language: str) -> tuple[str, str]:
    order = [language, "de" if language != "de" else "en"]
    for lang in order:
        if action.get(f"subject_{lang}") and action.get(f"body_{lang}"):
            return action[f"subject_{lang}"], action[f"body_{lang}"]
    raise Skipped(_("The mail has no text."))


def _save(record: Any, fields: list[str]) -> None:
    names = {f.name for f in record._meta.concrete_fields}
    if "updated_at" in names:
        fields = [*fields, "updated_at"]
    record.save(update_fields=fields)


def _set_value(record: Any, name: str, raw: str) -> str:
    from django.core.exceptions import ValidationError

    if name.startswith("custom."):
        custom = dict(record.custom or {})
        custom[name[7:]] = raw
        record.custom = custom
        _save(record, ["custom"])
        return raw
    model_field = record._meta.get_field(name)
    try:
        value = model_field.to_python(raw if raw != "" or not model_field.null else None)
        model_field.clean(value, record)
    except ValidationError as exc:
        raise ActionFailed(f"{name}: {' '.join(exc.messages)}") from exc
    setattr(record, name, value)
    _save(record, [name])
    return _as_text(value)


def run_action(action: dict, rule: Rule, record: Any, event: dict, *, dry: bool) -> str:
    """Carry out (or, dry, describe) one action; returns what it did. Raises ActionFailed or
    Skipped, or whatever the domain raises."""
    kind = action["kind"]
    if kind == "create_task":
        from kreis.activities.models import ActivityKind
        from kreis.activities.services import activity_create

        user = _user(action.get("user_id"), record)
        due = timezone.now() + dt.timedelta(days=action.get("days") or 0)
        if dry:
            known = None if record is None or isinstance(record, dict) else record
            subject = merge(action["subject"], known, records.party_of(known) if known else None)
            return _("Would create the task “%(s)s” for %(u)s, due %(d)s.") % {
                "s": subject,
                "u": user,
                "d": due.date().isoformat(),
            }
        rec = _require_record(record) if record is not None else None
        links: dict[str, Any] = {}
        if rec is not None:
            kind_of = records.type_of(rec)
            if kind_of in ("party", "deal", "lead"):
                links[kind_of] = rec
            else:
                links["party"] = records.party_of(rec)
        task = activity_create(
            actor=None,
            kind=ActivityKind.TASK,
            subject=merge(action["subject"], rec, records.party_of(rec) if rec else None)[:200],
            owner=user,
            occurred_at=due,
            **links,
        )
        return _("Created the task “%(s)s” (#%(id)s) for %(u)s.") % {
            "s": task.subject,
            "id": task.pk,
            "u": user,
        }
    if kind == "send_email":
        from kreis.leads.models import Lead
        from kreis.marketing.consent.services import NoConsent, may_contact, send_marketing_mail

        rec = _require_record(record)
        lead = rec if isinstance(rec, Lead) else None
        party = None if lead else _party(rec)
        language = _language(rec, party)
        subject, body = _mail_texts(action, language)
        if party is not None:
            # Opt-outs and consent of the party, in the one decision of kreis.channels.
            from kreis.channels.services import may_use

            verdict = may_use(party, "email", purpose=action["purpose"])
            if not verdict.allowed:
                raise Skipped(verdict.reason)
        elif not may_contact(purpose=action["purpose"], channel="email", lead=lead):
            raise Skipped(_("No consent to e-mail %(p)s for this purpose.") % {"p": lead})
        if dry:
            return _("Would send “%(s)s” (%(l)s) to %(p)s.") % {
                "s": merge(subject, rec, party),
                "l": language,
                "p": party or lead,
            }
        try:
            sent = send_marketing_mail(
                purpose=action["purpose"],
                subject=merge(subject, rec, party)[:200],
                text=merge(body, rec, party),
                party=party,
                lead=lead,
            )
        except NoConsent as exc:
            raise Skipped(str(exc)) from exc
        return _("Sent “%(s)s” to %(to)s.") % {"s": subject, "to": sent.to}
    if kind == "assign_owner":
        rec = _require_record(record)
        user = _user(action["user_id"], None)
        if not hasattr(rec, "owner_id"):
            raise Skipped(_("This record has no owner."))
        if dry:
            return _("Would make %(u)s the owner.") % {"u": user}
        rec.owner_id = user.pk
        _save(rec, ["owner"])
        return _("%(u)s is now the owner.") % {"u": user}
    if kind == "set_field":
        rec = _require_record(record)
        if dry:
            return _("Would set %(f)s to “%(v)s”.") % {"f": action["field"], "v": action["value"]}
        value = _set_value(rec, action["field"], action["value"])
        return _("Set %(f)s to “%(v)s”.") % {"f": action["field"], "v": value}
    if kind == "add_tag":
        from kreis.parties.models import Tag

        rec = _require_record(record)
        if not hasattr(rec, "tags"):
            raise Skipped(_("This record has no tags."))
        if dry:
            return _("Would add the tag “%s”.") % action["tag"]
        tag, _created = Tag.objects.get_or_create(name=action["tag"])
        rec.tags.add(tag)
        return _("Added the tag “%s”.") % action["tag"]
    if kind == "add_to_segment":
        from kreis.marketing.models import Segment
        from kreis.marketing.segments.services import members_add

        party = _party(record)
        segment = Segment.objects.filter(pk=action["segment_id"]).first()
        if segment is None:
            raise ActionFailed(_("The segment is gone."))
        if dry:
            return _("Would add %(p)s to the segment “%(s)s”.") % {"p": party, "s": segment}
        added = members_add(actor=None, segment=segment, party_ids=[party.pk])
        if not added:
            return _("%(p)s was already in the segment “%(s)s”.") % {"p": party, "s": segment}
        return _("Added %(p)s to the segment “%(s)s”.") % {"p": party, "s": segment}
    if kind == "add_to_campaign":
        from kreis.leads.models import Lead
        from kreis.marketing.campaigns.services import members_add
        from kreis.marketing.models import Campaign

        campaign = Campaign.objects.filter(pk=action["campaign_id"]).first()
        if campaign is None:
            raise ActionFailed(_("The campaign is gone."))
        rec = _require_record(record)
        lead = rec if isinstance(rec, Lead) else None
        party = None if lead else _party(rec)
        if dry:
            return _("Would add %(p)s to the campaign “%(c)s”.") % {
                "p": party or lead,
                "c": campaign,
            }
        members_add(
            actor=None,
            campaign=campaign,
            parties=[party] if party else [],
            leads=[lead] if lead else [],
        )
        return _("Added %(p)s to the campaign “%(c)s”.") % {"p": party or lead, "c": campaign}
    if kind == "notify":
        from kreis.core.models import Notification

        user = _user(action.get("user_id"), record)
        message = merge(
            action["message"],
            record,
            None
            if isinstance(record, dict)
            else records.party_of(record)
            if record is not None
            else None,
        )
        if dry:
            return _("Would notify %(u)s: “%(m)s”.") % {"u": user, "m": message}
        # The rule's own text is as written; Kreis's words around it in the recipient's language.
        notify_in_own_language(
            [user],
            message=lambda: (message, _("Automation rule “%s”") % rule.name),
            url=_record_url(record),
            level=Notification.Level.INFO,
            email=False,
        )
        return _("Notified %(u)s.") % {"u": user}
    if kind == "call_webhook":
        from kreis.automation import services
        from kreis.automation.models import WebhookSubscription

        subscription = WebhookSubscription.objects.filter(pk=action["webhook_id"]).first()
        if subscription is None:
            raise ActionFailed(_("The webhook subscription is gone."))
        if dry:
            return _("Would send the event to the webhook “%s”.") % subscription.name
        data = {
            "rule_id": rule.pk,
            "rule": rule.name,
            "trigger": event.get("trigger"),
            "record_type": event.get("record_type"),
            "record_id": event.get("record_id"),
            "data": event.get("data") or {},
        }
        delivery = services.delivery_for_rule(
            subscription=subscription, event_type="automation.rule", data=data
        )
        return _("Queued the delivery %(id)s to “%(s)s”.") % {
            "id": delivery.webhook_id,
            "s": subscription.name,
        }
    if kind in ("start_playbook", "stop_playbook"):
        from kreis.playbooks import services as playbooks
        from kreis.playbooks.models import Playbook

        playbook = Playbook.objects.filter(pk=action["playbook_id"]).first()
        if playbook is None:
            raise ActionFailed(_("The playbook is gone."))
        party = _party(record)
        if kind == "start_playbook":
            if dry:
                return _("Would start the playbook “%(b)s” for %(p)s.") % {
                    "b": playbook,
                    "p": party,
                }
            count = playbooks.start_for_parties(playbook, [party.pk], source=f"rule:{rule.pk}")
            if not count:
                return _("%(p)s is in the playbook “%(b)s” already.") % {"b": playbook, "p": party}
            return _("Started the playbook “%(b)s” for %(p)s.") % {"b": playbook, "p": party}
        if dry:
            return _("Would stop the playbook “%(b)s” for %(p)s.") % {"b": playbook, "p": party}
        count = playbooks.stop_for_parties(playbook, [party.pk], reason=f"rule:{rule.pk}")
        if not count:
            return _("%(p)s was not in the playbook “%(b)s”.") % {"b": playbook, "p": party}
        return _("Stopped the playbook “%(b)s” for %(p)s.") % {"b": playbook, "p": party}
    raise ActionFailed(_("Unknown kind of action “%s”.") % kind)


def _record_url(record: Any) -> str:
    if record is None or isinstance(record, dict):
        return ""
    try:
        return record.get_absolute_url()
    except (AttributeError, Exception):  # noqa: BLE001 (no page: no link)
        return ""


def describe_action(action: dict) -> str:
    return str(ACTION_KINDS.get(action.get("kind"), action.get("kind")))


# --- matching a trigger -------------------------------------------------------------------------


def _same(value: Any, wanted: str) -> bool:
    return compare(value, "eq", wanted)


def trigger_matches(rule: Rule, event: dict) -> bool:
    """Whether the event is one the rule's trigger (with its settings) waits for."""
    if event.get("rule_id") and event["rule_id"] != rule.pk:
        return False
    if rule.trigger != event["trigger"]:
        return False
    if rule.record_type and event.get("record_type") and rule.record_type != event["record_type"]:
        return False
    config = rule.trigger_config or {}
    data = event.get("data") or {}
    if rule.trigger == TriggerKind.FIELD_CHANGED:
        change = (data.get("changes") or {}).get(config.get("field"))
        if change is None:
            return False
        old, new = change
        if "from_value" in config and not _same(old, config["from_value"]):
            return False
        return "to_value" not in config or _same(new, config["to_value"])
    if rule.trigger == TriggerKind.DEAL_STAGE_CHANGED:
        return (
            not config.get("stage_id")
            or (data.get("to_stage") or {}).get("id") == config["stage_id"]
        )
    if rule.trigger == TriggerKind.PHASE_CHANGED:
        return not config.get("phase") or data.get("to_phase") == config["phase"]
    if rule.trigger == TriggerKind.FORM_SUBMITTED:
        return not config.get("form_id") or data.get("form_id") == config["form_id"]
    if rule.trigger == TriggerKind.SURVEY_ANSWERED:
        return not config.get("survey_id") or data.get("survey_id") == config["survey_id"]
    return True


# --- running ------------------------------------------------------------------------------------


@dataclass
class Outcome:
    passed: bool
    conditions: list[dict]
    actions: list[dict]
    status: str
    error: str = ""


def _carry_out(
    rule: Rule, actions: list[tuple[int, dict]], record: Any, event: dict, chain: dict, *, dry: bool
) -> list[dict]:
    results = []
    token = current_chain.set(chain) if not dry else None
    try:
        for index, action in actions:
            entry = {"index": index, "kind": action["kind"], "text": describe_action(action)}
            try:
                if dry:
                    entry["result"] = run_action(action, rule, record, event, dry=True)
                else:
                    with transaction.atomic():
                        entry["result"] = run_action(action, rule, record, event, dry=False)
                entry["status"] = "done"
            except Skipped as exc:
                entry.update(status="skipped", result=str(exc))
            except Exception as exc:  # noqa: BLE001 (any failure is logged and retried)
                message = " ".join(getattr(exc, "messages", [])) or str(exc) or type(exc).__name__
                entry.update(status="failed", error=message[:500])
                if not dry:
                    log.warning("rule %s action %s failed: %s", rule.pk, index, message)
            results.append(entry)
    finally:
        if token is not None:
            current_chain.reset(token)
    return results


def _stopped(rule: Rule, event: dict, chain: dict, reason: str, started: float) -> RuleRun:
    return RuleRun.objects.create(
        rule=rule,
        trigger=event["trigger"],
        record_type=event.get("record_type") or "",
        record_id=event.get("record_id"),
        status=RunStatus.STOPPED,
        error=reason[:500],
        chain_id=chain["id"],
        depth=chain["depth"],
        event=_safe(event),
        started_at=timezone.now(),
        duration_ms=(time.perf_counter() - started) * 1000,
    )


def _safe(event: dict) -> dict:
    import json

    from django.core.serializers.json import DjangoJSONEncoder

    return json.loads(
        json.dumps({k: v for k, v in event.items() if k != "chain"}, cls=DjangoJSONEncoder)
    )


def run_rule(rule: Rule, event: dict, record: Any, batch: Batch | None = None) -> RuleRun:
    """Evaluate the rule for the event's record and carry out its actions; logged."""
    started = time.perf_counter()
    batch = batch or Batch()
    chain = dict(event.get("chain") or new_chain())
    key = [rule.pk, event.get("record_type") or "", event.get("record_id")]
    seen = [list(s) for s in chain.get("seen", [])]
    if event.get("record_id") is not None and key in seen:
        return _stopped(
            rule,
            event,
            chain,
            _("Loop stopped: this rule already ran for this record in this chain."),
            started,
        )
    if chain.get("depth", 0) >= MAX_DEPTH:
        return _stopped(
            rule,
            event,
            chain,
            _("Chain stopped: more than %d rules triggered one another.") % MAX_DEPTH,
            started,
        )
    passed, conditions = evaluate_conditions(rule, record, batch)
    action_results: list[dict] = []
    if passed:
        next_chain = {"id": chain["id"], "depth": chain.get("depth", 0) + 1, "seen": [*seen, key]}
        action_results = _carry_out(
            rule, list(enumerate(rule.actions)), record, event, next_chain, dry=False
        )
    failed = any(a["status"] == "failed" for a in action_results)
    status = (
        RunStatus.NOT_MET if not passed else RunStatus.RETRYING if failed else RunStatus.SUCCEEDED
    )
    run = RuleRun.objects.create(
        rule=rule,
        trigger=event["trigger"],
        record_type=event.get("record_type") or "",
        record_id=event.get("record_id"),
        record_label=records.label(record),
        status=status,
        conditions=conditions,
        actions=action_results,
        chain_id=chain["id"],
        depth=chain.get("depth", 0),
        event=_safe(event),
        started_at=timezone.now(),
        duration_ms=(time.perf_counter() - started) * 1000,
    )
    if failed:
        transaction.on_commit(lambda: schedule_retry(run.pk, RETRY_DELAYS[0]), robust=True)
    return run


def retry(run_id: int) -> int | None:
    """Try a run's failed actions again. Returns the delay until the next try, or None."""
    run = (
        RuleRun.objects.select_related("rule").filter(pk=run_id, status=RunStatus.RETRYING).first()
    )
    if run is None:
        return None
    rule = run.rule
    record = (
        records.load(run.record_type, run.record_id) if run.record_id else run.event.get("data")
    )
    failed = [a["index"] for a in run.actions if a["status"] == "failed"]
    todo = [(i, rule.actions[i]) for i in failed if i < len(rule.actions)]
    event = {**run.event, "chain": {"id": run.chain_id, "depth": run.depth, "seen": []}}
    chain = {
        "id": run.chain_id,
        "depth": run.depth + 1,
        "seen": [[rule.pk, run.record_type, run.record_id]],
    }
    again = {a["index"]: a for a in _carry_out(rule, todo, record, event, chain, dry=False)}
    run.actions = [
        {**again[a["index"]], "attempts": a.get("attempts", 1) + 1} if a["index"] in again else a
        for a in run.actions
    ]
    run.attempts += 1
    still = any(a["status"] == "failed" for a in run.actions)
    if not still:
        run.status = RunStatus.SUCCEEDED
    elif run.attempts >= MAX_ATTEMPTS:
        run.status = RunStatus.FAILED
        run.error = _("Gave up after %d attempts.") % run.attempts
        _alert_admins(run)
    run.save(update_fields=["actions", "attempts", "status", "error"])
    if still and run.status == RunStatus.RETRYING:
        return RETRY_DELAYS[min(run.attempts - 1, len(RETRY_DELAYS) - 1)]
    return None


def _alert_admins(run: RuleRun) -> None:
    """Tell every active administrator that a rule gave up, each in their own language."""
    from kreis.core.models import Notification, Role, User

    admins = User.objects.filter(is_active=True).filter(role=Role.ADMIN) | User.objects.filter(
        is_active=True, is_superuser=True
    )
    errors = "; ".join(a.get("error", "") for a in run.actions if a["status"] == "failed")

    def message() -> tuple[str, str]:
        title = _("Automation rule “%s” failed") % run.rule.name
        gave_up = _("Gave up after %d attempts.") % run.attempts
        return title, f"{gave_up} {errors}".strip()

    notify_in_own_language(
        admins.distinct(),
        message=message,
        url=reverse("rules:rule_detail", args=[run.rule_id]),
        level=Notification.Level.WARNING,
        email=False,
    )


def dry_run(rule: Rule, record: Any) -> Outcome:
    """What the rule would do for this record, changing nothing."""
    with transaction.atomic():
        passed, conditions = evaluate_conditions(rule, record, Batch())
        actions = _carry_out(rule, list(enumerate(rule.actions)), record, {}, new_chain(), dry=True)
        transaction.set_rollback(True)
    status = RunStatus.SUCCEEDED if passed else RunStatus.NOT_MET
    return Outcome(passed=passed, conditions=conditions, actions=actions, status=status)


def process(events: list[dict]) -> int:
    """Evaluate the enabled rules for a batch of events (the job). Returns the runs made."""
    triggers = {e["trigger"] for e in events}
    rules = list(Rule.objects.filter(enabled=True, trigger__in=triggers).order_by("pk"))
    if not rules:
        return 0
    wanted = [(e, r) for e in events for r in rules if trigger_matches(r, e)]
    if not wanted:
        return 0
    # The records, loaded once per type.
    by_type: dict[str, set[int]] = {}
    for event, _rule in wanted:
        if event.get("record_type") and event.get("record_id") is not None:
            by_type.setdefault(event["record_type"], set()).add(event["record_id"])
    loaded: dict[tuple[str, int], Any] = {}
    batch = Batch()
    for record_type, ids in by_type.items():
        model = records.model_for(record_type)
        for pk, obj in model._base_manager.in_bulk(list(ids)).items():
            loaded[(record_type, pk)] = obj
            if record_type == "party":
                batch.party_ids.add(pk)
    count = 0
    for event, rule in wanted:
        record = loaded.get((event.get("record_type") or "", event.get("record_id")))
        if record is None and event.get("record_id") is None:
            record = (event.get("data") or {}).get("record")
        if record is None and event["trigger"] == TriggerKind.RECORD_DELETED:
            record = (event.get("data") or {}).get("record")
        try:
            run_rule(rule, event, record, batch)
        except Exception:  # one broken rule never stops the others
            log.exception("rule %s failed on %s", rule.pk, event.get("record_id"))
            continue
        count += 1
    return count
