"""Forms for organisations and persons: the core fields, contact data one per line."""

from __future__ import annotations

import re

from django import forms
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from kreis.core.customfields import CustomFieldsFormMixin
from kreis.core.forms import BootstrapMixin
from kreis.core.models import Team, User
from kreis.parties.models import AddressKind, CompanySize, PartyKind, PartyRole, RelationshipType

LINES_HELP = _("One per line.")


class PartyForm(CustomFieldsFormMixin, BootstrapMixin, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200, required=False)
    salutation = forms.CharField(label=_("Salutation"), max_length=40, required=False)
    first_name = forms.CharField(label=_("First name"), max_length=100, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=100, required=False)
    roles = forms.MultipleChoiceField(
        label=_("Roles"),
        choices=PartyRole.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    emails = forms.CharField(
        label=_("E-mail addresses"),
        required=False,
        help_text=LINES_HELP,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    phones = forms.CharField(
        label=_("Phone numbers"),
        required=False,
        help_text=LINES_HELP,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    street = forms.CharField(label=_("Street"), max_length=200, required=False)
    postal_code = forms.CharField(label=_("Postal code"), max_length=20, required=False)
    city = forms.CharField(label=_("City"), max_length=100, required=False)
    country = forms.CharField(label=_("Country (ISO code)"), max_length=2, initial="DE")
    address_kind = forms.ChoiceField(
        label=_("Address type"), choices=AddressKind.choices, initial=AddressKind.OFFICE
    )
    industry = forms.CharField(label=_("Industry"), max_length=100, required=False)
    size = forms.ChoiceField(
        label=_("Size"), choices=[("", "—"), *CompanySize.choices], required=False
    )
    website = forms.URLField(label=_("Website"), required=False, assume_scheme="https")
    vat_id = forms.CharField(label=_("VAT ID"), max_length=20, required=False)
    iban = forms.CharField(label=_("IBAN"), max_length=34, required=False)
    source = forms.CharField(label=_("Source"), max_length=100, required=False)
    territory = forms.CharField(label=_("Territory"), max_length=100, required=False)
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
    purchasing_potential = forms.DecimalField(
        label=_("Purchasing potential per year"),
        required=False,
        min_value=0,
        max_digits=14,
        decimal_places=2,
        help_text=_("What the customer buys per year from all suppliers (for share of wallet)."),
    )
    termination_announced = forms.BooleanField(label=_("Termination announced"), required=False)
    contract_end = forms.DateField(
        label=_("Contract end"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    ORGANIZATION_ONLY = ("name", "industry", "size", "vat_id")
    PERSON_ONLY = ("salutation", "first_name", "last_name")

    def __init__(self, *args, kind: str, custom: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_custom_fields("party", initial=custom)
        drop = self.PERSON_ONLY if kind == PartyKind.ORGANIZATION else self.ORGANIZATION_ONLY
        for name in drop:
            del self.fields[name]
        if kind == PartyKind.ORGANIZATION:
            self.fields["name"].required = True
        self.fields["country"].widget.attrs["class"] += " text-uppercase"

    def service_data(self) -> dict:
        """The cleaned data in the shape the party services take."""
        data = {k: v for k, v in self.cleaned_data.items() if k not in self.custom_field_names()}
        lines = lambda key: [x.strip() for x in data.pop(key, "").splitlines() if x.strip()]  # noqa: E731
        address = {k: data.pop(k) for k in ("street", "postal_code", "city", "country")}
        address["kind"] = data.pop("address_kind")
        result = {
            **data,
            "emails": [{"value": v} for v in lines("emails")],
            "phones": [{"value": v} for v in lines("phones")],
            "tags": [t for t in (data.pop("tags") or "").split(",") if t.strip()],
            "address": address if address["street"] or address["city"] else None,
            "custom": self.custom_values(),
        }
        return result


class PartyLookupField(forms.CharField):
    """Type a name, pick from the suggestions (“Name (#42)”); resolves to a visible party.

    Suggestions come from ``/parties/lookup/`` while typing, so a page never lists all parties.
    """

    def __init__(self, *, kind: str = "", **kwargs):
        super().__init__(max_length=250, **kwargs)
        self.queryset = None
        self.kind = kind

    def widget_attrs(self, widget):
        attrs = super().widget_attrs(widget)
        attrs.update({"autocomplete": "off", "placeholder": _("Type a name …")})
        return attrs

    def clean(self, value):
        value = super().clean(value)
        match = re.search(r"#(\d+)\)?\s*$", value or "")
        party = self.queryset.filter(pk=int(match.group(1))).first() if match else None
        if party is None:
            raise forms.ValidationError(_("Choose a party from the suggestions."))
        return party


class EmploymentForm(BootstrapMixin, forms.Form):
    other = PartyLookupField(label=_("Organisation"))
    position = forms.CharField(label=_("Position"), max_length=120, required=False)
    department = forms.CharField(label=_("Department"), max_length=120, required=False)
    is_primary_contact = forms.BooleanField(label=_("Primary contact"), required=False)

    def __init__(self, *args, choices, other_label, kind="", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["other"].queryset = choices
        self.fields["other"].label = other_label
        _lookup(self.fields["other"], "employment-options", kind)


class RelationshipForm(BootstrapMixin, forms.Form):
    type = forms.ChoiceField(label=_("Relationship"), choices=RelationshipType.choices)
    target = PartyLookupField(label=_("Party"))
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def __init__(self, *args, choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target"].queryset = choices
        _lookup(self.fields["target"], "relationship-options", "")


def _lookup(field: forms.Field, datalist_id: str, kind: str) -> None:
    """Wire a lookup field to its suggestion list (HTMX fills the datalist while typing)."""
    url = reverse("parties:lookup") + (f"?kind={kind}" if kind else "")
    field.widget.attrs.update(
        {
            "list": datalist_id,
            "hx-get": url,
            "hx-target": f"#{datalist_id}",
            "hx-trigger": "input changed delay:200ms",
            "hx-swap": "innerHTML",
        }
    )


class MergeChooseForm(BootstrapMixin, forms.Form):
    other = PartyLookupField(label=_("Merge with"))

    def __init__(self, *args, choices, kind: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["other"].queryset = choices
        _lookup(self.fields["other"], "merge-options", kind)
