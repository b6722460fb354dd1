"""Reads of products and transactions, permission-aware: UI and API fetch through these.

Revenue is the sum of the signed net revenue of all kinds: each sale is recorded once, as an
order or as an invoice (whichever the source system provides), and a return reverses it.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db.models import (
    Case,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Sum,
    When,
)
from django.db.models import DecimalField as DecimalOutput
from django.http import Http404
from django.utils import timezone

from kreis.commerce.models import Product, Transaction, TransactionKind, TransactionLine
from kreis.core.models import User
from kreis.core.queries import visible_records
from kreis.core.search import SearchHit
from kreis.parties.models import Party
from kreis.parties.queries import party_name_for_user

ZERO = Decimal("0")
CENT = Decimal("0.01")
MONEY = DecimalOutput(max_digits=14, decimal_places=2)

TRANSACTION_SORTS = {
    "date": ("date", "pk"),
    "-date": ("-date", "-pk"),
    "revenue": ("signed_net_revenue", "pk"),
    "-revenue": ("-signed_net_revenue", "-pk"),
    "margin": ("signed_margin", "pk"),
    "-margin": ("-signed_margin", "-pk"),
}
PRODUCT_SORTS = {
    "name": ("name", "pk"),
    "-name": ("-name", "-pk"),
    "sku": ("sku", "pk"),
    "price": ("list_price", "pk"),
    "-price": ("-list_price", "-pk"),
}


def cents(value: Decimal | None) -> Decimal:
    """A database sum as exact cents: SQLite adds decimals as floating point."""
    return Decimal(value or 0).quantize(CENT)


def months_before(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` months earlier (the month's last day where it is shorter)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return day.replace(year=year, month=month + 1, day=min(day.day, last))


def signed(field: str, *, kind_field: str = "kind") -> Case:
    """``field`` with the sign of its transaction: negative for returns.

    ``Transaction.objects.annotate(v=signed("net_revenue"))``; from lines use
    ``signed("net_revenue", kind_field="transaction__kind")``.
    """
    return Case(
        When(**{kind_field: TransactionKind.RETURN}, then=-F(field)),
        default=F(field),
        output_field=MONEY,
    )


def with_signed(qs: QuerySet[Transaction]) -> QuerySet[Transaction]:
    """Annotate ``signed_net_revenue``, ``signed_cost`` and ``signed_margin`` (net − cost)."""
    return qs.annotate(
        signed_net_revenue=signed("net_revenue"),
        signed_cost=signed("cost"),
        signed_margin=ExpressionWrapper(signed("net_revenue") - signed("cost"), output_field=MONEY),
    )


def _alive_visible(user: User) -> QuerySet[Transaction]:
    return visible_records(Transaction.objects.filter(deleted_at__isnull=True), user=user)


def transaction_list_for_user(
    *,
    user: User,
    kind: str = "",
    party_id: int | None = None,
    product_id: int | None = None,
    category: str = "",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    owner_id: int | None = None,
    team_id: int | None = None,
    search: str = "",
    sort: str = "-date",
) -> QuerySet[Transaction]:
    """Transactions the user may see, filtered; dates inclusive; text on number and party."""
    qs = _alive_visible(user)
    if kind:
        qs = qs.filter(kind=kind)
    if party_id:
        qs = qs.filter(party_id=party_id)
    if product_id:
        qs = qs.filter(
            Exists(
                TransactionLine.objects.filter(transaction=OuterRef("pk"), product_id=product_id)
            )
        )
    if category:
        qs = qs.filter(
            Exists(
                TransactionLine.objects.filter(
                    transaction=OuterRef("pk"), product__category=category
                )
            )
        )
    if date_from:
        qs = qs.filter(date__gte=date_from)
    if date_to:
        qs = qs.filter(date__lte=date_to)
    if owner_id:
        qs = qs.filter(owner_id=owner_id)
    if team_id:
        qs = qs.filter(team_id=team_id)
    if search:
        qs = qs.filter(
            Q(number__icontains=search) | Q(party__name__icontains=search) | Q(external_id=search)
        )
    return (
        with_signed(qs)
        .select_related("party", "owner", "team")
        .order_by(*TRANSACTION_SORTS.get(sort, TRANSACTION_SORTS["-date"]))
    )


def transaction_get_for_user(*, user: User, pk: int, write: bool = False) -> Transaction:
    """A transaction the user may see (or change, with ``write``) with its lines; 404 otherwise."""
    txn = (
        with_signed(Transaction.objects.filter(pk=pk, deleted_at__isnull=True))
        .select_related("party", "owner", "team")
        .prefetch_related(
            Prefetch("lines", queryset=TransactionLine.objects.select_related("product"))
        )
        .first()
    )
    perm = "core.change_record" if write else "core.view_record"
    if txn is None or not user.has_perm(perm, txn):
        raise Http404
    return txn


def transactions_for_bulk(*, user: User, ids: list[int]) -> list[Transaction]:
    """The chosen transactions the user may change (others are left out, never revealed)."""
    qs = _alive_visible(user).filter(pk__in=ids).select_related("owner", "team")
    return [txn for txn in qs if user.has_perm("core.change_record", txn)]


def product_list_for_user(
    *,
    user: User,
    category: str = "",
    active: bool | None = None,
    search: str = "",
    sort: str = "name",
) -> QuerySet[Product]:
    """The catalogue: every signed-in user sees every product."""
    qs = Product.objects.all() if user.is_authenticated else Product.objects.none()
    if category:
        qs = qs.filter(category=category)
    if active is not None:
        qs = qs.filter(is_active=active)
    if search:
        qs = qs.filter(Q(name__icontains=search) | Q(sku__icontains=search))
    return qs.order_by(*PRODUCT_SORTS.get(sort, PRODUCT_SORTS["name"]))


def product_get_for_user(*, user: User, pk: int, write: bool = False) -> Product:
    """Every signed-in user sees the catalogue; changing it is for administrators and sales
    managers (others get 403: they know the product exists)."""
    product = Product.objects.filter(pk=pk).first() if user.is_authenticated else None
    if product is None:
        raise Http404
    if write and not user.has_perm("commerce.manage_products"):
        raise PermissionDenied
    return product


def product_categories() -> list[str]:
    return list(
        Product.objects.exclude(category="")
        .order_by("category")
        .values_list("category", flat=True)
        .distinct()
    )


def product_choices(*, include: set[int] | None = None) -> QuerySet[Product]:
    """Products to sell: the active ones, plus those already on the transaction at hand."""
    return Product.objects.filter(Q(is_active=True) | Q(pk__in=include or ())).order_by(
        "name", "pk"
    )


@dataclass(frozen=True)
class RevenueSummary:
    revenue: Decimal
    margin: Decimal
    orders: int
    since: dt.date

    @property
    def margin_rate(self) -> Decimal | None:
        """Contribution margin I as a share of net revenue."""
        if not self.revenue:
            return None
        return (self.margin / self.revenue * 100).quantize(Decimal("0.1"))


def party_revenue_summary(*, user: User, party: Party, months: int = 12) -> RevenueSummary:
    """Net revenue (returns subtracted), contribution margin I (net revenue − cost of goods)
    and the number of orders and invoices of the party in the last ``months`` months, over
    the transactions the user may see."""
    since = months_before(timezone.localdate(), months)
    totals = with_signed(
        _alive_visible(user).filter(party=party, date__gt=since).order_by()
    ).aggregate(
        revenue=Sum("signed_net_revenue", default=ZERO),
        margin=Sum("signed_margin", default=ZERO),
        orders=Count("pk", filter=~Q(kind=TransactionKind.RETURN)),
    )
    return RevenueSummary(
        revenue=cents(totals["revenue"]),
        margin=cents(totals["margin"]),
        orders=totals["orders"],
        since=since,
    )


def party_for_panel(*, user: User, pk: int) -> Party:
    """A party the user may see, without its contact data (for the transactions panel)."""
    party = visible_records(Party.objects.filter(pk=pk, deleted_at__isnull=True), user=user)
    party = party.first()
    if party is None:
        raise Http404
    return party


def party_recent_transactions(*, user: User, party: Party, limit: int = 5) -> list:
    return list(transaction_list_for_user(user=user, party_id=party.pk)[:limit])


def product_sales_summary(*, user: User, product: Product, months: int = 12) -> dict:
    """Units and signed net revenue of a product in the last months (visible transactions)."""
    since = months_before(timezone.localdate(), months)
    lines = TransactionLine.objects.filter(
        product=product,
        transaction__in=_alive_visible(user).filter(date__gt=since),
    )
    totals = lines.aggregate(
        quantity=Sum(
            Case(
                When(transaction__kind=TransactionKind.RETURN, then=-F("quantity")),
                default=F("quantity"),
            ),
            default=ZERO,
        ),
        revenue=Sum(signed("net_revenue", kind_field="transaction__kind"), default=ZERO),
        transactions=Count("transaction_id", distinct=True),
    )
    return totals | {"revenue": cents(totals["revenue"]), "since": since}


def product_search_hits(*, user: User, text: str, limit: int = 8) -> list[SearchHit]:
    return [
        SearchHit(title=p.name, subtitle=p.sku, url=f"/commerce/products/{p.pk}/", icon="box-seam")
        for p in product_list_for_user(user=user, search=text)[:limit]
    ]


def transaction_search_hits(*, user: User, text: str, limit: int = 8) -> list[SearchHit]:
    if len(text) < 3:
        return []
    # The whole number, as printed on the document: an index lookup, never a scan of all
    # transactions (the global search runs on every keystroke).
    number = text.strip().upper()
    qs = _alive_visible(user).filter(number=number).select_related("party")[:limit]
    return [
        SearchHit(
            title=str(txn),
            subtitle=party_name_for_user(user=user, party=txn.party),
            url=f"/commerce/transactions/{txn.pk}/",
            icon="receipt",
        )
        for txn in qs
    ]
