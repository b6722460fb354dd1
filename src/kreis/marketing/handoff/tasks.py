"""The handoff's SLA job (Huey): imported by the marketing app's ``ready()``."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from kreis.marketing.handoff.services import check_sla


@db_periodic_task(crontab(minute="*/5"))
@lock_task("marketing-handoff-sla")
def check_handoff_sla() -> dict[str, int]:
    """Every five minutes: remind, escalate and recycle the open handoffs whose time has come.
    The lock spares a second worker the walk; the conditional updates alone already keep two
    runs from acting twice."""
    return check_sla().as_dict()
