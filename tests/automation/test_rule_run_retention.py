"""The rule run log is kept ``KREIS_RULE_RUN_LOG_DAYS``: runs older than that are deleted by the
nightly job and ``kreis automation rules purge``; a run waiting for its retry stays, however
old."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from django.utils import timezone

from kreis.automation.rules import services, tasks
from kreis.automation.rules.models import RuleRun, RunStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def log(dana):
    """Runs of each status, 120 and 5 days old, by name ``<status>-<age>``."""
    rule = services.rule_create(
        actor=dana,
        data={
            "name": "Tag new parties",
            "trigger": "record.created",
            "record_type": "party",
            "actions": [{"kind": "add_tag", "tag": "new"}],
        },
    )
    now = timezone.now()
    made = {}
    for status in RunStatus.values:
        for age in (120, 5):
            run = RuleRun.objects.create(
                rule=rule,
                trigger=rule.trigger,
                record_type="party",
                record_id=1,
                status=status,
                chain_id=f"c{status}{age}",
                started_at=now - timedelta(days=age),
            )
            made[f"{status}-{age}"] = run.pk
    return made


def left(log) -> set[str]:
    kept = set(RuleRun.objects.values_list("pk", flat=True))
    return {name for name, pk in log.items() if pk in kept}


def test_the_nightly_job_deletes_old_runs_but_not_those_waiting_for_a_retry(log):
    assert tasks.rule_run_log_purge.call_local() == len(RunStatus.values) - 1
    young = {f"{status}-5" for status in RunStatus.values}
    assert left(log) == young | {"retrying-120"}


@override_settings(KREIS_RULE_RUN_LOG_DAYS=150)
def test_the_retention_follows_the_setting(log):
    assert tasks.rule_run_log_purge.call_local() == 0
    assert len(left(log)) == 2 * len(RunStatus.values)


def test_the_command_purges_with_its_own_retention(log, capsys):
    call_command("automation", "rules", "purge", "--days", "3")
    assert f"deleted {2 * (len(RunStatus.values) - 1)} rule runs" in capsys.readouterr().out
    assert left(log) == {"retrying-120", "retrying-5"}


def test_the_command_refuses_a_retention_below_one_day(log):
    with pytest.raises(CommandError, match="at least 1"):
        call_command("automation", "rules", "purge", "--days", "0")
    assert len(left(log)) == 2 * len(RunStatus.values)
