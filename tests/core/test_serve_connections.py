"""`kreis serve` as real processes: writes over reused idle keep-alive connections are never
lost, and a SIGHUP restarts the web workers without failing a request in flight or stopping
the job worker."""

from __future__ import annotations

import http.client
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests import instances
from tests.core.test_worker import _free_port, _kreis, _wait_for

pytestmark = [pytest.mark.slow, pytest.mark.database_independent]  # its own SQLite instance

SETUP = """
from kreis.core import services
from kreis.core.models import ApiKeyScope, Role
from kreis.parties.services import party_create
team = services.team_create(actor=None, name="North")
user = services.user_create(
    actor=None, username="ada", password=None, role=Role.SALES_REP, team_ids=[team.pk]
)
_, key = services.apikey_create(actor=None, user=user, name="test", scope=ApiKeyScope.READ_WRITE)
party = party_create(
    actor=user, kind="organization", owner=user, team=team, name="Keepalive GmbH"
)
print(key, party.pk)
"""


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


@pytest.fixture(scope="module")
def server(tmp_path_factory, migrated_sqlite):
    data = instances.sqlite_instance(migrated_sqlite, tmp_path_factory.mktemp("serve"))
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "KREIS_EMBEDDED_WORKER", "DEBUG"}
    }
    env |= {"KREIS_DATA": str(data), "KREIS_LOG_LEVEL": "WARNING"}
    key, party = _kreis("shell", "-c", SETUP, env=env).stdout.splitlines()[-1].split()
    port = _free_port()
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "kreis.cli", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )

    def answers():
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/api/v1/organizations", headers={"Authorization": f"Bearer {key}"})
            return conn.getresponse().status == 200
        except OSError:
            return False

    try:
        _wait_for(answers, seconds=120)
        yield {
            "process": process,
            "port": port,
            "key": key,
            "party": int(party),
            "database": data / "kreis.sqlite3",
        }
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()


def _notes(database: Path, subject: str) -> int:
    with sqlite3.connect(database) as db:
        sql = "SELECT count(*) FROM activities_activity WHERE subject = ?"
        return db.execute(sql, (subject,)).fetchone()[0]


def _post_note(conn: http.client.HTTPConnection, server: dict, subject: str) -> int | str:
    note = {"kind": "note", "subject": subject, "body": "Called back.", "party_id": server["party"]}
    body = json.dumps(note)
    conn.request(
        "POST",
        "/api/v1/activities",
        body=body,
        headers={"Authorization": f"Bearer {server['key']}", "Content-Type": "application/json"},
    )
    response = conn.getresponse()
    text = response.read()
    return response.status if response.status == 201 else f"{response.status} {text[:300]!r}"


def test_writes_on_connections_idle_around_the_old_keepalive_are_never_lost(server):
    """Gunicorn's former 2 s keep-alive closed idle connections just as clients reused them:
    a POST on such a connection fails and is not retried. No retry here either."""
    conn = http.client.HTTPConnection("127.0.0.1", server["port"], timeout=30)
    statuses, failures, reused = [], [], []
    assert _post_note(conn, server, "idle write") == 201  # opens the connection
    first_socket = conn.sock
    for idle in (1.8, 1.95, 2.0, 2.05, 2.2, 3.0):
        time.sleep(idle)
        try:
            statuses.append(_post_note(conn, server, "idle write"))
            reused.append(conn.sock is first_socket)
        except (http.client.HTTPException, OSError) as exc:
            failures.append(f"after {idle} s idle: {exc!r}")
            conn.close()
    conn.close()
    assert failures == []
    assert statuses == [201] * 6
    assert first_socket is not None
    assert all(reused)
    assert _notes(server["database"], "idle write") == 7


def test_sighup_restarts_the_web_workers_without_failing_a_request(server):
    process = server["process"]
    web_master = next(
        pid
        for pid in _children(process.pid)
        if "--embedded" not in Path(f"/proc/{pid}/cmdline").read_text()
    )
    job_workers = [pid for pid in _children(process.pid) if pid != web_master]
    old_workers = set(_children(web_master))
    assert len(old_workers) == 2
    assert len(job_workers) == 1

    stop = threading.Event()
    results: list[str] = []

    def client(n: int) -> None:
        # A small steady load: each client writes and reads over its keep-alive connection.
        conn = http.client.HTTPConnection("127.0.0.1", server["port"], timeout=30)
        while not stop.is_set():
            try:
                results.append(str(_post_note(conn, server, f"during reload {n}")))
                conn.request(
                    "GET",
                    "/api/v1/organizations",
                    headers={"Authorization": f"Bearer {server['key']}"},
                )
                response = conn.getresponse()
                response.read()
                results.append(str(response.status))
            except (http.client.HTTPException, OSError) as exc:
                results.append(repr(exc))
                conn.close()
        conn.close()

    clients = [threading.Thread(target=client, args=(n,)) for n in range(3)]
    for thread in clients:
        thread.start()
    try:
        time.sleep(2)
        before_reload = len(results)
        process.send_signal(signal.SIGHUP)
        _wait_for(lambda: (now := set(_children(web_master))) and not now & old_workers, 60)
        time.sleep(2)  # the new workers serve
    finally:
        stop.set()
        for thread in clients:
            thread.join(timeout=60)

    assert before_reload > 0
    assert len(results) > before_reload
    assert [r for r in results if r not in {"200", "201"}] == []
    assert process.poll() is None  # the server runs on …
    new_workers = set(_children(web_master))
    assert len(new_workers) == 2
    assert not new_workers & old_workers
    assert set(_children(process.pid)) == {web_master, *job_workers}  # job worker untouched
    written = sum(1 for r in results if r == "201")
    assert sum(_notes(server["database"], f"during reload {n}") for n in range(3)) == written
