"""Health of the things Kreis needs: database, job queue, data folder."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable

from django.conf import settings
from django.db import connection


def _timed(check: Callable[[], str | None]) -> dict:
    started = time.perf_counter()
    try:
        detail = check()
    except Exception as exc:  # noqa: BLE001 (health reports every failure, whatever its kind)
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    result = {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}
    if detail:
        result["detail"] = detail
    return result


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return connection.vendor


def check_jobs() -> str:
    from huey.contrib.djhuey import HUEY

    if settings.HUEY.get("immediate"):
        return "immediate"
    HUEY.storage.queue_size()  # reaches the SQLite file or Redis
    return type(HUEY).__name__


def check_worker() -> str:
    """A job worker is alive: its last heartbeat is younger than KREIS_WORKER_TIMEOUT."""
    from django.utils import timezone

    from kreis.core.worker import jobs_run_immediately, worker_status

    if jobs_run_immediately():
        return "immediate"
    status = worker_status()
    if status.last_beat is None:
        raise RuntimeError("no job worker has reported (start `kreis serve` or `kreis worker`)")
    age = round((timezone.now() - status.last_beat).total_seconds())
    seen = f"last heartbeat {status.last_beat.isoformat(timespec='seconds')} ({age} s ago)"
    if not status.alive:
        raise RuntimeError(f"{seen}: no worker alive (stopped, or silent for KREIS_WORKER_TIMEOUT)")
    return seen


def check_data_folder() -> str:
    folder = settings.DATA_DIR
    if not os.access(folder, os.W_OK):
        raise PermissionError(f"{folder} is not writable")
    with tempfile.NamedTemporaryFile(dir=folder, prefix=".healthz-"):
        pass
    return str(folder)


def run_checks() -> dict:
    checks = {
        "database": _timed(check_database),
        "jobs": _timed(check_jobs),
        "worker": _timed(check_worker),
        "data_folder": _timed(check_data_folder),
    }
    return {"status": "ok" if all(c["ok"] for c in checks.values()) else "fail", "checks": checks}
