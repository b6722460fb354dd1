"""The cheap part in the save path: notice an event a rule waits for, queue it after commit.

Which triggers enabled rules wait for (and which fields "a field changes" watches) is kept in
the process for ``TTL`` seconds and shared through the cache, like the webhook subscribers: a
save that no rule waits for costs a dictionary lookup. A save a rule does wait for costs a
snapshot of the record's id (and, for watched fields, one query for their old values before
the save); the events are queued as one job when the transaction commits
(``transaction.on_commit``) and evaluated in the worker (``tasks.rules_evaluate``). A
rolled-back save queues nothing. Domain apps know nothing of this: their signals and
``post_save`` are listened to here.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from django.apps import apps
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_save

from kreis.automation.rules import records
from kreis.automation.rules.engine import chain_for_event
from kreis.automation.rules.models import TriggerKind

CACHE_KEY = "kreis:automation-rules"
TTL = 10.0
CHUNK = 500

_memo: dict[str, Any] = {"at": 0.0, "index": None}


def _load() -> dict[str, Any]:
    from kreis.automation.rules.models import Rule

    wanted: set[str] = set()
    fields: dict[str, set[str]] = {}
    for trigger, record_type, config in Rule.objects.filter(enabled=True).values_list(
        "trigger", "record_type", "trigger_config"
    ):
        wanted.add(f"{trigger}:{record_type}")
        wanted.add(trigger)
        if trigger == TriggerKind.FIELD_CHANGED and (config or {}).get("field"):
            fields.setdefault(record_type, set()).add(config["field"])
    return {"wanted": wanted, "fields": {k: sorted(v) for k, v in fields.items()}}


def index() -> dict[str, Any]:
    now = time.monotonic()
    current = _memo["index"]
    if current is None or now - _memo["at"] > TTL:
        current = cache.get(CACHE_KEY)
        if current is None:
            current = _load()
            cache.set(CACHE_KEY, current, 300)
        _memo.update(at=now, index=current)
    return current


def wanted(trigger: str, record_type: str = "") -> bool:
    found = index()["wanted"]
    return (f"{trigger}:{record_type}" if record_type else trigger) in found


def changed() -> None:
    """A rule was created, changed or deleted: forget what we knew."""
    _memo.update(at=0.0, index=None)
    cache.delete(CACHE_KEY)


# --- queueing -----------------------------------------------------------------------------------


# The job that evaluates a chunk of events, set by ``kreis.automation.rules.tasks`` when it is
# imported (``AutomationConfig.ready``): the jobs use this module, so it must not import them.
evaluate_later: Callable[[list[dict]], Any] | None = None


def _enqueue(events: list[dict]) -> None:
    for start in range(0, len(events), CHUNK):
        evaluate_later(events[start : start + CHUNK])


class _Batch:
    """The events of one transaction (at one savepoint level), queued together after commit."""

    def __init__(self, events: list[dict], savepoints: tuple[str, ...]) -> None:
        self.events = events
        self.savepoints = savepoints

    def flush(self) -> None:
        if getattr(_local, "batch", None) is self:
            _local.batch = None
        _enqueue(self.events)

    def takes(self, connection) -> bool:
        """Whether events emitted now share this batch's fate: the same savepoint level, and
        its commit hook still waiting (a rollback of the transaction or of the savepoint it was
        registered in removes the hook, and its events with it)."""
        if tuple(connection.savepoint_ids) != self.savepoints:
            return False
        return any(hook == self.flush for _, hook, _ in reversed(connection.run_on_commit))


_local = threading.local()


def emit(events: list[dict]) -> None:
    """Queue events for the worker once the transaction commits: the events of one transaction
    go out together (one job per ``CHUNK``), since queueing a job costs more than the rest of
    the capture (a SQLite queue write)."""
    if not events:
        return
    chain = chain_for_event()
    for item in events:
        item.setdefault("chain", chain)
    connection = transaction.get_connection()
    batch = getattr(_local, "batch", None)
    if connection.in_atomic_block and batch is not None and batch.takes(connection):
        batch.events.extend(events)
        return
    batch = _Batch(list(events), tuple(connection.savepoint_ids))
    _local.batch = batch if connection.in_atomic_block else None
    transaction.on_commit(batch.flush, robust=True)


def event(trigger: str, record_type: str, record_id: int | None, data: dict | None = None) -> dict:
    return {
        "trigger": str(trigger),
        "record_type": record_type,
        "record_id": record_id,
        "data": data or {},
    }


# --- receivers ----------------------------------------------------------------------------------


def on_pre_save(sender, instance, raw: bool = False, **kwargs) -> None:
    """Remember the old values of the fields a "field changes" rule watches (one query)."""
    if raw or instance.pk is None:
        return
    record_type = records.type_of(instance)
    watched = index()["fields"].get(record_type)
    if not watched:
        return
    columns = [f for f in watched if not f.startswith("custom.")]
    if any(f.startswith("custom.") for f in watched):
        columns.append("custom")
    names = {f.attname for f in sender._meta.concrete_fields} | {
        f.name for f in sender._meta.concrete_fields
    }
    columns = [c for c in columns if c in names]
    if columns:
        instance._kreis_rule_old = (
            sender._base_manager.filter(pk=instance.pk).values(*columns).first()
        )


def _changes(instance, record_type: str) -> dict[str, list]:
    old = getattr(instance, "_kreis_rule_old", None)
    if old is None:
        return {}
    instance._kreis_rule_old = None
    found = {}
    for name in index()["fields"].get(record_type, []):
        if name.startswith("custom."):
            before = (old.get("custom") or {}).get(name[7:])
            after = (instance.custom or {}).get(name[7:])
        elif name in old:
            before, after = old[name], records.value_of(instance, name)
        else:
            continue
        if before != after:
            found[name] = [_plain(before), _plain(after)]
    return found


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(getattr(value, "pk", value))


def on_saved(sender, instance, created: bool, raw: bool = False, **kwargs) -> None:
    if raw:
        return
    record_type = records.type_of(instance)
    found: list[dict] = []
    update_fields = kwargs.get("update_fields")
    deleted = (
        not created
        and getattr(instance, "deleted_at", None) is not None
        and (update_fields is None or "deleted_at" in update_fields)
    )
    what = "record.created" if created else "record.deleted" if deleted else "record.updated"
    if wanted(what, record_type):
        found.append(event(what, record_type, instance.pk))
    if not created and wanted(TriggerKind.FIELD_CHANGED, record_type):
        changes = _changes(instance, record_type)
        if changes:
            found.append(
                event(TriggerKind.FIELD_CHANGED, record_type, instance.pk, {"changes": changes})
            )
    if created and record_type == "case" and wanted(TriggerKind.CASE_OPENED, "case"):
        found.append(event(TriggerKind.CASE_OPENED, "case", instance.pk))
    if found:
        emit(found)


def on_deleted(sender, instance, **kwargs) -> None:
    record_type = records.type_of(instance)
    if wanted("record.deleted", record_type):
        data = {
            "record": {
                f.attname: _plain(getattr(instance, f.attname))
                for f in sender._meta.concrete_fields
            }
        }
        emit([event("record.deleted", record_type, None, data)])


def on_stage_change(sender, instance, created: bool, raw: bool = False, **kwargs) -> None:
    if raw or not created or instance.from_stage_id is None:
        return
    if not wanted(TriggerKind.DEAL_STAGE_CHANGED, "deal"):
        return
    data = {
        "from_stage": {"id": instance.from_stage_id, "name": str(instance.from_stage)},
        "to_stage": {"id": instance.to_stage_id, "name": str(instance.to_stage)},
        "changed_by_id": instance.changed_by_id,
    }
    emit([event(TriggerKind.DEAL_STAGE_CHANGED, "deal", instance.deal_id, data)])


def on_phase_changed(sender, changes, run=None, **kwargs) -> None:
    """The nightly run's phase changes (thousands at once): one event each, queued in chunks."""
    if not changes or not wanted(TriggerKind.PHASE_CHANGED, "party"):
        return
    emit(
        [
            event(
                TriggerKind.PHASE_CHANGED,
                "party",
                change.party_id,
                {"from_phase": change.from_phase, "to_phase": change.to_phase},
            )
            for change in changes
        ]
    )


def on_form_submitted(sender, submission, **kwargs) -> None:
    lead_id = getattr(submission, "lead_id", None)
    if lead_id is None or not wanted(TriggerKind.FORM_SUBMITTED, "lead"):
        return
    data = {"form_id": getattr(submission, "form_id", None), "submission_id": submission.pk}
    emit([event(TriggerKind.FORM_SUBMITTED, "lead", lead_id, data)])


def on_response_saved(sender, instance, created: bool, raw: bool = False, **kwargs) -> None:
    """A survey answer (``feedback.Response``) of a known party."""
    if raw or not created or instance.party_id is None:
        return
    if not wanted(TriggerKind.SURVEY_ANSWERED, "party"):
        return
    data = {"survey_id": instance.survey_id, "response_id": instance.pk, "nps": instance.nps}
    emit([event(TriggerKind.SURVEY_ANSWERED, "party", instance.party_id, data)])


def on_records_bulk_created(sender, ids, **kwargs) -> None:
    """Fast bulk-create paths (the bulk API, a playbook's first tasks) write without
    ``post_save``: one "record created" event per new record all the same. Sent after commit."""
    record_type = records.LABELS.get(sender._meta.label_lower)
    if record_type is None or not ids or not wanted("record.created", record_type):
        return
    emit([event("record.created", record_type, pk) for pk in ids])


def connect() -> None:
    from kreis.analytics.signals import phase_changed
    from kreis.core.signals import records_bulk_created
    from kreis.marketing.signals import form_submitted
    from kreis.parties.signals import parties_bulk_created

    for record_type, label in records.MODELS.items():
        model = apps.get_model(label)
        uid = f"rules-{record_type}"
        pre_save.connect(on_pre_save, sender=model, dispatch_uid=f"{uid}-pre")
        post_save.connect(on_saved, sender=model, dispatch_uid=f"{uid}-save")
        post_delete.connect(on_deleted, sender=model, dispatch_uid=f"{uid}-delete")
    post_save.connect(
        on_stage_change, sender=apps.get_model("sales.StageChange"), dispatch_uid="rules-stage"
    )
    post_save.connect(
        on_response_saved, sender=apps.get_model("feedback.Response"), dispatch_uid="rules-survey"
    )
    phase_changed.connect(on_phase_changed, dispatch_uid="rules-phase")
    form_submitted.connect(on_form_submitted, dispatch_uid="rules-form")
    records_bulk_created.connect(on_records_bulk_created, dispatch_uid="rules-bulk")
    parties_bulk_created.connect(on_records_bulk_created, dispatch_uid="rules-party-bulk")
