"""Django admin of the KPI inputs (registered through ``kreis.analytics.admin``)."""

from django.contrib import admin

from kreis.analytics.kpis.models import MarketVolume, QualityCheck


@admin.register(MarketVolume)
class MarketVolumeAdmin(admin.ModelAdmin):
    list_display = ["segment", "grain", "start", "volume", "currency", "created_by", "updated_at"]
    list_filter = ["grain", "segment"]
    date_hierarchy = "start"
    search_fields = ["segment", "note"]
    raw_id_fields = ["created_by"]

    def save_model(self, request, obj, form, change):
        if obj.created_by_id is None:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(QualityCheck)
class QualityCheckAdmin(admin.ModelAdmin):
    list_display = ["date", "stage", "product", "checked_units", "defective_units", "created_by"]
    list_filter = ["stage"]
    date_hierarchy = "date"
    search_fields = ["notes", "product__name", "product__sku"]
    raw_id_fields = ["product", "created_by"]

    def save_model(self, request, obj, form, change):
        if obj.created_by_id is None:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
