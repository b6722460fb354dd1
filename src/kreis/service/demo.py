"""Demo complaint cases: every state, on demo customers, handled by the service agents.

- The flow cases: one in every state (received, acknowledged, in progress, solution proposed,
  resolved, closed), one reopened, one waiting for the customer, and two open ones past their
  SLA deadline (overdue).
- Cases of the last two years, closed, mostly product defects and warranty claims on demo
  products, so that the complaint analysis and the defect and warranty KPIs show a trend;
  costs (goodwill, replacement, handling time) on some, the customer's rating of the
  resolution on some, and improvement actions against the two most frequent root causes.

The flow cases, the costs (with their CM III cost entries), the ratings and the actions go
through the services; no e-mail is sent. A flow case is then moved back in time as a whole —
all its timestamps by the same span — since the services stamp "now". The cases of the past
are written in bulk, like the other demo steps' records (numbers, due dates and transitions
as the services make them): through the services they would double the demo's time. Scaled
with the demo's size and repeatable with ``--seed``.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.utils import timezone

from kreis.commerce.models import Product
from kreis.core.demo import DemoContext
from kreis.core.models import Membership, Role
from kreis.parties.models import Party
from kreis.service import services
from kreis.service.models import (
    Case,
    CaseCategory,
    CaseMessage,
    CaseStatus,
    CaseTransition,
    CategoryKind,
    Channel,
    RootCause,
    Severity,
    TransitionEvent,
)

# (subject, severity, channel, days ago, the steps after "received")
CASES = [
    ("Pumpe undicht nach Inbetriebnahme", Severity.CRITICAL, Channel.PHONE, 0, []),
    ("Lieferung unvollständig", Severity.HIGH, Channel.EMAIL, 0, ["acknowledged"]),
    ("Invoice charged twice", Severity.MEDIUM, Channel.FORM, 1, ["in_progress"]),
    ("Ersatzteil falsch geliefert", Severity.HIGH, Channel.LETTER, 2, ["in_progress", "wait"]),
    (
        "Warranty claim for motor",
        Severity.MEDIUM,
        Channel.API,
        3,
        ["in_progress", "solution_proposed"],
    ),
    ("Techniker kam nicht", Severity.LOW, Channel.PERSONAL, 4, ["in_progress", "resolved"]),
    (
        "Scratches on the housing",
        Severity.LOW,
        Channel.EMAIL,
        20,
        ["in_progress", "resolved", "closed"],
    ),
    (
        "Rechnung mit falschem Rabatt",
        Severity.MEDIUM,
        Channel.PHONE,
        6,
        ["acknowledged", "in_progress", "resolved", "closed", "in_progress"],
    ),
    # Past their deadlines: not acknowledged within the hour, not resolved within two days.
    ("Anlage steht still – dringend", Severity.CRITICAL, Channel.PHONE, 3, []),
    ("Display flickers after update", Severity.HIGH, Channel.EMAIL, 9, ["in_progress"]),
]
REOPEN_NOTE = "Kunde meldet sich erneut: Problem besteht weiter."

# Closed cases of the last two years: (kind, German subject, English subject).
HISTORY = [
    (CategoryKind.DEFECT, "Gerät fällt nach kurzer Zeit aus", "Device fails after a short time"),
    (CategoryKind.DEFECT, "Gehäuse gerissen", "Cracked housing"),
    (CategoryKind.DEFECT, "Dichtung undicht", "Leaking seal"),
    (CategoryKind.WARRANTY, "Garantieantrag: Motor defekt", "Warranty claim: motor broken"),
    (CategoryKind.WARRANTY, "Garantie: Steuerung tauschen", "Warranty: replace the controller"),
    (CategoryKind.DELIVERY, "Lieferung beschädigt", "Delivery damaged"),
    (CategoryKind.BILLING, "Rechnung falsch adressiert", "Invoice wrongly addressed"),
    (CategoryKind.SERVICE, "Hotline nicht erreichbar", "Hotline not reachable"),
]
HISTORY_CASES = {"small": 24, "large": 120}
RATING_COMMENTS = [
    ("Schnell und freundlich gelöst, danke!", 5),
    ("Quick replacement, very happy.", 5),
    ("Hat gedauert, aber das Ergebnis passt.", 4),
    ("OK, but I had to call twice.", 3),
    ("Leider erst nach mehreren Nachfragen.", 2),
    ("", 4),
]
ACTIONS = [
    (
        "Manufacturing fault",
        "Endprüfung der Dichtungen verschärfen",
        "Jede Pumpe 30 Minuten unter Druck prüfen, bevor sie das Werk verlässt.",
        "done",
        60,
    ),
    (
        "Damaged in transit",
        "Packaging with corner protection",
        "Switch the shipping cartons to ones with corner protection; talk to the carrier.",
        "in_progress",
        None,
    ),
]


def _shift(case: Case, days: float) -> None:
    """Move a case and its flow back by ``days``: every timestamp by the same span."""
    if not days:
        return
    span = dt.timedelta(days=days)
    fields = [
        "created_at",
        "ack_due_at",
        "resolve_due_at",
        "acknowledged_at",
        "resolved_at",
        "closed_at",
        "waiting_since",
    ]
    values = {f: getattr(case, f) - span for f in fields if getattr(case, f) is not None}
    Case.objects.filter(pk=case.pk).update(**values)
    for model, field in ((CaseTransition, "created_at"), (CaseMessage, "created_at")):
        for pk, when in model.objects.filter(case=case).values_list("pk", field):
            model.objects.filter(pk=pk).update(**{field: when - span})
    for name, value in values.items():
        setattr(case, name, value)


def _walk(case: Case, steps: list[str], rng: random.Random, causes: list[RootCause]) -> Case:
    for step in steps:
        if step == "wait":
            case = services.case_set_waiting(actor=None, case=case, waiting=True)
            continue
        reopening = step == CaseStatus.IN_PROGRESS and case.status in (
            CaseStatus.RESOLVED,
            CaseStatus.CLOSED,
        )
        case = services.case_transition(
            actor=None,
            case=case,
            to_status=step,
            note=REOPEN_NOTE if reopening else "",
            root_cause=rng.choice(causes) if step == CaseStatus.RESOLVED else None,
        )
    return case


def create_cases(context: DemoContext) -> dict[str, int]:
    rng = random.Random(context.fake["en_US"].random.random())  # noqa: S311 (demo data)
    parties = list(Party.objects.filter(deleted_at__isnull=True).order_by("pk")[:200])
    categories = list(CaseCategory.objects.filter(is_active=True).order_by("pk"))
    causes = list(RootCause.objects.filter(is_active=True).order_by("pk"))
    if not parties or not categories or not causes:
        return {"cases": 0}
    by_kind = {c.kind: c for c in reversed(categories)}
    products = list(Product.objects.order_by("pk")[:40])
    made = 0
    for subject, severity, channel, days_ago, steps in CASES:
        case = services.case_create(
            actor=None,
            party=rng.choice(parties),
            channel=channel,
            category=rng.choice(categories),
            subject=subject,
            description=subject,
            severity=severity,
            language="de",
            acknowledge=False,
        )
        case = _walk(case, steps, rng, causes)
        if steps:
            services.case_add_note(actor=None, case=case, body="Rücksprache mit Technik gehalten.")
        _shift(case, days_ago)
        made += 1
    history = _history(context, rng, parties, by_kind, categories, causes, products)
    counts = {"cases": made + len(history)}
    counts.update(_costs_ratings_actions(context, rng, history, causes))
    return counts


def _history(context, rng, parties, by_kind, categories, causes, products) -> list[Case]:
    """Closed cases of the last two years, written in bulk (as the other demo steps write
    their records; the search index is rebuilt at the end of the demo): each with its number
    of the year it came in, an owner, its SLA due dates and its three recorded transitions."""
    from simple_history.utils import bulk_create_with_history

    agents = [u for u in context.users if u.role == Role.SERVICE_AGENT] or [None]
    teams = {
        m.user_id: m.team
        for m in Membership.objects.filter(user__in=[a for a in agents if a]).select_related("team")
    }
    now = timezone.now()
    cases, flows = [], []
    for i in range(HISTORY_CASES.get(context.size, HISTORY_CASES["small"])):
        kind, subject_de, subject_en = HISTORY[i % len(HISTORY)]
        english = rng.random() < 0.3
        severity = rng.choice(Severity.values)
        # Spread over the last two years, more of them recently; in the working day.
        created = (now - dt.timedelta(days=30 + int(700 * rng.random() ** 1.5))).replace(
            hour=rng.randint(8, 16), minute=rng.randrange(60)
        )
        ack_due, resolve_due = services.due_dates(severity=severity, start=created)
        acknowledged = created + dt.timedelta(hours=rng.uniform(0.2, 6))
        resolved = acknowledged + dt.timedelta(hours=rng.uniform(4, 120))
        closed = resolved + dt.timedelta(days=rng.uniform(1, 10))
        party = rng.choice(parties)
        owner = agents[i % len(agents)]
        cases.append(
            Case(
                number=services.next_case_number(year=timezone.localdate(created).year),
                party=party,
                channel=rng.choice(Channel.values),
                category=by_kind.get(kind) or rng.choice(categories),
                product=rng.choice(products) if products and kind in _PRODUCT_KINDS else None,
                region=party.territory or "",
                severity=severity,
                subject=subject_en if english else subject_de,
                language="en" if english else "de",
                status=CaseStatus.CLOSED,
                owner=owner,
                team=teams.get(owner.pk) if owner else None,
                root_cause=rng.choice(causes),
                ack_due_at=ack_due,
                resolve_due_at=resolve_due,
                acknowledged_at=acknowledged,
                resolved_at=resolved,
                closed_at=closed,
            )
        )
        flows.append(
            [
                ("", CaseStatus.RECEIVED, created, TransitionEvent.RECEIVED),
                (CaseStatus.RECEIVED, CaseStatus.IN_PROGRESS, acknowledged, TransitionEvent.STATUS),
                (CaseStatus.IN_PROGRESS, CaseStatus.RESOLVED, resolved, TransitionEvent.STATUS),
                (CaseStatus.RESOLVED, CaseStatus.CLOSED, closed, TransitionEvent.STATUS),
            ]
        )
    bulk_create_with_history(cases, Case, batch_size=500)
    made = list(Case.objects.filter(number__in=[c.number for c in cases]).order_by("pk"))
    by_number = {c.number: c for c in made}
    transitions = []
    for case, flow in zip(cases, flows, strict=True):
        stored = by_number[case.number]
        stored.created_at = flow[0][2]
        for before, after, when, event in flow:
            transitions.append(
                CaseTransition(
                    case=stored, event=event, from_status=before, to_status=after, created_at=when
                )
            )
    Case.objects.bulk_update(made, ["created_at"], batch_size=500)
    rows = CaseTransition.objects.bulk_create(transitions, batch_size=500)
    CaseTransition.objects.bulk_update(rows, ["created_at"], batch_size=500)
    return made


_PRODUCT_KINDS = (CategoryKind.DEFECT, CategoryKind.WARRANTY, CategoryKind.DELIVERY)


def _costs_ratings_actions(context, rng, history: list[Case], causes) -> dict[str, int]:
    from kreis.core import tokens
    from kreis.service.improvement.services import improvement_action_create
    from kreis.service.models import RatingToken
    from kreis.service.processing.services import case_cost_create
    from kreis.service.rating import rating_submit

    costs = ratings = 0
    for case in history:
        kind = case.category.kind
        if kind not in (CategoryKind.DEFECT, CategoryKind.WARRANTY) or rng.random() < 0.3:
            continue
        day = timezone.localdate(case.resolved_at)
        if kind == CategoryKind.WARRANTY or rng.random() < 0.4:
            amount = Decimal(rng.randrange(80, 900)).quantize(Decimal("0.01"))
            case_cost_create(actor=None, case=case, kind="replacement", amount=amount, date=day)
            costs += 1
        elif rng.random() < 0.7:
            amount = Decimal(rng.randrange(25, 250))
            case_cost_create(actor=None, case=case, kind="goodwill", amount=amount, date=day)
            costs += 1
        hours = Decimal(rng.choice((0.5, 1, 1.5, 2, 3)))
        case_cost_create(actor=None, case=case, kind="handling", hours=hours, date=day)
        costs += 1
    rated = [c for c in history if rng.random() < 0.35]
    for case in rated:
        # The customer's answer to the closing mail: the link is made here, as the mail would.
        raw, digest = tokens.new_token()
        RatingToken.objects.create(
            case=case, token_hash=digest, expires_at=timezone.now() + dt.timedelta(days=14)
        )
        comment, stars = rng.choice(RATING_COMMENTS)
        rating_submit(raw_token=raw, rating=stars, comment=comment)
        ratings += 1
    names = {c.name_en: c for c in causes}
    owner = next((u for u in context.users if u.role == Role.SERVICE_AGENT), None)
    actions = 0
    today = timezone.localdate()
    for cause, title, description, status, done_days_ago in ACTIONS:
        if cause not in names:
            continue
        improvement_action_create(
            actor=None,
            root_cause=names[cause],
            title=title,
            description=description,
            owner=owner,
            due_date=today + dt.timedelta(days=30) if done_days_ago is None else None,
            status=status,
            effective_on=today - dt.timedelta(days=done_days_ago) if done_days_ago else None,
        )
        actions += 1
    return {"case_costs": costs, "case_ratings": ratings, "improvement_actions": actions}
