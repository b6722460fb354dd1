from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kreis.inbox.models import ItemStatus

ACTIONS = ("assign", "done", "open", "pending", "snooze", "answered")


class ItemActionForm(forms.Form):
    """One action on one or many items: assign (to a user and/or team), set the status,
    snooze until a time, mark answered."""

    action = forms.ChoiceField(choices=[(a, a) for a in ACTIONS])
    ids = forms.TypedMultipleChoiceField(coerce=int, required=False, choices=())
    assignee = forms.TypedChoiceField(
        label=_("Assign to"), coerce=int, required=False, empty_value=None, choices=()
    )
    assigned_team = forms.TypedChoiceField(
        label=_("Team"), coerce=int, required=False, empty_value=None, choices=()
    )
    snoozed_until = forms.DateTimeField(
        label=_("Snooze until"),
        required=False,
        widget=forms.DateTimeInput(
            attrs={"type": "datetime-local", "class": "form-control"}, format="%Y-%m-%dT%H:%M"
        ),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )

    def __init__(self, *args, users=(), teams=(), **kwargs):
        super().__init__(*args, **kwargs)
        # ``users`` and ``teams``: (pk, label) pairs.
        self.fields["assignee"].choices = [("", _("Nobody")), *users]
        self.fields["assigned_team"].choices = [("", "—"), *teams]

    def clean_ids(self):
        return self.cleaned_data["ids"]

    def clean(self):
        data = super().clean()
        if data.get("action") == "snooze":
            until = data.get("snoozed_until")
            if until is None:
                self.add_error("snoozed_until", _("Say until when to snooze."))
            elif until <= timezone.now():
                self.add_error("snoozed_until", _("Snooze until a time in the future."))
        return data

    def status(self) -> str | None:
        return {
            "done": ItemStatus.DONE,
            "open": ItemStatus.OPEN,
            "pending": ItemStatus.PENDING,
            "snooze": ItemStatus.SNOOZED,
        }.get(self.cleaned_data["action"])
