"""Background jobs of the webhooks (Huey): send one delivery, the sweep for due retries, and
the nightly purge of the delivery log."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from kreis.automation import dispatch, retention


@db_task()
def deliver_webhook(delivery_id: int) -> None:
    """Send the delivery; on failure schedule the next try with its back-off delay."""
    delay = dispatch.attempt(delivery_id)
    if delay is not None:
        deliver_webhook.schedule(args=(delivery_id,), delay=delay)


@db_periodic_task(crontab(minute="*"))
def webhook_sweep() -> int:
    """Every minute: send what is due but was not sent (a schedule lost with a restarted
    Redis or a worker killed mid-attempt). The claim keeps a delivery from going out twice."""
    due = dispatch.due_ids()
    for delivery_id in due:
        deliver_webhook(delivery_id)
    return len(due)


@db_periodic_task(crontab(hour="3", minute="40"))
def webhook_log_purge() -> int:
    """Nightly: delete finished deliveries older than ``KREIS_WEBHOOK_LOG_DAYS`` (the log would
    otherwise grow by one row per event and subscription for ever)."""
    return retention.deliveries_purge()
