"""Web-to-lead form submissions per second over HTTP, against a real `kreis serve`.

Starts `kreis serve` (gunicorn, ``--workers 2``, with its job worker) on loopback against
the database the environment names (``KREIS_DATA`` for SQLite, ``DATABASE_URL`` for
PostgreSQL; migrated before), with the forms' rate limit switched off for the run (restored
afterwards), and drives it from ``--clients`` client processes with keep-alive connections:

1. the baseline: ``GET /healthz`` as fast as the clients can for ``--duration`` seconds;
2. submissions: ``POST /f/<key>/submit`` (form-encoded, as a website's own HTML sends it),
   each a new person (a new lead: the heaviest path — duplicate matcher, lead with history
   and search entry, submission, timeline note, the form_submitted receivers), for
   ``--duration`` seconds.

Every POST carries a genuine time-trap stamp (signed here with the same SECRET_KEY, issued a
minute ago), so the spam checks run as for a visitor. The visitor's request stores the
submission and enqueues its processing; the server's job worker does the rest (duplicate
matcher, lead, note, scoring). Afterwards the submissions in the database must equal the 201
answers (no lost or doubled submission), and the benchmark waits until the worker has
processed every one (none pending, none failed) and reports how fast it did.

    KREIS_DATA=/tmp/kd .venv/bin/python benchmarks/form_submissions.py --duration 20
    DATABASE_URL=postgres://… KREIS_DATA=/tmp/kd .venv/bin/python benchmarks/form_submissions.py

Figures are printed and appended to ``--out`` (Markdown) if given. Loopback only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import multiprocessing as mp
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

HOST = "127.0.0.1"
KEY = "bench-form"


def _django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kreis.settings")
    import django

    django.setup()


def prepare() -> tuple[int, dict]:
    """The benchmark's form (created once), the rate limit off; returns the submissions so
    far and the settings to restore."""
    from kreis.marketing.models import FormSubmission, LeadForm, MarketingSettings
    from kreis.marketing.webforms import services

    if not LeadForm.objects.filter(key=KEY).exists():
        services.form_create(
            actor=None,
            name="Benchmark",
            key=KEY,
            language="en",
            fields=[
                {"key": "first_name", "label": "", "required": False},
                {"key": "last_name", "label": "", "required": True},
                {"key": "email", "label": "", "required": True},
                {"key": "company", "label": "", "required": False},
                {"key": "message", "label": "", "required": False},
            ],
        )
    config = MarketingSettings.load()
    before = {"rate_limit_enabled": config.rate_limit_enabled}
    config.rate_limit_enabled = False
    config.save()
    return FormSubmission.objects.filter(form__key=KEY).count(), before


def restore(before: dict) -> None:
    from kreis.marketing.models import MarketingSettings

    config = MarketingSettings.load()
    for name, value in before.items():
        setattr(config, name, value)
    config.save()


def stamps(n: int) -> list[str]:
    from kreis.core import publicforms
    from kreis.marketing.webforms.services import STAMP_SALT

    at = time.time() - 60
    return [publicforms.new_stamp(STAMP_SALT, at=at) for _ in range(n)]


def count_submissions() -> int:
    from kreis.marketing.models import FormSubmission

    return FormSubmission.objects.filter(form__key=KEY).count()


def drain(*, since, timeout: float) -> dict:
    """Wait until the job worker has processed every submission of the benchmark's form."""
    from django.db import connection
    from django.db.models import Count, Min

    from kreis.marketing.models import FormSubmission, SubmissionOutcome
    from kreis.marketing.webforms import inbox

    started = time.monotonic()
    rows = FormSubmission.objects.filter(form__key=KEY, created_at__gte=since)
    while True:
        counts = dict(
            rows.order_by()
            .values_list("outcome")
            .annotate(n=Count("pk"))
            .values_list("outcome", "n")
        )
        # Kept but not yet in the database: the inbox file of a SQLite installation.
        pending = counts.get(SubmissionOutcome.PENDING, 0) + inbox.count()
        if not pending or time.monotonic() - started > timeout:
            break
        time.sleep(1)
    seconds = time.monotonic() - started
    processed = rows.filter(processed_at__isnull=False)
    first = processed.aggregate(first=Min("created_at"))["first"]
    last = processed.order_by("-processed_at").values_list("processed_at", flat=True).first()
    span = (last - first).total_seconds() if first and last else 0.0
    done = processed.count()
    connection.close()
    return {
        "pending": pending,
        "failed": counts.get(SubmissionOutcome.FAILED, 0),
        "seconds": seconds,
        "processed": done,
        "rate": done / span if span else 0.0,
    }


def _client(port, mode, deadline, stamp_list, tag, queue) -> None:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    ok = other = 0
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    i = 0
    while time.monotonic() < deadline:
        started = time.perf_counter()
        if mode == "healthz":
            conn.request("GET", "/healthz", headers={"Host": "localhost"})
        else:
            if i >= len(stamp_list):
                break
            body = urlencode(
                {
                    "stamp": stamp_list[i],
                    "first_name": "Bench",
                    "last_name": f"Person {tag}-{i}",
                    "email": f"bench-{tag}-{i}@load.example",
                    "company": f"Load {tag} GmbH",
                    "message": "Please call me about the offer.",
                    "page_url": "https://www.shop.example/offer?utm_source=bench&utm_medium=load",
                }
            )
            conn.request(
                "POST",
                f"/f/{KEY}/submit",
                body=body,
                headers={
                    "Host": "localhost",
                    "Content-Type": "application/x-www-form-urlencoded",
                },
            )
            i += 1
        response = conn.getresponse()
        response.read()
        latencies.append(time.perf_counter() - started)
        statuses[response.status] = statuses.get(response.status, 0) + 1
        # /healthz answers 503 until the job worker first reports: still a full round trip
        # through the same stack (its database check included), so it counts.
        expected = (200, 503) if mode == "healthz" else (201,)
        if response.status in expected:
            ok += 1
        else:
            other += 1
    conn.close()
    queue.put({"ok": ok, "other": other, "latencies": latencies, "statuses": statuses})


def drive(port: int, mode: str, *, clients: int, duration: float, stamp_pool=None) -> dict:
    queue: mp.Queue = mp.Queue()
    deadline = time.monotonic() + duration
    procs = []
    for n in range(clients):
        chunk = stamp_pool[n::clients] if stamp_pool else []
        tag = f"{os.getpid()}-{int(time.time())}-{n}"
        p = mp.Process(target=_client, args=(port, mode, deadline, chunk, tag, queue))
        p.start()
        procs.append(p)
    started = time.monotonic()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    elapsed = time.monotonic() - started
    latencies = sorted(x for r in results for x in r["latencies"])
    statuses: dict[int, int] = {}
    for r in results:
        for status, n in r["statuses"].items():
            statuses[status] = statuses.get(status, 0) + n
    ok = sum(r["ok"] for r in results)

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

    return {
        "ok": ok,
        "other": sum(r["other"] for r in results),
        "statuses": statuses,
        "rate": ok / elapsed,
        "elapsed": elapsed,
        "p50": statistics.median(latencies) * 1000 if latencies else 0,
        "p95": pct(0.95) if latencies else 0,
        "p99": pct(0.99) if latencies else 0,
    }


class Server:
    def __init__(self, port: int, workers: int, threads: int, log_path: str):
        self.port = port
        argv = [
            sys.executable, "-m", "kreis.cli", "serve", "--host", HOST, "--port", str(port),
            "--workers", str(workers), "--threads", str(threads),
        ]  # fmt: skip
        self.log = open(log_path, "w", encoding="utf-8")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
            argv,
            env=os.environ | {"PYTHONUNBUFFERED": "1"},
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.log_path = log_path

    def wait_ready(self, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"kreis serve exited; see {self.log_path}")
            try:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=5)
                conn.request("GET", "/healthz", headers={"Host": "localhost"})
                conn.getresponse().read()
                conn.close()
                return
            except OSError:
                time.sleep(0.5)
        raise SystemExit(f"kreis serve did not answer; see {self.log_path}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        self.log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=8103)
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--out", default=None, help="append the figures to this Markdown file")
    parser.add_argument("--log", default=None, help="the server's log (default: a temp file)")
    parser.add_argument(
        "--drain-timeout", type=float, default=900, help="seconds to wait for the processing"
    )
    args = parser.parse_args()
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    if args.log is None:
        import tempfile

        handle, args.log = tempfile.mkstemp(prefix="kreis-form-bench-", suffix=".log")
        os.close(handle)
    _django()
    from django.db import connection

    database = connection.vendor
    rows_before, restore_to = prepare()
    # Enough stamps for a fast server (a stamp is used once).
    pool = stamps(3000 + int(args.duration * 1500))
    connection.close()
    server = Server(args.port, args.workers, args.threads, args.log)
    try:
        server.wait_ready()
        # Warm up: every worker loads its URLs, templates and connections.
        started = dt.datetime.now(dt.UTC)
        drive(args.port, "healthz", clients=args.clients, duration=3)
        warm = drive(args.port, "submit", clients=args.clients, duration=3, stamp_pool=pool[:3000])
        pool = pool[3000:]
        rows_before += warm["ok"]
        base = drive(args.port, "healthz", clients=args.clients, duration=args.duration)
        posts = drive(
            args.port, "submit", clients=args.clients, duration=args.duration, stamp_pool=pool
        )
        drained = drain(since=started, timeout=args.drain_timeout)
    finally:
        server.stop()
        restore(restore_to)
    rows = count_submissions() - rows_before
    lost = posts["ok"] - rows
    lines = [
        f"\n## {database} — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n",
        f"`kreis serve --workers {args.workers} --threads {args.threads}` on {os.cpu_count()} "
        f"cores (server and {args.clients} client processes share them), rate limit off, "
        f"{args.duration:.0f} s each, keep-alive.\n",
        "| request | answered ok | per second | p50 ms | p95 ms | p99 ms | other answers |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for name, r in (("GET /healthz (baseline)", base), ("POST /f/<key>/submit", posts)):
        others = {s: n for s, n in r["statuses"].items() if s not in (200, 201, 503)}
        lines.append(
            f"| {name} | {r['ok']} | {r['rate']:.0f} | {r['p50']:.1f} | {r['p95']:.1f} | "
            f"{r['p99']:.1f} | {others or '—'} |"
        )
    lines.append(
        f"\nSubmissions stored: {rows}; accepted (201): {posts['ok']}; "
        f"{'no submission lost' if lost == 0 else f'MISMATCH: {lost}'}. "
        f"Submissions reach {posts['rate'] / max(base['rate'], 1e-9) * 100:.0f} % of the "
        "baseline's rate.\n"
    )
    lines.append(
        f"Processing (the job worker of `kreis serve`: duplicate matcher, lead with history and "
        f"search entry, timeline note, scoring): {drained['pending']} still pending and "
        f"{drained['failed']} failed after {drained['seconds']:.0f} s of draining once the "
        f"clients stopped; {drained['processed']} processed in all, "
        f"{drained['rate']:.0f} per second over the run and the drain.\n"
    )
    text = "\n".join(lines)
    if args.out:
        with open(args.out, "a", encoding="utf-8") as out:
            out.write(text + "\n")
    print(text)
    if lost or drained["pending"] or drained["failed"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
