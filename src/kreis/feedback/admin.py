from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from kreis.feedback.models import (
    Invitation,
    Question,
    Response,
    Survey,
    SurveyPhaseChange,
    SurveyReport,
)


class QuestionInline(admin.TabularInline):
    model = Question
    extra = 0
    fields = ["position", "kind", "text_de", "text_en", "required", "dimension", "loyalty_factor"]

    # As on the survey page: questions change only in the definition and design phases.
    def has_add_permission(self, request, obj=None) -> bool:
        return (obj is None or obj.questions_editable) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        editable = obj is None or obj.questions_editable
        return editable and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        editable = obj is None or obj.questions_editable
        return editable and super().has_delete_permission(request, obj)


class PhaseChangeInline(admin.TabularInline):
    model = SurveyPhaseChange
    extra = 0
    readonly_fields = ["from_phase", "to_phase", "actor", "note", "changed_at"]
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Survey)
class SurveyAdmin(SimpleHistoryAdmin):
    list_display = ["name", "phase", "method", "anonymous", "language", "created_at"]
    list_filter = ["phase", "method", "anonymous"]
    search_fields = ["name"]
    # Phases move through the survey page or the API, so that every move is recorded.
    readonly_fields = ["phase"]
    raw_id_fields = ["owner", "team", "target_view"]
    inlines = [QuestionInline, PhaseChangeInline]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["survey", "party", "email", "language", "sent_at", "answered_at", "expires_at"]
    list_filter = ["language"]
    raw_id_fields = ["survey", "party"]
    readonly_fields = ["token_hash", "sent_at", "reminded_at", "answered_at"]


@admin.register(Response)
class ResponseAdmin(admin.ModelAdmin):
    list_display = ["survey", "party", "channel", "nps", "created_at"]
    list_filter = ["channel"]
    raw_id_fields = ["survey", "party", "entered_by"]


@admin.register(SurveyReport)
class SurveyReportAdmin(admin.ModelAdmin):
    list_display = ["survey", "created_by", "created_at"]
    raw_id_fields = ["survey", "created_by"]
    readonly_fields = ["html"]
