"""Connectors in the Django admin, checked as the app's connector form checks them."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from kreis.migration.connectors import services
from kreis.migration.models import Connector


class ConnectorAdminForm(forms.ModelForm):
    class Meta:
        model = Connector
        fields = [*services.FIELDS]

    def _post_clean(self) -> None:
        super()._post_clean()  # the form's values are on the instance now
        if self.errors:
            return
        try:
            services.connector_check(self.instance)
        except ValidationError as exc:
            self._update_errors(exc)


@admin.register(Connector)
class ConnectorAdmin(admin.ModelAdmin):
    form = ConnectorAdminForm
    list_display = [
        "name",
        "kind",
        "entity",
        "schedule_hour",
        "enabled",
        "last_run_at",
        "last_status",
    ]
    list_filter = ["kind", "entity", "enabled"]
    search_fields = ["name", "location"]
    readonly_fields = ["last_run_at", "last_status", "running_since", "created_at"]
    autocomplete_fields = ["run_as"]
    list_select_related = ["template"]
