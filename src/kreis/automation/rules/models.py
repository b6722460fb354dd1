"""Automation rules: when something happens (trigger), if conditions hold, do actions.

A rule's conditions and actions are lists of small dicts (``kreis.automation.rules.spec``
describes and validates them), so a rule is exported and imported as JSON as it is stored.
Every evaluation is logged as a ``RuleRun``; ``RuleOccasion`` remembers which date-based
occasion (a last order date, a contract end, an SLA deadline) already fired for a record.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kreis.automation.keys import new_secret


class TriggerKind(models.TextChoices):
    RECORD_CREATED = "record.created", _("A record is created")
    RECORD_UPDATED = "record.updated", _("A record is changed")
    RECORD_DELETED = "record.deleted", _("A record is deleted")
    FIELD_CHANGED = "field.changed", _("A field changes")
    DEAL_STAGE_CHANGED = "deal.stage_changed", _("A deal's stage changes")
    PHASE_CHANGED = "party.phase_changed", _("A customer's lifecycle phase changes")
    SCORE_CROSSED = "score.crossed", _("A score crosses a threshold")
    NO_ORDER = "date.no_order", _("No order for a number of days")
    CONTRACT_ENDS = "date.contract_ends", _("A contract ends in a number of days")
    FORM_SUBMITTED = "form.submitted", _("A web form is submitted")
    CASE_OPENED = "case.opened", _("A case is opened")
    SLA_BREACHED = "case.sla_breached", _("A case breaches its SLA")
    SURVEY_ANSWERED = "survey.answered", _("A survey is answered")
    WEBHOOK_RECEIVED = "webhook.received", _("A webhook is received")


class RecordType(models.TextChoices):
    PARTY = "party", _("Organisation or person")
    LEAD = "lead", _("Lead")
    DEAL = "deal", _("Deal")
    ACTIVITY = "activity", _("Activity")
    TRANSACTION = "transaction", _("Transaction")
    CASE = "case", _("Case")


def new_token() -> str:
    return secrets.token_urlsafe(24)


def new_inbound_secret() -> str:
    return new_secret()


class Rule(models.Model):
    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    # New rules start disabled: try them on a record first.
    enabled = models.BooleanField(_("enabled"), default=False)
    trigger = models.CharField(_("trigger"), max_length=30, choices=TriggerKind.choices)
    record_type = models.CharField(
        _("record type"), max_length=12, choices=RecordType.choices, blank=True
    )
    # field, from_value, to_value, stage_id, phase, threshold, days, form_id, survey_id
    trigger_config = models.JSONField(_("trigger settings"), default=dict, blank=True)
    match = models.CharField(
        _("match"),
        max_length=3,
        choices=[("all", _("all conditions")), ("any", _("any condition"))],
        default="all",
    )
    conditions = models.JSONField(_("conditions"), default=list, blank=True)
    actions = models.JSONField(_("actions"), default=list, blank=True)
    # The inbound webhook of a "webhook received" rule: /hooks/rules/<token>/, signed with
    # the Standard Webhooks secret.
    inbound_token = models.CharField(max_length=40, unique=True, default=new_token, editable=False)
    inbound_secret = models.CharField(max_length=80, default=new_inbound_secret, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("automation rule")
        verbose_name_plural = _("automation rules")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name


class RunStatus(models.TextChoices):
    SUCCEEDED = "succeeded", _("Succeeded")
    NOT_MET = "not_met", _("Conditions not met")
    RETRYING = "retrying", _("Retrying")
    FAILED = "failed", _("Failed")
    STOPPED = "stopped", _("Stopped (loop)")


class RuleRun(models.Model):
    """One evaluation of a rule for one record: conditions with their results, each action
    with its result or error, the chain it belongs to."""

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="runs")
    trigger = models.CharField(_("trigger"), max_length=30)
    record_type = models.CharField(_("record type"), max_length=12, blank=True)
    record_id = models.BigIntegerField(_("record ID"), null=True, blank=True)
    record_label = models.CharField(_("record"), max_length=200, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=RunStatus.choices)
    conditions = models.JSONField(_("conditions"), default=list)
    actions = models.JSONField(_("actions"), default=list)
    error = models.CharField(_("error"), max_length=500, blank=True)
    chain_id = models.CharField(_("chain"), max_length=32, db_index=True)
    depth = models.PositiveSmallIntegerField(_("depth"), default=0)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=1)
    event = models.JSONField(_("event"), default=dict)
    started_at = models.DateTimeField(_("started"), db_index=True)
    duration_ms = models.FloatField(_("duration (ms)"), default=0)

    class Meta:
        verbose_name = _("rule run")
        verbose_name_plural = _("rule runs")
        ordering = ["-started_at", "-pk"]
        indexes = [models.Index(fields=["rule", "-started_at"], name="rule_run_log")]

    def __str__(self) -> str:
        return f"{self.rule_id} {self.trigger} {self.record_type}:{self.record_id}"


class RuleOccasion(models.Model):
    """A date-based occasion already fired for a record (fires once, not every day)."""

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="+")
    record_id = models.BigIntegerField()
    key = models.CharField(max_length=40)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rule", "record_id", "key"], name="rule_occasion_once")
        ]

    def __str__(self) -> str:
        return f"{self.rule_id} {self.record_id} {self.key}"
