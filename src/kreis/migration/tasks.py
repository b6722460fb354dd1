"""Background jobs of the imports: running an import and undoing one."""

from __future__ import annotations

from huey.contrib.djhuey import db_task

from kreis.migration import runs


@db_task()
def run_import(job_id: int) -> int:
    runs.import_run(job_id)
    return job_id


@db_task()
def undo_import(job_id: int, actor_id: int | None = None) -> int:
    runs.import_undo_run(job_id, actor_id=actor_id)
    return job_id
