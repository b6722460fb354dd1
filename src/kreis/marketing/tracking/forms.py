"""The tracking settings form (administrators)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext as _

from kreis.core.forms import BootstrapMixin
from kreis.core.publicforms import is_origin
from kreis.marketing.models import MarketingSettings


class TrackingSettingsForm(BootstrapMixin, forms.ModelForm):
    class Meta:
        model = MarketingSettings
        fields = ["tracking_enabled", "tracking_allowed_origins", "visit_retention_days"]
        widgets = {"tracking_allowed_origins": forms.Textarea(attrs={"rows": 3})}

    def clean_tracking_allowed_origins(self) -> str:
        lines = [
            line.strip().rstrip("/")
            for line in self.cleaned_data["tracking_allowed_origins"].splitlines()
            if line.strip()
        ]
        wrong = [line for line in lines if not is_origin(line.lower())]
        if wrong:
            raise forms.ValidationError(
                _("Not a website origin (scheme, host and port only, e.g. %(example)s): %(wrong)s")
                % {"example": "https://www.example.com", "wrong": ", ".join(wrong)}
            )
        return "\n".join(lines)
