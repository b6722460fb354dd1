"""The Django admin of two-way e-mail: accounts (passwords never shown; set through the
account page or the API), sharing rules, templates and bounce statuses. Synced messages are
read-only here and listed without their text: an administrator configures, but does not read
other people's mail."""

from __future__ import annotations

from django import forms
from django.contrib import admin

from kreis.comms.merge import validate_template
from kreis.comms.models import AddressStatus, EmailTemplate, MailAccount, SharingRule


class SharingRuleInline(admin.TabularInline):
    model = SharingRule
    extra = 0


@admin.register(MailAccount)
class MailAccountAdmin(admin.ModelAdmin):
    list_display = ("name", "email_address", "owner", "team", "is_active", "last_sync_at")
    list_filter = ("is_active", "share_mode")
    search_fields = ("name", "email_address")
    readonly_fields = ("last_sync_at", "last_error")
    inlines = [SharingRuleInline]
    exclude = ("imap_password_encrypted", "smtp_password_encrypted")


class EmailTemplateForm(forms.ModelForm):
    class Meta:
        model = EmailTemplate
        fields = ["name", "language", "subject", "body", "is_active"]

    def clean(self):
        data = super().clean()
        validate_template(subject=data.get("subject", ""), body=data.get("body", ""))
        return data


@admin.register(EmailTemplate)
class EmailTemplateAdmin(admin.ModelAdmin):
    form = EmailTemplateForm
    list_display = ("name", "language", "subject", "is_active")
    list_filter = ("language", "is_active")
    search_fields = ("name", "subject")


@admin.register(AddressStatus)
class AddressStatusAdmin(admin.ModelAdmin):
    list_display = ("address", "hard_bounced_at", "soft_bounces", "last_status", "last_bounce_at")
    search_fields = ("address",)
    list_filter = (("hard_bounced_at", admin.EmptyFieldListFilter),)
