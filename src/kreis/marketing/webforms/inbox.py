"""The inbox of web-form submissions on a SQLite installation: a file of its own in the data
folder (``form-inbox.sqlite3``), written by the visitor's request, emptied by the job that
processes submissions.

Why a second file: SQLite lets one writer in at a time. The job that processes a submission
(duplicate matcher, lead with history and search entry, timeline note, scoring: about 20 ms)
holds the database's write lock for most of a burst, and visitors' requests queued behind it:
59 submissions per second with a p95 of half a second (``benchmarks/form_submissions.py``).
Here the request writes only this file. The job moves what waits into the database in one
short transaction and processes it there. PostgreSQL has no such lock: there the request
writes the submission into the database directly.

Nothing is lost and nothing is taken twice: a row leaves the inbox only after the database
holds it (committed), and a move repeated after a crash in between skips the rows the
database holds already (``FormSubmission.intake_key`` is unique).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection

_local = threading.local()

SCHEMA = """
CREATE TABLE IF NOT EXISTS submission (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    form_id INTEGER NOT NULL,
    body TEXT NOT NULL
)
"""


def enabled() -> bool:
    """Whether submissions go through the inbox: on a SQLite database."""
    return connection.vendor == "sqlite"


def path() -> Path:
    return Path(settings.DATA_DIR) / "form-inbox.sqlite3"


def _db() -> sqlite3.Connection:
    """This thread's connection (gunicorn serves with threads; a connection is not shared)."""
    where = str(path())
    db = getattr(_local, "db", None)
    if db is None or getattr(_local, "where", None) != where:
        db = sqlite3.connect(where, timeout=10, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")  # as the database: safe against a crash
        db.execute(SCHEMA)
        _local.db, _local.where = db, where
    return db


def put(form_id: int, fields: dict[str, Any]) -> str:
    """Keep one submission (its model fields, JSON-ready); returns its key."""
    key = uuid.uuid4().hex
    _db().execute(
        "INSERT INTO submission (key, form_id, body) VALUES (?, ?, ?)",
        (key, form_id, json.dumps(fields, separators=(",", ":"))),
    )
    return key


def waiting(limit: int = 500) -> list[tuple[str, int, dict[str, Any]]]:
    """The oldest submissions waiting: (key, form id, fields)."""
    rows = (
        _db()
        .execute("SELECT key, form_id, body FROM submission ORDER BY seq LIMIT ?", (limit,))
        .fetchall()
    )
    return [(key, form_id, json.loads(body)) for key, form_id, body in rows]


def remove(keys: list[str]) -> None:
    """Drop the submissions the database holds now."""
    if keys:
        marks = ", ".join("?" * len(keys))
        _db().execute(f"DELETE FROM submission WHERE key IN ({marks})", keys)  # noqa: S608


def count(form_id: int | None = None) -> int:
    """How many wait (of one form)."""
    if not path().exists():
        return 0
    if form_id is None:
        return _db().execute("SELECT COUNT(*) FROM submission").fetchone()[0]
    query = "SELECT COUNT(*) FROM submission WHERE form_id = ?"
    return _db().execute(query, (form_id,)).fetchone()[0]
