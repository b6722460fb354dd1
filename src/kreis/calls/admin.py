from django.contrib import admin

from kreis.calls.models import CallList, CallListEntry, WrongNumber


class EntryInline(admin.TabularInline):
    model = CallListEntry
    extra = 0
    fields = ["position", "party", "phone", "state", "skip_reason", "result", "attempts", "due_at"]
    readonly_fields = ["party"]
    show_change_link = True
    max_num = 0  # built by the service, not typed in here


@admin.register(CallList)
class CallListAdmin(admin.ModelAdmin):
    list_display = ["name", "purpose", "segment", "campaign", "owner", "team", "is_closed"]
    list_filter = ["is_closed", "purpose", "team"]
    search_fields = ["name"]
    filter_horizontal = ["assignees"]
    raw_id_fields = ["segment", "campaign", "owner"]
    readonly_fields = ["segment", "campaign", "purpose"]


@admin.register(CallListEntry)
class CallListEntryAdmin(admin.ModelAdmin):
    list_display = ["call_list", "position", "party", "phone", "state", "result", "attempts"]
    list_filter = ["state", "result", "skip_reason"]
    search_fields = ["party__name", "phone"]
    raw_id_fields = ["call_list", "party", "claimed_by", "called_by", "last_activity"]


@admin.register(WrongNumber)
class WrongNumberAdmin(admin.ModelAdmin):
    list_display = ["phone", "party", "marked_by", "marked_at"]
    search_fields = ["phone", "party__name"]
    raw_id_fields = ["party", "marked_by"]
