"""The complaint settings in the Django admin: one row (``ServiceSettings``), edited in place."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from kreis.service.models import ServiceSettings
from kreis.service.public_form.forms import ServiceSettingsAdminForm


@admin.register(ServiceSettings)
class ServiceSettingsAdmin(admin.ModelAdmin):
    """The one settings row: no second one, no delete; the list goes straight to the row."""

    form = ServiceSettingsAdminForm
    fieldsets = [
        (
            _("Public complaint form"),
            {
                "fields": [
                    "form_enabled",
                    "form_allowed_origins",
                    "form_category",
                    "form_min_seconds",
                    "form_posts_per_hour",
                ],
                "description": _(
                    "The snippets to embed the form on a website are on the page "
                    "Cases → Public form."
                ),
            },
        ),
        (_("Processing"), {"fields": ["hourly_rate", "rating_link_days"]}),
    ]

    def has_add_permission(self, request) -> bool:
        return not ServiceSettings.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        row = ServiceSettings.load()
        return redirect(reverse("admin:service_servicesettings_change", args=[row.pk]))
