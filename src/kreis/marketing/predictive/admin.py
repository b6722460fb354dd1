"""The predictive model's trainings (read only: they come from training) and the lead
management settings in the Django admin."""

from django.contrib import admin

from kreis.marketing.models import LeadScoringModel, MarketingSettings


@admin.register(LeadScoringModel)
class LeadScoringModelAdmin(admin.ModelAdmin):
    list_display = ["trained_at", "samples", "positives", "auc", "auc_std", "folds", "usable"]
    list_filter = ["usable"]
    exclude = ["model"]
    readonly_fields = [
        "trained_at",
        "samples",
        "positives",
        "usable",
        "auc",
        "auc_std",
        "folds",
        "importances",
        "message",
    ]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(MarketingSettings)
class MarketingSettingsAdmin(admin.ModelAdmin):
    """One row: opened directly, never added twice or deleted."""

    def has_add_permission(self, request) -> bool:
        return not MarketingSettings.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
