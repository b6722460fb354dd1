"""The rule engine: triggers, conditions, actions, the run log, loops, retries, dry runs."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from kreis.activities.models import Activity, ActivityKind
from kreis.automation.rules import engine, services, sweeps
from kreis.automation.rules.models import Rule, RuleRun, RunStatus
from kreis.core.models import Notification
from kreis.sales.services import deal_move
from tests.parties.factories import OrganizationFactory
from tests.sales.factories import DealFactory, stage_named

pytestmark = pytest.mark.django_db(transaction=True)


def _rule(dana, **data):
    base = {
        "name": "Follow up",
        "trigger": "deal.stage_changed",
        "actions": [{"kind": "create_task", "subject": "Call {{ name }}", "days": 2}],
    }
    rule = services.rule_create(actor=dana, data=base | data)
    return services.rule_set_enabled(actor=dana, rule=rule, enabled=True)


def test_new_rules_start_disabled_and_only_admins_write(dana, alice):
    rule = services.rule_create(
        actor=dana,
        data={
            "name": "x",
            "trigger": "record.created",
            "record_type": "party",
            "actions": [{"kind": "add_tag", "tag": "vip"}],
            "enabled": True,
        },
    )
    assert rule.enabled is True  # asked for explicitly
    rule2 = services.rule_create(
        actor=dana,
        data={
            "name": "y",
            "trigger": "record.created",
            "record_type": "party",
            "actions": [{"kind": "add_tag", "tag": "vip"}],
        },
    )
    assert rule2.enabled is False
    with pytest.raises(PermissionDenied):
        services.rule_create(actor=alice, data={"name": "z"})


def test_stage_change_creates_task_and_logs_run(dana, alice, north):
    org = OrganizationFactory(name="Acme", owner=alice, team=north)
    deal = DealFactory(owner=alice, team=north, organization=org)
    won = stage_named("Proposal")
    rule = _rule(dana, trigger_config={"stage_id": won.pk})
    deal_move(
        actor=alice,
        deal=deal,
        stage=stage_named("Qualification") if deal.stage != stage_named("Qualification") else won,
    )
    if deal.stage_id != won.pk:
        deal_move(actor=alice, deal=deal, stage=won)
    task = Activity.objects.get(kind=ActivityKind.TASK, deal=deal)
    assert task.owner == alice
    assert task.subject == "Call Acme"
    assert timezone.localdate(task.occurred_at) == timezone.localdate() + dt.timedelta(days=2)
    run = RuleRun.objects.get(rule=rule, status=RunStatus.SUCCEEDED)
    assert run.record_type == "deal"
    assert run.record_id == deal.pk
    assert run.actions[0]["status"] == "done"


def test_conditions_decide_and_are_logged(dana, alice, north):
    deal = DealFactory(owner=alice, team=north, amount=500)
    _rule(dana, conditions=[{"kind": "field", "field": "amount", "op": "gt", "value": "1000"}])
    deal_move(actor=alice, deal=deal, stage=stage_named("Proposal"))
    run = RuleRun.objects.get()
    assert run.status == RunStatus.NOT_MET
    assert run.conditions == [{"text": "amount is greater than “1000”", "passed": False}]
    assert not Activity.objects.filter(deal=deal).exists()


def test_dry_run_changes_nothing(dana, alice, north):
    deal = DealFactory(owner=alice, team=north)
    rule = services.rule_create(
        actor=dana,
        data={
            "name": "t",
            "trigger": "deal.stage_changed",
            "conditions": [{"kind": "owner", "user_id": alice.pk}],
            "actions": [
                {"kind": "create_task", "subject": "Call", "days": 1},
                {"kind": "set_field", "field": "source", "value": "automation"},
            ],
        },
    )
    outcome = services.rule_try(actor=dana, rule=rule, record_type="deal", record_id=deal.pk)
    assert outcome.passed
    assert [a["status"] for a in outcome.actions] == ["done", "done"]
    assert "Would create the task" in outcome.actions[0]["result"]
    deal.refresh_from_db()
    assert deal.source != "automation"
    assert not Activity.objects.exists()
    assert not RuleRun.objects.exists()


def test_loop_is_stopped(dana, alice, north):
    """A rule that changes the record it fires on would fire for ever: the second time in
    the same chain it is stopped and logged."""
    deal = DealFactory(owner=alice, team=north)
    rule = services.rule_create(
        actor=dana,
        data={
            "name": "loop",
            "trigger": "record.updated",
            "record_type": "deal",
            "actions": [{"kind": "set_field", "field": "lost_note", "value": "again"}],
        },
    )
    services.rule_set_enabled(actor=dana, rule=rule, enabled=True)
    deal.name = "Changed"
    deal.save()
    statuses = list(RuleRun.objects.order_by("depth").values_list("status", flat=True))
    assert statuses == [RunStatus.SUCCEEDED, RunStatus.STOPPED]
    first, second = RuleRun.objects.order_by("depth")
    assert first.chain_id == second.chain_id
    assert second.depth == 1


def test_failing_action_retries_then_alerts_admins(dana, alice, north, monkeypatch):
    deal = DealFactory(owner=alice, team=north)
    rule = _rule(
        dana, actions=[{"kind": "notify", "message": "Hi"}, {"kind": "create_task", "subject": "x"}]
    )
    calls = {"n": 0}
    real = engine.run_action

    def flaky(action, *args, **kwargs):
        if action["kind"] == "create_task":
            calls["n"] += 1
            raise RuntimeError("activities down")
        return real(action, *args, **kwargs)

    monkeypatch.setattr(engine, "run_action", flaky)
    deal_move(actor=alice, deal=deal, stage=stage_named("Proposal"))  # the save succeeds
    run = RuleRun.objects.get(rule=rule)
    assert run.status == RunStatus.RETRYING
    assert run.actions[0]["status"] == "done"
    assert run.actions[1]["error"] == "activities down"
    for _ in range(engine.MAX_ATTEMPTS - 1):
        engine.retry(run.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert run.attempts == engine.MAX_ATTEMPTS
    assert calls["n"] == engine.MAX_ATTEMPTS
    assert Notification.objects.filter(user=dana, title__contains="Follow up").exists()
    assert Notification.objects.filter(user=alice, title="Hi").count() == 1  # not repeated


def test_no_order_fires_once_per_occasion(dana, alice, north):
    from kreis.commerce.models import Transaction

    party = OrganizationFactory(owner=alice, team=north)
    Transaction.objects.create(
        kind="order",
        party=party,
        date=timezone.localdate() - dt.timedelta(days=100),
        owner=alice,
        team=north,
    )
    rule = _rule(
        dana,
        trigger="date.no_order",
        trigger_config={"days": 90},
        actions=[{"kind": "create_task", "subject": "Win back", "days": 0}],
    )
    assert sweeps.sweep_daily() == 1
    assert sweeps.sweep_daily() == 0
    assert Activity.objects.filter(party=party, subject="Win back").count() == 1
    assert RuleRun.objects.filter(rule=rule).count() == 1


def test_import_is_all_or_nothing_with_specific_errors(dana):
    good = {
        "name": "ok",
        "trigger": "record.created",
        "record_type": "lead",
        "actions": [{"kind": "add_tag", "tag": "new"}],
    }
    bad = {
        "name": "bad",
        "trigger": "record.created",
        "record_type": "lead",
        "conditions": [{"kind": "field", "field": "nope", "op": "eq", "value": "1"}],
        "actions": [{"kind": "add_to_segment", "segment_id": 999}],
    }
    with pytest.raises(ValidationError) as exc:
        services.rules_import(
            actor=dana, raw={"format": "kreis.automation.rules", "version": 1, "rules": [good, bad]}
        )
    text = " ".join(exc.value.messages)
    assert "Rule 2 (“bad”)" in text
    assert "conditions[0].field" in text
    assert "actions[0].segment_id" in text
    assert not Rule.objects.exists()
    created = services.rules_import(actor=dana, raw=services.export_rules([]) | {"rules": [good]})
    assert [r.name for r in created] == ["ok"]
    assert not created[0].enabled


def test_a_save_queues_its_events_together_and_a_rolled_back_savepoint_none(
    dana, alice, north, monkeypatch
):
    from django.db import transaction

    from kreis.automation.rules import capture
    from kreis.parties import services as parties

    moved = _rule(dana)
    changed = _rule(dana, name="Changed", trigger="record.updated", record_type="deal")
    created = _rule(
        dana,
        name="New",
        trigger="record.created",
        record_type="party",
        actions=[{"kind": "add_tag", "tag": "new"}],
    )
    deal = DealFactory(owner=alice, team=north)
    jobs = []
    evaluate = capture.evaluate_later
    monkeypatch.setattr(
        capture, "evaluate_later", lambda events: jobs.append(events) or evaluate(events)
    )
    deal_move(actor=alice, deal=deal, stage=stage_named("Proposal"))
    # The deal's save and its stage change: one job, both rules run.
    assert [sorted(e["trigger"] for e in job) for job in jobs] == [
        ["deal.stage_changed", "record.updated"]
    ]
    assert RuleRun.objects.filter(rule__in=[moved, changed], record_id=deal.pk).count() == 2
    with transaction.atomic():
        kept = parties.party_create(actor=alice, kind="organization", name="Kept", team=north)
        try:
            with transaction.atomic():
                parties.party_create(actor=alice, kind="organization", name="Gone", team=north)
                raise RuntimeError
        except RuntimeError:
            pass
    assert list(RuleRun.objects.filter(rule=created).values_list("record_id", flat=True)) == [
        kept.pk
    ]
    assert kept.tags.filter(name="new").exists()


def test_rule_starts_a_playbook_whose_bulk_created_task_triggers_another_rule(dana, alice, north):
    from kreis.playbooks import services as playbooks
    from kreis.playbooks.models import Enrollment, Playbook

    playbooks.ensure_defaults()
    retention = Playbook.objects.get(key="retention-endangerment")
    retention.holdout_percent = 0
    retention.save()
    first = retention.steps.order_by("position", "pk").first()
    if first.delay_days:
        first.delay_days = 0
        first.save()
    _rule(
        dana,
        name="Keep new customers",
        trigger="record.created",
        record_type="party",
        actions=[{"kind": "start_playbook", "playbook_id": retention.pk}],
    )
    told = _rule(
        dana,
        name="Tell Dana about tasks",
        trigger="record.created",
        record_type="activity",
        actions=[{"kind": "notify", "user_id": dana.pk, "message": "New task {{ subject }}"}],
    )
    party = OrganizationFactory(name="Fresh GmbH", owner=alice, team=north)
    assert Enrollment.objects.filter(playbook=retention, party=party).exists()
    task = Activity.objects.get(party=party, kind=ActivityKind.TASK)
    # The playbook writes its tasks in bulk (no post_save); the rule sees them all the same.
    run = RuleRun.objects.get(rule=told)
    assert run.record_type == "activity"
    assert run.record_id == task.pk
    assert Notification.objects.filter(user=dana).exists()
