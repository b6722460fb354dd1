from django import forms

from kreis.analytics.models import AnalyticsSettings


class AnalyticsSettingsForm(forms.ModelForm):
    class Meta:
        model = AnalyticsSettings
        exclude: list[str] = []
        widgets = {"calibration_end": forms.DateInput(attrs={"type": "date"})}
