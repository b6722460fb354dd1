"""Background jobs of two-way e-mail (Huey)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from kreis.comms.models import MailAccount
from kreis.comms.sync import sync_account, sync_active_accounts


@db_periodic_task(crontab(minute="*/5"))
@lock_task("comms-sync-all")
def sync_mail_accounts() -> dict[str, int]:
    """Every five minutes: the new mail of every active account, both directions (the chosen
    folders and Sent). The lock keeps a slow sync and the next from running side by side."""
    result = sync_active_accounts()
    return {"stored": result.stored, "skipped": result.skipped, "errors": result.errors}


@db_task()
def sync_mail_account(account_id: int) -> dict[str, int]:
    """ "Sync now" for one account (the page shows its progress)."""
    account = MailAccount.objects.filter(pk=account_id).first()
    if account is None:
        return {"stored": 0, "skipped": 0, "errors": 0}
    result = sync_account(account)
    return {"stored": result.stored, "skipped": result.skipped, "errors": result.errors}
