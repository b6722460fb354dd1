"""Background jobs of content offers (Huey): the automatic follow-ups."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from kreis.marketing.offers import followups


def _summary(items) -> dict[str, int]:
    return {
        "due": len(items),
        "sent": sum(1 for i in items if i.sent),
        "refused": sum(1 for i in items if i.refused),
    }


@db_periodic_task(crontab(minute="*/15"))
@lock_task("marketing-offers-follow-ups")
def send_follow_ups() -> dict[str, int]:
    """Every 15 minutes: the follow-up offers the rules say are due (score or visits)."""
    return _summary(followups.run())


@db_task()
def follow_up_lead(lead_id: int) -> dict[str, int]:
    """Right after an identified visitor's page visits: the follow-ups of that lead."""
    return _summary(followups.run(lead_ids=[lead_id]))
