"""Background jobs of the imports: checking an import (dry run), running it, undoing it."""

from __future__ import annotations

from huey.contrib.djhuey import db_task

from kreis.migration import checks, runs


@db_task()
def run_import(job_id: int) -> int:
    runs.import_run(job_id)
    return job_id


@db_task()
def undo_import(job_id: int, actor_id: int | None = None) -> int:
    runs.import_undo_run(job_id, actor_id=actor_id)
    return job_id


@db_task()
def check_import(job_id: int, preview_rows: int = checks.PREVIEW_ROWS) -> int:
    checks.import_check_run(job_id, preview_limit=preview_rows)
    return job_id
