"""Forms of the contribution margin pages: the period, a cost entry, a cost rule."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from kreis.activities.models import ActivityKind
from kreis.analytics.margin.accounting import FIRST_DAY, LAST_DAY
from kreis.analytics.margin.models import CostBasis, CostCategory, CostLevel
from kreis.core.forms import BootstrapMixin


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _amount(label, help_text: str = "", max_digits: int = 12) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        min_value=Decimal("0"),
        max_digits=max_digits,
        decimal_places=2,
        help_text=help_text,
        error_messages={
            "invalid": _("Enter the amount as a number, e.g. 40.00."),
            "min_value": _("Enter costs as a positive amount (0 or more)."),
            "max_digits": _("The amount is too large."),
            "max_decimal_places": _("Enter the amount with at most 2 decimal places."),
        },
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0", "inputmode": "decimal"}),
    )


class PeriodForm(forms.Form):
    """From and to day of the analysed period (both included)."""

    start = forms.DateField(label=_("From"), widget=_date_input())
    end = forms.DateField(label=_("To"), widget=_date_input())

    def clean(self):
        data = super().clean()
        for name in ("start", "end"):
            day = data.get(name)
            if day and not FIRST_DAY <= day <= LAST_DAY:
                self.add_error(name, _("Choose a day between 1900 and 2999."))
                data.pop(name, None)
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            self.add_error("end", _("The period cannot end before it starts."))
        return data


class CostEntryForm(BootstrapMixin, forms.Form):
    date = forms.DateField(label=_("Date"), widget=_date_input())
    category = forms.ChoiceField(label=_("Category"), choices=CostCategory.choices)
    level = forms.ChoiceField(
        label=_("Level"),
        required=False,
        choices=[("", _("From the category")), *CostLevel.choices],
        help_text=_("Needed only for the category Other."),
    )
    amount = _amount(_("Amount"))
    note = forms.CharField(label=_("Note"), max_length=500, required=False)


AMOUNT_HELP = _(
    "Per order, order line or activity: money per unit. Per cent of net revenue: the per cent. "
    "Per customer: money per customer and year. Allocated: money per year for all customers, "
    "shared by net revenue."
)


class CostRuleForm(BootstrapMixin, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    category = forms.ChoiceField(label=_("Category"), choices=CostCategory.choices)
    level = forms.ChoiceField(
        label=_("Level"),
        required=False,
        choices=[("", _("From the category")), *CostLevel.choices],
        help_text=_("Needed only for the category Other."),
    )
    basis = forms.ChoiceField(label=_("Basis"), choices=CostBasis.choices)
    amount = _amount(_("Amount"), AMOUNT_HELP, max_digits=14)
    activity_kind = forms.ChoiceField(
        label=_("Activity kind"),
        required=False,
        choices=[("", "—"), *ActivityKind.choices],
        help_text=_("For “per completed activity”: which activities count."),
    )
    valid_from = forms.DateField(label=_("Valid from"), required=False, widget=_date_input())
    valid_to = forms.DateField(label=_("Valid to"), required=False, widget=_date_input())
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
