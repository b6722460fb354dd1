"""Forms of the KPI page: the periods shown, a market volume, a quality check."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from kreis.analytics.kpis.models import Grain, QualityStage
from kreis.analytics.kpis.queries import FIRST_DAY, LAST_DAY
from kreis.commerce.models import Product
from kreis.core.forms import BootstrapMixin


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class KpiPeriodForm(BootstrapMixin, forms.Form):
    """From and to day (widened to whole periods) and the period type."""

    start = forms.DateField(label=_("From"), widget=_date_input())
    end = forms.DateField(label=_("To"), widget=_date_input())
    grain = forms.ChoiceField(label=_("Per"), choices=Grain.choices)

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


class MarketVolumeForm(BootstrapMixin, forms.Form):
    segment = forms.CharField(
        label=_("Segment (product category)"),
        max_length=100,
        required=False,
        help_text=_("Empty for the whole market."),
    )
    grain = forms.ChoiceField(label=_("Period type"), choices=Grain.choices)
    start = forms.DateField(
        label=_("Period start"),
        widget=_date_input(),
        help_text=_("The first day of the month, quarter or year."),
    )
    volume = forms.DecimalField(
        label=_("Market volume"),
        min_value=Decimal("0.01"),
        max_digits=16,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0", "inputmode": "decimal"}),
    )
    note = forms.CharField(label=_("Note"), max_length=300, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["segment"].widget.attrs["list"] = "kpi-segments"


class QualityCheckForm(BootstrapMixin, forms.Form):
    date = forms.DateField(label=_("Date"), widget=_date_input())
    stage = forms.ChoiceField(label=_("Stage"), choices=QualityStage.choices)
    product = forms.ModelChoiceField(
        label=_("Product"),
        queryset=Product.objects.filter(is_active=True).order_by("name", "pk"),
        required=False,
        empty_label=_("All products"),
    )
    checked_units = forms.IntegerField(label=_("Checked units"), min_value=1)
    defective_units = forms.IntegerField(label=_("Defective units"), min_value=0, initial=0)
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def clean(self):
        data = super().clean()
        checked, defective = data.get("checked_units"), data.get("defective_units")
        if checked is not None and defective is not None and defective > checked:
            self.add_error(
                "defective_units", _("More units cannot be defective than were checked.")
            )
        return data
