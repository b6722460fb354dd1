"""Products and transactions: the catalogue and the orders, invoices and returns with lines.

These are the facts the analytical CRM evaluates (revenue, contribution margin, CLV). A line
stores its net revenue and cost as they were when the transaction happened, so a later price
change never rewrites history.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from kreis.core.models import Team
from kreis.parties.models import Party

ZERO = Decimal("0")


class Product(models.Model):
    sku = models.CharField(_("SKU"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    unit = models.CharField(_("unit"), max_length=20, default="pc")
    list_price = models.DecimalField(
        _("list price"), max_digits=12, decimal_places=2, validators=[MinValueValidator(ZERO)]
    )
    unit_cost = models.DecimalField(
        _("unit cost"),
        max_digits=12,
        decimal_places=2,
        default=ZERO,
        validators=[MinValueValidator(ZERO)],
    )
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    category = models.CharField(_("category"), max_length=100, blank=True, db_index=True)
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.sku})"


class SalesChannel(models.TextChoices):
    """DOMAIN.md §6: the channels a deal or a transaction comes through."""

    DIRECT = "direct", _("Direct")
    FIELD = "field", _("Field sales")
    PARTNER = "partner", _("Partner")
    ONLINE = "online", _("Online")


class TransactionKind(models.TextChoices):
    # With a context: "Order" alone is already translated as a sort order elsewhere.
    ORDER = "order", pgettext_lazy("transaction kind", "Order")
    INVOICE = "invoice", pgettext_lazy("transaction kind", "Invoice")
    RETURN = "return", pgettext_lazy("transaction kind", "Return")


class Transaction(models.Model):
    """An order, invoice or return of a party. Returns count negatively in every sum."""

    kind = models.CharField(_("kind"), max_length=10, choices=TransactionKind.choices)
    number = models.CharField(_("number"), max_length=40, blank=True)
    party = models.ForeignKey(
        Party, on_delete=models.PROTECT, related_name="transactions", verbose_name=_("party")
    )
    date = models.DateField(_("date"))
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    channel = models.CharField(_("channel"), max_length=40, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)
    # Sums of the lines, kept with them in one transaction (lists and analytics read these).
    net_revenue = models.DecimalField(
        _("net revenue"), max_digits=14, decimal_places=2, default=ZERO
    )
    cost = models.DecimalField(_("cost"), max_digits=14, decimal_places=2, default=ZERO)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_transactions",
        verbose_name=_("owner"),
    )
    team = models.ForeignKey(
        Team,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="transactions",
        verbose_name=_("team"),
    )
    external_id = models.CharField(
        _("external ID"), max_length=100, null=True, blank=True, unique=True
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True)

    class Meta:
        verbose_name = _("transaction")
        verbose_name_plural = _("transactions")
        ordering = ["-date", "-pk"]
        indexes = [
            models.Index(fields=["party", "date"], name="transaction_party_date"),
            models.Index(fields=["deleted_at", "date", "id"], name="transaction_alive_date"),
            models.Index(fields=["owner", "team"], name="transaction_owner_team"),
            models.Index(fields=["number"], name="transaction_number"),
            # The warehouse's incremental refresh: what changed since the last one.
            models.Index(fields=["updated_at"], name="transaction_updated"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number or self.pk}"

    @property
    def sign(self) -> int:
        return -1 if self.kind == TransactionKind.RETURN else 1

    @property
    def margin(self) -> Decimal:
        return self.net_revenue - self.cost


class TransactionLine(models.Model):
    transaction = models.ForeignKey(Transaction, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, null=True, blank=True, related_name="lines"
    )
    description = models.CharField(_("description"), max_length=200, blank=True)
    quantity = models.DecimalField(
        _("quantity"), max_digits=12, decimal_places=3, validators=[MinValueValidator(ZERO)]
    )
    unit_price = models.DecimalField(_("unit price"), max_digits=12, decimal_places=2)
    discount = models.DecimalField(
        _("discount"),
        max_digits=12,
        decimal_places=2,
        default=ZERO,
        validators=[MinValueValidator(ZERO)],
        help_text=_("Absolute discount on the line."),
    )
    net_revenue = models.DecimalField(_("net revenue"), max_digits=14, decimal_places=2)
    cost = models.DecimalField(_("cost"), max_digits=14, decimal_places=2, default=ZERO)

    class Meta:
        verbose_name = _("transaction line")
        verbose_name_plural = _("transaction lines")
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.description or str(self.product)
