"""Channel preferences in the Django admin, with their history (django-simple-history)."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from kreis.channels.models import ChannelPreference


@admin.register(ChannelPreference)
class ChannelPreferenceAdmin(SimpleHistoryAdmin):
    list_display = [
        "party",
        "preferred_channel",
        "language",
        "no_email_since",
        "no_call_since",
        "no_post_since",
        "no_social_since",
        "updated_at",
        "changed_by",
    ]
    list_filter = ["preferred_channel", "language"]
    search_fields = ["party__name", "note"]
    raw_id_fields = ["party"]
    readonly_fields = ["changed_by", "created_at", "updated_at"]

    def save_model(self, request, obj, form, change):
        obj.changed_by = request.user
        super().save_model(request, obj, form, change)
