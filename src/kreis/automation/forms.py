"""The webhook subscription form (the private-target permission only for administrators)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kreis.automation.models import WebhookEvent
from kreis.core.forms import BootstrapMixin
from kreis.marketing.segments.queries import segment_list_for_user


class SubscriptionForm(BootstrapMixin, forms.Form):
    name = forms.CharField(
        label=_("Name"), max_length=100, help_text=_("What the webhook is for, e.g. “ERP sync”.")
    )
    target_url = forms.CharField(  # checked by the SSRF guard in the service
        label=_("Target URL"),
        max_length=500,
        help_text=_("Kreis sends a signed POST request here for every event you choose."),
        widget=forms.URLInput(attrs={"placeholder": "https://", "inputmode": "url"}),
    )
    events = forms.MultipleChoiceField(
        label=_("Events"), choices=WebhookEvent.choices, widget=forms.CheckboxSelectMultiple
    )
    segment = forms.ModelChoiceField(
        label=_("Only for the segment"),
        queryset=None,
        required=False,
        empty_label=_("All records"),
        help_text=_(
            "Only events about the segment's members: a party's own events and those of its "
            "deals, activities, transactions and converted leads."
        ),
    )
    enabled = forms.BooleanField(label=_("Enabled"), required=False, initial=True)
    allow_private_target = forms.BooleanField(
        label=_("Allow a private or local target"),
        required=False,
        help_text=_(
            "Only for this exact URL, e.g. a receiver on this machine or in the office "
            "network. Changing the URL withdraws the permission."
        ),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        if not user.is_admin:
            del self.fields["allow_private_target"]
        segments = segment_list_for_user(user=user)
        if segments.exists():
            self.fields["segment"].queryset = segments
        else:  # who does not see lead management picks no segment
            del self.fields["segment"]
