"""The scoring settings form: the MQL threshold and how many decided leads training needs."""

from __future__ import annotations

from django import forms

from kreis.marketing.models import MarketingSettings


class ScoringSettingsForm(forms.ModelForm):
    class Meta:
        model = MarketingSettings
        fields = ["mql_threshold", "min_training_leads"]
        widgets = {
            "mql_threshold": forms.NumberInput(attrs={"step": "any", "min": 0, "max": 100}),
            "min_training_leads": forms.NumberInput(attrs={"min": 10}),
        }
