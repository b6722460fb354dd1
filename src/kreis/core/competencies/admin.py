"""Sales competencies in the Django admin (imported by ``kreis.core.admin``)."""

from django.contrib import admin

from kreis.core.competencies.models import Competency, UserCompetency


class HolderInline(admin.TabularInline):
    model = UserCompetency
    fk_name = "competency"
    extra = 0
    autocomplete_fields = ["user"]
    readonly_fields = ["updated_at", "updated_by"]


@admin.register(Competency)
class CompetencyAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "key", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "key", "description"]
    inlines = [HolderInline]


@admin.register(UserCompetency)
class UserCompetencyAdmin(admin.ModelAdmin):
    list_display = ["user", "competency", "level", "updated_at"]
    list_filter = ["competency__kind", "level", "competency"]
    list_select_related = ["user", "competency"]
    search_fields = ["user__username", "user__last_name", "competency__name"]
    autocomplete_fields = ["user"]
    readonly_fields = ["updated_at", "updated_by"]
