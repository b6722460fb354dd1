"""Reading query results as Arrow: the ADBC path gives what the Django cursor gives."""

import sqlite3

import pyarrow as pa
import pytest
from django.db import connection

from kreis.analytics import sqlarrow
from tests.parties.factories import OrganizationFactory

SCHEMA = pa.schema(
    [("id", pa.int64()), ("name", pa.string()), ("amount", pa.float64()), ("flag", pa.bool_())]
)


def test_sqlite_columns_that_start_with_nulls_keep_their_type(tmp_path):
    adbc_sqlite = pytest.importorskip("adbc_driver_sqlite.dbapi")
    path = tmp_path / "nulls.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE t (id INTEGER, name TEXT, amount DECIMAL, flag BOOL)")
        rows = [(i, None, None, None) for i in range(3000)]
        rows += [(3000, "Müller", 12.5, 1), (3001, "Zoë", 3, 0)]
        db.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", rows)
    sql = "SELECT id, name, CAST(amount AS REAL), flag FROM t WHERE id >= %s ORDER BY id"
    con = adbc_sqlite.connect(str(path))
    try:
        batches = list(sqlarrow._adbc_batches(con, sql, SCHEMA, [0], sqlite=True))
    finally:
        con.close()
    table = pa.Table.from_batches(batches, schema=SCHEMA)
    assert table.num_rows == 3002  # the typed first row is not part of the result
    assert table.column("id")[0].as_py() == 0
    assert table.slice(3000).to_pylist() == [
        {"id": 3000, "name": "Müller", "amount": 12.5, "flag": True},
        {"id": 3001, "name": "Zoë", "amount": 3.0, "flag": False},
    ]


@pytest.mark.django_db(transaction=True)
def test_adbc_and_cursor_read_the_same_rows():
    for i in range(5):
        OrganizationFactory(name=f"Firma {i}", purchasing_potential=None if i % 2 else 1000 * i)
    sql = (
        "SELECT id, name, CAST(purchasing_potential AS DOUBLE PRECISION), "
        "deleted_at IS NULL FROM parties_party WHERE name LIKE %s AND id > %s ORDER BY id"
    )
    params = ["Firma%", 0]
    via_cursor = pa.Table.from_batches(list(sqlarrow._cursor_batches(sql, params, SCHEMA)))
    via_default = sqlarrow.read_table(sql, SCHEMA, params)
    assert via_default.equals(via_cursor)
    assert via_cursor.num_rows == 5
    if connection.vendor == "postgresql":  # SQLite's test database lives in memory
        assert sqlarrow._adbc_usable()


@pytest.mark.django_db(transaction=True)
def test_sqlite_is_read_in_a_child_process_that_reports_errors(tmp_path, settings):
    pytest.importorskip("adbc_driver_sqlite")
    if connection.vendor != "sqlite":
        pytest.skip("the child process reads SQLite only")
    path = tmp_path / "child.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE t (id INTEGER, name TEXT, amount REAL, flag BOOL)")
        db.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", [(1, "a", 1.5, 1), (2, None, None, 0)])
    connection.settings_dict["NAME"], name = str(path), connection.settings_dict["NAME"]
    try:
        table = pa.Table.from_batches(
            list(sqlarrow._sqlite_child_batches("SELECT * FROM t WHERE id > %s", SCHEMA, [0]))
        )
        assert table.to_pylist()[1] == {"id": 2, "name": None, "amount": None, "flag": False}
        with pytest.raises(RuntimeError, match="no such table"):
            list(sqlarrow._sqlite_child_batches("SELECT * FROM missing", SCHEMA, []))
    finally:
        connection.settings_dict["NAME"] = name


@pytest.mark.django_db
def test_small_results_are_read_by_the_cursor_large_ones_left_to_the_driver(monkeypatch):
    for i in range(3):
        OrganizationFactory(name=f"Firma {i}")
    sql = "SELECT id, name, CAST(1.5 AS DOUBLE PRECISION), 1 = 1 FROM parties_party ORDER BY id"
    monkeypatch.setattr(sqlarrow, "PROBE_ROWS", 4)
    small = sqlarrow._small_result(sql, [], SCHEMA)
    assert [row["name"] for row in small.to_pylist()] == ["Firma 0", "Firma 1", "Firma 2"]
    monkeypatch.setattr(sqlarrow, "PROBE_ROWS", 3)
    assert sqlarrow._small_result(sql, [], SCHEMA) is None
    empty = sqlarrow._small_result(sql.replace("ORDER BY", "WHERE id < 0 ORDER BY"), [], SCHEMA)
    assert empty.num_rows == 0
