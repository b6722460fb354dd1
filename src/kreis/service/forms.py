"""Forms of the staff side: a new case (phone, personal, letter …), replies and notes,
transitions and assignment."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from kreis.activities.forms import OptionalPartyLookupField
from kreis.commerce.models import Product
from kreis.core.forms import BootstrapMixin
from kreis.core.models import Team, User
from kreis.service.models import CaseCategory, Channel, RootCause, Severity

LOOKUP_OPTIONS = "case-party-options"


def _wire_lookup(field: forms.Field) -> None:
    field.widget.attrs.update(
        {
            "list": LOOKUP_OPTIONS,
            "hx-get": reverse("activities:party_lookup"),
            "hx-target": f"#{LOOKUP_OPTIONS}",
            "hx-trigger": "input changed delay:200ms",
            "hx-swap": "innerHTML",
        }
    )


class CaseForm(BootstrapMixin, forms.Form):
    party = OptionalPartyLookupField(
        label=_("Customer"),
        required=False,
        help_text=_("Pick a known customer, or give the sender's details below."),
    )
    sender_name = forms.CharField(label=_("Sender's name"), max_length=200, required=False)
    sender_email = forms.CharField(label=_("Sender's e-mail"), max_length=254, required=False)
    sender_phone = forms.CharField(label=_("Sender's phone"), max_length=40, required=False)
    create_new_party = forms.BooleanField(
        label=_("This is a new customer (despite similar names)"), required=False
    )
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices, initial=Channel.PHONE)
    category = forms.ModelChoiceField(label=_("Category"), queryset=CaseCategory.objects.none())
    severity = forms.ChoiceField(
        label=_("Severity"), choices=Severity.choices, initial=Severity.MEDIUM
    )
    product = forms.ModelChoiceField(
        label=_("Product"), queryset=Product.objects.none(), required=False
    )
    region = forms.CharField(label=_("Region"), max_length=100, required=False)
    subject = forms.CharField(label=_("Subject"), max_length=200)
    description = forms.CharField(label=_("Description"), widget=forms.Textarea, required=False)
    language = forms.ChoiceField(label=_("Customer's language"), choices=settings.LANGUAGES)

    field_order = [
        "party",
        "sender_name",
        "sender_email",
        "sender_phone",
        "create_new_party",
        "subject",
        "description",
        "category",
        "severity",
        "channel",
        "product",
        "region",
        "language",
    ]

    def __init__(self, *args, parties, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["party"].queryset = parties
        _wire_lookup(self.fields["party"])
        self.fields["category"].queryset = CaseCategory.objects.filter(is_active=True)
        self.fields["product"].queryset = Product.objects.filter(is_active=True).order_by("name")
        self.fields["description"].widget.attrs["rows"] = 4

    def clean(self):
        data = super().clean()
        if not data.get("party") and not (data.get("sender_name") or "").strip():
            if not self.errors.get("party"):
                self.add_error("sender_name", _("Pick the customer, or give the sender's name."))
        return data

    def service_data(self) -> dict:
        data = dict(self.cleaned_data)
        if data.get("party") is not None:
            for key in ("sender_name", "sender_email", "sender_phone", "create_new_party"):
                data.pop(key)
        return data


class MessageForm(BootstrapMixin, forms.Form):
    body = forms.CharField(label=_("Text"), widget=forms.Textarea(attrs={"rows": 3}))


class TransitionForm(BootstrapMixin, forms.Form):
    to_status = forms.CharField(widget=forms.HiddenInput)
    note = forms.CharField(label=_("Note"), max_length=500, required=False)
    root_cause = forms.ModelChoiceField(
        label=_("Root cause"), queryset=RootCause.objects.none(), required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["root_cause"].queryset = RootCause.objects.filter(is_active=True)


class AssignForm(BootstrapMixin, forms.Form):
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=User.objects.none())
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.none(), required=False)

    def __init__(self, *args, users, teams, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = users
        self.fields["team"].queryset = teams
