"""Phone (DOMAIN.md §1, communicative CRM): outbound call lists and marked wrong numbers.

A logged call is an ``Activity`` of kind CALL (``kreis.activities``): this app adds no second
call table. What it adds:

- ``CallList``: the parties of a segment or a campaign with a phone number, filtered by their
  phone consent when the list was built, assigned to users, with a call script.
- ``CallListEntry``: one party on a list, its number, and how far it got. Entries are claimed
  one at a time by a conditional ``UPDATE`` (so two callers never get the same entry), a
  claim runs out after ``CLAIM_MINUTES``, a call-back comes back at its time.
- ``WrongNumber``: a number somebody reached and found wrong; lists skip it from then on.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kreis.activities.models import Activity, CallOutcome
from kreis.core.models import Team
from kreis.marketing.models import Campaign, ConsentPurpose, Segment
from kreis.parties.models import Party

# A claimed entry nobody logged goes back to the list after this long (a closed browser tab).
CLAIM_MINUTES = 15
CLAIM_TIMEOUT = timedelta(minutes=CLAIM_MINUTES)


class CallResult(models.TextChoices):
    """What a call on a list came to: finer than the activity's ``CallOutcome``."""

    REACHED = "reached", _("Reached")
    INTERESTED = "interested", _("Reached, interested")
    NOT_INTERESTED = "not_interested", _("Reached, not interested")
    CALL_BACK = "call_back", _("Call back later")
    NO_ANSWER = "no_answer", _("No answer")
    VOICEMAIL = "voicemail", _("Left a voicemail")
    BUSY = "busy", _("Busy")
    WRONG_NUMBER = "wrong_number", _("Wrong number")
    DO_NOT_CALL = "do_not_call", _("Does not want to be called")


# The activity's outcome for each list result (the timeline shows the general one).
OUTCOME_OF_RESULT = {
    CallResult.REACHED: CallOutcome.REACHED,
    CallResult.INTERESTED: CallOutcome.REACHED,
    CallResult.NOT_INTERESTED: CallOutcome.REACHED,
    CallResult.CALL_BACK: CallOutcome.REACHED,
    CallResult.NO_ANSWER: CallOutcome.NO_ANSWER,
    CallResult.VOICEMAIL: CallOutcome.VOICEMAIL,
    CallResult.BUSY: CallOutcome.BUSY,
    CallResult.WRONG_NUMBER: CallOutcome.WRONG_NUMBER,
    CallResult.DO_NOT_CALL: CallOutcome.REACHED,
}
# Results after which the entry is tried again (later on the same list); the others end it.
RETRY_RESULTS = {CallResult.NO_ANSWER, CallResult.BUSY, CallResult.VOICEMAIL}


class EntryState(models.TextChoices):
    OPEN = "open", _("To call")
    CLAIMED = "claimed", _("Being called")
    CALL_BACK = "call_back", _("Call back")
    DONE = "done", _("Done")
    SKIPPED = "skipped", _("Skipped")


class SkipReason(models.TextChoices):
    NO_PHONE = "no_phone", _("No phone number")
    NO_CONSENT = "no_consent", _("No consent to calls for this purpose")
    WRONG_NUMBER = "wrong_number", _("Number marked wrong")
    OPTED_OUT = "opted_out", _("Does not want to be called (channel preferences)")
    ATTEMPTS = "attempts", _("Not reached after the last attempt")


class CallList(models.Model):
    name = models.CharField(_("name"), max_length=120)
    purpose = models.CharField(
        _("purpose"),
        max_length=12,
        choices=ConsentPurpose.choices,
        default=ConsentPurpose.PHONE,
        help_text=_("Only parties whose phone consent allows this purpose are called."),
    )
    segment = models.ForeignKey(
        Segment,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="call_lists",
        verbose_name=_("segment"),
    )
    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="call_lists",
        verbose_name=_("campaign"),
    )
    script = models.TextField(
        _("call script"), blank=True, help_text=_("What to say and ask; shown on every call.")
    )
    max_attempts = models.PositiveSmallIntegerField(
        _("attempts per number"),
        default=3,
        help_text=_("No answer, busy or voicemail: tried again until this many calls."),
    )
    assignees = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="call_lists",
        verbose_name=_("assigned to"),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_call_lists",
        verbose_name=_("owner"),
    )
    team = models.ForeignKey(
        Team,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="call_lists",
        verbose_name=_("team"),
    )
    is_closed = models.BooleanField(_("closed"), default=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("call list")
        verbose_name_plural = _("call lists")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.name


class CallListEntry(models.Model):
    call_list = models.ForeignKey(
        CallList, on_delete=models.CASCADE, related_name="entries", verbose_name=_("call list")
    )
    party = models.ForeignKey(
        Party, on_delete=models.CASCADE, related_name="call_list_entries", verbose_name=_("party")
    )
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    position = models.PositiveIntegerField(_("position"))
    state = models.CharField(
        _("state"), max_length=10, choices=EntryState.choices, default=EntryState.OPEN
    )
    skip_reason = models.CharField(
        _("skipped because"), max_length=14, choices=SkipReason.choices, blank=True
    )
    # When the entry is due: now for new ones, the agreed time for a call-back.
    due_at = models.DateTimeField(_("due"))
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("being called by"),
    )
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("calls"), default=0)
    result = models.CharField(_("result"), max_length=14, choices=CallResult.choices, blank=True)
    last_activity = models.ForeignKey(
        Activity,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("last call"),
    )
    called_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("last called by"),
    )
    called_at = models.DateTimeField(_("last called"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("call list entry")
        verbose_name_plural = _("call list entries")
        ordering = ["call_list", "position"]
        indexes = [
            # "Next entry": due call-backs by their time (and how many entries are due).
            models.Index(fields=["call_list", "state", "due_at", "position"], name="call_next"),
            # "Next entry": the first open entry in list order, read off the index without a
            # sort; also the claims a caller holds and those run out.
            models.Index(fields=["call_list", "state", "position"], name="call_in_order"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["call_list", "party"], name="call_entry_unique_party")
        ]

    def __str__(self) -> str:
        return f"{self.call_list_id}/{self.position} {self.phone}"


class WrongNumber(models.Model):
    """A number found wrong on a call: lists skip it, the party page says so."""

    party = models.ForeignKey(
        Party, on_delete=models.CASCADE, related_name="wrong_numbers", verbose_name=_("party")
    )
    phone = models.CharField(_("phone"), max_length=40)
    marked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("marked by"),
    )
    marked_at = models.DateTimeField(_("marked"), auto_now_add=True)

    class Meta:
        verbose_name = _("wrong number")
        verbose_name_plural = _("wrong numbers")
        ordering = ["-marked_at"]
        constraints = [
            models.UniqueConstraint(fields=["party", "phone"], name="wrong_number_unique")
        ]

    def __str__(self) -> str:
        return self.phone
