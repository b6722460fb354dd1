from django.contrib import admin

from kreis.pricing.models import (
    DiscountApproval,
    DiscountRule,
    PriceList,
    PriceListItem,
    PricingSettings,
    Quote,
    QuoteLine,
    RepDiscountLimit,
)


class PriceListItemInline(admin.TabularInline):
    model = PriceListItem
    extra = 0
    autocomplete_fields = ["product"]


@admin.register(PriceList)
class PriceListAdmin(admin.ModelAdmin):
    list_display = ["name", "currency", "segment", "channel", "valid_from", "valid_to", "is_active"]
    list_filter = ["is_active", "currency", "channel"]
    search_fields = ["name"]
    inlines = [PriceListItemInline]


@admin.register(DiscountRule)
class DiscountRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "percent", "abc_class", "segment", "min_quantity", "is_active"]
    list_filter = ["is_active", "abc_class"]
    search_fields = ["name"]


@admin.register(PricingSettings)
class PricingSettingsAdmin(admin.ModelAdmin):
    list_display = ["__str__", "default_discount_limit", "quote_valid_days", "link_valid_days"]


@admin.register(RepDiscountLimit)
class RepDiscountLimitAdmin(admin.ModelAdmin):
    list_display = ["user", "limit_percent"]


class QuoteLineInline(admin.TabularInline):
    model = QuoteLine
    extra = 0
    can_delete = False
    readonly_fields = [
        "position",
        "product",
        "description",
        "quantity",
        "unit_price",
        "price_source",
        "rule_percent",
        "discount_percent",
        "net",
    ]
    exclude = ["price_list", "discount_rule"]


class ApprovalInline(admin.TabularInline):
    model = DiscountApproval
    extra = 0
    can_delete = False
    readonly_fields = [
        "requested_discount",
        "limit_percent",
        "reason",
        "requested_by",
        "requested_at",
        "status",
        "decided_by",
        "decided_at",
        "decision_note",
    ]


@admin.register(Quote)
class QuoteAdmin(admin.ModelAdmin):
    """Read-only here: state changes go through the quote services (the page and the API)."""

    list_display = ["__str__", "deal", "party", "state", "net_total", "currency", "valid_until"]
    list_filter = ["state", "language"]
    search_fields = ["number", "deal__name", "party__name"]
    inlines = [QuoteLineInline, ApprovalInline]
    readonly_fields = [f.name for f in Quote._meta.fields if f.name not in ("id",)]

    def has_add_permission(self, request):
        return False


@admin.register(DiscountApproval)
class DiscountApprovalAdmin(admin.ModelAdmin):
    list_display = [
        "deal",
        "quote",
        "requested_discount",
        "limit_percent",
        "requested_by",
        "status",
        "decided_by",
    ]
    list_filter = ["status"]
    readonly_fields = [f.name for f in DiscountApproval._meta.fields if f.name != "id"]

    def has_add_permission(self, request):
        return False
