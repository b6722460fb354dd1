"""Mass mailing throughput and at-most-once delivery (issue 15, performance).

A mailing to N recipients (default 100,000; ``--size``) goes through two ``kreis worker``
processes on a Redis queue (127.0.0.1:6379, db 9) to an aiosmtpd sink on loopback that counts
the messages per recipient. One worker is killed (SIGKILL) when about 40 % is sent; the other
finishes, taking over the dead worker's claim once its lease (5 s here) runs out. Printed: the
rate of the mailing (recipients sent / wall time from start to finish), the messages per
recipient at the sink (must be ≤ 1) and the rows left ``uncertain``. Baseline in the same
process: raw ``smtplib`` sending the same number of equally sized messages over one
connection to the same sink. ``--workers 1``: one worker, none killed (the plain rate of one
process).

    .venv/bin/python benchmarks/mailing_send.py --size 5000
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KREIS = str(ROOT / ".venv" / "bin" / "kreis")


class Sink:
    def __init__(self) -> None:
        self.per_recipient: Counter[str] = Counter()
        self.total = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        for rcpt in envelope.rcpt_tos:
            self.per_recipient[rcpt] += 1
        self.total += 1
        return "250 OK"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--no-kill", action="store_true")
    parser.add_argument("--workers", type=int, default=2, help="1: no worker is killed")
    args = parser.parse_args()

    from aiosmtpd.controller import Controller

    sink = Sink()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()

    data = Path(tempfile.mkdtemp(prefix="kreis-mailing-bench-"))
    env = dict(
        os.environ,
        KREIS_DATA=str(data),
        REDIS_URL="redis://127.0.0.1:6379/9",
        EMAIL_URL=f"smtp://127.0.0.1:{port}",
        KREIS_WORKERS="1",
        KREIS_MAILING_CLAIM_LEASE="5",
        KREIS_MAILING_WORKERS=str(args.workers),
        DJANGO_SETTINGS_MODULE="kreis.settings",
    )
    os.environ.update(env)
    subprocess.run([KREIS, "migrate", "-v", "0"], env=env, check=True)  # noqa: S603
    import django

    django.setup()
    import redis
    from django.utils import timezone

    from kreis.mailings import services
    from kreis.mailings.models import Mailing, Recipient
    from kreis.marketing.models import (
        Consent,
        MarketingSettings,
        Segment,
        SegmentMember,
    )
    from kreis.parties.models import ContactPoint, Party

    redis.Redis.from_url(env["REDIS_URL"]).flushdb()
    n = args.size
    config = MarketingSettings.load()
    config.public_base_url = "https://crm.example.com"
    config.sender_email = "news@kreis.example"
    config.save()
    now = timezone.now()
    print(f"creating {n} recipients …", flush=True)
    parties = Party.objects.bulk_create(
        [Party(kind="person", name=f"Kunde {i}") for i in range(n)], batch_size=2000
    )
    ContactPoint.objects.bulk_create(
        [
            ContactPoint(party=p, kind="email", value=f"k{i}@sink.example", is_primary=True)
            for i, p in enumerate(parties)
        ],
        batch_size=2000,
    )
    Consent.objects.bulk_create(
        [
            Consent(
                party=p, email=f"k{i}@sink.example", purpose="newsletter", channel="email",
                status="granted", basis="existing_customer", source="import",
                requested_at=now, confirmed_at=now, language="de",
            )
            for i, p in enumerate(parties)
        ],
        batch_size=2000,
    )  # fmt: skip
    segment = Segment.objects.create(name="Bench", kind="static")
    SegmentMember.objects.bulk_create(
        [SegmentMember(segment=segment, party=p) for p in parties], batch_size=2000
    )
    mailing = services.mailing_create(
        actor=None, name="Bench", segment=segment, subject="Hallo {{ party.name }}",
        body="Hallo {{ party.name }},\n\nunser Frühjahrsprogramm ist da.\n" * 3, rate=1000,
    )  # fmt: skip

    # Baseline: raw smtplib, the same number of messages of the same size, one connection.
    sample = (
        "From: news@kreis.example\r\nTo: b@sink.example\r\nSubject: Hallo\r\n\r\n"
        + ("x" * 70 + "\r\n") * 21
    )
    start = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for i in range(n):
            smtp.sendmail("news@kreis.example", [f"base{i}@sink.example"], sample)
    baseline = n / (time.perf_counter() - start)
    print(f"baseline raw smtplib: {baseline:.0f} msg/s", flush=True)

    workers = [
        subprocess.Popen([KREIS, "worker"], env=env, stdout=subprocess.DEVNULL,  # noqa: S603
                         stderr=subprocess.DEVNULL, start_new_session=True)
        for _ in range(args.workers)
    ]  # fmt: skip
    time.sleep(3)
    start = time.perf_counter()
    from django.db import transaction

    with transaction.atomic():
        count = services.mailing_start(actor=None, mailing=mailing)
    killed = args.no_kill or args.workers < 2
    build = time.perf_counter() - start
    print(f"{count} recipients queued in {build:.1f} s", flush=True)
    try:
        while True:
            time.sleep(0.5)
            sent = Recipient.objects.filter(mailing=mailing, state="sent").count()
            if not killed and sent >= 0.4 * n:
                os.killpg(workers[0].pid, signal.SIGKILL)
                killed = True
                print(f"killed worker 1 at {sent} sent", flush=True)
            state = Mailing.objects.get(pk=mailing.pk).state
            if state == "finished":
                break
            if time.perf_counter() - start > 3600:
                print("timeout", flush=True)
                break
        elapsed = time.perf_counter() - start
    finally:
        for worker in workers:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGTERM)
                worker.wait(30)
        controller.stop()
    rows = Counter(Recipient.objects.filter(mailing=mailing).values_list("state", flat=True))
    mailing_counts = Counter(v for k, v in sink.per_recipient.items() if k.startswith("k"))
    twice = sum(1 for k, v in sink.per_recipient.items() if k.startswith("k") and v > 1)
    rate = rows["sent"] / (elapsed - build)
    print(f"recipient states: {dict(rows)}")
    print(f"messages per recipient at the sink: {dict(mailing_counts)}; sent twice: {twice}")
    how = "one killed" if args.workers > 1 and not args.no_kill else "none killed"
    print(f"mailing: {rows['sent']} sent in {elapsed - build:.1f} s = {rate:.0f} msg/s "
          f"({args.workers} workers, {how}) vs raw smtplib {baseline:.0f} msg/s")  # fmt: skip
    shutil.rmtree(data, ignore_errors=True)
    sys.exit(1 if twice else 0)


if __name__ == "__main__":
    main()
