from django import forms

from kreis.analytics.runs.models import AnalyticsSettings
from kreis.core.forms import BootstrapMixin


class AnalyticsSettingsForm(BootstrapMixin, forms.ModelForm):
    class Meta:
        model = AnalyticsSettings
        exclude: list[str] = []
        # ISO in the value, or a German browser gets "29.11.2026", which a date input rejects.
        widgets = {"calibration_end": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}
