"""The consent job (Huey): imported by the marketing app's ``ready()``."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from kreis.marketing.consent.services import expire_pending


@db_periodic_task(crontab(minute="17"))
@lock_task("marketing-consent-expire")
def expire_pending_consents() -> int:
    """Hourly: pending double opt-ins whose confirmation link ran out become "expired" (with
    an event); the conditional update keeps two runs from expiring one twice."""
    return expire_pending()
