"""The unified inbox at 100,000 items: the inbox page and the API list, as an agent of one team
(sees the items of the team's records and those assigned to her), with the filters a user
picks (not done; assigned to me; a channel; SLA breached; a search). p50/p95 per request.

In-process Django test client (no HTTP), each request N times after one warm-up. Baseline in
the same run: the bare indexed query of the same first page (the newest 50 open items, no
permission filter, no joins, no count).

    .venv/bin/python benchmarks/inbox_list.py [--items 100000] [--requests 40]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test_inbox .venv/bin/python \\
        benchmarks/inbox_list.py       # the database is created if it is missing
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
TEAMS, PER_TEAM = 20, 5
CHANNELS = ["email", "webform", "social", "survey", "complaint"]


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed(fn, n: int) -> list[float]:
    fn()
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
    """Teams of five, 100,000 items over 90 days (a fixed random seed, bulk inserts)."""
    import random

    from django.utils import timezone

    from kreis.core.models import Membership, Team, User
    from kreis.inbox.models import InboxItem

    rng = random.Random(7)  # noqa: S311  (benchmark data)
    teams = Team.objects.bulk_create([Team(name=f"Team {i:02d}") for i in range(TEAMS)])
    users = User.objects.bulk_create(
        [User(username=f"u{t}-{i}") for t in range(TEAMS) for i in range(PER_TEAM)]
    )
    Membership.objects.bulk_create(
        [Membership(team=teams[n // PER_TEAM], user=u) for n, u in enumerate(users)]
    )
    now = timezone.now()
    batch = []
    for n in range(total):
        team = rng.randrange(TEAMS)
        owner = users[team * PER_TEAM + rng.randrange(PER_TEAM)]
        received = now - dt.timedelta(minutes=rng.randrange(90 * 24 * 60))
        roll = rng.random()
        status = "done" if roll < 0.7 else "open" if roll < 0.9 else "pending"
        answered = status == "done" or rng.random() < 0.5
        batch.append(
            InboxItem(
                channel=rng.choice(CHANNELS), source_type="bench", source_id=n,
                subject=f"Anfrage {n}", excerpt="Bitte um Rückruf", sender=f"k{n}@example.com",
                received_at=received, owner_id=owner.pk, team_id=teams[team].pk,
                assignee_id=owner.pk if rng.random() < 0.7 else None,
                assigned_team_id=teams[team].pk, status=status,
                first_response_due_at=received + dt.timedelta(hours=8),
                first_responded_at=received + dt.timedelta(hours=2) if answered else None,
            )
        )  # fmt: skip
        if len(batch) == 5000:
            InboxItem.objects.bulk_create(batch)
            batch = []
    InboxItem.objects.bulk_create(batch)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--data", help="reuse this KREIS_DATA directory (keeps the items)")
    args = parser.parse_args()
    data = Path(args.data) if args.data else Path(tempfile.mkdtemp(prefix="kreis-bench-inbox-"))
    data.mkdir(parents=True, exist_ok=True)
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
    from kreis.inbox.models import InboxItem

    call_command("migrate", verbosity=0)
    call_command("collectstatic", verbosity=0, interactive=False)  # as `kreis serve` needs
    if not InboxItem.objects.filter(source_type="bench").exists():
        started = time.perf_counter()
        generate(args.items)
        print(f"generated {args.items} items in {time.perf_counter() - started:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    user = User.objects.get(username="u3-1")
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    engine = connection.vendor
    n = args.requests

    def baseline():
        list(
            InboxItem.objects.filter(status="open")
            .order_by("-received_at", "-id")
            .values_list("id", "subject", "received_at")[:50]
        )

    cases = {
        "baseline: bare indexed query, 50 open items": baseline,
        "page /inbox/ (not done)": lambda: client.get("/inbox/"),
        "page /inbox/?assignee=me": lambda: client.get("/inbox/?assignee=me"),
        "page /inbox/?channel=email&breached=1": lambda: client.get(
            "/inbox/?channel=email&breached=1"
        ),
        "page /inbox/?q=Anfrage 77": lambda: client.get("/inbox/?q=Anfrage+77"),
        "API /api/v1/inbox/items?status=open&assignee=team": lambda: client.get(
            "/api/v1/inbox/items?status=open&assignee=team"
        ),
    }
    print(f"{engine}, {InboxItem.objects.count()} items, {n} requests each")
    for name, fn in cases.items():
        if name.startswith(("page", "API")):
            if fn().status_code != 200:
                raise SystemExit(f"{name}: not 200")
        wall = timed(fn, n)
        print(
            f"{name:<55} p50 {percentile(wall, 0.5):7.1f} ms  p95 {percentile(wall, 0.95):7.1f} ms"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
