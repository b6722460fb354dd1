"""The import's check (dry run) as a job: every row read through the handler, nothing written
but the problems (``ImportRowError``) and the report on the job.

Why a job: a check reads every row with the same validation, normalisation and duplicate
matching as the import, about 1,300 rows/s — a million rows would outlast any web request.
So ``services.import_check_start`` marks the job *checking* and queues ``import_check_run``;
the wizard and ``GET /api/v1/imports/{id}`` show its progress (``rows_checked``) like an
import's, and the report is read back from the job when it is *validated*.

Crash safety: the check writes nothing but its own results. Each chunk's problems commit
with ``rows_checked`` in one transaction, conditional on the job still being this run's
(``check_started_at`` is the claim), so a cancelled or restarted check's old run stops at its
next chunk without writing. A check whose worker died starts again from the first row: the
in-file duplicate matching needs every earlier row, so there is nothing to resume.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone, translation

from kreis.core import worker
from kreis.migration.engine import (
    ChunkResult,
    RowProblem,
    SourceRow,
    chunks,
    handler_for,
    process_chunk,
)
from kreis.migration.models import ImportJob, ImportRowError, ImportStatus
from kreis.migration.runs import chunk_size, job_context, job_rows, row_errors

log = logging.getLogger("kreis.migration")

PREVIEW_ROWS = 20
# Problems an ImportCheck carries back to the caller (all are stored as ImportRowError).
CHECK_PROBLEMS = 500
COUNTED = ("create", "update", "merge", "skip", "in_file", "existing")


class CheckLost(Exception):
    """The check is no longer this run's (cancelled, restarted or the import changed)."""


@dataclass
class PreviewRow:
    """A row as the import would take it: mapped values, what would happen, its problems."""

    number: int
    values: dict[str, str]
    action: str  # create / update / merge / skip, or "invalid"
    match_by: str = ""
    existing_id: int | None = None
    same_as_row: int | None = None
    problems: list[RowProblem] = field(default_factory=list)


@dataclass
class ImportCheck:
    """The dry run's report: counts over all rows, the first problems, the first rows."""

    total: int = 0
    valid: int = 0
    invalid: int = 0
    create: int = 0
    update: int = 0
    merge: int = 0
    skip: int = 0
    in_file: int = 0  # rows repeating an earlier row of the file
    existing: int = 0  # rows matching a record already in Kreis
    missing: list[str] = field(default_factory=list)  # required fields no column fills
    problems: list[RowProblem] = field(default_factory=list)
    preview: list[PreviewRow] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        data = asdict(self)
        del data["problems"], data["preview"]
        return data


def missing_targets(entity: str, mapping: dict[str, str]) -> list[str]:
    """Labels of the required fields no column fills (the import cannot start without)."""
    from django.utils.translation import gettext as _

    from kreis.migration.targets import REQUIRED_ONE_OF, required_keys, target_map

    targets = target_map(entity)
    mapped = set(mapping.values())
    missing = [str(targets[key].label) for key in sorted(required_keys(entity) - mapped)]
    for group in REQUIRED_ONE_OF.get(entity, ()):
        if not mapped & set(group):
            missing.append(_(" or ").join(str(targets[key].label) for key in group))
    return missing


# --- the preview -------------------------------------------------------------------------


def preview_rows(chunk: list[SourceRow], result: ChunkResult, limit: int) -> list[PreviewRow]:
    """The chunk's first ``limit`` rows as the import would take them."""
    prepared = {p.row.number: p for p in result.prepared}
    problems: dict[int, list[RowProblem]] = {}
    for problem in result.problems:
        problems.setdefault(problem.row, []).append(problem)
    out = []
    for row in chunk[:limit]:
        p = prepared.get(row.number)
        out.append(
            PreviewRow(
                number=row.number,
                values=row.values,
                action=p.action if p is not None else "invalid",
                match_by=p.match_by if p is not None else "",
                existing_id=p.existing_id if p is not None else None,
                same_as_row=p.same_as_row if p is not None else None,
                problems=problems.get(row.number, []),
            )
        )
    return out


def preview_to_json(rows: list[PreviewRow]) -> list[dict[str, Any]]:
    return [asdict(row) for row in rows]


def preview_from_json(data: list[dict[str, Any]]) -> list[PreviewRow]:
    return [
        PreviewRow(**{**row, "problems": [RowProblem(**p) for p in row.get("problems", [])]})
        for row in data
    ]


# --- the report, read back ---------------------------------------------------------------


def check_report(job: ImportJob, *, problems: int = CHECK_PROBLEMS) -> ImportCheck:
    """The last check's report as stored on the job: its counts, its preview rows and the
    first ``problems`` of its ``ImportRowError`` rows (all of them download as CSV)."""
    summary = job.check_summary or {}
    report = ImportCheck(
        **{k: summary[k] for k in ImportCheck.__dataclass_fields__ if k in summary},
    )
    report.missing = list(summary.get("missing", []))
    errors = job.row_errors.order_by("row", "pk").values_list("row", "column", "message")
    report.problems = [RowProblem(row=r, column=c, message=m) for r, c, m in errors[:problems]]
    report.preview = preview_from_json(job.check_preview or [])
    return report


# --- the worker's part -------------------------------------------------------------------


def import_check_run(
    job_id: int,
    *,
    preview_limit: int = PREVIEW_ROWS,
    progress: Callable[[ImportJob], None] | None = None,
) -> ImportJob | None:
    """Claim the job marked *checking* and read every row through its handler without
    writing records: each chunk's problems are stored with ``rows_checked`` (one transaction,
    only while the check is still this run's); at the end the counts and the first
    ``preview_limit`` rows go on the job, now *validated*. A check that fails (the file
    can no longer be read) leaves the job *uploaded* with the reason in ``error``.
    Returns the job, or None if no check was waiting for a worker."""
    now = timezone.now()
    claimed = ImportJob.objects.filter(
        pk=job_id, status=ImportStatus.CHECKING, check_started_at=None
    ).update(
        check_started_at=now, rows_checked=0, progress_at=now, run_by=worker.CURRENT_WORKER or ""
    )
    if not claimed:
        return None
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    try:
        with _importers_language(job):  # the problems are stored as text, read by the importer
            report = _check_rows(job, preview_limit, progress)
        _finish(job, report)
    except CheckLost:
        pass
    except Exception as exc:  # recorded on the job; the check can be started again
        log.exception("check of import %s failed", job_id)
        _fail(job, exc)
    job.refresh_from_db()
    return job


def _importers_language(job: ImportJob):
    """The importer's chosen language; without one, the language already active (the
    request's when checked at once, the default in a worker)."""
    language = getattr(job.created_by, "language", "")
    return translation.override(language) if language else nullcontext()


def _check_rows(
    job: ImportJob, preview_limit: int, progress: Callable[[ImportJob], None] | None
) -> ImportCheck:
    """Every row through the handler, as the import will see them (the importer's
    permissions, the job's duplicate mode and fixes), chunk by chunk."""
    handler = handler_for(job.entity)
    ctx = job_context(job, actor=job.created_by, dry_run=True)
    report = ImportCheck(missing=missing_targets(job.entity, job.mapping))
    counts: Counter[str] = Counter()
    for chunk in chunks(job_rows(job), chunk_size(job), handler=handler):
        result = process_chunk(handler, chunk, ctx)
        counts.update(result.counts)
        report.total += len(chunk)
        if len(report.preview) < preview_limit:
            report.preview.extend(preview_rows(chunk, result, preview_limit - len(report.preview)))
        _commit_chunk(job, chunk, result, rows=report.total)
        if progress is not None:
            progress(job)
    report.invalid = counts["invalid"]
    report.valid = report.total - report.invalid
    for name in COUNTED:
        setattr(report, name, counts[name])
    return report


def _this_run(job: ImportJob):
    return ImportJob.objects.filter(
        pk=job.pk, status=ImportStatus.CHECKING, check_started_at=job.check_started_at
    )


def _commit_chunk(job: ImportJob, chunk: list[SourceRow], result: ChunkResult, rows: int) -> None:
    """The chunk's problems and the rows checked so far, together or not at all."""
    with transaction.atomic():
        if not _this_run(job).update(rows_checked=rows, progress_at=timezone.now()):
            raise CheckLost
        ImportRowError.objects.bulk_create(row_errors(job, chunk, result.problems), batch_size=1000)
    job.rows_checked = rows


def _finish(job: ImportJob, report: ImportCheck) -> None:
    with transaction.atomic():
        done = _this_run(job).update(
            status=ImportStatus.VALIDATED,
            check_summary=report.summary(),
            check_preview=preview_to_json(report.preview),
            total_rows=report.total,
            rows_checked=report.total,
            progress_at=timezone.now(),
        )
        if not done:
            raise CheckLost


def _fail(job: ImportJob, exc: Exception) -> None:
    from django.core.exceptions import ValidationError

    if isinstance(exc, ValidationError):
        reason = " ".join(exc.messages)
    else:
        reason = f"{type(exc).__name__}: {exc}"
    with transaction.atomic():
        if _this_run(job).update(
            status=ImportStatus.UPLOADED,
            error=reason[:2000],
            check_summary={},
            check_preview=[],
            progress_at=timezone.now(),
        ):
            job.row_errors.all().delete()
