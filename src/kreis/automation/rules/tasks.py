"""Jobs of the automation rules (Huey): evaluate queued events, retry failed actions, and the
sweeps for date-based, SLA and score triggers. With Redis (``REDIS_URL``) the queue is shared,
so more workers (``kreis worker``) evaluate more events at once."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from kreis.automation.rules import capture, engine, retention, sweeps


@db_task()
def rules_evaluate(events: list[dict]) -> int:
    return engine.process(events)


@db_task()
def rule_run_retry(run_id: int) -> None:
    delay = engine.retry(run_id)
    if delay is not None:
        rule_run_retry.schedule(args=(run_id,), delay=delay)


@db_periodic_task(crontab(hour="5", minute="15"))
def rules_daily() -> int:
    """Daily: "no order for N days" and "contract ends in N days"."""
    return sweeps.sweep_daily()


@db_periodic_task(crontab(minute="*/5"))
def rules_frequent() -> int:
    """Every five minutes: SLA breaches and score crossings."""
    return sweeps.sweep_frequent()


@db_periodic_task(crontab(hour="3", minute="50"))
def rule_run_log_purge() -> int:
    """Nightly: delete rule runs older than ``KREIS_RULE_RUN_LOG_DAYS`` (the log would otherwise
    grow by one row per evaluation for ever)."""
    return retention.runs_purge()


# The hooks through which the engine and the event capture queue jobs without importing this
# module (which imports them).
capture.evaluate_later = rules_evaluate
engine.schedule_retry = lambda run_id, delay: rule_run_retry.schedule(args=(run_id,), delay=delay)
