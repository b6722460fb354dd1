"""Migrated databases, made once per test run and copied wherever a test needs one.

Migrating a new database takes most of a minute (Django replays the state of about a hundred
migrations, and the schema work is the small part of it). The suite needed one per test process
and phase, and again for every test that starts Kreis in a subprocess (serve, backup, import
crash, worker). Now the first process to need one runs the real ``kreis migrate`` into a
template, under a lock shared by the pytest-xdist workers of the run, and everyone copies it:

- SQLite: the migrated ``kreis.sqlite3`` (the test processes load it into their in-memory test
  database with SQLite's backup API; subprocess instances get a copy of the file);
- PostgreSQL: a template database that ``CREATE DATABASE … TEMPLATE`` copies.

The copies are the migrated database itself, seeded rows included, not a schema built from
the models, so the tests still run on what ``kreis migrate`` makes.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing, contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

TEMPLATE_FILES = ("kreis.sqlite3", "secret_key")


def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder shared by all processes of this test run (pytest-xdist's workers each have
    their own base temp below the run's one)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@contextmanager
def _locked(folder: Path, name: str):
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _environment(data: Path, database_url: str | None) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "KREIS_EMBEDDED_WORKER", "DEBUG"}
    }
    env |= {"KREIS_DATA": str(data), "KREIS_LOG_LEVEL": "WARNING"}
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def _migrate(data: Path, database_url: str | None = None) -> None:
    done = subprocess.run(  # noqa: S603 (our own command)
        [sys.executable, "-m", "kreis.cli", "migrate", "-v0"],
        env=_environment(data, database_url),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The data folder of a migrated SQLite instance, made once per test run."""
    shared = run_folder(tmp_path_factory) / "migrated-sqlite"
    with _locked(run_folder(tmp_path_factory), "migrated-sqlite"):
        if not (shared / "done").exists():
            shutil.rmtree(shared, ignore_errors=True)
            shared.mkdir()
            _migrate(shared)
            # The migrating process leaves its writes in the write-ahead log: fold them into
            # the database file, which is what gets copied.
            with closing(sqlite3.connect(shared / "kreis.sqlite3")) as db:
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            (shared / "done").touch()
    return shared


def sqlite_instance(template: Path, folder: Path) -> Path:
    """A new instance's data folder holding a copy of the migrated database."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in TEMPLATE_FILES:
        shutil.copy2(template / name, folder / name)
    return folder


def load_sqlite(template: Path, connection) -> None:
    """Fill an (empty, in-memory) SQLite test database with the migrated one."""
    connection.ensure_connection()
    with closing(sqlite3.connect(template / "kreis.sqlite3")) as source:
        source.backup(connection.connection)


def postgres_url(database_url: str, name: str) -> str:
    return urlunsplit(urlsplit(database_url)._replace(path=f"/{name}"))


def _pg_admin(database_url: str, *statements: str) -> None:
    import psycopg

    with psycopg.connect(postgres_url(database_url, "postgres"), autocommit=True) as db:
        for statement in statements:
            db.execute(statement)


def pg_template_name(database_url: str) -> str:
    """The template's name, one per database the run is pointed at (test → kreis_template_test),
    so runs against different databases on one server do not replace each other's template."""
    base = urlsplit(database_url).path.lstrip("/") or "test"
    return f"kreis_template_{base}"[:63]


def migrated_postgres(tmp_path_factory: pytest.TempPathFactory, database_url: str) -> str:
    """The name of a migrated PostgreSQL template database, made once per test run (the
    previous run's is replaced; nothing connects to it, so it can be copied)."""
    template = pg_template_name(database_url)
    folder = run_folder(tmp_path_factory)
    with _locked(folder, "migrated-postgres"):
        if not (folder / "migrated-postgres.done").exists():
            _pg_admin(
                database_url,
                f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)',
                f'CREATE DATABASE "{template}"',
            )
            data = folder / "migrated-postgres"
            data.mkdir(exist_ok=True)
            _migrate(data, postgres_url(database_url, template))
            (folder / "migrated-postgres.done").touch()
    return template


def postgres_copy(
    tmp_path_factory: pytest.TempPathFactory, database_url: str, name: str, template: str
) -> str:
    """A new database ``name`` as a copy of the template (copies are made one at a time: the
    template must have no other session while it is copied)."""
    with _locked(run_folder(tmp_path_factory), "migrated-postgres-copy"):
        _pg_admin(
            database_url,
            f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
            f'CREATE DATABASE "{name}" TEMPLATE "{template}"',
        )
    return postgres_url(database_url, name)
