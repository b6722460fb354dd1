"""The improvement action form."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kreis.core.forms import BootstrapMixin
from kreis.core.models import User
from kreis.service.models import ActionStatus, RootCause


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class ImprovementActionForm(BootstrapMixin, forms.Form):
    root_cause = forms.ModelChoiceField(label=_("Root cause"), queryset=RootCause.objects.none())
    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=User.objects.none(), required=False)
    due_date = forms.DateField(label=_("Due date"), required=False, widget=DateInput())
    status = forms.ChoiceField(label=_("Status"), choices=ActionStatus.choices)
    effective_on = forms.DateField(
        label=_("Effective from"),
        required=False,
        widget=DateInput(),
        help_text=_("The day the measure took effect; set to today when it is marked done."),
    )

    def __init__(self, *args, users, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["root_cause"].queryset = RootCause.objects.filter(is_active=True)
        self.fields["owner"].queryset = users
