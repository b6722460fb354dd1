"""Demo playbooks: the three default playbooks with customers in them at every step, some
completed, some ended (ordered again, back in Maturity, removed by hand) and some held out —
entered over the last five months, so the measurement has windows that have ended.

Time is simulated: each party enters on its day (a phase change on that date), then the sweep
runs once per day up to today, as the job queue would have."""

from __future__ import annotations

import random
from datetime import timedelta

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from kreis.activities.models import Activity
from kreis.analytics.customer.models import PhaseChange
from kreis.core.demo import DemoContext
from kreis.parties.models import LifecyclePhase, Party
from kreis.playbooks import services
from kreis.playbooks.models import Enrollment, Playbook, StepRun

# Entry days ago: some inside the first step, some further on, some past the 90-day window.
DAYS_AGO = [0, 1, 2, 4, 6, 9, 12, 20, 35, 60, 95, 110, 130, 150]
PER_PLAYBOOK = {"retention-endangerment": 40, "winback-dissolution": 16, "winback-abstinence": 20}


@transaction.atomic
def create_playbooks(context: DemoContext) -> dict[str, int]:
    rng = random.Random(context.fake["de_DE"].random.random())  # noqa: S311 (demo data)
    services.ensure_defaults()
    # A larger control group than the default 10 %, so the demo's few dozen customers give
    # both groups members to compare.
    Playbook.objects.filter(key__in=PER_PLAYBOOK).update(holdout_percent=20)
    now = timezone.now()
    today = timezone.localdate(now)
    customers = list(
        Party.objects.filter(deleted_at__isnull=True, transactions__isnull=False)
        .annotate(last_order=Max("transactions__date"))
        .order_by("pk")
        .values_list("pk", "last_order", "lifecycle_phase")
        .distinct()
    )
    rng.shuffle(customers)
    used: set[int] = set()
    enrolled = 0
    plans: list[tuple[Playbook, str, int, int, str]] = []
    for key, count in PER_PLAYBOOK.items():
        playbook = Playbook.objects.get(key=key)
        phase = playbook.entry_phases[0]
        for pk, last_order, current in customers:
            if count == 0:
                break
            if pk in used:
                continue
            days_since = (today - last_order).days if last_order else 10_000
            days_ago = min(DAYS_AGO[count % len(DAYS_AGO)], max(days_since - 1, 0))
            used.add(pk)
            plans.append((playbook, phase, pk, days_ago, current or LifecyclePhase.MATURITY))
            count -= 1
    # Enter each on its day, then let the sweep run day by day up to today.
    horizon = max((p[3] for p in plans), default=0)
    by_day: dict[int, list] = {}
    for plan in plans:
        by_day.setdefault(plan[3], []).append(plan)
    recovered: list[tuple[int, int]] = []
    for day in range(horizon, -1, -1):
        moment = now - timedelta(days=day)
        for playbook, phase, pk, _, current in by_day.get(day, []):
            change = PhaseChange.objects.create(
                party_id=pk,
                date=moment.date(),
                from_phase=current if current != phase else LifecyclePhase.MATURITY,
                to_phase=phase,
                reason="demo",
            )
            enrolled += services._enroll(playbook, {pk: change.pk}, source="demo", now=moment)
            if playbook.kind == "retention" and rng.random() < 0.2 and day > 8:
                recovered.append((pk, day - rng.randint(3, 8)))
        for pk, _back in [r for r in recovered if r[1] == day]:
            PhaseChange.objects.create(
                party_id=pk,
                date=moment.date(),
                from_phase=LifecyclePhase.ENDANGERMENT,
                to_phase=LifecyclePhase.MATURITY,
                reason="demo",
            )
        services.check_exits(now=moment)
        services.advance_due(now=moment)
    # Each party's phase is its latest change; the owners did most of the older tasks.
    for pk in {p[2] for p in plans}:
        latest = PhaseChange.objects.filter(party_id=pk).order_by("-date", "-pk").first()
        Party.objects.filter(pk=pk).update(
            lifecycle_phase=latest.to_phase, lifecycle_since=latest.date
        )
    activity_ids = StepRun.objects.values_list("activity_id", flat=True)
    done = Activity.objects.filter(
        pk__in=activity_ids, occurred_at__lt=now - timedelta(days=1)
    ).values_list("pk", flat=True)
    Activity.objects.filter(pk__in=[pk for pk in done if rng.random() < 0.8]).update(
        done_at=now - timedelta(hours=6)
    )
    # Two removed by hand.
    open_ones = list(
        Enrollment.objects.filter(finished_at__isnull=True, status="active")
        .filter(~Q(current_step=0))
        .order_by("pk")[:2]
    )
    for enrollment in open_ones:
        services.remove_enrollment(enrollment, note="Kunde betreut durch Partner")
    return {"playbook enrollments": enrolled}
