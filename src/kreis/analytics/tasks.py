"""Background jobs of the analytics: the nightly run and runs started by hand."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from kreis.analytics.runs import pipeline
from kreis.analytics.runs.models import AnalyticsRun


@db_periodic_task(crontab(hour="2", minute="30"))
def nightly_analytics() -> int:
    """Every night: incremental warehouse refresh and every figure recomputed."""
    return pipeline.run().pk


@db_task()
def run_analytics(run_id: int, full: bool = False) -> int:
    record = AnalyticsRun.objects.get(pk=run_id)
    pipeline.run(as_of=record.as_of, full=full, record=record, user=record.started_by)
    return run_id
