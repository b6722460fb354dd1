"""Settings of the analyses and the record of each run."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class TimeUnit(models.TextChoices):
    DAYS = "days", _("days")
    WEEKS = "weeks", _("weeks")


class AbcMetric(models.TextChoices):
    REVENUE = "revenue", _("net revenue")
    MARGIN = "margin", _("contribution margin I")


class AnalyticsSettings(models.Model):
    """One row (pk 1): how the analyses run. Edited by administrators."""

    # CLV (BG/NBD + Gamma-Gamma).
    calibration_end = models.DateField(
        _("calibration end"),
        null=True,
        blank=True,
        help_text=_("Transactions up to this day train the CLV models; empty means yesterday."),
    )
    time_unit = models.CharField(
        _("time unit"), max_length=5, choices=TimeUnit.choices, default=TimeUnit.DAYS
    )
    horizon_years = models.PositiveSmallIntegerField(
        _("CLV horizon (years)"),
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(50)],
        help_text=_(
            "The total CLV adds the discounted margin expected over this many years to the "
            "historical value; the next 12 months are shown beside it."
        ),
    )
    discount_rate_yearly = models.DecimalField(
        _("discount rate per year (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("10.00"),
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    min_clv_customers = models.PositiveIntegerField(
        _("minimum customers for a CLV fit"),
        default=10,
        validators=[MinValueValidator(2)],
        help_text=_(
            "With fewer customers with purchases (or repeat buyers with a positive mean "
            "margin, for Gamma-Gamma) no model is fitted."
        ),
    )
    # ABC.
    abc_metric = models.CharField(
        _("ABC by"), max_length=8, choices=AbcMetric.choices, default=AbcMetric.REVENUE
    )
    abc_months = models.PositiveSmallIntegerField(
        _("ABC period in months"), default=12, validators=[MinValueValidator(1)]
    )
    abc_a = models.DecimalField(
        _("A up to cumulative share (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("80"),
        validators=[MinValueValidator(1), MaxValueValidator(100)],
    )
    abc_b = models.DecimalField(
        _("B up to cumulative share (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("95"),
        validators=[MinValueValidator(1), MaxValueValidator(100)],
    )
    # Lifecycle (DOMAIN.md §2).
    socialization_days = models.PositiveIntegerField(_("socialization lasts (days)"), default=180)
    growth_pct = models.DecimalField(
        _("growth above (%)"), max_digits=5, decimal_places=1, default=Decimal("10")
    )
    decline_pct = models.DecimalField(
        _("decline above (%)"), max_digits=5, decimal_places=1, default=Decimal("10")
    )
    endangered_p_alive = models.FloatField(
        _("endangered below P(alive)"),
        default=0.5,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
    )
    dissolution_p_alive = models.FloatField(
        _("dissolution below P(alive)"),
        default=0.2,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
    )
    recency_factor = models.FloatField(
        _("endangered after × usual purchase interval"),
        default=2.0,
        validators=[MinValueValidator(1)],
    )
    abstinence_days = models.PositiveIntegerField(_("abstinent after (days)"), default=365)
    min_repeat_purchases = models.PositiveSmallIntegerField(
        _("repeat customer from (purchases)"),
        default=2,
        validators=[MinValueValidator(2)],
        help_text=_("Customers with fewer purchase days stay in socialization."),
    )
    detractor_days = models.PositiveIntegerField(
        _("detractor answer counts for (days)"),
        default=90,
        validators=[MinValueValidator(1)],
    )
    # Lead scoring: engagement decays with this half-life.
    engagement_half_life_days = models.PositiveIntegerField(
        _("engagement half-life (days)"),
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
    )
    # Portfolio (DOMAIN.md §7.3): where the quadrants split.
    portfolio_share_split = models.DecimalField(
        _("portfolio split: share of wallet (%)"),
        max_digits=6,
        decimal_places=1,
        default=Decimal("50"),
        validators=[MinValueValidator(0), MaxValueValidator(1000)],
    )
    portfolio_attractiveness_split = models.DecimalField(
        _("portfolio split: attractiveness (score)"),
        max_digits=5,
        decimal_places=1,
        default=Decimal("50"),
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("analytics settings")
        verbose_name_plural = _("analytics settings")

    def __str__(self) -> str:
        return str(_("Analytics settings"))

    @classmethod
    def load(cls) -> AnalyticsSettings:
        return cls.objects.get_or_create(pk=1)[0]


class RunStatus(models.TextChoices):
    RUNNING = "running", _("running")
    DONE = "done", _("done")
    FAILED = "failed", _("failed")


class AnalyticsRun(models.Model):
    """One refresh of the warehouse and recomputation of every figure."""

    started_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=8, choices=RunStatus.choices, default=RunStatus.RUNNING
    )
    as_of = models.DateField(_("as of"))
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    # Seconds per step and counts ("warehouse", "abc", "rfm", "clv", "lifecycle", ...).
    timings = models.JSONField(_("timings"), default=dict, blank=True)
    counts = models.JSONField(_("counts"), default=dict, blank=True)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    step = models.CharField(_("step"), max_length=40, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("analytics run")
        verbose_name_plural = _("analytics runs")
        ordering = ["-started_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.as_of} {self.get_status_display()}"

    @property
    def seconds(self) -> float | None:
        """How long the run took, for the runs list (None while it runs)."""
        if self.finished_at is None or self.started_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()
