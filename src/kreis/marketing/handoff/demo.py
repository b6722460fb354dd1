"""Demo handoffs: two assignment rules, and the demo's marketing-qualified new leads handed to
sales over the last weeks through ``hand_off`` — most contacted in time, some late, the rest
left to the SLA job, which escalates and recycles them as it would have (run at today's
time). So the queue, the lead pages and the compliance report show a working month."""

from __future__ import annotations

import datetime as dt
import random

from django.db.models import Q
from django.utils import timezone

from kreis.core.demo import DemoContext
from kreis.core.models import Role, Team
from kreis.leads.models import Lead, LeadStatus
from kreis.marketing.handoff import services
from kreis.marketing.models import LeadAssignmentRule

HANDOFFS = {"small": 24, "large": 300}


def create_handoffs(context: DemoContext) -> dict[str, int]:
    rng = random.Random(context.fake["de_DE"].random.random())  # noqa: S311 (demo data)
    reps = [u for u in context.users if u.role == Role.SALES_REP and u.is_active]
    if not reps:
        return {"handoffs": 0}
    north = Team.objects.filter(name="Vertrieb Nord").first()
    english = LeadAssignmentRule.objects.create(
        name="English-speaking leads", position=10, language="en", workload_cap=12
    )
    english.users.set(reps[:2])
    if north is not None:
        LeadAssignmentRule.objects.create(
            name="Vertrieb Nord", position=20, team=north, workload_cap=15
        )
    count = HANDOFFS.get(context.size, HANDOFFS["small"])
    leads = list(
        Lead.objects.filter(status=LeadStatus.NEW, deleted_at__isnull=True)
        .filter(Q(mql_at__isnull=False) | Q(source__gt=""))
        .order_by("-mql_at", "pk")[:count]
    )
    now = timezone.now()
    made = 0
    for n, lead in enumerate(leads):
        assigned = now - dt.timedelta(hours=rng.randint(2, 30 * 24))
        if lead.language == "" and n % 4 == 0:
            Lead.objects.filter(pk=lead.pk).update(language="en")
            lead.language = "en"
        if lead.mql_at is None:
            Lead.objects.filter(pk=lead.pk).update(mql_at=assigned)
        handoff = services.hand_off(lead, now=assigned)
        if handoff is None:
            continue
        made += 1
        roll = rng.random()
        if roll < 0.6:  # contacted in time
            at = assigned + dt.timedelta(hours=rng.uniform(0.5, 20))
        elif roll < 0.8:  # late
            at = assigned + dt.timedelta(hours=rng.uniform(26, 60))
        else:
            continue  # left to the SLA job
        if at < now:
            services.record_first_contact(lead_id=lead.pk, at=at)
            Lead.objects.filter(pk=lead.pk).update(status=LeadStatus.CONTACTED)
    result = services.check_sla(now=now)
    return {"handoffs": made, "recycled": result.recycled}
