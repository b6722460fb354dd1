"""Forms of the price list, discount rule and limits pages."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kreis.commerce.models import Product
from kreis.core.forms import BootstrapMixin
from kreis.core.models import User
from kreis.marketing.models import Segment
from kreis.pricing.models import DiscountRule, PriceList, PricingSettings

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class PriceListForm(BootstrapMixin, forms.ModelForm):
    class Meta:
        model = PriceList
        fields = [
            "name",
            "currency",
            "segment",
            "channel",
            "valid_from",
            "valid_to",
            "is_active",
            "notes",
        ]
        widgets = {"valid_from": DATE, "valid_to": DATE}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["segment"].queryset = Segment.objects.order_by("name")


class ItemForm(BootstrapMixin, forms.Form):
    product = forms.ModelChoiceField(
        label=_("product"), queryset=Product.objects.filter(is_active=True).order_by("name")
    )
    min_quantity = forms.DecimalField(
        label=_("from quantity"), min_value=0, max_digits=12, decimal_places=3, initial=1
    )
    unit_price = forms.DecimalField(
        label=_("unit price"), min_value=0, max_digits=12, decimal_places=2
    )


class DiscountRuleForm(BootstrapMixin, forms.ModelForm):
    class Meta:
        model = DiscountRule
        fields = [
            "name",
            "percent",
            "abc_class",
            "segment",
            "min_quantity",
            "valid_from",
            "valid_to",
            "is_active",
        ]
        widgets = {"valid_from": DATE, "valid_to": DATE}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["segment"].queryset = Segment.objects.order_by("name")


class SettingsForm(BootstrapMixin, forms.ModelForm):
    class Meta:
        model = PricingSettings
        fields = ["default_discount_limit", "quote_valid_days", "link_valid_days"]


class RepLimitForm(BootstrapMixin, forms.Form):
    user = forms.ModelChoiceField(
        label=_("user"), queryset=User.objects.filter(is_active=True).order_by("username")
    )
    limit_percent = forms.DecimalField(
        label=_("discount limit (%)"),
        min_value=0,
        max_value=100,
        max_digits=5,
        decimal_places=2,
        required=False,
        help_text=_("Empty: the default applies."),
    )


class ImportForm(BootstrapMixin, forms.Form):
    file = forms.FileField(label=_("CSV file"))
