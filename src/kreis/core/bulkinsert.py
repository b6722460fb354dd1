"""Inserting many rows of a model fast: plain values in, one statement per table out.

``QuerySet.bulk_create`` builds a model instance per row and prepares every field of every
row through the SQL compiler; on SQLite it also splits the rows into INSERTs of at most 999
parameters (18 rows of a party). For a thousand parties with contact points, history and
search entries that was ~2 s. Here the rows are dicts of column values (``attname`` →
value), missing columns take the field's default (``auto_now``/``auto_now_add``: now), and
the rows go in with

- SQLite: one prepared ``INSERT`` run by ``executemany`` (triggers, e.g. the search index's
  FTS table, fire per row as usual);
- PostgreSQL: ``COPY … FROM STDIN``.

Primary keys are reserved up front (``reserve_ids``) so the caller knows them before the
insert and can point other rows at them: on PostgreSQL from the table's sequence; on SQLite
past the highest id ever given (``sqlite_sequence``), which is safe because Kreis opens
SQLite transactions IMMEDIATE — the writer holds the lock from the transaction's start.
Must run inside ``transaction.atomic``. No signals are sent (as with ``bulk_create``).
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import connection, models
from django.utils import timezone

_CHUNK = 5000  # rows per executemany / COPY call, to bound memory of the parameter lists


def reserve_ids(model: type[models.Model], count: int) -> list[int]:
    """``count`` new primary keys of ``model``'s table, unused by anyone, in ascending order."""
    if count <= 0:
        return []
    if not connection.in_atomic_block:
        raise RuntimeError("reserve_ids must run inside transaction.atomic")
    table = model._meta.db_table
    pk = model._meta.pk.column
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, pk])
            sequence = cursor.fetchone()[0]
            cursor.execute("SELECT nextval(%s) FROM generate_series(1, %s)", [sequence, count])
            return sorted(row[0] for row in cursor.fetchall())
        quoted = connection.ops.quote_name(table)
        cursor.execute(
            f"SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = %s), 0), "  # noqa: S608
            f"COALESCE((SELECT MAX({connection.ops.quote_name(pk)}) FROM {quoted}), 0))",
            [table],
        )
        last = cursor.fetchone()[0]
    return list(range(last + 1, last + 1 + count))


def _columns(model: type[models.Model]) -> list[models.Field]:
    return [f for f in model._meta.concrete_fields if not f.generated]


def _preparer(field: models.Field):
    """How a field's Python value becomes the database's: only where it differs (JSON,
    dates, decimals …); text, numbers and booleans pass as they are."""
    plain = (
        models.CharField,
        models.TextField,
        models.IntegerField,
        models.BooleanField,
        models.FloatField,
        models.AutoField,
        models.BigAutoField,
        models.ForeignKey,
    )
    if isinstance(field, plain) and not isinstance(field, models.JSONField):
        return None
    return lambda value: field.get_db_prep_save(value, connection)


_MISSING = object()


def _prepare_column(full: list[dict], rows, name: str, prepare) -> None:
    """The database's form of one column's given values, in place in ``full`` (the rows with
    their defaults, already prepared, filled in); a value the same object as the row
    before's (``now``) is prepared once, and so is an empty dict (``custom``)."""
    last: Any = _MISSING
    prepared: Any = None
    empty: Any = _MISSING
    for out, row in zip(full, rows, strict=True):
        value = row.get(name, _MISSING)
        if value is _MISSING or value is None:
            continue  # the default (prepared), or NULL
        if value is last:
            out[name] = prepared
        elif type(value) is dict and not value:
            if empty is _MISSING:
                empty = prepare(value)
            out[name] = empty
        else:
            last, prepared = value, prepare(value)
            out[name] = prepared


def insert_rows(model: type[models.Model], rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert ``rows`` (``attname`` → value; the primary key included when reserved) into
    ``model``'s table. Returns the number of rows."""
    if not rows:
        return 0
    if not connection.in_atomic_block:
        raise RuntimeError("insert_rows must run inside transaction.atomic")
    now = timezone.now()
    fields = _columns(model)
    present = rows[0].keys()
    pk = model._meta.pk
    if pk.attname not in present:
        fields = [f for f in fields if f is not pk]
    names, defaults, preparers = [], [], []
    for f in fields:
        names.append(f.attname)
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            default = now
        else:  # the field's default; "" for text without one, else None
            default = f.get_default()
        prepare = _preparer(f)
        if default is not None and prepare is not None:
            default = prepare(default)
        defaults.append(default)
        preparers.append(prepare)
    # Row by row only a copy over the defaults (a missing column takes its default, prepared
    # once) and the columns picked in order, both in C (a ``get`` per column and row in
    # Python was a fifth of a bulk create's Python time: ~55 columns a party and a history
    # row); then column by column the few values that need preparing (JSON, dates).
    template = dict(zip(names, defaults, strict=True))
    full = [{**template, **row} for row in rows]
    # Only the columns some row gives: most of a party's dates, amounts and figures are
    # left to their defaults, and a column no row names is its default throughout.
    given = set().union(*(row.keys() for row in rows))
    for name, prepare in zip(names, preparers, strict=True):
        if prepare is not None and name in given:
            _prepare_column(full, rows, name, prepare)
    if len(names) == 1:
        values = [(row[names[0]],) for row in full]
    else:
        pick = operator.itemgetter(*names)
        values = [pick(row) for row in full]
    del full
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    with connection.cursor() as cursor:
        for start in range(0, len(values), _CHUNK):
            part = values[start : start + _CHUNK]
            if connection.vendor == "postgresql":
                with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for value in part:
                        copy.write_row(value)
            else:
                marks = ", ".join(["%s"] * len(fields))
                cursor.executemany(
                    f"INSERT INTO {table} ({columns}) VALUES ({marks})",  # noqa: S608
                    part,
                )
    return len(values)


def update_rows(
    model: type[models.Model], objs: Sequence[models.Model], fields: Sequence[str]
) -> int:
    """Write ``fields`` (names or attnames) of ``objs`` as they are on the instances: what
    ``QuerySet.bulk_update`` does, without its ``CASE WHEN`` per column and row (which cost
    ~5 ms a row for an import's updates): one prepared ``UPDATE … WHERE pk = %s`` run for
    all rows by ``executemany``. As ``bulk_update``: no signals, no ``auto_now``."""
    if not objs or not fields:
        return 0
    if not connection.in_atomic_block:
        raise RuntimeError("update_rows must run inside transaction.atomic")
    meta = model._meta
    columns = list(dict.fromkeys(meta.get_field(name) for name in fields))
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in columns)
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s"  # noqa: S608
    params = [
        [f.get_db_prep_save(getattr(obj, f.attname), connection) for f in columns] + [obj.pk]
        for obj in objs
    ]
    with connection.cursor() as cursor:
        for start in range(0, len(params), _CHUNK):
            cursor.executemany(sql, params[start : start + _CHUNK])
    return len(params)
