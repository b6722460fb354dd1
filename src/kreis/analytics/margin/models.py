"""Customer-specific costs for the contribution margin accounting (DOMAIN.md §7.2).

Costs reach a customer two ways: entered by hand (``CostEntry``: one amount on one day) or
computed by a rule (``CostRule``: so much per order, per meeting, per cent of revenue …). The
level says which margin they reduce: order costs CM II, relationship costs CM III, allocated
fixed costs CM IV.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kreis.activities.models import ActivityKind
from kreis.parties.models import Party


class CostLevel(models.TextChoices):
    ORDER = "order", _("Order costs (CM II)")
    RELATIONSHIP = "relationship", _("Relationship costs (CM III)")
    FIXED = "fixed", _("Fixed costs (CM IV)")


class CostCategory(models.TextChoices):
    HANDLING = "handling", _("Handling")
    SHIPPING = "shipping", _("Shipping")
    VISIT = "visit", _("Visits and meetings")
    SERVICE = "service", _("Service")
    COMPLAINT = "complaint", _("Complaints")
    MARKETING = "marketing", _("Marketing")
    FIXED = "fixed", _("Fixed costs")
    OTHER = "other", _("Other")


# Where each category belongs in the scheme; "other" may stand at any level.
CATEGORY_LEVELS: dict[str, str] = {
    CostCategory.HANDLING: CostLevel.ORDER,
    CostCategory.SHIPPING: CostLevel.ORDER,
    CostCategory.VISIT: CostLevel.RELATIONSHIP,
    CostCategory.SERVICE: CostLevel.RELATIONSHIP,
    CostCategory.COMPLAINT: CostLevel.RELATIONSHIP,
    CostCategory.MARKETING: CostLevel.RELATIONSHIP,
    CostCategory.FIXED: CostLevel.FIXED,
}


def level_for(category: str, level: str = "") -> str:
    """The level a cost of ``category`` stands at: its own, or the one named for "other"."""
    return level or CATEGORY_LEVELS.get(category, "")


def _check_level(record: CostEntry | CostRule) -> None:
    natural = CATEGORY_LEVELS.get(record.category)
    if natural and record.level and record.level != natural:
        message = gettext("%(category)s costs belong to the level %(level)s.") % {
            "category": CostCategory(record.category).label,
            "level": CostLevel(natural).label,
        }
        raise ValidationError({"level": message})


LEVEL_ERRORS = {"blank": _("Choose the level (needed for the category Other).")}


class CostBasis(models.TextChoices):
    PER_ORDER = "per_order", _("per order")
    PER_LINE = "per_line", _("per order line")
    PER_ACTIVITY = "per_activity", _("per completed activity")
    PERCENT_OF_REVENUE = "percent_of_revenue", _("per cent of net revenue")
    PER_CUSTOMER = "per_customer", _("per customer and year")
    FIXED_ALLOCATED = "fixed_allocated", _("amount per year, allocated by revenue share")


class CostEntry(models.Model):
    """A cost of one customer on one day, entered by hand (a complaint, a trade fair …)."""

    party = models.ForeignKey(
        Party, on_delete=models.CASCADE, related_name="cost_entries", verbose_name=_("party")
    )
    date = models.DateField(_("date"))
    level = models.CharField(
        _("level"), max_length=12, choices=CostLevel.choices, error_messages=LEVEL_ERRORS
    )
    category = models.CharField(_("category"), max_length=12, choices=CostCategory.choices)
    amount = models.DecimalField(
        _("amount"),
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0"))],
    )
    note = models.CharField(_("note"), max_length=500, blank=True)
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
        verbose_name = _("cost entry")
        verbose_name_plural = _("cost entries")
        ordering = ["-date", "-pk"]
        indexes = [models.Index(fields=["party", "date"], name="costentry_party_date")]

    def __str__(self) -> str:
        return f"{self.get_category_display()} {self.amount} ({self.date})"

    def clean(self) -> None:
        _check_level(self)


class CostRule(models.Model):
    """Costs computed for every customer from the facts of the period (see ``CostBasis``).

    ``amount`` is money per unit of the basis, except for ``percent_of_revenue`` (a per cent),
    ``per_customer`` (money per customer and year) and ``fixed_allocated`` (money per year for
    all customers together). Rules count only facts dated between ``valid_from`` and
    ``valid_to``; the yearly amounts are prorated to the months of the period they cover.
    """

    name = models.CharField(_("name"), max_length=100)
    level = models.CharField(
        _("level"), max_length=12, choices=CostLevel.choices, error_messages=LEVEL_ERRORS
    )
    category = models.CharField(_("category"), max_length=12, choices=CostCategory.choices)
    basis = models.CharField(_("basis"), max_length=20, choices=CostBasis.choices)
    amount = models.DecimalField(
        _("amount"),
        max_digits=14,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0"))],
    )
    activity_kind = models.CharField(
        _("activity kind"),
        max_length=20,
        blank=True,
        help_text=_("For “per completed activity”: which activities count (e.g. meetings)."),
    )
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("cost rule")
        verbose_name_plural = _("cost rules")
        ordering = ["level", "name", "pk"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        _check_level(self)
        errors = {}
        if self.basis == CostBasis.PER_ACTIVITY:
            if self.activity_kind not in ActivityKind.values:
                errors["activity_kind"] = gettext("Choose which activities the rule counts.")
        elif self.activity_kind:
            errors["activity_kind"] = gettext("Only rules per activity count activities.")
        percent = self.basis == CostBasis.PERCENT_OF_REVENUE
        if percent and self.amount is not None and self.amount > 100:
            errors["amount"] = gettext("A per cent of revenue is at most 100.")
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            errors["valid_to"] = gettext("The rule cannot end before it starts.")
        if errors:
            raise ValidationError(errors)
