"""Consents in the Django admin: read-mostly. A consent's proof (time, IP address, browser,
text version, confirmation) and its events must not be edited; only the note can change.
Consent texts can be added (a new version) but never changed."""

from django.contrib import admin

from kreis.marketing.consent.services import text_create_version
from kreis.marketing.models import Consent, ConsentEvent, ConsentText


class ConsentEventInline(admin.TabularInline):
    model = ConsentEvent
    extra = 0
    can_delete = False
    fields = ["at", "kind", "ip_address", "user_agent", "actor", "note"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Consent)
class ConsentAdmin(admin.ModelAdmin):
    list_display = ["pk", "email", "purpose", "channel", "status", "basis", "requested_at"]
    list_filter = ["status", "purpose", "channel", "basis", "source", "language"]
    search_fields = ["email"]
    date_hierarchy = "requested_at"
    inlines = [ConsentEventInline]
    readonly_fields = [
        "party",
        "lead",
        "email",
        "purpose",
        "channel",
        "status",
        "basis",
        "source",
        "text",
        "language",
        "requested_at",
        "ip_address",
        "user_agent",
        "confirmed_at",
        "confirmed_ip",
        "withdrawn_at",
        "recorded_by",
    ]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ConsentText)
class ConsentTextAdmin(admin.ModelAdmin):
    list_display = ["purpose", "language", "version", "created_at", "created_by"]
    list_filter = ["purpose", "language"]
    readonly_fields = ["version", "created_at", "created_by"]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:  # a saved version is final
            return ["purpose", "language", "version", "text", "created_at", "created_by"]
        return self.readonly_fields

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        if change:
            return
        made = text_create_version(
            purpose=obj.purpose, language=obj.language, text=obj.text, actor=request.user
        )
        obj.pk, obj.version, obj.created_at = made.pk, made.version, made.created_at
