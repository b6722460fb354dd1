"""Background jobs of mailings (Huey): the sending jobs of a mailing, and a watchdog that
takes over a mailing whose jobs stopped (a worker killed) and reads results back."""

from __future__ import annotations

import datetime as dt

from django.db.models import Max
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from kreis.mailings import results, sending
from kreis.mailings.models import Mailing, MailingState, Recipient, RecipientState


@db_task()
def send_mailing(mailing_id: int, share: int = 1) -> dict[str, int | str]:
    """One of the mailing's sending jobs (``share`` of them run side by side)."""
    result = sending.run(mailing_id, share=share)
    return {"sent": result.sent, "skipped": result.skipped, "stopped": result.stopped}


def enqueue_send(mailing_id: int) -> None:
    """Start the mailing's ``MAILING_WORKERS`` jobs (each sends its share of the rate)."""
    share = sending.workers()
    for _number in range(share):
        send_mailing(mailing_id, share)


@db_periodic_task(crontab(minute="*"))
@lock_task("mailings-watchdog")
def mailings_watchdog() -> dict[str, int]:
    """Every minute: in each sending mailing, claims of stopped workers are recovered
    (``sending.recover_stale``); a mailing with queued recipients and no live claim gets
    its jobs again. Results of mailings of the last 30 days are read back."""
    restarted = 0
    for mailing_id in Mailing.objects.filter(state=MailingState.SENDING).values_list(
        "pk", flat=True
    ):
        sending.recover_stale(mailing_id)
        rows = Recipient.objects.filter(mailing_id=mailing_id)
        if rows.filter(state=RecipientState.CLAIMED).exists():
            continue
        # A live job claims a batch every few seconds; none for a lease means none is left.
        last = rows.aggregate(last=Max("claimed_at"))["last"]
        if last is not None and last > timezone.now() - dt.timedelta(seconds=sending.claim_lease()):
            continue
        if rows.filter(state=RecipientState.QUEUED).exists():
            enqueue_send(mailing_id)
            restarted += 1
        else:
            sending.finish_if_done(mailing_id)
    return {"restarted": restarted}


@db_periodic_task(crontab(minute="*/10"))
@lock_task("mailings-results")
def mailings_results() -> int:
    """Every ten minutes: bounces, replies and unsubscribes of recent mailings."""
    since = timezone.now() - dt.timedelta(days=30)
    count = 0
    for mailing in Mailing.objects.filter(started_at__gte=since):
        results.refresh(mailing)
        count += 1
    return count
