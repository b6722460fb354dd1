"""Reads of imports and mapping templates, permission-aware.

An import is seen by the user who made it and by administrators (it holds a copy of the
file, which may hold records the user's colleagues may not see). Templates are seen by their
owner, by everyone when shared, and by administrators.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from kreis.core.models import User
from kreis.migration.models import ImportJob, ImportStatus, MappingTemplate


def import_list_for_user(*, user: User, entity: str | None = None) -> QuerySet[ImportJob]:
    """The imports the user may see, newest first."""
    if not (user.is_authenticated and user.is_active):
        return ImportJob.objects.none()
    qs = ImportJob.objects.select_related("created_by")
    if not user.is_admin:
        qs = qs.filter(created_by=user)
    if entity:
        qs = qs.filter(entity=entity)
    return qs


def import_get_for_user(*, user: User, pk: int) -> ImportJob:
    """One import the user may see; 404 otherwise (also for other users' imports)."""
    try:
        return import_list_for_user(user=user).get(pk=pk)
    except ImportJob.DoesNotExist:
        raise Http404 from None


def template_list_for_user(*, user: User, entity: str | None = None) -> QuerySet[MappingTemplate]:
    if not (user.is_authenticated and user.is_active):
        return MappingTemplate.objects.none()
    qs = MappingTemplate.objects.select_related("owner")
    if not user.is_admin:
        qs = qs.filter(Q(owner=user) | Q(shared=True))
    if entity:
        qs = qs.filter(entity=entity)
    return qs


def template_get_for_user(*, user: User, pk: int, write: bool = False) -> MappingTemplate:
    """A template the user may use (or change, with ``write``: its owner or an admin)."""
    try:
        template = template_list_for_user(user=user).get(pk=pk)
    except MappingTemplate.DoesNotExist:
        raise Http404 from None
    if write and not (user.is_admin or template.owner_id == user.pk):
        raise Http404
    return template


@dataclass(frozen=True)
class ImportProgress:
    """How far an import is, and how fast it goes in its current run."""

    status: str
    rows_done: int
    total_rows: int
    percent: float
    rows_per_second: float | None  # over the current run (a resumed run counts afresh)
    seconds_left: float | None
    expected_end: datetime | None
    elapsed: timedelta | None


def import_progress(job: ImportJob, *, now: datetime | None = None) -> ImportProgress:
    """Rows done of all, rows per second since the current run began, and the expected end
    (remaining rows ÷ that rate) while the import runs. While the rows are being checked
    (dry run, *checking*), the same for the check: rows checked, since its worker took it."""
    if job.status == ImportStatus.CHECKING:
        return _progress(
            job, done=job.rows_checked, started=job.check_started_at, start_rows=0, now=now
        )
    started, start_rows = job.run_started_at, job.run_started_rows
    return _progress(job, done=job.rows_done, started=started, start_rows=start_rows, now=now)


def _progress(
    job: ImportJob, *, done: int, started: datetime | None, start_rows: int, now: datetime | None
) -> ImportProgress:
    now = now or timezone.now()
    total = job.total_rows
    moving = job.status in (ImportStatus.RUNNING, ImportStatus.CHECKING)
    percent = 100.0 if total == 0 else min(100.0, 100.0 * done / total)
    rate = seconds_left = expected_end = elapsed = None
    if started is not None:
        end = job.progress_at if not moving else now
        elapsed = (end or now) - started
        rows = done - start_rows
        if elapsed.total_seconds() > 0 and rows > 0:
            rate = rows / elapsed.total_seconds()
            if moving:
                seconds_left = max(total - done, 0) / rate
                expected_end = now + timedelta(seconds=seconds_left)
    return ImportProgress(
        status=job.status,
        rows_done=done,
        total_rows=total,
        percent=round(percent, 1),
        rows_per_second=round(rate, 1) if rate is not None else None,
        seconds_left=round(seconds_left, 1) if seconds_left is not None else None,
        expected_end=expected_end,
        elapsed=elapsed,
    )
