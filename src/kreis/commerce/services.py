"""Writes of products and transactions: typed, keyword-only, atomic.

The amounts are the facts the analytical CRM works with, so they are exact (``Decimal``):

* a line's net revenue = quantity × unit price − discount (absolute), rounded half-up to cents;
* a line's cost = quantity × the product's unit cost valid on the transaction's date (from the
  product's history; a product younger than the transaction contributes its first known cost),
  rounded half-up to cents — a later change of the unit cost never rewrites a past transaction;
* a transaction's net revenue and cost are the sums of its lines.

Returns are stored with positive amounts and ``kind=return``; readers apply the sign
(``kreis.commerce.queries.signed``).
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, NamedTuple

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.db.transaction import atomic
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from kreis.commerce.models import Product, Transaction, TransactionKind, TransactionLine
from kreis.core.bulk import BulkActions
from kreis.core.models import Team, User
from kreis.core.queries import visible_records
from kreis.core.services import check_assignment
from kreis.parties.models import Party

ZERO = Decimal("0")
CENT = Decimal("0.01")
MAX_LINE_AMOUNT = Decimal("1e12")  # net revenue and cost columns: 14 digits, 2 decimals
MAX_QUANTITY = Decimal("1e9")  # 12 digits, 3 decimals
MAX_PRICE = Decimal("1e10")  # 12 digits, 2 decimals
MAX_LINES = 500
PRODUCT_FIELDS = (
    "sku",
    "name",
    "unit",
    "list_price",
    "unit_cost",
    "currency",
    "category",
    "description",
    "is_active",
)
TRANSACTION_FIELDS = ("number", "currency", "channel", "note", "external_id")
TEXT_LIMITS = {"number": 40, "channel": 40, "note": 500, "external_id": 100}

_UNSET: Any = object()


class BulkError(Exception):
    """A bulk write refused as a whole; ``errors`` are ``{"row", "field", "message"}`` dicts."""

    def __init__(self, errors: list[dict[str, Any]]):
        super().__init__(f"{len(errors)} errors")
        self.errors = errors


def _row_errors(row: int, exc: ValidationError) -> list[dict[str, Any]]:
    by_field = exc.message_dict if hasattr(exc, "error_dict") else {"body": exc.messages}
    return [
        {"row": row, "field": field, "message": message}
        for field, messages in by_field.items()
        for message in messages
    ]


def _decimal(value: Any, *, field: str, places: int, maximum: Decimal) -> Decimal:
    """A finite, non-negative decimal with at most ``places`` decimals, below ``maximum``."""
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError({field: _("Enter a number.")}) from None
    if not number.is_finite():
        raise ValidationError({field: _("Enter a number.")})
    if number < 0:
        raise ValidationError({field: _("Must not be negative.")})
    if number >= maximum:
        raise ValidationError({field: _("The number is too large.")})
    exponent = _EXPONENTS.get(places) or Decimal(1).scaleb(-places)
    rounded = number.quantize(exponent)
    if number != rounded:
        raise ValidationError({field: _("At most %(n)d decimal places.") % {"n": places}})
    return rounded


# 10⁻ⁿ per number of decimal places (a bulk request checks tens of thousands of amounts).
_EXPONENTS = {places: Decimal(1).scaleb(-places) for places in range(7)}


def line_amounts(
    *, quantity: Decimal, unit_price: Decimal, discount: Decimal, unit_cost: Decimal
) -> tuple[Decimal, Decimal]:
    """(net revenue, cost) of a line: quantity × unit price − discount and quantity × unit
    cost, each rounded half-up to cents."""
    net = (quantity * unit_price - discount).quantize(CENT, rounding=ROUND_HALF_UP)
    cost = (quantity * unit_cost).quantize(CENT, rounding=ROUND_HALF_UP)
    return net, cost


# --- products -------------------------------------------------------------------------------


def _check_catalogue_permission(actor: User | None) -> None:
    if actor is not None and not actor.has_perm("commerce.manage_products"):
        raise PermissionDenied


def _prepare_product(product: Product, *, skus_taken: set[str] | None = None) -> Product:
    for field in ("sku", "name", "unit", "category", "description", "currency"):
        setattr(product, field, str(getattr(product, field) or "").strip())
    product.currency = (product.currency or settings.KREIS_CURRENCY).upper()
    errors: dict[str, list[str]] = {}
    if not product.sku:
        errors["sku"] = [_("A product needs a SKU.")]
    elif skus_taken is not None and product.sku in skus_taken:
        errors["sku"] = [_("Another product has this SKU.")]
    if not product.name:
        errors["name"] = [_("A product needs a name.")]
    if len(product.currency) != 3 or not product.currency.isalpha():
        errors["currency"] = [_("Use a three-letter currency code such as EUR.")]
    for field in ("list_price", "unit_cost"):
        try:
            setattr(
                product,
                field,
                _decimal(getattr(product, field), field=field, places=2, maximum=MAX_PRICE),
            )
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    product.full_clean(validate_unique=False)
    return product


def _skus_taken(skus: Iterable[str], *, exclude_pk: int | None = None) -> set[str]:
    qs = Product.objects.filter(sku__in=[s.strip() for s in skus if s])
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    return set(qs.values_list("sku", flat=True))


@atomic
def product_create(*, actor: User | None, **fields: Any) -> Product:
    """Add a product to the catalogue (administrators and sales managers)."""
    _check_catalogue_permission(actor)
    unknown = set(fields) - set(PRODUCT_FIELDS)
    if unknown:
        raise ValidationError({f: _("This field cannot be set.") for f in sorted(unknown)})
    product = Product(**fields)
    _prepare_product(product, skus_taken=_skus_taken([str(fields.get("sku") or "")]))
    product.save()
    return product


@atomic
def product_update(*, actor: User | None, product: Product, **changes: Any) -> Product:
    """Change a product; past transaction lines keep the prices and costs they had."""
    _check_catalogue_permission(actor)
    unknown = set(changes) - set(PRODUCT_FIELDS)
    if unknown:
        raise ValidationError({f: _("This field cannot be changed.") for f in sorted(unknown)})
    for field, value in changes.items():
        setattr(product, field, value)
    _prepare_product(product, skus_taken=_skus_taken([product.sku], exclude_pk=product.pk))
    product.save()
    return product


@atomic
def product_deactivate(*, actor: User | None, product: Product) -> Product:
    """Take a product out of sale: it stays on past transactions but cannot be sold again."""
    _check_catalogue_permission(actor)
    if product.is_active:
        product.is_active = False
        product.save()
    return product


def products_bulk_create(*, actor: User | None, rows: Sequence[Mapping[str, Any]]) -> list[Product]:
    """Create many products at once, all or none; refused rows raise ``BulkError``."""
    _check_catalogue_permission(actor)
    taken = _skus_taken(str(row.get("sku") or "") for row in rows)
    products, errors = [], []
    for i, row in enumerate(rows):
        unknown = set(row) - set(PRODUCT_FIELDS)
        if unknown:
            errors += [
                {"row": i, "field": f, "message": _("This field cannot be set.")}
                for f in sorted(unknown)
            ]
            continue
        try:
            product = _prepare_product(Product(**row), skus_taken=taken)
        except ValidationError as exc:
            errors += _row_errors(i, exc)
            continue
        taken.add(product.sku)
        products.append(product)
    if errors:
        raise BulkError(sorted(errors, key=lambda e: e["row"]))
    with atomic():
        return bulk_create_with_history(products, Product, batch_size=500, default_user=actor)


# --- transactions ---------------------------------------------------------------------------


class UnitCosts:
    """Unit costs of products as of a day, read once from the products' history."""

    def __init__(self, products: Iterable[Product]):
        self.current = {p.pk: p.unit_cost for p in products}
        self.times: dict[int, list[dt.datetime]] = defaultdict(list)
        self.costs: dict[int, list[Decimal]] = defaultdict(list)
        records = (
            Product.history.filter(id__in=list(self.current))
            .order_by("history_date", "history_id")
            .values_list("id", "history_date", "unit_cost")
        )
        for pk, when, cost in records:
            self.times[pk].append(when)
            self.costs[pk].append(cost)
        self._ends_of_days: dict[dt.date, dt.datetime] = {}

    def at(self, product: Product, day: dt.date) -> Decimal:
        times = self.times.get(product.pk)
        if not times:
            return self.current.get(product.pk, product.unit_cost)
        if len(times) == 1:
            return self.costs[product.pk][0]
        end = self._ends_of_days.get(day)
        if end is None:
            end = timezone.make_aware(dt.datetime.combine(day, dt.time.max))
            self._ends_of_days[day] = end
        return self.costs[product.pk][max(bisect_right(times, end) - 1, 0)]


class LineValues(NamedTuple):
    """A validated line before it has a transaction (bulk paths insert these as rows, without
    a model instance per line)."""

    product: Product | None
    description: str
    quantity: Decimal
    unit_price: Decimal
    discount: Decimal
    net_revenue: Decimal
    cost: Decimal

    def instance(self, txn: Transaction) -> TransactionLine:
        return TransactionLine(transaction=txn, **self._asdict())


def _build_lines(
    *,
    lines: Sequence[Mapping[str, Any]],
    day: dt.date,
    currency: str,
    costs: UnitCosts,
    keep_inactive: set[int],
) -> list[LineValues]:
    if not lines:
        raise ValidationError({"lines": _("A transaction needs at least one line.")})
    if len(lines) > MAX_LINES:
        raise ValidationError({"lines": _("At most %(n)d lines.") % {"n": MAX_LINES}})
    built, errors = [], {}
    for i, data in enumerate(lines):
        key = f"lines.{i}."
        try:
            built.append(_build_line(data, key, day, currency, costs, keep_inactive))
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    return built


def _build_line(data, key, day, currency, costs, keep_inactive) -> LineValues:
    product: Product | None = data.get("product")
    description = str(data.get("description") or "").strip()
    if product is not None:
        if not product.is_active and product.pk not in keep_inactive:
            raise ValidationError({key + "product_id": _("This product is no longer sold.")})
        if product.currency != currency:
            raise ValidationError(
                {key + "product_id": _("The product is priced in %s.") % product.currency}
            )
        description = description or product.name
    elif not description:
        raise ValidationError({key + "description": _("A line needs a product or a text.")})
    if len(description) > 200:
        raise ValidationError({key + "description": _("At most 200 characters.")})
    price = data.get("unit_price")
    if price is None or price == "":
        if product is None:
            raise ValidationError({key + "unit_price": _("Enter a price.")})
        price = product.list_price
    quantity = _decimal(
        data.get("quantity"), field=key + "quantity", places=3, maximum=MAX_QUANTITY
    )
    if quantity == 0:
        raise ValidationError({key + "quantity": _("The quantity must be more than zero.")})
    price = _decimal(price, field=key + "unit_price", places=2, maximum=MAX_PRICE)
    discount = _decimal(
        data.get("discount") or ZERO, field=key + "discount", places=2, maximum=MAX_LINE_AMOUNT
    )
    if discount > quantity * price:
        raise ValidationError(
            {key + "discount": _("The discount cannot exceed quantity × unit price.")}
        )
    unit_cost = costs.at(product, day) if product is not None else ZERO
    net, cost = line_amounts(
        quantity=quantity, unit_price=price, discount=discount, unit_cost=unit_cost
    )
    if net >= MAX_LINE_AMOUNT or cost >= MAX_LINE_AMOUNT:
        raise ValidationError({key + "quantity": _("The amount is too large.")})
    return LineValues(product, description, quantity, price, discount, net, cost)


def _check_party(actor: User | None, party: Party | None, visible: set[int] | None = None) -> None:
    """``visible``: parties already known to be visible to the actor (a batch's references
    were loaded through ``visible_records``); each party is checked once per batch."""
    if party is None or party.deleted_at is not None:
        raise ValidationError({"party_id": _("Choose a party.")})
    if visible is not None and party.pk in visible:
        return
    if actor is not None and not actor.has_perm("core.view_record", party):
        raise ValidationError({"party_id": _("No such party, or you may not see it.")})
    if visible is not None:
        visible.add(party.pk)


# The kinds as a set: ``TransactionKind.values`` builds its list anew on every use.
KINDS = frozenset(TransactionKind.values)


def _check_header(txn: Transaction) -> None:
    errors: dict[str, list[str]] = {}
    if txn.kind not in KINDS:
        errors["kind"] = [_("Choose order, invoice or return.")]
    if not isinstance(txn.date, dt.date):
        errors["date"] = [_("Enter a date.")]
    elif txn.kind != TransactionKind.ORDER and txn.date > timezone.localdate():
        errors["date"] = [_("An invoice or return cannot be dated in the future.")]
    txn.currency = str(txn.currency or settings.KREIS_CURRENCY).strip().upper()
    if len(txn.currency) != 3 or not txn.currency.isalpha():
        errors["currency"] = [_("Use a three-letter currency code such as EUR.")]
    for field, limit in TEXT_LIMITS.items():
        value = str(getattr(txn, field) or "").strip()
        setattr(txn, field, value)
        if len(value) > limit:
            errors[field] = [_("At most %(n)d characters.") % {"n": limit}]
    txn.external_id = txn.external_id or None
    if errors:
        raise ValidationError(errors)


def _set_sums(txn: Transaction, lines: Sequence[LineValues]) -> None:
    txn.net_revenue = sum((line.net_revenue for line in lines), ZERO)
    txn.cost = sum((line.cost for line in lines), ZERO)
    if txn.net_revenue >= MAX_LINE_AMOUNT or txn.cost >= MAX_LINE_AMOUNT:
        raise ValidationError({"lines": _("The total is too large.")})


def _first_team(user: User | None) -> Team | None:
    if user is None:
        return None
    return Team.objects.filter(pk__in=user.team_ids()).order_by("pk").first()


class _Batch:
    """What the rows of one bulk write share: unit costs, parties already checked, and the
    actor's first team (looked up once, not per row)."""

    def __init__(self, *, actor: User | None, costs: UnitCosts, visible: set[int] | None = None):
        self.actor = actor
        self.costs = costs
        self.visible = set() if visible is None else visible
        self._team: Any = _UNSET

    def first_team(self) -> Team | None:
        if self._team is _UNSET:
            self._team = _first_team(self.actor)
        return self._team


def _prepare_transaction(
    *,
    actor: User | None,
    batch: _Batch,
    party: Party | None,
    kind: str,
    date: dt.date,
    lines: Sequence[Mapping[str, Any]],
    owner: User | None = None,
    team: Team | None = None,
    **fields: Any,
) -> tuple[Transaction, list[TransactionLine]]:
    """A validated, unsaved transaction with its lines and sums (no writes)."""
    unknown = set(fields) - set(TRANSACTION_FIELDS)
    if unknown:
        raise ValidationError({f: _("This field cannot be set.") for f in sorted(unknown)})
    _check_party(actor, party, batch.visible)
    if owner is not None or team is not None:
        check_assignment(actor=actor, owner=owner, team=team)
    if owner is None and team is None and party.owner_id is None and party.team_id is None:
        owner, team = actor, batch.first_team()
    txn = Transaction(party=party, kind=kind, date=date, **fields)
    # Ids, not objects: the demo passes parties loaded without their owner and team.
    txn.owner_id = owner.pk if owner is not None else party.owner_id
    txn.team_id = team.pk if team is not None else party.team_id
    _check_header(txn)
    built = _build_lines(
        lines=lines, day=txn.date, currency=txn.currency, costs=batch.costs, keep_inactive=set()
    )
    _set_sums(txn, built)
    return txn, built


def _external_id_taken(external_id: str | None, *, exclude_pk: int | None = None) -> bool:
    if not external_id:
        return False
    qs = Transaction.objects.filter(external_id=external_id)
    return qs.exclude(pk=exclude_pk).exists() if exclude_pk else qs.exists()


def _products_of(lines: Iterable[Mapping[str, Any]]) -> list[Product]:
    return [line["product"] for line in lines if line.get("product") is not None]


@atomic
def transaction_create(
    *,
    actor: User | None,
    party: Party,
    kind: str,
    date: dt.date,
    lines: Sequence[Mapping[str, Any]],
    owner: User | None = None,
    team: Team | None = None,
    **fields: Any,
) -> Transaction:
    """Record an order, invoice or return with its lines in one step.

    ``lines`` are mappings with ``product`` (or a ``description`` for a free line),
    ``quantity``, ``unit_price`` (default: the product's list price) and ``discount``
    (absolute, default 0). Without owner and team the transaction belongs to the party's
    owner and team (or, for a party without both, to the actor and the actor's first team).
    """
    if actor is not None and actor.is_read_only:
        raise PermissionDenied
    txn, built = _prepare_transaction(
        actor=actor,
        batch=_Batch(actor=actor, costs=UnitCosts(_products_of(lines))),
        party=party,
        kind=kind,
        date=date,
        lines=lines,
        owner=owner,
        team=team,
        **fields,
    )
    if _external_id_taken(txn.external_id):
        raise ValidationError({"external_id": _("Another transaction has this external ID.")})
    txn.save()
    TransactionLine.objects.bulk_create([line.instance(txn) for line in built])
    return txn


@atomic
def transaction_update(
    *,
    actor: User | None,
    transaction: Transaction,
    party: Party = _UNSET,
    lines: Sequence[Mapping[str, Any]] | None = None,
    owner: User | None = _UNSET,
    team: Team | None = _UNSET,
    **changes: Any,
) -> Transaction:
    """Change a transaction. Lines given replace the old ones; a new date or currency re-prices
    the kept lines (cost as of the new date). Sums always equal the lines."""
    txn = transaction
    if actor is not None and not actor.has_perm("core.change_record", txn):
        raise PermissionDenied
    unknown = set(changes) - {*TRANSACTION_FIELDS, "kind", "date"}
    if unknown:
        raise ValidationError({f: _("This field cannot be changed.") for f in sorted(unknown)})
    old_lines = list(txn.lines.select_related("product"))
    reprice = any(
        field in changes and changes[field] != getattr(txn, field) for field in ("date", "currency")
    )
    if party is not _UNSET and party.pk != txn.party_id:
        _check_party(actor, party)
        txn.party = party
    new_owner = txn.owner if owner is _UNSET else owner
    new_team = txn.team if team is _UNSET else team
    if (getattr(new_owner, "pk", None), getattr(new_team, "pk", None)) != (
        txn.owner_id,
        txn.team_id,
    ):
        check_assignment(actor=actor, owner=new_owner, team=new_team)
    txn.owner, txn.team = new_owner, new_team
    for field, value in changes.items():
        setattr(txn, field, value)
    _check_header(txn)
    if _external_id_taken(txn.external_id, exclude_pk=txn.pk):
        raise ValidationError({"external_id": _("Another transaction has this external ID.")})
    if lines is None and reprice:
        lines = [
            {
                "product": line.product,
                "description": line.description,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "discount": line.discount,
            }
            for line in old_lines
        ]
    if lines is not None:
        built = _build_lines(
            lines=lines,
            day=txn.date,
            currency=txn.currency,
            costs=UnitCosts(_products_of(lines)),
            keep_inactive={line.product_id for line in old_lines if line.product_id},
        )
        _set_sums(txn, built)
        txn.lines.all().delete()
        TransactionLine.objects.bulk_create([line.instance(txn) for line in built])
    txn.save()
    return txn


@atomic
def transaction_delete(*, actor: User | None, transaction: Transaction) -> None:
    """Soft delete: the transaction leaves lists and sums but stays restorable."""
    if actor is not None and not actor.has_perm("core.change_record", transaction):
        raise PermissionDenied
    transaction.deleted_at = timezone.now()
    transaction.save(update_fields=["deleted_at", "updated_at"])


# The list's bulk actions (kreis.core.bulk): each one is the single-transaction service.
TRANSACTION_BULK = BulkActions(
    assign_owner=lambda *, actor, record, owner: transaction_update(
        actor=actor, transaction=record, owner=owner
    ),
    delete=lambda *, actor, record: transaction_delete(actor=actor, transaction=record),
)


class _References:
    """Parties, products, users and teams that rows name by id, external ID or SKU, loaded
    with a handful of queries for a whole batch (only parties the actor may see)."""

    def __init__(self, *, actor: User | None, rows: Sequence[Mapping[str, Any]]):
        def wanted(key, items):
            return {item[key] for item in items if item.get(key) not in (None, "")}

        lines = [line for row in rows for line in row.get("lines") or ()]
        parties = Party.objects.filter(deleted_at__isnull=True)
        if actor is not None:
            parties = visible_records(parties, user=actor)
        parties = parties.filter(
            Q(pk__in=wanted("party_id", rows))
            | Q(external_id__in=wanted("party_external_id", rows))
        )
        self.parties = {p.pk: p for p in parties}
        # Loaded through visible_records: the actor may see each of them.
        self.visible = set(self.parties)
        self.parties_by_external_id = {p.external_id: p for p in self.parties.values()}
        products = Product.objects.filter(
            Q(pk__in=wanted("product_id", lines)) | Q(sku__in=wanted("sku", lines))
        )
        self.products = {p.pk: p for p in products}
        self.products_by_sku = {p.sku: p for p in self.products.values()}
        self.users = {
            u.pk: u for u in User.objects.filter(pk__in=wanted("owner_id", rows), is_active=True)
        }
        self.teams = {t.pk: t for t in Team.objects.filter(pk__in=wanted("team_id", rows))}

    def resolve(self, row: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
        """The row with objects for its references; unknown ones are field errors. With
        ``partial`` (a change), the party may be left out."""
        data = dict(row)
        errors: dict[str, str] = {}
        party_id, external = data.pop("party_id", None), data.pop("party_external_id", None)
        if "party" not in data and (party_id or external or not partial):
            if bool(party_id) == bool(external):
                errors["party_id"] = _("Give either party_id or party_external_id.")
            else:
                data["party"] = (
                    self.parties.get(party_id)
                    if party_id
                    else self.parties_by_external_id.get(external)
                )
                if data["party"] is None:
                    field = "party_id" if party_id else "party_external_id"
                    errors[field] = _("No such party, or you may not see it.")
        for key, table, target in (
            ("owner_id", self.users, "owner"),
            ("team_id", self.teams, "team"),
        ):
            if key in data:
                pk = data.pop(key)
                data[target] = table.get(pk) if pk else None
                if pk and data[target] is None:
                    errors[key] = _("No such user.") if key == "owner_id" else _("No such team.")
        lines = []
        for i, raw in enumerate(data.get("lines") or ()):
            line = dict(raw)
            product_id, sku = line.pop("product_id", None), line.pop("sku", None)
            if product_id and sku:
                errors[f"lines.{i}.sku"] = _("Give either product_id or sku.")
            elif product_id or sku:
                line["product"] = (
                    self.products.get(product_id) if product_id else self.products_by_sku.get(sku)
                )
                if line["product"] is None:
                    errors[f"lines.{i}.{'product_id' if product_id else 'sku'}"] = _(
                        "No such product."
                    )
            lines.append(line)
        if "lines" in data:
            data["lines"] = lines
        if errors:
            raise ValidationError(errors)
        return data


def transaction_references(
    *, actor: User | None, data: Mapping[str, Any], partial: bool = False
) -> dict[str, Any]:
    """API-shaped data (``party_id`` or ``party_external_id``, ``owner_id``, ``team_id``,
    lines with ``product_id`` or ``sku``) turned into the arguments the services take."""
    return _References(actor=actor, rows=[data]).resolve(data, partial=partial)
