"""Background jobs of the imports: running an import and undoing one."""

from __future__ import annotations

from huey.contrib.djhuey import db_task

from kreis.migration import services


@db_task()
def run_import(job_id: int) -> int:
    services.import_run(job_id)
    return job_id


@db_task()
def undo_import(job_id: int, actor_id: int | None = None) -> int:
    services.import_undo_run(job_id, actor_id=actor_id)
    return job_id
