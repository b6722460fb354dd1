"""Backups from the web UI, the API and the nightly schedule (administrators only).

The archive format, writing, verifying and restoring are ``kreis.migration.backup``'s; here a
backup becomes a job with a list entry (``Backup``): it is written into the backup folder
(``KREIS_BACKUP_DIR``) by the job worker, read back once to verify every checksum, and the
oldest archives beyond ``KREIS_BACKUP_KEEP`` are deleted. One backup runs at a time. Restoring
stays on the command line (``kreis restore``): it replaces the whole database and goes into a
new instance, not into the one serving the page.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kreis.core.models import User
from kreis.core.worker import jobs_run_immediately, worker_alive_since, worker_status
from kreis.migration.backup import backup_verify, backup_write, tables
from kreis.migration.models import Backup, BackupStatus

logger = logging.getLogger(__name__)

# Names this module gives archives; anything else in the folder is not served or deleted.
FILE_NAME = re.compile(r"^kreis-backup-\d{8}-\d{6}(-\d{1,3})?\.zip$")
PROGRESS_SECONDS = 24 * 3600


def _require_admin(actor: User | None) -> None:
    if actor is not None and not actor.is_admin:
        raise PermissionDenied


def folder() -> Path:
    """The backup folder, made on first use, readable by this user only."""
    path = Path(settings.KREIS_BACKUP_DIR)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def archive_path(backup: Backup) -> Path:
    if not FILE_NAME.match(backup.file_name):  # never a path from elsewhere
        raise ValueError(backup.file_name)
    return folder() / backup.file_name


def _progress_key(backup_id: int) -> str:
    return f"kreis:backup-progress:{backup_id}"


def tables_done(backup: Backup) -> int:
    """Tables written so far (kept in the cache by the running job)."""
    if backup.status == BackupStatus.DONE:
        return backup.tables_total
    return cache.get(_progress_key(backup.pk), 0)


def _expire_dead() -> None:
    """A running backup whose worker died (no worker alive since it started) failed."""
    for backup in Backup.objects.filter(status=BackupStatus.RUNNING):
        if jobs_run_immediately() or worker_alive_since(backup.started_at):
            continue
        Backup.objects.filter(pk=backup.pk, status=BackupStatus.RUNNING).update(
            status=BackupStatus.FAILED,
            finished_at=timezone.now(),
            error=_("The job worker stopped while the backup was written."),
        )
        _remove_archive(backup)


def _unique_name() -> str:
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    name, n = f"kreis-backup-{stamp}.zip", 1
    while Backup.objects.filter(file_name=name).exists() or (folder() / name).exists():
        n += 1
        name = f"kreis-backup-{stamp}-{n}.zip"
    return name


def backup_begin(*, actor: User | None, scheduled: bool = False) -> Backup:
    """The list entry of a new backup (status running), to be written by ``backup_run``.
    Refused while another backup runs, and without a job worker to write it."""
    _require_admin(actor)
    if not jobs_run_immediately() and not worker_status().alive:
        raise ValidationError(
            _(
                "No job worker is running, so the backup would only wait in the queue. "
                "`kreis serve` runs one (unless KREIS_EMBEDDED_WORKER=0); else start "
                "`kreis worker`."
            ),
            code="no_worker",
        )
    with transaction.atomic():
        _expire_dead()
        if Backup.objects.select_for_update().filter(status=BackupStatus.RUNNING).exists():
            raise ValidationError(
                _("A backup is being written already; wait until it is done."), code="running"
            )
        return Backup.objects.create(
            file_name=_unique_name(),
            scheduled=scheduled,
            created_by=actor,
            tables_total=len(tables()),
        )


def backup_run(backup_id: int) -> Backup:
    """Write the archive (the job's part), verify it, record its figures, prune old ones."""
    backup = Backup.objects.get(pk=backup_id)
    if backup.status != BackupStatus.RUNNING:
        return backup
    path = archive_path(backup)
    written = 0

    def table_written(_line: str) -> None:
        nonlocal written
        written += 1
        cache.set(_progress_key(backup.pk), written, PROGRESS_SECONDS)

    try:
        manifest = backup_write(path, log=table_written)
        backup_verify(path)
    except Exception as exc:  # disk full, a damaged write …: the list says what happened
        logger.exception("backup %s failed", backup.file_name)
        _remove_archive(backup)
        Backup.objects.filter(pk=backup.pk).update(
            status=BackupStatus.FAILED, finished_at=timezone.now(), error=str(exc)[:2000]
        )
    else:
        Backup.objects.filter(pk=backup.pk).update(
            status=BackupStatus.DONE,
            finished_at=timezone.now(),
            tables_total=len(manifest["tables"]),
            rows=sum(t["rows"] for t in manifest["tables"].values()),
            files=len(manifest["media"]),
            size_bytes=path.stat().st_size,
            verified=True,
        )
        backups_prune()
    cache.delete(_progress_key(backup.pk))
    backup.refresh_from_db()
    return backup


def backups_prune(*, keep: int | None = None) -> list[str]:
    """Delete the finished backups beyond the newest ``keep`` (default KREIS_BACKUP_KEEP),
    with their archives; failed entries beyond them go too. Returns the file names."""
    keep = settings.KREIS_BACKUP_KEEP if keep is None else keep
    done = Backup.objects.filter(status=BackupStatus.DONE).order_by("-started_at", "-pk")
    newest_kept = list(done[:keep])
    if len(newest_kept) < keep:
        return []
    oldest = newest_kept[-1].started_at
    old = Backup.objects.exclude(status=BackupStatus.RUNNING).filter(started_at__lt=oldest)
    removed = []
    for backup in old:
        _remove_archive(backup)
        removed.append(backup.file_name)
    old.delete()
    return removed


def _remove_archive(backup: Backup) -> None:
    path = archive_path(backup)
    for candidate in (path, path.with_name(path.name + ".part")):
        candidate.unlink(missing_ok=True)


def backup_delete(*, actor: User, backup: Backup) -> None:
    _require_admin(actor)
    if backup.status == BackupStatus.RUNNING:
        raise ValidationError(
            _("The backup is being written; it can be deleted when it is done."), code="running"
        )
    _remove_archive(backup)
    backup.delete()


def archive_for_download(*, actor: User, backup: Backup) -> Path:
    """The archive's path for a download; a specific error when there is none."""
    _require_admin(actor)
    if backup.status != BackupStatus.DONE:
        raise ValidationError(_("Only a finished backup can be downloaded."), code="not_done")
    path = archive_path(backup)
    if not path.is_file():
        raise ValidationError(
            _("The archive is no longer in the backup folder (%(folder)s).") % {"folder": folder()},
            code="missing",
        )
    return path
