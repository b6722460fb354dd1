"""Activities on one timeline: every interaction with a party, on any channel, is one row.

Tasks, calls, meetings and notes are kinds of ``Activity``; later channels (e-mail, portal,
cases, surveys) add kinds to the same table, so a party's timeline is one ordered query.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kreis.core.models import Team
from kreis.leads.models import Lead
from kreis.parties.models import Party
from kreis.sales.models import Deal


class ActivityKind(models.TextChoices):
    TASK = "task", _("Task")
    CALL = "call", _("Call")
    MEETING = "meeting", _("Meeting")
    NOTE = "note", _("Note")
    EMAIL = "email", _("E-mail")


# Bootstrap Icons name per kind: the timeline's channel symbol.
KIND_ICONS = {
    ActivityKind.TASK: "check2-square",
    ActivityKind.CALL: "telephone",
    ActivityKind.MEETING: "people",
    ActivityKind.NOTE: "sticky",
    ActivityKind.EMAIL: "envelope",
}


class Direction(models.TextChoices):
    INBOUND = "inbound", _("Inbound")
    OUTBOUND = "outbound", _("Outbound")


class CallOutcome(models.TextChoices):
    REACHED = "reached", _("Reached")
    VOICEMAIL = "voicemail", _("Left a voicemail")
    NO_ANSWER = "no_answer", _("No answer")
    BUSY = "busy", _("Busy")
    WRONG_NUMBER = "wrong_number", _("Wrong number")


class Activity(models.Model):
    kind = models.CharField(_("kind"), max_length=20, choices=ActivityKind.choices)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("details"), blank=True, help_text=_("Sanitised HTML."))
    # When it happened (calls, notes, e-mails) or starts (meetings) or is due (tasks):
    # the timeline's order.
    occurred_at = models.DateTimeField(_("date"))
    ends_at = models.DateTimeField(_("ends"), null=True, blank=True)
    reminder_at = models.DateTimeField(_("reminder"), null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True, editable=False)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    direction = models.CharField(
        _("direction"), max_length=8, choices=Direction.choices, blank=True
    )
    duration_minutes = models.PositiveIntegerField(_("duration (minutes)"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=20, choices=CallOutcome.choices, blank=True)
    location = models.CharField(_("location"), max_length=200, blank=True)
    party = models.ForeignKey(
        Party,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="activities",
        verbose_name=_("party"),
    )
    deal = models.ForeignKey(
        Deal,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="activities",
        verbose_name=_("deal"),
    )
    lead = models.ForeignKey(
        Lead,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="activities",
        verbose_name=_("lead"),
    )
    attendees = models.ManyToManyField(
        Party, blank=True, related_name="meetings_attended", verbose_name=_("attendees")
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_activities",
        verbose_name=_("assignee"),
    )
    team = models.ForeignKey(
        Team,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="activities",
        verbose_name=_("team"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    external_id = models.CharField(
        _("external ID"), max_length=100, null=True, blank=True, unique=True
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True)

    class Meta:
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        ordering = ["-occurred_at", "-pk"]
        indexes = [
            models.Index(fields=["party", "occurred_at"], name="activity_party_timeline"),
            models.Index(fields=["deal", "occurred_at"], name="activity_deal_timeline"),
            models.Index(fields=["lead", "occurred_at"], name="activity_lead_timeline"),
            models.Index(fields=["owner", "done_at", "occurred_at"], name="activity_my_day"),
            models.Index(fields=["deleted_at", "occurred_at", "id"], name="activity_alive_date"),
            # The warehouse's incremental refresh: what changed since the last one.
            models.Index(fields=["updated_at"], name="activity_updated"),
        ]

    def __str__(self) -> str:
        return self.subject

    @property
    def is_open_task(self) -> bool:
        return self.kind == ActivityKind.TASK and self.done_at is None

    @property
    def is_overdue(self) -> bool:
        return self.is_open_task and self.occurred_at < timezone.now()

    @property
    def icon(self) -> str:
        return KIND_ICONS.get(self.kind, "calendar")
