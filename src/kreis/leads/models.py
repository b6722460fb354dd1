"""Leads: interest not yet qualified, before it becomes a customer relationship.

Status flow: new → contacted → qualified or disqualified (with a reason). Qualification
follows BANT (budget, authority, need, timeline). Converting a qualified lead creates (or
reuses) the person and organisation and opens a deal — in one transaction.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from kreis.core.models import Team
from kreis.parties.models import Party, Tag
from kreis.sales.models import Deal


class LeadStatus(models.TextChoices):
    NEW = "new", _("New")
    CONTACTED = "contacted", _("Contacted")
    QUALIFIED = "qualified", _("Qualified")
    DISQUALIFIED = "disqualified", _("Disqualified")
    CONVERTED = "converted", _("Converted")


class DisqualifyReason(models.TextChoices):
    NO_BUDGET = "no_budget", _("No budget")
    NO_AUTHORITY = "no_authority", _("No decision authority")
    NO_NEED = "no_need", _("No need")
    BAD_TIMING = "bad_timing", _("Timing does not fit")
    COMPETITOR = "competitor", _("Chose a competitor")
    UNREACHABLE = "unreachable", _("Not reachable")
    SPAM = "spam", _("Spam or invalid")
    OTHER = "other", _("Other")


class Lead(models.Model):
    status = models.CharField(
        _("status"), max_length=12, choices=LeadStatus.choices, default=LeadStatus.NEW
    )
    salutation = models.CharField(_("salutation"), max_length=40, blank=True)
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100)
    company = models.CharField(_("company"), max_length=200, blank=True)
    position = models.CharField(_("position"), max_length=120, blank=True)
    email = models.CharField(_("e-mail"), max_length=254, blank=True, db_index=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True, db_index=True)
    website = models.URLField(_("website"), blank=True)
    source = models.CharField(_("source"), max_length=100, blank=True)
    # The existing customer who recommended the lead (DOMAIN.md §3: referrals).
    referred_by = models.ForeignKey(
        Party,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="referred_leads",
        verbose_name=_("referred by"),
    )
    # Qualification (BANT).
    budget = models.DecimalField(
        _("budget"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    authority = models.CharField(
        _("authority"), max_length=200, blank=True, help_text=_("Who decides, and how?")
    )
    need = models.TextField(_("need"), blank=True)
    timeline = models.DateField(_("timeline"), null=True, blank=True)
    disqualify_reason = models.CharField(
        _("disqualification reason"), max_length=20, choices=DisqualifyReason.choices, blank=True
    )
    disqualify_note = models.CharField(_("disqualification note"), max_length=300, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    custom = models.JSONField(_("custom fields"), default=dict, blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="leads", verbose_name=_("tags"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_leads",
        verbose_name=_("owner"),
    )
    team = models.ForeignKey(
        Team,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="leads",
        verbose_name=_("team"),
    )
    # Written by the lead scoring model (kreis.analytics): fit + engagement.
    score = models.FloatField(_("score"), null=True, blank=True)
    grade = models.CharField(_("grade"), max_length=8, blank=True)
    scored_at = models.DateTimeField(_("scored"), null=True, blank=True)
    # Lead management (kreis.marketing): what the handoff rules look at, the predictive score
    # (0–100, a conversion probability in percent) and when the lead became marketing-qualified.
    language = models.CharField(
        _("language"), max_length=2, choices=[("de", _("German")), ("en", _("English"))], blank=True
    )
    territory = models.CharField(_("territory"), max_length=100, blank=True)
    product_interest = models.ForeignKey(
        "commerce.Product",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("product interest"),
    )
    predicted_score = models.FloatField(_("predicted score"), null=True, blank=True)
    predicted_at = models.DateTimeField(_("predicted"), null=True, blank=True)
    mql_at = models.DateTimeField(_("marketing-qualified"), null=True, blank=True)
    converted_at = models.DateTimeField(_("converted"), null=True, blank=True)
    converted_person = models.ForeignKey(
        Party, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    converted_organization = models.ForeignKey(
        Party, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    converted_deal = models.ForeignKey(
        Deal, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    external_id = models.CharField(
        _("external ID"), max_length=100, null=True, blank=True, unique=True
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True)

    history = HistoricalRecords(
        excluded_fields=["updated_at", "score", "grade", "scored_at"], m2m_fields=[tags]
    )

    class Meta:
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["deleted_at", "created_at", "id"], name="lead_alive_created"),
            models.Index(fields=["deleted_at", "status"], name="lead_alive_status"),
            models.Index(fields=["owner", "team"], name="lead_owner_team"),
        ]

    def __str__(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return f"{name} ({self.company})" if self.company else name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()
