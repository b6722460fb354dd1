"""Forms for leads: the lead itself, disqualification and conversion."""

from __future__ import annotations

from django import forms
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from kreis.core.customfields import CustomFieldsFormMixin
from kreis.core.forms import BootstrapMixin
from kreis.core.models import Team, User
from kreis.leads.models import DisqualifyReason
from kreis.parties.forms import PartyLookupField
from kreis.parties.models import PartyKind
from kreis.sales.models import Pipeline

SOURCES = [
    _("Website"),
    _("Trade fair"),
    _("Referral"),
    _("Cold call"),
    _("Campaign"),
]
# Fields whose value may reveal a duplicate: checked (HTMX) when the user leaves them.
DUPLICATE_CHECK_FIELDS = ("first_name", "last_name", "company", "email", "phone")


class OptionalPartyLookupField(PartyLookupField):
    """A party lookup that may stay empty (``None``: use the match or create one)."""

    def clean(self, value):
        if not (value or "").strip():
            return None
        return super().clean(value)


class LeadForm(CustomFieldsFormMixin, BootstrapMixin, forms.Form):
    salutation = forms.CharField(label=_("Salutation"), max_length=40, required=False)
    first_name = forms.CharField(label=_("First name"), max_length=100, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=100)
    company = forms.CharField(label=_("Company"), max_length=200, required=False)
    position = forms.CharField(label=_("Position"), max_length=120, required=False)
    email = forms.CharField(label=_("E-mail"), max_length=254, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    website = forms.URLField(label=_("Website"), required=False, assume_scheme="https")
    source = forms.CharField(label=_("Source"), max_length=100, required=False)
    referred_by = OptionalPartyLookupField(
        label=_("Referred by"),
        required=False,
        help_text=_("The existing customer who recommended this lead."),
    )
    budget = forms.DecimalField(
        label=_("Budget"), max_digits=14, decimal_places=2, min_value=0, required=False
    )
    authority = forms.CharField(
        label=_("Authority"),
        max_length=200,
        required=False,
        help_text=_("Who decides, and how?"),
    )
    need = forms.CharField(
        label=_("Need"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    timeline = forms.DateField(
        label=_("Timeline"),
        required=False,
        help_text=_("When does the lead want to decide?"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    tags = forms.CharField(
        label=_("Tags"), required=False, help_text=_("Separated by commas."), max_length=500
    )
    owner = forms.ModelChoiceField(
        label=_("Owner"), queryset=User.objects.filter(is_active=True), required=False
    )
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.all(), required=False)
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(
        self,
        *args,
        referrers,
        custom: dict | None = None,
        exclude_pk: int | None = None,
        **kw,
    ):
        super().__init__(*args, **kw)
        self.add_custom_fields("lead", initial=custom)
        # The referring party: any party the user may see, suggested while typing.
        self.fields["referred_by"].queryset = referrers
        self.fields["referred_by"].widget.attrs.update(
            {
                "list": "lead-referrer-options",
                "hx-get": reverse("leads:party_lookup"),
                "hx-target": "#lead-referrer-options",
                "hx-trigger": "input changed delay:200ms",
                "hx-swap": "innerHTML",
            }
        )
        url = reverse("leads:duplicates") + (f"?exclude={exclude_pk}" if exclude_pk else "")
        for name in DUPLICATE_CHECK_FIELDS:
            self.fields[name].widget.attrs.update(
                {
                    "data-duplicate-check": "",
                    "hx-get": url,
                    "hx-trigger": "blur changed",
                    "hx-target": "#lead-duplicates",
                    "hx-include": "[data-duplicate-check]",
                    "hx-sync": "closest form:queue last",
                }
            )
        self.fields["source"].widget.attrs["list"] = "lead-sources"
        self.fields["email"].widget.input_type = "email"
        self.fields["phone"].widget.input_type = "tel"

    def service_data(self) -> dict:
        """The cleaned data in the shape the lead services take."""
        data = {k: v for k, v in self.cleaned_data.items() if k not in self.custom_field_names()}
        data["tags"] = [t for t in (data.pop("tags") or "").split(",") if t.strip()]
        data["custom"] = self.custom_values()
        return data


class DisqualifyForm(BootstrapMixin, forms.Form):
    reason = forms.ChoiceField(label=_("Reason"), choices=[("", "—"), *DisqualifyReason.choices])
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


class ConvertForm(BootstrapMixin, forms.Form):
    person = OptionalPartyLookupField(
        label=_("Person"),
        kind=PartyKind.PERSON,
        required=False,
        help_text=_("Leave empty to use the match shown, or create a new person."),
    )
    organization = OptionalPartyLookupField(
        label=_("Organisation"),
        kind=PartyKind.ORGANIZATION,
        required=False,
        help_text=_("Leave empty to use the match shown, or create a new organisation."),
    )
    create_deal = forms.BooleanField(label=_("Open a deal"), required=False, initial=True)
    deal_name = forms.CharField(label=_("Deal name"), max_length=200, required=False)
    amount = forms.DecimalField(
        label=_("Amount"), max_digits=14, decimal_places=2, min_value=0, required=False
    )
    pipeline = forms.ModelChoiceField(
        label=_("Pipeline"),
        queryset=Pipeline.objects.filter(is_active=True),
        required=False,
        empty_label=_("Default pipeline"),
    )

    def __init__(self, *args, persons, organizations, **kwargs):
        super().__init__(*args, **kwargs)
        for name, choices, kind in (
            ("person", persons, PartyKind.PERSON),
            ("organization", organizations, PartyKind.ORGANIZATION),
        ):
            field = self.fields[name]
            field.queryset = choices
            datalist = f"convert-{name}-options"
            field.widget.attrs.update(
                {
                    "list": datalist,
                    "hx-get": f"{reverse('leads:party_lookup')}?kind={kind}",
                    "hx-target": f"#{datalist}",
                    "hx-trigger": "input changed delay:200ms",
                    "hx-swap": "innerHTML",
                }
            )
