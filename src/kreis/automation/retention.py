"""How long the webhook delivery log is kept.

Every event becomes one delivery row per subscription, with its payload: a busy CRM with a
few subscriptions writes hundreds of thousands a month. Rows that are finished (delivered,
failed for good, or not sent) are deleted once older than ``KREIS_WEBHOOK_LOG_DAYS`` (default
30) by the nightly ``webhook_log_purge`` job or ``kreis webhooks purge``. A pending delivery,
also one waiting for its next retry, is never deleted: it still has to go out.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from kreis.automation.models import DeliveryStatus, WebhookDelivery

FINISHED = (DeliveryStatus.SUCCEEDED, DeliveryStatus.FAILED, DeliveryStatus.SKIPPED)


def deliveries_purge(*, days: int | None = None, now: datetime | None = None) -> int:
    """Delete finished deliveries created more than ``days`` (default the setting) ago;
    returns how many. One ``DELETE`` (no signals, nothing refers to a delivery)."""
    days = settings.KREIS_WEBHOOK_LOG_DAYS if days is None else days
    if days < 1:
        raise ValueError("days must be at least 1")
    cutoff = (now or timezone.now()) - timedelta(days=days)
    deleted, _by_model = WebhookDelivery.objects.filter(
        status__in=FINISHED, created_at__lt=cutoff
    ).delete()
    return deleted
