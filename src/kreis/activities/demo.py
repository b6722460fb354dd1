"""Demo activities: calls, meetings, notes, tasks and e-mails on the demo parties and deals.

Small: about 3,000 over the last year and the coming weeks; large: 1,000,000 over two years.
Rows are inserted as plain tuples in batches of 10,000 (one transaction each) from pools of
pre-made subjects and texts, so the large size takes seconds per 100,000 rather than minutes.
Each demo login gets overdue tasks, tasks due today and meetings today, so My day is alive.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from kreis.activities.models import Activity, ActivityKind, CallOutcome, Direction
from kreis.core.demo import DemoContext
from kreis.core.models import Role
from kreis.parties.models import Employment, Party, PartyKind
from kreis.sales.models import Deal

SIZES = {"small": 3_000, "large": 1_000_000}
SPAN_DAYS = {"small": (365, 45), "large": (700, 30)}  # days back, days ahead
BATCH = 10_000
LOGGED_KINDS = {ActivityKind.NOTE, ActivityKind.EMAIL}
KIND_WEIGHTS = [
    (ActivityKind.CALL, 30),
    (ActivityKind.NOTE, 22),
    (ActivityKind.TASK, 25),
    (ActivityKind.MEETING, 15),
    (ActivityKind.EMAIL, 8),
]
SUBJECTS = {
    ActivityKind.CALL: [
        "Rückruf wegen Angebot",
        "Bedarf besprochen",
        "Follow-up call",
        "Liefertermin abgestimmt",
        "Discovery call",
        "Preisverhandlung",
        "Reklamation telefonisch aufgenommen",
        "Check-in with the buyer",
        "Termin vereinbart",
        "Renewal discussion",
    ],
    ActivityKind.NOTE: [
        "Gesprächsnotiz",
        "Messe-Kontakt",
        "Internal note",
        "Wettbewerber im Spiel",
        "Budget freigegeben",
        "Decision maker changed",
        "Zufriedenheit hoch",
        "Rahmenvertrag läuft aus",
    ],
    ActivityKind.TASK: [
        "Angebot schicken",
        "Send the contract",
        "Rückruf",
        "Prepare the demo",
        "Referenz nachreichen",
        "Update pricing sheet",
        "Muster versenden",
        "Rechnung prüfen",
        "Follow up on the quote",
        "Einkauf anrufen",
    ],
    ActivityKind.MEETING: [
        "Vor-Ort-Termin",
        "Produktdemo",
        "Quarterly business review",
        "Jahresgespräch",
        "Kick-off",
        "Workshop Anforderungen",
        "Lunch with the buyer",
        "Vertragsverhandlung",
    ],
    ActivityKind.EMAIL: [
        "Angebot per E-Mail",
        "Re: Ihre Anfrage",
        "Quote sent",
        "Unterlagen nachgereicht",
        "Re: Lieferverzug",
    ],
}
BODIES = [
    "",
    "<p>Kunde ist <strong>interessiert</strong>, braucht aber die Freigabe vom Einkauf.</p>",
    "<p>Nächste Schritte:</p><ul><li>Angebot anpassen</li><li>Referenz schicken</li></ul>",
    "<p>Budget for next quarter confirmed. Wants a <em>proposal</em> by Friday.</p>",
    "<p>Hat nach Rabatt gefragt; Staffelpreise ab 500 Stück erklärt.</p>",
    "<p>Follow-up agreed.</p>",
    "<blockquote>Wir vergleichen gerade drei Anbieter.</blockquote>",
    "<p>Liefertermin KW 12 bestätigt.</p>",
]
LOCATIONS = ["Beim Kunden", "Teams", "Zoom", "Büro Hamburg", "Messe München", "Phone", ""]
COLUMNS = [
    "kind",
    "subject",
    "body",
    "occurred_at",
    "ends_at",
    "reminder_at",
    "reminded_at",
    "done_at",
    "direction",
    "duration_minutes",
    "outcome",
    "location",
    "party_id",
    "deal_id",
    "owner_id",
    "team_id",
    "created_by_id",
    "created_at",
    "updated_at",
]


def _insert(rows: list[tuple]) -> None:
    table = connection.ops.quote_name(Activity._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(c) for c in COLUMNS)
    placeholders = ", ".join(["%s"] * len(COLUMNS))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", rows)  # noqa: S608


class _Row:
    """Builds one activity tuple from the pools; all randomness from one seeded generator."""

    def __init__(self, rng: random.Random, now: datetime):
        self.rng = rng
        self.now = now
        self.adapt = connection.ops.adapt_datetimefield_value
        self.kinds = [k for k, w in KIND_WEIGHTS for _ in range(w)]

    def make(self, kind, when, party_id, deal_id, owner_id, team_id, *, done=None) -> tuple:
        rng, now, adapt = self.rng, self.now, self.adapt
        ends = reminder = None
        direction = outcome = location = ""
        duration = None
        past = when <= now
        if kind == ActivityKind.CALL:
            direction = rng.choice(Direction.values)
            duration = rng.randint(2, 45)
            outcome = rng.choice(CallOutcome.values) if past else ""
        elif kind == ActivityKind.EMAIL:
            direction = rng.choice(Direction.values)
        elif kind == ActivityKind.MEETING:
            ends = when + timedelta(minutes=rng.choice([30, 60, 60, 90, 120]))
            location = rng.choice(LOCATIONS)
        elif kind == ActivityKind.TASK and rng.random() < 0.3:
            reminder = when - timedelta(hours=rng.choice([1, 4, 24]))
        if done is None:
            if kind == ActivityKind.TASK:
                done = past and rng.random() < 0.9
            else:
                done = past
        done_at = (ends or when) if done else None
        created = min(when, now) - timedelta(days=rng.randint(0, 5))
        reminded = reminder if reminder is not None and reminder <= now else None
        return (
            kind,
            rng.choice(SUBJECTS[kind]),
            rng.choice(BODIES) if kind != ActivityKind.NOTE else rng.choice(BODIES[1:]),
            adapt(when),
            adapt(ends) if ends else None,
            adapt(reminder) if reminder else None,
            adapt(reminded) if reminded else None,
            adapt(done_at) if done_at else None,
            direction,
            duration,
            outcome,
            location,
            party_id,
            deal_id,
            owner_id,
            team_id,
            owner_id,
            adapt(created),
            adapt(created),
        )


def _persona_day(row: _Row, context: DemoContext, parties: list[tuple]) -> list[tuple]:
    """For each demo login who sells: overdue tasks, tasks due today, meetings today."""
    rng, now = row.rng, row.now
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    rows = []
    sellers = [
        u
        for u in context.users
        if u.role in {Role.SALES_REP, Role.SALES_MANAGER, Role.ADMIN} and u.has_usable_password()
    ]
    for user in sellers:
        team_id = next(iter(sorted(user.team_ids())), None)
        own = [p for p in parties if p[1] == user.pk] or parties
        for days_ago in (1, 3, 8):
            party_id, _owner, _team = rng.choice(own)
            when = today - timedelta(days=days_ago) + timedelta(hours=rng.randint(8, 17))
            rows.append(
                row.make(ActivityKind.TASK, when, party_id, None, user.pk, team_id, done=False)
            )
        for hour in (11, 16):
            party_id, _owner, _team = rng.choice(own)
            when = today + timedelta(hours=hour)
            rows.append(
                row.make(ActivityKind.TASK, when, party_id, None, user.pk, team_id, done=False)
            )
        for hour in (10, 14):
            party_id, _owner, _team = rng.choice(own)
            when = today + timedelta(hours=hour)
            rows.append(
                row.make(ActivityKind.MEETING, when, party_id, None, user.pk, team_id, done=False)
            )
    return rows


def create_activities(context: DemoContext) -> dict[str, int]:
    """Activities on random demo parties (and their organisations' deals), owned like the
    party they belong to; see the module docstring for sizes."""
    rng = random.Random(context.fake["de_DE"].random.random())  # noqa: S311 (demo data)
    parties = list(
        Party.objects.filter(deleted_at__isnull=True).values_list("pk", "owner_id", "team_id")
    )
    if not parties:
        return {"activities": 0}
    now = timezone.now()
    row = _Row(rng, now)
    person_org = dict(
        Employment.objects.filter(person__kind=PartyKind.PERSON).values_list(
            "person_id", "organization_id"
        )
    )
    deals_of: dict[int, list[int]] = {}
    for deal_id, org_id in Deal.objects.filter(deleted_at__isnull=True).values_list(
        "pk", "organization_id"
    ):
        if org_id:
            deals_of.setdefault(org_id, []).append(deal_id)
    total = SIZES[context.size]
    back, ahead = SPAN_DAYS[context.size]
    span_minutes = (back + ahead) * 24 * 60
    start = now - timedelta(days=back)

    extra = _persona_day(row, context, parties)
    _insert(extra)
    created = len(extra)
    while created < total:
        batch = []
        for _ in range(min(BATCH, total - created)):
            party_id, owner_id, team_id = rng.choice(parties)
            kind = rng.choice(row.kinds)
            when = start + timedelta(minutes=rng.randrange(span_minutes))
            if when > now and kind in LOGGED_KINDS:
                when = now - (when - now)  # notes and e-mails record what has happened
            deals = deals_of.get(person_org.get(party_id, party_id))
            deal_id = rng.choice(deals) if deals and rng.random() < 0.35 else None
            batch.append(row.make(kind, when, party_id, deal_id, owner_id, team_id))
        _insert(batch)
        created += len(batch)
        if context.progress:
            context.progress("activities", created, total)
    return {"activities": created}
