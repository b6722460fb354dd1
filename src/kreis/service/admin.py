from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from kreis.service import admin_config  # noqa: F401  (registers the e-mail templates' admin)
from kreis.service.analysis import admin as _reports_admin  # noqa: F401  (reports' admin)
from kreis.service.models import (
    AssignmentRule,
    Case,
    CaseCategory,
    CaseMessage,
    CaseRating,
    CaseTransition,
    RatingToken,
    RootCause,
    SlaPolicy,
)


@admin.register(CaseCategory)
class CaseCategoryAdmin(admin.ModelAdmin):
    list_display = ["name_en", "name_de", "kind", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name_en", "name_de"]


@admin.register(RootCause)
class RootCauseAdmin(admin.ModelAdmin):
    list_display = ["name_en", "name_de", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name_en", "name_de", "description"]


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    list_display = [
        "severity",
        "hours_to_acknowledge",
        "hours_to_resolve",
        "day_start",
        "day_end",
        "weekdays",
        "state",
    ]
    list_filter = ["state"]


@admin.register(AssignmentRule)
class AssignmentRuleAdmin(admin.ModelAdmin):
    list_display = [
        "position",
        "name",
        "category",
        "product",
        "region",
        "assign_user",
        "assign_team",
        "is_active",
    ]
    list_display_links = ["name"]
    list_filter = ["is_active", "category", "assign_team"]
    list_select_related = ["category", "product", "assign_user", "assign_team"]
    search_fields = ["name", "region"]
    autocomplete_fields = ["assign_user"]
    raw_id_fields = ["product"]
    # Who may get the case: only those holding each at the level or higher.
    filter_horizontal = ["required_competencies"]


class TransitionInline(admin.TabularInline):
    model = CaseTransition
    extra = 0
    readonly_fields = ["actor", "from_status", "to_status", "note", "created_at"]
    can_delete = False


class MessageInline(admin.StackedInline):
    model = CaseMessage
    extra = 0
    readonly_fields = ["kind", "author", "created_at"]


@admin.register(Case)
class CaseAdmin(SimpleHistoryAdmin):
    list_display = ["number", "subject", "party", "status", "severity", "owner", "created_at"]
    list_filter = ["status", "severity", "channel", "category", "waiting_for_customer"]
    search_fields = ["number", "subject", "party__name"]
    raw_id_fields = ["party", "contact", "product"]
    autocomplete_fields = ["owner"]
    readonly_fields = ["number", "created_at", "updated_at"]
    date_hierarchy = "created_at"
    inlines = [TransitionInline, MessageInline]


class _ReadOnly(admin.ModelAdmin):
    """Written only through the customer's rating link (kreis.service.rating)."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CaseRating)
class CaseRatingAdmin(_ReadOnly):
    list_display = ["case", "rating", "comment", "created_at"]
    list_filter = ["rating"]
    search_fields = ["case__number", "comment"]
    list_select_related = ["case"]
    date_hierarchy = "created_at"


@admin.register(RatingToken)
class RatingTokenAdmin(_ReadOnly):
    # The hash is left out: it is of no use to anyone reading it, and none to show.
    list_display = ["case", "created_at", "expires_at", "used_at"]
    list_select_related = ["case"]
    search_fields = ["case__number"]
    fields = ["case", "created_at", "expires_at", "used_at"]
    readonly_fields = fields


# The processing of a case and information usage register their own admins.
from kreis.service import admin_mailbox  # noqa: E402, F401  (the complaint mailboxes' admin)
from kreis.service.improvement import admin as _improvement_admin  # noqa: E402, F401
from kreis.service.processing import admin as _processing_admin  # noqa: E402, F401
from kreis.service.public_form import admin as _public_form_admin  # noqa: E402, F401
