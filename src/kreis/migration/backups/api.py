"""API routes for backups (administrators only): list, start, state, download, delete."""

from __future__ import annotations

from datetime import datetime

from django.http import FileResponse, HttpRequest
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from kreis.core.api_support import PROBLEM_RESPONSES, ObjectId, Pagination
from kreis.migration.backups import queries, services
from kreis.migration.backups.tasks import backup_enqueue
from kreis.migration.models import Backup

router = Router(tags=["backups"])


class BackupOut(Schema):
    id: int
    file_name: str
    status: str = Field(description="running, done or failed")
    scheduled: bool = Field(description="made by the nightly schedule")
    created_by_id: int | None
    started_at: datetime
    finished_at: datetime | None
    tables_done: int
    tables_total: int
    rows: int
    files: int = Field(description="uploaded files in the archive")
    size_bytes: int
    verified: bool = Field(description="read back after writing: every checksum matched")
    error: str

    @staticmethod
    def resolve_tables_done(obj: Backup) -> int:
        return services.tables_done(obj)


@router.get("/backups", response=list[BackupOut], summary="List backups, newest first")
@paginate(Pagination)
def backup_list(request: HttpRequest):
    return queries.backup_list_for_user(user=request.auth)


@router.post(
    "/backups",
    response={202: BackupOut, **PROBLEM_RESPONSES},
    summary="Start a backup (written by the job worker; poll GET /backups/{id})",
)
def backup_create(request: HttpRequest):
    queries.backup_list_for_user(user=request.auth)  # administrators only
    backup = backup_enqueue(actor=request.auth)
    return Status(202, queries.backup_get_for_user(user=request.auth, pk=backup.pk))


@router.get(
    "/backups/{backup_id}",
    response={200: BackupOut, **PROBLEM_RESPONSES},
    summary="A backup's state and figures",
)
def backup_detail(request: HttpRequest, backup_id: ObjectId):
    return queries.backup_get_for_user(user=request.auth, pk=backup_id)


@router.get(
    "/backups/{backup_id}/archive",
    response={200: None, **PROBLEM_RESPONSES},
    summary="Download the archive (zip; restore it with `kreis restore FILE`)",
)
def backup_archive(request: HttpRequest, backup_id: ObjectId):
    backup = queries.backup_get_for_user(user=request.auth, pk=backup_id)
    path = services.archive_for_download(actor=request.auth, backup=backup)
    return FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=backup.file_name,
        content_type="application/zip",
    )


@router.delete(
    "/backups/{backup_id}",
    response={204: None, **PROBLEM_RESPONSES},
    summary="Delete a backup and its archive",
)
def backup_delete(request: HttpRequest, backup_id: ObjectId):
    backup = queries.backup_get_for_user(user=request.auth, pk=backup_id)
    services.backup_delete(actor=request.auth, backup=backup)
    return Status(204, None)
