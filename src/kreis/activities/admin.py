from django.contrib import admin

from kreis.activities.models import Activity


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = ["subject", "kind", "occurred_at", "done_at", "party", "owner", "team"]
    list_filter = ["kind", "team", ("done_at", admin.EmptyFieldListFilter), "deleted_at"]
    search_fields = ["subject", "external_id", "party__name"]
    date_hierarchy = "occurred_at"
    autocomplete_fields = ["party", "attendees", "owner", "created_by"]
    raw_id_fields = ["deal", "lead"]
    list_select_related = ["party", "owner", "team"]
    readonly_fields = ["reminded_at", "created_at", "updated_at"]
    show_full_result_count = False
