"""Lifecycle phases set by hand (UI, API): kept by the runs until the override is lifted."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from kreis.analytics.customer.models import PhaseChange
from kreis.analytics.signals import phase_changed
from kreis.parties.models import LifecyclePhase, Party


def phase_override_set(*, actor, party: Party, phase: str, note: str) -> PhaseChange:
    """Set the lifecycle phase by hand: the runs keep it until the override is lifted."""
    if phase not in LifecyclePhase.values:
        raise ValueError(phase)
    today = timezone.localdate()
    with transaction.atomic():
        party = Party.objects.select_for_update().get(pk=party.pk)
        change = PhaseChange.objects.create(
            party=party,
            date=today,
            from_phase=party.lifecycle_phase or "",
            to_phase=phase,
            manual=True,
            changed_by=actor,
            note=note[:300],
        )
        party.lifecycle_phase = phase
        party.lifecycle_override = True
        party.lifecycle_note = note[: Party._meta.get_field("lifecycle_note").max_length or 300]
        party.lifecycle_since = today
        party.save(
            update_fields=[
                "lifecycle_phase",
                "lifecycle_override",
                "lifecycle_note",
                "lifecycle_since",
                "updated_at",  # a new version of the party: its ETag changes
            ]
        )
        phase_changed.send(sender=PhaseChange, changes=[change], run=None)
    return change


def phase_override_lift(*, actor, party: Party) -> None:
    """Hand the phase back to the runs: the next run recomputes it."""
    # updated_at too: a new version of the party, so its ETag changes.
    Party.objects.filter(pk=party.pk).update(lifecycle_override=False, updated_at=timezone.now())
