"""Forms for targets: one target, and a CSV file to import."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from kreis.commerce.models import SalesChannel
from kreis.core.forms import BootstrapMixin
from kreis.core.models import Team, User
from kreis.sales.models import TargetDimension, TargetMetric
from kreis.sales.periods import period_from_key

MAX_UPLOAD = 2 * 1024 * 1024


class TargetForm(BootstrapMixin, forms.Form):
    metric = forms.ChoiceField(label=_("Measure"), choices=TargetMetric.choices)
    dimension = forms.ChoiceField(label=_("For"), choices=TargetDimension.choices)
    period = forms.CharField(
        label=_("Period"),
        max_length=7,
        help_text=_("2026 (year), 2026-Q2 (quarter) or 2026-03 (month)."),
    )
    amount = forms.DecimalField(
        label=_("Target"),
        max_digits=14,
        decimal_places=2,
        min_value=0,
        help_text=_("Revenue in the currency, or a quantity."),
    )
    user = forms.ModelChoiceField(
        label=_("Sales rep"), queryset=User.objects.none(), required=False
    )
    team = forms.ModelChoiceField(
        label=_("Team"),
        queryset=Team.objects.none(),
        required=False,
        help_text=_("Plans the target; narrows a region, channel or category target to its team."),
    )
    region = forms.CharField(label=_("Region"), max_length=100, required=False)
    channel = forms.ChoiceField(
        label=_("Channel"), choices=[("", "—"), *SalesChannel.choices], required=False
    )
    category = forms.CharField(label=_("Product category"), max_length=100, required=False)
    currency = forms.CharField(label=_("Currency"), max_length=3, initial="EUR")
    note = forms.CharField(label=_("Note"), max_length=300, required=False)

    def __init__(self, *args, teams, users, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams
        self.fields["user"].queryset = users
        self.fields["category"].widget.attrs["list"] = "target-categories"
        self.fields["region"].widget.attrs["list"] = "target-regions"

    def clean_period(self):
        try:
            return period_from_key(self.cleaned_data["period"])
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["period"]) from None

    def service_data(self) -> dict:
        return dict(self.cleaned_data)


class TargetImportForm(BootstrapMixin, forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "Columns: period, metric, dimension, amount, rep, team, region, channel, category, "
            "currency, note (as the export writes them)."
        ),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD:
            raise ValidationError(_("The file is larger than 2 MB."))
        raw = upload.read()
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                return raw.decode("cp1252")
            except UnicodeDecodeError:
                raise ValidationError(_("Save the file as UTF-8 text (CSV).")) from None
