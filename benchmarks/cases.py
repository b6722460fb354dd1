"""Complaint cases at scale: the case list (first page, status + severity, a search, sorted by
due date), a case's page with its messages and transitions, and the API list — as a service
agent who sees only the team's cases and as a sales manager who sees every case — on 100,000
cases. p50/p95 and the number of SQL statements of one request.

In-process Django test client (no HTTP), each page requested N times after one warm-up,
``gc.freeze()`` after the warm-up as ``kreis serve`` does before it forks its workers (as in
``crm_pages.py``). Baseline in the same run: the bare SQL of the list's first page (the newest
25 cases, no permission filter, no joins).

The data (20 teams of 4 service agents, 10 sales reps, 20,000 customers, 100,000 cases over two
years with one transition and one message each; the agent's busiest case gets 30 messages and
12 transitions more) is written by bulk inserts into a database of its own, then ANALYZEd
(PostgreSQL: VACUUM ANALYZE, as ``kreis demo`` ends):

    .venv/bin/python benchmarks/cases.py [--cases 100000] [--requests 60] [--data DIR]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_cases .venv/bin/python \\
        benchmarks/cases.py            # the database is created if it is missing

SQLite lives in a temporary data folder (or ``--data``, reused when it holds the cases).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
TEAMS, AGENTS_PER_TEAM, REPS, PARTIES = 20, 4, 10, 20_000
SUBJECTS = [
    "Lieferung unvollständig",
    "Pumpe undicht",
    "Invoice charged twice",
    "Ersatzteil falsch geliefert",
    "Warranty claim for motor",
    "Techniker kam nicht",
    "Scratches on the housing",
    "Rechnung mit falschem Rabatt",
]
STATUSES = ["received", "acknowledged", "in_progress", "solution_proposed", "resolved", "closed"]
STATUS_WEIGHTS = [0.04, 0.04, 0.1, 0.04, 0.13, 0.65]
SEVERITIES = ["low", "medium", "high", "critical"]
SEVERITY_WEIGHTS = [0.3, 0.45, 0.2, 0.05]


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed(fn, n: int) -> tuple[list[float], list[float]]:
    """Wall times and this thread's CPU times (ms). The CPU time does not stretch when other
    processes take the CPU away: on a busy machine it shows what the code costs (SQLite runs
    in this thread; PostgreSQL's own work is in its server process and counts only in wall)."""
    fn()  # warm up (templates, caches)
    gc.freeze()  # as `kreis serve` does before it starts its workers
    wall, cpu = [], []
    for _ in range(n):
        started, started_cpu = time.perf_counter(), time.thread_time()
        fn()
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.thread_time() - started_cpu) * 1000)
    return wall, cpu


def ensure_postgres_database(url: str) -> None:
    """Create the benchmark's PostgreSQL database if it is missing."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def generate(total: int) -> None:
    """Users, teams, customers and cases with one transition and one message each (bulk
    inserts, a fixed random seed)."""
    from django.db import connection
    from django.utils import timezone

    from kreis.core.models import Membership, Role, Team, User
    from kreis.parties.models import Party
    from kreis.service.models import Case, CaseCategory, CaseMessage, CaseTransition

    rng = np.random.default_rng(7)
    User.objects.create(username="manager", role=Role.SALES_MANAGER, first_name="Mia")
    teams = Team.objects.bulk_create([Team(name=f"Service {i:02d}") for i in range(TEAMS)])
    agents = User.objects.bulk_create(
        [
            User(username=f"agent{i:03d}", role=Role.SERVICE_AGENT, last_name=f"Agent {i}")
            for i in range(TEAMS * AGENTS_PER_TEAM)
        ]
    )
    Membership.objects.bulk_create(
        [Membership(team=teams[i // AGENTS_PER_TEAM], user=a) for i, a in enumerate(agents)]
    )
    reps = User.objects.bulk_create(
        [User(username=f"rep{i:02d}", role=Role.SALES_REP) for i in range(REPS)]
    )
    parties = Party.objects.bulk_create(
        [
            Party(kind="organization", name=f"Kunde {i:05d} GmbH", owner=reps[i % REPS])
            for i in range(PARTIES)
        ],
        batch_size=2000,
    )
    party_ids = [p.pk for p in parties]
    agent_ids = [a.pk for a in agents]
    team_ids = [t.pk for t in teams]
    categories = list(CaseCategory.objects.filter(is_active=True).values_list("pk", flat=True))
    now = timezone.now()
    start = now - dt.timedelta(days=730)
    created = sorted(
        start + dt.timedelta(seconds=float(s)) for s in rng.uniform(0, 730 * 86400, total)
    )
    status = rng.choice(STATUSES, total, p=STATUS_WEIGHTS)
    severity = rng.choice(SEVERITIES, total, p=SEVERITY_WEIGHTS)
    agent = rng.integers(0, len(agent_ids), total)
    party = rng.integers(0, len(party_ids), total)
    category = rng.integers(0, len(categories), total)
    subject = rng.integers(0, len(SUBJECTS), total)
    rows = []
    counters: dict[int, int] = {}
    for i in range(total):
        at = created[i]
        counters[at.year] = counters.get(at.year, 0) + 1
        st = str(status[i])
        ack_due, resolve_due = at + dt.timedelta(days=1), at + dt.timedelta(days=5)
        acknowledged = at + dt.timedelta(hours=3) if st != "received" else None
        resolved = at + dt.timedelta(days=3) if st in ("resolved", "closed") else None
        closed = at + dt.timedelta(days=6) if st == "closed" else None
        a = int(agent[i])
        rows.append(
            (
                f"C-{at.year}-{counters[at.year]:06d}",
                party_ids[int(party[i])],
                "email",
                categories[int(category[i])],
                str(severity[i]),
                f"{SUBJECTS[int(subject[i])]} ({i})",
                "Beschreibung",
                "de",
                st,
                agent_ids[a],
                team_ids[a // AGENTS_PER_TEAM],
                ack_due,
                resolve_due,
                acknowledged,
                resolved,
                closed,
                at,
                at,
            )
        )
    with connection.cursor() as cursor:
        for chunk in range(0, total, 10_000):
            cursor.executemany(
                f"INSERT INTO {Case._meta.db_table} (number, party_id, channel, category_id, "  # noqa: S608
                "severity, subject, description, language, status, waiting_for_customer, "
                "paused_seconds, owner_id, team_id, region, ack_due_at, resolve_due_at, "
                "acknowledged_at, resolved_at, closed_at, created_at, updated_at) VALUES "
                "(%s, %s, %s, %s, %s, %s, %s, %s, %s, false, 0, %s, %s, '', %s, %s, %s, %s, %s, "
                "%s, %s)",
                rows[chunk : chunk + 10_000],
            )
        ids = list(Case.objects.order_by("pk").values_list("pk", flat=True))
        cursor.executemany(
            f"INSERT INTO {CaseTransition._meta.db_table} (case_id, event, actor_id, "  # noqa: S608
            "from_status, to_status, note, created_at) VALUES (%s, 'received', NULL, '', "
            "'received', '', %s)",
            [(pk, created[i]) for i, pk in enumerate(ids)],
        )
        cursor.executemany(
            f"INSERT INTO {CaseMessage._meta.db_table} (case_id, kind, author_id, body, "  # noqa: S608
            "email_message_id, created_at) VALUES (%s, 'customer_message', NULL, %s, '', %s)",
            [(pk, "Die Ware kam beschädigt an.", created[i]) for i, pk in enumerate(ids)],
        )
    # The case page's case: the first agent's newest open case gets a longer history.
    busy = Case.objects.filter(owner_id=agent_ids[0], status="in_progress").order_by("-pk").first()
    CaseMessage.objects.bulk_create(
        [
            CaseMessage(
                case=busy,
                kind=("internal_note", "customer_reply", "customer_message")[i % 3],
                author_id=agent_ids[0] if i % 3 != 2 else None,
                body=f"Nachricht {i}: " + "Text " * 40,
            )
            for i in range(30)
        ]
    )
    CaseTransition.objects.bulk_create(
        [
            CaseTransition(
                case=busy,
                event="status",
                actor_id=agent_ids[0],
                from_status=STATUSES[1 + i % 2],
                to_status=STATUSES[1 + (i + 1) % 2],
                note=f"Schritt {i}",
            )
            for i in range(12)
        ]
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("VACUUM ANALYZE")
        else:
            cursor.execute("ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--data", help="reuse this data folder of an earlier run (SQLite)")
    parser.add_argument("--only", default="", help="only pages whose label contains this")
    args = parser.parse_args()
    data = Path(args.data) if args.data else Path(tempfile.mkdtemp(prefix="bench-cases-"))
    os.environ["KREIS_DATA"] = str(data)
    os.environ.setdefault("KREIS_LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kreis.settings")
    sys.path.insert(0, str(ROOT / "src"))
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        ensure_postgres_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from kreis.core.models import User
    from kreis.service.models import Case, CaseMessage

    call_command("migrate", verbosity=0)
    call_command("collectstatic", verbosity=0, interactive=False)  # as `kreis serve` needs
    if not Case.objects.exists():
        started = time.perf_counter()
        generate(args.cases)
        print(f"generated in {time.perf_counter() - started:.0f} s")

    agent = User.objects.get(username="agent000")
    manager = User.objects.get(username="manager")
    # The only case with internal notes is the one `generate` gave a longer history.
    busy = Case.objects.get(
        pk=CaseMessage.objects.filter(kind="internal_note").values_list("case_id")[:1]
    )
    load = os.getloadavg()
    print(
        f"{connection.vendor}: {Case.objects.count():,} cases ({data}); the agent's team has "
        f"{Case.objects.filter(team_id__in=agent.team_ids()).count():,}; case page "
        f"{busy.number} with {busy.messages.count()} messages and {busy.transitions.count()} "
        f"transitions; load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}"
    )

    pages = {
        "list, first page": "/cases/",
        "list, status + severity": "/cases/?status=in_progress&severity=high",
        "list, search (customer name)": "/cases/?q=Kunde%2001234",
        "list, search (subject word)": "/cases/?q=undicht",
        "list, sorted by due date": "/cases/?sort=due",
        "case page (messages, transitions)": f"/cases/{busy.pk}/",
        "API list, first page": "/api/v1/cases",
        "API list, status + severity": "/api/v1/cases?status=in_progress&severity=high",
    }

    def baseline():
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id, number, subject FROM {Case._meta.db_table} "  # noqa: S608
                "ORDER BY created_at DESC, id DESC LIMIT 25"
            )
            cursor.fetchall()

    rows = [("baseline: bare SQL of the first page", "", timed(baseline, args.requests), 1)]
    for who, user in (("agent", agent), ("manager", manager)):
        client = Client()
        client.force_login(user)
        for label, path in pages.items():
            if args.only and args.only not in label:
                continue

            def fn(path=path, client=client, who=who):
                response = client.get(path, HTTP_HOST="localhost")
                if response.status_code != 200:
                    raise SystemExit(f"GET {path} as {who}: HTTP {response.status_code}")

            counted: list[int] = []
            with connection.execute_wrapper(
                lambda execute, *a, c=counted: c.append(1) or execute(*a)
            ):
                fn()
            rows.append((label, who, timed(fn, args.requests), len(counted)))
    load = os.getloadavg()
    print(
        f"in-process (Django test client, no HTTP; {args.requests} requests each); load "
        f"average at the end {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}\n"
    )
    print(
        "| page | as | p50 ms | p95 ms | CPU p50 ms | CPU p95 ms | queries |\n"
        "|---|---|---:|---:|---:|---:|---:|"
    )
    for label, who, (wall, cpu), queries in rows:
        print(
            f"| {label} | {who} | {statistics.median(wall):.1f} | {percentile(wall, 0.95):.1f} | "
            f"{statistics.median(cpu):.1f} | {percentile(cpu, 0.95):.1f} | {queries} |"
        )


if __name__ == "__main__":
    main()
