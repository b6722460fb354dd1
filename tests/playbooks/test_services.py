"""Playbooks: enrolment from phase changes, hold-out, steps, exits, measurement."""

from datetime import timedelta

import pytest
from django.utils import timezone

from kreis.activities.models import Activity, ActivityKind
from kreis.analytics.customer.models import PhaseChange
from kreis.analytics.customer.services import phase_override_set
from kreis.analytics.signals import phase_changed
from kreis.commerce.models import Transaction, TransactionKind
from kreis.parties.models import LifecyclePhase
from kreis.playbooks import services
from kreis.playbooks.models import Enrollment, EnrollmentStatus, ExitReason, Playbook
from tests.parties.factories import OrganizationFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_defaults_ship_with_three_playbooks_in_german_and_english(db):
    services.ensure_defaults()
    assert services.ensure_defaults() == 0
    keys = set(Playbook.objects.values_list("key", flat=True))
    assert {"retention-endangerment", "winback-dissolution", "winback-abstinence"} <= keys
    retention = Playbook.objects.get(key="retention-endangerment")
    assert retention.entry_phases == ["endangerment"]
    steps = list(retention.steps.order_by("position"))
    assert [s.action for s in steps] == ["task", "call", "offer"]
    assert steps[0].due_days == 2
    assert steps[0].delay_days == 0
    assert all(s.title_de and s.title_en and s.title_de != s.title_en for s in steps)


def test_manual_move_into_endangerment_creates_the_owners_task(retention, alice):
    party = OrganizationFactory(owner=alice, team=None)
    phase_override_set(actor=alice, party=party, phase=LifecyclePhase.ENDANGERMENT, note="x")
    enrollment = Enrollment.objects.get(playbook=retention, party=party)
    assert enrollment.status == EnrollmentStatus.ACTIVE
    assert enrollment.current_step == 1
    assert enrollment.phase_change.to_phase == "endangerment"
    task = Activity.objects.get(party=party, kind=ActivityKind.TASK)
    assert task.owner == alice
    assert task.done_at is None
    due = task.occurred_at - timezone.now()
    assert timedelta(days=1, hours=23) < due <= timedelta(days=2)
    assert enrollment.runs.get().activity == task


def test_nightly_run_signal_enrols_set_based_once(retention, alice):
    parties = [OrganizationFactory(owner=alice) for _ in range(30)]
    today = timezone.localdate()
    changes = PhaseChange.objects.bulk_create(
        PhaseChange(party=p, date=today, from_phase="maturity", to_phase="endangerment")
        for p in parties
    )
    phase_changed.send(sender=PhaseChange, changes=changes, run=None)
    assert Enrollment.objects.filter(playbook=retention).count() == 30
    assert Activity.objects.filter(kind=ActivityKind.TASK).count() == 30
    # A second signal for the same parties does not enrol them twice.
    phase_changed.send(sender=PhaseChange, changes=changes, run=None)
    assert Enrollment.objects.filter(playbook=retention).count() == 30
    assert Activity.objects.filter(kind=ActivityKind.TASK).count() == 30


def test_holdout_is_deterministic_and_about_the_share(db):
    services.ensure_defaults()
    playbook = Playbook.objects.get(key="retention-endangerment")
    flags = [services.is_held_out(playbook, i) for i in range(20000)]
    assert flags == [services.is_held_out(playbook, i) for i in range(20000)]
    assert 0.09 < sum(flags) / len(flags) < 0.11
    playbook.holdout_percent = 0
    assert not any(services.is_held_out(playbook, i) for i in range(1000))


def test_held_out_parties_get_no_tasks(alice):
    services.ensure_defaults()
    playbook = Playbook.objects.get(key="retention-endangerment")
    playbook.holdout_percent = 50
    playbook.save()
    parties = [OrganizationFactory(owner=alice) for _ in range(40)]
    n = services.start_for_parties(playbook, [p.pk for p in parties], source="test")
    assert n == 40
    held = Enrollment.objects.filter(status=EnrollmentStatus.HELD_OUT)
    assert 0 < held.count() < 40
    assert not Activity.objects.filter(party_id__in=held.values("party_id")).exists()
    assert Activity.objects.count() == 40 - held.count()


def test_steps_advance_with_delays_and_complete(retention, alice):
    party = OrganizationFactory(owner=alice)
    assert services.start_for_parties(retention, [party.pk], source="test") == 1
    assert services.start_for_parties(retention, [party.pk], source="test") == 0
    enrollment = Enrollment.objects.get()
    assert services.advance_due() == 0  # the call waits three days
    later = timezone.now() + timedelta(days=3, minutes=1)
    assert services.advance_due(now=later) == 1
    enrollment.refresh_from_db()
    assert enrollment.current_step == 2
    assert services.advance_due(now=later + timedelta(days=7, minutes=1)) == 1
    enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.COMPLETED
    assert enrollment.finished_at is not None
    assert Activity.objects.filter(party=party).count() == 3
    # A finished enrollment makes room for a new one.
    assert services.start_for_parties(retention, [party.pk], source="test") == 1


def test_order_after_entry_exits(retention, alice):
    party = OrganizationFactory(owner=alice)
    services.start_for_parties(retention, [party.pk], source="test")
    assert sum(services.check_exits().values()) == 0
    Transaction.objects.create(kind=TransactionKind.ORDER, party=party, date=timezone.localdate())
    counts = services.check_exits()
    assert counts["ordered"] == 1
    enrollment = Enrollment.objects.get()
    assert enrollment.status == EnrollmentStatus.EXITED
    assert enrollment.exit_reason == ExitReason.ORDERED
    assert services.advance_due(now=timezone.now() + timedelta(days=30)) == 0


def test_stop_for_parties(retention, alice):
    parties = [OrganizationFactory(owner=alice) for _ in range(3)]
    services.start_for_parties(retention, [p.pk for p in parties], source="rule:1")
    assert services.stop_for_parties(retention, [parties[0].pk], reason="rule 7") == 1
    assert services.stop_for_parties(retention, [parties[0].pk], reason="rule 7") == 0
    stopped = Enrollment.objects.get(party=parties[0])
    assert stopped.status == EnrollmentStatus.EXITED
    assert stopped.exit_reason == ExitReason.RULE
    assert stopped.exit_note == "rule 7"
