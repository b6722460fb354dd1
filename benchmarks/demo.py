"""The large demo (`kreis demo --size large`): wall time, peak memory and what it made.

The test suite only builds the small demo; the large one takes minutes and belongs here. It is
also the data set the other benchmarks run against (crm_pages.py, the HTTP tail).

    .venv/bin/python benchmarks/demo.py [--seed 1] [--data /path/to/empty/folder] [--size small]
    DATABASE_URL=postgres://…/empty_db .venv/bin/python benchmarks/demo.py

Runs `kreis migrate` and `kreis demo --size large` as subprocesses on a fresh data folder (a
temporary one unless --data is given; with DATABASE_URL the database must be empty), then
counts the rows and checks the large size's promise: 206 users in 20 teams, every user but
the administrator in a team, 100,000 parties, 10,000 leads, 20,000 deals, 1,000,000
activities and 1,000,000 transaction lines. Exits 1 if a count is off.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KREIS = [sys.executable, "-m", "kreis.cli"]

# What each size promises (core: 6 personas + 200 or 12 users, 4 + 16 or 0 teams; each app's
# SIZES). `--size small` is a quick check of this script itself.
EXPECTED = {
    "large": {
        "users": 206,
        "teams": 20,
        "users without a team": 1,  # the administrator
        "parties": 100_000,
        "leads": 10_000,
        "deals": 20_000,
        "activities": 1_000_000,
        "transaction lines": 1_000_000,
    },
    "small": {
        "users": 18,
        "teams": 4,
        "users without a team": 1,
        "parties": 500,
        "leads": 120,
        "deals": 150,
        "activities": 3_000,
        "transaction lines": 2_000,
    },
}


def run(*args: str, env: dict) -> float:
    started = time.perf_counter()
    subprocess.run([*KREIS, *args], env=env, check=True)  # noqa: S603
    return time.perf_counter() - started


def counts() -> dict[str, int]:
    import django

    django.setup()
    from kreis.activities.models import Activity
    from kreis.commerce.models import TransactionLine
    from kreis.core.models import Team, User
    from kreis.leads.models import Lead
    from kreis.parties.models import Party
    from kreis.sales.models import Deal

    return {
        "users": User.objects.count(),
        "teams": Team.objects.count(),
        "users without a team": User.objects.filter(memberships__isnull=True).count(),
        "parties": Party.objects.count(),
        "leads": Lead.objects.count(),
        "deals": Deal.objects.count(),
        "activities": Activity.objects.count(),
        "transaction lines": TransactionLine.objects.count(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", default="1")
    parser.add_argument("--size", default="large", choices=["large", "small"])
    parser.add_argument("--data", type=Path, help="an empty data folder (default: a temporary one)")
    args = parser.parse_args()
    data = args.data or Path(tempfile.mkdtemp(prefix="kreis-bench-demo-"))
    env = os.environ | {"KREIS_DATA": str(data), "DJANGO_SETTINGS_MODULE": "kreis.settings"}
    os.environ.update(env)
    database = "PostgreSQL" if os.environ.get("DATABASE_URL") else "SQLite"
    print(f"data folder {data}, {database}")

    migrate = run("migrate", "-v0", env=env)
    demo = run("demo", "--size", args.size, "--seed", args.seed, env=env)
    # The children's peak RSS: the largest of migrate and demo, i.e. the demo's.
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"migrate {migrate:.1f} s; demo --size {args.size} {demo:.1f} s, peak RSS {peak_mb:.0f} MB"
    )

    made, wrong = counts(), []
    for name, expected in EXPECTED[args.size].items():
        mark = "ok" if made[name] == expected else f"expected {expected:,}"
        print(f"{name:>20}: {made[name]:>10,}  {mark}")
        if made[name] != expected:
            wrong.append(name)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
