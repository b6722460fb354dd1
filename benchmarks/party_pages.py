"""Party pages under load: p50/p95 of the list (first page, deep page, filtered, sorted),
a party's page and the global search, each requested N times in-process.

Baseline in the same run: the bare SQL of the list's main query (first page), so the cost
Kreis adds (permissions, prefetching, templates) is visible beside what the database needs.

Run against a database with the large demo (`kreis demo --size large`):

    KREIS_DATA=/path/to/data .venv/bin/python benchmarks/party_pages.py [--requests 200]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed(fn, n: int) -> list[float]:
    fn()  # warm up (templates, caches)
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--user", default="admin", help="whose view (admin sees all parties)")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kreis.settings")
    os.environ.setdefault("KREIS_LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.db import connection
    from django.test import Client

    from kreis.core.models import User
    from kreis.parties.models import Party

    client = Client()
    client.force_login(User.objects.get(username=args.user))
    party = Party.objects.filter(deleted_at=None, kind="organization").order_by("pk").first()
    pages = Party.objects.filter(deleted_at=None).count() // 25
    urls = {
        "list, first page": "/parties/",
        f"list, page {pages // 2}": f"/parties/?page={pages // 2}",
        "list, organisations, newest": "/parties/?kind=organization&sort=-created",
        "list, role customer": "/parties/?role=customer",
        "party page": f"/parties/{party.pk}/",
        "global search": "/search/?q=m%C3%BCller",
    }

    def baseline():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id, name FROM parties_party WHERE deleted_at IS NULL "
                "ORDER BY name, id LIMIT 25"
            )
            cursor.fetchall()

    print(
        f"{connection.vendor}, {Party.objects.count():,} parties, {args.requests} requests each, "
        f"as {args.user}"
    )
    print(f"{'page':<32} {'p50 ms':>8} {'p95 ms':>8}")
    rows = [("baseline: bare SQL of the first page", timed(baseline, args.requests))]
    for label, url in urls.items():
        rows.append(
            (label, timed(lambda u=url: client.get(u, HTTP_HOST="localhost"), args.requests))
        )
    for label, samples in rows:
        print(f"{label:<32} {statistics.median(samples):>8.1f} {percentile(samples, 0.95):>8.1f}")


if __name__ == "__main__":
    main()
