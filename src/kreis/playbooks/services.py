"""Writes of playbooks: enrol, advance, exit, stop — set-based, for tens of thousands at once.

- ``start_for_parties`` / ``stop_for_parties``: the entry points for the rule engine, the
  phase-change job, the web page, the API and the CLI.
- ``advance_due``: runs the steps that are due. A chunk of enrollments is claimed with a
  conditional UPDATE (active, due, not held by another worker) inside one transaction that
  creates the chunk's tasks and moves the enrollments on, so two workers never run the same
  step twice and a failed chunk leaves nothing half done.
- ``check_exits``: ends open enrollments whose exit condition holds (an order after the entry,
  a move back to Socialization/Growth/Maturity, a won deal) with one UPDATE per condition.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape, linebreaks
from django.utils.translation import gettext as _

from kreis.activities.models import Activity, ActivityKind
from kreis.analytics.customer.models import PhaseChange
from kreis.commerce.models import Transaction, TransactionKind
from kreis.core.signals import announce_bulk_created
from kreis.parties.models import LifecyclePhase, Party
from kreis.playbooks.models import (
    RECOVERED_PHASES,
    Enrollment,
    EnrollmentStatus,
    ExitReason,
    Playbook,
    PlaybookKind,
    PlaybookStep,
    StepAction,
    StepRun,
)
from kreis.playbooks.offers import make_offers
from kreis.sales.models import Deal, StageKind

log = logging.getLogger(__name__)

CHUNK = 2000


# --- hold-out --------------------------------------------------------------------------------


def is_held_out(playbook: Playbook, party_id: int) -> bool:
    """Deterministic, uniformly spread: the same party in the same playbook always lands in the
    same group, and ``holdout_percent`` of all parties land in the control group."""
    if playbook.holdout_percent <= 0:
        return False
    digest = hashlib.sha256(f"playbook:{playbook.pk}:party:{party_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 10000 < playbook.holdout_percent * 100


# --- start / stop ------------------------------------------------------------------------------


def start_for_parties(playbook: Playbook, party_ids: Iterable[int], *, source: str) -> int:
    """Enrol these parties (skipping those already open in it, deleted ones and those whose
    relationship type the playbook does not apply to). Returns how many were enrolled, the
    control group included; the first step's tasks are created at once when it has no delay."""
    return _enroll(playbook, {int(pk): None for pk in party_ids}, source=source)


def stop_for_parties(playbook: Playbook, party_ids: Iterable[int], *, reason: str) -> int:
    """End the parties' open enrollments in this playbook (the control group's too). Returns
    how many were stopped. ``reason`` is kept as the note; the exit reason is "stopped by a
    rule" unless ``reason`` is one of ``ExitReason``'s values."""
    ids = sorted({int(pk) for pk in party_ids})
    exit_reason = reason if reason in ExitReason.values else ExitReason.RULE
    note = "" if reason in ExitReason.values else reason[:300]
    now = timezone.now()
    stopped = 0
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        with transaction.atomic():
            qs = Enrollment.objects.filter(
                playbook=playbook, party_id__in=chunk, finished_at__isnull=True
            )
            stopped += _finish(qs, exit_reason, now, note=note)
    return stopped


def remove_enrollment(enrollment: Enrollment, *, note: str = "") -> bool:
    """Take one party out by hand. False when it had already ended."""
    qs = Enrollment.objects.filter(pk=enrollment.pk, finished_at__isnull=True)
    return _finish(qs, ExitReason.MANUAL, timezone.now(), note=note) > 0


def _finish(qs: QuerySet, reason: str, now: datetime, *, note: str = "") -> int:
    """End open enrollments: treated ones become "exited", control ones stay "held out" (the
    group they are measured in) with their end and reason set."""
    treated = qs.exclude(status=EnrollmentStatus.HELD_OUT).update(
        status=EnrollmentStatus.EXITED,
        finished_at=now,
        next_step_at=None,
        exit_reason=reason,
        exit_note=note,
        updated_at=now,
    )
    held = qs.filter(status=EnrollmentStatus.HELD_OUT).update(
        finished_at=now, exit_reason=reason, exit_note=note, updated_at=now
    )
    return treated + held


def _applies_to(playbook: Playbook, parties: QuerySet) -> QuerySet:
    """Narrow to the relationship types the playbook is limited to (none: all)."""
    type_ids = list(playbook.relationship_types.values_list("pk", flat=True))
    if not type_ids:
        return parties
    return parties.filter(relationship_type_link__relationship_type_id__in=type_ids)


def _enroll(
    playbook: Playbook,
    entries: dict[int, int | None],
    *,
    source: str,
    now: datetime | None = None,
) -> int:
    """Enrol parties: ``entries`` maps party id → the PhaseChange that started it (or None).
    ``now``: the moment of entry (the demo enrols in the past)."""
    steps = list(playbook.steps.order_by("position"))
    now = now or timezone.now()
    today = timezone.localdate(now)
    window_end = today + timedelta(days=playbook.window_days)
    first_at = now + timedelta(days=steps[0].delay_days) if steps else None
    ids = sorted(entries)
    enrolled = 0
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        alive = _applies_to(
            playbook, Party.objects.filter(pk__in=chunk, deleted_at__isnull=True)
        ).values_list("pk", flat=True)
        taken = set(
            Enrollment.objects.filter(
                playbook=playbook, party_id__in=chunk, finished_at__isnull=True
            ).values_list("party_id", flat=True)
        )
        rows = []
        for party_id in alive:
            if party_id in taken:
                continue
            held = is_held_out(playbook, party_id)
            rows.append(
                Enrollment(
                    playbook=playbook,
                    party_id=party_id,
                    status=EnrollmentStatus.HELD_OUT if held else EnrollmentStatus.ACTIVE,
                    entered_at=now,
                    entered_on=today,
                    window_ends_on=window_end,
                    next_step_at=None if held else first_at,
                    source=source[:80],
                    phase_change_id=entries[party_id],
                    updated_at=now,
                )
            )
        if not rows:
            continue
        with transaction.atomic():
            # A concurrent start of the same party loses on the unique constraint quietly.
            Enrollment.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
        enrolled += Enrollment.objects.filter(
            playbook=playbook, party_id__in=chunk, entered_at=now, source=source[:80]
        ).count()
    if enrolled and steps and steps[0].delay_days == 0 and playbook.enabled:
        advance_due(playbook_ids=[playbook.pk], now=now)
    return enrolled


def start_from_changes(change_ids: list[int]) -> dict[str, int]:
    """The job behind ``phase_changed``: enrol the customers of these phase changes in every
    enabled playbook whose entry phases include the new phase. Returns enrolled per playbook."""
    playbooks = [p for p in Playbook.objects.filter(enabled=True) if p.entry_phases]
    if not playbooks or not change_ids:
        return {}
    by_phase: dict[str, dict[int, int]] = defaultdict(dict)
    for start in range(0, len(change_ids), 5000):
        rows = PhaseChange.objects.filter(pk__in=change_ids[start : start + 5000]).values_list(
            "pk", "party_id", "to_phase"
        )
        for pk, party_id, phase in rows:
            # The latest change of a party wins (a run sends one per party anyway).
            by_phase[phase][party_id] = pk
    result: dict[str, int] = {}
    for playbook in playbooks:
        entries: dict[int, int | None] = {}
        for phase in playbook.entry_phases:
            entries.update(by_phase.get(phase, {}))
        if entries:
            result[str(playbook.pk)] = _enroll(playbook, entries, source="phase_change")
    return result


# --- steps -------------------------------------------------------------------------------------


def advance_due(
    *, now: datetime | None = None, playbook_ids: Iterable[int] | None = None, limit: int = 0
) -> int:
    """Run every step that is due (of enabled playbooks). Returns how many steps ran."""
    now = now or timezone.now()
    playbooks = Playbook.objects.filter(enabled=True)
    if playbook_ids is not None:
        playbooks = playbooks.filter(pk__in=list(playbook_ids))
    ran = 0
    for playbook in playbooks:
        steps = list(playbook.steps.order_by("position"))
        while True:
            picked, done = _run_steps(playbook, steps, now)
            ran += done
            if limit and ran >= limit:
                return ran
            if picked < CHUNK:
                break
    return ran


def _run_steps(playbook: Playbook, steps: list[PlaybookStep], now: datetime) -> tuple[int, int]:
    """Claim the next chunk of due enrollments and run their step in one transaction. Returns
    (enrollments picked, steps run). The chunk is picked inside the transaction with
    ``FOR UPDATE SKIP LOCKED`` (PostgreSQL): a second worker takes the next chunk at once
    instead of waiting for the first one's commit and finding its rows already claimed.
    SQLite has one writer at a time (``BEGIN IMMEDIATE``), so the pick is exclusive there."""
    token = uuid.uuid4().hex
    with transaction.atomic():
        ids = list(
            Enrollment.objects.select_for_update(skip_locked=True)
            .filter(
                playbook=playbook,
                status=EnrollmentStatus.ACTIVE,
                next_step_at__lte=now,
                claim="",
            )
            .order_by("next_step_at", "pk")
            .values_list("pk", flat=True)[:CHUNK]
        )
        if not ids:
            return 0, 0
        Enrollment.objects.filter(pk__in=ids).update(claim=token)
        rows = list(
            Enrollment.objects.filter(claim=token).values_list(
                "pk",
                "party_id",
                "current_step",
                "party__owner_id",
                "party__team_id",
                "party__owner__language",
            )
        )
        activities: list[Activity] = []
        runs: list[StepRun] = []
        mails: list[tuple[int, int, PlaybookStep]] = []
        positions: set[int] = set()
        made = _offers_for(steps, rows, now)
        # Subject and body per step and language, not per row (10,000 tasks, 2 languages).
        texts: dict[tuple[int, str], tuple[str, str]] = {}
        for pk, party_id, current, owner_id, team_id, language in rows:
            positions.add(current)
            if current >= len(steps):
                continue
            step = steps[current]
            lang = language or settings.LANGUAGE_CODE
            text = texts.get((current, lang))
            if text is None:
                text = texts[(current, lang)] = (
                    step.title_in(lang)[:200],
                    linebreaks(escape(step.description_in(lang))),
                )
            offer = made.get(pk)
            subject, body = text
            if offer is not None:
                subject, body = _offer_task_text(offer, step, lang, text)
            activities.append(
                Activity(
                    kind=ActivityKind.TASK,
                    subject=subject,
                    body=body,
                    occurred_at=now + timedelta(days=step.due_days),
                    party_id=party_id,
                    owner_id=owner_id,
                    team_id=team_id,
                    deal=offer.deal if offer is not None else None,
                )
            )
            runs.append(
                StepRun(
                    enrollment_id=pk,
                    position=step.position,
                    action=step.action,
                    ran_at=now,
                    quote=offer.quote if offer is not None else None,
                    note=offer.reason() if offer is not None else "",
                )
            )
            if step.send_email and step.action == StepAction.OFFER:
                mails.append((pk, party_id, step))
        created = Activity.objects.bulk_create(activities, batch_size=1000)
        for run, activity in zip(runs, created, strict=True):
            run.activity_id = activity.pk
        StepRun.objects.bulk_create(runs, batch_size=1000, ignore_conflicts=True)
        for current in positions:
            following = steps[current + 1] if current + 1 < len(steps) else None
            qs = Enrollment.objects.filter(claim=token, current_step=current)
            if following is None:
                qs.update(
                    current_step=min(current + 1, len(steps)),
                    status=EnrollmentStatus.COMPLETED,
                    finished_at=now,
                    next_step_at=None,
                    claim="",
                    updated_at=now,
                )
            else:
                qs.update(
                    current_step=current + 1,
                    next_step_at=now + timedelta(days=following.delay_days),
                    claim="",
                    updated_at=now,
                )
        if mails:
            sent = _send_offers(mails)
            if sent:
                for position in {steps_pos for _, steps_pos in sent}:
                    StepRun.objects.filter(
                        enrollment_id__in=[pk for pk, pos in sent if pos == position],
                        position=position,
                    ).update(emailed=True)
        announce_bulk_created(model=Activity, ids=[a.pk for a in created])
    return len(ids), len(activities)


def _offers_for(steps: list[PlaybookStep], rows: list[tuple], now: datetime) -> dict:
    """The personalised offers of the chunk's offer steps (``offers.make_offers``, one call per
    step): enrollment id → ``Offer``. Enrollments whose step has run before (a retry) are
    left out; their run keeps the offer it made."""
    due: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for pk, party_id, current, *_rest in rows:
        if current < len(steps) and steps[current].action == StepAction.OFFER:
            due[current].append((pk, party_id))
    made: dict = {}
    for current, pairs in due.items():
        step = steps[current]
        ran = set(
            StepRun.objects.filter(
                enrollment_id__in=[pk for pk, _ in pairs], position=step.position
            ).values_list("enrollment_id", flat=True)
        )
        with translation.override(settings.LANGUAGE_CODE):
            made.update(
                make_offers(
                    [(pk, party_id) for pk, party_id in pairs if pk not in ran],
                    position=step.position,
                    months=step.offer_months,
                    limit=step.offer_products,
                    today=timezone.localdate(now),
                    title=step.title_in(settings.LANGUAGE_CODE),
                )
            )
    return made


def _offer_task_text(offer, step: PlaybookStep, language: str, text: tuple[str, str]):
    """The owner's task for an offer step, in the owner's language: "review and send" with a
    link to the draft quote, or the step's own task with the reason there is no quote."""
    with translation.override(language):
        if offer.quote is None:
            return text[0], text[1] + linebreaks(escape(offer.reason()))
        quote = offer.quote
        url = reverse("pricing:quote_detail", args=[quote.pk])
        subject = _("Review and send offer %(number)s") % {"number": quote.number}
        link = _("Draft quote %(number)s (version %(version)s), %(total)s %(currency)s") % {
            "number": quote.number,
            "version": quote.version,
            "total": quote.net_total,
            "currency": quote.currency,
        }
        body = (
            text[1]
            + linebreaks(
                escape(
                    _(
                        "The offer was drafted from the customer's best-selling "
                        "products. Check the prices and discounts, then send it."
                    )
                )
            )
            + f'<p><a href="{escape(url)}">{escape(link)}</a></p>'
        )
        return subject[:200], body


def _send_offers(mails: list[tuple[int, int, PlaybookStep]]) -> set[tuple[int, int]]:
    """Send the offer e-mail where the customer's consent allows it (after the commit): the
    (enrollment, step position) pairs sent."""
    from kreis.channels.models import Channel
    from kreis.channels.services import may_use
    from kreis.comms.queries import recipient_language
    from kreis.marketing.consent.services import send_marketing_mail
    from kreis.marketing.models import ConsentPurpose

    parties = Party.objects.in_bulk([party_id for _, party_id, _ in mails])
    sent: set[tuple[int, int]] = set()
    for enrollment_id, party_id, step in mails:
        party = parties.get(party_id)
        if party is None:
            continue
        # Opt-outs and consent: the one decision of kreis.channels.
        verdict = may_use(party, Channel.EMAIL, purpose=ConsentPurpose.MARKETING)
        if not verdict.allowed:
            log.info("playbook offer mail to party %s not sent: %s", party_id, verdict.reason)
            continue
        lang = recipient_language(party)
        try:
            send_marketing_mail(
                purpose=ConsentPurpose.MARKETING,
                subject=step.title_in(lang),
                text=step.description_in(lang) or step.title_in(lang),
                party=party,
            )
        except Exception as exc:  # no consent after all, no address, no public address
            log.info("playbook offer mail to party %s not sent: %s", party_id, exc)
            continue
        sent.add((enrollment_id, step.position))
    return sent


# --- exits -------------------------------------------------------------------------------------


def _ordered_since_entry() -> Exists:
    return Exists(
        Transaction.objects.filter(
            party_id=OuterRef("party_id"),
            kind=TransactionKind.ORDER,
            deleted_at__isnull=True,
            date__gte=OuterRef("entered_on"),
        )
    )


def _recovered_since_entry() -> Exists:
    return Exists(
        PhaseChange.objects.filter(
            party_id=OuterRef("party_id"),
            to_phase__in=RECOVERED_PHASES,
            created_at__gt=OuterRef("entered_at"),
        )
    )


def _deal_won_since_entry() -> Exists:
    return Exists(
        Deal.objects.filter(
            Q(organization_id=OuterRef("party_id")) | Q(contact_id=OuterRef("party_id")),
            stage__kind=StageKind.WON,
            deleted_at__isnull=True,
            closed_at__gte=OuterRef("entered_at"),
        )
    )


def check_exits(*, now: datetime | None = None, party_ids: Iterable[int] | None = None) -> dict:
    """End open enrollments whose exit condition holds, and the control group's at the end of
    their window. One UPDATE per playbook and condition. Returns counts per reason."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    counts: dict[str, int] = defaultdict(int)
    ids = None if party_ids is None else list(party_ids)
    for playbook in Playbook.objects.all():
        base = Enrollment.objects.filter(playbook=playbook, finished_at__isnull=True)
        if ids is not None:
            base = base.filter(party_id__in=ids)
        conditions = []
        if playbook.exit_on_order:
            conditions.append((ExitReason.ORDERED, _ordered_since_entry()))
        if playbook.exit_on_phase_left:
            conditions.append((ExitReason.PHASE_LEFT, _recovered_since_entry()))
        if playbook.exit_on_deal_won:
            conditions.append((ExitReason.DEAL_WON, _deal_won_since_entry()))
        for reason, condition in conditions:
            with transaction.atomic():
                counts[str(reason)] += _finish(base.filter(condition), reason, now)
        counts[str(ExitReason.WINDOW_ENDED)] += base.filter(
            status=EnrollmentStatus.HELD_OUT, window_ends_on__lt=today
        ).update(finished_at=now, exit_reason=ExitReason.WINDOW_ENDED, updated_at=now)
    return dict(counts)


# --- editing -----------------------------------------------------------------------------------


def steps_renumber(playbook: Playbook) -> None:
    """Positions 1..n in their order (after a delete or a move)."""
    with transaction.atomic():
        steps = list(playbook.steps.order_by("position", "pk"))
        # Two passes: the unique (playbook, position) must hold after each UPDATE.
        for i, step in enumerate(steps):
            PlaybookStep.objects.filter(pk=step.pk).update(position=1000 + i)
        for i, step in enumerate(steps, start=1):
            PlaybookStep.objects.filter(pk=step.pk).update(position=i)


def step_move(step: PlaybookStep, *, up: bool) -> None:
    with transaction.atomic():
        steps = list(step.playbook.steps.order_by("position", "pk"))
        i = next(i for i, s in enumerate(steps) if s.pk == step.pk)
        j = i - 1 if up else i + 1
        if j < 0 or j >= len(steps):
            return
        steps[i], steps[j] = steps[j], steps[i]
        for k, s in enumerate(steps):
            PlaybookStep.objects.filter(pk=s.pk).update(position=1000 + k)
        for k, s in enumerate(steps, start=1):
            PlaybookStep.objects.filter(pk=s.pk).update(position=k)
        Playbook.objects.filter(pk=step.playbook_id).update(updated_at=timezone.now())


def step_add(playbook: Playbook, step: PlaybookStep) -> PlaybookStep:
    with transaction.atomic():
        last = playbook.steps.order_by("-position").values_list("position", flat=True).first()
        step.playbook = playbook
        step.position = (last or 0) + 1
        step.save()
        Playbook.objects.filter(pk=playbook.pk).update(updated_at=timezone.now())
    return step


def step_delete(step: PlaybookStep) -> None:
    with transaction.atomic():
        playbook = step.playbook
        step.delete()
        steps_renumber(playbook)
        Playbook.objects.filter(pk=playbook.pk).update(updated_at=timezone.now())


# --- the playbooks Kreis ships -----------------------------------------------------------------

DEFAULTS = [
    {
        "key": "retention-endangerment",
        "name_de": "Kundenbindung bei Gefährdung",
        "name_en": "Retention on Endangerment",
        "description_de": "Ein Kunde ist in die Phase Gefährdung gerutscht: der Betreuer meldet "
        "sich binnen zwei Tagen, ruft an und macht ein persönliches Angebot.",
        "description_en": "A customer slipped into Endangerment: the account owner gets in "
        "touch within two days, calls, and makes a personalised offer.",
        "kind": PlaybookKind.RETENTION,
        "entry_phases": [LifecyclePhase.ENDANGERMENT],
        "steps": [
            (
                0,
                StepAction.TASK,
                2,
                "Gefährdeten Kunden prüfen",
                "Review the endangered customer",
                "Umsätze, offene Fälle und letzte Kontakte ansehen; Ursache der Gefährdung "
                "festhalten.",
                "Look at revenue, open cases and recent contacts; note why the customer is at "
                "risk.",
            ),
            (
                3,
                StepAction.CALL,
                2,
                "Kunden anrufen",
                "Call the customer",
                "Nachfragen, wie zufrieden der Kunde ist, und Probleme klären.",
                "Ask how satisfied the customer is and resolve problems.",
            ),
            (
                7,
                StepAction.OFFER,
                5,
                "Persönliches Angebot machen",
                "Make a personalised offer",
                "Ein auf den Kunden zugeschnittenes Angebot erstellen und senden.",
                "Prepare and send an offer tailored to the customer.",
            ),
        ],
    },
    {
        "key": "winback-dissolution",
        "name_de": "Rückgewinnung bei Auflösung",
        "name_en": "Win-back on Dissolution",
        "description_de": "Der Kunde hat gekündigt oder wird wahrscheinlich nicht mehr kaufen: "
        "Gründe erfragen und ein Rückgewinnungsangebot machen.",
        "description_en": "The customer has terminated or is unlikely to buy again: ask why and "
        "make a win-back offer.",
        "kind": PlaybookKind.WINBACK,
        "entry_phases": [LifecyclePhase.DISSOLUTION],
        "steps": [
            (
                0,
                StepAction.CALL,
                2,
                "Kündigungsgrund erfragen",
                "Ask why the customer is leaving",
                "Den Kunden anrufen und die Gründe festhalten.",
                "Call the customer and note the reasons.",
            ),
            (
                5,
                StepAction.OFFER,
                5,
                "Rückgewinnungsangebot machen",
                "Make a win-back offer",
                "Ein Angebot erstellen, das die genannten Gründe aufgreift.",
                "Prepare an offer that addresses the reasons given.",
            ),
        ],
    },
    {
        "key": "winback-abstinence",
        "name_de": "Rückgewinnung bei Abstinenz",
        "name_en": "Win-back on Abstinence",
        "description_de": "Seit über einem Jahr keine Bestellung: Kontakt aufnehmen und zum "
        "Wiederkauf einladen.",
        "description_en": "No order for more than a year: get in touch and invite the customer "
        "to buy again.",
        "kind": PlaybookKind.WINBACK,
        "entry_phases": [LifecyclePhase.ABSTINENCE],
        "steps": [
            (
                0,
                StepAction.TASK,
                3,
                "Ehemaligen Kunden prüfen",
                "Review the lapsed customer",
                "Frühere Käufe ansehen und einen Anlass für die Kontaktaufnahme finden.",
                "Look at past purchases and find a reason to get in touch.",
            ),
            (
                2,
                StepAction.CALL,
                3,
                "Ehemaligen Kunden anrufen",
                "Call the lapsed customer",
                "Nachfragen, was sich geändert hat.",
                "Ask what has changed.",
            ),
            (
                7,
                StepAction.OFFER,
                5,
                "Wiederkaufsangebot machen",
                "Make a come-back offer",
                "Ein persönliches Angebot für den Wiedereinstieg senden.",
                "Send a personalised offer to come back.",
            ),
        ],
    },
]


def ensure_defaults() -> int:
    """Create the playbooks Kreis ships where missing (by key). Returns how many were created.
    Used by the data migration, the demo and the tests (which flush migration rows)."""
    created = 0
    with transaction.atomic():
        for spec in DEFAULTS:
            if Playbook.objects.filter(key=spec["key"]).exists():
                continue
            fields = {k: v for k, v in spec.items() if k != "steps"}
            fields["entry_phases"] = [str(p) for p in fields["entry_phases"]]
            playbook = Playbook.objects.create(**fields)
            PlaybookStep.objects.bulk_create(
                PlaybookStep(
                    playbook=playbook,
                    position=i,
                    delay_days=delay,
                    action=action,
                    due_days=due,
                    title_de=title_de,
                    title_en=title_en,
                    description_de=desc_de,
                    description_en=desc_en,
                )
                for i, (delay, action, due, title_de, title_en, desc_de, desc_en) in enumerate(
                    spec["steps"], start=1
                )
            )
            created += 1
    return created
