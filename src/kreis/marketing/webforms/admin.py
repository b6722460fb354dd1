"""Web forms and their submissions in the Django admin (the builder is /marketing/forms/);
a form's fields, consents and origins are checked by the same rules as in the builder."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from kreis.marketing.models import FormSubmission, LeadForm, SubmissionOutcome
from kreis.marketing.webforms import tasks
from kreis.marketing.webforms.services import clean_definition


class LeadFormAdminForm(forms.ModelForm):
    class Meta:
        model = LeadForm
        fields = "__all__"  # noqa: DJ007 (the admin edits every field)

    def clean(self):
        data = super().clean()
        try:
            fields, purposes, origins = clean_definition(
                fields=data.get("fields"),
                consent_purposes=data.get("consent_purposes") or [],
                allowed_origins=data.get("allowed_origins") or "",
                redirect_url=data.get("redirect_url") or "",
            )
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                self.add_error(field if field in self.fields else None, messages)
        else:
            data |= {"fields": fields, "consent_purposes": purposes, "allowed_origins": origins}
        return data


@admin.register(LeadForm)
class LeadFormAdmin(admin.ModelAdmin):
    form = LeadFormAdminForm
    list_display = ("name", "key", "language", "campaign", "lead_source", "is_active", "updated_at")
    list_filter = ("is_active", "language")
    search_fields = ("name", "key", "title")
    raw_id_fields = ("owner", "campaign")
    readonly_fields = ("created_at", "updated_at")


@admin.register(FormSubmission)
class FormSubmissionAdmin(admin.ModelAdmin):
    list_display = (
        "form",
        "created_at",
        "outcome",
        "processed_at",
        "attempts",
        "lead",
        "party",
        "campaign",
        "utm_source",
    )
    list_filter = ("outcome", "form")
    raw_id_fields = ("lead", "party", "campaign", "form")
    readonly_fields = ("created_at", "processed_at", "attempts", "error", "intake_key", "payload")
    date_hierarchy = "created_at"
    actions = ["process_again"]

    @admin.action(description=_("Process the failed submissions again"))
    def process_again(self, request, queryset):
        again = 0
        for submission in queryset.filter(outcome=SubmissionOutcome.FAILED):
            tasks.retry(actor=request.user, submission=submission)
            again += 1
        self.message_user(
            request,
            ngettext(
                "%(n)d submission is being processed again.",
                "%(n)d submissions are being processed again.",
                again,
            )
            % {"n": again},
        )
