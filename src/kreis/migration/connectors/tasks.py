"""Background jobs of the connectors: the hourly look for due connectors, and "Run now".

Order of the night (Huey runs its periodic tasks on UTC, ``HUEY["utc"]``; a connector's hour is
in the instance's time zone, ``KREIS_TIME_ZONE``):

- every hour at minute 0: ``run_due_connectors`` runs each connector whose hour has come and
  which has not run today, and imports its files to the end inside that job;
- 02:30 UTC: ``kreis.analytics.tasks.nightly_analytics`` refreshes the warehouse.

A connector at the default hour 2 (Europe/Berlin: 01:00 UTC in winter, 00:00 UTC in summer)
therefore has 90 to 150 minutes to finish before the analytics read yesterday's orders; an
hour after that, or an import running longer, lands in the next night's analytics. The
connector pages show the analytics time in local time beside the hour (``analytics_start``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from kreis.core.models import User
from kreis.core.worker import jobs_run_immediately, worker_status
from kreis.migration.connectors import services
from kreis.migration.models import Connector


@db_periodic_task(crontab(minute="0"))
def run_due_connectors() -> list[int]:
    """Every hour: run the connectors that are due (see ``services.connector_is_due``)."""
    return [connector.pk for connector, _result in services.connectors_run_due()]


@db_task()
def run_connector(connector_id: int, actor_id: int | None = None) -> int:
    """A run started by an administrator ("Run now", the API)."""
    connector = Connector.objects.select_related("run_as", "template").get(pk=connector_id)
    actor = User.objects.get(pk=actor_id) if actor_id is not None else None
    services.connector_run(connector=connector, actor=actor)
    return connector_id


def analytics_start(*, day: datetime | None = None) -> datetime | None:
    """When the nightly analytics start on this day (UTC schedule), as a local time: the
    first minute of the day its crontab accepts."""
    from kreis.analytics.tasks import nightly_analytics  # heavy (the warehouse); pages only

    day = timezone.now() if day is None else day
    midnight = day.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    schedule = nightly_analytics.task_class()
    for minute in range(24 * 60):
        moment = midnight + timedelta(minutes=minute)
        if schedule.validate_datetime(moment.replace(tzinfo=None)):
            return timezone.localtime(moment)
    return None


def connector_enqueue(*, actor: User, connector: Connector) -> None:
    """Queue a run now (administrators only). Refused when no worker would take it."""
    if not actor.is_admin:
        raise PermissionDenied
    if not jobs_run_immediately() and not worker_status().alive:
        raise ValidationError(
            _(
                "No job worker is running, so the run would only wait in the queue. "
                "`kreis serve` runs one (unless KREIS_EMBEDDED_WORKER=0); else start "
                "`kreis worker`."
            ),
            code="no_worker",
        )
    run_connector(connector.pk, actor.pk)  # nothing was written that it would have to wait for
