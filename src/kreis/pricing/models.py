"""Price and condition policy (DOMAIN.md §6): price lists, discount rules, discount limits and
their approvals, and quotes built from a deal's lines.

Which price applies (``kreis.pricing.pricelists.services.price_for``): of the active price lists
in the deal's currency that are valid on the day, whose segment (if any) has the party as a
member and whose channel (if any) is the deal's channel, the most specific wins (segment and
channel > segment > channel > neither); a tie goes to the list valid from the later day, then to
the lower price. Inside a list the item with the highest minimum quantity not above the line's
quantity counts. Without any such item the product's list price applies.

Which discount applies (``best_discount``): every active, valid rule whose conditions all hold
(ABC class, segment membership, minimum quantity) is a candidate; the highest percentage wins.
Rules never add up.

Discount limits: a line's discount up to the rule's percentage is policy and needs nobody. A
discount above both the rule's percentage and the rep's limit (``RepDiscountLimit`` or the
default in ``PricingSettings``) makes the quote wait for a sales manager's approval
(``DiscountApproval``); until one approves, the quote can be neither sent nor accepted.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kreis.commerce.models import Product, SalesChannel, Transaction
from kreis.marketing.models import Segment
from kreis.parties.models import AbcClass, Party
from kreis.sales.models import Deal

ZERO = Decimal("0")
HUNDRED = Decimal("100")
PERCENT = [MinValueValidator(ZERO), MaxValueValidator(HUNDRED)]


class PricingSettings(models.Model):
    """The singleton (pk 1) sales managers edit: the default discount limit and quote validity."""

    default_discount_limit = models.DecimalField(
        _("default discount limit (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("10"),
        validators=PERCENT,
        help_text=_("Applies to every rep without a limit of her own."),
    )
    quote_valid_days = models.PositiveSmallIntegerField(
        _("quotes valid for (days)"),
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
    )
    link_valid_days = models.PositiveSmallIntegerField(
        _("acceptance links valid for (days)"),
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("pricing settings")
        verbose_name_plural = _("pricing settings")

    def __str__(self) -> str:
        return str(_("Pricing settings"))


class RepDiscountLimit(models.Model):
    """A rep's own discount limit (percent), instead of the default."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="discount_limit",
        verbose_name=_("user"),
    )
    limit_percent = models.DecimalField(
        _("discount limit (%)"), max_digits=5, decimal_places=2, validators=PERCENT
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("discount limit")
        verbose_name_plural = _("discount limits")
        ordering = ["user__username"]

    def __str__(self) -> str:
        return f"{self.user}: {self.limit_percent} %"


class PriceList(models.Model):
    name = models.CharField(_("name"), max_length=120)
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    segment = models.ForeignKey(
        Segment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="price_lists",
        verbose_name=_("segment"),
    )
    channel = models.CharField(
        _("channel"), max_length=10, choices=SalesChannel.choices, blank=True
    )
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    notes = models.CharField(_("notes"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("price list")
        verbose_name_plural = _("price lists")
        ordering = ["name", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(valid_to__isnull=True)
                | models.Q(valid_from__isnull=True)
                | models.Q(valid_to__gte=models.F("valid_from")),
                name="pricelist_valid_period",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def specificity(self) -> int:
        return (2 if self.segment_id else 0) + (1 if self.channel else 0)


class PriceListItem(models.Model):
    price_list = models.ForeignKey(PriceList, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(
        Product,
        on_delete=models.CASCADE,
        related_name="price_list_items",
        verbose_name=_("product"),
    )
    min_quantity = models.DecimalField(
        _("from quantity"),
        max_digits=12,
        decimal_places=3,
        default=Decimal("1"),
        validators=[MinValueValidator(ZERO)],
    )
    unit_price = models.DecimalField(
        _("unit price"), max_digits=12, decimal_places=2, validators=[MinValueValidator(ZERO)]
    )

    class Meta:
        verbose_name = _("price list item")
        verbose_name_plural = _("price list items")
        ordering = ["product__name", "min_quantity", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["price_list", "product", "min_quantity"], name="pricelistitem_unique_tier"
            )
        ]

    def __str__(self) -> str:
        return f"{self.product} ≥ {self.min_quantity}: {self.unit_price}"


class DiscountRule(models.Model):
    name = models.CharField(_("name"), max_length=120)
    percent = models.DecimalField(
        _("discount (%)"), max_digits=5, decimal_places=2, validators=PERCENT
    )
    abc_class = models.CharField(_("ABC class"), max_length=1, choices=AbcClass.choices, blank=True)
    segment = models.ForeignKey(
        Segment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="discount_rules",
        verbose_name=_("segment"),
    )
    min_quantity = models.DecimalField(
        _("from quantity"),
        max_digits=12,
        decimal_places=3,
        null=True,
        blank=True,
        validators=[MinValueValidator(ZERO)],
    )
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("discount rule")
        verbose_name_plural = _("discount rules")
        ordering = ["-percent", "name", "pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.percent} %)"


class QuoteState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    AWAITING_APPROVAL = "awaiting_approval", _("Awaiting approval")
    APPROVED = "approved", _("Ready to send")
    SENT = "sent", pgettext_lazy("quote state", "Sent")
    ACCEPTED = "accepted", pgettext_lazy("quote state", "Accepted")
    REJECTED = "rejected", pgettext_lazy("quote state", "Rejected")
    EXPIRED = "expired", pgettext_lazy("quote state", "Expired")
    SUPERSEDED = "superseded", _("Superseded")


OPEN_STATES = (QuoteState.DRAFT, QuoteState.AWAITING_APPROVAL, QuoteState.APPROVED, QuoteState.SENT)
FINAL_STATES = (
    QuoteState.ACCEPTED,
    QuoteState.REJECTED,
    QuoteState.EXPIRED,
    QuoteState.SUPERSEDED,
)


class Quote(models.Model):
    """One version of a deal's quote. A revision makes a new version; the earlier ones stay as
    they were (superseded, read-only)."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="quotes")
    number = models.CharField(_("number"), max_length=30)
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    state = models.CharField(
        _("state"), max_length=20, choices=QuoteState.choices, default=QuoteState.DRAFT
    )
    party = models.ForeignKey(
        Party, on_delete=models.PROTECT, related_name="quotes", verbose_name=_("customer")
    )
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    language = models.CharField(_("language"), max_length=5, choices=settings.LANGUAGES)
    valid_until = models.DateField(_("valid until"))
    email = models.EmailField(_("sent to"), blank=True)
    gross_total = models.DecimalField(
        _("before discount"), max_digits=14, decimal_places=2, default=ZERO
    )
    net_total = models.DecimalField(_("total"), max_digits=14, decimal_places=2, default=ZERO)
    max_discount = models.DecimalField(
        _("highest discount (%)"), max_digits=5, decimal_places=2, default=ZERO
    )
    needs_approval = models.BooleanField(_("needs approval"), default=False)
    note = models.TextField(_("note for the customer"), blank=True)
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
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decided_via = models.CharField(
        _("decided via"),
        max_length=10,
        blank=True,
        choices=[("link", _("customer's link")), ("rep", _("the rep"))],
    )
    order = models.ForeignKey(
        Transaction,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("order"),
    )
    token_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    token_expires_at = models.DateTimeField(_("link expires"), null=True, blank=True)
    token_used_at = models.DateTimeField(_("link used"), null=True, blank=True)

    class Meta:
        verbose_name = _("quote")
        verbose_name_plural = _("quotes")
        ordering = ["deal", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["deal", "version"], name="quote_unique_version")
        ]

    def __str__(self) -> str:
        return f"{self.number}-{self.version}"

    @property
    def label(self) -> str:
        return f"{self.number}-{self.version}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


class QuoteLine(models.Model):
    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    description = models.CharField(_("description"), max_length=200)
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=3)
    unit_price = models.DecimalField(_("unit price"), max_digits=12, decimal_places=2)
    price_source = models.CharField(_("price from"), max_length=200, blank=True)
    price_list = models.ForeignKey(
        PriceList, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    rule_percent = models.DecimalField(
        _("rule discount (%)"), max_digits=5, decimal_places=2, default=ZERO
    )
    discount_rule = models.ForeignKey(
        DiscountRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    discount_percent = models.DecimalField(
        _("discount (%)"), max_digits=5, decimal_places=2, default=ZERO, validators=PERCENT
    )
    net = models.DecimalField(_("net"), max_digits=14, decimal_places=2)

    class Meta:
        verbose_name = _("quote line")
        verbose_name_plural = _("quote lines")
        ordering = ["quote", "position", "pk"]

    def __str__(self) -> str:
        return self.description

    @property
    def gross(self) -> Decimal:
        return (self.quantity * self.unit_price).quantize(Decimal("0.01"))


class ApprovalStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", pgettext_lazy("approval", "Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class WithdrawalReason(models.TextChoices):
    """Why a pending request ended without a decision: what it asked about is gone."""

    QUOTE_REVISED = "quote_revised", _("the quote was revised")
    LINES_CHANGED = "lines_changed", _("the lines changed")


class DiscountApproval(models.Model):
    """A rep's request to give a discount above her limit, and the decision. It points at a
    quote, or — asked for from the deal's own line items — at the deal only (``quote`` empty);
    a quote built from those lines then needs no second approval for the same discount."""

    deal = models.ForeignKey(
        Deal,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="discount_approvals",
        verbose_name=_("deal"),
    )
    quote = models.ForeignKey(
        Quote,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="approvals",
        verbose_name=_("quote"),
    )
    requested_discount = models.DecimalField(
        _("requested discount (%)"), max_digits=5, decimal_places=2
    )
    limit_percent = models.DecimalField(_("rep's limit (%)"), max_digits=5, decimal_places=2)
    reason = models.TextField(_("reason"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    requested_at = models.DateTimeField(_("requested"), auto_now_add=True)
    status = models.CharField(
        _("status"), max_length=10, choices=ApprovalStatus.choices, default=ApprovalStatus.REQUESTED
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)
    # A withdrawn request keeps who (decided_by), when (decided_at) and why.
    withdrawn_because = models.CharField(
        _("withdrawn because"), max_length=20, choices=WithdrawalReason.choices, blank=True
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("discount approval")
        verbose_name_plural = _("discount approvals")
        ordering = ["-requested_at", "-pk"]
        indexes = [models.Index(fields=["status", "requested_at"], name="approval_status")]

    def __str__(self) -> str:
        return f"{self.quote or self.deal}: {self.requested_discount} %"

    @property
    def subject_label(self) -> str:
        return self.quote.label if self.quote_id else str(self.deal.name if self.deal_id else "")
