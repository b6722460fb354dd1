"""Backup jobs: "Back up now" (web UI, API) and the nightly backup at KREIS_BACKUP_HOUR:15
UTC (before the connectors' usual hours are over and the 02:30 analytics; "off" turns it off)."""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from huey.contrib.djhuey import db_periodic_task, db_task

from kreis.core.models import User
from kreis.migration.backups import services
from kreis.migration.models import Backup

logger = logging.getLogger(__name__)


def nightly_due(moment: datetime) -> bool:
    """Huey's schedule test (UTC minutes): the setting is read each time, so a changed
    KREIS_BACKUP_HOUR applies at the worker's next start without code changes."""
    hour = settings.KREIS_BACKUP_HOUR
    return hour != "off" and moment.hour == int(hour) and moment.minute == 15


@db_periodic_task(nightly_due)
def nightly_backup() -> int | None:
    try:
        backup = services.backup_begin(actor=None, scheduled=True)
    except ValidationError as exc:  # one is running already (started by hand)
        logger.warning("nightly backup skipped: %s", " ".join(exc.messages))
        return None
    return services.backup_run(backup.pk).pk


@db_task()
def write_backup(backup_id: int) -> int:
    return services.backup_run(backup_id).pk


def backup_enqueue(*, actor: User) -> Backup:
    """Start a backup now: its list entry at once, the archive written by the job worker."""
    backup = services.backup_begin(actor=actor)
    write_backup(backup.pk)  # the entry is committed: the worker finds it
    return backup
