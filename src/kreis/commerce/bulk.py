"""Many products and transactions at once: the write side of imports (upsert and undo).

The bulk-create API writes through ``services.transactions_bulk_create`` and
``services.products_bulk_create`` (all or none). An import needs more: rows validated one by
one (a bad row is reported, the others go on), existing records updated in place with their
previous values kept for undo, and the whole import removed again. The same rules apply as in
``kreis.commerce.services`` — this module only reuses them over a batch, with a fixed number
of statements per batch and none per row. Everything runs inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import F
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from kreis.commerce.models import Product, Transaction, TransactionLine
from kreis.commerce.services import (
    PRODUCT_FIELDS,
    ZERO,
    LineValues,
    _check_catalogue_permission,
    _insert_lines,
    _prepare_product,
    _row_errors,
)
from kreis.core.jsonvalue import json_value
from kreis.core.models import User

# The header fields an import may change on an existing transaction (with its lines).
TRANSACTION_HEADER = (
    "kind",
    "number",
    "party_id",
    "date",
    "currency",
    "channel",
    "note",
    "net_revenue",
    "cost",
    "owner_id",
    "team_id",
)
LINE_FIELDS = ("product_id", "description", "quantity", "unit_price", "discount")


# --- products -------------------------------------------------------------------------------


def product_rows_clean(
    *, actor: User | None, rows: Sequence[Mapping[str, Any]]
) -> tuple[list[Product | None], list[dict[str, Any]]]:
    """Each row as an unsaved, validated ``Product`` (``None`` when refused) and the problems
    as ``{"row", "field", "message"}`` (row = index). SKUs are not checked against the
    catalogue: the caller decides whether a known SKU is an update."""
    _check_catalogue_permission(actor)
    products: list[Product | None] = []
    errors: list[dict[str, Any]] = []
    for i, row in enumerate(rows):
        products.append(None)
        unknown = set(row) - set(PRODUCT_FIELDS)
        if unknown:
            raise ValueError(f"not product fields: {sorted(unknown)}")
        try:
            products[i] = _prepare_product(Product(**row))
        except ValidationError as exc:
            errors += _row_errors(i, exc)
    return products, errors


def products_create(*, actor: User | None, products: Sequence[Product]) -> list[Product]:
    """Insert validated products with their first history row ("created", by the actor)."""
    _check_catalogue_permission(actor)
    return bulk_create_with_history(list(products), Product, batch_size=500, default_user=actor)


def products_update(
    *, actor: User | None, changes: Sequence[tuple[Product, Mapping[str, Any]]]
) -> list[tuple[Product, dict[str, Any]]]:
    """Give existing products new values (only fields that differ). Returns each changed
    product with its previous values (JSON-able, for undo); unchanged ones are left out.
    History: one "changed" row per product."""
    _check_catalogue_permission(actor)
    changed: list[tuple[Product, dict[str, Any]]] = []
    fields: set[str] = set()
    for product, values in changes:
        before = {}
        for name, value in values.items():
            if getattr(product, name) != value:
                before[name] = json_value(getattr(product, name))
                setattr(product, name, value)
        if before:
            changed.append((product, before))
            fields.update(before)
    if changed:
        bulk_update_with_history(
            [p for p, _before in changed],
            Product,
            sorted(fields | {"updated_at"}),
            batch_size=500,
            default_user=actor,
        )
    return changed


# --- transactions ---------------------------------------------------------------------------


def transaction_snapshots(ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """The header and lines of existing transactions as JSON (``ImportRecord.before``), read
    with two queries."""
    ids = list(ids)
    snapshots: dict[int, dict[str, Any]] = {}
    for row in Transaction.objects.filter(pk__in=ids).values("pk", *TRANSACTION_HEADER):
        pk = row.pop("pk")
        snapshots[pk] = {k: json_value(v) for k, v in row.items()} | {"lines": []}
    lines = TransactionLine.objects.filter(transaction_id__in=ids).order_by("pk")
    for row in lines.values("transaction_id", *LINE_FIELDS, "net_revenue", "cost"):
        txn_id = row.pop("transaction_id")
        snapshots[txn_id]["lines"].append({k: json_value(v) for k, v in row.items()})
    return snapshots


def transactions_replace(
    pairs: Sequence[tuple[Transaction, Transaction, list[LineValues]]],
) -> None:
    """Overwrite existing transactions (first of each pair) with validated drafts (second)
    and their lines: headers in one bulk update, old lines deleted, new ones inserted."""
    if not pairs:
        return
    for existing, draft, _lines in pairs:
        for name in TRANSACTION_HEADER:
            setattr(existing, name, getattr(draft, name))
    ids = [existing.pk for existing, _draft, _lines in pairs]
    Transaction.objects.bulk_update(
        [existing for existing, _draft, _lines in pairs],
        [*TRANSACTION_HEADER, "updated_at"],
        batch_size=500,
    )
    for start in range(0, len(ids), 500):
        TransactionLine.objects.filter(transaction_id__in=ids[start : start + 500]).delete()
    _insert_lines((existing.pk, line) for existing, _draft, lines in pairs for line in lines)


def transactions_restore(snapshots: Mapping[int, Mapping[str, Any]]) -> None:
    """Write ``transaction_snapshots`` back: headers and lines as they were."""
    if not snapshots:
        return
    fields = {f.attname: f for f in Transaction._meta.concrete_fields}
    line_fields = {f.attname: f for f in TransactionLine._meta.concrete_fields}
    txns = []
    for pk, snapshot in snapshots.items():
        txn = Transaction(pk=pk)
        for name in TRANSACTION_HEADER:
            value = snapshot.get(name)
            setattr(txn, name, None if value is None else fields[name].to_python(value))
        txns.append(txn)
    Transaction.objects.bulk_update(txns, list(TRANSACTION_HEADER), batch_size=500)
    ids = list(snapshots)
    for start in range(0, len(ids), 500):
        TransactionLine.objects.filter(transaction_id__in=ids[start : start + 500]).delete()
    restored = [
        TransactionLine(
            transaction_id=pk,
            **{
                k: None if v is None else line_fields[k].to_python(v)
                for k, v in line.items()
                if k in line_fields
            },
        )
        for pk, snapshot in snapshots.items()
        for line in snapshot.get("lines", ())
    ]
    TransactionLine.objects.bulk_create(restored, batch_size=1000)


def transactions_delete(runs: Sequence[tuple[int, int]]) -> int:
    """Delete transactions with their lines for good (an import undone), given as runs of
    consecutive ids (first, last): a few statements for a whole import, no per-row signal
    work (lines and transactions have neither history nor search entries)."""
    table = connection.ops.quote_name(Transaction._meta.db_table)
    lines = connection.ops.quote_name(TransactionLine._meta.db_table)
    deleted = 0
    with connection.cursor() as cursor:
        for start in range(0, len(runs), 200):
            part = runs[start : start + 200]
            params = [bound for run in part for bound in run]
            in_lines = " OR ".join(["transaction_id BETWEEN %s AND %s"] * len(part))
            in_table = " OR ".join(["id BETWEEN %s AND %s"] * len(part))
            # Only fixed names and placeholders are put in.
            cursor.execute(f"DELETE FROM {lines} WHERE {in_lines}", params)  # noqa: S608
            cursor.execute(f"DELETE FROM {table} WHERE {in_table}", params)  # noqa: S608
            deleted += cursor.rowcount
    return deleted


def draft_snapshot(txn: Transaction, lines: Sequence[LineValues]) -> dict[str, Any]:
    """A validated draft in the form of ``transaction_snapshots`` (to see whether an
    update would change anything)."""
    snapshot = {name: json_value(getattr(txn, name)) for name in TRANSACTION_HEADER}
    snapshot["lines"] = [
        {
            "product_id": line.product.pk if line.product is not None else None,
            "description": line.description,
            "quantity": json_value(line.quantity),
            "unit_price": json_value(line.unit_price),
            "discount": json_value(line.discount),
            "net_revenue": json_value(line.net_revenue),
            "cost": json_value(line.cost),
        }
        for line in lines
    ]
    return snapshot


def transaction_lines_append(pairs: Sequence[tuple[int, Sequence[LineValues]]]) -> None:
    """More lines for transactions written earlier in the same import (an order whose rows
    are apart in the file), with the sums moved by the new lines."""
    for txn_id, lines in pairs:
        _insert_lines((txn_id, line) for line in lines)
        Transaction.objects.filter(pk=txn_id).update(
            net_revenue=F("net_revenue") + sum((line.net_revenue for line in lines), ZERO),
            cost=F("cost") + sum((line.cost for line in lines), ZERO),
        )
