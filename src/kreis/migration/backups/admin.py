"""Backups in the Django admin: the list to look at; writing and deleting go through the
backups page (``/manage/backups/``), which keeps list and archives together."""

from __future__ import annotations

from django.contrib import admin

from kreis.migration.models import Backup


@admin.register(Backup)
class BackupAdmin(admin.ModelAdmin):
    list_display = ["file_name", "status", "scheduled", "started_at", "rows", "size_bytes"]
    list_filter = ["status", "scheduled"]
    search_fields = ["file_name"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
