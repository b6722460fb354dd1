"""Forms of the forecast: a rep's call, a manager's adjustment."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kreis.core.forms import BootstrapMixin


class SubmitForm(BootstrapMixin, forms.Form):
    forecast = forms.DecimalField(
        label=_("My forecast"), max_digits=14, decimal_places=2, min_value=0
    )
    note = forms.CharField(label=_("Note"), max_length=500, required=False)


class AdjustForm(BootstrapMixin, forms.Form):
    rep = forms.TypedChoiceField(
        label=_("Adjust"), coerce=int, required=False, empty_value=None, choices=()
    )
    forecast = forms.DecimalField(
        label=_("Adjusted forecast"), max_digits=14, decimal_places=2, min_value=0
    )
    note = forms.CharField(label=_("Why"), max_length=500)

    def __init__(self, *args, reps, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rep"].choices = [("", _("The team's total"))] + [
            (str(u.pk), str(u)) for u in reps
        ]
