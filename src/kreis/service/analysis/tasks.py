"""The complaint reports' job (Huey), registered by ``kreis.service.apps``."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from kreis.service.analysis.reports import reports_send_due

log = logging.getLogger("kreis.service.reports")


# Every hour at :07 (the day's first run sends; the later ones retry what failed, and the
# claims make them send nothing twice): Mondays last week's report, the 1st last month's.
@db_periodic_task(crontab(minute="7"))
@lock_task("service-complaint-reports")
def send_complaint_reports() -> list[dict]:
    """Send the due weekly and monthly complaint reports to their subscribers."""
    results = reports_send_due()
    for result in results:
        if result.failed:
            log.error(
                "complaint report %s %s: %d sent, %d failed",
                result.frequency,
                result.period,
                result.sent,
                result.failed,
            )
    return [
        {
            "frequency": r.frequency,
            "start": r.period.start.isoformat(),
            "end": r.period.end.isoformat(),
            "sent": r.sent,
            "failed": r.failed,
        }
        for r in results
    ]
