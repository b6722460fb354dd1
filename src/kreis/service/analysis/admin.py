"""Admin of the complaint reports: subscriptions (administrators subscribe users) and the
archive of sent reports (read only). Imported by ``kreis.service.admin``."""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from kreis.service.analysis.figures import may_receive_reports
from kreis.service.models import ComplaintReport, ReportSubscription


class ReportSubscriptionForm(forms.ModelForm):
    class Meta:
        model = ReportSubscription
        fields = ["user", "frequency", "is_active"]

    def clean_user(self):
        user = self.cleaned_data["user"]
        if user is not None and not may_receive_reports(user):
            raise forms.ValidationError(
                _(
                    "The report covers every case: only administrators and sales managers "
                    "can receive it."
                )
            )
        return user


@admin.register(ReportSubscription)
class ReportSubscriptionAdmin(admin.ModelAdmin):
    form = ReportSubscriptionForm
    list_display = ["user", "frequency", "is_active", "last_sent_at"]
    list_filter = ["frequency", "is_active"]
    search_fields = ["user__username", "user__email", "user__last_name"]
    autocomplete_fields = ["user"]
    list_select_related = ["user"]
    readonly_fields = ["last_sent_at"]


@admin.register(ComplaintReport)
class ComplaintReportAdmin(admin.ModelAdmin):
    """Written by the report job and ``kreis cases report --send`` only."""

    list_display = ["period_start", "period_end", "frequency", "language", "sent_to", "created_at"]
    list_filter = ["frequency", "language"]
    date_hierarchy = "period_end"
    exclude = ["pdf"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("pdf")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
