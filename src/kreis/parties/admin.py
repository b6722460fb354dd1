from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from kreis.parties.models import (
    Address,
    ContactPoint,
    Employment,
    Party,
    PartyRoleAssignment,
    Relationship,
    Tag,
)


class ContactPointInline(admin.TabularInline):
    model = ContactPoint
    extra = 0


class AddressInline(admin.StackedInline):
    model = Address
    extra = 0


class RoleInline(admin.TabularInline):
    model = PartyRoleAssignment
    extra = 0


@admin.register(Party)
class PartyAdmin(SimpleHistoryAdmin):
    list_display = ["name", "kind", "owner", "team", "created_at", "deleted_at"]
    list_filter = ["kind", "role_assignments__role", "team", "deleted_at"]
    search_fields = ["name", "external_id", "contact_points__value"]
    autocomplete_fields = ["owner"]
    filter_horizontal = ["tags"]
    inlines = [RoleInline, ContactPointInline, AddressInline]


@admin.register(Relationship)
class RelationshipAdmin(SimpleHistoryAdmin):
    list_display = ["source", "type", "target", "created_at"]
    list_filter = ["type"]
    autocomplete_fields = ["source", "target"]


@admin.register(Employment)
class EmploymentAdmin(SimpleHistoryAdmin):
    list_display = ["person", "organization", "position", "is_primary_contact"]
    autocomplete_fields = ["person", "organization"]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ["name"]
