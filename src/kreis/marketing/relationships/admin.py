"""Relationship types in the Django admin (administrators)."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kreis.marketing.relationships.models import (
    PartyRelationshipType,
    RelationshipApplyChange,
    RelationshipApplyRun,
    RelationshipType,
)


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


class _ReadOnly:
    """History is kept, never written by hand: no add, change or delete (undo is in the app)."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(RelationshipApplyRun)
class RelationshipApplyRunAdmin(_ReadOnly, admin.ModelAdmin):
    """Each application of the relationship types that changed customers, and its undo."""

    list_display = [
        "applied_at",
        "started_by",
        "only",
        "changed",
        "undone_at",
        "undone_by",
        "restored",
        "skipped",
        "skipped_type_deleted",
    ]
    list_filter = [
        ("undone_at", admin.EmptyFieldListFilter),
        "applied_at",
        "only",
        "started_by",
    ]
    list_select_related = ["started_by", "only", "undone_by"]
    date_hierarchy = "applied_at"
    readonly_fields = [f.name for f in RelationshipApplyRun._meta.fields] + ["change_list"]

    @admin.display(description=gettext_lazy("changes"))
    def change_list(self, obj: RelationshipApplyRun) -> str:
        """A link to the run's changes (an inline would render thousands of rows)."""
        url = reverse("admin:marketing_relationshipapplychange_changelist")
        return format_html(
            '<a href="{}?run__id__exact={}">{}</a>',
            url,
            obj.pk,
            _("%(n)s changes") % {"n": obj.changed},
        )


@admin.register(RelationshipApplyChange)
class RelationshipApplyChangeAdmin(_ReadOnly, admin.ModelAdmin):
    """Every customer an application changed: type, owner and team before and after."""

    list_display = [
        "run",
        "party",
        "type_before",
        "owner_before",
        "team_before",
        "type_after",
        "owner_after",
        "team_after",
    ]
    list_filter = [
        "run__applied_at",
        ("run__undone_at", admin.EmptyFieldListFilter),
        "type_after",
        "type_replaced",
    ]
    list_select_related = [
        "run",
        "party",
        "type_before",
        "owner_before",
        "team_before",
        "type_after",
        "owner_after",
        "team_after",
    ]
    search_fields = ["party__name"]
    readonly_fields = [f.name for f in RelationshipApplyChange._meta.fields]
