"""Crash safety (issue 11, item 6): a real ``kreis worker`` is killed with SIGKILL in the middle
of an import. The database then holds whole chunks only, every record written is recorded for
undo, a new worker resumes after the last committed chunk and ends where a clean import ends,
and undo removes everything. On SQLite and, with DATABASE_URL, on PostgreSQL (a database of
the test's own, since the worker is another process)."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests import instances

pytestmark = pytest.mark.slow

ROWS = 6_000
CHUNK = 250
JOB_FIELDS = {
    name: f"SELECT {name} FROM migration_importjob WHERE id = %s"  # noqa: S608 (fixed names)
    for name in ("status", "rows_done", "created_count", "updated_count", "failed_count")
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

    def __init__(self, folder: Path, tmp_path_factory) -> None:
        """A copy of the run's migrated database (tests/instances.py)."""
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
            name = f"kreis_crash_{uuid.uuid4().hex[:10]}"
            self.admin_url = instances.postgres_url(base, "postgres")
            template = instances.migrated_postgres(tmp_path_factory, base)
            self.pg_url = instances.postgres_copy(tmp_path_factory, base, name, template)
            self.pg_name = name
            self.env["DATABASE_URL"] = self.pg_url
        else:
            instances.sqlite_instance(instances.migrated_sqlite(tmp_path_factory), folder)
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

    def stop_workers(self) -> None:
        for worker in self.workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGINT)
                try:
                    worker.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    worker.kill()
                    worker.wait()
        self.workers.clear()

    def close(self) -> None:
        self.stop_workers()
        if self.pg_url:
            import psycopg

            with psycopg.connect(self.admin_url, autocommit=True) as db:
                db.execute(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def instance(tmp_path_factory):
    """One instance for the module (migrating a database takes a while); each test leaves
    it without products."""
    kreis = Instance(tmp_path_factory.mktemp("crash"), tmp_path_factory)
    try:
        kreis.kreis(
            "createuser", "--username", "ada", "--password", "x-Long-enough-9", "--role", "admin"
        )
        yield kreis
    finally:
        kreis.close()


@pytest.fixture(autouse=True)
def _one_test_s_workers_only(instance):
    """The worker a test resumed with stops with the test: left running, it could take the
    next test's import, and killing that test's own worker would then kill nothing."""
    yield
    instance.stop_workers()


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


# --- persons with their organisation, contact data and address ---------------------------

PERSON_ROWS = 3_000
ORGANISATIONS = 40

QUEUE_PERSONS = """
from kreis.core.models import User
from kreis.migration import services
ada = User.objects.get(username="ada")
with open({path!r}, "rb") as f:
    job = services.import_create(
        actor=ada, upload=f, name="kontakte.csv", entity="person",
        mapping={{"Vorname": "first_name", "Nachname": "last_name", "E-Mail": "email",
                 "Telefon": "phone", "Firma": "organization", "Straße": "street",
                 "PLZ": "postal_code", "Ort": "city"}},
        options={{"skip_invalid": True, "chunk_size": {chunk}}},
    )
services.import_start(actor=ada, job=job)
print("JOB=%s" % job.pk)
"""

# Persons (or organisations) the import wrote that lack a part a complete one has.
PERSON_GAPS = {
    "unrecorded": "SELECT count(*) FROM parties_party p WHERE NOT EXISTS (SELECT 1 FROM "
    "migration_importrecord r WHERE r.object_id = p.id AND r.model = 'parties.party')",
    "no_history": "SELECT count(*) FROM parties_party p WHERE NOT EXISTS (SELECT 1 FROM "
    "parties_historicalparty h WHERE h.id = p.id AND h.history_type = '+')",
    "no_email": "SELECT count(*) FROM parties_party p WHERE p.kind = 'person' AND NOT EXISTS "
    "(SELECT 1 FROM parties_contactpoint c WHERE c.party_id = p.id AND c.kind = 'email')",
    "no_phone": "SELECT count(*) FROM parties_party p WHERE p.kind = 'person' AND NOT EXISTS "
    "(SELECT 1 FROM parties_contactpoint c WHERE c.party_id = p.id AND c.kind = 'phone')",
    "no_address": "SELECT count(*) FROM parties_party p WHERE p.kind = 'person' AND NOT EXISTS "
    "(SELECT 1 FROM parties_address a WHERE a.party_id = p.id)",
    "no_employer": "SELECT count(*) FROM parties_party p WHERE p.kind = 'person' AND NOT EXISTS "
    "(SELECT 1 FROM parties_employment e WHERE e.person_id = p.id)",
}


FIRST_NAMES = ("Jürgen", "Anna", "Özlem", "Peter", "Sabine", "John", "Mary", "Lukas")


def _last_name(i: int) -> str:
    """Names that differ clearly (the duplicate matcher takes similar names at one company
    for the same person)."""
    letters = hashlib.sha256(str(i).encode()).hexdigest()[:9].translate(_HEX_LETTERS)
    return letters.capitalize()


_HEX_LETTERS = str.maketrans("0123456789abcdef", "bdfghklmnprstwzä")


def _person_file(path: Path) -> Path:
    lines = ["Vorname;Nachname;E-Mail;Telefon;Firma;Straße;PLZ;Ort"]
    lines += [
        f"{FIRST_NAMES[i % 8]};{_last_name(i)};p{i}@beispiel.de;+49 30 {1000000 + i};"
        f"Firma {i % ORGANISATIONS} GmbH;Hauptstraße {i % 90 + 1};10115;Berlin"
        for i in range(PERSON_ROWS)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _wait_until_ended(kreis: Instance, job: int) -> None:
    _wait_for(lambda: kreis.job("status", job) in {"done", "failed"}, seconds=600, every=0.5)


def _content(kreis: Instance) -> list[tuple]:
    """What a user sees of the imported persons: name, e-mail, phone, employer, address."""
    return kreis.sql(
        "SELECT p.name, c.value, t.value, o.name, a.street FROM parties_party p "
        "JOIN parties_contactpoint c ON c.party_id = p.id AND c.kind = 'email' "
        "JOIN parties_contactpoint t ON t.party_id = p.id AND t.kind = 'phone' "
        "JOIN parties_employment e ON e.person_id = p.id "
        "JOIN parties_party o ON o.id = e.organization_id "
        "JOIN parties_address a ON a.party_id = p.id "
        "WHERE p.kind = 'person' ORDER BY c.value, t.value, p.name"
    )


def _persons(kreis: Instance, job: int) -> dict:
    state = {
        "status": kreis.job("status", job),
        "rows_done": kreis.job("rows_done", job),
        "created": kreis.job("created_count", job),
        "updated": kreis.job("updated_count", job),
        "failed": kreis.job("failed_count", job),
        "persons": kreis.one("SELECT count(*) FROM parties_party WHERE kind = 'person'"),
        "organisations": kreis.one(
            "SELECT count(*) FROM parties_party WHERE kind = 'organization'"
        ),
        "records": kreis.one("SELECT count(*) FROM migration_importrecord WHERE job_id = %s", job),
    }
    state |= {name: kreis.one(query) for name, query in PERSON_GAPS.items()}
    return state


def test_persons_killed_mid_import_are_whole_and_resume_ends_as_a_clean_import(instance, tmp_path):
    path = _person_file(tmp_path / "kontakte.csv")
    worker = instance.start_worker()
    out = instance.python(QUEUE_PERSONS.format(path=str(path), chunk=CHUNK))
    job = int(out.split("JOB=")[1].split()[0])
    _kill_mid_import(instance, worker, job)

    crashed = _persons(instance, job)
    assert crashed["status"] == "running"
    assert 0 < crashed["rows_done"] < PERSON_ROWS, "the kill came too late to test anything"
    assert crashed["rows_done"] % CHUNK == 0
    # every row of the committed chunks made a person, or updated one an earlier row made
    # (a similar name at the same company)
    assert crashed["persons"] + crashed["updated"] == crashed["rows_done"]
    assert crashed["records"] == crashed["persons"] + crashed["organisations"] + crashed["updated"]
    assert {k: crashed[k] for k in PERSON_GAPS} == dict.fromkeys(PERSON_GAPS, 0)

    time.sleep(4)
    instance.start_worker()
    instance.python(RESUME.format(job=job))
    _wait_until_ended(instance, job)
    finished = _persons(instance, job)
    assert finished["status"] == "done"
    assert finished["rows_done"] == PERSON_ROWS
    assert finished["persons"] >= PERSON_ROWS - 20  # a few may match a similar name
    assert finished["organisations"] == ORGANISATIONS  # each once, also across the crash
    assert finished["records"] == finished["persons"] + ORGANISATIONS + finished["updated"]
    assert {k: finished[k] for k in PERSON_GAPS} == dict.fromkeys(PERSON_GAPS, 0)
    resumed = _content(instance)

    instance.python(UNDO.format(job=job))
    assert instance.one("SELECT count(*) FROM parties_party") == 0
    assert instance.one("SELECT count(*) FROM parties_contactpoint") == 0
    assert instance.job("status", job) == "undone"

    # The same file imported without a crash ends in the same state.
    out = instance.python(QUEUE_PERSONS.format(path=str(path), chunk=CHUNK))
    clean_job = int(out.split("JOB=")[1].split()[0])
    _wait_until_ended(instance, clean_job)
    clean = _persons(instance, clean_job)
    for key in ("status", "created", "updated", "failed", "persons", "organisations", "records"):
        assert clean[key] == finished[key], key
    assert _content(instance) == resumed
    instance.python(UNDO.format(job=clean_job))
    assert instance.one("SELECT count(*) FROM parties_party") == 0
