"""Forms of the campaign pages: the campaign, a cost, marking members, event registration."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kreis.core.forms import BootstrapMixin
from kreis.core.models import Team, User
from kreis.marketing.models import Campaign, CampaignCost, ResponseKind, Segment
from kreis.parties.forms import PartyLookupField, _lookup


class CampaignForm(BootstrapMixin, forms.ModelForm):
    class Meta:
        model = Campaign
        fields = [
            "name",
            "code",
            "channel",
            "status",
            "goal",
            "target_segment",
            "target_description",
            "starts_on",
            "ends_on",
            "budget",
            "expected_leads",
            "expected_revenue",
            "event_starts_at",
            "event_location",
            "event_capacity",
            "owner",
            "team",
        ]
        widgets = {
            "goal": forms.Textarea(attrs={"rows": 2}),
            "target_description": forms.Textarea(attrs={"rows": 2}),
            "starts_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "ends_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "event_starts_at": forms.DateTimeInput(
                attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"
            ),
        }
        help_texts = {
            "event_starts_at": _("Events only."),
            "event_capacity": _("Events only; empty: no limit."),
        }

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target_segment"].queryset = Segment.objects.order_by("name")
        self.fields["owner"].queryset = User.objects.filter(is_active=True).order_by(
            "first_name", "last_name", "username"
        )
        self.fields["team"].queryset = Team.objects.order_by("name")
        if self.instance.pk is None and not self.is_bound:
            self.initial.setdefault("owner", user.pk)
            first_team = Team.objects.filter(pk__in=user.team_ids()).order_by("pk").first()
            if first_team is not None:
                self.initial.setdefault("team", first_team.pk)
        # The model validates the whole campaign in the service (code unique, dates in order).
        self.fields["code"].validators = []

    def validate_unique(self) -> None:
        """The service checks the code (ignoring case) and reports it on the field."""


class CostForm(BootstrapMixin, forms.ModelForm):
    class Meta:
        model = CampaignCost
        fields = ["date", "category", "amount", "note"]
        widgets = {"date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}


MARK_CHOICES = [(r.value, r.label) for r in ResponseKind]


class MarkMembersForm(forms.Form):
    """The members list's bulk action: mark (or clear) one response on the ticked members."""

    response = forms.ChoiceField(label=_("Response"), choices=MARK_CHOICES)
    clear = forms.BooleanField(required=False)
    members = forms.TypedMultipleChoiceField(coerce=int, choices=())

    def __init__(self, *args, member_ids, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["members"].choices = [(pk, pk) for pk in member_ids]
        self.fields["members"].error_messages["required"] = _("Tick at least one member.")


class AddFromSegmentForm(BootstrapMixin, forms.Form):
    segment = forms.ModelChoiceField(label=_("Segment"), queryset=Segment.objects.none())

    def __init__(self, *args, initial_segment=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["segment"].queryset = Segment.objects.order_by("name")
        if initial_segment is not None and not self.is_bound:
            self.initial["segment"] = initial_segment.pk


class OptionalPartyLookupField(PartyLookupField):
    def clean(self, value):
        if not (value or "").strip():
            return None
        return super().clean(value)


class RegistrationForm(BootstrapMixin, forms.Form):
    """Register somebody for an event: a known contact, or a name and e-mail address (which
    becomes a lead, or finds the lead already there)."""

    party = OptionalPartyLookupField(label=_("Known contact"), required=False)
    first_name = forms.CharField(label=_("First name"), max_length=100, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=100, required=False)
    email = forms.EmailField(label=_("E-mail"), required=False)
    company = forms.CharField(label=_("Company"), max_length=200, required=False)

    def __init__(self, *args, parties, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["party"].queryset = parties
        _lookup(self.fields["party"], "registration-party-options", "")

    def clean(self):
        data = super().clean()
        if not data.get("party") and not (data.get("last_name") or "").strip():
            if not self.has_error("party"):
                raise forms.ValidationError(
                    _("Pick a known contact, or enter at least the person's last name.")
                )
        return data
