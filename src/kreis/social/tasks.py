"""Polling the listening sources in the background (Huey; ``kreis worker`` runs it)."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task


@db_periodic_task(crontab(minute="*/5"))
def poll_social_sources() -> None:
    """Every five minutes: each active source whose own interval has passed."""
    from kreis.social.services import sources_poll_due

    sources_poll_due()
