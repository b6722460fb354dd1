"""Read a query's result from the operational database as Arrow, column by column.

The Django cursor hands out one Python tuple per row, about 10 µs per row of a dozen columns:
a million parties or ten million transaction lines spend most of a warehouse refresh there.
ADBC drivers (``adbc-driver-sqlite``, ``adbc-driver-postgresql``) fill Arrow columns in C, 5–10×
faster. They open their own connection, so they see only committed rows: inside a transaction
(and on SQLite's in-memory test database) the Django cursor reads instead, with the same result.

The SQLite driver guesses each column's type from the first rows of a batch and falls back to
integer for a column that starts with NULLs, then fails on a later text or real value. So the
query is preceded by one row of typed literals (``UNION ALL``) that fixes every column's type;
that row is dropped from the result.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from urllib.parse import quote

import pyarrow as pa
import pyarrow.compute as pc
from django.db import connection

log = logging.getLogger("kreis.analytics")

BATCH_ROWS = 250_000


def _literal(kind: pa.DataType) -> str:
    if pa.types.is_floating(kind):
        return "CAST(0.5 AS REAL)"
    if pa.types.is_string(kind):
        return "''"
    return "0"  # integers, booleans (0/1 in SQLite), days


def _adbc_connect():
    """An ADBC connection to the operational database, or None where it cannot see what the
    Django connection sees (open transaction, in-memory database, driver not installed)."""
    if connection.in_atomic_block:
        return None
    settings = connection.settings_dict
    try:
        if connection.vendor == "sqlite":
            if connection.is_in_memory_db():
                return None
            import adbc_driver_sqlite.dbapi as driver

            return driver.connect(str(settings["NAME"]))
        if connection.vendor == "postgresql":
            import adbc_driver_postgresql.dbapi as driver

            auth = quote(settings.get("USER") or "", safe="")
            if settings.get("PASSWORD"):
                auth += ":" + quote(settings["PASSWORD"], safe="")
            host = settings.get("HOST") or "localhost"
            port = settings.get("PORT") or 5432
            name = quote(settings["NAME"], safe="")
            return driver.connect(f"postgresql://{auth}@{host}:{port}/{name}")
    except ImportError:
        return None
    return None


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """Name the columns as the schema does and cast them (SQLite's 0/1 to booleans, days to
    int32)."""
    arrays = []
    for column, target in zip(table.columns, schema, strict=True):
        if pa.types.is_boolean(target.type) and not pa.types.is_boolean(column.type):
            column = pc.not_equal(column, 0)
        arrays.append(column.cast(target.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def _adbc_batches(con, sql: str, schema: pa.Schema, *, sqlite: bool) -> Iterator[pa.RecordBatch]:
    if sqlite:
        names = ", ".join(f"{_literal(f.type)} AS c{i}" for i, f in enumerate(schema))
        sql = f"SELECT {names} UNION ALL {sql}"  # noqa: S608 — literals of our own schema
    cursor = con.cursor()
    try:
        if sqlite:
            cursor.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(BATCH_ROWS)})
        cursor.execute(sql)
        reader = cursor.fetch_record_batch()
        first = True
        for batch in reader:
            table = pa.Table.from_batches([batch])
            if first and sqlite:
                table = table.slice(1)  # the row of typed literals
            first = False
            if table.num_rows:
                yield from _conform(table, schema).to_batches()
    finally:
        cursor.close()


def _cursor_batches(sql: str, params: list, schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(BATCH_ROWS):
            columns = list(zip(*rows, strict=True))
            arrays = []
            for values, target in zip(columns, schema, strict=True):
                if pa.types.is_boolean(target.type):
                    values = [None if v is None else bool(v) for v in values]
                arrays.append(pa.array(values, target.type))
            yield pa.RecordBatch.from_arrays(arrays, schema=schema)


def read_batches(
    sql: str, schema: pa.Schema, params: list | None = None
) -> Iterator[pa.RecordBatch]:
    """The query's rows as Arrow batches with the given column names and types (one column of
    the schema per selected expression, in order). Queries with parameters take the Django
    cursor (they are the small incremental ones)."""
    con = None if params else _adbc_connect()
    if con is None:
        yield from _cursor_batches(sql, params or [], schema)
        return
    try:
        yield from _adbc_batches(con, sql, schema, sqlite=connection.vendor == "sqlite")
    finally:
        con.close()


def read_table(sql: str, schema: pa.Schema, params: list | None = None) -> pa.Table:
    return pa.Table.from_batches(list(read_batches(sql, schema, params)), schema=schema)
