"""Relationship types in the Django admin (administrators)."""

from django.contrib import admin

from kreis.marketing.relationships.models import PartyRelationshipType, RelationshipType


@admin.register(RelationshipType)
class RelationshipTypeAdmin(admin.ModelAdmin):
    list_display = [
        "name_en",
        "name_de",
        "segment",
        "priority",
        "ownership",
        "owner",
        "team",
        "keep_existing_owner",
        "is_active",
        "applied_at",
    ]
    list_filter = ["ownership", "is_active", "team"]
    list_select_related = ["segment", "owner", "team"]
    search_fields = ["name_en", "name_de", "description"]
    readonly_fields = ["last_user", "applied_at", "applied_count", "created_at", "updated_at"]


@admin.register(PartyRelationshipType)
class PartyRelationshipTypeAdmin(admin.ModelAdmin):
    list_display = ["party", "relationship_type", "assigned_at"]
    list_filter = ["relationship_type"]
    list_select_related = ["party", "relationship_type"]
    raw_id_fields = ["party"]
    readonly_fields = ["party", "relationship_type", "assigned_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
