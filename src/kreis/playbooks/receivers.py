"""The playbooks listen to the lifecycle: ``kreis.analytics.signals.phase_changed``.

The receiver only picks the changes into a phase some enabled playbook starts on and hands
their ids to the job queue once the run's transaction has committed: enrolling and the first
tasks never slow down or fail the nightly run (or a manual phase change)."""

from __future__ import annotations

from django.db import transaction

from kreis.playbooks.models import Playbook


def entry_phases() -> set[str]:
    phases: set[str] = set()
    for row in Playbook.objects.filter(enabled=True).values_list("entry_phases", flat=True):
        phases.update(row or [])
    return phases


def on_phase_changed(sender, changes, run=None, **kwargs) -> None:
    if not changes:
        return
    phases = entry_phases()
    ids = [c.pk for c in changes if c.to_phase in phases and c.pk is not None]
    if not ids:
        return
    from kreis.playbooks.tasks import enqueue_changes

    transaction.on_commit(lambda: enqueue_changes(ids), robust=True)


def connect() -> None:
    from kreis.analytics.signals import phase_changed

    phase_changed.connect(on_phase_changed, dispatch_uid="playbooks-phase-changed")
