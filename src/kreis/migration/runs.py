"""The worker's part of an import: reading the job's rows, running it chunk by chunk (each
chunk ONE transaction with its undo records, row errors, counters and ``rows_done``), and
undoing it. ``kreis.migration.tasks`` runs these in the job queue; ``services`` starts them.
"""

from __future__ import annotations

import gc
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from kreis.core import worker
from kreis.core.models import User
from kreis.migration.engine import (
    Context,
    Handler,
    RecordEntry,
    RowProblem,
    SourceRow,
    chunks,
    handler_for,
    process_chunk,
    source_rows,
)
from kreis.migration.models import ImportJob, ImportRecord, ImportRowError, ImportStatus
from kreis.migration.signals import import_finished

log = logging.getLogger("kreis.migration")

# Rows per chunk (one transaction each). Big enough that per-chunk costs vanish, small enough
# that a chunk's objects stay a few MB and a crash loses seconds of work.
CHUNK_SIZE = 5000
# Records reverted per undo transaction.
UNDO_CHUNK = 20_000


class ImportAborted(Exception):
    """A chunk had invalid rows and the import does not skip them: the chunk is rolled back
    and the job fails (the chunks before it stay, undoable)."""


class ImportLost(Exception):
    """The job is no longer this run's (resumed elsewhere, or undone): stop without writing."""


def max_upload_bytes() -> int:
    return settings.KREIS_IMPORT_MAX_MB * 1024 * 1024


def open_job_table(job: ImportJob):
    """The job's stored file, opened by the readers (format and encoding as detected)."""
    from kreis.migration.readers import open_table

    return open_table(
        job.file.path,
        name=job.original_name,
        sheet=job.options.get("sheet") or None,
        max_bytes=max_upload_bytes(),
    )


def job_rows(job: ImportJob, *, first: int = 0) -> Iterator[SourceRow]:
    """The file's data rows from the ``first`` on, mapped and with the wizard's fixes."""
    return source_rows(
        open_job_table(job).rows(),
        headers=job.headers,
        mapping=job.mapping,
        fixes=job.options.get("fixes"),
        first=first,
    )


def job_context(job: ImportJob, *, actor: User | None, dry_run: bool) -> Context:
    return Context(
        entity=job.entity,
        actor=actor,
        mapping=dict(job.mapping),
        duplicate_mode=job.duplicate_mode,
        options=dict(job.options),
        job=job,
        dry_run=dry_run,
    )


def chunk_size(job: ImportJob) -> int:
    return int(job.options.get("chunk_size") or CHUNK_SIZE)


def row_errors(job: ImportJob, rows: list[SourceRow], problems: list[RowProblem]):
    raw = {row.number: row.raw for row in rows}
    return [
        ImportRowError(
            job=job, row=p.row, column=p.column[:255], message=p.message[:500], values=raw[p.row]
        )
        for p in problems
    ]


def import_run(
    job_id: int, *, progress: Callable[[ImportJob], None] | None = None
) -> ImportJob | None:
    """The worker's part: claim the queued job, then import it chunk by chunk from
    ``rows_done`` on. Each chunk is ONE transaction: the records, their ``ImportRecord``s,
    the row errors, the counters and ``rows_done``. Ends *done* or *failed* (with the reason)
    and sends ``import_finished``. Returns the job, or None if it was not queued."""
    now = timezone.now()
    claimed = ImportJob.objects.filter(pk=job_id, status=ImportStatus.QUEUED).update(
        status=ImportStatus.RUNNING,
        run_started_at=now,
        run_started_rows=F("rows_done"),
        started_at=Coalesce(F("started_at"), now),
        progress_at=now,
        run_by=worker.CURRENT_WORKER or "",
    )
    if not claimed:
        return None
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    try:
        handler = handler_for(job.entity)
        ctx = job_context(job, actor=job.created_by, dry_run=False)
        with fewer_collections() as collect:
            rows = job_rows(job, first=job.rows_done)
            for chunk in chunks(rows, chunk_size(job), handler=handler):
                _import_chunk(job, handler, chunk, ctx)
                collect()
                if progress is not None:
                    progress(job)
        status, error = ImportStatus.DONE, ""
    except ImportLost:
        return job
    except ImportAborted as exc:
        status, error = ImportStatus.FAILED, str(exc)
    except Exception as exc:  # recorded on the job; the import can be resumed or undone
        log.exception("import %s failed", job_id)
        status, error = ImportStatus.FAILED, f"{type(exc).__name__}: {exc}"[:2000]
    with transaction.atomic():
        ended = ImportJob.objects.filter(
            pk=job.pk, status=ImportStatus.RUNNING, run_started_at=job.run_started_at
        ).update(status=status, error=error, finished_at=timezone.now())
        job.refresh_from_db()
        if ended:
            transaction.on_commit(lambda: import_finished.send(sender=ImportJob, job=job))
    return job


@contextmanager
def fewer_collections():
    """Python's cycle collector only between chunks, for the run. A chunk makes ~100 objects
    a row that live until the chunk ends; collected as they came, the collector passed over
    them (and over all of Django's objects) so often that it took a quarter of an import's
    CPU. Here the objects alive before the run are frozen (left out of collections), the
    automatic collection is off, and the young generations are collected after each chunk
    (call the yielded function): the chunk's cycles are freed then, so memory stays bounded
    by a chunk."""
    enabled = gc.isenabled()
    gc.freeze()
    gc.disable()
    try:
        yield lambda: gc.collect(1)
    finally:
        if enabled:
            gc.enable()
        gc.unfreeze()


def _import_chunk(job: ImportJob, handler: Handler, chunk: list[SourceRow], ctx: Context) -> None:
    with transaction.atomic():
        result = process_chunk(handler, chunk, ctx)
        if result.problems and not ctx.options.get("skip_invalid"):
            first = result.problems[0]
            raise ImportAborted(
                _(
                    "Row %(row)s, column “%(column)s”: %(message)s. The import stopped there; "
                    "the rows before it were imported (undo removes them)."
                )
                % {"row": first.row, "column": first.column, "message": first.message}
            )
        insert_records(job.pk, result.records)
        ImportRowError.objects.bulk_create(row_errors(job, chunk, result.problems), batch_size=1000)
        counts = result.counts
        done = chunk[-1].number - 1
        updated = ImportJob.objects.filter(
            pk=job.pk, status=ImportStatus.RUNNING, run_started_at=job.run_started_at
        ).update(
            rows_done=done,
            created_count=F("created_count") + counts["create"],
            updated_count=F("updated_count") + counts["update"],
            merged_count=F("merged_count") + counts["merge"],
            skipped_count=F("skipped_count") + counts["skip"],
            failed_count=F("failed_count") + counts["invalid"],
            progress_at=timezone.now(),
        )
        if not updated:
            raise ImportLost
    job.rows_done = done
    for name, key in (
        ("created_count", "create"),
        ("updated_count", "update"),
        ("merged_count", "merge"),
        ("skipped_count", "skip"),
        ("failed_count", "invalid"),
    ):
        setattr(job, name, getattr(job, name) + counts[key])


def insert_records(job_id: int, entries: list[RecordEntry]) -> None:
    """The chunk's undo log as ``ImportRecord`` rows, without a model instance each:
    PostgreSQL through COPY, SQLite through one prepared INSERT run for all rows (the ORM's
    bulk_create cost more than a fast handler's whole write)."""
    if not entries:
        return
    table = connection.ops.quote_name(ImportRecord._meta.db_table)
    columns = ("job_id", "row", "model", "object_id", "action", "before", "merge_id")
    rows = [
        (
            job_id,
            e.row,
            e.model,
            e.object_id,
            e.action,
            None if e.before is None else json.dumps(e.before, cls=DjangoJSONEncoder),
            e.merge_id,
        )
        for e in entries
    ]
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)  # noqa: S608


def import_undo_run(job_id: int, *, actor_id: int | None = None) -> ImportJob:
    """Undo the job's records newest first, ``UNDO_CHUNK`` per transaction; the records
    undone are deleted with what they reverted, so a second call continues.

    On SQLite the foreign keys are not checked row by row meanwhile (Django's
    ``constraint_checks_disabled``, as ``loaddata`` does): the handlers delete what depends on
    a record before the record, found through the models' relations (``kreis.core.purge``),
    and the check took a third of a purge's time. PostgreSQL checks them at each commit."""
    job = ImportJob.objects.get(pk=job_id)
    if job.status != ImportStatus.UNDOING:
        return job
    actor = User.objects.filter(pk=actor_id).first() if actor_id else None
    handler = handler_for(job.entity)
    ctx = job_context(job, actor=actor, dry_run=False)
    with connection.constraint_checks_disabled():
        while True:
            with transaction.atomic():
                batch = undo_batch(job.pk)
                if not batch:
                    break
                handler.undo(batch, ctx)
                ImportRecord.objects.filter(job=job, pk__gte=batch[-1].pk).delete()
                ImportJob.objects.filter(pk=job.pk).update(progress_at=timezone.now())
    ImportJob.objects.filter(pk=job.pk, status=ImportStatus.UNDOING).update(
        status=ImportStatus.UNDONE, undone_at=timezone.now(), undone_by=actor
    )
    job.refresh_from_db()
    return job


def undo_batch(job_id: int, size: int | None = None) -> list[RecordEntry]:
    """The job's newest ``size`` (default ``UNDO_CHUNK``) undo records, read with one plain
    query: a million rows through the ORM's ``values_list`` cost more than undoing them."""
    table = connection.ops.quote_name(ImportRecord._meta.db_table)
    columns = ("row", "model", "object_id", "action", "before", "merge_id", "id")
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {names} FROM {table} WHERE job_id = %s ORDER BY id DESC LIMIT %s",  # noqa: S608
            [job_id, size or UNDO_CHUNK],
        )
        rows = cursor.fetchall()
    return [
        RecordEntry(row, model, object_id, action, _json(before), merge_id, pk)
        for row, model, object_id, action, before, merge_id, pk in rows
    ]


def _json(value):
    """A JSON column as read by a plain query: text on SQLite, decoded on PostgreSQL."""
    return json.loads(value) if isinstance(value, str) else value
