"""Background jobs of activities (Huey)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from kreis.activities.services import activity_send_reminders


@db_periodic_task(crontab(minute="*"))
def send_reminders() -> int:
    """Every minute: notify assignees of tasks whose reminder time has come."""
    return activity_send_reminders()
