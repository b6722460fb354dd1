"""The backups page (administrators): the list with a live progress bar, "Back up now",
download and delete."""

from __future__ import annotations

import shutil

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kreis.core.web import is_htmx
from kreis.migration.backups import queries, services
from kreis.migration.backups.tasks import backup_enqueue
from kreis.migration.models import BackupStatus


@login_required
def backup_list(request: HttpRequest) -> HttpResponse:
    backups = list(queries.backup_list_for_user(user=request.user)[:100])
    running = next((b for b in backups if b.status == BackupStatus.RUNNING), None)
    folder = services.folder()
    context = {
        "backups": backups,
        "running": running,
        "done": services.tables_done(running) if running else 0,
        "folder": folder,
        "free_bytes": shutil.disk_usage(folder).free,
        "used_bytes": sum(b.size_bytes for b in backups if b.status == BackupStatus.DONE),
        "keep": settings.KREIS_BACKUP_KEEP,
        "hour": settings.KREIS_BACKUP_HOUR,
    }
    template = "migration/_backup_table.html" if is_htmx(request) else "migration/backups.html"
    return render(request, template, context)


@login_required
@require_POST
def backup_create(request: HttpRequest) -> HttpResponse:
    queries.backup_list_for_user(user=request.user)  # administrators only
    try:
        backup = backup_enqueue(actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The backup “%s” is being written.") % backup.file_name)
    return redirect("backups:list")


@login_required
def backup_download(request: HttpRequest, pk: int) -> HttpResponse:
    backup = queries.backup_get_for_user(user=request.user, pk=pk)
    try:
        path = services.archive_for_download(actor=request.user, backup=backup)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("backups:list")
    return FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=backup.file_name,
        content_type="application/zip",
    )


@login_required
@require_POST
def backup_delete(request: HttpRequest, pk: int) -> HttpResponse:
    backup = queries.backup_get_for_user(user=request.user, pk=pk)
    try:
        services.backup_delete(actor=request.user, backup=backup)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The backup “%s” is deleted.") % backup.file_name)
    return redirect("backups:list")
