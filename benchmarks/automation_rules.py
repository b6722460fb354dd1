"""What the automation rules add to a record save, and how fast the worker evaluates events.

In one process, against the database the environment names (``KREIS_DATA`` for SQLite,
``DATABASE_URL`` for PostgreSQL; migrated before):

1. the baseline: ``--saves`` updates of deals and organisations through the normal service
   functions (``deal_update`` with a new amount, every fifth with a new stage;
   ``party_update`` with new notes), with no enabled rule;
2. the same saves with ``--rules`` enabled rules of varied triggers (a field changes, a deal's
   stage changes, a record is changed) whose conditions do and do not match. Here the save
   path includes the capture in the request: the rule index lookup, the old values of watched
   fields (one query), and the queued job after commit (the real queue: SQLite jobs file or
   Redis);
3. the worker side: the events queued in step 2 are evaluated by ``engine.process`` in
   chunks as the job does it (conditions, actions, the run log); events per second.

The rules' actions write (tags, tasks); what they change is not measured in step 2 (the
worker does it). The benchmark's records and rules are created under names starting with
"Bench rules" and deleted afterwards.

    KREIS_DATA=/tmp/kd .venv/bin/python benchmarks/automation_rules.py --saves 2000
    DATABASE_URL=postgres://… KREIS_DATA=/tmp/kd .venv/bin/python benchmarks/automation_rules.py
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from decimal import Decimal

PREFIX = "Bench rules"


def _django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kreis.settings")
    import django

    django.setup()


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def setup(records: int):
    from kreis.core.models import User
    from kreis.parties.services import party_create
    from kreis.sales.services import deal_create, default_pipeline

    admin = User.objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
    if admin is None:
        admin = User.objects.create_superuser("bench-rules", "bench-rules@example.org", "x" * 20)
    pipeline = default_pipeline()
    stages = list(pipeline.stages.filter(kind="open").order_by("position"))
    orgs, deals = [], []
    for i in range(records):
        org = party_create(actor=admin, kind="organization", name=f"{PREFIX} {i}")
        orgs.append(org)
        deals.append(
            deal_create(actor=admin, name=f"{PREFIX} deal {i}", organization=org, amount=1000 + i)
        )
    return admin, stages, orgs, deals


def make_rules(admin, count: int, stages) -> list:
    from kreis.automation.rules import services

    kinds = [
        # a field changes: amount (matches), with a condition that matches half the deals
        {
            "trigger": "field.changed",
            "record_type": "deal",
            "trigger_config": {"field": "amount"},
            "conditions": [{"kind": "field", "field": "amount", "op": "gt", "value": "1500"}],
            "actions": [{"kind": "add_tag", "tag": "bench-big"}],
        },
        # a field changes that the saves never change (watched, never fires)
        {
            "trigger": "field.changed",
            "record_type": "deal",
            "trigger_config": {"field": "expected_close"},
            "actions": [{"kind": "add_tag", "tag": "bench-close"}],
        },
        # a deal's stage changes to a given stage, condition that does not match
        {
            "trigger": "deal.stage_changed",
            "record_type": "deal",
            "trigger_config": {"stage_id": stages[-1].pk},
            "conditions": [{"kind": "field", "field": "amount", "op": "lt", "value": "0"}],
            "actions": [{"kind": "create_task", "subject": "Follow up {{ name }}", "days": 2}],
        },
        # a deal's stage changes (any), condition matches
        {
            "trigger": "deal.stage_changed",
            "record_type": "deal",
            "conditions": [{"kind": "field", "field": "name", "op": "contains", "value": "deal"}],
            "actions": [{"kind": "create_task", "subject": "Check {{ name }}", "days": 1}],
        },
        # an organisation is changed, condition does not match
        {
            "trigger": "record.updated",
            "record_type": "party",
            "conditions": [{"kind": "field", "field": "name", "op": "eq", "value": "nobody"}],
            "actions": [{"kind": "add_tag", "tag": "bench-never"}],
        },
        # an organisation's notes change, condition matches
        {
            "trigger": "field.changed",
            "record_type": "party",
            "trigger_config": {"field": "notes"},
            "conditions": [{"kind": "field", "field": "name", "op": "contains", "value": "Bench"}],
            "actions": [{"kind": "add_tag", "tag": "bench-described"}],
        },
    ]
    rules = []
    for i in range(count):
        data = {"name": f"{PREFIX} {i}", "enabled": True, **kinds[i % len(kinds)]}
        rules.append(services.rule_create(actor=admin, data=data))
    return rules


def saves(admin, stages, orgs, deals, count: int, round_: int) -> list[float]:
    """``count`` updates through the service functions; the milliseconds of each."""
    from kreis.parties.services import party_update
    from kreis.sales.services import deal_update

    times = []
    for i in range(count):
        n = i // 2
        start = time.perf_counter()
        if i % 2 == 0:
            deal = deals[n % len(deals)]
            changes = {"amount": Decimal(1000 + (n * 37 + round_ * 11) % 1000)}
            if n % 5 == 0:
                changes["stage"] = stages[(n // 5 + round_) % len(stages)]
            deals[n % len(deals)] = deal_update(actor=admin, deal=deal, **changes)
        else:
            org = orgs[n % len(orgs)]
            orgs[n % len(orgs)] = party_update(
                actor=admin, party=org, notes=f"round {round_} save {i}"
            )
        times.append((time.perf_counter() - start) * 1000)
    return times


def cleanup(rules, orgs, deals) -> None:
    from kreis.activities.models import Activity
    from kreis.automation.rules import capture
    from kreis.automation.rules.models import Rule
    from kreis.parties.models import Party
    from kreis.sales.models import Deal

    Rule.objects.filter(pk__in=[r.pk for r in rules]).delete()
    capture.changed()
    Activity.objects.filter(subject__startswith="Follow up " + PREFIX).delete()
    Activity.objects.filter(subject__startswith="Check " + PREFIX).delete()
    Deal.objects.filter(pk__in=[d.pk for d in deals]).delete()
    Party.objects.filter(pk__in=[o.pk for o in orgs]).delete()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--saves", type=int, default=2000)
    parser.add_argument("--rules", type=int, default=20)
    parser.add_argument("--records", type=int, default=200)
    parser.add_argument("--chunk", type=int, default=500, help="events per worker job")
    args = parser.parse_args()
    _django()
    from django.db import connection

    from kreis.automation.rules import capture, engine
    from kreis.automation.rules.models import Rule, RuleRun

    if Rule.objects.filter(enabled=True).exists():
        raise SystemExit("this database has enabled rules; run the benchmark on its own data")
    admin, stages, orgs, deals = setup(args.records)
    rules = []
    try:
        capture.changed()
        saves(admin, stages, orgs, deals, 100, 99)  # warm-up
        baseline = saves(admin, stages, orgs, deals, args.saves, 0)

        rules = make_rules(admin, args.rules, stages)
        capture.changed()
        queued: list[dict] = []
        real = capture.evaluate_later

        def collect(events):
            queued.extend(events)
            return real(events)

        capture.evaluate_later = collect
        saves(admin, stages, orgs, deals, 100, 98)  # warm-up with rules
        queued.clear()
        with_rules = saves(admin, stages, orgs, deals, args.saves, 1)
        capture.evaluate_later = real

        runs_before = RuleRun.objects.count()
        start = time.perf_counter()
        made = 0
        for i in range(0, len(queued), args.chunk):
            made += engine.process(queued[i : i + args.chunk])
        worker_s = time.perf_counter() - start
        runs = RuleRun.objects.count() - runs_before
    finally:
        cleanup(rules, orgs, deals)

    rows = [
        ("saves, no rules", baseline),
        (f"saves, {args.rules} enabled rules", with_rules),
    ]
    print(f"database: {connection.vendor}; {args.saves} saves (half deals, half organisations)")
    print(f"{'':32} {'p50 ms':>8} {'p95 ms':>8} {'mean ms':>8}")
    for label, values in rows:
        print(
            f"{label:32} {_pct(values, 0.5):8.2f} {_pct(values, 0.95):8.2f} "
            f"{statistics.mean(values):8.2f}"
        )
    added50 = _pct(with_rules, 0.5) - _pct(baseline, 0.5)
    added95 = _pct(with_rules, 0.95) - _pct(baseline, 0.95)
    print(f"{'added by the rules':32} {added50:8.2f} {added95:8.2f}")
    print(
        f"worker: {len(queued)} events queued, {made} rule evaluations, {runs} runs logged, "
        f"{worker_s:.2f} s: {len(queued) / worker_s:.0f} events/s, "
        f"{made / worker_s:.0f} evaluations/s"
    )


if __name__ == "__main__":
    main()
