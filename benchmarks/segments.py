"""Counting a dynamic segment over 100,000 parties (issue 13: < 200 ms on SQLite and
PostgreSQL): ``count_members`` of a segment with three conditions — a computed figure (ABC
class A or B), the CLV (at least 20,000) and a custom field (Branche = Maschinenbau) — and of
variants (territory instead of the custom field; a custom number compared through its cast;
any instead of all). p50/p95 over N counts after one warm-up; the baseline in the same process
is the bare ``SELECT COUNT(*)`` of the party table (SQLite answers it from the smallest
index) and the count of the live parties by one pass over the table.

The data (100,000 parties with ABC class, RFM segment and scores, lifecycle phase, CLV,
revenue, score, territory and two custom fields, 2 % of them deleted) is written by bulk
inserts into a database of its own, then ANALYZEd:

    .venv/bin/python benchmarks/segments.py [--parties 100000] [--runs 30] [--data DIR]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_segments .venv/bin/python \\
        benchmarks/segments.py         # the database is created if it is missing

SQLite lives in a temporary data folder (or ``--data``, reused when it holds the parties).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BRANCHEN = [
    "Maschinenbau",
    "Handel",
    "Bau",
    "Logistik",
    "IT",
    "Chemie",
    "Lebensmittel",
    "Energie",
]
TERRITORIES = ["Nord", "Süd", "West", "Ost", "Mitte", "Bayern", "Berlin", "Österreich"]
PHASES = [
    "initiation",
    "socialization",
    "growth",
    "maturity",
    "endangerment",
    "dissolution",
    "abstinence",
]
PHASE_WEIGHTS = [0.25, 0.1, 0.15, 0.25, 0.1, 0.05, 0.1]
RFM = [
    "champions",
    "loyal",
    "potential_loyalist",
    "new",
    "promising",
    "need_attention",
    "about_to_sleep",
    "at_risk",
    "cant_lose",
    "hibernating",
    "lost",
]


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed(fn, n: int) -> list[float]:
    fn()  # warm up
    gc.freeze()
    wall = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        wall.append((time.perf_counter() - started) * 1000)
    return wall


def ensure_postgres_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def generate(total: int) -> None:
    """Users, teams, the custom fields and the parties with their figures (a fixed seed).
    Customers (60 %) have figures; prospects have none, as after an analytics run."""
    from django.db import connection
    from django.utils import timezone

    from kreis.core.models import CustomField, Membership, Role, Team, User
    from kreis.parties.models import Party

    rng = np.random.default_rng(7)
    CustomField.objects.create(
        entity="party", key="branche", label="Branche", type="choice", choices=BRANCHEN
    )
    CustomField.objects.create(
        entity="party", key="mitarbeiter", label="Mitarbeiter", type="number"
    )
    teams = Team.objects.bulk_create([Team(name=f"Vertrieb {t}") for t in TERRITORIES])
    reps = User.objects.bulk_create(
        [User(username=f"rep{i:02d}", role=Role.SALES_REP) for i in range(40)]
    )
    Membership.objects.bulk_create(
        [Membership(team=teams[i % len(teams)], user=r) for i, r in enumerate(reps)]
    )
    User.objects.create(username="marketing", role=Role.MARKETING)
    now = timezone.now()
    customer = rng.random(total) < 0.6
    abc = rng.choice(["A", "B", "C"], total, p=[0.1, 0.2, 0.7])
    clv = np.round(rng.lognormal(9.2, 1.1, total), 2)
    revenue = np.round(clv * rng.uniform(0.05, 0.4, total), 2)
    phase = rng.choice(PHASES, total, p=PHASE_WEIGHTS)
    rfm = rng.choice(RFM, total)
    scores = rng.integers(1, 6, (total, 3))
    branche = rng.choice(BRANCHEN, total, p=[0.2, 0.2, 0.15, 0.1, 0.1, 0.1, 0.1, 0.05])
    staff = rng.integers(1, 5000, total)
    territory = rng.integers(0, len(TERRITORIES), total)
    rep = rng.integers(0, len(reps), total)
    deleted = rng.random(total) < 0.02
    created = now - dt.timedelta(days=1)
    # Plain INSERTs of every column (the model's defaults for the rest): several times faster
    # than building 100,000 model instances for bulk_create.
    fields = [f for f in Party._meta.concrete_fields if not f.primary_key]
    defaults = {f.column: f.get_db_prep_save(f.get_default(), connection) for f in fields}
    defaults.update(
        {"kind": "organization", "created_at": created, "updated_at": created, "deleted_at": None}
    )
    columns = list(defaults)
    json_field = {f.column: f for f in fields if f.get_internal_type() == "JSONField"}
    rows = []
    for i in range(total):
        t = int(territory[i])
        row = dict(defaults)
        row.update(
            name=f"Firma {i:06d} GmbH",
            territory=TERRITORIES[t],
            industry=str(branche[i]),
            lifecycle_phase=str(phase[i]) if customer[i] else "initiation",
            owner_id=reps[int(rep[i])].pk,
            team_id=teams[t].pk,
            custom=json_field["custom"].get_db_prep_save(
                {"branche": str(branche[i]), "mitarbeiter": int(staff[i])}, connection
            ),
            deleted_at=now if deleted[i] else None,
        )
        if customer[i]:
            row.update(
                abc_class=str(abc[i]),
                clv=str(clv[i]),
                revenue_12m=str(revenue[i]),
                rfm_segment=str(rfm[i]),
                rfm_recency=int(scores[i][0]),
                rfm_frequency=int(scores[i][1]),
                rfm_monetary=int(scores[i][2]),
                score=float(scores[i].sum() * 6),
                p_alive=float(scores[i][0] / 5),
            )
        rows.append([row[c] for c in columns])
    sql = (
        f"INSERT INTO {Party._meta.db_table} ({', '.join(columns)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )
    with connection.cursor() as cursor:
        for chunk in range(0, total, 10_000):
            cursor.executemany(sql, rows[chunk : chunk + 10_000])
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("VACUUM ANALYZE")
        else:
            cursor.execute("ANALYZE")


SEGMENTS = {
    "ABC in A,B · CLV ≥ 20,000 · custom Branche = Maschinenbau": (
        "all",
        [
            {"field": "abc_class", "op": "in", "value": ["A", "B"]},
            {"field": "clv", "op": "gte", "value": "20000"},
            {"field": "custom.branche", "op": "eq", "value": "Maschinenbau"},
        ],
    ),
    "ABC in A,B · CLV ≥ 20,000 · territory = Nord": (
        "all",
        [
            {"field": "abc_class", "op": "in", "value": ["A", "B"]},
            {"field": "clv", "op": "gte", "value": "20000"},
            {"field": "territory", "op": "eq", "value": "Nord"},
        ],
    ),
    "phase = endangerment · custom Mitarbeiter ≥ 1,000 (cast) · RFM at risk": (
        "all",
        [
            {"field": "lifecycle_phase", "op": "eq", "value": "endangerment"},
            {"field": "custom.mitarbeiter", "op": "gte", "value": 1000},
            {"field": "rfm_segment", "op": "in", "value": ["at_risk", "cant_lose"]},
        ],
    ),
    "any of: ABC = A · CLV ≥ 100,000 · custom Branche = Energie": (
        "any",
        [
            {"field": "abc_class", "op": "eq", "value": "A"},
            {"field": "clv", "op": "gte", "value": "100000"},
            {"field": "custom.branche", "op": "eq", "value": "Energie"},
        ],
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parties", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--data", help="reuse this data folder of an earlier run (SQLite)")
    args = parser.parse_args()
    data = Path(args.data) if args.data else Path(tempfile.mkdtemp(prefix="bench-segments-"))
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

    from kreis.marketing.models import Segment
    from kreis.marketing.segments.queries import clean_conditions, count_members
    from kreis.parties.models import Party

    call_command("migrate", verbosity=0)
    if not Party.objects.exists():
        started = time.perf_counter()
        generate(args.parties)
        print(f"generated in {time.perf_counter() - started:.0f} s")
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 - the developer's git
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout.strip()
    deleted = Party.objects.filter(deleted_at__isnull=False).count()
    load = os.getloadavg()
    print(
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, commit {commit}, {connection.vendor}: "
        f"{Party.objects.count():,} parties ({deleted:,} deleted); {args.runs} counts each "
        "after a warm-up; load average "
        f"{load[0]:.1f} {load[1]:.1f} {load[2]:.1f}\n"
    )

    def baseline():
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM {Party._meta.db_table}")  # noqa: S608
            cursor.fetchone()

    def one_pass():
        # The live parties, counted by reading the table (SQLite: as count_members reads it).
        hint = " NOT INDEXED" if connection.vendor == "sqlite" else ""
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT COUNT(*) FROM {Party._meta.db_table}{hint} "  # noqa: S608
                "WHERE deleted_at IS NULL"
            )
            cursor.fetchone()

    rows = [
        ("baseline: bare SELECT COUNT(*) of the party table", "", timed(baseline, args.runs)),
        ("baseline: COUNT(*) of the live parties, one pass", "", timed(one_pass, args.runs)),
    ]
    for label, (match, conditions) in SEGMENTS.items():
        segment = Segment(name=label, match=match, conditions=clean_conditions(conditions))
        members = count_members(segment)
        rows.append((label, f"{members:,}", timed(lambda s=segment: count_members(s), args.runs)))
    load = os.getloadavg()
    print(f"load average at the end {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}\n")
    print("| count | members | p50 ms | p95 ms |\n|---|---:|---:|---:|")
    for label, members, wall in rows:
        print(
            f"| {label} | {members} | {statistics.median(wall):.1f} | "
            f"{percentile(wall, 0.95):.1f} |"
        )


if __name__ == "__main__":
    main()
