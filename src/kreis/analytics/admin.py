"""Django admin of the analytical CRM: each topic registers its models below."""

from django.contrib import admin

from kreis.analytics.kpis import admin as kpis_admin  # noqa: F401 — registers its models
from kreis.analytics.margin.models import CostEntry, CostRule
from kreis.analytics.scoring.models import (
    Criterion,
    ScoreRecord,
    ScoringModel,
    UtilityOption,
)


@admin.register(CostEntry)
class CostEntryAdmin(admin.ModelAdmin):
    list_display = ["party", "date", "level", "category", "amount", "created_by"]
    list_filter = ["level", "category"]
    date_hierarchy = "date"
    raw_id_fields = ["party", "created_by"]
    search_fields = ["party__name", "note"]


@admin.register(CostRule)
class CostRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "level", "category", "basis", "amount", "valid_from", "valid_to"]
    list_filter = ["is_active", "level", "basis"]
    search_fields = ["name"]


class CriterionInline(admin.TabularInline):
    model = Criterion
    extra = 0


@admin.register(ScoringModel)
class ScoringModelAdmin(admin.ModelAdmin):
    list_display = ["name", "target", "is_active", "is_primary", "applied_at"]
    list_filter = ["target", "is_active", "is_primary"]
    search_fields = ["name"]
    inlines = [CriterionInline]
    readonly_fields = ["created_by", "created_at", "updated_at", "activated_at", "applied_at"]


@admin.register(UtilityOption)
class UtilityOptionAdmin(admin.ModelAdmin):
    list_display = ["name", "model"]
    list_filter = ["model"]
    search_fields = ["name"]


@admin.register(ScoreRecord)
class ScoreRecordAdmin(admin.ModelAdmin):
    list_display = ["model", "party", "lead", "option", "score", "grade", "computed_at"]
    list_filter = ["model", "is_latest"]
    raw_id_fields = ["party", "lead", "option"]
    list_select_related = ["model", "party", "lead", "option"]
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


from kreis.analytics.customer.models import ClvFit, PhaseChange  # noqa: E402
from kreis.analytics.runs.models import AnalyticsRun, AnalyticsSettings  # noqa: E402


@admin.register(AnalyticsSettings)
class AnalyticsSettingsAdmin(admin.ModelAdmin):
    list_display = ["__str__", "time_unit", "calibration_end", "abc_metric", "updated_at"]

    def has_add_permission(self, request) -> bool:
        return not AnalyticsSettings.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AnalyticsRun)
class AnalyticsRunAdmin(admin.ModelAdmin):
    list_display = ["started_at", "as_of", "status", "finished_at", "started_by"]
    list_filter = ["status"]
    readonly_fields = ["timings", "counts", "error"]


@admin.register(ClvFit)
class ClvFitAdmin(admin.ModelAdmin):
    list_display = ["created_at", "calibration_end", "time_unit", "r", "alpha", "a", "b", "p", "q"]


@admin.register(PhaseChange)
class PhaseChangeAdmin(admin.ModelAdmin):
    list_display = ["party", "date", "from_phase", "to_phase", "reason", "won_back", "manual"]
    list_filter = ["to_phase", "manual", "won_back"]
    raw_id_fields = ["party", "changed_by"]
    date_hierarchy = "date"
