"""Forms of the phone channel: logging one call, a call list, and a call on a list."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kreis.activities.models import CallOutcome, Direction
from kreis.calls.models import CallList, CallResult
from kreis.calls.services import NOTES_MAX
from kreis.core.forms import BootstrapMixin
from kreis.core.models import Role, Team, User
from kreis.marketing.models import Campaign, Segment

DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class _RadioMixin(BootstrapMixin):
    """Radio buttons look like Bootstrap's check inputs (the mixin would make them boxes)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field.widget, forms.RadioSelect):
                field.widget.attrs["class"] = "form-check-input"


class CallLogForm(_RadioMixin, forms.Form):
    outcome = forms.ChoiceField(
        label=_("outcome"),
        choices=CallOutcome.choices,
        initial=CallOutcome.REACHED,
        widget=forms.RadioSelect,
    )
    direction = forms.ChoiceField(
        label=_("direction"), choices=Direction.choices, initial=Direction.OUTBOUND
    )
    duration_minutes = forms.IntegerField(
        label=_("duration (minutes)"), min_value=0, max_value=1440, required=False
    )
    notes = forms.CharField(
        label=_("notes"),
        required=False,
        max_length=NOTES_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    phone = forms.CharField(required=False, max_length=40, widget=forms.HiddenInput)


class EntryLogForm(_RadioMixin, forms.Form):
    result = forms.ChoiceField(
        label=_("result"), choices=CallResult.choices, widget=forms.RadioSelect
    )
    call_back_at = forms.DateTimeField(
        label=_("call back at"), required=False, widget=DATETIME_INPUT
    )
    duration_minutes = forms.IntegerField(
        label=_("duration (minutes)"), min_value=0, max_value=1440, required=False
    )
    notes = forms.CharField(
        label=_("notes"),
        required=False,
        max_length=NOTES_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


def _callers():
    return (
        User.objects.filter(is_active=True)
        .exclude(role=Role.READ_ONLY)
        .order_by("last_name", "first_name", "username")
    )


class CallListForm(BootstrapMixin, forms.ModelForm):
    assignees = forms.ModelMultipleChoiceField(
        label=_("assigned to"),
        queryset=User.objects.none(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )

    class Meta:
        model = CallList
        fields = ["name", "segment", "campaign", "purpose", "script", "max_attempts", "team"]
        widgets = {"script": forms.Textarea(attrs={"rows": 6})}

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignees"].queryset = _callers()
        self.fields["team"].queryset = Team.objects.order_by("name")
        if editing:
            for name in ("segment", "campaign", "purpose"):
                del self.fields[name]
            self.fields["is_closed"] = forms.BooleanField(
                label=_("closed"), required=False, initial=self.instance.is_closed
            )
            self.fields["is_closed"].widget.attrs["class"] = "form-check-input"
            self.initial["assignees"] = list(self.instance.assignees.all())
        else:
            self.fields["segment"].queryset = Segment.objects.order_by("name")
            self.fields["campaign"].queryset = Campaign.objects.order_by("name")
            self.fields["segment"].help_text = _("Build the list from a segment …")
            self.fields["campaign"].help_text = _("… or from a campaign's members.")

    def validate_unique(self) -> None:
        """Nothing unique; the service checks the rest."""
