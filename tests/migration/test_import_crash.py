"""Crash safety (issue 11, item 6): a real ``kreis worker`` is killed with SIGKILL in the middle
of an import. The database then holds whole chunks only, every record written is recorded for
undo, a new worker resumes after the last committed chunk and ends where a clean import ends,
and undo removes everything. On SQLite and, with DATABASE_URL, on PostgreSQL (a database of
the test's own, since the worker is another process)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

pytestmark = pytest.mark.slow

ROWS = 20_000
CHUNK = 250
JOB_FIELDS = {
    name: f"SELECT {name} FROM migration_importjob WHERE id = %s"  # noqa: S608 (fixed names)
    for name in ("status", "rows_done", "created_count")
}


def _wait_for(condition, seconds: float = 120, every: float = 0.05):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("gave up waiting")


class Instance:
    """A Kreis data folder with its own database, driven through ``kreis`` processes."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.env = {
            k: v
            for k, v in os.environ.items()
            if k not in {"DATABASE_URL", "REDIS_URL", "KREIS_EMBEDDED_WORKER", "DEBUG"}
        }
        self.env |= {
            "KREIS_DATA": str(folder),
            "KREIS_WORKER_HEARTBEAT": "1",
            "KREIS_WORKER_TIMEOUT": "3",
        }
        self.pg_url = None
        base = os.environ.get("DATABASE_URL", "")
        if base.startswith("postgres"):
            import psycopg

            name = f"kreis_crash_{uuid.uuid4().hex[:10]}"
            parts = urlsplit(base)
            self.admin_url = urlunsplit(parts._replace(path="/postgres"))
            with psycopg.connect(self.admin_url, autocommit=True) as db:
                db.execute(f'CREATE DATABASE "{name}"')
            self.pg_url = urlunsplit(parts._replace(path=f"/{name}"))
            self.pg_name = name
            self.env["DATABASE_URL"] = self.pg_url
        self.workers: list[subprocess.Popen] = []

    def kreis(self, *args: str) -> str:
        done = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "kreis.cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def python(self, code: str) -> str:
        return self.kreis("shell", "-c", code)

    def sql(self, query: str, *params) -> list[tuple]:
        """Read the instance's database directly; ``%s`` marks a parameter."""
        if self.pg_url:
            import psycopg

            with psycopg.connect(self.pg_url, autocommit=True) as db:
                return db.execute(query, params).fetchall()
        with sqlite3.connect(self.folder / "kreis.sqlite3", timeout=30) as db:
            return db.execute(query.replace("%s", "?"), params).fetchall()

    def one(self, query: str, *params):
        return self.sql(query, *params)[0][0]

    def job(self, field: str, job: int):
        return self.one(JOB_FIELDS[field], job)

    def start_worker(self) -> subprocess.Popen:
        worker = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "kreis.cli", "worker"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.workers.append(worker)
        _wait_for(
            lambda: self.one(
                "SELECT count(*) FROM core_workerheartbeat WHERE pid = %s AND stopped_at IS NULL",
                worker.pid,
            ),
            seconds=120,
            every=0.3,
        )
        return worker

    def close(self) -> None:
        for worker in self.workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGINT)
                try:
                    worker.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    worker.kill()
                    worker.wait()
        if self.pg_url:
            import psycopg

            with psycopg.connect(self.admin_url, autocommit=True) as db:
                db.execute(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def instance(tmp_path_factory):
    """One instance for the module (migrating a database takes a while); each test leaves
    it without products."""
    kreis = Instance(tmp_path_factory.mktemp("crash"))
    try:
        kreis.kreis("migrate", "-v0")
        kreis.kreis(
            "createuser", "--username", "ada", "--password", "x-Long-enough-9", "--role", "admin"
        )
        yield kreis
    finally:
        kreis.close()


def _product_file(path: Path) -> Path:
    lines = ["Artikelnummer;Bezeichnung;Listenpreis;Einheit"]
    lines += [f"P-{i:06d};Schraube Größe {i};{i % 997},{i % 100:02d};Stk" for i in range(ROWS)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


QUEUE = """
from kreis.core.models import User
from kreis.migration import services
ada = User.objects.get(username="ada")
with open({path!r}, "rb") as f:
    job = services.import_create(
        actor=ada, upload=f, name="artikel.csv", entity="product",
        mapping={{"Artikelnummer": "sku", "Bezeichnung": "name", "Listenpreis": "list_price",
                 "Einheit": "unit"}},
        options={{"skip_invalid": True, "chunk_size": {chunk}}},
    )
services.import_start(actor=ada, job=job)
print("JOB=%s" % job.pk)
"""

RESUME = """
from kreis.core.models import User
from kreis.migration import services
from kreis.migration.models import ImportJob
job = ImportJob.objects.get(pk={job})
assert services.import_is_orphaned(job), job.status
services.import_start(actor=User.objects.get(username="ada"), job=job)
"""

UNDO = """
from kreis.migration import services
from kreis.migration.models import ImportJob
services.import_undo(actor=None, job=ImportJob.objects.get(pk={job}), background=False)
"""


def _queue(kreis: Instance, path: Path) -> int:
    out = kreis.python(QUEUE.format(path=str(path), chunk=CHUNK))
    return int(out.split("JOB=")[1].split()[0])


def _state(kreis: Instance, job: int) -> dict:
    return {
        "status": kreis.job("status", job),
        "rows_done": kreis.job("rows_done", job),
        "created": kreis.job("created_count", job),
        "products": kreis.one("SELECT count(*) FROM commerce_product"),
        "records": kreis.one("SELECT count(*) FROM migration_importrecord WHERE job_id = %s", job),
        # a product without its undo record, or without its first history row
        "unrecorded": kreis.one(
            "SELECT count(*) FROM commerce_product p WHERE NOT EXISTS (SELECT 1 FROM "
            "migration_importrecord r WHERE r.object_id = p.id AND r.model = 'commerce.product')"
        ),
        "no_history": kreis.one(
            "SELECT count(*) FROM commerce_product p WHERE NOT EXISTS (SELECT 1 FROM "
            "commerce_historicalproduct h WHERE h.id = p.id AND h.history_type = '+')"
        ),
    }


def _kill_mid_import(kreis: Instance, worker: subprocess.Popen, job: int) -> None:
    _wait_for(lambda: kreis.job("rows_done", job) > 0)
    # Into the middle of a chunk: the worker is writing the next one now.
    time.sleep(0.05)
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait()


def test_a_worker_killed_mid_import_leaves_whole_chunks_resume_finishes_and_undo_clears(
    instance, tmp_path
):
    path = _product_file(tmp_path / "artikel.csv")
    worker = instance.start_worker()
    job = _queue(instance, path)
    _kill_mid_import(instance, worker, job)

    crashed = _state(instance, job)
    assert crashed["status"] == "running"  # as the dead worker left it
    assert 0 < crashed["rows_done"] < ROWS, "the kill came too late to test anything"
    assert crashed["rows_done"] % CHUNK == 0  # whole chunks only
    assert crashed["products"] == crashed["records"] == crashed["created"] == crashed["rows_done"]
    assert crashed["unrecorded"] == 0
    assert crashed["no_history"] == 0

    time.sleep(4)  # the dead worker's heartbeat goes stale (KREIS_WORKER_TIMEOUT=3)
    instance.start_worker()
    instance.python(RESUME.format(job=job))
    _wait_for(
        lambda: instance.job("status", job) in {"done", "failed"},
        seconds=600,
        every=0.5,
    )
    finished = _state(instance, job)
    assert finished["status"] == "done"
    assert finished["rows_done"] == finished["created"] == finished["products"] == ROWS
    assert finished["records"] == ROWS
    assert finished["unrecorded"] == 0
    assert finished["no_history"] == 0
    # The end state of a clean import: each row once, as in the file.
    products = instance.sql("SELECT sku, name, list_price FROM commerce_product ORDER BY sku")
    assert len({sku for sku, _name, _price in products}) == ROWS
    assert products[0][:2] == ("P-000000", "Schraube Größe 0")
    assert products[-1][:2] == (f"P-{ROWS - 1:06d}", f"Schraube Größe {ROWS - 1}")
    assert float(products[1234][2]) == float(f"{1234 % 997}.{1234 % 100:02d}")

    instance.python(UNDO.format(job=job))
    assert instance.one("SELECT count(*) FROM commerce_product") == 0
    assert instance.job("status", job) == "undone"


def test_undo_of_an_import_whose_worker_was_killed_removes_what_it_committed(instance, tmp_path):
    path = _product_file(tmp_path / "artikel.csv")
    worker = instance.start_worker()
    job = _queue(instance, path)
    _kill_mid_import(instance, worker, job)
    assert _state(instance, job)["products"] > 0
    time.sleep(4)
    instance.python(UNDO.format(job=job))
    state = _state(instance, job)
    assert state["status"] == "undone"
    assert state["products"] == 0
    assert state["records"] == 0
