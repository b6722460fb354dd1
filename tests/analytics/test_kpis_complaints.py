"""Complaint KPIs (``kpis.queries``, "Complaint figures"): defect frequency per 1,000 units
and warranty claims by count and cost, hand-computed on the shop of ``test_kpis`` (units per
quarter of 2025: Q1 17 — Tools 15, Paint 2 —, Q2 3 — Tools 0, Paint 3 —, Q3 5 — Paint 1,
no category 4 —, Q4 0), on the page, in the API and on the command line.

Cases, received:
- defect on P1 (Tools) from A on 10 Feb and on 3 Mar, defect on P3 (Paint) from C on 2 May,
  a defect without a product from B on 1 Aug, a defect on P1 from D (charlie's, team South)
  on 20 Mar;
- warranty from A on 5 Jan (costs 120 goodwill + 30 handling, the latter entered in April),
  from C on 9 Jul (no costs), from B on 15 Aug (costs 250 replacement);
- a delivery complaint from A on 1 Feb (neither kind).
"""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command

from kreis.service import services as service
from kreis.service.defaults import ensure_defaults
from kreis.service.models import Case, CaseCategory, CaseCost, CategoryKind
from tests.analytics.test_kpis import _warehouse, report, shop  # noqa: F401 (fixtures)
from tests.conftest import client_for

D = dt.date


def received(party, kind: str, day: D, product=None) -> Case:
    category = CaseCategory.objects.filter(kind=kind).order_by("pk").first()
    case = service.case_create(
        actor=None,
        party=party,
        channel="email",
        category=category,
        subject=f"{kind} {day}",
        product=product,
        acknowledge=False,
    )
    when = dt.datetime(day.year, day.month, day.day, 10, tzinfo=dt.UTC)
    Case.objects.filter(pk=case.pk).update(created_at=when)
    return case


def cost(case: Case, kind: str, amount: str, day: D) -> None:
    CaseCost.objects.create(case=case, kind=kind, amount=Decimal(amount), date=day)


@pytest.fixture
def complaints(shop):  # noqa: F811
    ensure_defaults()
    p1, p3 = shop["p1"], shop["p3"]
    received(shop["A"], CategoryKind.DEFECT, D(2025, 2, 10), p1)
    received(shop["A"], CategoryKind.DEFECT, D(2025, 3, 3), p1)
    received(shop["C"], CategoryKind.DEFECT, D(2025, 5, 2), p3)
    received(shop["B"], CategoryKind.DEFECT, D(2025, 8, 1))
    received(shop["D"], CategoryKind.DEFECT, D(2025, 3, 20), p1)
    first = received(shop["A"], CategoryKind.WARRANTY, D(2025, 1, 5))
    cost(first, "goodwill", "120.00", D(2025, 1, 20))
    cost(first, "handling", "30.00", D(2025, 4, 2))
    received(shop["C"], CategoryKind.WARRANTY, D(2025, 7, 9))
    third = received(shop["B"], CategoryKind.WARRANTY, D(2025, 8, 15))
    cost(third, "replacement", "250.00", D(2025, 8, 20))
    received(shop["A"], CategoryKind.DELIVERY, D(2025, 2, 1))
    return shop


def test_defect_frequency_is_defect_cases_per_thousand_units_sold(complaints):
    defects = report()["defects"]
    assert defects["cases"] == [3, 1, 1, 0]
    assert defects["units"] == [17.0, 3.0, 5.0, 0.0]
    # Q1 3 ÷ 17 × 1,000; Q2 1 ÷ 3 × 1,000; Q3 1 ÷ 5 × 1,000; Q4 nothing sold: unknown.
    assert defects["per_1000"] == [176.47, 333.33, 200.0, None]


def test_defect_frequency_per_product_category(complaints):
    rows = {row["segment"]: row for row in report()["defects"]["by_category"]}
    assert set(rows) == {"Tools", "Paint", ""}
    # Tools: Q1 3 cases on 15 units; Q2 none sold (A's invoice of P2, D's return of P2).
    assert rows["Tools"]["cases"] == [3, 0, 0, 0]
    assert rows["Tools"]["units"] == [15.0, 0.0, 0.0, 0.0]
    assert rows["Tools"]["per_1000"] == [200.0, None, None, None]
    assert rows["Paint"]["per_1000"] == [0.0, 333.33, 0.0, None]
    # The case without a product against the lines without a category (B's 4 free units).
    assert rows[""]["per_1000"] == [None, None, 250.0, None]


def test_warranty_claims_count_and_cost_of_the_claims_of_the_period(complaints):
    warranty = report()["warranty"]
    assert warranty["claims"] == [1, 0, 2, 0]
    # The April handling cost belongs to the January claim.
    assert warranty["cost"] == [150.0, 0.0, 250.0, 0.0]
    assert warranty["cost_per_claim"] == [150.0, None, 125.0, None]


def test_warranty_claims_without_any_cost_are_counted_at_zero_cost(shop):  # noqa: F811
    ensure_defaults()
    received(shop["A"], CategoryKind.WARRANTY, D(2025, 2, 1))
    warranty = report()["warranty"]
    assert warranty["claims"] == [1, 0, 0, 0]
    assert warranty["cost"] == [0.0, 0.0, 0.0, 0.0]
    assert warranty["cost_per_claim"] == [0.0, None, None, None]


def test_a_manager_counts_the_cases_of_the_customers_they_may_see(complaints, mia):
    figures = report(user=mia)
    # D (team South) is left out of the cases as of the units: Q1 2 cases on 16 units.
    assert figures["defects"]["cases"] == [2, 1, 1, 0]
    assert figures["defects"]["per_1000"][0] == 125.0


def test_deleted_customers_cases_do_not_count(complaints):
    complaints["A"].__class__.objects.filter(pk=complaints["A"].pk).update(
        deleted_at=dt.datetime(2025, 12, 1, tzinfo=dt.UTC)
    )
    assert report()["warranty"]["claims"] == [0, 0, 2, 0]


def test_by_month(complaints):
    figures = report(grain="month", start=D(2025, 1, 1), end=D(2025, 3, 31))
    assert figures["defects"]["cases"] == [0, 1, 2]
    assert figures["warranty"]["claims"] == [1, 0, 0]


def test_page_api_and_command_show_both_kpis_with_their_formulas(complaints, dana, api_key_for):
    query = "start=2025-01-01&end=2025-12-31&grain=quarter"
    page = client_for(dana).get(f"/analytics/kpis/?{query}")
    assert page.status_code == 200
    html = page.content.decode()
    for key in ("defects", "warranty"):
        assert f'id="{key}" type="application/json"' in html
        assert f'data-chart-json="{key}"' in html
    assert "Defect frequency = complaint cases of the kind" in html
    assert "Warranty claims = complaint cases of the kind" in html
    key = api_key_for(dana, scope="read")
    api = client_for(dana).get(f"/api/v1/kpis?{query}", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert api.status_code == 200
    data = api.json()
    shown = page.context["report"]
    assert data["defects"] == json.loads(json.dumps(shown["defects"]))
    assert data["warranty"] == json.loads(json.dumps(shown["warranty"]))
    assert data["defects"]["per_1000"] == [176.47, 333.33, 200.0, None]
    assert {"defects", "warranty"} <= set(data["formulas"])
    out = io.StringIO()
    call_command("kpis", "--start", "2025-01-01", "--end", "2025-12-31", stdout=out)
    table = out.getvalue()
    assert "defects per 1,000 units" in table
    assert "176.47" in table
    assert "warranty cost per claim" in table


def test_german_page_shows_the_formulas_in_german(complaints, dana):
    dana.language = "de"
    dana.save(update_fields=["language"])
    html = client_for(dana).get("/analytics/kpis/?start=2025-01-01&end=2025-12-31").content
    text = html.decode()
    assert "Fehlerhäufigkeit je 1.000 Einheiten" in text
    assert "Garantiefälle: Anzahl und Kosten" in text


def test_without_a_warehouse_the_cases_are_counted_but_no_rate(db, dana, settings, tmp_path):
    settings.KREIS_WAREHOUSE = f"duckdb://{tmp_path}/missing.duckdb"
    figures = report(user=dana)
    assert figures["warehouse"] is False
    assert figures["defects"]["units"] is None
    assert figures["defects"]["per_1000"] == [None, None, None, None]
    assert figures["warranty"]["claims"] == [0, 0, 0, 0]
