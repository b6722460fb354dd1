from django.contrib import admin

from kreis.mailings.models import Mailing, Recipient, SampleSend, Suppression, SuppressionSource


@admin.register(Mailing)
class MailingAdmin(admin.ModelAdmin):
    list_display = ["name", "state", "segment", "campaign", "owner", "started_at", "finished_at"]
    list_filter = ["state", "purpose"]
    search_fields = ["name", "subject"]
    raw_id_fields = ["segment", "campaign", "owner", "team"]
    readonly_fields = ["state", "started_at", "finished_at"]


@admin.register(Recipient)
class RecipientAdmin(admin.ModelAdmin):
    list_display = ["email", "mailing", "state", "skip_reason", "sent_at", "bounced_at"]
    list_filter = ["state", "skip_reason"]
    search_fields = ["email"]
    raw_id_fields = ["mailing", "party"]
    # What was sent is a record: the admin shows it and changes nothing.
    readonly_fields = [f.name for f in Recipient._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Suppression)
class SuppressionAdmin(admin.ModelAdmin):
    list_display = ["value", "is_domain", "reason", "source", "added_by", "created_at"]
    list_filter = ["is_domain", "source"]
    search_fields = ["value", "reason"]
    readonly_fields = ["added_by", "source"]

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            obj.added_by = request.user
            obj.source = SuppressionSource.ADMIN
        obj.value = obj.value.strip().lower().lstrip("@")
        obj.is_domain = "@" not in obj.value
        super().save_model(request, obj, form, change)


@admin.register(SampleSend)
class SampleSendAdmin(admin.ModelAdmin):
    list_display = ["mailing", "sent_at", "sent_by"]
    readonly_fields = ["mailing", "to", "sample_of", "sent_by", "sent_at"]
