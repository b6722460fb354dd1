"""Imports, from upload to undo: the writes the wizard, the API and ``kreis import`` share.

The life of an import job::

    import_create   upload stored, format read, columns mapped (template > given > preset >
                    suggestion)                                            → uploaded
    import_configure  mapping, duplicate mode, options changed             → uploaded
    import_check    dry run over every row: problems per row and column,
                    would create/update/merge/skip, a preview              → validated
    import_fix_row  a row corrected in the wizard, checked again
    import_start    handed to the job queue (or resumed after a crash)     → queued
    import_run      the worker: chunk by chunk, each in one transaction    → running → done/failed
    import_undo     everything the import wrote reverted                   → undoing → undone

Crash safety: a chunk's records, their ``ImportRecord``s (what undo needs), its row errors and
the job's ``rows_done`` and counters commit together, so after ``kill -9`` the database holds
whole chunks only, and ``import_start`` on the job resumes at ``rows_done``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import logging
import os
from collections.abc import Callable, Iterator
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _

from kreis.core.models import User, WorkerHeartbeat
from kreis.core.web import DefusingWriter
from kreis.core.worker import jobs_run_immediately, worker_alive_since, worker_status
from kreis.core.worker import timeout as worker_timeout
from kreis.migration.checks import (  # noqa: F401  (ImportCheck, PreviewRow: the report's types)
    CHECK_PROBLEMS,
    PREVIEW_ROWS,
    ImportCheck,
    PreviewRow,
    check_report,
    import_check_run,
    missing_targets,
    preview_rows,
    preview_to_json,
)
from kreis.migration.engine import RowProblem, SourceRow, handler_for, process_chunk
from kreis.migration.models import (
    DuplicateMode,
    ImportEntity,
    ImportJob,
    ImportRowError,
    ImportSource,
    ImportStatus,
    MappingTemplate,
)
from kreis.migration.runs import (  # noqa: F401  (import_run, import_undo_run: callers use services)
    CHUNK_SIZE,
    UNDO_CHUNK,
    ImportAborted,
    ImportLost,
    chunk_size,
    import_run,
    import_undo_run,
    insert_records,
    job_context,
    job_rows,
    max_upload_bytes,
    open_job_table,
    row_errors,
)

log = logging.getLogger("kreis.migration")

# Undo larger than this goes to the job queue when a worker is alive.
UNDO_IN_BACKGROUND_FROM = 20_000

# Options a caller may set, with their types.
OPTION_TYPES: dict[str, type | tuple[type, ...]] = {
    "skip_invalid": bool,
    "chunk_size": int,
    "sheet": str,
}

EDITABLE = (ImportStatus.UPLOADED, ImportStatus.VALIDATED)
UNDOABLE = (ImportStatus.DONE, ImportStatus.FAILED, ImportStatus.UNDOING)


# --- permissions -------------------------------------------------------------------------


def can_import(user: User | None) -> bool:
    """Importing writes records: every active user but read-only ones."""
    return bool(user and user.is_authenticated and user.is_active and not user.is_read_only)


def _require_importer(actor: User | None) -> None:
    if actor is not None and not can_import(actor):
        raise PermissionDenied


def _require_own(actor: User | None, job: ImportJob) -> None:
    """Changing an import is for the user who made it and administrators."""
    _require_importer(actor)
    if actor is not None and not actor.is_admin and job.created_by_id != actor.pk:
        raise PermissionDenied


# --- reading the file --------------------------------------------------------------------


def _store_upload(upload: Any, name: str) -> tuple[str, str, int]:
    """Save the upload under ``imports/YYYY/MM/``; returns (storage name, sha256, size).
    Too big: ValidationError, nothing kept."""
    limit = max_upload_bytes()
    size = getattr(upload, "size", None)
    if size is not None and size > limit:
        raise ValidationError(_too_big(), code="too_big")
    if isinstance(upload, bytes):
        upload = File(io.BytesIO(upload), name=name)
    elif not isinstance(upload, File):
        upload = File(upload, name=name)
    safe = get_valid_filename(os.path.basename(name))[:120] or "import"
    stored = default_storage.save(timezone.now().strftime(f"imports/%Y/%m/{safe}"), upload)
    digest = hashlib.sha256()
    total = 0
    with default_storage.open(stored, "rb") as saved:
        for block in iter(lambda: saved.read(1 << 20), b""):
            digest.update(block)
            total += len(block)
    if total > limit:
        default_storage.delete(stored)
        raise ValidationError(_too_big(), code="too_big")
    if total == 0:
        default_storage.delete(stored)
        raise ValidationError(_("The file is empty."), code="empty")
    return stored, digest.hexdigest(), total


def _too_big() -> str:
    return _("The file is larger than %(mb)s MB.") % {"mb": settings.KREIS_IMPORT_MAX_MB}


# --- mapping -----------------------------------------------------------------------------


def _targets(entity: str) -> dict:
    from kreis.migration.targets import target_map

    return target_map(entity)


def clean_mapping(entity: str, headers: list[str], mapping: dict[str, Any]) -> dict[str, str]:
    """A mapping header → target key, checked: every header is the file's, every target one
    of the record type's, no target twice. Headers mapped to nothing are dropped."""
    if not isinstance(mapping, dict):
        raise ValidationError({"mapping": _("The mapping must map columns to fields.")})
    targets = _targets(entity)
    known = set(headers)
    errors: list[str] = []
    cleaned: dict[str, str] = {}
    used: dict[str, str] = {}
    for header, target in mapping.items():
        if not target:
            continue
        if header not in known:
            errors.append(_("The file has no column “%(column)s”.") % {"column": header})
            continue
        if not isinstance(target, str) or target not in targets:
            errors.append(
                _("“%(target)s” is not a field of this record type (column “%(column)s”).")
                % {"target": target, "column": header}
            )
            continue
        if target in used:
            errors.append(
                _("Columns “%(a)s” and “%(b)s” both fill “%(target)s”.")
                % {"a": used[target], "b": header, "target": targets[target].label}
            )
            continue
        used[target] = header
        cleaned[header] = target
    if errors:
        raise ValidationError({"mapping": errors})
    return cleaned


def _suggested(entity: str, headers: list[str]) -> tuple[str, dict[str, str]]:
    """(preset name, mapping): a recognised export's mapping, else suggestions by header."""
    from kreis.migration.mapping import detect_preset, suggest_mapping

    preset = detect_preset(headers)
    if preset is not None and (mapping := preset.mapping_for(entity)):
        return preset.key, mapping
    return "", dict(suggest_mapping(entity, headers))


def _clean_options(options: dict[str, Any] | None) -> dict[str, Any]:
    options = dict(options or {})
    errors = []
    for key, value in options.items():
        wanted = OPTION_TYPES.get(key)
        if wanted is None:
            errors.append(_("Unknown option “%(key)s”.") % {"key": key})
        elif not isinstance(value, wanted) or (wanted is int and isinstance(value, bool)):
            errors.append(_("Option “%(key)s” has the wrong type.") % {"key": key})
    size = options.get("chunk_size")
    if isinstance(size, int) and not 1 <= size <= 50_000:
        errors.append(_("The chunk size must be between 1 and 50,000 rows."))
    if errors:
        raise ValidationError({"options": errors})
    return options


def _clean_mode(mode: str | None, default: str) -> str:
    mode = mode or default
    if mode not in DuplicateMode.values:
        raise ValidationError({"duplicate_mode": _("Unknown duplicate mode.")})
    return mode


# --- create and configure ----------------------------------------------------------------


def import_create(
    *,
    actor: User | None,
    upload: Any,
    name: str,
    entity: str,
    source: str = ImportSource.WEB,
    template: MappingTemplate | None = None,
    mapping: dict[str, Any] | None = None,
    duplicate_mode: str | None = None,
    options: dict[str, Any] | None = None,
) -> ImportJob:
    """Store an uploaded file and read its columns; map them (a template's mapping, else the
    one given, else a recognised export's, else suggestions from the header names).

    A file that cannot be read (too big, wrong type, broken) raises ValidationError with the
    reason, and nothing is stored."""
    _require_importer(actor)
    if entity not in ImportEntity.values:
        raise ValidationError({"entity": _("Unknown record type.")})
    if template is not None and template.entity != entity:
        raise ValidationError({"template": _("The template is for another record type.")})
    inherited = dict(template.options if template else {})
    inherited.pop("duplicate_mode", None)
    options = _clean_options({**inherited, **(options or {})})
    mode = _clean_mode(
        duplicate_mode or (template.options.get("duplicate_mode") if template else None),
        DuplicateMode.UPDATE,
    )
    stored, sha256, _size = _store_upload(upload, name)
    try:
        job = ImportJob(
            entity=entity,
            source=source,
            original_name=os.path.basename(name)[:255],
            file_sha256=sha256,
            duplicate_mode=mode,
            options=options,
            created_by=actor,
            template=template,
        )
        job.file.name = stored
        table = open_job_table(job)
        job.format = table.format or ""
        job.encoding = (table.encoding or "")[:30]
        job.delimiter = (table.delimiter or "")[:2]
        job.headers = [str(h) for h in table.headers]
        if not job.headers:
            raise ValidationError(_("The file has no columns."), code="no_columns")
        job.total_rows = table.count_rows()
        if template is not None:
            job.mapping = clean_mapping(
                entity, job.headers, {h: t for h, t in template.mapping.items() if h in job.headers}
            )
        elif mapping is not None:
            job.mapping = clean_mapping(entity, job.headers, mapping)
        else:
            job.preset, suggested = _suggested(entity, job.headers)
            job.mapping = clean_mapping(entity, job.headers, suggested)
        job.full_clean(exclude=["file", "created_by", "template"])
        job.save()
    except BaseException:
        default_storage.delete(stored)
        raise
    return job


@transaction.atomic
def import_configure(
    *,
    actor: User | None,
    job: ImportJob,
    mapping: dict[str, Any] | None = None,
    duplicate_mode: str | None = None,
    options: dict[str, Any] | None = None,
) -> ImportJob:
    """Change the mapping, duplicate mode or options before the import starts; the last
    check no longer holds then (the job is back to *uploaded*)."""
    _require_own(actor, job)
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    _refuse_while_checking(job)
    if job.status not in EDITABLE:
        raise ValidationError(_("The import has started; its settings cannot change."))
    if mapping is not None:
        job.mapping = clean_mapping(job.entity, job.headers, mapping)
    if duplicate_mode is not None:
        job.duplicate_mode = _clean_mode(duplicate_mode, job.duplicate_mode)
    if options is not None:
        fixes = job.options.get("fixes")
        job.options = _clean_options(options)
        if fixes:
            job.options["fixes"] = fixes
    job.status = ImportStatus.UPLOADED
    job.check_summary = {}
    job.save()
    job.row_errors.all().delete()
    return job


@transaction.atomic
def import_cancel(*, actor: User | None, job: ImportJob) -> ImportJob:
    """Abort an import before it starts: the job is kept as *cancelled*, its file deleted."""
    _require_own(actor, job)
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.status not in (*EDITABLE, ImportStatus.CHECKING):  # a check stops at its next chunk
        raise ValidationError(_("Only an import that has not started can be cancelled."))
    job.status = ImportStatus.CANCELLED
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "finished_at"])
    name = job.file.name
    transaction.on_commit(lambda: default_storage.delete(name))
    return job


# --- the check (dry run) -----------------------------------------------------------------


def _refuse_while_checking(job: ImportJob) -> None:
    if job.status == ImportStatus.CHECKING:
        raise ValidationError(
            _("The rows are being checked; cancel the check first."), code="checking"
        )


def check_at_once(job: ImportJob) -> bool:
    """Small files are checked within the request (``KREIS_IMPORT_CHECK_AT_ONCE`` rows,
    default 1,000: under a second at about 1,300 rows/s), so their report shows without a
    round through the job queue and works with no worker running; bigger ones are a job."""
    return job.total_rows <= settings.KREIS_IMPORT_CHECK_AT_ONCE


def import_check_is_orphaned(job: ImportJob) -> bool:
    """A check marked *checking* whose worker is gone (or whose queued task was lost)."""
    return job.status == ImportStatus.CHECKING and _worker_gone(job, job.check_started_at)


def import_check_start(
    *,
    actor: User | None,
    job: ImportJob,
    background: bool | None = None,
    preview_rows: int = PREVIEW_ROWS,
) -> ImportJob:
    """Start the check (dry run) of every row: the job becomes *checking* and the check runs
    in the job queue (``background``; None: unless ``check_at_once``), or here and now.
    The last check's problems are dropped. Allowed before the import starts, and again for a
    check whose worker died. Nothing but problems and the report is ever written."""
    _require_own(actor, job)
    if background is None:
        job.refresh_from_db()
        background = not check_at_once(job)
    if background:
        _require_worker(_("the check"))
    _mark_checking(job, enqueue=preview_rows if background else None)
    if not background:
        import_check_run(job.pk, preview_limit=preview_rows)
    job.refresh_from_db()
    return job


def _mark_checking(job: ImportJob, *, enqueue: int | None) -> None:
    """*checking*, waiting for a run to claim it; the last check's results dropped.
    ``enqueue``: hand the check to the job queue, with that many preview rows."""
    job.refresh_from_db()
    allowed = list(EDITABLE)
    if import_check_is_orphaned(job):
        allowed.append(ImportStatus.CHECKING)
    if job.status not in allowed:
        raise ValidationError(_("The import has started; it cannot be checked again."))
    with transaction.atomic():
        marked = ImportJob.objects.filter(pk=job.pk, status__in=allowed).update(
            status=ImportStatus.CHECKING,
            check_started_at=None,
            rows_checked=0,
            progress_at=timezone.now(),
            error="",
            check_summary={},
            check_preview=[],
        )
        if not marked:
            raise ValidationError(_("The check was started already."))
        job.row_errors.all().delete()
        if enqueue is not None:
            _enqueue("check_import", job.pk, enqueue)


def import_check(
    *,
    actor: User | None,
    job: ImportJob,
    preview_rows: int = PREVIEW_ROWS,
    progress: Callable[[ImportJob], None] | None = None,
) -> ImportCheck:
    """Check every row here and now (the CLI with its progress bar, ``import_start``) and
    return the report: how many rows are invalid (each problem stored as an
    ``ImportRowError`` naming row and column), how many would be created, updated, merged
    or skipped, and the first rows. The same run as the job's; a check that fails raises
    its reason (ValidationError)."""
    _require_own(actor, job)
    _mark_checking(job, enqueue=None)
    job = import_check_run(job.pk, preview_limit=preview_rows, progress=progress) or job
    job.refresh_from_db()
    if job.status != ImportStatus.VALIDATED:
        raise ValidationError(job.error or _("The check did not finish."), code="check_failed")
    return check_report(job)


@transaction.atomic
def import_check_cancel(*, actor: User | None, job: ImportJob) -> ImportJob:
    """Stop a running check: the job is *uploaded* again (mapping and rows can change and
    the check can start anew); the problems found so far are dropped. The worker notices at
    its next chunk and stops without writing."""
    _require_own(actor, job)
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.status != ImportStatus.CHECKING:
        raise ValidationError(_("No check is running for this import."))
    _back_to_uploaded(job)
    return job


def _back_to_uploaded(job: ImportJob) -> None:
    job.status = ImportStatus.UPLOADED
    job.check_started_at = None
    job.rows_checked = 0
    job.check_summary = {}
    job.check_preview = []
    fields = ["status", "check_started_at", "rows_checked", "check_summary", "check_preview"]
    job.save(update_fields=fields)
    job.row_errors.all().delete()


def import_check_report(job: ImportJob) -> ImportCheck:
    """The report of the finished check; ValidationError (code ``not_checked``) while the
    check runs or when there is none, or once the import has started (its rows are the
    import's then)."""
    if job.status != ImportStatus.VALIDATED:
        if job.status == ImportStatus.CHECKING:
            message = _("The check is still running.")
        elif job.status == ImportStatus.UPLOADED:
            message = _("The import has not been checked yet.")
        else:
            message = _("The import has started; its check report is no longer kept.")
        raise ValidationError(message, code="not_checked")
    return check_report(job)


def _find_row(job: ImportJob, number: int) -> SourceRow:
    row = next(job_rows(job, first=max(number - 2, 0)), None)
    if row is None or row.number != number:
        raise ValidationError({"row": _("The file has no row %(row)s.") % {"row": number}})
    return row


def _refresh_preview(job: ImportJob, source: SourceRow, result) -> None:
    """The fixed row's line of the stored preview, as the check would show it now."""
    lines = list(job.check_preview or [])
    for index, line in enumerate(lines):
        if line.get("number") == source.number:
            lines[index] = preview_to_json(preview_rows([source], result, 1))[0]
            ImportJob.objects.filter(pk=job.pk).update(check_preview=lines)
            return


def import_fix_row(
    *, actor: User | None, job: ImportJob, row: int, values: dict[str, str]
) -> list[RowProblem]:
    """Correct cells of one row (header → new text) before the import starts; the fix is
    kept with the job (the file stays as uploaded) and the row is checked again. Returns the
    row's problems now (none: fixed)."""
    _require_own(actor, job)
    unknown = [h for h in values if h not in job.headers]
    if unknown:
        raise ValidationError(
            {"values": _("The file has no column “%(column)s”.") % {"column": unknown[0]}}
        )
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        _refuse_while_checking(job)
        if job.status not in EDITABLE:
            raise ValidationError(_("The import has started; rows cannot be fixed any more."))
        fixes = dict(job.options.get("fixes") or {})
        fixes[str(row)] = {**fixes.get(str(row), {}), **{h: str(v) for h, v in values.items()}}
        job.options = {**job.options, "fixes": fixes}
        job.save(update_fields=["options"])
    source = _find_row(job, row)
    handler = handler_for(job.entity)
    ctx = job_context(job, actor=actor, dry_run=True)
    result = process_chunk(handler, [source], ctx)
    with transaction.atomic():
        had = job.row_errors.filter(row=row).exists()
        job.row_errors.filter(row=row).delete()
        ImportRowError.objects.bulk_create(row_errors(job, [source], result.problems))
        if job.check_summary and had and not result.problems:
            summary = dict(job.check_summary)
            summary["invalid"] = max(summary.get("invalid", 0) - 1, 0)
            summary["valid"] = summary.get("valid", 0) + 1
            for action, n in result.counts.items():
                if action in ("create", "update", "merge", "skip"):
                    summary[action] = summary.get(action, 0) + n
            ImportJob.objects.filter(pk=job.pk).update(check_summary=summary)
        _refresh_preview(job, source, result)
    return result.problems


# --- start, run, resume ------------------------------------------------------------------


def import_is_orphaned(job: ImportJob) -> bool:
    """A job *running* (or *queued*) whose worker is gone, so it can be resumed or undone.
    Running: the heartbeat of the worker that claimed it has stopped or gone stale (a job
    claimed outside a worker: no live worker was already running when its run began).
    Queued: no live worker was running when it was queued (its task was lost)."""
    if job.status not in (ImportStatus.RUNNING, ImportStatus.QUEUED):
        return False
    return _worker_gone(job, job.run_started_at if job.status == ImportStatus.RUNNING else None)


def _worker_gone(job: ImportJob, claimed_at) -> bool:
    """Whether the run claimed at ``claimed_at`` (None: still waiting in the queue since
    ``progress_at``) has lost its worker: the claiming worker's heartbeat stopped, or no
    worker alive now was already running back then."""
    if jobs_run_immediately():
        return False
    if claimed_at is not None and job.run_by:
        return not WorkerHeartbeat.objects.filter(
            name=job.run_by, stopped_at=None, beat_at__gte=timezone.now() - worker_timeout()
        ).exists()
    since = claimed_at or job.progress_at
    return since is not None and not worker_alive_since(since)


def _require_worker(what: str) -> None:
    """Work for the job queue needs a live worker, else it would only wait there."""
    if not jobs_run_immediately() and not worker_status().alive:
        raise ValidationError(
            _(
                "No job worker is running, so %(what)s would only wait in the queue. "
                "`kreis serve` runs one (unless KREIS_EMBEDDED_WORKER=0); else start "
                "`kreis worker`."
            )
            % {"what": what},
            code="no_worker",
        )


def import_can_resume(job: ImportJob) -> bool:
    return job.rows_done < job.total_rows and (
        job.status == ImportStatus.FAILED or import_is_orphaned(job)
    )


def import_start(*, actor: User | None, job: ImportJob, background: bool = True) -> ImportJob:
    """Queue the import (``background``; in tests it runs at once), or only mark it *queued*
    for the caller to run with ``import_run`` (the CLI, with its progress bar).

    A new import needs every required field mapped, and — unless invalid rows are to be
    skipped — a check without invalid rows (it runs the check if there was none and the file
    is small enough, ``check_at_once``; a queued start of a bigger one is refused). A failed
    import, or one whose worker died, resumes after its last committed chunk."""
    _require_own(actor, job)
    job.refresh_from_db()
    resuming = import_can_resume(job)
    if not resuming:
        if job.status not in EDITABLE:
            raise ValidationError(
                _("This import cannot be started (it is %(status)s).")
                % {"status": job.get_status_display()}
            )
        missing = missing_targets(job.entity, job.mapping)
        if missing:
            raise ValidationError(
                {"mapping": _("No column fills %(fields)s.") % {"fields": ", ".join(missing)}}
            )
        if not job.options.get("skip_invalid"):
            if job.status != ImportStatus.VALIDATED:
                _refuse_a_long_check(job, background)
                import_check(actor=actor, job=job, preview_rows=0)
                job.refresh_from_db()
            invalid = job.check_summary.get("invalid", 0)
            if invalid:
                raise ValidationError(
                    _(
                        "%(count)s rows have problems: fix them, choose to skip invalid rows, "
                        "or cancel the import."
                    )
                    % {"count": invalid},
                    code="invalid_rows",
                )
    if background:
        _require_worker(_("the import"))
    allowed = [*EDITABLE] if not resuming else [job.status]
    with transaction.atomic():
        queued = ImportJob.objects.filter(pk=job.pk, status__in=allowed).update(
            status=ImportStatus.QUEUED, progress_at=timezone.now(), error="", finished_at=None
        )
        if not queued:
            raise ValidationError(_("The import was started already."))
        if not resuming:
            job.row_errors.all().delete()  # the run records the rows it skips itself
        if background:
            _enqueue("run_import", job.pk)
    job.refresh_from_db()
    return job


def _refuse_a_long_check(job: ImportJob, background: bool) -> None:
    """A start that would first have to check a big file here and now (the web or API
    request waiting minutes) asks for the check job first instead."""
    if background and not check_at_once(job):
        raise ValidationError(
            _(
                "Check the rows first: the file has %(rows)s rows, too many to check while "
                "you wait. Start the check, and the import when it is done."
            )
            % {"rows": job.total_rows},
            code="not_checked",
        )


def _enqueue(task: str, *args: Any) -> None:
    """Hand a job to the queue once the transaction has committed (the worker must see the
    job queued); in tests, where jobs run immediately, at once."""
    from kreis.migration import tasks

    function = getattr(tasks, task)
    if jobs_run_immediately():
        function(*args)
    else:
        transaction.on_commit(lambda: function(*args))


# --- undo --------------------------------------------------------------------------------


def import_undo(*, actor: User | None, job: ImportJob, background: bool | None = None) -> ImportJob:
    """Revert everything the import wrote: created records deleted, updated ones given their
    previous values, merges undone — also for an import that failed or whose worker died
    (what its committed chunks wrote). Runs in chunks of ``UNDO_CHUNK`` records, each one
    transaction, so an interrupted undo continues where it stopped when called again.

    ``background``: queue it (None: when it is big and a worker is alive)."""
    _require_own(actor, job)
    job.refresh_from_db()
    allowed = list(UNDOABLE)
    if import_is_orphaned(job):
        allowed.append(job.status)
    if job.status not in allowed:
        raise ValidationError(
            _("This import cannot be undone (it is %(status)s).")
            % {"status": job.get_status_display()}
        )
    if background is None:
        background = (
            not jobs_run_immediately()
            and worker_status().alive
            and job.records.count() > UNDO_IN_BACKGROUND_FROM
        )
    with transaction.atomic():
        ImportJob.objects.filter(pk=job.pk, status__in=allowed).update(
            status=ImportStatus.UNDOING, progress_at=timezone.now()
        )
        if background:
            _enqueue("undo_import", job.pk, actor.pk if actor is not None else None)
    if not background:
        import_undo_run(job.pk, actor_id=actor.pk if actor is not None else None)
    job.refresh_from_db()
    return job


# --- the error rows as CSV ---------------------------------------------------------------


def import_errors_csv(job: ImportJob) -> Iterator[str]:
    """The rows that were not imported, as CSV text: the file's columns (with the values as
    read, fixes applied) and a last column naming each problem — fix and import again.
    Semicolon-separated UTF-8 with BOM, as spreadsheets in German locales open it; cells
    that would run as formulas are defused like every export."""
    buffer = io.StringIO()
    writer = DefusingWriter(buffer, delimiter=";", quoting=csv.QUOTE_MINIMAL)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    yield "\ufeff"
    writer.writerow([*job.headers, _("Error")])
    yield flush()
    errors = job.row_errors.order_by("row", "pk").values_list("row", "column", "message", "values")
    for _row, group in itertools.groupby(errors.iterator(chunk_size=2000), key=lambda e: e[0]):
        problems = list(group)
        values = list(problems[0][3] or [])
        values += [""] * (len(job.headers) - len(values))
        text = "; ".join(f"{c}: {m}" if c else m for _r, c, m, _v in problems)
        writer.writerow([*values[: len(job.headers)], text])
        yield flush()


# --- mapping templates -------------------------------------------------------------------


@transaction.atomic
def mapping_template_create(
    *,
    actor: User | None,
    name: str,
    entity: str,
    mapping: dict[str, str],
    options: dict[str, Any] | None = None,
    shared: bool = False,
) -> MappingTemplate:
    """Save a column mapping (and its options, e.g. the duplicate mode) under a name."""
    _require_importer(actor)
    template = MappingTemplate(owner=actor, shared=shared)
    return _template_save(template, name=name, entity=entity, mapping=mapping, options=options)


@transaction.atomic
def mapping_template_update(
    *,
    actor: User | None,
    template: MappingTemplate,
    name: str | None = None,
    mapping: dict[str, str] | None = None,
    options: dict[str, Any] | None = None,
    shared: bool | None = None,
) -> MappingTemplate:
    _require_template_owner(actor, template)
    if shared is not None:
        template.shared = shared
    return _template_save(
        template,
        name=template.name if name is None else name,
        entity=template.entity,
        mapping=template.mapping if mapping is None else mapping,
        options=template.options if options is None else options,
    )


@transaction.atomic
def mapping_template_delete(*, actor: User | None, template: MappingTemplate) -> None:
    _require_template_owner(actor, template)
    if template.connectors.exists():
        raise ValidationError(_("A connector uses this template."))
    template.delete()


def _require_template_owner(actor: User | None, template: MappingTemplate) -> None:
    _require_importer(actor)
    if actor is not None and not actor.is_admin and template.owner_id != actor.pk:
        raise PermissionDenied


def _template_save(
    template: MappingTemplate,
    *,
    name: str,
    entity: str,
    mapping: dict[str, str],
    options: dict[str, Any] | None,
) -> MappingTemplate:
    if entity not in ImportEntity.values:
        raise ValidationError({"entity": _("Unknown record type.")})
    targets = _targets(entity)
    if not isinstance(mapping, dict) or not all(
        isinstance(h, str) and (not t or t in targets) for h, t in mapping.items()
    ):
        raise ValidationError({"mapping": _("The mapping names a field this type lacks.")})
    options = dict(options or {})
    mode = options.pop("duplicate_mode", None)
    options = _clean_options(options)
    if mode is not None:
        options["duplicate_mode"] = _clean_mode(mode, DuplicateMode.UPDATE)
    template.name = name.strip()
    template.entity = entity
    template.mapping = {h: t for h, t in mapping.items() if t}
    template.options = options
    clash = MappingTemplate.objects.filter(
        owner=template.owner, entity=entity, name__iexact=template.name
    ).exclude(pk=template.pk)
    if clash.exists():
        raise ValidationError({"name": _("You have a template of this name already.")})
    template.full_clean()
    template.save()
    return template
