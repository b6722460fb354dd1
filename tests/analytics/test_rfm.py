"""RFM (DOMAIN.md §7.6): quintile breakpoints on the values, so customers with equal values
always get equal scores, whatever their ids or the order of their rows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import ibis
import pandas as pd

from kreis.analytics import analyses

AS_OF = dt.date(2026, 6, 30)
CDNOW = Path(__file__).parent / "data" / "cdnow"


def _tables(rows: list[tuple[int, dt.date, str, float]]) -> dict[str, ibis.Table]:
    """fact_sales from (party, date, kind, net revenue); returns stored negative as the
    warehouse does."""
    frame = pd.DataFrame(
        {
            "party_id": [row[0] for row in rows],
            "day": [(row[1] - analyses.EPOCH).days for row in rows],
            "kind": [row[2] for row in rows],
            "net_revenue": [(-1.0 if row[2] == "return" else 1.0) * row[3] for row in rows],
            "cost": [0.0] * len(rows),
        }
    ).astype({"party_id": "int64", "day": "int32"})
    con = ibis.duckdb.connect()
    return {"fact_sales": con.create_table("fact_sales", frame)}


def ago(days: int) -> dt.date:
    return AS_OF - dt.timedelta(days=days)


def test_equal_values_share_a_score_and_breakpoints_sit_on_the_values():
    """Six customers; score = 1 + ⌊5 × (customers with a worse value) ÷ 6⌋.

    frequency 1, 1, 1, 2, 3, 5 → F 1, 1, 1, 3, 4, 5 (NTILE by id would give the three
    one-purchase customers 1, 1, 2); days since the last purchase 10, 10, 200, 40, 10, 400 →
    R 3, 3, 1, 2, 3, 1; net revenue 100, 100, 50, 300, 300, 1000 (D: 400 bought, 100 returned)
    → M 1, 1, 1, 3, 3, 5.
    """
    rows = [
        (6, ago(10), "order", 100.0),  # A: the highest id among the equal ones
        (2, ago(10), "order", 100.0),  # B
        (4, ago(200), "order", 50.0),  # C
        (5, ago(100), "order", 200.0),  # D
        (5, ago(40), "order", 200.0),
        (5, ago(30), "return", 100.0),  # a return is no purchase and counts in M
        (1, ago(300), "order", 100.0),  # E
        (1, ago(200), "order", 100.0),
        (1, ago(10), "order", 100.0),
        *[(3, ago(days), "order", 200.0) for days in (800, 700, 600, 500, 400)],  # F
    ]
    scored = analyses.rfm(_tables(rows), as_of=AS_OF).to_pandas().set_index("party_id")
    got = {
        party: (row.r, row.f, row.m, row.segment) for party, row in scored.sort_index().iterrows()
    }
    assert got == {
        6: (3, 1, 1, "about_to_sleep"),
        2: (3, 1, 1, "about_to_sleep"),
        4: (1, 1, 1, "lost"),
        5: (2, 3, 3, "at_risk"),
        1: (3, 4, 3, "loyal"),
        3: (1, 5, 5, "cant_lose"),
    }


def _cdnow_rows() -> list[tuple[int, dt.date, str, float]]:
    rows = []
    for line in (CDNOW / "CDNOW_sample.txt").read_text().splitlines():
        if line.strip():
            _master, customer, day, _cds, dollars = line.split()
            date = dt.date(int(day[:4]), int(day[4:6]), int(day[6:]))
            rows.append((int(customer), date, "order", float(dollars)))
    return rows


def test_every_one_purchase_cdnow_customer_gets_the_same_frequency_score():
    scored = analyses.rfm(_tables(_cdnow_rows()), as_of=dt.date(1998, 6, 30)).to_pandas()
    assert len(scored) == 2357
    one_purchase = scored[scored["frequency"] == 1]
    assert len(one_purchase) == 1218  # more than a fifth: NTILE split them over two scores
    assert set(one_purchase["f"]) == {1}
    # Equal values, equal scores, for all three measures; higher values never score lower.
    for value, score in (("frequency", "f"), ("monetary", "m"), ("last_day", "r")):
        assert (scored.groupby(value)[score].nunique() == 1).all()
        ordered = scored.sort_values(value)[score].to_numpy()
        assert (ordered[1:] >= ordered[:-1]).all()
