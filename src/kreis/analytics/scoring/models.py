"""Scoring models (DOMAIN.md §7.4): weighted criteria mapped to points by thresholds.

A model scores customers, leads, suppliers or partners — or, with target *option*, the
options of a utility-value analysis (Nutzwertanalyse). The engine is
``kreis.analytics.scoring.engine``; these are the definitions and the stored results.
"""

from __future__ import annotations

import math
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kreis.leads.models import Lead
from kreis.parties.models import Party

GRADE_MAX_LENGTH = 8  # Party.grade and Lead.grade hold at most this many characters


class ScoringTarget(models.TextChoices):
    CUSTOMER = "customer", gettext_lazy("Customers")
    LEAD = "lead", gettext_lazy("Leads")
    SUPPLIER = "supplier", gettext_lazy("Suppliers")
    PARTNER = "partner", gettext_lazy("Partners")
    OPTION = "option", gettext_lazy("Options (utility-value analysis)")


# Targets whose primary model writes its score onto the record itself.
PRIMARY_TARGETS = (ScoringTarget.CUSTOMER, ScoringTarget.LEAD)


class CriterionKind(models.TextChoices):
    NUMERIC = "numeric", gettext_lazy("Number")
    CHOICE = "choice", gettext_lazy("Choice")


def default_grades() -> list:
    return [[75, "A"], [50, "B"], [25, "C"], [0, "D"]]


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def normalize_grades(grades) -> list:
    """Grades as ``[[threshold, label], …]`` with thresholds falling; raises ValidationError.

    Thresholds are scores 0–100, distinct, and one of them is 0 so that every score has a
    grade; labels are 1–8 characters.
    """
    if not isinstance(grades, list | tuple) or not grades:
        raise ValidationError(_("Enter at least one grade."))
    seen: set[float] = set()
    out = []
    for index, pair in enumerate(grades, start=1):
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise ValidationError(
                _("Grade %(n)d: give a minimum score and a label.") % {"n": index}
            )
        threshold, label = _number(pair[0]), str(pair[1] if pair[1] is not None else "").strip()
        if threshold is None or not 0 <= threshold <= 100:
            raise ValidationError(
                _("Grade %(n)d: the minimum score must be a number from 0 to 100.") % {"n": index}
            )
        if not label or len(label) > GRADE_MAX_LENGTH:
            raise ValidationError(
                _("Grade %(n)d: the label must have 1 to %(max)d characters.")
                % {"n": index, "max": GRADE_MAX_LENGTH}
            )
        if threshold in seen:
            raise ValidationError(
                _("Grade %(n)d: the minimum score %(t)s is used twice.")
                % {"n": index, "t": f"{threshold:g}"}
            )
        seen.add(threshold)
        out.append([int(threshold) if threshold.is_integer() else threshold, label])
    if 0 not in seen:
        raise ValidationError(_("One grade must start at score 0, so that every score has one."))
    return sorted(out, key=lambda pair: -pair[0])


def normalize_thresholds(kind: str, thresholds, *, max_points: float):
    """A criterion's thresholds in stored form; raises ValidationError naming the problem.

    Numeric: ``[[min_value, points], …]`` sorted by rising minimum (duplicates refused).
    Choice: ``{"value": points}`` (values compared without regard to case).
    Points lie between 0 and the model's maximum.
    """

    def points_of(raw, where: str) -> float:
        points = _number(raw)
        if points is None or not 0 <= points <= max_points:
            raise ValidationError(
                _("%(where)s: points must be a number from 0 to %(max)s.")
                % {"where": where, "max": f"{max_points:g}"}
            )
        return int(points) if points.is_integer() else points

    if kind == CriterionKind.NUMERIC:
        if not isinstance(thresholds, list | tuple) or not thresholds:
            raise ValidationError(_("Enter at least one threshold."))
        pairs = []
        for index, pair in enumerate(thresholds, start=1):
            where = _("Threshold %(n)d") % {"n": index}
            if not isinstance(pair, list | tuple) or len(pair) != 2:
                raise ValidationError(
                    _("%(where)s: give a minimum value and points.") % {"where": where}
                )
            minimum = _number(pair[0])
            if minimum is None:
                raise ValidationError(
                    _("%(where)s: the minimum value must be a number.") % {"where": where}
                )
            pairs.append(
                [int(minimum) if minimum.is_integer() else minimum, points_of(pair[1], where)]
            )
        pairs.sort(key=lambda pair: pair[0])
        for lower, upper in zip(pairs, pairs[1:], strict=False):
            if lower[0] == upper[0]:
                raise ValidationError(
                    _("The minimum value %(v)s is used twice.") % {"v": f"{lower[0]:g}"}
                )
        return pairs
    if kind == CriterionKind.CHOICE:
        if not isinstance(thresholds, dict) or not thresholds:
            raise ValidationError(_("Enter at least one value with its points."))
        out: dict[str, float] = {}
        folded: set[str] = set()
        for value, points in thresholds.items():
            key = str(value).strip()
            if not key:
                raise ValidationError(_("A choice value must not be empty."))
            if key.casefold() in folded:
                raise ValidationError(_("The value “%(v)s” is used twice.") % {"v": key})
            folded.add(key.casefold())
            out[key] = points_of(points, f"“{key}”")
        return out
    raise ValidationError(_("Unknown kind of criterion."))


class ScoringModel(models.Model):
    """Weighted criteria scoring one kind of record, 0–100, with grades."""

    name = models.CharField(gettext_lazy("name"), max_length=200)
    description = models.TextField(gettext_lazy("description"), blank=True)
    target = models.CharField(gettext_lazy("scores"), max_length=10, choices=ScoringTarget.choices)
    is_active = models.BooleanField(
        gettext_lazy("active"),
        default=False,
        help_text=gettext_lazy("Active models are applied by every nightly analytics run."),
    )
    is_primary = models.BooleanField(
        gettext_lazy("primary"),
        default=False,
        help_text=gettext_lazy(
            "The primary customer or lead model writes its score and grade onto the record."
        ),
    )
    max_points = models.PositiveSmallIntegerField(
        gettext_lazy("points per criterion at most"),
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(1000)],
    )
    grades = models.JSONField(gettext_lazy("grades"), default=default_grades)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(gettext_lazy("created"), auto_now_add=True)
    updated_at = models.DateTimeField(gettext_lazy("updated"), auto_now=True)
    activated_at = models.DateTimeField(gettext_lazy("activated"), null=True, blank=True)
    applied_at = models.DateTimeField(gettext_lazy("last applied"), null=True, blank=True)

    class Meta:
        verbose_name = gettext_lazy("scoring model")
        verbose_name_plural = gettext_lazy("scoring models")
        ordering = ["target", "name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["target"], condition=Q(is_primary=True), name="scoring_one_primary"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_utility_analysis(self) -> bool:
        return self.target == ScoringTarget.OPTION

    def clean(self) -> None:
        errors = {}
        try:
            self.grades = normalize_grades(self.grades)
        except ValidationError as exc:
            errors["grades"] = exc.messages
        if self.is_primary and self.target not in PRIMARY_TARGETS:
            errors["is_primary"] = [_("Only customer and lead models can be primary.")]
        if errors:
            raise ValidationError(errors)


class Criterion(models.Model):
    """One weighted criterion: a field's value mapped to points by thresholds."""

    model = models.ForeignKey(ScoringModel, on_delete=models.CASCADE, related_name="criteria")
    field = models.CharField(
        gettext_lazy("field"),
        max_length=100,
        help_text=gettext_lazy("A key from the field catalogue of the model's target."),
    )
    label = models.CharField(gettext_lazy("label"), max_length=100)
    weight = models.DecimalField(
        gettext_lazy("weight"),
        max_digits=8,
        decimal_places=2,
        default=Decimal("1"),
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    kind = models.CharField(
        gettext_lazy("kind"), max_length=8, choices=CriterionKind.choices, default="numeric"
    )
    thresholds = models.JSONField(gettext_lazy("thresholds"), default=list)
    order = models.PositiveSmallIntegerField(gettext_lazy("order"), default=0)

    class Meta:
        verbose_name = gettext_lazy("criterion")
        verbose_name_plural = gettext_lazy("criteria")
        ordering = ["model", "order", "pk"]

    def __str__(self) -> str:
        return self.label or self.field

    def clean(self) -> None:
        max_points = self.model.max_points if self.model_id else 10
        try:
            self.thresholds = normalize_thresholds(
                self.kind, self.thresholds, max_points=max_points
            )
        except ValidationError as exc:
            raise ValidationError({"thresholds": exc.messages}) from None


class UtilityOption(models.Model):
    """One option compared in a utility-value analysis, with its value per criterion."""

    model = models.ForeignKey(ScoringModel, on_delete=models.CASCADE, related_name="options")
    name = models.CharField(gettext_lazy("name"), max_length=200)
    description = models.TextField(gettext_lazy("description"), blank=True)
    values = models.JSONField(gettext_lazy("values"), default=dict, blank=True)
    created_at = models.DateTimeField(gettext_lazy("created"), auto_now_add=True)

    class Meta:
        verbose_name = gettext_lazy("option")
        verbose_name_plural = gettext_lazy("options")
        ordering = ["model", "name", "pk"]

    def __str__(self) -> str:
        return self.name


class ScoreRecord(models.Model):
    """A score and grade as computed; a new row only when either changed (the history)."""

    model = models.ForeignKey(ScoringModel, on_delete=models.CASCADE, related_name="records")
    party = models.ForeignKey(
        Party, on_delete=models.CASCADE, null=True, blank=True, related_name="score_records"
    )
    lead = models.ForeignKey(
        Lead, on_delete=models.CASCADE, null=True, blank=True, related_name="score_records"
    )
    option = models.ForeignKey(
        UtilityOption,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="score_records",
    )
    score = models.FloatField(gettext_lazy("score"))
    grade = models.CharField(gettext_lazy("grade"), max_length=GRADE_MAX_LENGTH, blank=True)
    # Points per criterion id, as computed then.
    points = models.JSONField(gettext_lazy("points"), default=dict)
    computed_at = models.DateTimeField(gettext_lazy("computed"))
    # The newest row of its model and record: what the next run compares against, found by
    # index instead of by scanning the whole history.
    is_latest = models.BooleanField(default=True)

    class Meta:
        verbose_name = gettext_lazy("score record")
        verbose_name_plural = gettext_lazy("score records")
        ordering = ["-computed_at", "-pk"]
        indexes = [
            models.Index(fields=["model", "is_latest"], name="scorerecord_model_latest"),
            models.Index(fields=["party", "computed_at"], name="scorerecord_party"),
            models.Index(fields=["lead", "computed_at"], name="scorerecord_lead"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(party__isnull=False, lead__isnull=True, option__isnull=True)
                    | Q(party__isnull=True, lead__isnull=False, option__isnull=True)
                    | Q(party__isnull=True, lead__isnull=True, option__isnull=False)
                ),
                name="scorerecord_one_subject",
            )
        ]

    def __str__(self) -> str:
        return f"{self.model}: {self.score:.1f} {self.grade}"
