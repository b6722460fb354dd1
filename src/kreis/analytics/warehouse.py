"""The analytics warehouse: facts and dimensions copied from the operational database.

By default an embedded DuckDB file in the data folder (``warehouse.duckdb``); the setting
``KREIS_WAREHOUSE`` points it at another Ibis backend (``postgres://…``, ``pyspark://local[2]``).
Every analysis reads the tables through Ibis (``tables()``), so the same code runs there.

Tables (amounts are signed: a return's rows are negative; ``day`` = days since 1970-01-01):

- ``fact_sales`` — one row per transaction line: line_id, transaction_id, party_id, product_id,
  date, day, kind, channel, quantity, gross (quantity × unit price), discount, net_revenue, cost.
- ``fact_interactions`` — one row per activity with a party: activity_id, party_id, kind, date,
  day, done.
- ``fact_costs`` — cost entries by hand: entry_id, party_id, date, day, level, category, amount.
- ``dim_customer``, ``dim_product``, ``dim_date``, ``dim_channel``.

A refresh is incremental: facts whose source row changed since the last refresh (its
``updated_at``, which soft deletes and party merges also move) are deleted and loaded again; the
dimensions are small and reloaded whole. ``full=True`` rebuilds everything. Survey answers and
cases join the facts when those apps exist.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import ibis
import pyarrow as pa
import pyarrow.compute as pc
from django.apps import apps
from django.conf import settings
from django.db import connection
from django.utils import timezone

from kreis.analytics import sqlarrow

SCHEMA_VERSION = "1"
# Rows committed by a transaction that began before a refresh can carry an older ``updated_at``
# than the refresh's start; reloading this much overlap is idempotent and catches them.
OVERLAP = dt.timedelta(minutes=10)
EPOCH = dt.date(1970, 1, 1)

SCHEMAS: dict[str, pa.Schema] = {
    "fact_sales": pa.schema(
        [
            ("line_id", pa.int64()),
            ("transaction_id", pa.int64()),
            ("party_id", pa.int64()),
            ("product_id", pa.int64()),
            ("date", pa.date32()),
            ("day", pa.int32()),
            ("kind", pa.string()),
            ("channel", pa.string()),
            ("quantity", pa.float64()),
            ("gross", pa.float64()),
            ("discount", pa.float64()),
            ("net_revenue", pa.float64()),
            ("cost", pa.float64()),
        ]
    ),
    "fact_interactions": pa.schema(
        [
            ("activity_id", pa.int64()),
            ("party_id", pa.int64()),
            ("kind", pa.string()),
            ("date", pa.date32()),
            ("day", pa.int32()),
            ("done", pa.bool_()),
        ]
    ),
    "fact_costs": pa.schema(
        [
            ("entry_id", pa.int64()),
            ("party_id", pa.int64()),
            ("date", pa.date32()),
            ("day", pa.int32()),
            ("level", pa.string()),
            ("category", pa.string()),
            ("amount", pa.float64()),
        ]
    ),
    "dim_customer": pa.schema(
        [
            ("party_id", pa.int64()),
            ("kind", pa.string()),
            ("is_customer", pa.bool_()),
            ("is_prospect", pa.bool_()),
            ("owner_id", pa.int64()),
            ("team_id", pa.int64()),
            ("created", pa.date32()),
            ("purchasing_potential", pa.float64()),
            ("termination_announced", pa.bool_()),
            ("contract_end", pa.date32()),
            ("deleted", pa.bool_()),
        ]
    ),
    "dim_product": pa.schema(
        [
            ("product_id", pa.int64()),
            ("sku", pa.string()),
            ("name", pa.string()),
            ("category", pa.string()),
        ]
    ),
    "dim_date": pa.schema(
        [
            ("date", pa.date32()),
            ("day", pa.int32()),
            ("year", pa.int16()),
            ("quarter", pa.int8()),
            ("month", pa.int8()),
            ("iso_week", pa.int8()),
            ("weekday", pa.int8()),
        ]
    ),
    "dim_channel": pa.schema([("channel", pa.string())]),
}
FACT_KEYS = {"fact_sales": "transaction_id", "fact_interactions": "activity_id"}


class WarehouseBusy(Exception):
    """The warehouse is being written by a refresh; readers try again shortly."""


class WarehouseError(Exception):
    """The warehouse setting is unusable."""


# --- Connection -----------------------------------------------------------------------------


def location() -> str:
    url = getattr(settings, "KREIS_WAREHOUSE", "") or ""
    return url or f"duckdb://{Path(settings.DATA_DIR) / 'warehouse.duckdb'}"


def backend_name(url: str | None = None) -> str:
    url = url or location()
    return url.split(":", 1)[0].lower()


def connect(url: str | None = None, *, read_only: bool = False):
    """An Ibis connection to the warehouse (DuckDB file, PostgreSQL, PySpark in local mode …)."""
    url = url or location()
    kind = backend_name(url)
    if kind == "duckdb":
        path = url[len("duckdb://") :]
        if read_only and not Path(path).exists():
            raise WarehouseBusy("empty")
        try:
            con = ibis.duckdb.connect(path, read_only=read_only)
        except Exception as exc:  # duckdb.IOException: the file is locked by a writer
            if "lock" in str(exc).lower():
                raise WarehouseBusy(str(exc)) from exc
            raise
        con.raw_sql("SET threads TO 2")
        return con
    if kind == "pyspark":
        from pyspark.sql import SparkSession

        master = url[len("pyspark://") :] or "local[2]"
        session = (
            SparkSession.builder.master(master)
            .appName("kreis-warehouse")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.ui.enabled", "false")
            .getOrCreate()
        )
        return ibis.pyspark.connect(session)
    try:
        return ibis.connect(url)
    except Exception as exc:
        raise WarehouseError(f"KREIS_WAREHOUSE: {exc}") from exc


def tables(con=None) -> dict[str, ibis.Table]:
    """The warehouse tables as Ibis tables (read-only connection unless one is given)."""
    con = con or connect(read_only=True)
    existing = set(con.list_tables())
    missing = [name for name in SCHEMAS if name not in existing]
    if missing:
        raise WarehouseBusy("empty")
    return {name: con.table(name) for name in SCHEMAS}


# --- Reading the operational database --------------------------------------------------------


def _table(label: str) -> str:
    return connection.ops.quote_name(apps.get_model(label)._meta.db_table)


def day_sql(column: str) -> str:
    """SQL for a date column as days since 1970-01-01 (portable across SQLite and PostgreSQL)."""
    if connection.vendor == "postgresql":
        return f"({column} - DATE '1970-01-01')"
    return f"CAST(julianday({column}) - 2440587.5 AS INTEGER)"


def _timestamp_day_sql(column: str) -> str:
    """Days since 1970-01-01 of a timestamp column's UTC date."""
    if connection.vendor == "postgresql":
        return f"(CAST({column} AT TIME ZONE 'UTC' AS DATE) - DATE '1970-01-01')"
    return f"CAST(julianday({column}) - 2440587.5 AS INTEGER)"


def _float(expr: str) -> str:
    return f"CAST({expr} AS DOUBLE PRECISION)"


def _dates(days: pa.Array) -> pa.Array:
    return days.cast(pa.int32()).cast(pa.date32())


def _source(*columns: tuple[str, pa.DataType]) -> pa.Schema:
    return pa.schema(list(columns))


INT, FLOAT, TEXT, BOOL, DAY = pa.int64(), pa.float64(), pa.string(), pa.bool_(), pa.int32()
SALES_SOURCE = _source(
    ("line_id", INT),
    ("transaction_id", INT),
    ("party_id", INT),
    ("product_id", INT),
    ("day", DAY),
    ("kind", TEXT),
    ("channel", TEXT),
    ("quantity", FLOAT),
    ("gross", FLOAT),
    ("discount", FLOAT),
    ("net_revenue", FLOAT),
    ("cost", FLOAT),
)
SIGNED = ("quantity", "gross", "discount", "net_revenue", "cost")


def _sales_batches(since: dt.datetime | None) -> Iterator[pa.RecordBatch]:
    line, txn = _table("commerce.TransactionLine"), _table("commerce.Transaction")
    where = "t.deleted_at IS NULL"
    params: list = []
    if since is not None:
        where += " AND t.updated_at > %s"
        params.append(connection.ops.adapt_datetimefield_value(since))
    sql = f"""
        SELECT l.id, t.id, t.party_id, l.product_id, {day_sql("t.date")}, t.kind, t.channel,
               {_float("l.quantity")}, {_float("l.quantity * l.unit_price")},
               {_float("l.discount")}, {_float("l.net_revenue")}, {_float("l.cost")}
        FROM {line} l JOIN {txn} t ON t.id = l.transaction_id
        WHERE {where}
    """  # noqa: S608 — table names from model metadata, values as parameters
    for batch in sqlarrow.read_batches(sql, SALES_SOURCE, params):
        sign = pc.if_else(pc.equal(batch["kind"], "return"), -1.0, 1.0)
        columns = {name: batch[name] for name in SALES_SOURCE.names}
        columns["date"] = _dates(batch["day"])
        for name in SIGNED:
            columns[name] = pc.multiply(batch[name], sign)
        schema = SCHEMAS["fact_sales"]
        yield pa.RecordBatch.from_arrays([columns[n] for n in schema.names], schema=schema)


INTERACTION_SOURCE = _source(
    ("activity_id", INT), ("party_id", INT), ("kind", TEXT), ("day", DAY), ("done", BOOL)
)


def _interaction_batches(since: dt.datetime | None) -> Iterator[pa.RecordBatch]:
    activity = _table("activities.Activity")
    where = "a.deleted_at IS NULL AND a.party_id IS NOT NULL"
    params: list = []
    if since is not None:
        where += " AND a.updated_at > %s"
        params.append(connection.ops.adapt_datetimefield_value(since))
    day = _timestamp_day_sql("a.occurred_at")  # the UTC date of the interaction
    sql = f"""
        SELECT a.id, a.party_id, a.kind, {day}, a.done_at IS NOT NULL
        FROM {activity} a WHERE {where}
    """  # noqa: S608
    schema = SCHEMAS["fact_interactions"]
    for batch in sqlarrow.read_batches(sql, INTERACTION_SOURCE, params):
        columns = {name: batch[name] for name in INTERACTION_SOURCE.names}
        columns["date"] = _dates(batch["day"])
        yield pa.RecordBatch.from_arrays([columns[n] for n in schema.names], schema=schema)


COST_SOURCE = _source(
    ("entry_id", INT),
    ("party_id", INT),
    ("day", DAY),
    ("level", TEXT),
    ("category", TEXT),
    ("amount", FLOAT),
)


def _cost_batches() -> Iterator[pa.RecordBatch]:
    costs = _table("analytics.CostEntry")
    sql = f"""
        SELECT c.id, c.party_id, {day_sql("c.date")}, c.level, c.category, {_float("c.amount")}
        FROM {costs} c
    """  # noqa: S608
    schema = SCHEMAS["fact_costs"]
    for batch in sqlarrow.read_batches(sql, COST_SOURCE):
        columns = {name: batch[name] for name in COST_SOURCE.names}
        columns["date"] = _dates(batch["day"])
        yield pa.RecordBatch.from_arrays([columns[n] for n in schema.names], schema=schema)


CUSTOMER_SOURCE = _source(
    ("party_id", INT),
    ("kind", TEXT),
    ("is_customer", BOOL),
    ("is_prospect", BOOL),
    ("owner_id", INT),
    ("team_id", INT),
    ("created", DAY),
    ("purchasing_potential", FLOAT),
    ("termination_announced", BOOL),
    ("contract_end", DAY),
    ("deleted", BOOL),
)


def _customer_batches() -> Iterator[pa.RecordBatch]:
    party, roles = _table("parties.Party"), _table("parties.PartyRoleAssignment")
    sql = f"""
        SELECT p.id, p.kind,
               EXISTS (SELECT 1 FROM {roles} r WHERE r.party_id = p.id AND r.role = 'customer'),
               EXISTS (SELECT 1 FROM {roles} r WHERE r.party_id = p.id AND r.role = 'prospect'),
               p.owner_id, p.team_id, {_timestamp_day_sql("p.created_at")},
               {_float("p.purchasing_potential")}, p.termination_announced,
               {day_sql("p.contract_end")}, p.deleted_at IS NOT NULL
        FROM {party} p
    """  # noqa: S608
    schema = SCHEMAS["dim_customer"]
    for batch in sqlarrow.read_batches(sql, CUSTOMER_SOURCE):
        columns = {name: batch[name] for name in CUSTOMER_SOURCE.names}
        columns["created"] = _dates(batch["created"])
        columns["contract_end"] = _dates(batch["contract_end"])
        yield pa.RecordBatch.from_arrays([columns[n] for n in schema.names], schema=schema)


def _product_batches() -> Iterator[pa.RecordBatch]:
    product = _table("commerce.Product")
    sql = f"SELECT id, sku, name, category FROM {product}"  # noqa: S608
    yield from sqlarrow.read_batches(sql, SCHEMAS["dim_product"])


def _date_batches(first: dt.date, last: dt.date) -> Iterator[pa.RecordBatch]:
    days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    yield pa.RecordBatch.from_arrays(
        [
            pa.array(days, pa.date32()),
            pa.array([(d - EPOCH).days for d in days], pa.int32()),
            pa.array([d.year for d in days], pa.int16()),
            pa.array([(d.month - 1) // 3 + 1 for d in days], pa.int8()),
            pa.array([d.month for d in days], pa.int8()),
            pa.array([d.isocalendar()[1] for d in days], pa.int8()),
            pa.array([d.isoweekday() for d in days], pa.int8()),
        ],
        schema=SCHEMAS["dim_date"],
    )


def _changed_ids(label: str, since: dt.datetime) -> list[int]:
    return list(
        apps.get_model(label)
        ._default_manager.filter(updated_at__gt=since)
        .values_list("pk", flat=True)
        .iterator(chunk_size=10_000)
    )


# --- Writing the warehouse --------------------------------------------------------------------


class _Writer:
    """Writes Arrow batches to the backend: DuckDB natively, other backends through Ibis."""

    def __init__(self, con):
        self.con = con
        self.duck = backend_name_of(con) == "duckdb"

    def replace(self, name: str, batches: Iterator[pa.RecordBatch]) -> int:
        schema = SCHEMAS[name]
        if self.duck:
            raw = self.con.con
            raw.execute(f'DROP TABLE IF EXISTS "{name}"')
            raw.register("_empty", pa.Table.from_batches([], schema=schema))
            raw.execute(f'CREATE TABLE "{name}" AS SELECT * FROM _empty')  # noqa: S608 — our table names
            raw.unregister("_empty")
            return self.append(name, batches)
        table = pa.Table.from_batches(list(batches), schema=schema)
        self.con.create_table(name, obj=table, overwrite=True)
        return table.num_rows

    def append(self, name: str, batches: Iterator[pa.RecordBatch]) -> int:
        rows = 0
        for batch in batches:
            rows += batch.num_rows
            if self.duck:
                self.con.con.register("_batch", batch)
                self.con.con.execute(f'INSERT INTO "{name}" SELECT * FROM _batch')  # noqa: S608 — our table names
                self.con.con.unregister("_batch")
            else:
                self.con.insert(name, obj=pa.Table.from_batches([batch]))
        return rows

    def delete_keys(self, name: str, key: str, ids: list[int]) -> None:
        if not ids:
            return
        if self.duck:
            self.con.con.register("_keys", pa.table({"id": pa.array(ids, pa.int64())}))
            self.con.con.execute(f'DELETE FROM "{name}" WHERE {key} IN (SELECT id FROM _keys)')  # noqa: S608 — our table names
            self.con.con.unregister("_keys")
            return
        for start in range(0, len(ids), 5000):
            chunk = ",".join(str(int(i)) for i in ids[start : start + 5000])
            self.con.raw_sql(f"DELETE FROM {name} WHERE {key} IN ({chunk})")  # noqa: S608

    def meta(self) -> dict[str, str]:
        if "kreis_meta" not in self.con.list_tables():
            return {}
        frame = self.con.table("kreis_meta").to_pyarrow().to_pydict()
        return dict(zip(frame["name"], frame["value"], strict=True))

    def set_meta(self, values: dict[str, str]) -> None:
        table = pa.table({"name": list(values), "value": list(values.values())})
        self.con.create_table("kreis_meta", obj=table, overwrite=True)


def backend_name_of(con) -> str:
    return getattr(con, "name", "") or ""


@dataclass
class RefreshResult:
    full: bool
    seconds: float
    rows: dict[str, int] = field(default_factory=dict)
    changed: dict[str, int] = field(default_factory=dict)


def refresh(
    *,
    full: bool = False,
    con=None,
    progress: Callable[[str, int], None] | None = None,
) -> RefreshResult:
    """Bring the warehouse up to date with the operational database."""
    started = time.perf_counter()
    now = timezone.now()
    own = con is None
    con = con or connect()
    writer = _Writer(con)
    meta = writer.meta()
    since = None
    if not full and meta.get("schema_version") == SCHEMA_VERSION and meta.get("loaded_until"):
        since = dt.datetime.fromisoformat(meta["loaded_until"]) - OVERLAP
    existing = set(con.list_tables())
    if since is not None and not all(name in existing for name in SCHEMAS):
        since = None
    incremental = since is not None and _sql_backend(con)
    result = RefreshResult(full=not incremental, seconds=0.0)
    step = progress or (lambda _label, _pct: None)

    step("sales", 5)
    if incremental:
        for name, label, batches in (
            ("fact_sales", "commerce.Transaction", _sales_batches),
            ("fact_interactions", "activities.Activity", _interaction_batches),
        ):
            ids = _changed_ids(label, since)
            writer.delete_keys(name, FACT_KEYS[name], ids)
            result.changed[name] = writer.append(name, batches(since))
    else:
        result.changed["fact_sales"] = writer.replace("fact_sales", _sales_batches(None))
        step("interactions", 50)
        result.changed["fact_interactions"] = writer.replace(
            "fact_interactions", _interaction_batches(None)
        )
    step("dimensions", 70)
    writer.replace("fact_costs", _cost_batches())
    writer.replace("dim_customer", _customer_batches())
    writer.replace("dim_product", _product_batches())
    sales = con.table("fact_sales")
    span = sales.aggregate(first=sales.date.min(), last=sales.date.max()).to_pyarrow()
    first, last = span["first"][0].as_py(), span["last"][0].as_py()
    today = timezone.localdate()
    first = min(first or today, today - dt.timedelta(days=731))
    last = max(last or today, today)
    writer.replace("dim_date", _date_batches(first, last))
    channels = sales.select("channel").distinct().to_pyarrow()
    writer.replace(
        "dim_channel",
        iter([pa.RecordBatch.from_arrays([channels["channel"].combine_chunks()], ["channel"])]),
    )
    writer.set_meta({"schema_version": SCHEMA_VERSION, "loaded_until": now.isoformat()})
    for name in SCHEMAS:
        result.rows[name] = int(con.table(name).count().to_pyarrow().as_py())
    if writer.duck:
        con.raw_sql("CHECKPOINT")
    if own:
        con.disconnect()
    result.seconds = time.perf_counter() - started
    step("done", 100)
    return result


def _sql_backend(con) -> bool:
    """Backends where rows can be deleted with SQL (not Spark's plain tables)."""
    return backend_name_of(con) in {"duckdb", "postgres", "mysql", "sqlite", "trino"}
