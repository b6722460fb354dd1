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
        "data_folder": _timed(check_data_folder),
    }
    return {"status": "ok" if all(c["ok"] for c in checks.values()) else "fail", "checks": checks}
