"""Background jobs of website tracking (Huey): the nightly purge."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from kreis.marketing.tracking import services


@db_periodic_task(crontab(hour="3", minute="20"))
@lock_task("marketing-tracking-purge")
def purge_visits() -> dict[str, int]:
    """Nightly: page visits older than the retention period (``visit_retention_days``)."""
    return services.visits_purge()
