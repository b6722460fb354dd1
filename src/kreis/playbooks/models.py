"""Retention and win-back playbooks (DOMAIN.md §4.2–4.3).

A playbook is an ordered list of steps with delays. A lifecycle phase change (or the rule
engine, or a user) enrols parties; each enrolled party walks the steps, one task for the
account owner per step, until an exit condition ends it (the customer ordered again, left the
recovery phases, a deal was won, removed by hand) or the last step is done. A share of the
entrants (the hold-out, chosen deterministically at random) is kept as a control group: they
get no steps but are measured the same way, so the effect of a playbook is measured rather
than assumed.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from kreis.analytics.customer.models import PhaseChange
from kreis.parties.models import LifecyclePhase, Party


class PlaybookKind(models.TextChoices):
    RETENTION = "retention", _("Retention")
    WINBACK = "winback", _("Win-back")
    OTHER = "other", _("Other")


class StepAction(models.TextChoices):
    TASK = "task", _("Task for the account owner")
    CALL = "call", _("Call task")
    OFFER = "offer", _("Personalised offer")


class EnrollmentStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    COMPLETED = "completed", _("Completed")
    EXITED = "exited", _("Exited")
    HELD_OUT = "held_out", _("Held out (control group)")


class ExitReason(models.TextChoices):
    ORDERED = "ordered", _("Ordered again")
    PHASE_LEFT = "phase_left", _("Left the recovery phases")
    DEAL_WON = "deal_won", _("Deal won")
    MANUAL = "manual", _("Removed by hand")
    RULE = "rule", _("Stopped by a rule")
    WINDOW_ENDED = "window_ended", _("Measurement window ended")


# The phases a customer is "recovered" in: leaving the recovery phases for one of these ends a
# retention playbook (and counts as retained).
RECOVERED_PHASES = (
    LifecyclePhase.SOCIALIZATION,
    LifecyclePhase.GROWTH,
    LifecyclePhase.MATURITY,
)


class Playbook(models.Model):
    key = models.SlugField(
        _("key"),
        max_length=40,
        unique=True,
        null=True,
        blank=True,
        help_text=_("Set for the playbooks Kreis ships."),
    )
    name_de = models.CharField(_("name (German)"), max_length=120)
    name_en = models.CharField(_("name (English)"), max_length=120)
    description_de = models.TextField(_("description (German)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    kind = models.CharField(_("kind"), max_length=10, choices=PlaybookKind.choices)
    entry_phases = models.JSONField(
        _("entry phases"),
        default=list,
        blank=True,
        help_text=_("A customer entering one of these lifecycle phases is enrolled."),
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    holdout_percent = models.PositiveSmallIntegerField(
        _("control group (%)"),
        default=10,
        validators=[MinValueValidator(0), MaxValueValidator(50)],
        help_text=_("Share of entrants held out as a control group: no steps, but measured."),
    )
    window_days = models.PositiveSmallIntegerField(
        _("measurement window (days)"),
        default=90,
        validators=[MinValueValidator(1), MaxValueValidator(730)],
    )
    relationship_types = models.ManyToManyField(
        "marketing.RelationshipType",
        blank=True,
        related_name="playbooks",
        verbose_name=_("relationship types"),
        help_text=_("Only customers of these relationship types are enrolled (none: all)."),
    )
    exit_on_order = models.BooleanField(_("exit when the customer orders again"), default=True)
    exit_on_phase_left = models.BooleanField(
        _("exit when the customer leaves the recovery phases"), default=True
    )
    exit_on_deal_won = models.BooleanField(_("exit when a deal is won"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("playbook")
        verbose_name_plural = _("playbooks")
        ordering = ["kind", "name_de", "pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.name_en if translation.get_language() == "en" else self.name_de

    @property
    def description(self) -> str:
        return self.description_en if translation.get_language() == "en" else self.description_de

    def entry_phase_labels(self) -> list[str]:
        labels = dict(LifecyclePhase.choices)
        return [str(labels.get(p, p)) for p in self.entry_phases]


class PlaybookStep(models.Model):
    playbook = models.ForeignKey(
        Playbook, on_delete=models.CASCADE, related_name="steps", verbose_name=_("playbook")
    )
    position = models.PositiveSmallIntegerField(_("position"))
    delay_days = models.PositiveSmallIntegerField(
        _("delay (days)"),
        default=0,
        validators=[MaxValueValidator(365)],
        help_text=_("Days after the previous step (after the entry for the first step)."),
    )
    action = models.CharField(_("action"), max_length=10, choices=StepAction.choices)
    due_days = models.PositiveSmallIntegerField(
        _("due within (days)"), default=2, validators=[MaxValueValidator(365)]
    )
    title_de = models.CharField(_("title (German)"), max_length=200)
    title_en = models.CharField(_("title (English)"), max_length=200)
    description_de = models.TextField(_("description (German)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    send_email = models.BooleanField(
        _("also send a marketing e-mail"),
        default=False,
        help_text=_("Only to customers whose consent allows it (offers and product information)."),
    )
    # A personalised offer step drafts a deal and a quote from the customer's own purchases.
    offer_products = models.PositiveSmallIntegerField(
        _("products in the offer"),
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(10)],
        help_text=_("The customer's most-bought products by revenue (personalised offer only)."),
    )
    offer_months = models.PositiveSmallIntegerField(
        _("purchases of the last (months)"),
        default=24,
        validators=[MinValueValidator(1), MaxValueValidator(120)],
        help_text=_("How far back the customer's purchases count (personalised offer only)."),
    )

    class Meta:
        verbose_name = _("playbook step")
        verbose_name_plural = _("playbook steps")
        ordering = ["playbook", "position"]
        constraints = [
            models.UniqueConstraint(fields=["playbook", "position"], name="playbookstep_position")
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.title}"

    @property
    def title(self) -> str:
        return self.title_en if translation.get_language() == "en" else self.title_de

    @property
    def description(self) -> str:
        return self.description_en if translation.get_language() == "en" else self.description_de

    def title_in(self, language: str) -> str:
        return self.title_en if language == "en" else self.title_de

    def description_in(self, language: str) -> str:
        return self.description_en if language == "en" else self.description_de


class Enrollment(models.Model):
    """One party in one playbook. Open (``finished_at`` empty) at most once per playbook."""

    playbook = models.ForeignKey(
        Playbook, on_delete=models.CASCADE, related_name="enrollments", verbose_name=_("playbook")
    )
    party = models.ForeignKey(
        Party,
        on_delete=models.CASCADE,
        related_name="playbook_enrollments",
        verbose_name=_("party"),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=EnrollmentStatus.choices, default="active"
    )
    # Steps done so far: 0 = none yet; the next one is steps[current_step].
    current_step = models.PositiveSmallIntegerField(_("steps done"), default=0)
    entered_at = models.DateTimeField(_("entered"))
    entered_on = models.DateField(_("entry date"))
    window_ends_on = models.DateField(_("window ends"))
    next_step_at = models.DateTimeField(_("next step"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    exit_reason = models.CharField(
        _("exit reason"), max_length=14, choices=ExitReason.choices, blank=True
    )
    exit_note = models.CharField(_("note"), max_length=300, blank=True)
    source = models.CharField(_("source"), max_length=80, blank=True)
    phase_change = models.ForeignKey(
        PhaseChange,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("phase change"),
    )
    # The worker that holds the enrollment while it runs a step (conditional UPDATE).
    claim = models.CharField(max_length=32, blank=True, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("enrollment")
        verbose_name_plural = _("enrollments")
        ordering = ["-entered_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["playbook", "party"],
                condition=Q(finished_at__isnull=True),
                name="enrollment_one_open",
            )
        ]
        indexes = [
            models.Index(fields=["status", "next_step_at"], name="enrollment_due"),
            models.Index(fields=["playbook", "status", "current_step"], name="enrollment_list"),
            models.Index(fields=["party", "finished_at"], name="enrollment_party"),
            models.Index(fields=["claim"], name="enrollment_claim"),
        ]

    def __str__(self) -> str:
        return f"{self.playbook_id}: {self.party_id} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.finished_at is None

    @property
    def held_out(self) -> bool:
        return self.status == EnrollmentStatus.HELD_OUT


class StepRun(models.Model):
    """A step done for an enrollment: the task it created (the step each party has reached)."""

    enrollment = models.ForeignKey(
        Enrollment, on_delete=models.CASCADE, related_name="runs", verbose_name=_("enrollment")
    )
    position = models.PositiveSmallIntegerField(_("step"))
    action = models.CharField(_("action"), max_length=10, choices=StepAction.choices)
    activity = models.ForeignKey(
        "activities.Activity",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("task"),
    )
    emailed = models.BooleanField(_("e-mail sent"), default=False)
    # A personalised offer step: the draft quote it made (None when there was nothing to offer;
    # ``note`` then says why).
    quote = models.ForeignKey(
        "pricing.Quote",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("quote"),
    )
    note = models.CharField(_("note"), max_length=300, blank=True)
    ran_at = models.DateTimeField(_("done"))

    class Meta:
        verbose_name = _("step run")
        verbose_name_plural = _("step runs")
        ordering = ["enrollment", "position"]
        constraints = [
            models.UniqueConstraint(fields=["enrollment", "position"], name="steprun_once")
        ]

    def __str__(self) -> str:
        return f"{self.enrollment_id}/{self.position}"
