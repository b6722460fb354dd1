"""The import app in the Django admin."""

from django.contrib import admin

from kreis.migration.backups import admin as backups_admin  # noqa: F401  (registers)
from kreis.migration.connectors import admin as connectors_admin  # noqa: F401  (registers)
from kreis.migration.models import ImportJob, ImportRowError, MappingTemplate


class RowErrorInline(admin.TabularInline):
    model = ImportRowError
    extra = 0
    fields = ["row", "column", "message"]
    readonly_fields = fields
    can_delete = False
    max_num = 0
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).order_by("row", "pk")


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    """Imports are read here; they are made, run and undone through the wizard, the API or
    ``kreis import`` (the services keep the undo log and counters consistent)."""

    list_display = [
        "pk",
        "original_name",
        "entity",
        "status",
        "source",
        "created_by",
        "created_at",
        "rows_done",
        "total_rows",
        "created_count",
        "updated_count",
        "failed_count",
    ]
    list_filter = ["status", "entity", "source"]
    search_fields = ["original_name", "file_sha256", "created_by__username"]
    date_hierarchy = "created_at"
    inlines = [RowErrorInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]


@admin.register(MappingTemplate)
class MappingTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "entity", "owner", "shared", "updated_at"]
    list_filter = ["entity", "shared"]
    search_fields = ["name"]
    autocomplete_fields = ["owner"]
