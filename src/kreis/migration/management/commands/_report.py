"""What ``kreis import`` and ``kreis imports`` print: the progress bar, the summary and the
report of bad rows."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from kreis.core.models import User
from kreis.core.worker import Heartbeat, jobs_run_immediately
from kreis.migration import queries, services
from kreis.migration.models import ImportJob

BAD_ROWS_SHOWN = 50


class ProgressBar:
    """``[#####---------------]  25 %  25,000/100,000 rows  48,210 rows/s  0:00:02 left`` on
    stderr, redrawn at most five times a second; only on a terminal. While the job is
    *checking*, the rows are those checked."""

    def __init__(self, stream, *, enabled: bool) -> None:
        self.stream = stream
        self.enabled = enabled
        self.drawn = 0.0

    def __call__(self, job: ImportJob, *, final: bool = False) -> None:
        if not self.enabled or (not final and time.monotonic() - self.drawn < 0.2):
            return
        self.drawn = time.monotonic()
        p = queries.import_progress(job)
        filled = int(p.percent // 5)
        line = (
            f"\r[{'#' * filled}{'-' * (20 - filled)}] {p.percent:5.1f} %  "
            f"{p.rows_done:,}/{p.total_rows:,} rows"
        )
        if p.rows_per_second:
            line += f"  {p.rows_per_second:,.0f} rows/s"
        if p.seconds_left is not None:
            line += f"  {timedelta(seconds=round(p.seconds_left))} left"
        self.stream.write(line.ljust(90), ending="\n" if final else "")
        self.stream.flush()


@contextmanager
def _beating() -> Iterator[None]:
    """A heartbeat while this process does a worker's job, so the web app sees it alive
    (and, should this process die, that the job can be started again)."""
    heartbeat = None if jobs_run_immediately() else Heartbeat()
    if heartbeat:
        heartbeat.beat()
        heartbeat.start()
    try:
        yield
    finally:
        if heartbeat:
            heartbeat.stop()


def run_in_process(job: ImportJob, bar: ProgressBar) -> ImportJob:
    """Run the queued job here (``kreis import``, ``kreis imports resume``)."""
    with _beating():
        services.import_run(job.pk, progress=bar)
    job.refresh_from_db()
    bar(job, final=True)
    return job


def check_in_process(
    *, actor: User | None, job: ImportJob, bar: ProgressBar
) -> services.ImportCheck:
    """Check every row here (``kreis import``, also ``--dry-run``) with the same code as the
    check job, the bar showing the rows checked; a failed check raises ValidationError."""
    seen: list[ImportJob] = []

    def progress(checking: ImportJob) -> None:
        seen[:] = [checking]
        bar(checking)

    with _beating():
        report = services.import_check(actor=actor, job=job, progress=progress)
    if seen:
        bar(seen[0], final=True)  # the job is *validated* now; the bar ends at the check's rows
    return report


def summary(job: ImportJob) -> list[str]:
    lines = [
        f"import #{job.pk}: {job.original_name} ({job.entity}), {job.get_status_display()}",
        f"  rows {job.rows_done:,} of {job.total_rows:,}: created {job.created_count:,}, "
        f"updated {job.updated_count:,}, merged {job.merged_count:,}, "
        f"skipped {job.skipped_count:,}, failed {job.failed_count:,}",
    ]
    progress = queries.import_progress(job)
    if progress.rows_per_second:
        lines.append(f"  {progress.rows_per_second:,.0f} rows/s in {progress.elapsed}")
    if job.error:
        lines.append(f"  error: {job.error}")
    return lines


def check_lines(report: services.ImportCheck) -> list[str]:
    lines = [
        f"check: {report.total:,} rows, {report.valid:,} valid, {report.invalid:,} invalid",
        f"  would create {report.create:,}, update {report.update:,}, merge {report.merge:,}, "
        f"skip {report.skip:,}; {report.existing:,} match records in Kreis, "
        f"{report.in_file:,} repeat an earlier row of the file",
    ]
    if report.missing:
        lines.append("  no column fills: " + ", ".join(report.missing))
    return lines


def bad_rows(job: ImportJob, limit: int = BAD_ROWS_SHOWN) -> list[str]:
    errors = list(job.row_errors.order_by("row", "pk")[: limit + 1])
    lines = [
        f"  row {e.row}, {e.column}: {e.message}" if e.column else f"  row {e.row}: {e.message}"
        for e in errors[:limit]
    ]
    if len(errors) > limit:
        total = job.row_errors.count()
        lines.append(
            f"  … {total - limit:,} more problems: `kreis imports errors {job.pk}` writes them all"
        )
    return lines
