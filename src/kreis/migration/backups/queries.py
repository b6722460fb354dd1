"""Reading backups: administrators only; anyone else gets a 404, as if there were none."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from kreis.core.models import User
from kreis.migration.models import Backup


def backup_list_for_user(*, user: User) -> QuerySet[Backup]:
    if not (user.is_authenticated and user.is_admin):
        raise Http404
    return Backup.objects.select_related("created_by")


def backup_get_for_user(*, user: User, pk: int) -> Backup:
    try:
        return backup_list_for_user(user=user).get(pk=pk)
    except Backup.DoesNotExist as exc:
        raise Http404 from exc
