"""Content offers, their download links and the follow-up rules in the Django admin. An
uploaded file is checked as on marketing's page (size, type by content)."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from kreis.marketing.models import ContentDownload, ContentOffer, FollowUpRule, FollowUpSent
from kreis.marketing.offers import services


class ContentOfferAdminForm(forms.ModelForm):
    class Meta:
        model = ContentOffer
        fields = [
            "name",
            "description",
            "language",
            "topic",
            "position",
            "file",
            "form",
            "campaign",
            "is_active",
        ]

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if upload is not None and "file" in self.changed_data:
            try:
                self.instance.content_type = services.file_type(upload)
            except ValidationError as exc:
                raise ValidationError(exc.message_dict["file"]) from None
            self.instance.filename = services.clean_filename(upload.name)
            self.instance.size = upload.size
        return upload


@admin.register(ContentOffer)
class ContentOfferAdmin(admin.ModelAdmin):
    form = ContentOfferAdminForm
    list_display = ["name", "language", "topic", "position", "form", "campaign", "is_active"]
    list_filter = ["is_active", "language", "topic"]
    search_fields = ["name", "description", "topic"]
    raw_id_fields = ["form", "campaign"]

    def save_model(self, request, obj, form, change) -> None:
        if obj.created_by_id is None:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(ContentDownload)
class ContentDownloadAdmin(admin.ModelAdmin):
    list_display = ["offer", "lead", "party", "created_at", "expires_at", "download_count"]
    list_filter = ["offer"]
    raw_id_fields = ["offer", "lead", "party", "submission"]
    readonly_fields = ["token_hash", "created_at", "downloaded_at", "download_count"]

    def has_add_permission(self, request) -> bool:
        return False  # a link is only useful when its token is handed to somebody


class FollowUpRuleAdminForm(forms.ModelForm):
    class Meta:
        model = FollowUpRule
        fields = [
            "name",
            "trigger",
            "min_score",
            "path_contains",
            "visit_count",
            "within_days",
            "offer",
            "is_active",
        ]

    def clean(self):
        data = super().clean()
        for field, error in services.rule_problems(
            trigger=data.get("trigger", ""),
            min_score=data.get("min_score"),
            path_contains=data.get("path_contains", ""),
        ).items():
            self.add_error(field, error)
        return data


@admin.register(FollowUpRule)
class FollowUpRuleAdmin(admin.ModelAdmin):
    form = FollowUpRuleAdminForm
    list_display = ["name", "trigger", "min_score", "path_contains", "visit_count", "offer"]
    list_filter = ["trigger", "is_active"]
    raw_id_fields = ["offer"]


@admin.register(FollowUpSent)
class FollowUpSentAdmin(admin.ModelAdmin):
    list_display = ["sent_at", "lead", "offer", "rule", "reason"]
    raw_id_fields = ["lead", "offer", "rule"]
    readonly_fields = ["sent_at", "reason"]

    def has_add_permission(self, request) -> bool:
        return False
