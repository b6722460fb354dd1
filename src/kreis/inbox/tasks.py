"""The inbox's background job (Huey; ``kreis worker`` runs it)."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task


@db_periodic_task(crontab(minute="*"))
def wake_snoozed_items() -> None:
    """Every minute: snoozed items whose time has come are open again."""
    from kreis.inbox.services import snoozed_wake

    snoozed_wake()
