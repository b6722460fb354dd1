"""Demo complaint cases: a few in every state, on demo customers, handled by the service agent."""

from __future__ import annotations

import random

from kreis.core.demo import DemoContext
from kreis.parties.models import Party
from kreis.service import services
from kreis.service.models import CaseCategory, CaseStatus, Channel, RootCause, Severity

# (subject, severity, channel, the states it goes through after "received")
CASES = [
    ("Pumpe undicht nach Inbetriebnahme", Severity.CRITICAL, Channel.PHONE, []),
    ("Lieferung unvollständig", Severity.HIGH, Channel.EMAIL, ["acknowledged"]),
    ("Invoice charged twice", Severity.MEDIUM, Channel.FORM, ["in_progress"]),
    ("Ersatzteil falsch geliefert", Severity.HIGH, Channel.LETTER, ["in_progress", "wait"]),
    (
        "Warranty claim for motor",
        Severity.MEDIUM,
        Channel.API,
        ["in_progress", "solution_proposed"],
    ),
    ("Techniker kam nicht", Severity.LOW, Channel.PERSONAL, ["in_progress", "resolved"]),
    (
        "Scratches on the housing",
        Severity.LOW,
        Channel.EMAIL,
        ["in_progress", "resolved", "closed"],
    ),
    (
        "Rechnung mit falschem Rabatt",
        Severity.MEDIUM,
        Channel.PHONE,
        ["acknowledged", "in_progress", "resolved", "closed", "in_progress"],
    ),
]


def create_cases(context: DemoContext) -> dict[str, int]:
    rng = random.Random(context.fake["en_US"].random.random())  # noqa: S311 (demo data)
    parties = list(Party.objects.filter(deleted_at__isnull=True).order_by("pk")[:200])
    categories = list(CaseCategory.objects.filter(is_active=True).order_by("pk"))
    causes = list(RootCause.objects.filter(is_active=True).order_by("pk"))
    if not parties or not categories or not causes:
        return {"cases": 0}
    made = 0
    for subject, severity, channel, steps in CASES:
        party = rng.choice(parties)
        case = services.case_create(
            actor=None,
            party=party,
            channel=channel,
            category=rng.choice(categories),
            subject=subject,
            description=subject,
            severity=severity,
            language="de",
            acknowledge=False,
        )
        for step in steps:
            if step == "wait":
                services.case_set_waiting(actor=None, case=case, waiting=True)
                continue
            note = (
                "Kunde meldet sich erneut"
                if step == CaseStatus.IN_PROGRESS
                and case.status
                in (
                    CaseStatus.RESOLVED,
                    CaseStatus.CLOSED,
                )
                else ""
            )
            case = services.case_transition(
                actor=None,
                case=case,
                to_status=step,
                note=note,
                root_cause=rng.choice(causes) if step == CaseStatus.RESOLVED else None,
            )
        if steps:
            services.case_add_note(actor=None, case=case, body="Rücksprache mit Technik gehalten.")
        made += 1
    return {"cases": made}
