"""Outgoing webhooks: who wants which events where, and every delivery with its attempts.

Deliveries follow the Standard Webhooks specification (https://www.standardwebhooks.com/):
a JSON body ``{"type", "timestamp", "data"}`` with the headers ``webhook-id``,
``webhook-timestamp`` and ``webhook-signature`` (``v1,<base64 HMAC-SHA256>`` over
``"<id>.<timestamp>.<body>"`` with the subscription's ``whsec_…`` secret).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kreis.automation.keys import SECRET_PREFIX, new_secret  # noqa: F401 (migration 0001)


class WebhookEvent(models.TextChoices):
    """What a subscription can ask for: ``<record>.<what happened>``."""

    PARTY_CREATED = "party.created", _("Organisation or person created")
    PARTY_UPDATED = "party.updated", _("Organisation or person changed")
    PARTY_DELETED = "party.deleted", _("Organisation or person deleted")
    PARTY_PHASE_CHANGED = "party.phase_changed", _("Lifecycle phase changed")
    LEAD_CREATED = "lead.created", _("Lead created")
    LEAD_UPDATED = "lead.updated", _("Lead changed")
    LEAD_DELETED = "lead.deleted", _("Lead deleted")
    LEAD_QUALIFIED = "lead.qualified", _("Lead marketing-qualified (MQL threshold reached)")
    DEAL_CREATED = "deal.created", _("Deal created")
    DEAL_UPDATED = "deal.updated", _("Deal changed")
    DEAL_DELETED = "deal.deleted", _("Deal deleted")
    DEAL_STAGE_CHANGED = "deal.stage_changed", _("Deal stage changed")
    ACTIVITY_CREATED = "activity.created", _("Activity created")
    ACTIVITY_UPDATED = "activity.updated", _("Activity changed")
    ACTIVITY_DELETED = "activity.deleted", _("Activity deleted")
    TRANSACTION_CREATED = "transaction.created", _("Transaction created")
    TRANSACTION_UPDATED = "transaction.updated", _("Transaction changed")
    TRANSACTION_DELETED = "transaction.deleted", _("Transaction deleted")
    IMPORT_FINISHED = "import.finished", _("Import finished")


# Sent by "Send test event"; nobody subscribes to it.
TEST_EVENT = "webhook.test"


class WebhookSubscription(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="webhook_subscriptions",
        verbose_name=_("owner"),
    )
    name = models.CharField(_("name"), max_length=100)
    target_url = models.URLField(_("target URL"), max_length=500)
    events = models.JSONField(_("events"), default=list)
    # Needed to sign, so kept as it is; shown once on creation and after each rotation.
    secret = models.CharField(max_length=80, default=new_secret, editable=False)
    # After a rotation the old secret signs too for a day, so receivers can switch over.
    previous_secret = models.CharField(max_length=80, blank=True, editable=False)
    previous_secret_until = models.DateTimeField(null=True, blank=True, editable=False)
    # Only events about members of this segment (a party's own events and those of its deals,
    # activities, transactions and converted leads); when it is deleted, the subscription is
    # disabled rather than widened to every record.
    segment = models.ForeignKey(
        "marketing.Segment",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="webhook_subscriptions",
        verbose_name=_("only for the segment"),
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    failure_streak = models.PositiveIntegerField(_("failed attempts in a row"), default=0)
    failing_since = models.DateTimeField(_("failing since"), null=True, blank=True)
    disabled_reason = models.CharField(_("why it was disabled"), max_length=300, blank=True)
    allow_private_target = models.BooleanField(
        _("allow a private or local target"),
        default=False,
        help_text=_(
            "Administrators only: allow this exact target URL although it is on a private, "
            "local or loopback address. Changing the URL withdraws the permission."
        ),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def secret_hint(self) -> str:
        """Enough of the secret to tell which one a receiver has, not enough to sign."""
        return f"{self.secret[:10]}…"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SUCCEEDED = "succeeded", _("Delivered")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Not sent")


class WebhookDelivery(models.Model):
    """One message to one subscription, with the outcome of its last attempt."""

    subscription = models.ForeignKey(
        WebhookSubscription,
        on_delete=models.CASCADE,
        related_name="deliveries",
        verbose_name=_("subscription"),
    )
    event_type = models.CharField(_("event"), max_length=40)
    # The same on a redelivery, so a receiver can tell it has seen the message.
    webhook_id = models.CharField(_("webhook ID"), max_length=40, db_index=True)
    payload = models.JSONField(_("payload"))
    # The record the event is about, checked against the owner's permissions when sent.
    record_model = models.CharField(max_length=60, blank=True)
    record_id = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    response_code = models.PositiveSmallIntegerField(_("response code"), null=True, blank=True)
    response_excerpt = models.TextField(_("response"), blank=True)
    error = models.CharField(_("error"), max_length=300, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    # A worker that is sending it holds it until then (a crashed worker's claim runs out).
    claimed_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["subscription", "-created_at"], name="delivery_log"),
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.subscription_id} ({self.webhook_id})"


# The automation rules live in their own subpackage; Django finds models in this module.
from kreis.automation.rules.models import (  # noqa: E402
    RecordType,
    Rule,
    RuleOccasion,
    RuleRun,
    RunStatus,
    TriggerKind,
)

__all__ = [
    "DeliveryStatus",
    "RecordType",
    "Rule",
    "RuleOccasion",
    "RuleRun",
    "RunStatus",
    "TriggerKind",
    "WebhookDelivery",
    "WebhookEvent",
    "WebhookSubscription",
]
