"""CRM pages under load: p50/p95 and query count of the party list (first page, a deep page,
filtered, sorted), a party's page with its timeline, the deal board, the lead list and the
global search — each requested N times in-process.

Baseline in the same run: the bare SQL of the party list's first page, so the cost Kreis adds
(permissions, prefetching, templates) is visible beside what the database needs.

Run against a database holding the large demo (`kreis demo --size large`):

    KREIS_DATA=/path/to/data .venv/bin/python benchmarks/crm_pages.py [--requests 200]
    DATABASE_URL=postgres://… .venv/bin/python benchmarks/crm_pages.py
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import time


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed(fn, n: int) -> list[float]:
    fn()  # warm up (templates, caches)
    gc.freeze()  # as `kreis serve` does before it starts its workers
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--user", default="admin", help="whose view (admin sees everything)")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kreis.settings")
    os.environ.setdefault("KREIS_LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.db import connection
    from django.db.models import Count
    from django.test import Client

    from kreis.activities.models import Activity
    from kreis.commerce.models import TransactionLine
    from kreis.core.models import User
    from kreis.parties.models import Party
    from kreis.sales.models import Pipeline

    client = Client()
    client.force_login(User.objects.get(username=args.user))
    # The party with the most activities: the heaviest timeline.
    busiest = (
        Activity.objects.filter(party__isnull=False)
        .values("party")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    party_id = busiest["party"] if busiest else Party.objects.order_by("pk").first().pk
    pages = Party.objects.filter(deleted_at=None).count() // 25
    pipeline = Pipeline.objects.filter(is_default=True).first() or Pipeline.objects.first()

    def party_with_timeline():
        client.get(f"/parties/{party_id}/", HTTP_HOST="localhost")
        client.get(f"/activities/timeline/?party={party_id}", HTTP_HOST="localhost")

    pages_to_time = {
        "party list, first page": "/parties/",
        f"party list, page {pages // 2:,}": f"/parties/?page={pages // 2}",
        "party list, role customer": "/parties/?role=customer",
        "party list, organisations newest": "/parties/?kind=organization&sort=-created",
        "party page + timeline": party_with_timeline,
        "deal board": f"/deals/?pipeline={pipeline.pk}" if pipeline else "/deals/",
        "deal list": "/deals/list/",
        "lead list": "/leads/",
        "global search (misspelt)": "/search/?q=M%C3%BClller",
    }

    def baseline():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id, name FROM parties_party WHERE deleted_at IS NULL "
                "ORDER BY name, id LIMIT 25"
            )
            cursor.fetchall()

    print(
        f"{connection.vendor}: {Party.objects.count():,} parties, "
        f"{Activity.objects.count():,} activities, {TransactionLine.objects.count():,} "
        f"transaction lines; {args.requests} requests each, as {args.user}"
    )
    print(f"{'page':<36} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8}")
    rows = [("baseline: bare SQL of the first page", timed(baseline, args.requests), 1)]
    for label, target in pages_to_time.items():
        fn = target if callable(target) else (lambda u=target: client.get(u, HTTP_HOST="localhost"))
        counted = []
        # (The test client resets Django's own query log at each request: count directly.)
        with connection.execute_wrapper(lambda execute, *a, c=counted: c.append(1) or execute(*a)):
            fn()
        rows.append((label, timed(fn, args.requests), len(counted)))
    for label, samples, queries in rows:
        print(
            f"{label:<36} {statistics.median(samples):>8.1f} {percentile(samples, 0.95):>8.1f} "
            f"{queries:>8}"
        )


if __name__ == "__main__":
    main()
