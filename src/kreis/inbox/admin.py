from django.contrib import admin

from kreis.inbox.models import InboxItem, ItemChange, SlaPolicy


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    list_display = ("channel", "first_response_hours", "calendar", "updated_at")


class ItemChangeInline(admin.TabularInline):
    model = ItemChange
    extra = 0
    can_delete = False
    readonly_fields = ("actor", "field", "from_value", "to_value", "created_at")


@admin.register(InboxItem)
class InboxItemAdmin(admin.ModelAdmin):
    list_display = (
        "subject", "channel", "status", "assignee", "assigned_team", "received_at",
        "first_response_due_at", "first_responded_at",
    )  # fmt: skip
    list_filter = ("channel", "status")
    search_fields = ("subject", "sender")
    date_hierarchy = "received_at"
    raw_id_fields = ("party", "case", "lead", "deal", "owner", "assignee", "first_responded_by")
    readonly_fields = ("source_type", "source_id", "thread_key", "created_at", "updated_at")
    inlines = [ItemChangeInline]
