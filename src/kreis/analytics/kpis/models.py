"""Inputs of the objective satisfaction KPIs (DOMAIN.md §3, "Measuring satisfaction") that no
other part of Kreis records: market volumes entered by a manager, and quality-check results.

A market volume belongs to a *segment*, which is a product category (``Product.category``):
own revenue per segment is the revenue of the lines whose product has that category, so the
market share of a segment compares like with like. An empty segment is the whole market.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kreis.commerce.models import Product


class Grain(models.TextChoices):
    MONTH = "month", _("Month")
    QUARTER = "quarter", _("Quarter")
    YEAR = "year", _("Year")


MONTHS_PER = {Grain.MONTH: 1, Grain.QUARTER: 3, Grain.YEAR: 12}


def period_start(day: dt.date, grain: str) -> dt.date:
    """The first day of the month, quarter or year that ``day`` lies in."""
    months = MONTHS_PER[grain]
    month = (day.month - 1) // months * months + 1
    return dt.date(day.year, month, 1)


def period_end(start: dt.date, grain: str) -> dt.date:
    """The last day of the period that begins on ``start``."""
    index = start.year * 12 + start.month - 1 + MONTHS_PER[grain]
    return dt.date(index // 12, index % 12 + 1, 1) - dt.timedelta(days=1)


class MarketVolume(models.Model):
    """The whole market's revenue in one segment and period, as a manager estimates it."""

    segment = models.CharField(
        _("segment (product category)"),
        max_length=100,
        blank=True,
        help_text=_("A product category; empty for the whole market."),
    )
    grain = models.CharField(_("period type"), max_length=10, choices=Grain.choices)
    start = models.DateField(_("period start"))
    volume = models.DecimalField(
        _("market volume"),
        max_digits=16,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("entered by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("market volume")
        verbose_name_plural = _("market volumes")
        ordering = ["-start", "segment", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["segment", "grain", "start"], name="market_volume_one_per_period"
            )
        ]

    def __str__(self) -> str:
        segment = self.segment or gettext("whole market")
        return f"{segment} {self.start:%Y-%m} ({self.get_grain_display()})"

    @property
    def end(self) -> dt.date:
        return period_end(self.start, self.grain)

    @property
    def label(self) -> str:
        """2025, 2025-Q2 or 2025-04."""
        if self.grain == Grain.YEAR:
            return f"{self.start.year}"
        if self.grain == Grain.QUARTER:
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        return f"{self.start:%Y-%m}"

    def clean(self) -> None:
        if (
            self.start
            and self.grain in MONTHS_PER
            and period_start(self.start, self.grain) != self.start
        ):
            raise ValidationError(
                {
                    "start": gettext(
                        "A period starts on the first day of its month, quarter or year."
                    )
                }
            )


class QualityStage(models.TextChoices):
    INTERNAL = "internal", _("Internal")
    TRADE = "trade", _("Trade")
    END_CUSTOMER = "end_customer", _("End customer")


class QualityCheck(models.Model):
    """One quality check: so many units checked, so many found defective, at one stage."""

    date = models.DateField(_("date"))
    stage = models.CharField(_("stage"), max_length=20, choices=QualityStage.choices)
    product = models.ForeignKey(
        Product,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="quality_checks",
        verbose_name=_("product"),
    )
    checked_units = models.PositiveIntegerField(
        _("checked units"), validators=[MinValueValidator(1)]
    )
    defective_units = models.PositiveIntegerField(_("defective units"), default=0)
    notes = models.TextField(_("notes"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("entered by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("quality check")
        verbose_name_plural = _("quality checks")
        ordering = ["-date", "-pk"]
        indexes = [models.Index(fields=["date", "stage"], name="quality_check_date_stage")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(defective_units__lte=models.F("checked_units")),
                name="quality_check_defects_within_checked",
            )
        ]

    def __str__(self) -> str:
        return (
            f"{self.get_stage_display()} {self.date}: {self.defective_units}/{self.checked_units}"
        )

    def clean(self) -> None:
        if (
            self.checked_units is not None
            and self.defective_units is not None
            and self.defective_units > self.checked_units
        ):
            raise ValidationError(
                {"defective_units": gettext("More units cannot be defective than were checked.")}
            )
