"""Many products and transactions at once: the bulk-create API's transactions and the write
side of imports (upsert and undo).

The bulk-create API writes through ``transactions_bulk_create`` (below) and
``services.products_bulk_create`` (all or none). An import needs more: rows validated one by
one (a bad row is reported, the others go on), existing records updated in place with their
previous values kept for undo, and the whole import removed again. The same rules apply as in
``kreis.commerce.services`` — this module only reuses them over a batch, with a fixed number
of statements per batch and none per row. Everything runs inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.db.models import F
from django.db.transaction import atomic
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from kreis.commerce.models import Product, Transaction, TransactionLine
from kreis.commerce.services import (
    PRODUCT_FIELDS,
    ZERO,
    BulkError,
    LineValues,
    UnitCosts,
    _Batch,
    _check_catalogue_permission,
    _prepare_product,
    _prepare_transaction,
    _products_of,
    _References,
    _row_errors,
)
from kreis.core.bulkinsert import insert_rows, reserve_ids
from kreis.core.jsonvalue import json_value
from kreis.core.models import User
from kreis.core.purge import purge

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


def transactions_delete(ids: Sequence[int]) -> int:
    """Delete transactions for good (an import undone) with their lines and whatever else
    depends on them (``kreis.core.purge``: set-based, no per-row signal work). Returns the
    transactions deleted."""
    return purge(Transaction, ids)


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


# --- transactions: the bulk-create API's path and the import's inserts --------------------


def transaction_drafts(
    *, actor: User | None, rows: Sequence[Mapping[str, Any]], external_ids_taken: bool = True
) -> tuple[list[tuple[Transaction, list[LineValues]] | None], list[dict[str, Any]]]:
    """Validate many rows as ``transactions_bulk_create`` does, without writing: per row the
    unsaved transaction with its lines (``None`` for a refused row), and the problems as
    ``{"row", "field", "message"}`` dicts (row = index in ``rows``). ``external_ids_taken``:
    an external ID another transaction (or an earlier row) has is a problem; an import that
    matches existing transactions itself turns this off."""
    refs = _References(actor=actor, rows=rows)
    resolved: list[dict[str, Any] | None] = []
    errors: list[dict[str, Any]] = []
    for i, row in enumerate(rows):
        try:
            resolved.append(refs.resolve(row))
        except ValidationError as exc:
            errors += _row_errors(i, exc)
            resolved.append(None)
    costs = UnitCosts(
        {
            p.pk: p for data in resolved if data for p in _products_of(data.get("lines") or ())
        }.values()
    )
    batch = _Batch(actor=actor, costs=costs, visible=refs.visible)
    taken: set[str] = set()
    if external_ids_taken:
        external_ids = [str(r.get("external_id")).strip() for r in rows if r.get("external_id")]
        taken = set(
            Transaction.objects.filter(external_id__in=external_ids).values_list(
                "external_id", flat=True
            )
        )
    drafts: list[tuple[Transaction, list[LineValues]] | None] = []
    for i, data in enumerate(resolved):
        drafts.append(None)
        if data is None:
            continue
        missing = {"kind", "date", "lines"} - set(data)
        if missing:
            errors += [
                {"row": i, "field": f, "message": _("This field is required.")}
                for f in sorted(missing)
            ]
            continue
        try:
            txn, built = _prepare_transaction(actor=actor, batch=batch, **data)
        except ValidationError as exc:
            errors += _row_errors(i, exc)
            continue
        if external_ids_taken and txn.external_id:
            if txn.external_id in taken:
                errors.append(
                    {
                        "row": i,
                        "field": "external_id",
                        "message": _("Another transaction has this external ID."),
                    }
                )
                continue
            taken.add(txn.external_id)
        drafts[i] = (txn, built)
    return drafts, errors


def transactions_insert(
    drafts: Sequence[tuple[Transaction, list[LineValues]]],
) -> list[Transaction]:
    """Write validated drafts (``transaction_drafts``): ids reserved, then the transactions
    and their lines with one statement per table. Inside the caller's transaction."""
    if not drafts:
        return []
    now = timezone.now()
    for pk, (txn, _lines) in zip(reserve_ids(Transaction, len(drafts)), drafts, strict=True):
        txn.pk = pk
        txn.created_at = txn.updated_at = now
        txn._state.adding, txn._state.db = False, connection.alias
    stamp = connection.ops.adapt_datetimefield_value(now)
    _insert(
        Transaction,
        TRANSACTION_COLUMNS,
        (
            (
                txn.pk,
                txn.kind,
                txn.number,
                txn.party_id,
                connection.ops.adapt_datefield_value(txn.date),
                txn.currency,
                txn.channel,
                txn.note,
                txn.net_revenue,
                txn.cost,
                txn.owner_id,
                txn.team_id,
                txn.external_id,
                stamp,
                stamp,
                None,
            )
            for txn, _lines in drafts
        ),
    )
    _insert_lines((txn.pk, line) for txn, lines in drafts for line in lines)
    return [txn for txn, _lines in drafts]


def transactions_bulk_create(
    *, actor: User | None, rows: Sequence[Mapping[str, Any]]
) -> list[Transaction]:
    """Create many transactions with their lines, all or none.

    Rows are the arguments of ``transaction_create``, with references by id, external ID or
    SKU allowed (``party_id``/``party_external_id``, ``owner_id``, ``team_id``, lines with
    ``product_id``/``sku``) or objects (``party``, ``owner``, ``team``, ``product``). Every row
    is validated before anything is written; refused rows raise ``BulkError`` with one
    ``{"row", "field", "message"}`` per problem. The API takes up to 1,000 rows at a time;
    the demo passes 10,000 lines per call.
    """
    if actor is not None and actor.is_read_only:
        raise PermissionDenied
    drafts, errors = transaction_drafts(actor=actor, rows=rows)
    if errors:
        raise BulkError(sorted(errors, key=lambda e: e["row"]))
    with atomic():
        return transactions_insert([d for d in drafts if d is not None])


TRANSACTION_COLUMNS = (
    "id",
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
    "external_id",
    "created_at",
    "updated_at",
    "deleted_at",
)
LINE_COLUMNS = (
    "transaction_id",
    "product_id",
    "description",
    "quantity",
    "unit_price",
    "discount",
    "net_revenue",
    "cost",
)


def _insert_lines(lines: Iterable[tuple[int, LineValues]]) -> None:
    _insert(
        TransactionLine,
        LINE_COLUMNS,
        (
            (
                txn_id,
                line.product.pk if line.product is not None else None,
                line.description,
                line.quantity,
                line.unit_price,
                line.discount,
                line.net_revenue,
                line.cost,
            )
            for txn_id, line in lines
        ),
    )


def _insert(model, columns: Sequence[str], rows: Iterable[tuple]) -> None:
    """Insert validated rows (values ready for the database) with one statement: PostgreSQL
    ``COPY`` (``kreis.core.bulkinsert``), SQLite ``executemany`` of the values as they are.
    The ORM's bulk_create spends most of a large write preparing values one by one (the large
    demo writes a million lines; the API up to 500,000 per request)."""
    if connection.vendor == "postgresql":
        insert_rows(model, [dict(zip(columns, row, strict=True)) for row in rows])
        return
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    marks = ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608 (names from the model)
    with connection.cursor() as cursor:
        cursor.executemany(sql, list(rows))
