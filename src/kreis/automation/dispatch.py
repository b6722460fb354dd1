"""Sending a delivery: claim it, check who may see it, sign, post, and decide what next.

Retries back off exponentially (``RETRY_DELAYS``: 1 min, 5 min, 30 min, 2 h, 8 h, 24 h); after
the last one the delivery has failed for good. Each failed attempt lengthens the
subscription's failure streak, each success ends it; a subscription failing
``KREIS_WEBHOOK_DISABLE_AFTER`` attempts in a row over at least
``KREIS_WEBHOOK_DISABLE_AFTER_HOURS`` hours is disabled and its owner notified.

A delivery is claimed with a conditional UPDATE (pending, due, not held by another worker), so
the scheduled retry and the sweep that catches lost schedules never send it twice at once.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from types import SimpleNamespace

from django.apps import apps
from django.conf import settings
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from kreis.automation import sending, subscribers
from kreis.automation.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from kreis.core.models import Notification

log = logging.getLogger("kreis.webhooks")

RETRY_DELAYS = (60, 5 * 60, 30 * 60, 2 * 3600, 8 * 3600, 24 * 3600)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
CLAIM_SECONDS = 120


def _claim(delivery_id: int, now: datetime) -> bool:
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    return bool(
        WebhookDelivery.objects.filter(
            due & free, pk=delivery_id, status=DeliveryStatus.PENDING
        ).update(claimed_until=now + timedelta(seconds=CLAIM_SECONDS))
    )


def _record_visible(delivery: WebhookDelivery, owner) -> bool:
    """The owner may see the record the event is about (checked now, not when it happened).
    A record gone from the database is judged by the owner and team it had."""
    if not delivery.record_model:
        return True
    if not owner.is_active:
        return False
    model = apps.get_model(delivery.record_model)
    names = [f.attname for f in model._meta.concrete_fields]
    owner_field = "owner_id" if "owner_id" in names else "created_by_id"
    fields = [f for f in (owner_field, "team_id") if f in names]
    row = model._base_manager.filter(pk=delivery.record_id).values(*fields).first()
    if row is None:  # deleted for good: the owner and team in the event's snapshot
        data = delivery.payload.get("data", {})
        row = data.get("deal") or data.get("party") or data
    record = SimpleNamespace(owner_id=row.get(owner_field), team_id=row.get("team_id"))
    return owner.has_perm("core.view_record", record)


def _secrets(subscription: WebhookSubscription, now: datetime) -> list[str]:
    found = [subscription.secret]
    if subscription.previous_secret and (subscription.previous_secret_until or now) > now:
        found.append(subscription.previous_secret)
    return found


def attempt(delivery_id: int, *, now: datetime | None = None) -> int | None:
    """Try to send the delivery once. Returns the seconds until the next try, or None when
    there is none (delivered, given up, skipped, or another worker has it)."""
    now = now or timezone.now()
    if not _claim(delivery_id, now):
        return None
    delivery = WebhookDelivery.objects.select_related("subscription__owner").get(pk=delivery_id)
    subscription = delivery.subscription
    if not subscription.enabled:
        _finish(delivery, DeliveryStatus.FAILED, error=_("The subscription is disabled."))
        return None
    if not _record_visible(delivery, subscription.owner):
        _finish(
            delivery,
            DeliveryStatus.SKIPPED,
            error=_("The subscription's owner may not see this record."),
        )
        return None
    body = json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":")).encode()
    headers = sending.signature_headers(
        secrets=_secrets(subscription, now),
        webhook_id=delivery.webhook_id,
        timestamp=now,
        body=body,
    )
    outcome = sending.post(
        url=subscription.target_url,
        allow_private=subscription.allow_private_target,
        body=body,
        headers=headers,
    )
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.response_code = outcome.status
    delivery.response_excerpt = outcome.excerpt
    delivery.error = outcome.error[:300]
    if outcome.ok:
        delivery.delivered_at = now
        _finish(delivery, DeliveryStatus.SUCCEEDED)
        WebhookSubscription.objects.filter(pk=subscription.pk).update(
            failure_streak=0, failing_since=None
        )
        return None
    if not delivery.error:
        delivery.error = _("The receiver answered %(status)s.") % {"status": outcome.status}
    _failed_once(subscription, now)
    if delivery.attempts >= MAX_ATTEMPTS:
        _finish(delivery, DeliveryStatus.FAILED)
        return None
    delay = RETRY_DELAYS[delivery.attempts - 1]
    delivery.next_attempt_at = now + timedelta(seconds=delay)
    _finish(delivery, DeliveryStatus.PENDING)
    return delay


def _finish(delivery: WebhookDelivery, status: str, *, error: str = "") -> None:
    delivery.status = status
    delivery.claimed_until = None
    if error:
        delivery.error = error
    if status != DeliveryStatus.PENDING:
        delivery.next_attempt_at = None
    delivery.save(
        update_fields=[
            "status",
            "attempts",
            "last_attempt_at",
            "response_code",
            "response_excerpt",
            "error",
            "next_attempt_at",
            "claimed_until",
            "delivered_at",
        ]
    )


def _failed_once(subscription: WebhookSubscription, now: datetime) -> None:
    WebhookSubscription.objects.filter(pk=subscription.pk).update(
        failure_streak=F("failure_streak") + 1
    )
    WebhookSubscription.objects.filter(pk=subscription.pk, failing_since__isnull=True).update(
        failing_since=now
    )
    subscription.refresh_from_db(fields=["failure_streak", "failing_since", "enabled"])
    limit = settings.KREIS_WEBHOOK_DISABLE_AFTER
    span = timedelta(hours=settings.KREIS_WEBHOOK_DISABLE_AFTER_HOURS)
    if subscription.failure_streak < limit or subscription.failing_since > now - span:
        return
    owner = subscription.owner
    with translation.override(owner.language or settings.LANGUAGE_CODE):
        reason = _("Disabled after %(count)s failed attempts in a row since %(since)s.") % {
            "count": subscription.failure_streak,
            "since": subscription.failing_since.strftime("%Y-%m-%d %H:%M UTC"),
        }
        title = _("Webhook “%(name)s” disabled") % {"name": subscription.name}
    # Only the attempt that flips it notifies: the UPDATE finds it enabled once.
    flipped = WebhookSubscription.objects.filter(pk=subscription.pk, enabled=True).update(
        enabled=False, disabled_reason=reason[:300]
    )
    if flipped:
        subscribers.changed()
        Notification.objects.create(
            user=owner,
            level=Notification.Level.WARNING,
            title=title[:200],
            body=reason,
            url=reverse("automation:webhook_detail", args=[subscription.pk]),
        )
        log.warning("webhook subscription %s disabled: %s", subscription.pk, reason)


def due_ids(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Pending deliveries whose time has come and that no worker holds: the sweep's work."""
    now = now or timezone.now()
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    return list(
        WebhookDelivery.objects.filter(due & free, status=DeliveryStatus.PENDING)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
