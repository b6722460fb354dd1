from django.contrib import admin

from kreis.playbooks.models import Enrollment, Playbook, PlaybookStep, StepRun


class StepInline(admin.TabularInline):
    model = PlaybookStep
    extra = 0
    fields = [
        "position",
        "delay_days",
        "action",
        "due_days",
        "title_de",
        "title_en",
        "send_email",
        "offer_products",
        "offer_months",
    ]


@admin.register(Playbook)
class PlaybookAdmin(admin.ModelAdmin):
    list_display = ["name_de", "name_en", "kind", "enabled", "holdout_percent", "window_days"]
    list_filter = ["kind", "enabled"]
    search_fields = ["name_de", "name_en", "key"]
    filter_horizontal = ["relationship_types"]
    readonly_fields = ["created_by", "created_at", "updated_at"]
    inlines = [StepInline]


class StepRunInline(admin.TabularInline):
    model = StepRun
    extra = 0
    readonly_fields = ["position", "action", "activity", "quote", "note", "emailed", "ran_at"]
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Enrollment)
class EnrollmentAdmin(admin.ModelAdmin):
    list_display = ["party", "playbook", "status", "current_step", "entered_at", "exit_reason"]
    list_filter = ["playbook", "status", "exit_reason"]
    search_fields = ["party__name"]
    raw_id_fields = ["party", "phase_change"]
    list_select_related = ["party", "playbook"]
    readonly_fields = ["claim", "updated_at"]
    inlines = [StepRunInline]
