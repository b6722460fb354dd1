"""Admin of a case's tasks, supplier requests and costs (registered by kreis.service.admin).
A cost saved or deleted here goes through the services, so its CM III cost entry follows."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from kreis.service.models import CaseCost, CaseTask, CostKind, SupplierRequest
from kreis.service.processing import services


@admin.register(CaseTask)
class CaseTaskAdmin(admin.ModelAdmin):
    list_display = ["case", "activity"]
    search_fields = ["case__number", "activity__subject"]
    raw_id_fields = ["case", "activity"]
    list_select_related = ["case", "activity"]


@admin.register(SupplierRequest)
class SupplierRequestAdmin(admin.ModelAdmin):
    list_display = ["case", "supplier", "status", "sent_to", "sent_at", "answered_at"]
    list_filter = ["status"]
    search_fields = ["case__number", "supplier__name", "message", "answer"]
    raw_id_fields = ["case", "supplier"]
    list_select_related = ["case", "supplier"]
    readonly_fields = ["sent_to", "sent_by", "sent_at", "answered_at", "answer_recorded_by"]
    date_hierarchy = "sent_at"


class CaseCostAdminForm(forms.ModelForm):
    class Meta:
        model = CaseCost
        fields = ["case", "kind", "date", "amount", "hours", "hourly_rate", "note"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["amount"].required = False
        self.fields["amount"].help_text = _(
            "For goodwill and replacement; handling time is hours × the hourly rate."
        )

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if kind == CostKind.HANDLING:
            data["amount"] = None
        try:
            values = services._cost_values(
                kind=kind,
                amount=data.get("amount"),
                hours=data.get("hours") if kind == CostKind.HANDLING else None,
                hourly_rate=data.get("hourly_rate") if kind == CostKind.HANDLING else None,
                date=data.get("date"),
            )
        except ValidationError as exc:
            raise ValidationError(exc.messages) from exc
        self.instance.amount = values["amount"]
        data["amount"] = values["amount"]
        return data


@admin.register(CaseCost)
class CaseCostAdmin(admin.ModelAdmin):
    form = CaseCostAdminForm
    list_display = ["case", "kind", "date", "amount", "hours", "hourly_rate", "cost_entry"]
    list_filter = ["kind"]
    search_fields = ["case__number", "note"]
    raw_id_fields = ["case"]
    list_select_related = ["case", "cost_entry"]
    readonly_fields = ["cost_entry", "created_by", "created_at"]
    date_hierarchy = "date"

    def save_model(self, request, obj, form, change) -> None:
        values = {
            "kind": obj.kind,
            "date": obj.date,
            "amount": obj.amount if obj.kind != CostKind.HANDLING else None,
            "hours": obj.hours if obj.kind == CostKind.HANDLING else None,
            "hourly_rate": obj.hourly_rate if obj.kind == CostKind.HANDLING else None,
            "note": obj.note,
        }
        if change:
            services.case_cost_update(actor=request.user, cost=obj, **values)
        else:
            created = services.case_cost_create(actor=request.user, case=obj.case, **values)
            obj.pk = created.pk
            obj.cost_entry = created.cost_entry

    def delete_model(self, request, obj) -> None:
        services.case_cost_delete(actor=request.user, cost=obj)

    def delete_queryset(self, request, queryset) -> None:
        for cost in queryset.select_related("case", "cost_entry"):
            services.case_cost_delete(actor=request.user, cost=cost)
