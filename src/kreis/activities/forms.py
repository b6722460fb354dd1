"""Forms for activities: one per kind, plus the quick-add form at the top of a timeline."""

from __future__ import annotations

import re

from django import forms
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from kreis.activities.models import ActivityKind, CallOutcome, Direction
from kreis.core.forms import BootstrapMixin
from kreis.core.models import User
from kreis.parties.forms import PartyLookupField

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"
LOOKUP_OPTIONS = "activity-party-options"
REF = re.compile(r"#(\d+)\)?\s*$")


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format=DATETIME_FORMAT)


def _wire_lookup(field: forms.Field) -> None:
    """Suggestions while typing, from the activities' party lookup (any visible party)."""
    field.widget.attrs.update(
        {
            "list": LOOKUP_OPTIONS,
            "hx-get": reverse("activities:party_lookup"),
            "hx-target": f"#{LOOKUP_OPTIONS}",
            "hx-trigger": "input changed delay:200ms",
            "hx-swap": "innerHTML",
        }
    )


def party_label(party) -> str:
    """How a chosen party appears in a lookup field: “Name (#42)”."""
    return f"{party.name} (#{party.pk})"


class OptionalPartyLookupField(PartyLookupField):
    """The parties' type-ahead field, which may also stay empty."""

    def clean(self, value):
        if not (value or "").strip() and not self.required:
            return None
        return super().clean(value)


class PartyListWidget(forms.Widget):
    """Several lookup inputs of the same name: the chosen attendees and two empty slots."""

    template_name = "activities/widgets/party_list.html"
    blank_slots = 2

    def value_from_datadict(self, data, files, name):
        return data.getlist(name) if hasattr(data, "getlist") else data.get(name, [])

    def format_value(self, value):
        return [v for v in (value or []) if v]

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"]["slots"] = [*context["widget"]["value"], *[""] * self.blank_slots]
        return context


class AttendeesField(forms.Field):
    widget = PartyListWidget

    def __init__(self, **kwargs):
        super().__init__(required=False, **kwargs)
        self.queryset = None

    def widget_attrs(self, widget):
        return {"autocomplete": "off", "placeholder": _("Type a name …")}

    def clean(self, value):
        parties, unknown = [], []
        for text in value or []:
            text = (text or "").strip()
            if not text:
                continue
            match = REF.search(text)
            party = self.queryset.filter(pk=int(match.group(1))).first() if match else None
            (parties if party else unknown).append(party or text)
        if unknown:
            raise forms.ValidationError(
                _("Choose each attendee from the suggestions: %s") % ", ".join(unknown)
            )
        return parties


class ActivityForm(BootstrapMixin, forms.Form):
    """All fields of an activity; ``__init__`` keeps those of the kind being edited."""

    subject = forms.CharField(label=_("Subject"), max_length=200, required=False)
    occurred_at = forms.DateTimeField(label=_("Date"), widget=DateTimeInput(), required=False)
    ends_at = forms.DateTimeField(label=_("Ends"), widget=DateTimeInput(), required=False)
    reminder_at = forms.DateTimeField(
        label=_("Reminder"),
        widget=DateTimeInput(),
        required=False,
        help_text=_("You get a notification at this time."),
    )
    direction = forms.ChoiceField(
        label=_("Direction"), choices=Direction.choices, initial=Direction.OUTBOUND
    )
    duration_minutes = forms.IntegerField(
        label=_("Duration (minutes)"), min_value=0, max_value=1440, required=False
    )
    outcome = forms.ChoiceField(
        label=_("Outcome"), choices=[("", "—"), *CallOutcome.choices], required=False
    )
    location = forms.CharField(label=_("Location"), max_length=200, required=False)
    party = OptionalPartyLookupField(label=_("Party"), required=False)
    attendees = AttendeesField(label=_("Attendees"))
    body = forms.CharField(
        label=_("Details"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Simple formatting (bold, lists, links) is kept; anything else is removed."),
    )
    owner = forms.ModelChoiceField(
        label=_("Assignee"), queryset=User.objects.filter(is_active=True), required=False
    )
    done = forms.BooleanField(label=_("Done"), required=False)

    KIND_FIELDS = {
        ActivityKind.TASK: ["subject", "occurred_at", "reminder_at", "party", "body", "owner"],
        ActivityKind.CALL: [
            "subject",
            "occurred_at",
            "direction",
            "duration_minutes",
            "outcome",
            "party",
            "body",
            "owner",
            "done",
        ],
        ActivityKind.MEETING: [
            "subject",
            "occurred_at",
            "ends_at",
            "location",
            "party",
            "attendees",
            "reminder_at",
            "body",
            "owner",
        ],
        ActivityKind.NOTE: ["subject", "occurred_at", "party", "body"],
        ActivityKind.EMAIL: ["subject", "occurred_at", "direction", "party", "body", "owner"],
    }
    DATE_LABELS = {
        ActivityKind.TASK: _("Due"),
        ActivityKind.MEETING: _("Starts"),
        ActivityKind.CALL: _("When"),
        ActivityKind.NOTE: _("When"),
        ActivityKind.EMAIL: _("When"),
    }

    def __init__(self, *args, kind: str, parties, creating: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        keep = self.KIND_FIELDS[kind]
        for name in list(self.fields):
            if name not in keep:
                del self.fields[name]
        if not creating:
            self.fields.pop("done", None)
        self.fields["occurred_at"].label = self.DATE_LABELS[kind]
        if kind in (ActivityKind.TASK, ActivityKind.MEETING):
            self.fields["occurred_at"].required = True
            self.fields["subject"].required = True
        if kind == ActivityKind.NOTE:
            self.fields["body"].required = True
            self.fields["subject"].help_text = _("Empty: the beginning of the text.")
        else:
            self.fields["subject"].required = True
        self.fields["party"].queryset = parties
        _wire_lookup(self.fields["party"])
        if "attendees" in self.fields:
            self.fields["attendees"].queryset = parties
            _wire_lookup(self.fields["attendees"])

    def service_data(self) -> dict:
        """The cleaned data in the shape the activity services take."""
        data = dict(self.cleaned_data)
        if "attendees" in data:
            data["attendees"] = data["attendees"] or []
        return data


QUICK_KINDS = [
    (ActivityKind.NOTE, _("Note")),
    (ActivityKind.CALL, _("Call")),
    (ActivityKind.TASK, _("Task")),
]


class QuickAddForm(BootstrapMixin, forms.Form):
    """Note, call or task in one line, from the top of a timeline."""

    kind = forms.ChoiceField(label=_("Kind"), choices=QUICK_KINDS, initial=ActivityKind.NOTE)
    subject = forms.CharField(label=_("Subject"), max_length=200, required=False)
    body = forms.CharField(
        label=_("Text"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    occurred_at = forms.DateTimeField(
        label=_("Date"),
        widget=DateTimeInput(),
        required=False,
        help_text=_("Empty: now. A task needs the date it is due."),
    )
    direction = forms.ChoiceField(
        label=_("Call direction"),
        choices=Direction.choices,
        initial=Direction.OUTBOUND,
        required=False,
    )
