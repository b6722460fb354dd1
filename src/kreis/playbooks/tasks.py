"""Background jobs of the playbooks (Huey): start the playbooks of a nightly run's phase
changes, and the sweep that checks exits and runs the steps that are due."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from kreis.playbooks import services

# Phase changes per job: a nightly run's 10,000 changes become a few jobs that two or more
# workers share.
JOB_SIZE = 2500


@db_task()
def start_from_changes(change_ids: list[int]) -> dict[str, int]:
    """Enrol the customers of these phase changes in the playbooks their new phase starts."""
    return services.start_from_changes(change_ids)


@db_periodic_task(crontab(minute="*/5"))
def playbook_sweep() -> dict:
    """Every five minutes: end enrollments whose exit condition holds, then run due steps."""
    exits = services.check_exits()
    return {"exits": exits, "steps": services.advance_due()}


def enqueue_changes(change_ids: list[int]) -> None:
    for start in range(0, len(change_ids), JOB_SIZE):
        start_from_changes(change_ids[start : start + JOB_SIZE])
