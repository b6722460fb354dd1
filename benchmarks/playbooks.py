"""Playbooks at scale: a nightly run moves 10,000 of 1,000,000 customers into Endangerment, and
the retention playbook starts for them — enrollments, control group, the first step's tasks.

Measured end to end, through the real path: the run's ``PhaseChange`` rows are written with
``bulk_create`` (as ``pipeline.store`` does) and ``phase_changed`` is sent with them; the
playbooks' receiver hands the change ids to the job queue after the commit; ``kreis worker``
processes (started before, waiting) enrol and create the tasks. The clock stops when every
enrollment and every first task is in the database.

Baseline in the same process: the bare ``bulk_create`` of the same rows (10,000 enrollments,
the treated ones' tasks and step records) without any of the logic.

Data: 1,000,000 customers inserted with raw SQL once per database (kept and reused; only the
parties and the phase changes are needed, not the whole analytics pipeline).

    .venv/bin/python benchmarks/playbooks.py [--customers 1000000] [--moved 10000]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_playbooks \\
        REDIS_URL=redis://127.0.0.1:6379/9 .venv/bin/python benchmarks/playbooks.py --workers 2
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess  # noqa: S404
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = Path(os.environ.get("KREIS_DATA", "/tmp/bench-playbooks"))  # noqa: S108
os.environ.setdefault("KREIS_DATA", str(DATA))
os.environ.setdefault("KREIS_LOG_LEVEL", "WARNING")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kreis.settings")
sys.path.insert(0, str(ROOT / "src"))


def setup_django():
    import django

    DATA.mkdir(parents=True, exist_ok=True)
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def party_row_values(i: int, stamp: str, owner_ids: list[int]) -> list:
    """One party row in column order, from the model's own defaults: the benchmark keeps up
    with columns other apps add."""
    from kreis.parties.models import Party

    values = []
    for f in Party._meta.concrete_fields:
        if f.primary_key:
            values.append(i)
        elif f.attname == "name":
            values.append(f"Customer {i}")
        elif f.attname == "kind":
            values.append("organization")
        elif f.attname == "owner_id":
            values.append(owner_ids[i % len(owner_ids)])
        elif f.attname in ("created_at", "updated_at"):
            values.append(stamp)
        elif f.null:
            values.append(None)
        elif f.has_default():
            default = f.get_default()
            values.append(json.dumps(default) if isinstance(default, dict | list) else default)
        else:
            values.append("")
    return values


def ensure_customers(customers: int) -> dict:
    from django.db import connection, transaction
    from django.utils import timezone

    from kreis.core.models import User
    from kreis.parties.models import Party

    have = Party.objects.count()
    if have >= customers:
        return {"generated": False, "parties": have}
    started = time.perf_counter()
    owners = []
    for k in range(20):
        user, _ = User.objects.get_or_create(
            username=f"bench-rep-{k}", defaults={"first_name": "Rep", "last_name": str(k)}
        )
        owners.append(user.pk)
    stamp = timezone.now().isoformat(sep=" ")
    columns = [f.column for f in Party._meta.concrete_fields]
    table = Party._meta.db_table
    marks = ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608
    start = have + 1
    batch = 50_000
    for lo in range(start, customers + 1, batch):
        hi = min(lo + batch, customers + 1)
        rows = [party_row_values(i, stamp, owners) for i in range(lo, hi)]
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(sql, rows)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {customers})"  # noqa: S608
            )
            cursor.execute(f"ANALYZE {table}")
    return {"generated": True, "parties": customers, "seconds": time.perf_counter() - started}


def reset(moved_ids: list[int]) -> None:
    """Remove what an earlier round made (enrollments, their tasks, the phase changes)."""
    from django.db import transaction

    from kreis.activities.models import Activity
    from kreis.analytics.customer.models import PhaseChange
    from kreis.playbooks.models import Enrollment, StepRun

    with transaction.atomic():
        activity_ids = list(StepRun.objects.values_list("activity_id", flat=True))
        for lo in range(0, len(activity_ids), 5000):
            Activity.objects.filter(pk__in=activity_ids[lo : lo + 5000]).delete()
        StepRun.objects.all().delete()
        Enrollment.objects.all().delete()
        PhaseChange.objects.filter(reason="bench").delete()


def baseline(moved_ids: list[int]) -> float:
    """The bare inserts of the same rows, without lookups, hold-out or claims."""
    from datetime import timedelta

    from django.db import transaction
    from django.utils import timezone

    from kreis.activities.models import Activity
    from kreis.playbooks import services
    from kreis.playbooks.models import Enrollment, Playbook, StepRun

    playbook = Playbook.objects.get(key="retention-endangerment")
    now = timezone.now()
    today = timezone.localdate()
    started = time.perf_counter()
    with transaction.atomic():
        rows = Enrollment.objects.bulk_create(
            [
                Enrollment(
                    playbook=playbook,
                    party_id=pk,
                    status="active",
                    current_step=1,
                    entered_at=now,
                    entered_on=today,
                    window_ends_on=today + timedelta(days=90),
                    next_step_at=now,
                )
                for pk in moved_ids
            ],
            batch_size=1000,
        )
        treated = [r for r in rows if not services.is_held_out(playbook, r.party_id)]
        tasks = Activity.objects.bulk_create(
            [
                Activity(kind="task", subject="Review", occurred_at=now, party_id=r.party_id)
                for r in treated
            ],
            batch_size=1000,
        )
        StepRun.objects.bulk_create(
            [
                StepRun(enrollment_id=r.pk, position=1, action="task", activity_id=a.pk, ran_at=now)
                for r, a in zip(treated, tasks, strict=True)
            ],
            batch_size=1000,
        )
    return time.perf_counter() - started


class Workers:
    """``kreis worker`` processes, started before the run and stopped after it."""

    def __init__(self, n: int, log: Path):
        self.procs = []
        redis = bool(os.environ.get("REDIS_URL"))
        # Redis: n processes of one thread each; the SQLite queue: one process, two threads.
        env = {**os.environ, "KREIS_WORKERS": "1" if redis else "2"}
        self.log = open(log, "w")  # noqa: SIM115
        count = n if redis else 1
        for _ in range(count):
            self.procs.append(
                subprocess.Popen(  # noqa: S603
                    [str(ROOT / ".venv/bin/kreis"), "worker"],
                    env=env,
                    stdout=self.log,
                    stderr=subprocess.STDOUT,
                )
            )
        time.sleep(8)  # the workers import Django and start polling

    def stop(self):
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.log.close()


def measured(moved_ids: list[int], timeout: float) -> dict:
    """The nightly run's part (phase changes stored, signal sent), then the jobs until every
    enrollment and first task exists."""
    from django.db import transaction
    from django.utils import timezone

    from kreis.analytics.customer.models import PhaseChange
    from kreis.analytics.signals import phase_changed
    from kreis.playbooks import services
    from kreis.playbooks.models import Enrollment, Playbook, StepRun

    playbook = Playbook.objects.get(key="retention-endangerment")
    expected = len(moved_ids)
    expected_tasks = sum(not services.is_held_out(playbook, pk) for pk in moved_ids)
    today = timezone.localdate()
    started = time.perf_counter()
    with transaction.atomic():
        changes = PhaseChange.objects.bulk_create(
            [
                PhaseChange(
                    party_id=pk,
                    date=today,
                    from_phase="maturity",
                    to_phase="endangerment",
                    reason="bench",
                )
                for pk in moved_ids
            ],
            batch_size=5000,
        )
    stored = time.perf_counter()
    phase_changed.send(sender=PhaseChange, changes=changes, run=None)
    sent = time.perf_counter()
    enrolled = tasks = 0
    while time.perf_counter() - started < timeout:
        enrolled = Enrollment.objects.count()
        tasks = StepRun.objects.count()
        if enrolled >= expected and tasks >= expected_tasks:
            break
        time.sleep(0.2)
    done = time.perf_counter()
    return {
        "store_phase_changes_s": round(stored - started, 2),
        "signal_s": round(sent - stored, 3),
        "jobs_s": round(done - sent, 2),
        "total_s": round(done - started, 2),
        "enrolled": enrolled,
        "held_out": expected - expected_tasks,
        "first_tasks": tasks,
        "complete": enrolled >= expected and tasks >= expected_tasks,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--moved", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()
    setup_django()
    from django.db import connection

    from kreis.playbooks import services
    from kreis.playbooks.models import Playbook

    data = ensure_customers(args.customers)
    services.ensure_defaults()
    Playbook.objects.exclude(key="retention-endangerment").update(enabled=False)
    Playbook.objects.filter(key="retention-endangerment").update(enabled=True, holdout_percent=10)
    step = max(1, args.customers // args.moved)
    moved_ids = list(range(1, args.customers + 1, step))[: args.moved]
    reset(moved_ids)
    base = baseline(moved_ids)
    reset(moved_ids)
    workers = Workers(args.workers, DATA / "bench-worker.log")
    try:
        result = measured(moved_ids, args.timeout)
    finally:
        workers.stop()
    queue = "Redis" if os.environ.get("REDIS_URL") else "SQLite (embedded)"
    report = {
        "database": connection.vendor,
        "queue": queue,
        "workers": len(workers.procs) if os.environ.get("REDIS_URL") else "1 process, 2 threads",
        "customers": data["parties"],
        "moved": len(moved_ids),
        "baseline_bulk_insert_s": round(base, 2),
        **result,
        "load_average": os.getloadavg(),
        "cpus": os.cpu_count(),
    }
    print(json.dumps(report, indent=2))
    reset(moved_ids)


if __name__ == "__main__":
    main()
