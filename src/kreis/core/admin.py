from django.conf import settings
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from kreis.core.models import (
    ApiKey,
    CustomField,
    Membership,
    Notification,
    SavedView,
    Team,
    User,
    WorkerHeartbeat,
)


def admin_login(request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
    """The admin site signs in through the app's login (allauth), never through its own form.

    Django's admin login checks the password by itself: no throttling, no second factor. Here
    it only sends the visitor to the app's login, which throttles failed attempts and asks for
    the TOTP code; the session exists only after both steps, so the admin is reached with a
    fully authenticated session or not at all."""
    if request.user.is_authenticated:
        if admin.site.has_permission(request):
            return redirect("admin:index")
        raise PermissionDenied  # signed in, but not staff: a loop back to the login helps no one
    return redirect_to_login(
        request.GET.get("next") or reverse("admin:index"), login_url=settings.LOGIN_URL
    )


admin.site.login = admin_login  # type: ignore[method-assign]


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "first_name", "last_name", "email", "role", "is_active"]
    list_filter = ["role", "is_active", "teams"]
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        (_("Kreis"), {"fields": ("role", "language", "job_title", "phone")}),
    )


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at"]
    search_fields = ["name"]
    inlines = [MembershipInline]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "prefix", "scope", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["scope"]
    readonly_fields = ["prefix", "created_at", "last_used_at"]
    exclude = ["key_hash"]

    def has_add_permission(self, request) -> bool:
        return False  # keys are created by their user, who sees the key once


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["title", "user", "level", "created_at", "read_at"]
    list_filter = ["level"]


@admin.register(CustomField)
class CustomFieldAdmin(admin.ModelAdmin):
    list_display = ["label", "key", "entity", "type", "required", "is_active", "position"]
    list_filter = ["entity", "type", "is_active"]
    search_fields = ["label", "key"]


@admin.register(SavedView)
class SavedViewAdmin(admin.ModelAdmin):
    list_display = ["name", "list_name", "user", "created_at"]
    list_filter = ["list_name"]
    search_fields = ["name", "user__username"]


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    """The job workers and their heartbeats: read only (the workers write them)."""

    list_display = ["name", "embedded", "started_at", "beat_at", "stopped_at"]
    list_filter = ["embedded"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


import kreis.core.competencies.admin  # noqa: E402,F401  (sales competencies)
