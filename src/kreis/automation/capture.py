"""Events for webhooks, caught from the domain without the domain knowing about webhooks.

The domain apps must not import ``kreis.automation`` (tests/test_import_direction.py), so
this module listens (connected in ``AutomationConfig.ready``):

- ``post_save`` / ``post_delete`` of Party, Lead, Deal, Activity and Transaction →
  ``<record>.created``, ``.updated``, ``.deleted``. Deletes are soft: a save that sets
  ``deleted_at`` is a ``.deleted`` event; a hard delete (``post_delete``) is one too.
- ``post_save`` of a new ``StageChange`` with a previous stage → ``deal.stage_changed``.
- ``kreis.analytics.signals.phase_changed`` → ``party.phase_changed`` (one per customer).
- ``kreis.migration.signals.import_finished`` → ``import.finished``.
- ``kreis.marketing.signals.lead_qualified`` → ``lead.qualified`` (the MQL threshold reached).
- ``kreis.parties.signals.parties_bulk_created`` → ``party.created`` for each new party.
- ``kreis.core.signals.records_bulk_created`` → ``<record>.created`` for each new record.
- ``pre_delete`` of a Segment: the subscriptions limited to it are disabled.

The cost when nobody subscribes is one lookup in a kept map (``subscribers.wanted``): no
query, no snapshot. With subscribers, the record is snapshotted at the save (the state the
event is about), and the deliveries are created only when the transaction commits
(``transaction.on_commit``): a rolled-back change sends nothing, and the HTTP requests run in
the job worker, never in the user's request.

Bulk paths: writes through ``bulk_create``/``update()`` send no signals, so an import of a
million rows creates no million deliveries — it sends one ``import.finished`` event with its
counts instead (receivers fetch what they need through the API). The bulk-create API (at
most 1,000 records a request) sends one ``<record>.created`` per record: the parties' fast
path through ``kreis.parties.signals.parties_bulk_created``, the transactions' through
``kreis.core.signals.records_bulk_created`` (any fast ``/bulk`` route may send it; their
deliveries inserted in one go), the other ``/bulk`` routes (leads, deals, activities, which
save through the services) through ``post_save`` of each record they save.
Writes through the services (forms, API) send one event per record.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_delete

from kreis.automation import services, subscribers
from kreis.automation.models import WebhookEvent

RECORDS = {
    "parties.Party": "party",
    "leads.Lead": "lead",
    "sales.Deal": "deal",
    "activities.Activity": "activity",
    "commerce.Transaction": "transaction",
}
_names: dict[type, str] = {}

Event = tuple[str, dict[str, Any], str, int | None]


def record_data(instance) -> dict[str, Any]:
    """The record's own columns (foreign keys as ``<name>_id``) as the event's ``data``."""
    data: dict[str, Any] = {"object": _names.get(type(instance), instance._meta.model_name)}
    for field in instance._meta.concrete_fields:
        data[field.attname] = getattr(instance, field.attname)
    return data


def _emit(events: list[Event]) -> None:
    transaction.on_commit(lambda: services.deliveries_create_many(events=events), robust=True)


def _emit_record(event_type: str, instance, data: dict[str, Any] | None = None) -> None:
    _emit([(event_type, data or record_data(instance), instance._meta.label_lower, instance.pk)])


def on_record_saved(sender, instance, created: bool, raw: bool = False, **kwargs) -> None:
    if raw:  # loading fixtures
        return
    update_fields = kwargs.get("update_fields")
    if created:
        what = "created"
    elif instance.deleted_at is not None and (
        update_fields is None or "deleted_at" in update_fields
    ):
        what = "deleted"
    else:
        what = "updated"
    event_type = f"{_names[sender]}.{what}"
    if subscribers.wanted(event_type):
        _emit_record(event_type, instance)


def on_record_deleted(sender, instance, **kwargs) -> None:
    event_type = f"{_names[sender]}.deleted"
    if subscribers.wanted(event_type):
        _emit_record(event_type, instance)


def _stage(stage) -> dict[str, Any] | None:
    if stage is None:
        return None
    return {
        "id": stage.pk,
        "name": stage.name,
        "kind": stage.kind,
        "pipeline_id": stage.pipeline_id,
    }


def on_stage_change(sender, instance, created: bool, raw: bool = False, **kwargs) -> None:
    if raw or not created or instance.from_stage_id is None:  # a new deal's first stage
        return
    if not subscribers.wanted(WebhookEvent.DEAL_STAGE_CHANGED):
        return
    deal = instance.deal
    data = {
        "deal": record_data(deal),
        "from_stage": _stage(instance.from_stage),
        "to_stage": _stage(instance.to_stage),
        "changed_by_id": instance.changed_by_id,
        "changed_at": instance.changed_at,
    }
    _emit_record(WebhookEvent.DEAL_STAGE_CHANGED, deal, data)


def on_phase_changed(sender, changes, run=None, **kwargs) -> None:
    if not changes or not subscribers.wanted(WebhookEvent.PARTY_PHASE_CHANGED):
        return
    party_model = apps.get_model("parties.Party")
    parties = party_model._base_manager.in_bulk({c.party_id for c in changes}, field_name="pk")
    events: list[Event] = []
    for change in changes:
        party = parties.get(change.party_id)
        if party is None:
            continue
        data = {
            "party": {
                "id": party.pk,
                "kind": party.kind,
                "name": party.name,
                "owner_id": party.owner_id,
                "team_id": party.team_id,
            },
            "from_phase": change.from_phase,
            "to_phase": change.to_phase,
            "date": change.date,
            "reason": change.reason,
            "manual": change.manual,
            "won_back": change.won_back,
            "analytics_run_id": getattr(run, "pk", None),
        }
        events.append((WebhookEvent.PARTY_PHASE_CHANGED, data, "parties.party", party.pk))
    if events:
        _emit(events)


def on_records_bulk_created(sender, ids, actor=None, **kwargs) -> None:
    """A fast bulk-create path writes without ``post_save``: one ``<record>.created`` per new
    record all the same, their deliveries created in one go."""
    name = _names.get(sender)
    if name is None or not ids:
        return
    event_type = f"{name}.created"
    if not subscribers.wanted(event_type):
        return
    events: list[Event] = []
    for start in range(0, len(ids), 1000):
        chunk = sender._base_manager.filter(pk__in=ids[start : start + 1000]).order_by("pk")
        events.extend(
            (event_type, record_data(record), sender._meta.label_lower, record.pk)
            for record in chunk
        )
    if events:
        _emit(events)


def on_lead_qualified(sender, lead, **kwargs) -> None:
    """A lead reached the MQL threshold: ``lead.qualified`` with the lead as it is now (its
    ``mql_at``, rule ``score`` and ``predicted_score``)."""
    if subscribers.wanted(WebhookEvent.LEAD_QUALIFIED):
        _emit_record(WebhookEvent.LEAD_QUALIFIED, lead)


def on_import_finished(sender, job, **kwargs) -> None:
    if not subscribers.wanted(WebhookEvent.IMPORT_FINISHED):
        return
    data = {
        "import": {
            "id": job.pk,
            "entity": job.entity,
            "status": job.status,
            "source": job.source,
            "file_name": job.original_name,
            "rows": job.total_rows,
            "created": job.created_count,
            "updated": job.updated_count,
            "merged": job.merged_count,
            "skipped": job.skipped_count,
            "failed": job.failed_count,
            "started_at": job.started_at,
            "finished_at": job.finished_at,
            "created_by_id": job.created_by_id,
        },
        "created_by_id": job.created_by_id,
    }
    _emit([(WebhookEvent.IMPORT_FINISHED, data, job._meta.label_lower, job.pk)])


def connect() -> None:
    """Connect the receivers (once, from ``AutomationConfig.ready``)."""
    from kreis.analytics.signals import phase_changed
    from kreis.core.signals import records_bulk_created
    from kreis.marketing.signals import lead_qualified
    from kreis.migration.signals import import_finished
    from kreis.parties.signals import parties_bulk_created

    for label, name in RECORDS.items():
        model = apps.get_model(label)
        _names[model] = name
        post_save.connect(on_record_saved, sender=model, dispatch_uid=f"webhooks-save-{name}")
        post_delete.connect(on_record_deleted, sender=model, dispatch_uid=f"webhooks-delete-{name}")
    post_save.connect(
        on_stage_change, sender=apps.get_model("sales.StageChange"), dispatch_uid="webhooks-stage"
    )
    phase_changed.connect(on_phase_changed, dispatch_uid="webhooks-phase")
    import_finished.connect(on_import_finished, dispatch_uid="webhooks-import")
    lead_qualified.connect(on_lead_qualified, dispatch_uid="webhooks-lead-qualified")
    parties_bulk_created.connect(on_records_bulk_created, dispatch_uid="webhooks-party-bulk")
    records_bulk_created.connect(on_records_bulk_created, dispatch_uid="webhooks-records-bulk")
    pre_delete.connect(
        on_segment_deleted,
        sender=apps.get_model("marketing.Segment"),
        dispatch_uid="webhooks-segment-deleted",
    )


def on_segment_deleted(sender, instance, **kwargs) -> None:
    services.segment_deleted(instance)
