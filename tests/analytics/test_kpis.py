"""The objective satisfaction KPIs (DOMAIN.md §3): hand-computed figures on a small shop, the
same numbers on the page, in the API and on the command line.

The shop in 2025, per quarter (alice's customers A, B, C in team North; D is charlie's, South):
- A: Q1 order P1 10 × 100 − 100 discount, P3 2 × 50; Q2 invoice P2 1 × 200 − 20.
- B: Q1 order P1 5 × 100, return P1 1 × 100; Q3 a free line 4 × 25 (no product).
- C: Q2 order P3 3 × 50 − 15; Q3 order P3 1 × 50.
- D: Q1 order P2 1 × 200; Q2 returns it.
P1 and P2 are "Tools", P3 is "Paint".
"""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command

from kreis.analytics import warehouse
from kreis.analytics.kpis import queries
from kreis.analytics.kpis.models import MarketVolume, QualityCheck
from kreis.commerce import services as commerce
from kreis.leads.models import Lead, LeadStatus
from kreis.parties.models import Party, PartyKind, PartyRole, PartyRoleAssignment
from tests.commerce.factories import ProductFactory
from tests.conftest import client_for

D = dt.date
TODAY = D(2026, 6, 1)
YEAR_2025 = {"start": D(2025, 1, 1), "end": D(2025, 12, 31)}


@pytest.fixture(autouse=True)
def _warehouse(settings, tmp_path):
    settings.KREIS_WAREHOUSE = f"duckdb://{tmp_path}/warehouse.duckdb"


def customer(name: str, owner, team) -> Party:
    party = Party.objects.create(kind=PartyKind.ORGANIZATION, name=name, owner=owner, team=team)
    PartyRoleAssignment.objects.create(party=party, role=PartyRole.CUSTOMER)
    return party


def line(product, quantity: int, price: str, discount: str = "0") -> dict:
    return {
        "product": product,
        "quantity": Decimal(quantity),
        "unit_price": Decimal(price),
        "discount": Decimal(discount),
    }


def free_line(quantity: int, price: str) -> dict:
    return {"description": "Service", "quantity": Decimal(quantity), "unit_price": Decimal(price)}


@pytest.fixture
def shop(db, alice, charlie, north, south):
    p1 = ProductFactory(category="Tools", list_price=Decimal("100"))
    p2 = ProductFactory(category="Tools", list_price=Decimal("200"))
    p3 = ProductFactory(category="Paint", list_price=Decimal("50"))
    a = customer("A", alice, north)
    b = customer("B", alice, north)
    c = customer("C", alice, north)
    d = customer("D", charlie, south)

    def txn(party, day, kind, *lines):
        commerce.transaction_create(actor=None, party=party, kind=kind, date=day, lines=lines)

    txn(a, D(2025, 2, 10), "order", line(p1, 10, "100", "100"), line(p3, 2, "50"))
    txn(a, D(2025, 5, 5), "invoice", line(p2, 1, "200", "20"))
    txn(b, D(2025, 3, 1), "order", line(p1, 5, "100"))
    txn(b, D(2025, 3, 15), "return", line(p1, 1, "100"))
    txn(b, D(2025, 8, 1), "order", free_line(4, "25"))
    txn(c, D(2025, 4, 20), "order", line(p3, 3, "50", "15"))
    txn(c, D(2025, 7, 7), "order", line(p3, 1, "50"))
    txn(d, D(2025, 1, 15), "order", line(p2, 1, "200"))
    txn(d, D(2025, 6, 1), "return", line(p2, 1, "200"))
    warehouse.refresh(full=True)
    return {"A": a, "B": b, "C": c, "D": d, "p1": p1, "p3": p3}


def report(user=None, grain="quarter", **dates):
    return queries.kpi_report(user=user, grain=grain, today=TODAY, **(dates or YEAR_2025))


def test_revenue_and_units_are_orders_and_invoices_minus_returns(shop):
    figures = report()
    assert figures["periods"] == ["2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4"]
    # Q1: 900 + 100 + 500 − 100 + 200; Q2: 180 + 135 − 200; Q3: 100 + 50.
    assert figures["revenue"]["net_revenue"] == [1600.0, 115.0, 150.0, 0.0]
    assert figures["revenue"]["units"] == [17.0, 3.0, 5.0, 0.0]


def test_repurchase_rate_counts_customers_buying_again_in_the_next_period(shop):
    repurchase = report()["repurchase"]
    # Q1 {A, B, D} → Q2 {A, C}: only A; D's return in Q2 is no purchase.
    # Q2 {A, C} → Q3 {B, C}: C. Q3 {B, C} → Q4 nobody. Q4: no customers.
    assert repurchase["customers"] == [3, 2, 2, 0]
    assert repurchase["repurchased"] == [1, 1, 0, 0]
    assert repurchase["rate_pct"] == [33.33, 50.0, 0.0, None]


def test_repurchase_rate_is_unknown_until_the_next_period_has_ended(shop):
    figures = queries.kpi_report(user=None, grain="quarter", today=D(2025, 9, 1), **YEAR_2025)
    # On 1 September 2025 Q3 is running: Q2's rate is not known yet, Q1's is.
    assert figures["repurchase"]["rate_pct"] == [33.33, None, None, None]


def test_cross_buying_counts_distinct_categories_per_customer(shop):
    cross = report()["cross_buying"]
    # Q1: A Tools + Paint = 2, B Tools = 1 (the return does not count), D Tools = 1.
    # Q2: A Tools, C Paint. Q3: B's free line (no category) = 1, C Paint = 1.
    assert cross["customers"] == [3, 2, 2, 0]
    assert cross["average"] == [1.33, 1.0, 1.0, None]
    assert cross["distribution"]["1"] == [2, 2, 2, 0]
    assert cross["distribution"]["2"] == [1, 0, 0, 0]
    assert cross["distribution"]["5+"] == [0, 0, 0, 0]


def test_price_tolerance_is_discount_over_gross_of_the_purchases(shop):
    price = report()["price_tolerance"]
    # Q1: 100 ÷ (1000 + 100 + 500 + 200); Q2: (20 + 15) ÷ (200 + 150); Q3: 0 ÷ 150.
    assert price["gross"] == [1800.0, 350.0, 150.0, 0.0]
    assert price["discount"] == [100.0, 35.0, 0.0, 0.0]
    assert price["discount_pct"] == [5.56, 10.0, 0.0, None]


def test_market_share_per_segment_and_period(shop):
    MarketVolume.objects.create(segment="Tools", grain="quarter", start=D(2025, 1, 1), volume=10000)
    for month in (4, 5, 6):
        MarketVolume.objects.create(
            segment="Paint", grain="month", start=D(2025, month, 1), volume=1000
        )
    MarketVolume.objects.create(segment="Paint", grain="month", start=D(2025, 7, 1), volume=1000)
    MarketVolume.objects.create(segment="", grain="year", start=D(2025, 1, 1), volume=50000)
    shares = {row["segment"]: row for row in report()["market_share"]}
    # Tools Q1: 900 + 500 − 100 + 200 = 1,500 of 10,000.
    assert shares["Tools"]["share_pct"] == [15.0, None, None, None]
    # Paint Q2: three months make the quarter, 135 of 3,000; July alone is not Q3.
    assert shares["Paint"]["volume"] == [None, 3000.0, None, None]
    assert shares["Paint"]["share_pct"] == [None, 4.5, None, None]
    # A year's volume is never split into quarters …
    assert shares[""]["share_pct"] == [None, None, None, None]
    # … but by year it compares all revenue: 1,865 of 50,000.
    yearly = {row["segment"]: row for row in report(grain="year")["market_share"]}
    assert yearly[""]["revenue"] == [1865.0]
    assert yearly[""]["share_pct"] == [3.73]


def test_referrals_count_leads_with_a_referring_customer(shop):
    def lead(name, created, referred_by=None, status=LeadStatus.NEW):
        record = Lead.objects.create(last_name=name, referred_by=referred_by, status=status)
        Lead.objects.filter(pk=record.pk).update(
            created_at=dt.datetime(created.year, created.month, created.day, 12, tzinfo=dt.UTC)
        )

    lead("Eins", D(2025, 2, 1), shop["A"], LeadStatus.CONVERTED)
    lead("Zwei", D(2025, 2, 20), shop["B"])
    lead("Ohne", D(2025, 2, 5))
    lead("Drei", D(2025, 8, 10), shop["A"])
    gone = Lead.objects.create(last_name="Gelöscht", referred_by=shop["A"])
    Lead.objects.filter(pk=gone.pk).update(deleted_at=dt.datetime(2025, 3, 1, tzinfo=dt.UTC))
    referrals = report()["referrals"]
    assert referrals["leads"] == [2, 0, 1, 0]
    assert referrals["converted"] == [1, 0, 0, 0]
    assert referrals["conversion_pct"] == [50.0, None, 0.0, None]


def test_quality_checks_give_the_defect_share_per_stage(shop):
    for day, stage, checked, defective in (
        (D(2025, 1, 10), "internal", 200, 4),
        (D(2025, 3, 10), "internal", 300, 1),
        (D(2025, 5, 1), "trade", 100, 3),
        (D(2025, 2, 2), "end_customer", 50, 0),
        (D(2026, 1, 2), "trade", 10, 10),  # outside the range
    ):
        QualityCheck.objects.create(
            date=day, stage=stage, checked_units=checked, defective_units=defective
        )
    stages = {row["stage"]: row for row in report()["quality"]}
    assert stages["internal"]["checked"] == [500, 0, 0, 0]
    assert stages["internal"]["defect_pct"] == [1.0, None, None, None]
    assert stages["trade"]["defect_pct"] == [None, 3.0, None, None]
    assert stages["end_customer"]["defect_pct"] == [0.0, None, None, None]


def test_a_manager_sees_the_figures_of_the_customers_of_their_teams(shop, mia):
    figures = report(user=mia)
    # D (team South) is left out: Q1 without D's 200, Q2 without its return.
    assert figures["revenue"]["net_revenue"] == [1400.0, 315.0, 150.0, 0.0]
    assert figures["repurchase"]["customers"] == [2, 2, 2, 0]


def test_by_month_and_by_year(shop):
    monthly = report(grain="month", start=D(2025, 1, 1), end=D(2025, 3, 31))
    assert monthly["periods"] == ["2025-01", "2025-02", "2025-03"]
    assert monthly["revenue"]["net_revenue"] == [200.0, 1000.0, 400.0]
    yearly = report(grain="year")
    assert yearly["revenue"]["net_revenue"] == [1865.0]
    assert yearly["cross_buying"]["average"] == [1.5]  # A 3, B 2, C 1, D 1 categories ÷ 4


def test_a_range_is_widened_to_whole_periods(shop):
    figures = report(start=D(2025, 2, 15), end=D(2025, 4, 2))
    assert (figures["start"], figures["end"]) == (D(2025, 1, 1), D(2025, 6, 30))
    assert figures["revenue"]["net_revenue"] == [1600.0, 115.0]


def test_the_api_gives_the_numbers_of_the_page(shop, dana, api_key_for):
    MarketVolume.objects.create(segment="Tools", grain="quarter", start=D(2025, 1, 1), volume=10000)
    QualityCheck.objects.create(
        date=D(2025, 1, 10), stage="internal", checked_units=200, defective_units=4
    )
    query = "start=2025-01-01&end=2025-12-31&grain=quarter"
    page = client_for(dana).get(f"/analytics/kpis/?{query}")
    assert page.status_code == 200
    shown = page.context["report"]
    key = api_key_for(dana, scope="read")
    api = client_for(dana).get(f"/api/v1/kpis?{query}", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert api.status_code == 200
    data = api.json()
    assert data["periods"] == shown["periods"]
    for name in ("revenue", "repurchase", "cross_buying", "price_tolerance", "referrals"):
        assert data[name] == json.loads(json.dumps(shown[name])), name
    assert data["market_share"] == json.loads(json.dumps(shown["market_share"]))
    assert data["quality"] == json.loads(json.dumps(shown["quality"]))
    assert data["revenue"]["net_revenue"] == [1600.0, 115.0, 150.0, 0.0]
    assert set(data["formulas"]) == {
        "revenue",
        "market-share",
        "repurchase",
        "cross-buying",
        "price-tolerance",
        "referrals",
        "quality",
        "defects",
        "warranty",
    }
    # Each chart is on the page with its data and its formula written out.
    html = page.content.decode()
    assert 'id="revenue" type="application/json"' in html
    assert 'data-chart-json="revenue"' in html
    assert "Repurchase rate = customers who bought in the period and again" in html
    assert "1600.0" in html


def test_the_command_prints_the_kpis(shop):
    out = io.StringIO()
    call_command("kpis", "--start", "2025-01-01", "--end", "2025-12-31", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["revenue"]["net_revenue"] == [1600.0, 115.0, 150.0, 0.0]
    table = io.StringIO()
    call_command("kpis", "--start", "2025-01-01", "--end", "2025-06-30", stdout=table)
    assert "repurchase rate %" in table.getvalue()
    assert "1,600.00" in table.getvalue()


def test_without_a_warehouse_the_other_kpis_still_show(db, dana, settings, tmp_path):
    settings.KREIS_WAREHOUSE = f"duckdb://{tmp_path}/missing.duckdb"
    QualityCheck.objects.create(
        date=D(2025, 1, 10), stage="internal", checked_units=200, defective_units=4
    )
    figures = report(user=dana)
    assert figures["warehouse"] is False
    assert figures["revenue"] is None
    assert figures["quality"][0]["defect_pct"][0] == 2.0
    page = client_for(dana).get("/analytics/kpis/?start=2025-01-01&end=2025-12-31&grain=quarter")
    assert page.status_code == 200
    assert "The analytics warehouse is not available" in page.content.decode()
