"""CRM pages under load: p50/p95 and query count of the party list (first page, a deep page,
filtered, sorted), a party's page with its timeline, the deal board, the lead list and the
global search — each requested N times in-process, and with ``--http`` also over HTTP against
`kreis serve`.

Baseline in the same run: the bare SQL of the party list's first page, so the cost Kreis adds
(permissions, prefetching, templates) is visible beside what the database needs.

Run against a database holding the large demo (`kreis demo --size large`):

    KREIS_DATA=/path/to/data .venv/bin/python benchmarks/crm_pages.py [--requests 200]
    DATABASE_URL=postgres://… .venv/bin/python benchmarks/crm_pages.py
    … benchmarks/crm_pages.py --http --user rep --runs 3 [--port 8123]

``--http`` starts `kreis serve` (as it ships: its workers, threads and settings) on loopback,
signs in the user through a session cookie, and requests every page in turn over a few
keep-alive connections, one request at a time. It reports per page the client's p50/p95/p99,
the server's own time from its request log (matched by ``X-Request-ID``) and the garbage
collections that ran inside the requests (the server runs with a ``gc.callbacks`` probe that
adds them to each request's log line). Each run starts a fresh server; with ``--runs`` > 1 the
figures are the medians over the runs. The in-process figures of the same run (same user,
one request at a time, no HTTP) are the baseline.
"""

from __future__ import annotations

import argparse
import gc
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid


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


# Runs `kreis serve` with a garbage-collector probe: every collection's duration is added up
# per process, and each request's log line gets what ran since the previous line (exact with
# one request at a time, which is how the benchmark asks).
SERVE_WITH_GC_PROBE = """
import gc, logging, os, sys, time
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kreis.settings")
EMPTY = {"n": 0, "ms": 0.0, "cpu_ms": 0.0, "full": 0, "full_ms": 0.0, "full_cpu_ms": 0.0,
         "full_objects": 0, "between": 0, "between_cpu_ms": 0.0}
state = dict(EMPTY, t=0.0, c=0.0, inside=False, started_cpu=0.0)
def probe(phase, info):
    if phase == "start":
        if info["generation"] == 2 and state["inside"]:  # what it walks (outside the timing)
            state["full_objects"] = max(state["full_objects"], len(gc.get_objects(2)))
        state["t"], state["c"] = time.perf_counter(), time.thread_time()
        return
    ms = (time.perf_counter() - state["t"]) * 1000
    cpu_ms = (time.thread_time() - state["c"]) * 1000
    if not state["inside"]:  # between requests (after a response was sent)
        state["between"] += 1
        state["between_cpu_ms"] += cpu_ms
        return
    state["n"] += 1
    state["ms"] += ms
    state["cpu_ms"] += cpu_ms
    if info["generation"] == 2:
        state["full"] += 1
        state["full_ms"] += ms
        state["full_cpu_ms"] += cpu_ms
class GcFields(logging.Filter):
    def filter(self, record):
        record.gc_pid = os.getpid()
        # The request's CPU time in its thread: unlike wall time, not stretched when other
        # processes take the CPU away (a busy, shared machine).
        record.cpu_ms = round((time.thread_time() - state["started_cpu"]) * 1000, 2)
        for key in EMPTY:
            record.__dict__["gc_" + key] = round(state[key], 2)
        state.update(EMPTY)
        return True
gc.callbacks.append(probe)
import django
django.setup()
from django.core.signals import request_finished, request_started
request_started.connect(
    lambda **kw: state.update(inside=True, started_cpu=time.thread_time()), weak=False
)
request_finished.connect(lambda **kw: state.update(inside=False), weak=False)
logging.getLogger("kreis.request").addFilter(GcFields())
from kreis.cli import main
sys.exit(main(sys.argv[1:]))
"""


class Server:
    """`kreis serve` on loopback in its own process group, stopped however the run ends."""

    def __init__(self, port: int, workers: int | None, log_path: str):
        self.port, self.log_path = port, log_path
        argv = ["serve", "--host", "127.0.0.1", "--port", str(port)]
        if workers:
            argv += ["--workers", str(workers)]
        env = os.environ | {"KREIS_LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1"}
        self.log = open(log_path, "w", encoding="utf-8")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
            [sys.executable, "-c", SERVE_WITH_GC_PROBE, *argv],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(
                    f"kreis serve exited ({self.process.returncode}); see {self.log_path}"
                )
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/healthz")
                conn.getresponse().read()
                conn.close()
                return
            except OSError:
                time.sleep(0.3)
        raise SystemExit(f"kreis serve did not answer within {timeout:.0f} s; see {self.log_path}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()

    def request_log(self) -> dict[str, dict]:
        entries = {}
        with open(self.log_path, encoding="utf-8") as lines:
            for line in lines:
                if not line.startswith("{"):
                    continue
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if entry.get("logger") == "kreis.request" and entry.get("request_id"):
                    entries[entry["request_id"]] = entry
        return entries


def http_run(*, port, workers, cookie, pages, requests, connections, deadline, log_path):
    """One run against a fresh server: every page once per round, `requests` rounds after a
    warm-up, over `connections` keep-alive connections taken in turn (so all workers serve)."""
    server = Server(port, workers, log_path)
    try:
        server.wait_ready()
        conns = [
            http.client.HTTPConnection("127.0.0.1", port, timeout=30) for _ in range(connections)
        ]
        turn, reconnects = 0, [0]

        def get(path: str) -> tuple[float, str]:
            nonlocal turn
            conn = conns[turn % len(conns)]
            turn += 1
            request_id = uuid.uuid4().hex
            headers = {"Cookie": cookie, "X-Request-ID": request_id, "Host": "localhost"}
            started = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # The server closed the idle connection (its keep-alive timeout) as the
                # request went out: open a new one and ask again, as browsers do for a GET.
                reconnects[0] += 1
                conn.close()
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
            response.read()
            elapsed = (time.perf_counter() - started) * 1000
            if response.status != 200:
                raise SystemExit(f"GET {path}: HTTP {response.status} (see {log_path})")
            return elapsed, request_id

        # Warm-up: every page a few times on every connection (templates, URL conf, caches
        # of each worker), not counted.
        for _ in range(2 * connections):
            for paths in pages.values():
                for path in paths:
                    get(path)
        client = {label: [] for label in pages}
        ids = {label: [] for label in pages}
        for _ in range(requests):
            if time.monotonic() > deadline:
                print("  (time limit reached: fewer requests in this run)", file=sys.stderr)
                break
            for label, paths in pages.items():
                total, round_ids = 0.0, []
                for path in paths:
                    elapsed, request_id = get(path)
                    total += elapsed
                    round_ids.append(request_id)
                client[label].append(total)
                ids[label].append(round_ids)
        for conn in conns:
            conn.close()
        if reconnects[0]:
            print(
                f"  {reconnects[0]} GETs asked again on a new connection: the server had "
                "closed the idle one (keep-alive timeout)",
                file=sys.stderr,
            )
    finally:
        server.stop()
    logged = server.request_log()
    results = {}
    for label in pages:
        server_ms, gc_ms, full, with_full, full_cpu_ms, full_objects = [], 0.0, 0, [], 0.0, 0
        between, between_cpu_ms, server_cpu = 0, 0.0, []
        for round_ids in ids[label]:
            entries = [logged.get(request_id) for request_id in round_ids]
            if None in entries:
                continue
            ms = sum(e["duration_ms"] for e in entries)
            server_ms.append(ms)
            server_cpu.append(sum(e.get("cpu_ms", 0) for e in entries))
            gc_ms += sum(e.get("gc_ms", 0) for e in entries)
            collections = sum(e.get("gc_full", 0) for e in entries)
            full_cpu_ms += sum(e.get("gc_full_cpu_ms", 0) for e in entries)
            between += sum(e.get("gc_between", 0) for e in entries)
            between_cpu_ms += sum(e.get("gc_between_cpu_ms", 0) for e in entries)
            full_objects = max([full_objects] + [e.get("gc_full_objects", 0) for e in entries])
            full += collections
            if collections:
                with_full.append(ms)
        results[label] = {
            "client": client[label],
            "server": server_ms,
            "cpu": server_cpu,
            "gc_ms_per_request": gc_ms / max(1, len(server_ms)),
            "full_gc_per_100": 100 * full / max(1, len(server_ms)),
            "server_p50_with_full_gc": statistics.median(with_full) if with_full else None,
            "full_gc_cpu_ms": full_cpu_ms,
            "full_gc_count": full,
            "between_count": between,
            "between_cpu_ms": between_cpu_ms,
            "full_gc_objects": full_objects,
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--user", default="admin", help="whose view (admin sees everything)")
    parser.add_argument("--http", action="store_true", help="also measure over HTTP")
    parser.add_argument("--port", type=int, default=8123, help="loopback port for kreis serve")
    parser.add_argument("--workers", type=int, default=None, help="default: as kreis serve")
    parser.add_argument("--connections", type=int, default=4, help="keep-alive connections")
    parser.add_argument("--runs", type=int, default=1, help="HTTP runs, each on a fresh server")
    parser.add_argument("--time-limit", type=float, default=1800, help="seconds for all HTTP runs")
    parser.add_argument("--log-dir", default=None, help="keep the servers' logs here")
    parser.add_argument(
        "--requests-in-process",
        type=int,
        default=None,
        help="in-process requests per page (default: --requests; 1 for a quick look over HTTP)",
    )
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kreis.settings")
    os.environ.setdefault("KREIS_LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.db.models import Count
    from django.test import Client

    from kreis.activities.models import Activity
    from kreis.commerce.models import TransactionLine
    from kreis.core.models import User
    from kreis.core.queries import visible_records
    from kreis.parties.models import Party
    from kreis.sales.models import Pipeline

    user = User.objects.get(username=args.user)
    client = Client()
    client.force_login(user)
    # Only what the user may see: a rep's page would answer 404 for someone else's party.
    visible = visible_records(Party.objects.filter(deleted_at=None), user=user)
    # The visible party with the most activities: the heaviest timeline.
    busiest = (
        Activity.objects.filter(party__in=visible.values("pk"))
        .values("party")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    party_id = busiest["party"] if busiest else visible.order_by("pk").first().pk
    pages = visible.count() // 25
    pipeline = Pipeline.objects.filter(is_default=True).first() or Pipeline.objects.first()

    pages_to_time = {
        "party list, first page": ["/parties/"],
        f"party list, page {pages // 2:,}": [f"/parties/?page={pages // 2}"],
        "party list, role customer": ["/parties/?role=customer"],
        "party list, organisations newest": ["/parties/?kind=organization&sort=-created"],
        "party page + timeline": [
            f"/parties/{party_id}/",
            f"/activities/timeline/?party={party_id}",
        ],
        "deal board": [f"/deals/?pipeline={pipeline.pk}" if pipeline else "/deals/"],
        "deal list": ["/deals/list/"],
        "lead list": ["/leads/"],
        "global search (misspelt)": ["/search/?q=M%C3%BClller"],
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
    in_process = args.requests_in_process or args.requests
    rows = [("baseline: bare SQL of the first page", timed(baseline, in_process), 1)]
    for label, paths in pages_to_time.items():

        def fn(paths=paths):
            for path in paths:
                client.get(path, HTTP_HOST="localhost")

        counted = []
        # (The test client resets Django's own query log at each request: count directly.)
        with connection.execute_wrapper(lambda execute, *a, c=counted: c.append(1) or execute(*a)):
            fn()
        rows.append((label, timed(fn, in_process), len(counted)))
    print(f"in-process (Django test client, no HTTP; {in_process} requests each):")
    print(f"{'page':<36} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8}")
    for label, samples, queries in rows:
        print(
            f"{label:<36} {statistics.median(samples):>8.1f} {percentile(samples, 0.95):>8.1f} "
            f"{queries:>8}"
        )
    if not args.http:
        return

    connection.close()  # the server's workers and this process do not share a connection
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    log_dir = args.log_dir or tempfile.mkdtemp(prefix="crm-pages-http-")
    os.makedirs(log_dir, exist_ok=True)
    deadline = time.monotonic() + args.time_limit
    runs = []
    for run in range(args.runs):
        if time.monotonic() > deadline:
            break
        log_path = os.path.join(log_dir, f"serve-{run + 1}.log")
        runs.append(
            http_run(
                port=args.port,
                workers=args.workers,
                cookie=cookie,
                pages=pages_to_time,
                requests=args.requests,
                connections=args.connections,
                deadline=deadline,
                log_path=log_path,
            )
        )
        print(f"  HTTP run {run + 1} done (server log: {log_path})", file=sys.stderr)

    def across(label, key, q):
        return statistics.median(percentile(r[label][key], q) for r in runs if r[label][key])

    baseline_p50 = {label: statistics.median(samples) for label, samples, _ in rows}
    print(
        f"over HTTP (kreis serve on loopback, {args.connections} keep-alive connections, one "
        f"request at a time; median of {len(runs)} run(s)):"
    )
    print(
        "client = wall time at the client; server = the request log's duration; CPU = the "
        "request thread's CPU time in the server (not stretched by other processes)"
    )
    print(
        f"{'page':<36} {'in-proc':>7} {'client':>7} {'client':>7} {'client':>7} "
        f"{'server':>7} {'server':>7} {'CPU':>7} {'CPU':>7} {'full GC':>8} {'p95/p50':>7} "
        f"{'p95/p50':>7}"
    )
    print(
        f"{'':<36} {'p50':>7} {'p50':>7} {'p95':>7} {'p99':>7} {'p50':>7} {'p95':>7} "
        f"{'p50':>7} {'p95':>7} {'/100 req':>8} {'client':>7} {'CPU':>7}"
    )
    for label in pages_to_time:
        c50, c95, c99 = (across(label, "client", q) for q in (0.5, 0.95, 0.99))
        s50, s95 = (across(label, "server", q) for q in (0.5, 0.95))
        u50, u95 = (across(label, "cpu", q) for q in (0.5, 0.95))
        full = statistics.median(r[label]["full_gc_per_100"] for r in runs)
        print(
            f"{label:<36} {baseline_p50[label]:>7.1f} {c50:>7.1f} {c95:>7.1f} {c99:>7.1f} "
            f"{s50:>7.1f} {s95:>7.1f} {u50:>7.1f} {u95:>7.1f} {full:>8.1f} {c95 / c50:>7.2f} "
            f"{u95 / u50:>7.2f}"
        )
    for number, result in enumerate(runs, 1):
        count = sum(r["full_gc_count"] for r in result.values())
        requests = sum(len(r["server"]) for r in result.values())
        cpu = sum(r["full_gc_cpu_ms"] for r in result.values())
        walked = max(r["full_gc_objects"] for r in result.values())
        slow = [
            r["server_p50_with_full_gc"] for r in result.values() if r["server_p50_with_full_gc"]
        ]
        between = sum(r["between_count"] for r in result.values())
        between_cpu = sum(r["between_cpu_ms"] for r in result.values())
        print(
            f"run {number}: {count} full collections inside {requests} timed page loads"
            + (
                f", {cpu / count:.1f} ms CPU each, walking up to {walked:,} objects; server "
                f"p50 of the page loads with one: {statistics.median(slow):.0f} ms"
                if count
                else ""
            )
            + (
                f"; {between} collections outside Django's handling (gunicorn reading and "
                f"sending, after the response), {between_cpu / between:.1f} ms CPU each"
                if between
                else ""
            )
        )


if __name__ == "__main__":
    main()
