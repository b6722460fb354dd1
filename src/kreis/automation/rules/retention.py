"""How long the rule run log is kept.

Every evaluation of a rule for a record is one ``RuleRun`` with its conditions, actions and
event: a CRM with a few busy rules writes many thousands a day. Runs older than
``KREIS_RULE_RUN_LOG_DAYS`` (default 90) are deleted by the nightly ``rule_run_log_purge`` job
or ``kreis automation rules purge``. A run waiting for its next retry is never deleted: the
retry still needs it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from kreis.automation.rules.models import RuleRun, RunStatus


def runs_purge(*, days: int | None = None, now: datetime | None = None) -> int:
    """Delete finished runs started more than ``days`` (default the setting) ago; returns how
    many. One ``DELETE`` (no signals, nothing refers to a run)."""
    days = settings.KREIS_RULE_RUN_LOG_DAYS if days is None else days
    if days < 1:
        raise ValueError("days must be at least 1")
    cutoff = (now or timezone.now()) - timedelta(days=days)
    deleted, _by_model = (
        RuleRun.objects.filter(started_at__lt=cutoff).exclude(status=RunStatus.RETRYING).delete()
    )
    return deleted
