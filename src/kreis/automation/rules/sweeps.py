"""Triggers found by looking rather than by being told: dates, SLA deadlines, scores.

Each finds its records set-based (one query per rule), then keeps only those not yet fired for
the same occasion (``RuleOccasion``: the last order's date, the contract end, the missed
deadline, the crossing), records the new occasions in one insert and queues their events.
So a record fires once per occasion, not every day: a customer without an order for 90 days
fires once; after a new order and another 90 days without one, again.

- "no order for N days": parties whose last order (a live order transaction) lies N or more
  days back; the occasion is that order's date.
- "contract ends in N days": parties whose ``contract_end`` (the field the lifecycle engine
  reads) lies from today to N days ahead; the occasion is that date.
- "SLA breached": open cases past their next deadline (``kreis.service.queries.overdue_q``,
  what the case list's "overdue" shows); the occasion is the deadline missed.
- "score crossed": leads or parties whose score is at or above the threshold; the occasion is
  the crossing — dropping below it again clears it. Scores are written set-based by the
  scoring runs (no signal per record), so this looks for them. When a rule is first swept, the
  records already above its threshold are noted without firing: only crossings from then on fire.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from kreis.automation.rules import capture
from kreis.automation.rules.models import Rule, RuleOccasion, TriggerKind

BASELINE = "baseline"
CROSSED = "crossed"


def _fire(rule: Rule, found: Iterable[tuple[int, str]], *, fire: bool = True) -> int:
    """Record the occasions not yet recorded and queue their events; returns how many."""
    found = list(found)
    if not found:
        return 0
    known: set[tuple[int, str]] = set()
    ids = [pk for pk, _ in found]
    for start in range(0, len(ids), 5000):
        known |= set(
            RuleOccasion.objects.filter(
                rule=rule, record_id__in=ids[start : start + 5000]
            ).values_list("record_id", "key")
        )
    new = [(pk, key) for pk, key in found if (pk, key) not in known]
    if not new:
        return 0
    with transaction.atomic():
        RuleOccasion.objects.bulk_create(
            [RuleOccasion(rule=rule, record_id=pk, key=key) for pk, key in new],
            batch_size=1000,
            ignore_conflicts=True,
        )
        if fire:
            capture.emit(
                [
                    capture.event(rule.trigger, rule.record_type, pk, {"occasion": key})
                    | {"rule_id": rule.pk}
                    for pk, key in new
                ]
            )
    return len(new) if fire else 0


def no_order(rule: Rule, today: dt.date) -> int:
    from kreis.commerce.models import Transaction, TransactionKind

    cutoff = today - dt.timedelta(days=rule.trigger_config.get("days", 0))
    rows = (
        Transaction.objects.filter(
            kind=TransactionKind.ORDER,
            deleted_at__isnull=True,
            party__deleted_at__isnull=True,
        )
        .values("party_id")
        .annotate(last=Max("date"))
        .filter(last__lte=cutoff)
        .values_list("party_id", "last")
    )
    return _fire(rule, ((pk, last.isoformat()) for pk, last in rows))


def contract_ends(rule: Rule, today: dt.date) -> int:
    from kreis.parties.models import Party

    until = today + dt.timedelta(days=rule.trigger_config.get("days", 0))
    rows = Party.objects.filter(
        deleted_at__isnull=True, contract_end__gte=today, contract_end__lte=until
    ).values_list("pk", "contract_end")
    return _fire(rule, ((pk, end.isoformat()) for pk, end in rows))


def sla_breached(rule: Rule, now: dt.datetime) -> int:
    from kreis.service.models import Case
    from kreis.service.queries import overdue_q

    rows = Case.objects.filter(overdue_q(now)).values_list(
        "pk", "acknowledged_at", "ack_due_at", "resolve_due_at"
    )

    def key(acked, ack, res) -> str:
        missed = ("ack", ack) if acked is None else ("resolve", res)
        return f"{missed[0]}:{missed[1]:%Y%m%d%H%M}"

    return _fire(rule, ((pk, key(acked, ack, res)) for pk, acked, ack, res in rows))


def score_crossed(rule: Rule) -> int:
    from kreis.automation.rules.records import model_for

    model = model_for(rule.record_type or "lead")
    threshold = rule.trigger_config.get("threshold", 0)
    above = model._base_manager.filter(deleted_at__isnull=True, score__gte=threshold)
    first = not RuleOccasion.objects.filter(rule=rule, record_id=0, key=BASELINE).exists()
    # Below the threshold again: the next crossing fires anew.
    below = RuleOccasion.objects.filter(rule=rule, key=CROSSED).exclude(
        record_id__in=above.values("pk")
    )
    below.delete()
    fired = _fire(
        rule, ((pk, CROSSED) for pk in above.values_list("pk", flat=True)), fire=not first
    )
    if first:
        RuleOccasion.objects.get_or_create(rule=rule, record_id=0, key=BASELINE)
    return fired


def sweep_daily(today: dt.date | None = None) -> int:
    today = today or timezone.localdate()
    total = 0
    for rule in Rule.objects.filter(enabled=True, trigger=TriggerKind.NO_ORDER):
        total += no_order(rule, today)
    for rule in Rule.objects.filter(enabled=True, trigger=TriggerKind.CONTRACT_ENDS):
        total += contract_ends(rule, today)
    return total


def sweep_frequent(now: dt.datetime | None = None) -> int:
    now = now or timezone.now()
    total = 0
    for rule in Rule.objects.filter(enabled=True, trigger=TriggerKind.SLA_BREACHED):
        total += sla_breached(rule, now)
    for rule in Rule.objects.filter(enabled=True, trigger=TriggerKind.SCORE_CROSSED):
        total += score_crossed(rule)
    return total
