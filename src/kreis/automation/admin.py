from django.contrib import admin
from django.db import models

from kreis.automation import subscribers
from kreis.automation.models import WebhookDelivery, WebhookSubscription


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    """Administrators may allow a private target here too (``allow_private_target``); the URL
    is checked against the guard when the subscription next sends."""

    list_display = ["name", "owner", "target_url", "enabled", "failure_streak", "created_at"]
    list_filter = ["enabled", "allow_private_target"]
    search_fields = ["name", "target_url", "owner__username"]
    autocomplete_fields = ["owner"]
    readonly_fields = ["failure_streak", "failing_since", "created_at", "updated_at"]
    exclude = ["secret", "previous_secret", "previous_secret_until"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        subscribers.changed()

    def delete_model(self, request, obj) -> None:
        super().delete_model(request, obj)
        subscribers.changed()


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "webhook_id",
        "event_type",
        "subscription",
        "status",
        "attempts",
        "response_code",
        "created_at",
    ]
    list_filter = ["status", "event_type"]
    search_fields = ["webhook_id", "subscription__name"]
    list_select_related = ["subscription"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


# The automation rules' admin lives with the rules.
from kreis.automation.rules import admin as rules_admin  # noqa: E402, F401
