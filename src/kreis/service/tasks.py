"""Background jobs of the complaint management (Huey)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from kreis.service.mailbox import poll_active_mailboxes


@db_periodic_task(crontab(minute="*/5"))
@lock_task("service-poll-mailboxes")
def poll_complaint_mailboxes() -> dict[str, int]:
    """Every five minutes: take the new mail of every active complaint mailbox (a case per
    new mail, a message for a reply). The lock keeps a slow poll and the next from running
    side by side (each would skip what the other took, but needlessly fetch it)."""
    result = poll_active_mailboxes()
    return {
        "created": result.created,
        "added": result.added,
        "skipped": result.skipped,
        "errors": result.errors,
    }
