"""Two-way e-mail (DOMAIN.md §1, communicative CRM): the mailboxes people connect, the mail
synced from them, and what Kreis knows about an address's deliverability.

- ``MailAccount``: a personal mailbox (``owner``) or a team's shared one (``team``), with its
  IMAP and SMTP settings; passwords are stored encrypted (``kreis.core.crypto``), never shown.
- ``FolderState``: how far the sync got in one folder (UIDVALIDITY and the last UID taken).
- ``Message``: one mail, stored once per mailbox (its Message-ID), in a ``Thread``; linked to
  the parties whose addresses it names. ``is_shared`` says whether the owner's sharing
  settings let it reach the CRM: only shared mail is on a timeline or seen by others.
- ``Attachment``: a file of a message, in Django's storage under the data folder.
- ``AddressStatus``: hard bounces (the address is invalid) and soft bounces (counted) by
  normalised address — no change to the parties app's contact points.
- ``EmailTemplate``: wording with merge fields, per language.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from kreis.activities.models import Activity
from kreis.core.models import Team
from kreis.parties.models import Party

LANGUAGES = [("de", _("German")), ("en", _("English"))]


class Security(models.TextChoices):
    SSL = "ssl", _("SSL/TLS")
    STARTTLS = "starttls", _("STARTTLS")
    NONE = "none", _("None (this machine only)")


class ShareMode(models.TextChoices):
    ALL = "all", _("All mail in the chosen folders")
    KNOWN = "known", _("Only mail with known parties")
    NONE = "none", _("Nothing (private mailbox)")


class RuleAction(models.TextChoices):
    NEVER = "never", _("Never share")
    ALWAYS = "always", _("Always share")


class MailAccount(models.Model):
    name = models.CharField(_("name"), max_length=120)
    email_address = models.EmailField(_("e-mail address"))
    display_name = models.CharField(_("sender name"), max_length=120, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="mail_accounts",
        verbose_name=_("owner"),
        help_text=_("A personal mailbox belongs to one user …"),
    )
    team = models.ForeignKey(
        Team,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="mail_accounts",
        verbose_name=_("team"),
        help_text=_("… a shared mailbox to a team."),
    )
    imap_host = models.CharField(_("IMAP server"), max_length=255)
    imap_port = models.PositiveIntegerField(_("IMAP port"), default=993)
    imap_security = models.CharField(
        _("IMAP security"), max_length=10, choices=Security.choices, default=Security.SSL
    )
    imap_username = models.CharField(_("IMAP user name"), max_length=255)
    imap_password_encrypted = models.TextField(blank=True, editable=False)
    smtp_host = models.CharField(_("SMTP server"), max_length=255, blank=True)
    smtp_port = models.PositiveIntegerField(_("SMTP port"), default=587)
    smtp_security = models.CharField(
        _("SMTP security"), max_length=10, choices=Security.choices, default=Security.STARTTLS
    )
    smtp_username = models.CharField(
        _("SMTP user name"), max_length=255, blank=True, help_text=_("Empty: the IMAP user name.")
    )
    smtp_password_encrypted = models.TextField(blank=True, editable=False)
    folders = models.CharField(
        _("folders"),
        max_length=1000,
        default="INBOX",
        help_text=_("The folders to sync, separated by commas (sub-folders with “/”)."),
    )
    sent_folder = models.CharField(_("sent folder"), max_length=255, default="Sent")
    share_mode = models.CharField(
        _("shared with the CRM"), max_length=10, choices=ShareMode.choices, default=ShareMode.KNOWN
    )
    is_active = models.BooleanField(_("active"), default=True)
    last_sync_at = models.DateTimeField(_("last sync"), null=True, blank=True, editable=False)
    last_error = models.TextField(_("last error"), blank=True, editable=False)
    # Progress of the running sync: messages fetched of those found new.
    sync_total = models.PositiveIntegerField(default=0, editable=False)
    sync_done = models.PositiveIntegerField(default=0, editable=False)
    sync_running = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("e-mail account")
        verbose_name_plural = _("e-mail accounts")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return f"{self.name} <{self.email_address}>"

    def clean(self) -> None:
        if bool(self.owner_id) == bool(self.team_id):
            raise ValidationError(
                _("An account is either personal (an owner) or shared (a team), not both.")
            )

    @property
    def is_shared_mailbox(self) -> bool:
        return self.team_id is not None

    @property
    def has_imap_password(self) -> bool:
        return bool(self.imap_password_encrypted)

    @property
    def has_smtp_password(self) -> bool:
        return bool(self.smtp_password_encrypted)

    def folder_list(self) -> list[str]:
        names = [name.strip() for name in self.folders.split(",") if name.strip()]
        return names or ["INBOX"]


class SharingRule(models.Model):
    """Share or never share mail with an address or a whole domain (``@family.example``);
    the first matching rule wins over the account's share mode, "never" before "always"."""

    account = models.ForeignKey(MailAccount, on_delete=models.CASCADE, related_name="rules")
    pattern = models.CharField(
        _("address or domain"),
        max_length=254,
        help_text=_("an address (anna@example.com) or a domain (@example.com)"),
    )
    action = models.CharField(_("action"), max_length=10, choices=RuleAction.choices)

    class Meta:
        verbose_name = _("sharing rule")
        verbose_name_plural = _("sharing rules")
        ordering = ["action", "pattern"]
        constraints = [
            models.UniqueConstraint(fields=["account", "pattern"], name="comms_rule_unique")
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()}: {self.pattern}"


class FolderState(models.Model):
    account = models.ForeignKey(MailAccount, on_delete=models.CASCADE, related_name="states")
    name = models.CharField(max_length=255)
    uidvalidity = models.BigIntegerField(null=True, blank=True)
    last_uid = models.BigIntegerField(default=0)
    synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "name"], name="comms_folder_unique")
        ]

    def __str__(self) -> str:
        return self.name


class Thread(models.Model):
    account = models.ForeignKey(MailAccount, on_delete=models.CASCADE, related_name="threads")
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    # The fallback key for mail without references: normalised subject and participants.
    subject_key = models.CharField(max_length=255, blank=True)
    participants_key = models.CharField(max_length=1000, blank=True)
    last_message_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = _("thread")
        verbose_name_plural = _("threads")
        indexes = [models.Index(fields=["account", "subject_key"], name="comms_thread_subject")]

    def __str__(self) -> str:
        return self.subject


class Direction(models.TextChoices):
    INBOUND = "inbound", _("Inbound")
    OUTBOUND = "outbound", _("Outbound")


class Message(models.Model):
    account = models.ForeignKey(MailAccount, on_delete=models.CASCADE, related_name="messages")
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="messages")
    folder = models.CharField(_("folder"), max_length=255, blank=True)
    uid = models.BigIntegerField(null=True, blank=True)
    message_id = models.CharField(_("Message-ID"), max_length=255)
    direction = models.CharField(_("direction"), max_length=8, choices=Direction.choices)
    from_address = models.CharField(_("from"), max_length=254, blank=True)
    from_name = models.CharField(_("sender"), max_length=255, blank=True)
    to_addresses = models.JSONField(_("to"), default=list, blank=True)
    cc_addresses = models.JSONField(_("cc"), default=list, blank=True)
    subject = models.CharField(_("subject"), max_length=998, blank=True)
    sent_at = models.DateTimeField(_("date"), db_index=True)
    text = models.TextField(_("text"), blank=True)
    html = models.TextField(blank=True, help_text=_("As received; sanitised when shown."))
    in_reply_to = models.CharField(max_length=255, blank=True)
    references = models.TextField(blank=True)
    is_shared = models.BooleanField(_("shared with the CRM"), default=False)
    is_bounce = models.BooleanField(_("delivery report"), default=False)
    show_images = models.BooleanField(_("show remote images"), default=False)
    # Who sees a shared message besides the mailbox's people: this team (search, lists).
    team = models.ForeignKey(
        Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    parties = models.ManyToManyField(
        Party, blank=True, related_name="mail_messages", verbose_name=_("parties")
    )
    activity = models.OneToOneField(
        Activity,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="mail_message",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("e-mail")
        verbose_name_plural = _("e-mails")
        ordering = ["-sent_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["account", "message_id"], name="comms_message_once")
        ]
        indexes = [models.Index(fields=["message_id"], name="comms_message_id")]

    def __str__(self) -> str:
        return self.subject

    def reference_ids(self) -> list[str]:
        return self.references.split()

    def recipients(self) -> list[str]:
        return [*self.to_addresses, *self.cc_addresses]


def attachment_path(instance: Attachment, filename: str) -> str:
    return f"mail/{instance.message.account_id}/{instance.message_id}/{filename}"


class Attachment(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size"))
    content_id = models.CharField(max_length=255, blank=True)
    # Empty when the file was larger than the limit (listed, not kept).
    file = models.FileField(upload_to=attachment_path, max_length=500, blank=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.filename


class AddressStatus(models.Model):
    address = models.CharField(_("address"), max_length=254, unique=True)
    hard_bounced_at = models.DateTimeField(_("invalid since"), null=True, blank=True)
    soft_bounces = models.PositiveIntegerField(_("soft bounces"), default=0)
    last_bounce_at = models.DateTimeField(_("last bounce"), null=True, blank=True)
    last_status = models.CharField(_("status code"), max_length=20, blank=True)
    last_diagnostic = models.TextField(_("diagnostic"), blank=True)

    class Meta:
        verbose_name = _("address status")
        verbose_name_plural = _("address statuses")
        ordering = ["address"]

    def __str__(self) -> str:
        return self.address

    @property
    def is_invalid(self) -> bool:
        return self.hard_bounced_at is not None


class EmailTemplate(models.Model):
    name = models.CharField(_("name"), max_length=120)
    language = models.CharField(_("language"), max_length=2, choices=LANGUAGES)
    subject = models.CharField(_("subject"), max_length=255)
    body = models.TextField(_("text"))
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("e-mail template")
        verbose_name_plural = _("e-mail templates")
        ordering = ["name", "language"]
        constraints = [
            models.UniqueConstraint(fields=["name", "language"], name="comms_template_unique")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.language})"
