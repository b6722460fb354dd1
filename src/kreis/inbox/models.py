"""The unified inbox (issue 15 item 6; DOMAIN.md §1, communicative CRM): every inbound message
of every channel as one work item in one queue.

An ``InboxItem`` is made by this app listening to the channel apps (``receivers.py``), once per
source message (``source_type`` + ``source_id`` are unique): a shared inbound e-mail
(``comms.message``), a web-form submission (``marketing.formsubmission``), a social mention
(``social.mention``), a free-text survey answer (``feedback.answer``) and a customer's message
on a complaint case (``service.casemessage``, also what the complaint mailbox takes in; a case
from the public complaint form, which has no message of its own, is ``service.case``).

Who sees an item: whoever may see its source record — ``owner`` and ``team`` copy the
source's (the mailbox owner and the team a shared mail is shared with, the mention's, the
case's, the lead's, the respondent's) — and its assignee. Private mail never becomes an item.

Its work state: ``status`` (open, waiting for the customer, snoozed until ``snoozed_until``,
done), an assignee (a user and/or a team), and the first-response SLA: ``first_response_due_at``
from the channel's ``SlaPolicy``, met when ``first_responded_at`` is set no later.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kreis.core.models import Team


class InboxChannel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    WEBFORM = "webform", _("Web form")
    SOCIAL = "social", _("Social mention")
    SURVEY = "survey", _("Survey comment")
    COMPLAINT = "complaint", _("Complaint")


class ItemStatus(models.TextChoices):
    OPEN = "open", _("Open")
    PENDING = "pending", _("Waiting for the customer")
    SNOOZED = "snoozed", _("Snoozed")
    DONE = "done", _("Done")


class SlaPolicy(models.Model):
    """How soon an inbound message of a channel must get its first response. ``calendar``
    names a complaint SLA policy whose business hours and holidays count (the helper of
    ``kreis.service.sla``); without one the hours are clock hours."""

    channel = models.CharField(
        _("channel"), max_length=10, choices=InboxChannel.choices, unique=True
    )
    first_response_hours = models.PositiveIntegerField(
        _("first response within (hours)"), validators=[MinValueValidator(1)]
    )
    calendar = models.ForeignKey(
        "service.SlaPolicy",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("business hours of"),
        help_text=_("Count in the business hours of this complaint SLA; empty: clock hours."),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("inbox SLA policy")
        verbose_name_plural = _("inbox SLA policies")
        ordering = ["channel"]

    def __str__(self) -> str:
        return f"{self.get_channel_display()}: {self.first_response_hours} h"


def _user_fk(verbose_name, related_name="+"):
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name=related_name,
        verbose_name=verbose_name,
    )


def _team_fk(verbose_name):
    return models.ForeignKey(
        Team,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=verbose_name,
    )


class InboxItem(models.Model):
    channel = models.CharField(_("channel"), max_length=10, choices=InboxChannel.choices)
    source_type = models.CharField(_("source"), max_length=40, editable=False)
    source_id = models.BigIntegerField(_("source ID"), editable=False)
    # Items answered together: the mail thread ("mail:12"), the case ("case:3"), the mention.
    thread_key = models.CharField(max_length=40, blank=True, db_index=True, editable=False)
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    excerpt = models.TextField(_("excerpt"), blank=True)
    sender = models.CharField(_("from"), max_length=255, blank=True)
    received_at = models.DateTimeField(_("received"))
    party = models.ForeignKey(
        "parties.Party",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="inbox_items",
        verbose_name=_("party"),
    )
    case = models.ForeignKey(
        "service.Case",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("case"),
    )
    lead = models.ForeignKey(
        "leads.Lead",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("lead"),
    )
    deal = models.ForeignKey(
        "sales.Deal",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("deal"),
    )
    # Who may see it: the source record's owner and team.
    owner = _user_fk(_("owner"))
    team = _team_fk(_("team"))
    assignee = _user_fk(_("assigned to"), related_name="inbox_items")
    assigned_team = _team_fk(_("assigned team"))
    status = models.CharField(
        _("status"), max_length=10, choices=ItemStatus.choices, default=ItemStatus.OPEN
    )
    snoozed_until = models.DateTimeField(_("snoozed until"), null=True, blank=True)
    first_response_due_at = models.DateTimeField(_("first response due"), null=True, blank=True)
    first_responded_at = models.DateTimeField(_("first response"), null=True, blank=True)
    first_responded_by = _user_fk(_("first response by"))
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("inbox item")
        verbose_name_plural = _("inbox items")
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source_type", "source_id"], name="inbox_item_once_per_source"
            )
        ]
        indexes = [
            # The queue as each filter reads it, newest first (``queries.item_list_for_user``).
            models.Index(fields=["status", "received_at", "id"], name="inbox_status_time"),
            models.Index(fields=["team", "status", "received_at"], name="inbox_team_time"),
            models.Index(fields=["owner", "status", "received_at"], name="inbox_owner_time"),
            models.Index(fields=["assignee", "status", "received_at"], name="inbox_assignee_time"),
            models.Index(
                fields=["assigned_team", "status", "received_at"], name="inbox_ateam_time"
            ),
            models.Index(fields=["channel", "status", "received_at"], name="inbox_channel_time"),
            models.Index(fields=["party", "received_at"], name="inbox_party_time"),
            models.Index(
                fields=["first_response_due_at"],
                name="inbox_unanswered_due",
                condition=Q(first_responded_at__isnull=True),
            ),
            # "SLA breached" read per visibility branch (``queries.item_page_for_user``): a
            # team's unanswered items, not every unanswered item checked for the team.
            models.Index(
                fields=["team", "first_response_due_at"],
                name="inbox_team_unanswered_due",
                condition=Q(first_responded_at__isnull=True),
            ),
            models.Index(
                fields=["snoozed_until"], name="inbox_snoozed", condition=Q(status="snoozed")
            ),
        ]

    def __str__(self) -> str:
        return self.subject or f"{self.get_channel_display()} #{self.pk}"

    def is_breached(self, now) -> bool:
        """The first response came late, or is still missing after its due time."""
        due = self.first_response_due_at
        if due is None:
            return False
        if self.first_responded_at is not None:
            return self.first_responded_at > due
        return self.status != ItemStatus.DONE and due < now


class ItemChange(models.Model):
    """One change of an item's work state: who, when, which field, from, to."""

    item = models.ForeignKey(InboxItem, on_delete=models.CASCADE, related_name="changes")
    actor = _user_fk(_("by"))
    field = models.CharField(_("field"), max_length=20)
    from_value = models.CharField(_("from"), max_length=100, blank=True)
    to_value = models.CharField(_("to"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        verbose_name = _("inbox item change")
        verbose_name_plural = _("inbox item changes")
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.item_id} {self.field}: {self.from_value} → {self.to_value}"
