# ruff: noqa: E402 (locust, and gevent with it, must be imported first)
"""Kreis under load: many sales reps at once, each with think time, in a realistic mix.

Starts `kreis serve` itself on loopback against the database the environment names (as the
other benchmarks: ``KREIS_DATA`` for SQLite, ``DATABASE_URL`` for PostgreSQL), prepared with
a demo (`kreis demo --size large`), and drives it with locust, headless and bounded in time:

    KREIS_DATA=/path/to/data .venv/bin/python benchmarks/load.py --users 50 100
    DATABASE_URL=postgres://… .venv/bin/python benchmarks/load.py --users 50 --duration 120

Each simulated user is a Kreis user of its own (``load-rep-NNN``, a sales rep in one of the
demo's teams, created or refreshed by this script) with a browser session and a personal
read-write API key, and touches only records it may see (its team's). The mix is ``TASKS``
below; a later feature adds its page there with a weight. Think time 1–3 s per user.

Reported per request type and overall: requests/s, p50/p95/p99 (client side, over HTTP),
failures by kind; for the server processes: CPU (seconds and share of the cores over the
measured window), RSS and PSS (summed over gunicorn's master and workers; the embedded job
worker apart). Before the load, the single-request figures of the same server: one user, no
think time, one request at a time, the same mix.

Loopback only: the host is always 127.0.0.1.
"""

from __future__ import annotations

import sys

PREPARE = "--prepare" in sys.argv

if not PREPARE:  # locust patches the standard library (gevent) as it is imported: first.
    import gevent
    from locust import FastHttpUser, between, constant, events, task  # noqa: F401
    from locust.env import Environment

import argparse
import itertools
import json
import os
import random
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module

HOST = "127.0.0.1"
USER_PREFIX = "load-rep-"
PASSWORD = "load-benchmark-Pw-4711"  # noqa: S105 (benchmark users on a demo database)


# --- The mix: one line per request type. Weights are percentages of the tasks. -------------


@dataclass(frozen=True)
class Task:
    name: str
    weight: int
    run: Callable  # run(client, user_data, rng)


def _get(client, path: str, name: str, data: dict, *, api: bool = False) -> None:
    headers = {"Host": "localhost"}
    if api:
        headers["Authorization"] = f"Bearer {data['api_key']}"
    else:
        headers["Cookie"] = data["cookie"]
    with client.get(
        path, headers=headers, name=name, catch_response=True, allow_redirects=False
    ) as response:
        if response.status_code != 200:
            response.failure(f"HTTP {response.status_code}")


def _write(client, method: str, path: str, name: str, data: dict, body: dict) -> None:
    headers = {
        "Host": "localhost",
        "Authorization": f"Bearer {data['api_key']}",
        "Content-Type": "application/json",
    }
    with client.request(
        method, path, headers=headers, data=json.dumps(body), name=name, catch_response=True
    ) as response:
        if response.status_code not in (200, 201):
            response.failure(f"HTTP {response.status_code}: {(response.text or '')[:80]}")


def party_list(client, data, rng):
    path = rng.choice(
        [
            f"/parties/?page={rng.randint(1, data['party_pages'])}",
            "/parties/?role=customer",
            "/parties/?kind=organization&sort=-created",
            f"/parties/?q={rng.choice(data['words'])}",
        ]
    )
    _get(client, path, "list: parties", data)


def deal_list(client, data, rng):
    path = rng.choice(
        [
            f"/deals/list/?page={rng.randint(1, data['deal_pages'])}",
            "/deals/list/?status=open",
            "/deals/list/?owner=me",
            "/deals/list/?sort=-amount" if rng.random() < 0.5 else "/deals/list/",
        ]
    )
    _get(client, path, "list: deals", data)


def lead_list(client, data, rng):
    path = rng.choice(
        [
            f"/leads/?page={rng.randint(1, data['lead_pages'])}",
            "/leads/?status=new",
            "/leads/?status=contacted",
            f"/leads/?q={rng.choice(data['words'])}",
        ]
    )
    _get(client, path, "list: leads", data)


def party_page(client, data, rng):
    party = rng.choice(data["parties"])
    _get(client, f"/parties/{party}/", "party page", data)
    _get(client, f"/activities/timeline/?party={party}", "party timeline", data)


def search(client, data, rng):
    _get(client, f"/search/?q={rng.choice(data['words'])}", "search", data)


def board(client, data, rng):
    _get(client, f"/deals/?pipeline={data['pipeline']}", "deal board", data)


def note_created(client, data, rng):
    body = {
        "kind": "note",
        "subject": "Load test note",
        "body": "Called back; next step agreed.",
        "party_id": rng.choice(data["parties"]),
    }
    _write(client, "POST", "/api/v1/activities", "API: note created", data, body)


def lead_patched(client, data, rng):
    body = {"source": rng.choice(["Website", "Trade fair", "Referral", "Cold call"])}
    lead = rng.choice(data["leads"])
    _write(client, "PATCH", f"/api/v1/leads/{lead}", "API: lead patched", data, body)


def deal_moved(client, data, rng):
    deal, stages = rng.choice(data["deals"])
    body = {"stage_id": rng.choice(stages)}
    _write(client, "POST", f"/api/v1/deals/{deal}/move", "API: deal moved", data, body)


TASKS = [
    Task("list: parties", 14, party_list),
    Task("list: deals", 13, deal_list),
    Task("list: leads", 13, lead_list),
    Task("party page + timeline", 25, party_page),
    Task("search", 10, search),
    Task("deal board", 10, board),
    Task("API: note created", 5, note_created),
    Task("API: lead patched", 5, lead_patched),
    Task("API: deal moved", 5, deal_moved),
]


# --- Preparation (in a Django process of its own; the load process never imports Django) ---


def prepare(count: int) -> list[dict]:
    """Create or refresh ``count`` sales reps, one per simulated user, spread over the demo's
    teams, each with a session and a fresh read-write API key, and pick records each may see."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kreis.settings")
    os.environ.setdefault("KREIS_LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.db.models import Count
    from django.utils.module_loading import import_string

    from kreis.activities.models import Activity
    from kreis.core import services
    from kreis.core.models import ApiKey, ApiKeyScope, Membership, Role, Team, User
    from kreis.core.queries import visible_records
    from kreis.leads.models import Lead, LeadStatus
    from kreis.parties.models import Party
    from kreis.sales.models import Deal, Pipeline, Stage, StageKind

    teams = list(Team.objects.order_by("pk"))
    if not teams:
        raise SystemExit("no teams: prepare the database with `kreis demo --size large` first")
    pipeline = Pipeline.objects.filter(is_default=True).first() or Pipeline.objects.first()
    open_stages: dict[int, list[int]] = {}
    for stage in Stage.objects.filter(kind=StageKind.OPEN).order_by("position"):
        open_stages.setdefault(stage.pipeline_id, []).append(stage.pk)
    store = import_module(settings.SESSION_ENGINE).SessionStore
    # The backend that loads a session's user (the first may only answer permissions).
    backend = next(
        path
        for path in settings.AUTHENTICATION_BACKENDS
        if hasattr(import_string(path), "get_user")
    )
    per_team: dict[int, dict] = {}
    users = []
    for n in range(1, count + 1):
        team = teams[(n - 1) % len(teams)]
        username = f"{USER_PREFIX}{n:03d}"
        user = User.objects.filter(username=username).first()
        if user is None:
            user = services.user_create(
                actor=None,
                username=username,
                password=PASSWORD,
                role=Role.SALES_REP,
                first_name="Load",
                last_name=f"Rep {n:03d}",
                team_ids=[team.pk],
            )
        else:
            Membership.objects.filter(user=user).exclude(team=team).delete()
            Membership.objects.get_or_create(user=user, team=team)
        ApiKey.objects.filter(user=user, name="load benchmark").delete()
        _, raw_key = services.apikey_create(
            actor=None, user=user, name="load benchmark", scope=ApiKeyScope.READ_WRITE
        )
        session = store()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = backend
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        if team.pk not in per_team:
            parties = visible_records(Party.objects.filter(deleted_at=None), user=user)
            busiest = (
                Activity.objects.filter(party__in=parties.values("pk"))
                .values("party")
                .annotate(n=Count("id"))
                .order_by("-n")[:20]
            )
            party_ids = [row["party"] for row in busiest] + list(
                parties.order_by("?").values_list("pk", flat=True)[:80]
            )
            names = parties.order_by("?").values_list("name", flat=True)[:40]
            words = sorted({w for name in names for w in name.split() if len(w) >= 4})[:40]
            leads = visible_records(Lead.objects.all(), user=user).exclude(
                status=LeadStatus.CONVERTED
            )
            deals = visible_records(Deal.objects.all(), user=user).filter(
                stage__kind=StageKind.OPEN
            )
            per_team[team.pk] = {
                "parties": party_ids,
                "party_pages": max(1, parties.count() // 25),
                "words": words or ["Müller"],
                "leads": list(leads.order_by("?").values_list("pk", flat=True)[:100]),
                "lead_pages": max(1, leads.count() // 25),
                "deals": [
                    [pk, [s for s in open_stages.get(pipeline_id, []) if s != stage_id]]
                    for pk, pipeline_id, stage_id in deals.order_by("?").values_list(
                        "pk", "pipeline_id", "stage_id"
                    )[:100]
                ],
                "deal_pages": max(1, deals.count() // 25),
            }
        team_data = per_team[team.pk]
        if not (team_data["parties"] and team_data["leads"] and team_data["deals"]):
            raise SystemExit(f"team {team} has no parties, leads or open deals to work on")
        users.append(
            {
                "username": username,
                "cookie": f"{settings.SESSION_COOKIE_NAME}={session.session_key}",
                "api_key": raw_key,
                "pipeline": pipeline.pk,
                **team_data,
                "deals": [d for d in team_data["deals"] if d[1]],
            }
        )
    return users


# --- The server and its processes ------------------------------------------------------------


class Server:
    """`kreis serve` on loopback in its own process group, stopped however the run ends."""

    def __init__(self, *, port: int, workers: int | None, threads: int | None, log_path: str):
        self.port, self.log_path = port, log_path
        argv = [sys.executable, "-m", "kreis.cli", "serve", "--host", HOST, "--port", str(port)]
        if workers:
            argv += ["--workers", str(workers)]
        if threads:
            argv += ["--threads", str(threads)]
        self.log = open(log_path, "w", encoding="utf-8")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
            argv,
            env=os.environ | {"PYTHONUNBUFFERED": "1"},
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 120) -> None:
        import http.client

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
        raise SystemExit(f"kreis serve did not answer in {timeout:.0f} s; see {self.log_path}")

    def processes(self) -> dict[str, list]:
        """The web server's processes (gunicorn master and workers) and the job worker's."""
        import psutil

        web, job = [], []
        try:
            tree = [psutil.Process(self.process.pid)]
            tree += tree[0].children(recursive=True)
        except psutil.NoSuchProcess:
            return {"web": [], "job": []}
        for proc in tree:
            try:
                cmdline = " ".join(proc.cmdline())
            except psutil.Error:
                continue
            (job if " worker" in cmdline and "--embedded" in cmdline else web).append(proc)
        return {"web": web, "job": job}

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


class ProcessSampler:
    """Server CPU over a window and peak RSS/PSS, sampled every second (in a greenlet)."""

    def __init__(self, server: Server):
        self.server = server
        self.peak = {"web_rss": 0, "web_pss": 0, "job_rss": 0, "job_pss": 0}
        self.cpu_start = self._cpu()
        self.wall_start = time.monotonic()
        self.running = True
        self.greenlet = gevent.spawn(self._loop)

    def _cpu(self) -> float:
        import psutil

        total = 0.0
        for procs in self.server.processes().values():
            for proc in procs:
                try:
                    times = proc.cpu_times()
                    total += times.user + times.system
                except psutil.Error:
                    pass
        return total

    def _loop(self) -> None:
        import psutil

        while self.running:
            for kind, procs in self.server.processes().items():
                rss = pss = 0
                for proc in procs:
                    try:
                        info = proc.memory_full_info()  # PSS from /proc/PID/smaps(_rollup)
                        rss, pss = rss + info.rss, pss + info.pss
                    except psutil.Error:
                        pass
                self.peak[f"{kind}_rss"] = max(self.peak[f"{kind}_rss"], rss)
                self.peak[f"{kind}_pss"] = max(self.peak[f"{kind}_pss"], pss)
            gevent.sleep(1.0)

    def stop(self) -> dict:
        self.running = False
        self.greenlet.join(timeout=5)
        seconds = time.monotonic() - self.wall_start
        cpu = self._cpu() - self.cpu_start
        return {
            "cpu_seconds": cpu,
            "cpu_share": cpu / seconds / (os.cpu_count() or 1),
            **{key: value / 2**20 for key, value in self.peak.items()},
        }


# --- One run of the load ---------------------------------------------------------------------


def user_class(users: list[dict], *, think: tuple[float, float] | None):
    counter = itertools.count()
    tasks = {}
    for spec in TASKS:

        def run(self, spec=spec):
            spec.run(self.client, self.data, self.rng)

        run.__name__ = spec.name
        tasks[run] = spec.weight

    weighted = tasks

    class KreisUser(FastHttpUser):
        tasks = weighted  # in the class body: locust turns the weights into its task list
        host = f"http://{HOST}"
        wait_time = between(*think) if think else constant(0)
        connection_timeout = 60.0
        network_timeout = 60.0

        def on_start(self):
            index = next(counter)
            self.data = users[index % len(users)]
            self.rng = random.Random(index)  # noqa: S311 (a workload, not a secret)

    return KreisUser


def run_load(*, port, users, count, spawn_rate, warmup, duration, think, server) -> dict:
    KreisUser = user_class(users, think=think)
    KreisUser.host = f"http://{HOST}:{port}"
    env = Environment(user_classes=[KreisUser], events=events)
    runner = env.create_local_runner()
    runner.start(count, spawn_rate=spawn_rate)
    gevent.sleep(count / spawn_rate + warmup)
    env.stats.reset_all()
    sampler = ProcessSampler(server)
    started = time.monotonic()
    gevent.sleep(duration)
    window = time.monotonic() - started
    processes = sampler.stop()
    rows = {}
    for (name, _method), entry in sorted(env.stats.entries.items()):
        rows[name] = _figures(entry, window)
    overall = _figures(env.stats.total, window)
    errors = {}
    for error in env.stats.errors.values():
        kind = f"{error.name}: {error.error}"
        errors[kind] = errors.get(kind, 0) + error.occurrences
    runner.quit()
    return {
        "users": count,
        "window_s": window,
        "rows": rows,
        "overall": overall,
        "errors": errors,
        "processes": processes,
    }


def _figures(entry, window: float) -> dict:
    return {
        "requests": entry.num_requests,
        "failures": entry.num_failures,
        "rps": entry.num_requests / window,
        "p50": entry.get_response_time_percentile(0.5),
        "p95": entry.get_response_time_percentile(0.95),
        "p99": entry.get_response_time_percentile(0.99),
    }


def print_report(label: str, single: dict, loads: list[dict]) -> None:
    print(f"\n## {label}\n")
    head = "| request | single p50 / p95 ms |"
    rule = "|---|---:|"
    for load in loads:
        head += f" {load['users']} users: req/s | p50 / p95 / p99 ms | failed |"
        rule += "---:|---:|---:|"
    print(head)
    print(rule)
    names = sorted({name for load in loads for name in load["rows"]} | set(single["rows"]))
    for name in [*names, "overall"]:
        one = single["overall"] if name == "overall" else single["rows"].get(name)
        line = f"| {name} | " + (f"{one['p50']:.0f} / {one['p95']:.0f} |" if one else "– |")
        for load in loads:
            row = load["overall"] if name == "overall" else load["rows"].get(name)
            if row is None:
                line += " – | – | – |"
                continue
            line += (
                f" {row['rps']:.1f} | {row['p50']:.0f} / {row['p95']:.0f} / {row['p99']:.0f} |"
                f" {row['failures']} |"
            )
        print(line)
    print()
    if single["errors"]:
        print(f"- single requests: {sum(single['errors'].values())} errors: {single['errors']}")
    for load in loads:
        proc = load["processes"]
        print(
            f"- {load['users']} users, {load['window_s']:.0f} s measured: server CPU "
            f"{proc['cpu_seconds']:.0f} s ({100 * proc['cpu_share']:.0f} % of "
            f"{os.cpu_count()} cores); web server peak RSS {proc['web_rss']:.0f} MiB, "
            f"PSS {proc['web_pss']:.0f} MiB; job worker RSS {proc['job_rss']:.0f} MiB, "
            f"PSS {proc['job_pss']:.0f} MiB"
        )
        if load["errors"]:
            for kind, n in sorted(load["errors"].items(), key=lambda item: -item[1]):
                print(f"  - {n} × {kind}")
        else:
            print("  - no errors")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=[50], help="e.g. 50 100")
    parser.add_argument("--duration", type=float, default=120, help="measured seconds per run")
    parser.add_argument("--warmup", type=float, default=15, help="seconds after the ramp-up")
    parser.add_argument("--spawn-rate", type=float, default=10, help="users started per second")
    parser.add_argument("--single", type=float, default=30, help="seconds of single requests")
    parser.add_argument("--port", type=int, default=8108)
    parser.add_argument("--workers", type=int, default=None, help="default: as kreis serve")
    parser.add_argument("--threads", type=int, default=None, help="default: as kreis serve")
    parser.add_argument("--label", default=None, help="heading of the report")
    parser.add_argument("--log", default=None, help="the server's log (default: a temp file)")
    parser.add_argument("--json", default=None, help="also write the figures here")
    parser.add_argument("--prepare", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare is not None:
        json.dump(prepare(args.prepare), sys.stdout)
        return
    # Bounded in time: ramp-ups, warm-ups and the measured windows, plus a margin.
    started = time.monotonic()
    print(f"preparing {max(args.users)} users …", file=sys.stderr)
    prepared = subprocess.run(  # noqa: S603
        [sys.executable, __file__, "--prepare", str(max(args.users))],
        capture_output=True,
        text=True,
        check=False,
    )
    if prepared.returncode:
        raise SystemExit(prepared.stderr)
    users = json.loads(prepared.stdout)
    log_path = args.log or f"/tmp/kreis-load-{os.getpid()}.log"  # noqa: S108
    server = Server(port=args.port, workers=args.workers, threads=args.threads, log_path=log_path)
    try:
        server.wait_ready()
        print(f"single requests for {args.single:.0f} s …", file=sys.stderr)
        single = run_load(
            port=args.port,
            users=users,
            count=1,
            spawn_rate=1,
            warmup=5,
            duration=args.single,
            think=None,
            server=server,
        )
        loads = []
        for count in args.users:
            print(f"{count} users for {args.duration:.0f} s …", file=sys.stderr)
            loads.append(
                run_load(
                    port=args.port,
                    users=users,
                    count=count,
                    spawn_rate=args.spawn_rate,
                    warmup=args.warmup,
                    duration=args.duration,
                    think=(1.0, 3.0),
                    server=server,
                )
            )
            gevent.sleep(5)  # the last users' requests drain
    finally:
        server.stop()
    database = (
        "PostgreSQL" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "SQLite"
    )
    label = args.label or f"{database}, kreis serve as it ships"
    print_report(label, single, loads)
    print(f"\n(total {time.monotonic() - started:.0f} s; server log: {log_path})")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump({"label": label, "single": single, "loads": loads}, out, indent=1)


if __name__ == "__main__":
    main()
