"""Demo playbooks: the three default playbooks with customers in them at every step, some
completed, some ended (ordered again, back in Maturity, removed by hand) and some held out —
entered over the last seven months, so about half the measurement windows have ended.

Time is simulated: each party enters on its day (a phase change on that date), then the sweep
runs once per day up to today, as the job queue would have. Some customers order again within
their window — an order transaction on that day, through the same bulk path as the demo's other
transactions — treated customers (who get the playbook's tasks and offer) somewhat more often
than the control group. The rates and their uplift on the playbooks page are measured from
these enrollments and orders, as for real ones."""

from __future__ import annotations

import random
from datetime import timedelta

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from kreis.activities.models import Activity
from kreis.analytics.customer.models import PhaseChange
from kreis.commerce.bulk import transactions_bulk_create
from kreis.commerce.models import Product, Transaction, TransactionKind, TransactionLine
from kreis.core.demo import DemoContext
from kreis.parties.models import LifecyclePhase, Party
from kreis.playbooks import services
from kreis.playbooks.models import Enrollment, Playbook, PlaybookKind, StepRun

# Retention takes the customers who bought most recently, win-back the long-lapsed ones
# (Abstinence the longest). The small demo has about 70 customers with orders.
PER_PLAYBOOK = {"retention-endangerment": 30, "winback-dissolution": 20, "winback-abstinence": 22}
# A larger control group than the default 10 %, so the demo's few dozen customers give both
# groups members to compare.
HOLDOUT_PERCENT = 30
# The share of each group that orders again within its window: (treated, control). The
# playbook's tasks and offer help; the control group comes back less often on its own.
ORDER_AGAIN = {PlaybookKind.RETENTION: (0.4, 0.25), PlaybookKind.WINBACK: (0.33, 0.18)}
# Retention: the share (of either group) that moves back to Maturity without an order.
RECOVER = 0.1


def _entry_day(rng: random.Random, window: int, days_since: int) -> int:
    """Days ago the party entered — always after its last order; for most of those who
    lapsed long enough ago, so long ago that the measurement window has ended."""
    if days_since > window + 5 and rng.random() < 0.7:
        return rng.randint(window + 3, min(window + 120, days_since - 1))
    wanted = rng.choice([0, 1, 2, 4, 6, 9, 12, 20, 35, 50, 65, 80])
    return max(min(wanted, days_since - 1), 0)


def _outcomes(rng: random.Random, plans: list) -> tuple[dict, dict]:
    """Who orders again (and when), and who recovers without an order: in each playbook,
    group (treated, control) and window (ended, open), the group's share of its members
    (``ORDER_AGAIN``, ``RECOVER``), the members drawn by lot — so the demo's few dozen
    customers show the rates rather than the luck of a coin toss. Days are days ago."""
    orders: dict[int, list[int]] = {}
    recovered: dict[int, list[int]] = {}
    cells: dict[tuple, list] = {}
    for playbook, _phase, pk, days_ago, _current in plans:
        held = services.is_held_out(playbook, pk)
        cells.setdefault((playbook.pk, held, days_ago > playbook.window_days), []).append(
            (playbook, pk, days_ago)
        )
    for (_pb, held, _ended), members in sorted(cells.items()):
        playbook = members[0][0]
        # Only who entered at least four days ago can have ordered again by now.
        able = [m for m in members if m[2] >= 4]
        rng.shuffle(able)
        share = ORDER_AGAIN[playbook.kind][1 if held else 0]
        n_orders = round(share * len(members))
        for _, pk, days_ago in able[:n_orders]:
            latest = min(days_ago, playbook.window_days - 5)
            orders.setdefault(days_ago - rng.randint(4, max(latest, 4)), []).append(pk)
        if playbook.kind == PlaybookKind.RETENTION:
            rest = [m for m in able[n_orders:] if m[2] > 8]
            for _, pk, days_ago in rest[: round(RECOVER * len(members))]:
                recovered.setdefault(days_ago - rng.randint(3, 8), []).append(pk)
    return orders, recovered


def _reorder(rng: random.Random, lines: list[tuple], pk: int, day, number: int) -> dict:
    """An order like one the customer placed before: one of its earlier lines again, at
    today's list price."""
    product, quantity = rng.choice(lines)
    return {
        "party_id": pk,
        "kind": TransactionKind.ORDER,
        "date": day,
        "number": f"SO-{day.year}-{number:07d}",
        "channel": rng.choice(["field", "direct", "online"]),
        "currency": "EUR",
        "note": "",
        "lines": [{"product": product, "quantity": quantity, "unit_price": product.list_price}],
    }


@transaction.atomic
def create_playbooks(context: DemoContext) -> dict[str, int]:
    rng = random.Random(context.fake["de_DE"].random.random())  # noqa: S311 (demo data)
    services.ensure_defaults()
    Playbook.objects.filter(key__in=PER_PLAYBOOK).update(holdout_percent=HOLDOUT_PERCENT)
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
    customers.sort(key=lambda c: c[1] or today, reverse=True)  # most recent buyers first
    used: set[int] = set()
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
            days_ago = _entry_day(rng, playbook.window_days, days_since)
            used.add(pk)
            plans.append((playbook, phase, pk, days_ago, current or LifecyclePhase.MATURITY))
            count -= 1
    orders, recovered = _outcomes(rng, plans)
    # What each customer who orders again bought before (product, quantity).
    products = {p.pk: p for p in Product.objects.filter(is_active=True)}
    bought: dict[int, list[tuple]] = {}
    again = sorted({pk for pks in orders.values() for pk in pks})
    for party_id, product_id, quantity in (
        TransactionLine.objects.filter(
            transaction__party_id__in=again,
            transaction__kind__in=(TransactionKind.ORDER, TransactionKind.INVOICE),
            transaction__deleted_at__isnull=True,
            product_id__in=list(products),
            quantity__gt=0,
        )
        .order_by("pk")
        .values_list("transaction__party_id", "product_id", "quantity")
    ):
        bought.setdefault(party_id, []).append((products[product_id], quantity))
    # Enter each on its day, then let the sweep run day by day up to today.
    horizon = max((p[3] for p in plans), default=0)
    by_day: dict[int, list] = {}
    for plan in plans:
        by_day.setdefault(plan[3], []).append(plan)
    number = Transaction.objects.filter(kind=TransactionKind.ORDER).count()
    enrolled = reorders = 0
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
        for pk in recovered.get(day, []):
            PhaseChange.objects.create(
                party_id=pk,
                date=moment.date(),
                from_phase=LifecyclePhase.ENDANGERMENT,
                to_phase=LifecyclePhase.MATURITY,
                reason="demo",
            )
        rows = []
        for pk in orders.get(day, []):
            if bought.get(pk):
                number += 1
                rows.append(_reorder(rng, bought[pk], pk, moment.date(), number))
        if rows:
            transactions_bulk_create(actor=None, rows=rows)
            reorders += len(rows)
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
    return {"playbook enrollments": enrolled, "playbook reorders": reorders}
