"""Admin of improvement actions (registered by kreis.service.admin)."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from kreis.service.improvement import services
from kreis.service.models import ImprovementAction


@admin.register(ImprovementAction)
class ImprovementActionAdmin(SimpleHistoryAdmin):
    list_display = ["title", "root_cause", "status", "owner", "due_date", "effective_on"]
    list_filter = ["status", "root_cause"]
    search_fields = ["title", "description"]
    autocomplete_fields = ["owner"]
    list_select_related = ["root_cause", "owner"]
    date_hierarchy = "due_date"

    def save_model(self, request, obj, form, change) -> None:
        # Through the service: marked done without a date, it takes effect today.
        services.improvement_action_update(actor=None, action=obj)
