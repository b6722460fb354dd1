"""Events of the analytical CRM that other parts (automation, playbooks) react to."""

from django.dispatch import Signal

# Sent after a run stored its figures: ``changes`` is the list of new PhaseChange rows (one per
# customer whose phase moved, manual changes included), ``run`` the AnalyticsRun or None.
phase_changed = Signal()
