from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from kreis.sales.models import Deal, DealLine, LostReason, Pipeline, Stage, StageChange


class StageInline(admin.TabularInline):
    model = Stage
    extra = 0
    fields = ["name", "position", "probability", "kind"]


@admin.register(Pipeline)
class PipelineAdmin(admin.ModelAdmin):
    list_display = ["name", "position", "is_default", "is_active"]
    list_editable = ["position"]
    search_fields = ["name"]
    inlines = [StageInline]


@admin.register(LostReason)
class LostReasonAdmin(admin.ModelAdmin):
    list_display = ["name", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name"]


class DealLineInline(admin.TabularInline):
    model = DealLine
    extra = 0
    autocomplete_fields = ["product"]


class StageChangeInline(admin.TabularInline):
    model = StageChange
    fk_name = "deal"
    extra = 0
    can_delete = False
    fields = ["changed_at", "from_stage", "to_stage", "changed_by"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Deal)
class DealAdmin(SimpleHistoryAdmin):
    list_display = ["name", "pipeline", "stage", "amount", "owner", "team", "expected_close"]
    list_filter = ["pipeline", "stage__kind", "team", "deleted_at"]
    list_select_related = ["pipeline", "stage", "owner", "team"]
    search_fields = ["name", "external_id", "organization__name"]
    autocomplete_fields = ["owner", "organization", "contact"]
    filter_horizontal = ["tags"]
    readonly_fields = ["created_at", "updated_at", "closed_at"]
    inlines = [DealLineInline, StageChangeInline]
