"""Forms for playbooks: the definition, a step, starting a playbook for a party."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kreis.core.forms import BootstrapMixin
from kreis.marketing.relationships.models import RelationshipType
from kreis.parties.models import LifecyclePhase
from kreis.playbooks.models import Playbook, PlaybookStep, StepAction


class PlaybookForm(BootstrapMixin, forms.ModelForm):
    entry_phases = forms.MultipleChoiceField(
        label=_("entry phases"),
        choices=LifecyclePhase.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("A customer entering one of these lifecycle phases is enrolled."),
    )

    class Meta:
        model = Playbook
        fields = [
            "name_de",
            "name_en",
            "kind",
            "enabled",
            "description_de",
            "description_en",
            "entry_phases",
            "relationship_types",
            "holdout_percent",
            "window_days",
            "exit_on_order",
            "exit_on_phase_left",
            "exit_on_deal_won",
        ]
        widgets = {
            "description_de": forms.Textarea(attrs={"rows": 3}),
            "description_en": forms.Textarea(attrs={"rows": 3}),
            "relationship_types": forms.CheckboxSelectMultiple,
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["relationship_types"].queryset = RelationshipType.objects.filter(is_active=True)


OFFER_FIELDS = ("offer_products", "offer_months")  # shown for the offer kind only


class StepForm(BootstrapMixin, forms.ModelForm):
    class Meta:
        model = PlaybookStep
        fields = [
            "action",
            "delay_days",
            "due_days",
            "title_de",
            "title_en",
            "description_de",
            "description_en",
            "send_email",
            "offer_products",
            "offer_months",
        ]
        widgets = {
            "description_de": forms.Textarea(attrs={"rows": 2}),
            "description_en": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Only the offer step uses them: left empty, they keep their defaults.
        for name in OFFER_FIELDS:
            self.fields[name].required = False
        # The step editor's script shows the offer fields for this kind only (steps.js).
        self.fields["action"].widget.attrs["data-step-action"] = ""

    def clean(self):
        data = super().clean()
        offer = data.get("action") == StepAction.OFFER
        for name in OFFER_FIELDS:
            if not offer:
                # Another kind does not use them (the page hides them): whatever was sent is
                # ignored, and the step keeps the values it had.
                self._errors.pop(name, None)
                data.pop(name, None)
            if data.get(name) in (None, ""):
                data[name] = (
                    getattr(self.instance, name, None)
                    or PlaybookStep._meta.get_field(name).get_default()
                )
        if data.get("send_email") and data.get("action") != "offer":
            self.add_error(
                "send_email", _("Only a personalised offer step can also send an e-mail.")
            )
        return data


class StartForm(BootstrapMixin, forms.Form):
    playbook = forms.ModelChoiceField(label=_("playbook"), queryset=Playbook.objects.none())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["playbook"].queryset = Playbook.objects.filter(enabled=True)
