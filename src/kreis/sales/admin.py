from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from kreis.sales.models import (
    Deal,
    DealLine,
    ForecastSnapshot,
    LostReason,
    Pipeline,
    Stage,
    StageChange,
    Target,
)


class StageInline(admin.TabularInline):
    model = Stage
    extra = 0
    fields = ["name", "position", "probability", "kind"]


@admin.register(Pipeline)
class PipelineAdmin(admin.ModelAdmin):
    list_display = ["name", "position", "is_default", "is_active"]
    list_editable = ["position"]
    search_fields = ["name"]
    inlines = [StageInline]


@admin.register(LostReason)
class LostReasonAdmin(admin.ModelAdmin):
    list_display = ["name", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name"]


class DealLineInline(admin.TabularInline):
    model = DealLine
    extra = 0
    autocomplete_fields = ["product"]


class StageChangeInline(admin.TabularInline):
    model = StageChange
    fk_name = "deal"
    extra = 0
    can_delete = False
    fields = ["changed_at", "from_stage", "to_stage", "changed_by"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Deal)
class DealAdmin(SimpleHistoryAdmin):
    list_display = [
        "name",
        "pipeline",
        "stage",
        "amount",
        "forecast_category",
        "channel",
        "owner",
        "team",
        "expected_close",
    ]
    list_filter = ["pipeline", "stage__kind", "forecast_category", "channel", "team", "deleted_at"]
    list_select_related = ["pipeline", "stage", "owner", "team"]
    search_fields = ["name", "external_id", "organization__name"]
    autocomplete_fields = ["owner", "organization", "contact"]
    filter_horizontal = ["tags"]
    readonly_fields = ["created_at", "updated_at", "closed_at"]
    inlines = [DealLineInline, StageChangeInline]


@admin.register(Target)
class TargetAdmin(SimpleHistoryAdmin):
    list_display = [
        "__str__",
        "metric",
        "dimension",
        "period_kind",
        "period_start",
        "amount",
        "currency",
        "team",
    ]
    list_filter = ["metric", "dimension", "period_kind", "team"]
    list_select_related = ["user", "team"]
    search_fields = ["region", "category", "note", "user__username", "team__name"]
    autocomplete_fields = ["user"]
    readonly_fields = ["period_end", "created_by", "created_at", "updated_at"]

    def save_model(self, request, obj, form, change) -> None:
        # Through the service: its checks (subject, rep in team, no duplicate) hold here too.
        from kreis.sales.periods import Period
        from kreis.sales.targets.services import target_create, target_update

        period = Period(obj.period_kind, obj.period_start)
        fields = {
            f: getattr(obj, f)
            for f in ("metric", "dimension", "user", "team", "region", "channel", "category")
        }
        extra = {"amount": obj.amount, "currency": obj.currency, "note": obj.note}
        if change:
            target_update(actor=None, target=obj, period=period, **fields, **extra)
        else:
            created = target_create(actor=None, period=period, **fields, **extra)
            obj.pk = created.pk


@admin.register(ForecastSnapshot)
class ForecastSnapshotAdmin(admin.ModelAdmin):
    """Snapshots are the forecast's history: read here, written by reps and managers."""

    list_display = ["__str__", "kind", "user", "team", "period_start", "forecast", "created_at"]
    list_filter = ["kind", "period_kind", "team"]
    list_select_related = ["user", "team"]
    search_fields = ["note", "user__username", "team__name"]
    readonly_fields = [
        "kind",
        "user",
        "team",
        "period_kind",
        "period_start",
        "period_end",
        "pipeline_amount",
        "best_case_amount",
        "commit_amount",
        "closed_amount",
        "forecast",
        "currency",
        "note",
        "created_by",
        "created_at",
    ]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
