"""The form of a party's channel preferences."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kreis.channels.models import OPT_OUT_FIELD, WEEKDAYS, Channel, ChannelPreference
from kreis.core.forms import BootstrapMixin
from kreis.marketing.models import LANGUAGES

OPT_OUT_LABELS = {
    "no_email_since": _("Do not e-mail"),
    "no_call_since": _("Do not call"),
    "no_post_since": _("Do not send letters"),
    "no_social_since": _("Do not contact on social media"),
}


class PreferenceForm(BootstrapMixin, forms.Form):
    preferred_channel = forms.ChoiceField(
        label=_("Preferred channel"),
        choices=[("", _("No preference")), *Channel.choices],
        required=False,
    )
    language = forms.ChoiceField(
        label=_("Preferred language"),
        choices=[("", _("No preference")), *LANGUAGES],
        required=False,
    )
    weekdays = forms.MultipleChoiceField(
        label=_("Contact days"),
        choices=WEEKDAYS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: any day."),
    )
    time_from = forms.TimeField(
        label=_("Contact from"), required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )
    time_to = forms.TimeField(
        label=_("Contact until"), required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )
    no_email_since = forms.BooleanField(label=OPT_OUT_LABELS["no_email_since"], required=False)
    no_call_since = forms.BooleanField(label=OPT_OUT_LABELS["no_call_since"], required=False)
    no_post_since = forms.BooleanField(label=OPT_OUT_LABELS["no_post_since"], required=False)
    no_social_since = forms.BooleanField(label=OPT_OUT_LABELS["no_social_since"], required=False)
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Why, and on whose request (e.g. “asked by phone on 3 May”)."),
    )

    @classmethod
    def for_preference(cls, pref: ChannelPreference, data=None) -> PreferenceForm:
        initial = {
            "preferred_channel": pref.preferred_channel,
            "language": pref.language,
            "weekdays": list(pref.weekdays),
            "time_from": pref.time_from,
            "time_to": pref.time_to,
            "note": pref.note,
            **{field: bool(getattr(pref, field)) for field in OPT_OUT_FIELD.values()},
        }
        return cls(data, initial=initial)

    def service_fields(self) -> dict:
        data = dict(self.cleaned_data)
        data["weekdays"] = "".join(sorted(data["weekdays"]))
        return data
