"""Django admin of the rules: the same checks as the form and the API (``spec.clean_rule``)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from kreis.automation.rules import capture, spec
from kreis.automation.rules.models import Rule, RuleRun


class RuleAdminForm(forms.ModelForm):
    class Meta:
        model = Rule
        fields = [
            "name",
            "description",
            "enabled",
            "trigger",
            "record_type",
            "trigger_config",
            "match",
            "conditions",
            "actions",
        ]

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            cleaned = spec.clean_rule({key: data.get(key) for key in self.Meta.fields})
        except ValidationError as exc:
            raise ValidationError(exc.messages) from exc
        data.update(cleaned)
        return data


@admin.register(Rule)
class RuleAdmin(admin.ModelAdmin):
    form = RuleAdminForm
    list_display = ["name", "trigger", "record_type", "enabled", "updated_at"]
    list_filter = ["enabled", "trigger", "record_type"]
    search_fields = ["name", "description"]

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
        capture.changed()

    def delete_model(self, request, obj) -> None:
        super().delete_model(request, obj)
        capture.changed()


@admin.register(RuleRun)
class RuleRunAdmin(admin.ModelAdmin):
    list_display = ["started_at", "rule", "trigger", "record_type", "record_id", "status", "depth"]
    list_filter = ["status", "trigger"]
    search_fields = ["rule__name", "chain_id", "record_label"]
    list_select_related = ["rule"]
    readonly_fields = [f.name for f in RuleRun._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
