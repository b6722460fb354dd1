"""Forms for surveys: the definition, a question, staff entry of an answer."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kreis.core.forms import BootstrapMixin
from kreis.core.models import SavedView, User
from kreis.feedback.models import Question, ResponseChannel, Survey
from kreis.marketing.segments.queries import segment_list_for_user
from kreis.parties.forms import PartyLookupField, _lookup


class SurveyForm(BootstrapMixin, forms.ModelForm):
    class Meta:
        model = Survey
        fields = [
            "name",
            "goals",
            "core_questions",
            "method",
            "anonymous",
            "language",
            "target_segment",
            "target_view",
            "target_query",
            "link_valid_days",
        ]
        widgets = {
            "goals": forms.Textarea(attrs={"rows": 3}),
            "core_questions": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target_view"].queryset = SavedView.objects.filter(
            user=user, list_name="parties"
        )
        self.fields["target_view"].empty_label = _("— the filters below —")
        self.fields["target_segment"].queryset = segment_list_for_user(user=user)
        self.fields["target_segment"].empty_label = _("— no segment —")
        self.fields["target_segment"].help_text = _(
            "When chosen, the segment's members are the target group (the saved view and the "
            "filters below are then not used)."
        )


class QuestionForm(BootstrapMixin, forms.ModelForm):
    class Meta:
        model = Question
        fields = [
            "kind",
            "dimension",
            "loyalty_factor",
            "text_de",
            "text_en",
            "options_de",
            "options_en",
            "required",
        ]
        widgets = {
            "options_de": forms.Textarea(attrs={"rows": 3}),
            "options_en": forms.Textarea(attrs={"rows": 3}),
        }


STAFF_CHANNELS = [
    (ResponseChannel.PERSONAL, ResponseChannel.PERSONAL.label),
    (ResponseChannel.PHONE, ResponseChannel.PHONE.label),
    (ResponseChannel.WRITTEN, ResponseChannel.WRITTEN.label),
]


class OptionalPartyLookupField(PartyLookupField):
    """A party lookup that may stay empty (an anonymous survey's answer)."""

    def clean(self, value):
        if not (value or "").strip() and not self.required:
            return None
        return super().clean(value)


class StaffEntryForm(BootstrapMixin, forms.Form):
    """Who answered and how; the answers themselves are the questionnaire's fields."""

    party = OptionalPartyLookupField(label=_("Customer"), required=False)
    channel = forms.ChoiceField(label=_("Channel"), choices=STAFF_CHANNELS)
    language = forms.ChoiceField(
        label=_("Language"), choices=[("de", _("German")), ("en", _("English"))]
    )

    def __init__(self, *args, parties, anonymous: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["party"].queryset = parties
        self.fields["party"].required = not anonymous
        if anonymous:
            self.fields["party"].help_text = _("Anonymous survey: the customer is not stored.")
        _lookup(self.fields["party"], "entry-party-options", "")
