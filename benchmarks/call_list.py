"""Building a call list from a 100,000-party segment, and "next entry" on it (issue 15, phone).

The data: N persons with a primary phone number, a static segment holding all of them, and a
granted phone consent for 70 % (written by bulk inserts into a fresh SQLite database). Then:

- build: ``calls.services.call_list_create`` over the segment: one ``INSERT … SELECT`` that
  numbers the members in name order and decides each one's number and skip reason (wrong
  number, phone opt-out, consent) in the database, then one grouped count; baseline: reading
  the segment's member ids in the same order (``segment_parties``).
- next: ``entry_claim_next`` + ``entry_log`` (result "reached") N times by one caller, p50 and
  p95 of the claim (held entry, due call-back, first open, run-out claim: each one index
  range); baseline: the plain "first open entry by position" query.

    .venv/bin/python benchmarks/call_list.py [--parties 100000] [--next 300]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--parties", type=int, default=100_000)
    parser.add_argument("--next", type=int, default=300)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="kreis-bench-calls-"))
    os.environ["KREIS_DATA"] = str(data)
    os.environ.setdefault("KREIS_LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kreis.settings")
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    from kreis.calls import services
    from kreis.calls.models import CallListEntry, CallResult, EntryState
    from kreis.core.models import Role, User
    from kreis.marketing.models import Consent, Segment, SegmentKind, SegmentMember
    from kreis.marketing.segments.queries import segment_parties
    from kreis.parties.models import ContactPoint, Party

    n = args.parties
    now = timezone.now()
    started = time.perf_counter()
    Party.objects.bulk_create(
        [Party(kind="person", name=f"Person {i:06d}") for i in range(n)], batch_size=5000
    )
    ids = list(Party.objects.values_list("pk", flat=True))
    ContactPoint.objects.bulk_create(
        [ContactPoint(party_id=pk, kind="phone", value=f"+4930{pk:08d}", is_primary=True)
         for pk in ids], batch_size=5000,
    )  # fmt: skip
    Consent.objects.bulk_create(
        [Consent(party_id=pk, purpose="phone", channel="phone", status="granted",
                 basis="documented", source="staff", requested_at=now, confirmed_at=now)
         for i, pk in enumerate(ids) if i % 10 < 7], batch_size=5000,
    )  # fmt: skip
    segment = Segment.objects.create(name="Alle", kind=SegmentKind.STATIC)
    SegmentMember.objects.bulk_create(
        [SegmentMember(segment=segment, party_id=pk) for pk in ids], batch_size=5000
    )
    caller = User.objects.create(username="caller", role=Role.SALES_MANAGER)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"data: {n} parties in {time.perf_counter() - started:.1f} s")

    t = time.perf_counter()
    members = list(segment_parties(segment).order_by("name", "pk").values_list("pk", flat=True))
    baseline_build = time.perf_counter() - t
    t = time.perf_counter()
    built = services.call_list_create(actor=None, name="Bench", segment=segment)
    build = time.perf_counter() - t
    if len(members) != n or built.to_call != n * 7 // 10:
        raise SystemExit(f"unexpected list: {len(members)} members, {built.to_call} to call")
    print(f"build: {build:.2f} s ({n / build:,.0f} parties/s); "
          f"baseline member query {baseline_build:.2f} s; to call {built.to_call:,}")  # fmt: skip

    call_list = built.call_list
    claims, plain = [], []
    for _ in range(args.next):
        t = time.perf_counter()
        CallListEntry.objects.filter(call_list=call_list, state=EntryState.OPEN).order_by(
            "position"
        ).first()
        plain.append(time.perf_counter() - t)
        t = time.perf_counter()
        entry = services.entry_claim_next(actor=caller, call_list=call_list)
        claims.append(time.perf_counter() - t)
        services.entry_log(actor=caller, entry=entry, result=CallResult.REACHED)
    ms = 1000
    print(
        f"next entry: p50 {statistics.median(claims) * ms:.1f} ms, p95 {p95(claims) * ms:.1f} ms"
        f" over {args.next}; baseline first-open query p50 {statistics.median(plain) * ms:.1f}"
        f" ms, p95 {p95(plain) * ms:.1f} ms"
    )


if __name__ == "__main__":
    main()
