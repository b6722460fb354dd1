"""Satisfaction KPIs (``kreis.analytics.kpis``): the whole report as the page computes it, and
its warehouse part on a synthetic warehouse of 1,000,000 transaction lines.

    KREIS_DATA=/tmp/x-data .venv/bin/python benchmarks/kpis.py [--runs 20] [--lines 1000000]

1. ``kpi_report`` on the data folder's database and warehouse (run ``kreis analytics run``
   first), for 8 quarters and for 24 months, as the administrator; baseline: one bare DuckDB
   ``GROUP BY`` of the same lines by quarter.
2. The warehouse KPIs (revenue, market segments, repurchase, cross-buying, price tolerance) on
   a DuckDB file filled with ``--lines`` synthetic lines (20,000 customers, 500 products in 12
   categories, two years); baseline: the bare revenue ``GROUP BY`` of those lines.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kreis.settings")

import django  # noqa: E402

django.setup()

import ibis  # noqa: E402

from kreis.analytics import warehouse  # noqa: E402
from kreis.analytics.kpis import queries  # noqa: E402
from kreis.core.models import Role, User  # noqa: E402


def timed(fn, runs: int) -> tuple[float, float]:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)]


def row(label: str, figures: tuple[float, float]) -> None:
    print(f"| {label} | {figures[0]:.1f} | {figures[1]:.1f} |")


def report_on_data_folder(runs: int) -> None:
    admin = User.objects.filter(role=Role.ADMIN, is_active=True).first()
    today = dt.datetime.now(tz=dt.UTC).date()
    start, end = queries.default_range(today)
    con = warehouse.connect(read_only=True)
    lines = con.table("fact_sales").count().execute()
    raw = con.con
    print(f"\ndata folder: {lines:,} lines in the warehouse\n")
    print("| what | p50 ms | p95 ms |\n|---|---:|---:|")
    row(
        "baseline: bare DuckDB GROUP BY quarter",
        timed(
            lambda: raw.execute(
                "SELECT year(date), quarter(date), sum(net_revenue) FROM fact_sales GROUP BY ALL"
            ).fetchall(),
            runs,
        ),
    )
    con.disconnect()
    for grain, first in (("quarter", start), ("month", today.replace(year=today.year - 2))):
        row(
            f"kpi_report, {grain} ({first} – {today})",
            timed(
                lambda g=grain, f=first: queries.kpi_report(
                    user=admin, start=f, end=end, grain=g, today=today
                ),
                runs,
            ),
        )


SYNTHETIC = """
CREATE TABLE fact_sales AS
SELECT i AS line_id, i // 4 AS transaction_id, (hash(i // 4) % 20000)::BIGINT AS party_id,
       (hash(i) % 500)::BIGINT AS product_id,
       DATE '2024-01-01' + ((hash(i // 4) % 730)::INTEGER) AS date,
       (19723 + (hash(i // 4) % 730))::INTEGER AS day,
       CASE WHEN hash(i // 4) % 40 = 0 THEN 'return' ELSE 'order' END AS kind, 'web' AS channel,
       (sign * (1 + hash(i) % 5))::DOUBLE AS quantity,
       (sign * (1 + hash(i) % 5) * 40)::DOUBLE AS gross,
       (sign * (hash(i) % 3) * 4)::DOUBLE AS discount,
       (sign * ((1 + hash(i) % 5) * 40 - (hash(i) % 3) * 4))::DOUBLE AS net_revenue,
       0.0::DOUBLE AS cost
FROM (
  SELECT i, CASE WHEN hash(i // 4) % 40 = 0 THEN -1 ELSE 1 END::INTEGER AS sign
  FROM range({lines}) t(i)
);
CREATE TABLE dim_product AS
SELECT i::BIGINT AS product_id, 'SKU' || i AS sku, 'P' || i AS name, 'Cat ' || (i % 12) AS category
FROM range(500) t(i);
CREATE TABLE dim_customer AS
SELECT i::BIGINT AS party_id, 'organization' AS kind, true AS is_customer, false AS is_prospect,
       NULL::BIGINT AS owner_id, NULL::BIGINT AS team_id, DATE '2020-01-01' AS created,
       NULL::DOUBLE AS purchasing_potential, false AS termination_announced,
       NULL::DATE AS contract_end, false AS deleted
FROM range(20000) t(i);
"""


def synthetic(lines: int, runs: int) -> None:
    folder = tempfile.mkdtemp(prefix="kreis-kpis-bench-")
    con = ibis.duckdb.connect(f"{folder}/warehouse.duckdb")
    con.raw_sql("SET threads TO 2")
    started = time.perf_counter()
    for statement in SYNTHETIC.format(lines=lines).split(";"):
        if statement.strip():
            con.raw_sql(statement)
    built = time.perf_counter() - started
    print(f"\nsynthetic warehouse: {lines:,} lines built in {built:.1f} s\n")
    t = {name: con.table(name) for name in ("fact_sales", "dim_product", "dim_customer")}
    t = queries.visible_tables(
        {**t, "fact_interactions": t["fact_sales"], "fact_costs": t["fact_sales"]},
        queries._Everyone(),
    )
    today = dt.date(2026, 1, 1)
    periods = queries.periods_for(dt.date(2024, 1, 1), dt.date(2025, 12, 31), "quarter")
    months = queries.periods_for(dt.date(2024, 1, 1), dt.date(2025, 12, 31), "month")
    print("| what | p50 ms | p95 ms |\n|---|---:|---:|")
    row(
        "baseline: bare DuckDB GROUP BY quarter",
        timed(
            lambda: con.con.execute(
                "SELECT year(date), quarter(date), sum(net_revenue), sum(quantity) "
                "FROM fact_sales GROUP BY ALL"
            ).fetchall(),
            runs,
        ),
    )
    for label, fn in (
        ("revenue and units", lambda p: queries.revenue_units(t, p)),
        ("revenue by segment (market share)", lambda p: queries.revenue_by_segment(t, p)),
        ("repurchase rate", lambda p: queries.repurchase(t, p, today=today)),
        ("cross-buying", lambda p: queries.cross_buying(t, p)),
        ("price tolerance", lambda p: queries.price_tolerance(t, p)),
    ):
        row(f"{label}, 8 quarters", timed(lambda f=fn: f(periods), runs))
    row(
        "all five, 24 months",
        timed(
            lambda: (
                queries.revenue_units(t, months),
                queries.revenue_by_segment(t, months),
                queries.repurchase(t, months, today=today),
                queries.cross_buying(t, months),
                queries.price_tolerance(t, months),
            ),
            max(3, runs // 4),
        ),
    )
    con.disconnect()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--skip-data-folder", action="store_true")
    args = parser.parse_args()
    if not args.skip_data_folder:
        report_on_data_folder(args.runs)
    synthetic(args.lines, args.runs)


if __name__ == "__main__":
    main()
