"""Demo data for the phone channel: the trade-fair follow-up segment as a call list, most of
its contacts with a documented phone consent (the others are skipped with the reason), assigned
to the sales reps and partly worked over the last days with a mix of results — a call-back,
a wrong number, calls still to make."""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from kreis.calls import services
from kreis.calls.models import CallResult
from kreis.core.demo import DemoContext
from kreis.core.models import Role
from kreis.marketing.models import (
    Consent,
    ConsentBasis,
    ConsentChannel,
    ConsentPurpose,
    ConsentSource,
    ConsentStatus,
    Segment,
)
from kreis.marketing.segments.queries import segment_parties

SEGMENT = "Messe-Nachfass Hannover"
SCRIPT = (
    "Guten Tag, hier ist {Name} von Kreiswerk. Sie hatten uns auf der Frühjahrsmesse in "
    "Hannover besucht.\n"
    "- Wie gefällt Ihnen das Muster, das Sie mitgenommen haben?\n"
    "- Dürfen wir Ihnen ein Angebot schicken? Für wie viele Standorte?\n"
    "- Wer entscheidet bei Ihnen mit?"
)
RESULTS = [
    (CallResult.INTERESTED, 5),
    (CallResult.REACHED, 3),
    (CallResult.NOT_INTERESTED, 2),
    (CallResult.NO_ANSWER, 4),
    (CallResult.BUSY, 2),
    (CallResult.VOICEMAIL, 2),
    (CallResult.CALL_BACK, 2),
    (CallResult.WRONG_NUMBER, 1),
]
NOTES = {
    CallResult.INTERESTED: "Möchte ein Angebot für zwei Standorte, bitte bis Monatsende.",
    CallResult.REACHED: "Kurz gesprochen, Muster ist angekommen.",
    CallResult.NOT_INTERESTED: "Hat gerade einen Rahmenvertrag mit einem anderen Anbieter.",
    CallResult.CALL_BACK: "Ist in einer Besprechung, Rückruf vereinbart.",
    CallResult.WRONG_NUMBER: "Anschluss gehört einer Arztpraxis.",
}


def create_call_lists(context: DemoContext) -> dict[str, int]:
    segment = Segment.objects.filter(name=SEGMENT).first() or Segment.objects.order_by("pk").first()
    if segment is None:
        return {}
    rng = random.Random(context.fake["de_DE"].random.random())  # noqa: S311 (demo data)
    reps = [u for u in context.users if u.role == Role.SALES_REP][:2] or context.users[:1]
    manager = next((u for u in context.users if u.role == Role.SALES_MANAGER), None)
    now = timezone.now()
    members = list(segment_parties(segment).values_list("pk", flat=True).order_by("pk"))
    consents = [
        Consent(
            party_id=party_id,
            purpose=ConsentPurpose.PHONE,
            channel=ConsentChannel.PHONE,
            status=ConsentStatus.GRANTED,
            basis=ConsentBasis.DOCUMENTED,
            source=ConsentSource.EVENT,
            requested_at=now - dt.timedelta(days=30),
            confirmed_at=now - dt.timedelta(days=30),
            note="Visitenkarte am Messestand: Rückruf erwünscht.",
        )
        for party_id in members
        if rng.random() < 0.8
    ]
    Consent.objects.bulk_create(consents)
    built = services.call_list_create(
        actor=None,
        name="Nachfass Frühjahrsmesse",
        segment=segment,
        script=SCRIPT,
        assignees=reps,
        team=context.teams[0] if context.teams else None,
        now=now - dt.timedelta(days=4),
    )
    call_list = built.call_list
    if manager is not None:
        call_list.owner = manager
        call_list.save(update_fields=["owner"])
    pool = [r for r, weight in RESULTS for _ in range(weight)]
    calls = 0
    for worked in range(max(1, built.to_call * 2 // 3)):
        caller = reps[worked % len(reps)]
        at = now - dt.timedelta(days=3) + dt.timedelta(minutes=17 * worked)
        entry = services.entry_claim_next(actor=caller, call_list=call_list, now=at)
        if entry is None:
            break
        result = rng.choice(pool)
        services.entry_log(
            actor=caller,
            entry=entry,
            result=result,
            notes=NOTES.get(result, ""),
            duration_minutes=rng.randint(2, 12) if result in _TALKED else 0,
            call_back_at=now + dt.timedelta(days=1, hours=rng.randint(1, 6))
            if result == CallResult.CALL_BACK
            else None,
            now=at,
        )
        calls += 1
    return {"call lists": 1, "list calls": calls}


_TALKED = {
    CallResult.REACHED,
    CallResult.INTERESTED,
    CallResult.NOT_INTERESTED,
    CallResult.CALL_BACK,
    CallResult.WRONG_NUMBER,
}
