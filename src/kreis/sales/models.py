"""Deals in configurable pipelines: stages with probabilities, won and lost, line items.

Every stage change is recorded (who, when, from, to); the weighted forecast multiplies each
open deal's amount by its stage's probability.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from kreis.commerce.models import Product, SalesChannel
from kreis.core.models import Team
from kreis.parties.models import Party, Tag

ZERO = Decimal("0")


# The names of the pipeline Kreis ships (sales.services.DEFAULT_PIPELINE) in both languages:
# shown in the reader's language for as long as nobody renames them; a name an
# administrator typed stays as typed.
_SHIPPED_NAMES = {
    name.casefold(): label
    for label, names in (
        (_("Sales"), ("Sales", "Vertrieb")),
        (_("Qualification"), ("Qualification", "Qualifizierung")),
        (_("Needs analysis"), ("Needs analysis", "Bedarfsanalyse")),
        (_("Proposal"), ("Proposal", "Angebot")),
        (_("Negotiation"), ("Negotiation", "Verhandlung")),
        (_("Won"), ("Won", "Gewonnen")),
        (_("Lost"), ("Lost", "Verloren")),
    )
    for name in names
}


def shipped_label(name: str) -> str:
    """A stage or pipeline name for display: a shipped name in the active language."""
    label = _SHIPPED_NAMES.get(name.casefold())
    return str(label) if label is not None else name


class Pipeline(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    description = models.CharField(_("description"), max_length=300, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_default = models.BooleanField(_("default"), default=False)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("pipeline")
        verbose_name_plural = _("pipelines")
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return shipped_label(self.name)


class StageKind(models.TextChoices):
    OPEN = "open", _("Open")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")


class Stage(models.Model):
    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    probability = models.PositiveSmallIntegerField(
        _("probability (%)"), validators=[MaxValueValidator(100)], default=10
    )
    kind = models.CharField(_("kind"), max_length=5, choices=StageKind.choices, default="open")

    class Meta:
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        ordering = ["pipeline", "position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["pipeline", "name"], name="stage_unique_name")
        ]

    def __str__(self) -> str:
        return f"{self.pipeline}: {self.label}"

    @property
    def label(self) -> str:
        return shipped_label(self.name)


class LostReason(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("lost reason")
        verbose_name_plural = _("lost reasons")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ForecastCategory(models.TextChoices):
    """How sure the rep is that a deal closes in its period (DOMAIN.md §6, forecast)."""

    PIPELINE = "pipeline", _("Pipeline")
    BEST_CASE = "best_case", _("Best case")
    COMMIT = "commit", _("Commit")
    CLOSED = "closed", _("Closed")


# Stage probability (%) from which a deal's category defaults to best case / commit.
BEST_CASE_FROM = 50
COMMIT_FROM = 75


def default_forecast_category(stage: Stage) -> str:
    """The category a deal gets from its stage: won → closed; probability ≥ 75 % → commit,
    ≥ 50 % → best case, otherwise pipeline."""
    if stage.kind == StageKind.WON:
        return ForecastCategory.CLOSED
    if stage.probability >= COMMIT_FROM:
        return ForecastCategory.COMMIT
    if stage.probability >= BEST_CASE_FROM:
        return ForecastCategory.BEST_CASE
    return ForecastCategory.PIPELINE


class Deal(models.Model):
    name = models.CharField(_("name"), max_length=200)
    pipeline = models.ForeignKey(
        Pipeline, on_delete=models.PROTECT, related_name="deals", verbose_name=_("pipeline")
    )
    stage = models.ForeignKey(
        Stage, on_delete=models.PROTECT, related_name="deals", verbose_name=_("stage")
    )
    organization = models.ForeignKey(
        Party,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deals",
        verbose_name=_("organisation"),
    )
    contact = models.ForeignKey(
        Party,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="contact_deals",
        verbose_name=_("contact person"),
    )
    amount = models.DecimalField(
        _("amount"),
        max_digits=14,
        decimal_places=2,
        default=ZERO,
        validators=[MinValueValidator(ZERO)],
    )
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    expected_close = models.DateField(_("expected close"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    lost_reason = models.ForeignKey(
        LostReason,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="deals",
        verbose_name=_("lost reason"),
    )
    lost_note = models.CharField(_("lost note"), max_length=300, blank=True)
    source = models.CharField(_("source"), max_length=100, blank=True)
    channel = models.CharField(
        _("channel"), max_length=10, choices=SalesChannel.choices, blank=True, default=""
    )
    forecast_category = models.CharField(
        _("forecast category"),
        max_length=10,
        choices=ForecastCategory.choices,
        default=ForecastCategory.PIPELINE,
    )
    notes = models.TextField(_("notes"), blank=True)
    position = models.IntegerField(_("position on the board"), default=0)
    custom = models.JSONField(_("custom fields"), default=dict, blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="deals", verbose_name=_("tags"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_deals",
        verbose_name=_("owner"),
    )
    team = models.ForeignKey(
        Team,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deals",
        verbose_name=_("team"),
    )
    external_id = models.CharField(
        _("external ID"), max_length=100, null=True, blank=True, unique=True
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True)

    history = HistoricalRecords(excluded_fields=["updated_at", "position"], m2m_fields=[tags])

    class Meta:
        verbose_name = _("deal")
        verbose_name_plural = _("deals")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["deleted_at", "pipeline", "stage"], name="deal_board"),
            models.Index(fields=["deleted_at", "created_at", "id"], name="deal_alive_created"),
            models.Index(fields=["owner", "team"], name="deal_owner_team"),
            models.Index(fields=["expected_close"], name="deal_expected_close"),
            # The list's default and amount orders, for live deals: PostgreSQL walks them and stops
            # after a page (deal_alive_created cannot order: "deleted_at IS NULL" fixes no value).
            models.Index(
                fields=["created_at", "id"],
                condition=models.Q(deleted_at__isnull=True),
                name="deal_alive_by_created",
            ),
            models.Index(
                fields=["amount", "id"],
                condition=models.Q(deleted_at__isnull=True),
                name="deal_alive_by_amount",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def weighted_amount(self) -> Decimal:
        return (self.amount * self.stage.probability / 100).quantize(Decimal("0.01"))


class DealLine(models.Model):
    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, null=True, blank=True, related_name="deal_lines"
    )
    description = models.CharField(_("description"), max_length=200, blank=True)
    quantity = models.DecimalField(
        _("quantity"), max_digits=12, decimal_places=3, validators=[MinValueValidator(ZERO)]
    )
    unit_price = models.DecimalField(
        _("unit price"), max_digits=12, decimal_places=2, validators=[MinValueValidator(ZERO)]
    )
    discount = models.DecimalField(
        _("discount"),
        max_digits=12,
        decimal_places=2,
        default=ZERO,
        validators=[MinValueValidator(ZERO)],
    )

    class Meta:
        verbose_name = _("line item")
        verbose_name_plural = _("line items")
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.description or str(self.product)

    @property
    def total(self) -> Decimal:
        return self.quantity * self.unit_price - self.discount


class StageChange(models.Model):
    """A deal moved from one stage to another (or was created in its first stage)."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.ForeignKey(
        Stage, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    to_stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    changed_at = models.DateTimeField(_("changed"), auto_now_add=True)

    class Meta:
        verbose_name = _("stage change")
        verbose_name_plural = _("stage changes")
        ordering = ["-changed_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.deal}: {self.from_stage or '–'} → {self.to_stage}"


# --- Targets and quotas, forecast snapshots (DOMAIN.md §6) -----------------------------------


class TargetMetric(models.TextChoices):
    REVENUE = "revenue", _("Revenue")
    QUANTITY = "quantity", _("Quantity")


class TargetDimension(models.TextChoices):
    REP = "rep", _("Sales rep")
    TEAM = "team", _("Team")
    REGION = "region", _("Region")
    CHANNEL = "channel", _("Channel")
    CATEGORY = "category", _("Product category")


class PeriodKind(models.TextChoices):
    MONTH = "month", _("Month")
    QUARTER = "quarter", _("Quarter")
    YEAR = "year", _("Year")


class Target(models.Model):
    """A quota: revenue or quantity for one rep, team, region, channel or product category in
    one period. ``team`` is the team that owns the target (its managers plan it); for a team
    target it is also what is measured, and it narrows a region, channel or category target to
    that team's business (without a team such a target is company-wide)."""

    metric = models.CharField(_("measure"), max_length=10, choices=TargetMetric.choices)
    dimension = models.CharField(_("for"), max_length=10, choices=TargetDimension.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="sales_targets",
        verbose_name=_("sales rep"),
    )
    team = models.ForeignKey(
        Team,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="sales_targets",
        verbose_name=_("team"),
    )
    region = models.CharField(_("region"), max_length=100, blank=True)
    channel = models.CharField(
        _("channel"), max_length=10, choices=SalesChannel.choices, blank=True
    )
    category = models.CharField(_("product category"), max_length=100, blank=True)
    period_kind = models.CharField(_("period"), max_length=7, choices=PeriodKind.choices)
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    amount = models.DecimalField(
        _("target"), max_digits=14, decimal_places=2, validators=[MinValueValidator(ZERO)]
    )
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    note = models.CharField(_("note"), max_length=300, blank=True)
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

    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("target")
        verbose_name_plural = _("targets")
        ordering = ["period_start", "period_kind", "dimension", "pk"]
        indexes = [
            models.Index(fields=["period_start", "period_end"], name="target_period"),
            models.Index(fields=["team", "user"], name="target_team_user"),
        ]

    def __str__(self) -> str:
        return f"{self.get_dimension_display()} {self.subject_label} {period_key(self)}"

    @property
    def subject_label(self) -> str:
        """What the target is for: the rep, the team, the region, channel or category."""
        if self.dimension == TargetDimension.REP:
            return str(self.user) if self.user_id else ""
        if self.dimension == TargetDimension.TEAM:
            return str(self.team) if self.team_id else ""
        if self.dimension == TargetDimension.CHANNEL:
            return str(self.get_channel_display())
        if self.dimension == TargetDimension.REGION:
            return self.region
        return self.category


def period_key(obj) -> str:
    """``2026``, ``2026-Q2`` or ``2026-03``: the period of a target or snapshot as people write
    it (``kreis.sales.periods`` reads it back)."""
    start = obj.period_start
    if obj.period_kind == PeriodKind.YEAR:
        return f"{start.year}"
    if obj.period_kind == PeriodKind.QUARTER:
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    return f"{start:%Y-%m}"


class SnapshotKind(models.TextChoices):
    SUBMISSION = "submission", _("Rep forecast")
    ADJUSTMENT = "adjustment", _("Manager adjustment")


class ForecastSnapshot(models.Model):
    """A forecast as it was submitted: a rep's call for a period (with the sums of their deals
    per forecast category at that moment), or a manager's adjustment of a rep's or the team's
    call with a note. Never changed afterwards: the rows are the forecast's history."""

    kind = models.CharField(_("kind"), max_length=10, choices=SnapshotKind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="forecast_snapshots",
        verbose_name=_("sales rep"),
        help_text=_("Empty for the team's total."),
    )
    team = models.ForeignKey(
        Team,
        on_delete=models.CASCADE,
        related_name="forecast_snapshots",
        verbose_name=_("team"),
    )
    period_kind = models.CharField(_("period"), max_length=7, choices=PeriodKind.choices)
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    pipeline_amount = models.DecimalField(
        _("pipeline"), max_digits=14, decimal_places=2, default=ZERO
    )
    best_case_amount = models.DecimalField(
        _("best case"), max_digits=14, decimal_places=2, default=ZERO
    )
    commit_amount = models.DecimalField(_("commit"), max_digits=14, decimal_places=2, default=ZERO)
    closed_amount = models.DecimalField(_("closed"), max_digits=14, decimal_places=2, default=ZERO)
    forecast = models.DecimalField(
        _("forecast"), max_digits=14, decimal_places=2, validators=[MinValueValidator(ZERO)]
    )
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    note = models.CharField(_("note"), max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("submitted by"),
    )
    created_at = models.DateTimeField(_("submitted"), auto_now_add=True)

    class Meta:
        verbose_name = _("forecast snapshot")
        verbose_name_plural = _("forecast snapshots")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["team", "period_start", "created_at"], name="snapshot_team"),
            models.Index(fields=["user", "period_start", "created_at"], name="snapshot_user"),
        ]

    def __str__(self) -> str:
        who = self.user or self.team
        return f"{who} {period_key(self)}: {self.forecast}"
