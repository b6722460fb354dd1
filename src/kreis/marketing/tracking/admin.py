"""Website visitors and page visits in the Django admin: to look up and delete (a visitor's
data on request), never to invent — visits come only from the consented snippet."""

from django.contrib import admin

from kreis.marketing.models import PageVisit, Visitor


class PageVisitInline(admin.TabularInline):
    model = PageVisit
    extra = 0
    can_delete = True
    fields = ["at", "path", "title", "referrer", "utm_source", "utm_campaign"]
    readonly_fields = fields
    ordering = ["-at"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Visitor)
class VisitorAdmin(admin.ModelAdmin):
    list_display = ["__str__", "lead", "party", "consented_at", "first_seen", "last_seen"]
    list_filter = ["last_seen"]
    search_fields = ["uid", "lead__last_name", "lead__email", "party__name"]
    readonly_fields = ["uid", "consented_at", "first_seen", "last_seen"]
    raw_id_fields = ["lead", "party"]
    inlines = [PageVisitInline]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(PageVisit)
class PageVisitAdmin(admin.ModelAdmin):
    list_display = ["at", "path", "title", "visitor", "lead", "party", "utm_source"]
    list_filter = ["at", "utm_source"]
    search_fields = ["path", "title", "url", "referrer"]
    readonly_fields = [f.name for f in PageVisit._meta.concrete_fields]
    date_hierarchy = "at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
