"""Forms for products and transactions; a transaction's lines are a formset."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from kreis.commerce.models import TransactionKind
from kreis.core.forms import BootstrapMixin
from kreis.core.models import Team, User
from kreis.parties.forms import PartyLookupField

MONEY_FIELD = {"max_digits": 12, "decimal_places": 2, "min_value": Decimal("0"), "localize": True}


class ProductForm(BootstrapMixin, forms.Form):
    sku = forms.CharField(label=_("SKU"), max_length=40)
    name = forms.CharField(label=_("Name"), max_length=200)
    category = forms.CharField(label=_("Category"), max_length=100, required=False)
    unit = forms.CharField(
        label=_("Unit"), max_length=20, initial="pc", help_text=_("e.g. pc, h, kg, license")
    )
    list_price = forms.DecimalField(label=_("List price"), **MONEY_FIELD)
    unit_cost = forms.DecimalField(
        label=_("Unit cost"),
        initial=Decimal("0"),
        help_text=_("Variable cost per unit; new transactions take the cost valid on their date."),
        **MONEY_FIELD,
    )
    currency = forms.CharField(label=_("Currency"), max_length=3, initial=settings.KREIS_CURRENCY)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    is_active = forms.BooleanField(label=_("Active (can be sold)"), required=False, initial=True)

    def __init__(self, *args, categories: list[str] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].widget.attrs["list"] = "product-categories"
        self.categories = categories
        for name in ("list_price", "unit_cost"):
            self.fields[name].widget.attrs["inputmode"] = "decimal"
        self.fields["currency"].widget.attrs["class"] += " text-uppercase"


class ProductSelect(forms.Select):
    """Options carry the product's list price and name, so choosing one fills the line."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        product = getattr(value, "instance", None)
        if product is not None:
            option["attrs"]["data-price"] = str(product.list_price)
            option["attrs"]["data-name"] = product.name
        return option


class TransactionForm(BootstrapMixin, forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind"), choices=TransactionKind.choices, initial=TransactionKind.INVOICE
    )
    party = PartyLookupField(label=_("Customer"))
    date = forms.DateField(
        label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    number = forms.CharField(label=_("Number"), max_length=40, required=False)
    currency = forms.CharField(label=_("Currency"), max_length=3, initial=settings.KREIS_CURRENCY)
    channel = forms.CharField(
        label=_("Channel"),
        max_length=40,
        required=False,
        help_text=_("e.g. field, direct, online, partner"),
    )
    note = forms.CharField(label=_("Note"), max_length=500, required=False)
    owner = forms.ModelChoiceField(
        label=_("Owner"),
        queryset=User.objects.filter(is_active=True),
        required=False,
        empty_label=_("— as the customer —"),
    )
    team = forms.ModelChoiceField(
        label=_("Team"),
        queryset=Team.objects.all(),
        required=False,
        empty_label=_("— as the customer —"),
    )

    def __init__(self, *args, parties, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["party"].queryset = parties
        if editing:
            self.fields["owner"].empty_label = self.fields["team"].empty_label = "—"
        self.fields["party"].widget.attrs.update(
            {
                "list": "party-options",
                "hx-get": reverse("commerce:party_lookup"),
                "hx-target": "#party-options",
                "hx-trigger": "input changed delay:200ms",
                "hx-swap": "innerHTML",
            }
        )
        self.fields["currency"].widget.attrs["class"] += " text-uppercase"


class LineForm(BootstrapMixin, forms.Form):
    product = forms.ModelChoiceField(
        label=_("Product"), queryset=None, required=False, widget=ProductSelect
    )
    description = forms.CharField(label=_("Text"), max_length=200, required=False)
    quantity = forms.DecimalField(
        label=_("Quantity"), max_digits=12, decimal_places=3, required=False, localize=True
    )
    unit_price = forms.DecimalField(
        label=_("Unit price"),
        required=False,
        help_text=_("Empty: the list price."),
        **MONEY_FIELD,
    )
    discount = forms.DecimalField(label=_("Discount"), required=False, **MONEY_FIELD)

    def __init__(self, *args, products, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = products
        self.fields["product"].widget.attrs["data-line-product"] = ""
        self.fields["unit_price"].widget.attrs["placeholder"] = _("List price")
        for name in ("quantity", "unit_price", "discount"):
            self.fields[name].widget.attrs.update({"inputmode": "decimal", "data-line-" + name: ""})
        self.fields["description"].widget.attrs["data-line-description"] = ""

    def clean(self):
        data = super().clean()
        if self.has_changed() and not data.get("DELETE") and data.get("quantity") is None:
            self.add_error("quantity", _("Enter a quantity."))
        return data

    def line(self) -> dict:
        """The line in the shape the transaction services take."""
        data = self.cleaned_data
        return {
            "product": data.get("product"),
            "description": data.get("description", ""),
            "quantity": data.get("quantity"),
            "unit_price": data.get("unit_price"),
            "discount": data.get("discount") or Decimal("0"),
        }


LineFormSet = forms.formset_factory(LineForm, extra=1, can_delete=True, max_num=500)
