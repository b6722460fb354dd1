"""Price lists, discount rules and discount limits: which price and which discount apply, and
the writes of sales managers (typed, keyword-only, atomic).

The precedence is documented in ``kreis.pricing.models`` and in docs/sales-management.md.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from kreis.commerce.models import Product, SalesChannel
from kreis.core.models import User
from kreis.core.web import DefusingWriter, csv_cell
from kreis.marketing.models import Segment
from kreis.marketing.segments.queries import segment_parties
from kreis.parties.models import AbcClass, Party
from kreis.pricing.models import (
    DiscountRule,
    PriceList,
    PriceListItem,
    PricingSettings,
    RepDiscountLimit,
)

ZERO = Decimal("0")
CENT = Decimal("0.01")


def _require_manager(actor: User | None) -> None:
    if actor is not None and not actor.has_perm("pricing.manage"):
        raise PermissionDenied


# --- Settings and limits -------------------------------------------------------------------


def ensure_defaults() -> PricingSettings:
    """The settings singleton (made on first use, so a flushed test database has it too)."""
    config, _created = PricingSettings.objects.get_or_create(pk=1)
    return config


def pricing_settings() -> PricingSettings:
    return ensure_defaults()


def settings_update(*, actor: User | None, **changes: Any) -> PricingSettings:
    """Sales managers and administrators change the default limit and the validity periods."""
    _require_manager(actor)
    config = ensure_defaults()
    allowed = {"default_discount_limit", "quote_valid_days", "link_valid_days"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError({f: _("This field cannot be changed.") for f in sorted(unknown)})
    for field, value in changes.items():
        setattr(config, field, value)
    config.full_clean()
    config.save()
    return config


def discount_limit_for(user: User | None) -> Decimal:
    """The rep's own limit, else the default of the pricing settings (percent)."""
    if user is not None:
        own = RepDiscountLimit.objects.filter(user=user).values_list("limit_percent", flat=True)
        for value in own:
            return value
    return ensure_defaults().default_discount_limit


@transaction.atomic
def rep_limit_set(
    *, actor: User | None, user: User, limit_percent: Decimal | None
) -> RepDiscountLimit | None:
    """Give a rep her own discount limit; ``None`` returns her to the default."""
    _require_manager(actor)
    if limit_percent is None:
        RepDiscountLimit.objects.filter(user=user).delete()
        return None
    limit = RepDiscountLimit.objects.filter(user=user).first() or RepDiscountLimit(user=user)
    limit.limit_percent = limit_percent
    limit.full_clean()
    limit.save()
    return limit


# --- Which price, which discount -----------------------------------------------------------


@dataclass(frozen=True)
class AppliedPrice:
    unit_price: Decimal
    price_list: PriceList | None
    item: PriceListItem | None

    @property
    def source(self) -> str:
        if self.price_list is None:
            return _("list price of the product")
        return _("price list %(name)s") % {"name": self.price_list.name}


def _valid_on(day: dt.date) -> Q:
    return (Q(valid_from__isnull=True) | Q(valid_from__lte=day)) & (
        Q(valid_to__isnull=True) | Q(valid_to__gte=day)
    )


class Memberships:
    """Which segments a party belongs to, asked once per segment and kept for one pricing run
    (a quote of many lines asks the same segments again)."""

    def __init__(self, party: Party | None):
        self.party = party
        self._known: dict[int, bool] = {}

    def __contains__(self, segment_id: int) -> bool:
        if self.party is None or self.party.pk is None:
            return False
        if segment_id not in self._known:
            segment = Segment.objects.filter(pk=segment_id).first()
            self._known[segment_id] = bool(
                segment is not None and segment_parties(segment).filter(pk=self.party.pk).exists()
            )
        return self._known[segment_id]


def price_for(
    *,
    product: Product,
    party: Party | None,
    currency: str,
    channel: str = "",
    on: dt.date | None = None,
    quantity: Decimal = Decimal("1"),
    memberships: Memberships | None = None,
) -> AppliedPrice:
    """The unit price that applies to ``party`` buying ``quantity`` of ``product`` on ``on``.

    Candidates: active price lists in ``currency``, valid on the day, with an item for the
    product at a minimum quantity not above ``quantity``, whose segment (if set) has the party
    as a member and whose channel (if set) is ``channel``. The most specific list wins
    (segment and channel 3 > segment 2 > channel 1 > neither 0); a tie goes to the list valid
    from the later day, then to the lower price. Inside the list the highest quantity tier that
    is reached counts. No candidate: the product's list price (in its own currency).
    """
    day = on or timezone.localdate()
    memberships = memberships or Memberships(party)
    items = (
        PriceListItem.objects.filter(
            product=product,
            min_quantity__lte=quantity,
            price_list__is_active=True,
            price_list__currency=currency,
        )
        .filter(Q(price_list__channel="") | Q(price_list__channel=channel or "-"))
        .filter(
            Q(price_list__valid_from__isnull=True) | Q(price_list__valid_from__lte=day),
            Q(price_list__valid_to__isnull=True) | Q(price_list__valid_to__gte=day),
        )
        .select_related("price_list")
    )
    best: dict[int, PriceListItem] = {}  # per list, its highest tier reached
    for item in items:
        segment_id = item.price_list.segment_id
        if segment_id is not None and segment_id not in memberships:
            continue
        kept = best.get(item.price_list_id)
        if kept is None or item.min_quantity > kept.min_quantity:
            best[item.price_list_id] = item
    if not best:
        return AppliedPrice(product.list_price, None, None)

    def rank(item: PriceListItem):
        plist = item.price_list
        return (-plist.specificity, -(plist.valid_from or dt.date.min).toordinal(), item.unit_price)

    chosen = min(best.values(), key=rank)
    return AppliedPrice(chosen.unit_price, chosen.price_list, chosen)


@dataclass(frozen=True)
class AppliedDiscount:
    percent: Decimal
    rule: DiscountRule | None


def best_discount(
    *,
    party: Party | None,
    quantity: Decimal,
    on: dt.date | None = None,
    memberships: Memberships | None = None,
) -> AppliedDiscount:
    """The discount the rules give: of the active rules valid on the day whose conditions all
    hold (the party's ABC class, its membership of the segment, ``quantity`` at least the
    rule's minimum), the one with the highest percentage. Rules are never added up."""
    day = on or timezone.localdate()
    memberships = memberships or Memberships(party)
    abc = party.abc_class if party is not None else ""
    rules = DiscountRule.objects.filter(_valid_on(day), is_active=True).filter(
        Q(abc_class="") | Q(abc_class=abc or "-"),
        Q(min_quantity__isnull=True) | Q(min_quantity__lte=quantity),
    )
    for rule in rules.order_by("-percent", "pk"):
        if rule.segment_id is not None and rule.segment_id not in memberships:
            continue
        return AppliedDiscount(rule.percent, rule)
    return AppliedDiscount(ZERO, None)


# --- Price lists -----------------------------------------------------------------------------

PRICE_LIST_FIELDS = (
    "name",
    "currency",
    "segment",
    "channel",
    "valid_from",
    "valid_to",
    "is_active",
    "notes",
)


def _clean_price_list(price_list: PriceList) -> None:
    price_list.name = (price_list.name or "").strip()
    price_list.currency = (price_list.currency or "").strip().upper()
    errors: dict[str, list[str]] = {}
    if len(price_list.currency) != 3 or not price_list.currency.isalpha():
        errors["currency"] = [_("A currency is three letters, e.g. EUR.")]
    if (
        price_list.valid_from
        and price_list.valid_to
        and price_list.valid_to < price_list.valid_from
    ):
        errors["valid_to"] = [_("The end lies before the start.")]
    try:
        price_list.full_clean()
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)


def price_list_create(*, actor: User | None, name: str, **fields: Any) -> PriceList:
    _require_manager(actor)
    unknown = set(fields) - set(PRICE_LIST_FIELDS)
    if unknown:
        raise ValidationError({f: _("This field cannot be changed.") for f in sorted(unknown)})
    price_list = PriceList(name=name, **fields)
    _clean_price_list(price_list)
    price_list.save()
    return price_list


def price_list_update(*, actor: User | None, price_list: PriceList, **changes: Any) -> PriceList:
    _require_manager(actor)
    unknown = set(changes) - set(PRICE_LIST_FIELDS)
    if unknown:
        raise ValidationError({f: _("This field cannot be changed.") for f in sorted(unknown)})
    for field, value in changes.items():
        setattr(price_list, field, value)
    _clean_price_list(price_list)
    price_list.save()
    return price_list


@transaction.atomic
def price_list_delete(*, actor: User | None, price_list: PriceList) -> None:
    """Delete a list and its items (quotes keep the prices they were made with)."""
    _require_manager(actor)
    price_list.delete()


def _touch(price_list: PriceList) -> None:
    # An item is part of its list: the list's version (ETag) changes with it.
    price_list.save(update_fields=["updated_at"])


@transaction.atomic
def item_set(
    *,
    actor: User | None,
    price_list: PriceList,
    product: Product,
    unit_price: Decimal,
    min_quantity: Decimal = Decimal("1"),
) -> PriceListItem:
    """Set the list's price of a product from a quantity on (a new tier or a changed one)."""
    _require_manager(actor)
    item = PriceListItem.objects.filter(
        price_list=price_list, product=product, min_quantity=min_quantity
    ).first() or PriceListItem(price_list=price_list, product=product, min_quantity=min_quantity)
    item.unit_price = unit_price
    item.full_clean(validate_constraints=False)
    item.save()
    _touch(price_list)
    return item


@transaction.atomic
def item_delete(*, actor: User | None, item: PriceListItem) -> None:
    _require_manager(actor)
    price_list = item.price_list
    item.delete()
    _touch(price_list)


# --- Discount rules --------------------------------------------------------------------------

RULE_FIELDS = (
    "name",
    "percent",
    "abc_class",
    "segment",
    "min_quantity",
    "valid_from",
    "valid_to",
    "is_active",
)


def _clean_rule(rule: DiscountRule) -> None:
    rule.name = (rule.name or "").strip()
    errors: dict[str, list[str]] = {}
    if rule.valid_from and rule.valid_to and rule.valid_to < rule.valid_from:
        errors["valid_to"] = [_("The end lies before the start.")]
    if rule.abc_class and rule.abc_class not in AbcClass.values:
        errors["abc_class"] = [_("Choose A, B or C.")]
    try:
        rule.full_clean()
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)


def discount_rule_create(
    *, actor: User | None, name: str, percent: Decimal, **fields: Any
) -> DiscountRule:
    _require_manager(actor)
    unknown = set(fields) - set(RULE_FIELDS)
    if unknown:
        raise ValidationError({f: _("This field cannot be changed.") for f in sorted(unknown)})
    rule = DiscountRule(name=name, percent=percent, **fields)
    _clean_rule(rule)
    rule.save()
    return rule


def discount_rule_update(*, actor: User | None, rule: DiscountRule, **changes: Any) -> DiscountRule:
    _require_manager(actor)
    unknown = set(changes) - set(RULE_FIELDS)
    if unknown:
        raise ValidationError({f: _("This field cannot be changed.") for f in sorted(unknown)})
    for field, value in changes.items():
        setattr(rule, field, value)
    _clean_rule(rule)
    rule.save()
    return rule


def discount_rule_delete(*, actor: User | None, rule: DiscountRule) -> None:
    _require_manager(actor)
    rule.delete()


# --- CSV import and export -------------------------------------------------------------------

CSV_COLUMNS = [
    "price_list",
    "currency",
    "segment_id",
    "channel",
    "valid_from",
    "valid_to",
    "sku",
    "min_quantity",
    "unit_price",
]


def export_rows(price_lists: Iterable[PriceList]) -> Iterator[list[Any]]:
    """Every item of the lists as one row each (the import's format), without the header."""
    lists = list(price_lists)
    items = (
        PriceListItem.objects.filter(price_list__in=lists)
        .select_related("price_list", "product")
        .order_by("price_list__name", "price_list_id", "product__sku", "min_quantity")
    )
    for item in items:
        plist = item.price_list
        yield [
            plist.name,
            plist.currency,
            plist.segment_id or "",
            plist.channel,
            plist.valid_from or "",
            plist.valid_to or "",
            item.product.sku,
            item.min_quantity.normalize(),
            item.unit_price,
        ]


def export_csv(price_lists: Iterable[PriceList]) -> str:
    """The export as one text (the CLI and tests); cells defused like every Kreis export."""
    out = io.StringIO()
    writer = DefusingWriter(out)
    writer.writerow(CSV_COLUMNS)
    writer.writerows(export_rows(price_lists))
    return out.getvalue()


def _parse_decimal(raw: str, field: str, row: int, errors: list) -> Decimal | None:
    try:
        value = Decimal((raw or "").strip().replace(",", "."))
    except InvalidOperation:
        errors.append(
            {"row": row, "field": field, "message": _("Not a number: %(v)s") % {"v": raw}}
        )
        return None
    if not value.is_finite() or value < 0:
        errors.append(
            {"row": row, "field": field, "message": _("Not a number: %(v)s") % {"v": raw}}
        )
        return None
    return value


def _parse_date(raw: str, field: str, row: int, errors: list) -> dt.date | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        errors.append(
            {
                "row": row,
                "field": field,
                "message": _("Not a date (YYYY-MM-DD): %(v)s") % {"v": raw},
            }
        )
        return None


def _undefused(cell: str) -> str:
    """The value an export defused with a leading apostrophe (kreis.core.web.csv_cell)."""
    return (
        cell[1:] if cell.startswith("'") and cell[1:] and csv_cell(cell[1:]) != cell[1:] else cell
    )


@dataclass
class ImportResult:
    lists_created: int = 0
    items_set: int = 0


@transaction.atomic
def import_csv(*, actor: User | None, text: str) -> ImportResult:
    """Read rows in the export's format: lists found by name and currency (made when new),
    every row one item. All or nothing: one bad row and nothing is written (ValidationError
    with every row's errors)."""
    _require_manager(actor)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        fieldnames = reader.fieldnames or []
        records = list(reader)
    except csv.Error as exc:
        raise ValidationError(
            _("The file cannot be read as CSV: %(error)s") % {"error": exc}
        ) from None
    missing = [c for c in ("price_list", "sku", "unit_price") if c not in fieldnames]
    if missing:
        raise ValidationError(
            _("The file lacks the columns: %(columns)s") % {"columns": ", ".join(missing)}
        )
    errors: list[dict[str, Any]] = []
    rows: list[tuple[dict[str, Any], Product, Decimal, Decimal]] = []
    skus: dict[str, Product] = {}
    for number, raw in enumerate(records, start=2):
        row: Mapping[str, str] = {k: (v or "") for k, v in raw.items() if k}
        name = _undefused(row.get("price_list", "")).strip()
        if not name:
            errors.append({"row": number, "field": "price_list", "message": _("Name missing.")})
            continue
        sku = _undefused(row.get("sku", "")).strip()
        if sku not in skus:
            found = Product.objects.filter(sku=sku).first()
            if found is not None:
                skus[sku] = found
        product = skus.get(sku)
        if product is None:
            errors.append(
                {
                    "row": number,
                    "field": "sku",
                    "message": _("No product with SKU %(sku)s.") % {"sku": sku},
                }
            )
        price = _parse_decimal(row.get("unit_price", ""), "unit_price", number, errors)
        tier = _parse_decimal(row.get("min_quantity") or "1", "min_quantity", number, errors)
        channel = row.get("channel", "").strip()
        if channel and channel not in SalesChannel.values:
            errors.append(
                {
                    "row": number,
                    "field": "channel",
                    "message": _("Unknown channel: %(v)s") % {"v": channel},
                }
            )
        segment_raw = row.get("segment_id", "").strip()
        segment = None
        if segment_raw:
            segment = (
                Segment.objects.filter(pk=int(segment_raw)).first()
                if segment_raw.isdigit()
                else None
            )
            if segment is None:
                errors.append(
                    {
                        "row": number,
                        "field": "segment_id",
                        "message": _("No such segment: %(v)s") % {"v": segment_raw},
                    }
                )
        header = {
            "name": name,
            "currency": (row.get("currency") or "EUR").strip().upper(),
            "segment": segment,
            "channel": channel,
            "valid_from": _parse_date(row.get("valid_from", ""), "valid_from", number, errors),
            "valid_to": _parse_date(row.get("valid_to", ""), "valid_to", number, errors),
        }
        if product is not None and price is not None and tier is not None:
            rows.append((header, product, price, tier))
    if errors:
        raise ValidationError([f"{e['row']}: {e['field']}: {e['message']}" for e in errors])
    result = ImportResult()
    lists: dict[tuple[str, str], PriceList] = {}
    for header, product, price, tier in rows:
        key = (header["name"], header["currency"])
        if key not in lists:
            found = PriceList.objects.filter(name=key[0], currency=key[1]).first()
            if found is None:
                found = price_list_create(actor=None, **header)
                result.lists_created += 1
            lists[key] = found
        item_set(
            actor=None, price_list=lists[key], product=product, unit_price=price, min_quantity=tier
        )
        result.items_set += 1
    return result
