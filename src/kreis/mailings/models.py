"""Mass mailings (issue 15 item 3): a mailing to a segment, its recipients with what became of
each, and the suppression list.

A recipient row walks ``queued → claimed → sent`` (or ``skipped`` with a reason, ``failed``,
``uncertain``, ``cancelled``); ``kreis.mailings.sending`` explains the claim protocol that
keeps a mail from going out twice. Bounces, replies and unsubscribes are read from
``kreis.comms`` and ``kreis.marketing`` afterwards (``results.refresh``) and stamped on the
row.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kreis.core.models import Team
from kreis.marketing.models import Campaign, ConsentPurpose, Segment
from kreis.parties.models import Party

PURPOSES = [
    (ConsentPurpose.NEWSLETTER.value, ConsentPurpose.NEWSLETTER.label),
    (ConsentPurpose.MARKETING.value, ConsentPurpose.MARKETING.label),
    (ConsentPurpose.EVENTS.value, ConsentPurpose.EVENTS.label),
]


class MailingState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SENDING = "sending", _("Sending")
    PAUSED = "paused", _("Paused")
    CANCELLED = "cancelled", _("Cancelled")
    FINISHED = "finished", _("Finished")


class Mailing(models.Model):
    """One mass mailing: to the members of ``segment``, with the text of the comms e-mail
    template ``template_name`` (in each recipient's language) or its own subject and body."""

    name = models.CharField(_("name"), max_length=120)
    segment = models.ForeignKey(
        Segment, on_delete=models.PROTECT, related_name="mailings", verbose_name=_("segment")
    )
    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="mailings",
        verbose_name=_("campaign"),
    )
    purpose = models.CharField(
        _("consent purpose"),
        max_length=12,
        choices=PURPOSES,
        default=ConsentPurpose.NEWSLETTER.value,
        help_text=_("Only contacts with a valid consent for this purpose receive the mailing."),
    )
    template_name = models.CharField(
        _("e-mail template"),
        max_length=120,
        blank=True,
        help_text=_("Picked in each recipient's language; else the subject and text below."),
    )
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    body = models.TextField(_("text"), blank=True)
    rate = models.PositiveIntegerField(
        _("messages per second"),
        null=True,
        blank=True,
        help_text=_("Empty: the site's default."),
    )
    state = models.CharField(
        _("state"), max_length=10, choices=MailingState.choices, default=MailingState.DRAFT
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="mailings",
        verbose_name=_("owner"),
    )
    team = models.ForeignKey(
        Team,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="mailings",
        verbose_name=_("team"),
    )
    # Where the unsubscribe links point when the marketing settings name no public address:
    # the host of the request that started the mailing.
    link_base = models.CharField(max_length=200, blank=True, editable=False)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("mailing")
        verbose_name_plural = _("mailings")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.name


class RecipientState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    CLAIMED = "claimed", _("Being sent")
    SENT = "sent", _("Sent")
    SKIPPED = "skipped", _("Skipped")
    FAILED = "failed", _("Failed")
    UNCERTAIN = "uncertain", _("Unknown (worker stopped while sending)")
    CANCELLED = "cancelled", _("Cancelled")


class SkipReason(models.TextChoices):
    NO_ADDRESS = "no_address", _("No e-mail address")
    NO_CONSENT = "no_consent", _("No consent")
    CONSENT_PENDING = "consent_pending", _("Consent not yet confirmed")
    CONSENT_WITHDRAWN = "consent_withdrawn", _("Consent withdrawn")
    SUPPRESSED = "suppressed", _("On the suppression list")
    HARD_BOUNCE = "hard_bounce", _("Address invalid (hard bounce)")
    OPTED_OUT = "opted_out", _("Wants no e-mail (channel preferences)")


class Recipient(models.Model):
    mailing = models.ForeignKey(Mailing, on_delete=models.CASCADE, related_name="recipients")
    party = models.ForeignKey(
        Party,
        on_delete=models.CASCADE,
        related_name="mailing_recipients",
        verbose_name=_("party"),
    )
    email = models.CharField(_("e-mail"), max_length=254, blank=True)
    language = models.CharField(_("language"), max_length=2, default="de")
    state = models.CharField(
        _("state"), max_length=10, choices=RecipientState.choices, default=RecipientState.QUEUED
    )
    skip_reason = models.CharField(
        _("reason"), max_length=20, choices=SkipReason.choices, blank=True
    )
    error = models.CharField(_("error"), max_length=300, blank=True)
    claim_token = models.CharField(max_length=32, blank=True, db_index=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    consent_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    message_id = models.CharField(_("Message-ID"), max_length=255, blank=True, db_index=True)
    bounced_at = models.DateTimeField(_("bounced"), null=True, blank=True)
    hard_bounce = models.BooleanField(_("hard bounce"), default=False)
    replied_at = models.DateTimeField(_("replied"), null=True, blank=True)
    unsubscribed_at = models.DateTimeField(_("unsubscribed"), null=True, blank=True)

    class Meta:
        verbose_name = _("mailing recipient")
        verbose_name_plural = _("mailing recipients")
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["mailing", "party"], name="mailing_recipient_once")
        ]
        indexes = [models.Index(fields=["mailing", "state", "id"], name="mailing_recipient_state")]

    def __str__(self) -> str:
        return self.email or str(self.party_id)


class SuppressionSource(models.TextChoices):
    ADMIN = "admin", _("Admin")
    UI = "ui", _("Web UI")
    API = "api", _("API")
    CLI = "cli", _("Command line")
    IMPORT = "import", _("Import")


class Suppression(models.Model):
    """An address (``name@example.com``) or a whole domain (``example.com``) no mailing
    writes to, whatever the consents say."""

    value = models.CharField(_("address or domain"), max_length=254, unique=True)
    is_domain = models.BooleanField(_("domain"), default=False)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    source = models.CharField(
        _("added from"), max_length=6, choices=SuppressionSource.choices, default="ui"
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("added by"),
    )
    created_at = models.DateTimeField(_("added"), auto_now_add=True)

    class Meta:
        verbose_name = _("suppression")
        verbose_name_plural = _("suppression list")
        ordering = ["value"]

    def __str__(self) -> str:
        return self.value


class SampleSend(models.Model):
    """A test of a mailing on a sample: the mail as a few recipients would get it, sent to
    the tester's own addresses and marked as a test."""

    mailing = models.ForeignKey(Mailing, on_delete=models.CASCADE, related_name="samples")
    to = models.JSONField(_("sent to"), default=list)
    sample_of = models.JSONField(_("as for"), default=list)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    sent_at = models.DateTimeField(_("sent"), auto_now_add=True)

    class Meta:
        verbose_name = _("sample send")
        verbose_name_plural = _("sample sends")
        ordering = ["-sent_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.mailing_id} {self.sent_at:%Y-%m-%d %H:%M}"
