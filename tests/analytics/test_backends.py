"""The same warehouse and analyses on the embedded DuckDB and on PostgreSQL as Ibis backend:
identical ABC, RFM and CLV-summary results."""

from __future__ import annotations

import datetime as dt
import importlib.util
import random
from decimal import Decimal

import pandas as pd
import psycopg
import pytest

from kreis.analytics import analyses, warehouse
from kreis.commerce.models import Transaction, TransactionLine
from kreis.parties.models import Party, PartyKind, PartyRole, PartyRoleAssignment
from tests.conftest import require, require_command

AS_OF = dt.date(2026, 6, 30)
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_WAREHOUSE = "postgres://postgres@127.0.0.1:5432/kreis_warehouse_test"


@pytest.fixture
def sales(db):
    rng = random.Random(7)
    parties = Party.objects.bulk_create(
        Party(kind=PartyKind.ORGANIZATION, name=f"Customer {i}") for i in range(60)
    )
    PartyRoleAssignment.objects.bulk_create(
        PartyRoleAssignment(party=p, role=PartyRole.CUSTOMER) for p in parties
    )
    transactions = []
    for party in parties:
        for _ in range(rng.randint(1, 8)):
            day = AS_OF - dt.timedelta(days=rng.randint(0, 700))
            amount = Decimal(rng.randint(1000, 90000)) / 100
            kind = "return" if rng.random() < 0.05 else "order"
            transactions.append(
                Transaction(kind=kind, party=party, date=day, net_revenue=amount, cost=amount / 2)
            )
    Transaction.objects.bulk_create(transactions)
    TransactionLine.objects.bulk_create(
        TransactionLine(
            transaction=t,
            quantity=Decimal(1),
            unit_price=t.net_revenue,
            net_revenue=t.net_revenue,
            cost=t.cost,
        )
        for t in transactions
    )


def results(con) -> dict[str, pd.DataFrame]:
    """ABC, RFM and the CLV summary computed on one backend, in a comparable shape."""
    warehouse.refresh(con=con, full=True)
    t = warehouse.tables(con)
    frames = {
        "abc": analyses.abc(t, start=AS_OF - dt.timedelta(days=365), end=AS_OF),
        "rfm": analyses.rfm(t, as_of=AS_OF),
        "clv": analyses.clv_summary(t, calibration_end=AS_OF, unit="weeks"),
        "activity": analyses.customer_activity(t, as_of=AS_OF),
    }
    out = {}
    for name, expr in frames.items():
        frame = expr.to_pandas().sort_values("party_id").reset_index(drop=True)
        out[name] = frame[sorted(frame.columns)]
    return out


def assert_same(left: dict, right: dict) -> None:
    for name in left:
        pd.testing.assert_frame_equal(
            left[name], right[name], check_dtype=False, check_exact=False, rtol=1e-9
        )


def _postgres_warehouse():
    try:
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as admin:
            exists = admin.execute(
                "SELECT 1 FROM pg_database WHERE datname = 'kreis_warehouse_test'"
            ).fetchone()
            if not exists:
                admin.execute("CREATE DATABASE kreis_warehouse_test")
    except psycopg.OperationalError as exc:
        require(False, "PostgreSQL", f"{PG_ADMIN}: {exc}")
    return warehouse.connect(PG_WAREHOUSE)


def test_duckdb_and_postgres_give_identical_results(sales, tmp_path):
    duck = warehouse.connect(f"duckdb://{tmp_path}/w.duckdb")
    expected = results(duck)
    duck.disconnect()
    assert len(expected["abc"]) > 40
    assert set(expected["abc"]["abc_class"]) == {"A", "B", "C"}
    assert set(expected["rfm"]["r"]) == {1, 2, 3, 4, 5}
    pg = _postgres_warehouse()
    try:
        assert_same(expected, results(pg))
    finally:
        pg.disconnect()


@pytest.mark.slow
def test_pyspark_local_mode_gives_identical_results(sales, tmp_path, monkeypatch):
    """Spark in local mode (Java 17) as the warehouse: the distributed path."""
    require(importlib.util.find_spec("pyspark") is not None, "pyspark", "the dev extras")
    require_command("java", "a Java 17 runtime: apt-get install openjdk-17-jre-headless")
    monkeypatch.chdir(tmp_path)  # Spark's own warehouse folder and metastore go here
    duck = warehouse.connect(f"duckdb://{tmp_path}/w.duckdb")
    expected = results(duck)
    duck.disconnect()
    spark = warehouse.connect("pyspark://local[2]")
    assert_same(expected, results(spark))
