"""Writes of the webhooks: subscriptions, and deliveries created for events.

Every write checks the actor: a user manages their own subscriptions, an administrator all,
and only an administrator may allow a private or local target (for that exact URL: a change
of the URL by anyone else withdraws it).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kreis.automation import sending, subscribers
from kreis.automation.models import (
    TEST_EVENT,
    DeliveryStatus,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
    new_secret,
)
from kreis.automation.tasks import deliver_webhook
from kreis.core.models import User
from kreis.core.netguard import TargetRefused

# A rotated-out secret keeps signing (beside the new one) this long.
ROTATION_GRACE_HOURS = 24


def _check_actor(actor: User, subscription: WebhookSubscription | None = None) -> None:
    if actor is None or not actor.is_active or actor.is_read_only:
        raise PermissionDenied
    if subscription is not None and not (actor.is_admin or subscription.owner_id == actor.pk):
        raise PermissionDenied


def _check_target(subscription: WebhookSubscription) -> None:
    # Not Django's URLValidator: it refuses single-label hosts (http://erp:8080/) an
    # administrator may allow, while the guard knows every spelling of an address.
    if len(subscription.target_url) > 500:
        raise ValidationError({"target_url": _("At most 500 characters.")})
    try:
        sending.check_target(
            subscription.target_url, allow_private=subscription.allow_private_target
        )
    except TargetRefused as exc:
        raise ValidationError({"target_url": str(exc)}) from exc


def _clean_events(events: Iterable[str]) -> list[str]:
    chosen = list(dict.fromkeys(events))
    unknown = [e for e in chosen if e not in WebhookEvent.values]
    if unknown:
        raise ValidationError({"events": _("Unknown events: %s") % ", ".join(unknown)})
    if not chosen:
        raise ValidationError({"events": _("Choose at least one event.")})
    return sorted(chosen, key=WebhookEvent.values.index)


def _check_segment(actor: User, segment) -> None:
    """A segment limits a subscription only if the actor sees it (membership would tell
    about parties otherwise)."""
    if segment is not None and not actor.has_perm("marketing.view_record", segment):
        raise ValidationError({"segment": _("There is no such segment.")})


def subscription_create(
    *,
    actor: User,
    name: str,
    target_url: str,
    events: Iterable[str],
    enabled: bool = True,
    allow_private_target: bool = False,
    owner: User | None = None,
    segment=None,
) -> tuple[WebhookSubscription, str]:
    """A new subscription and its secret (shown to the user this once). With ``segment``:
    only events about the segment's members."""
    _check_actor(actor)
    _check_segment(actor, segment)
    owner = owner or actor
    if owner != actor and not actor.is_admin:
        raise PermissionDenied
    if allow_private_target and not actor.is_admin:
        raise PermissionDenied
    subscription = WebhookSubscription(
        owner=owner,
        name=name.strip(),
        target_url=target_url.strip(),
        events=_clean_events(events),
        enabled=enabled,
        allow_private_target=allow_private_target,
        segment=segment,
        secret=new_secret(),
    )
    subscription.full_clean(exclude=["target_url"])  # the guard judges the URL
    _check_target(subscription)
    with transaction.atomic():
        subscription.save()
    subscribers.changed()
    return subscription, subscription.secret


def subscription_update(
    *, actor: User, subscription: WebhookSubscription, **changes: Any
) -> WebhookSubscription:
    """Change name, URL, events, enabled and (administrators) the private-target permission.
    Enabling a disabled subscription starts its failure count afresh."""
    _check_actor(actor, subscription)
    allowed = {"name", "target_url", "events", "enabled", "allow_private_target", "segment"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError(_("Unknown fields: %s") % ", ".join(sorted(unknown)))
    if "allow_private_target" in changes and not actor.is_admin:
        if bool(changes["allow_private_target"]) != subscription.allow_private_target:
            raise PermissionDenied
    if "events" in changes:
        changes["events"] = _clean_events(changes["events"])
    if changes.get("segment") is not None and changes["segment"] != subscription.segment:
        _check_segment(actor, changes["segment"])
    for field in ("name", "target_url"):
        if field in changes:
            changes[field] = changes[field].strip()
    url_changed = "target_url" in changes and changes["target_url"] != subscription.target_url
    if url_changed and not actor.is_admin:
        changes["allow_private_target"] = False  # the administrator allowed the old URL only
    if changes.get("enabled") and not subscription.enabled:
        subscription.failure_streak = 0
        subscription.failing_since = None
        subscription.disabled_reason = ""
    recheck = url_changed or changes.get("allow_private_target") is False
    for field, value in changes.items():
        setattr(subscription, field, value)
    subscription.full_clean(exclude=["target_url"])  # the guard judges the URL
    if recheck:  # an unchanged URL was checked when it was saved (and resolves at send time)
        _check_target(subscription)
    with transaction.atomic():
        subscription.save()
    subscribers.changed()
    return subscription


def subscription_delete(*, actor: User, subscription: WebhookSubscription) -> None:
    """Delete the subscription with its delivery log."""
    _check_actor(actor, subscription)
    with transaction.atomic():
        subscription.delete()
    subscribers.changed()


def subscription_rotate_secret(*, actor: User, subscription: WebhookSubscription) -> str:
    """A new secret (returned, shown once). The old one signs beside it for a day."""
    _check_actor(actor, subscription)
    subscription.previous_secret = subscription.secret
    subscription.previous_secret_until = timezone.now() + timezone.timedelta(
        hours=ROTATION_GRACE_HOURS
    )
    subscription.secret = new_secret()
    subscription.save(
        update_fields=["secret", "previous_secret", "previous_secret_until", "updated_at"]
    )
    return subscription.secret


def new_webhook_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def message(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """The Standard Webhooks body: type, timestamp, data (JSON-safe)."""
    import json

    safe = json.loads(json.dumps(data, cls=DjangoJSONEncoder))
    return {"type": event_type, "timestamp": timezone.now().isoformat(), "data": safe}


def _enqueue(deliveries: list[WebhookDelivery]) -> None:
    for delivery in deliveries:
        deliver_webhook(delivery.pk)


# Where an event's record names its parties: an activity's or transaction's party, a deal's
# organisation and contact, a converted lead's organisation and person.
PARTY_COLUMNS = (
    "party_id",
    "organization_id",
    "contact_id",
    "converted_organization_id",
    "converted_person_id",
)


def event_parties(data: dict[str, Any]) -> set[int]:
    """The parties an event is about: the party itself, or those of the deal, activity,
    transaction or converted lead (none for a lead not converted, an import …)."""
    if data.get("object") == "party":
        return {data["id"]} if data.get("id") else set()
    return {data[c] for c in PARTY_COLUMNS if data.get(c)}


def _segment_members(segment_ids: set[int], events: list) -> dict[int, set[int]]:
    """Per segment, which of the events' parties are its members now (one query each)."""
    if not segment_ids:
        return {}
    from kreis.marketing.models import Segment
    from kreis.marketing.segments.queries import segment_parties

    parties = {p for _, data, _, _ in events for p in event_parties(data)}
    found = {}
    for segment in Segment.objects.filter(pk__in=segment_ids):
        found[segment.pk] = (
            set(segment_parties(segment).filter(pk__in=parties).values_list("pk", flat=True))
            if parties
            else set()
        )
    return {pk: found.get(pk, set()) for pk in segment_ids}


def segment_deleted(segment) -> int:
    """Disable the subscriptions limited to a segment being deleted (rather than let them
    widen to every record); returns how many."""
    return WebhookSubscription.objects.filter(segment=segment, enabled=True).update(
        enabled=False,
        disabled_reason=str(_("Its segment “%(name)s” was deleted.") % {"name": segment.name})[
            :300
        ],
    )


def deliveries_create_many(
    *, events: Iterable[tuple[str, dict[str, Any], str, int | None]]
) -> list[WebhookDelivery]:
    """One delivery per event and enabled subscription to it, queued for the job worker.

    ``events``: ``(event type, data, record model label, record id)``. Called once the change
    committed (``transaction.on_commit``); the HTTP requests happen in the worker."""
    events = list(events)
    maybe = {pk for event in events for pk in subscribers.subscription_ids(event[0])}
    if not maybe:
        return []
    # The kept map may be a few seconds old: ask the database which still want what.
    rows = WebhookSubscription.objects.filter(pk__in=maybe, enabled=True).values_list(
        "pk", "events", "segment_id"
    )
    wanting = [(pk, set(wanted or []), segment_id) for pk, wanted, segment_id in rows]
    members = _segment_members({s for _, _, s in wanting if s}, events)
    deliveries = [
        WebhookDelivery(
            subscription_id=pk,
            event_type=event_type,
            webhook_id=new_webhook_id(),
            payload=message(event_type, data),
            record_model=record_model,
            record_id=record_id,
        )
        for event_type, data, record_model, record_id in events
        for pk, wanted, segment_id in wanting
        if event_type in wanted
        and (segment_id is None or bool(event_parties(data) & members[segment_id]))
    ]
    if not deliveries:
        return []
    with transaction.atomic():
        created = WebhookDelivery.objects.bulk_create(deliveries, batch_size=500)
        if not all(d.pk for d in created):  # a database that returns no ids on bulk insert
            created = list(
                WebhookDelivery.objects.filter(webhook_id__in=[d.webhook_id for d in created])
            )
        transaction.on_commit(lambda: _enqueue(created))
    return created


def delivery_send_test(*, actor: User, subscription: WebhookSubscription) -> WebhookDelivery:
    """A ``webhook.test`` message to this subscription only, sent by the worker."""
    _check_actor(actor, subscription)
    delivery = WebhookDelivery.objects.create(
        subscription=subscription,
        event_type=TEST_EVENT,
        webhook_id=new_webhook_id(),
        payload=message(
            TEST_EVENT,
            {
                "subscription_id": subscription.pk,
                "message": "Test event from Kreis",
                "sent_by": actor.username,
            },
        ),
    )
    transaction.on_commit(lambda: _enqueue([delivery]))
    return delivery


def delivery_redeliver(*, actor: User, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery again as a new entry of the log, with the same ``webhook-id`` (so a
    receiver that did process it can tell) and the same payload."""
    _check_actor(actor, delivery.subscription)
    if not delivery.subscription.enabled:
        raise ValidationError(_("The subscription is disabled; enable it first."))
    again = WebhookDelivery.objects.create(
        subscription=delivery.subscription,
        event_type=delivery.event_type,
        webhook_id=delivery.webhook_id,
        payload=delivery.payload,
        record_model=delivery.record_model,
        record_id=delivery.record_id,
        status=DeliveryStatus.PENDING,
    )
    transaction.on_commit(lambda: _enqueue([again]))
    return again


def delivery_for_rule(
    *, subscription: WebhookSubscription, event_type: str, data: dict[str, Any]
) -> WebhookDelivery:
    """An automation rule's "call a webhook" action: one delivery to this subscription,
    signed, sent, retried and logged like every other (``deliver_webhook``)."""
    if not subscription.enabled:
        raise ValidationError(_("The subscription is disabled; enable it first."))
    delivery = WebhookDelivery.objects.create(
        subscription=subscription,
        event_type=event_type,
        webhook_id=new_webhook_id(),
        payload=message(event_type, data),
    )
    transaction.on_commit(lambda: _enqueue([delivery]))
    return delivery
