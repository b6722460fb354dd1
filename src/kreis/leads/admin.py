from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from kreis.leads.models import Lead


@admin.register(Lead)
class LeadAdmin(SimpleHistoryAdmin):
    list_display = ["__str__", "status", "source", "owner", "team", "created_at", "deleted_at"]
    list_filter = ["status", "disqualify_reason", "source", "team", "deleted_at"]
    search_fields = ["last_name", "first_name", "company", "email", "phone", "external_id"]
    autocomplete_fields = ["owner", "converted_person", "converted_organization"]
    raw_id_fields = ["converted_deal"]
    filter_horizontal = ["tags"]
    readonly_fields = ["created_at", "updated_at"]
    date_hierarchy = "created_at"
    fieldsets = [
        (None, {"fields": ["status", "salutation", "first_name", "last_name", "company"]}),
        (_("Contact"), {"fields": ["position", "email", "phone", "website", "source"]}),
        (_("BANT"), {"fields": ["budget", "authority", "need", "timeline"]}),
        (_("Disqualification"), {"fields": ["disqualify_reason", "disqualify_note"]}),
        (
            "Conversion",
            {
                "fields": [
                    "converted_at",
                    "converted_person",
                    "converted_organization",
                    "converted_deal",
                ]
            },
        ),
        (
            _("More"),
            {
                "fields": [
                    "notes",
                    "custom",
                    "tags",
                    "owner",
                    "team",
                    "external_id",
                    "created_at",
                    "updated_at",
                    "deleted_at",
                ]
            },
        ),
    ]
