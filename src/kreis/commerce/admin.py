from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from kreis.commerce.models import Product, Transaction, TransactionLine


@admin.register(Product)
class ProductAdmin(SimpleHistoryAdmin):
    list_display = ["sku", "name", "category", "list_price", "unit_cost", "currency", "is_active"]
    list_filter = ["is_active", "category", "currency"]
    search_fields = ["sku", "name"]


class TransactionLineInline(admin.TabularInline):
    """Lines are shown, not edited, here: the app's form keeps costs and sums exact."""

    model = TransactionLine
    extra = 0
    fields = ["product", "description", "quantity", "unit_price", "discount", "net_revenue", "cost"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Transaction)
class TransactionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "kind", "party", "date", "net_revenue", "cost", "owner", "team"]
    list_filter = ["kind", "channel", "team", "deleted_at"]
    search_fields = ["number", "external_id", "party__name"]
    date_hierarchy = "date"
    autocomplete_fields = ["party", "owner"]
    readonly_fields = ["net_revenue", "cost", "created_at", "updated_at"]
    list_select_related = ["party", "owner", "team"]
    inlines = [TransactionLineInline]
