"""Read a query's result from the operational database as Arrow, column by column.

The Django cursor hands out one Python tuple per row, about 10 µs per row of a dozen columns:
a million parties or ten million transaction lines spend most of a warehouse refresh there.
ADBC drivers (``adbc-driver-sqlite``, ``adbc-driver-postgresql``) fill Arrow columns in C, 5–10×
faster. They open their own connection, so they see only committed rows: inside a transaction
(and on SQLite's in-memory test database) the Django cursor reads instead, with the same result.

SQLite: the ADBC driver brings its own copy of the SQLite library. Two copies in one process
corrupt each other's file locks on the same database (closing one copy's file drops the
process's POSIX locks of the other; seen here as a bus error in the next write), so the SQLite
read runs in a child process (``python -m kreis.analytics.sqlarrow``) that streams Arrow IPC
back. PostgreSQL reads in-process.

The SQLite driver guesses each column's type from the first rows of a batch and falls back to
integer for a column that starts with NULLs, then fails on a later text or real value. So the
query is preceded by one row of typed literals (``UNION ALL``) that fixes every column's type;
that row is dropped from the result.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import logging
import re
import subprocess  # noqa: S404
import sys
from collections.abc import Iterator
from urllib.parse import quote

import pyarrow as pa
import pyarrow.compute as pc
from django.db import connection

log = logging.getLogger("kreis.analytics")

BATCH_ROWS = 250_000
# Results smaller than this are read by the Django cursor: starting the SQLite child process
# (Python, pyarrow, the driver) takes ~0.7 s, the cursor reads 20,000 rows in ~0.1 s.
PROBE_ROWS = 20_000


def _literal(kind: pa.DataType) -> str:
    if pa.types.is_floating(kind):
        return "CAST(0.5 AS REAL)"
    if pa.types.is_string(kind):
        return "''"
    return "0"  # integers, booleans (0/1 in SQLite), days


def _postgres_uri() -> str:
    settings = connection.settings_dict
    auth = quote(settings.get("USER") or "", safe="")
    if settings.get("PASSWORD"):
        auth += ":" + quote(settings["PASSWORD"], safe="")
    host = settings.get("HOST") or "localhost"
    port = settings.get("PORT") or 5432
    return f"postgresql://{auth}@{host}:{port}/{quote(settings['NAME'], safe='')}"


def _adbc_usable() -> bool:
    """Whether a separate ADBC connection sees what the Django connection sees (no open
    transaction, not an in-memory database) and the driver is installed."""
    if connection.in_atomic_block:
        return False
    module = {"sqlite": "adbc_driver_sqlite", "postgresql": "adbc_driver_postgresql"}
    name = module.get(connection.vendor)
    if name is None or importlib.util.find_spec(name) is None:
        return False
    return not (connection.vendor == "sqlite" and connection.is_in_memory_db())


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """Name the columns as the schema does and cast them (SQLite's 0/1 to booleans, days to
    int32)."""
    arrays = []
    for column, target in zip(table.columns, schema, strict=True):
        if pa.types.is_boolean(target.type) and not pa.types.is_boolean(column.type):
            column = pc.not_equal(column, 0)
        arrays.append(column.cast(target.type))
    return pa.Table.from_arrays(arrays, schema=schema)


PLACEHOLDER = re.compile(r"%[s%]")


def _bindable(params: list) -> bool:
    """Parameters ADBC binds as Django would: strings and numbers (not booleans, dates,
    decimals)."""
    return all(
        isinstance(value, str | int | float) and not isinstance(value, bool) for value in params
    )


def _plain(value):
    """Text choices are ``str`` subclasses; the driver wants the plain value."""
    if isinstance(value, str):
        return str(value)
    return int(value) if isinstance(value, int) else float(value)


def _numbered(sql: str, *, sqlite: bool) -> str:
    """Django's ``%s`` placeholders (``%%`` a literal percent) in the driver's style."""
    counter = iter(range(1, 10_000))

    def mark(match: re.Match) -> str:
        if match.group() == "%%":
            return "%"
        return "?" if sqlite else f"${next(counter)}"

    return PLACEHOLDER.sub(mark, sql)


def _adbc_batches(
    con, sql: str, schema: pa.Schema, params: list | None = None, *, sqlite: bool
) -> Iterator[pa.RecordBatch]:
    sql = _numbered(sql, sqlite=sqlite)
    if sqlite:
        names = ", ".join(f"{_literal(f.type)} AS c{i}" for i, f in enumerate(schema))
        sql = f"SELECT {names} UNION ALL SELECT * FROM ({sql})"  # noqa: S608 — literals of our own schema
    cursor = con.cursor()
    try:
        if sqlite:
            cursor.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(BATCH_ROWS)})
        cursor.execute(sql, tuple(_plain(v) for v in params) if params else None)
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


def _batch(rows: list[tuple], schema: pa.Schema) -> pa.RecordBatch:
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(schema)
    arrays = []
    for values, target in zip(columns, schema, strict=True):
        if pa.types.is_boolean(target.type):
            values = [None if v is None else bool(v) for v in values]
        arrays.append(pa.array(values, target.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _cursor_batches(sql: str, params: list, schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(BATCH_ROWS):
            yield _batch(rows, schema)


def _small_result(sql: str, params: list, schema: pa.Schema) -> pa.RecordBatch | None:
    """The whole result when it has fewer than PROBE_ROWS rows (read by the cursor in less time
    than a child process takes to start), else None."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchmany(PROBE_ROWS)
    return _batch(rows, schema) if len(rows) < PROBE_ROWS else None


def _sqlite_child_batches(sql: str, schema: pa.Schema, params: list) -> Iterator[pa.RecordBatch]:
    """Run the read in a child process (see the module's docstring) and stream its batches."""
    request = {
        "path": str(connection.settings_dict["NAME"]),
        "sql": sql,
        "params": [_plain(v) for v in params],
        "schema": base64.b64encode(schema.serialize().to_pybytes()).decode(),
    }
    child = subprocess.Popen(  # noqa: S603 — our own module with this interpreter
        [sys.executable, "-m", "kreis.analytics.sqlarrow"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    finished = False
    try:
        child.stdin.write(json.dumps(request).encode())
        child.stdin.close()
        try:
            yield from pa.ipc.open_stream(child.stdout)
        except pa.ArrowInvalid:
            pass  # no stream: the child failed before writing; its error follows
        finished = True
    finally:
        if not finished:
            child.kill()  # the caller stopped reading
        child.stdout.close()
        error = child.stderr.read().decode(errors="replace")
        child.stderr.close()
        if child.wait() != 0 and finished:
            raise RuntimeError(f"reading the database failed: {error.strip()[-2000:]}")


def read_batches(
    sql: str, schema: pa.Schema, params: list | None = None
) -> Iterator[pa.RecordBatch]:
    """The query's rows as Arrow batches with the given column names and types (one column of
    the schema per selected expression, in order). ``params`` fill Django-style ``%s``
    placeholders; dates and decimals among them take the Django cursor, which adapts them."""
    params = list(params or [])
    if not (_bindable(params) and _adbc_usable()):
        yield from _cursor_batches(sql, params, schema)
        return
    if connection.vendor == "sqlite":
        small = _small_result(sql, params, schema)
        if small is not None:
            if small.num_rows:
                yield small
            return
        yield from _sqlite_child_batches(sql, schema, params)
        return
    import adbc_driver_postgresql.dbapi as driver

    with driver.connect(_postgres_uri()) as con:
        yield from _adbc_batches(con, sql, schema, params, sqlite=False)


def read_table(sql: str, schema: pa.Schema, params: list | None = None) -> pa.Table:
    return pa.Table.from_batches(list(read_batches(sql, schema, params)), schema=schema)


def _child() -> None:
    """The SQLite reader process: a JSON request on stdin, an Arrow IPC stream on stdout."""
    import adbc_driver_sqlite.dbapi as driver

    request = json.loads(sys.stdin.read())
    schema = pa.ipc.read_schema(pa.py_buffer(base64.b64decode(request["schema"])))
    with (
        driver.connect(request["path"]) as con,
        pa.ipc.new_stream(sys.stdout.buffer, schema) as out,
    ):
        for batch in _adbc_batches(con, request["sql"], schema, request["params"], sqlite=True):
            out.write_batch(batch)


if __name__ == "__main__":
    _child()
