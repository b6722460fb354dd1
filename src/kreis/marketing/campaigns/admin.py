"""Campaigns in the Django admin: the campaign with its costs; members, touches and the
first/last-touch attribution (kept by the touches, so read-only here)."""

from django.contrib import admin

from kreis.marketing.models import (
    Campaign,
    CampaignCost,
    CampaignMember,
    CampaignTouch,
    DealAttribution,
    LeadAttribution,
)


class CampaignCostInline(admin.TabularInline):
    model = CampaignCost
    extra = 0
    fields = ["date", "category", "amount", "note", "created_by"]
    raw_id_fields = ["created_by"]


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "channel", "status", "starts_on", "ends_on", "budget", "owner"]
    list_filter = ["channel", "status", "team"]
    search_fields = ["name", "code", "goal"]
    raw_id_fields = ["owner", "team", "target_segment"]
    readonly_fields = ["created_at", "updated_at"]
    date_hierarchy = "starts_on"
    inlines = [CampaignCostInline]


@admin.register(CampaignMember)
class CampaignMemberAdmin(admin.ModelAdmin):
    list_display = ["campaign", "lead", "party", "sent_at", "opened_at", "registered_at"]
    list_filter = ["campaign__channel"]
    search_fields = ["campaign__name", "lead__last_name", "lead__email", "party__name"]
    raw_id_fields = ["campaign", "lead", "party"]
    readonly_fields = ["added_at"]


@admin.register(CampaignTouch)
class CampaignTouchAdmin(_ReadOnly):
    """Touches are recorded by forms, events and links; deleting one here would leave the
    attribution behind, so the admin only shows them."""

    list_display = ["campaign", "kind", "at", "lead", "party"]
    list_filter = ["kind"]
    search_fields = ["campaign__name", "campaign__code"]
    raw_id_fields = ["campaign", "lead", "party"]
    date_hierarchy = "at"


@admin.register(LeadAttribution)
class LeadAttributionAdmin(_ReadOnly):
    list_display = ["lead", "first_campaign", "first_at", "last_campaign", "last_at"]
    list_filter = ["first_campaign", "last_campaign"]
    raw_id_fields = ["lead", "first_campaign", "last_campaign"]


@admin.register(DealAttribution)
class DealAttributionAdmin(_ReadOnly):
    list_display = ["deal", "first_campaign", "last_campaign"]
    list_filter = ["first_campaign", "last_campaign"]
    raw_id_fields = ["deal", "first_campaign", "last_campaign"]
