"""The handoff's assignment rules in the Django admin (administrators), and its handoffs read
only: they come from the rules and the SLA job, never by hand."""

from django.contrib import admin

from kreis.marketing.models import LeadAssignmentRule, LeadHandoff


@admin.register(LeadAssignmentRule)
class LeadAssignmentRuleAdmin(admin.ModelAdmin):
    list_display = [
        "position",
        "name",
        "territory",
        "product_interest",
        "language",
        "team",
        "workload_cap",
        "last_user",
        "is_active",
    ]
    list_display_links = ["name"]
    list_editable = ["position", "is_active"]
    list_filter = ["is_active", "language", "team"]
    search_fields = ["name", "territory"]
    filter_horizontal = ["users", "required_competencies"]
    raw_id_fields = ["product_interest"]
    readonly_fields = ["last_user", "created_at"]


@admin.register(LeadHandoff)
class LeadHandoffAdmin(admin.ModelAdmin):
    list_display = ["lead", "assigned_to", "team", "status", "assigned_at", "due_at"]
    list_filter = ["status", "team"]
    date_hierarchy = "assigned_at"
    raw_id_fields = ["lead"]
    readonly_fields = [f.name for f in LeadHandoff._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
