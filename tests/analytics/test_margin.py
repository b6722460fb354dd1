"""Contribution margin accounting (DOMAIN.md §7.2): CM I–IV per customer, cost rules, the
waterfall, the ranking pages and the API."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import ibis
import pandas as pd
import pytest
from django.test import Client

from kreis.analytics import warehouse
from kreis.analytics.margin import accounting
from kreis.analytics.margin.accounting import RuleSpec, contribution_margins, period_months, ranking
from kreis.analytics.models import CostEntry, CostRule
from kreis.parties import services as party_services
from tests.conftest import client_for

D = dt.date
H1 = (D(2024, 1, 1), D(2024, 6, 30))  # half a year


def sales_frame(rows: list[tuple]) -> pd.DataFrame:
    """(transaction, party, date, kind, quantity, unit price, discount, cost) per line; the
    amounts of returns are stored negative, as the warehouse does."""
    records = []
    for line_id, (txn, party, day, kind, qty, price, discount, cost) in enumerate(rows, 1):
        sign = -1.0 if kind == "return" else 1.0
        gross = qty * price
        records.append(
            {
                "line_id": line_id,
                "transaction_id": txn,
                "party_id": party,
                "product_id": None,
                "date": day,
                "kind": kind,
                "channel": "web",
                "quantity": sign * qty,
                "gross": sign * gross,
                "discount": sign * discount,
                "net_revenue": sign * (gross - discount),
                "cost": sign * cost,
            }
        )
    frame = pd.DataFrame.from_records(records)
    return frame.astype({"product_id": "Int64", "quantity": float, "gross": float})


def warehouse_tables(
    *, a: int = 1, b: int = 2, c: int = 3, deleted: tuple[int, ...] = ()
) -> dict[str, ibis.Table]:
    """Customer A buys twice (one line discounted) and returns one item; B buys once; C only
    causes a visit cost. Sales outside the first half of 2024 must not count."""
    sales = sales_frame(
        [
            (10, a, D(2024, 2, 10), "order", 10, 1000.0, 1000.0, 5000.0),
            (10, a, D(2024, 2, 10), "order", 5, 200.0, 0.0, 400.0),
            (11, a, D(2024, 3, 5), "order", 2, 1500.0, 0.0, 1500.0),
            (12, a, D(2024, 3, 20), "return", 1, 1000.0, 0.0, 500.0),
            (13, b, D(2024, 4, 1), "order", 4, 2000.0, 0.0, 4000.0),
            (14, b, D(2023, 12, 31), "order", 1, 999.0, 0.0, 1.0),
            (15, b, D(2024, 7, 1), "order", 1, 999.0, 0.0, 1.0),
        ]
    )
    interactions = pd.DataFrame(
        {
            "activity_id": [1, 2, 3, 4, 5, 6],
            "party_id": [a, a, a, a, a, b],
            "kind": ["meeting", "meeting", "meeting", "call", "meeting", "call"],
            "date": [
                D(2024, 2, 1),
                D(2024, 5, 2),
                D(2024, 5, 3),  # not done
                D(2024, 5, 4),  # a call
                D(2024, 8, 1),  # after the period
                D(2024, 3, 3),
            ],
            "done": [True, True, False, True, True, True],
        }
    )
    costs = pd.DataFrame(
        {
            "entry_id": [1, 2, 3],
            "party_id": [a, c, b],
            "date": [D(2024, 3, 1), D(2024, 4, 4), D(2024, 9, 9)],
            "level": ["relationship", "relationship", "order"],
            "category": ["complaint", "visit", "shipping"],
            "amount": [40.0, 50.0, 999.0],
        }
    )
    customers = pd.DataFrame(
        {
            "party_id": [a, b, c],
            "kind": ["organization"] * 3,
            "name": ["A", "B", "C"],
            "is_customer": [True] * 3,
            "owner_id": pd.array([None] * 3, dtype="Int64"),
            "team_id": pd.array([None] * 3, dtype="Int64"),
            "created": [D(2020, 1, 1)] * 3,
            "purchasing_potential": [None] * 3,
            "termination_announced": [False] * 3,
            "contract_end": pd.array([None] * 3, dtype="object"),
            "deleted": [p in deleted for p in (a, b, c)],
        }
    )
    return {
        "fact_sales": ibis.memtable(sales),
        "fact_interactions": ibis.memtable(interactions),
        "fact_costs": ibis.memtable(costs),
        "dim_customer": ibis.memtable(customers.astype({"purchasing_potential": float})),
    }


HANDLING = RuleSpec(
    name="Handling", level="order", category="handling", basis="per_order", amount=5.0
)
MEETINGS = RuleSpec(
    name="Meetings",
    level="relationship",
    category="visit",
    basis="per_activity",
    activity_kind="meeting",
    amount=80.0,
)
MARKETING = RuleSpec(
    name="Marketing",
    level="relationship",
    category="marketing",
    basis="percent_of_revenue",
    amount=2.0,
)
FIXED = RuleSpec(
    name="Overheads", level="fixed", category="fixed", basis="fixed_allocated", amount=12000.0
)
ALL_RULES = [HANDLING, MEETINGS, MARKETING, FIXED]


def rows(table: ibis.Table) -> dict[int, dict]:
    return {r["party_id"]: r for r in table.to_pyarrow().to_pylist()}


# --- The computation -------------------------------------------------------------------------


def test_every_margin_level_of_the_hand_computed_example():
    result = rows(contribution_margins(warehouse_tables(), ALL_RULES, *H1))
    a, b, c = result[1], result[2], result[3]
    # A: 10 × 1,000 (−1,000 discount) + 5 × 200 + 2 × 1,500, one item of 1,000 returned.
    assert a["gross_revenue"] == 14000
    assert a["discounts"] == 1000
    assert a["returns"] == 1000
    assert a["net_revenue"] == 12000
    assert a["cogs"] == 6400  # 5,000 + 400 + 1,500 − 500 for the returned item
    assert a["cm1"] == 5600
    assert a["order_costs"] == 10  # two orders × 5.00 (the return is not an order)
    assert a["cm2"] == 5590
    # Two completed meetings × 80 + the complaint entered by hand + 2 % of 12,000.
    assert a["relationship_costs"] == 160 + 40 + 240
    assert a["cm3"] == 5150
    # 12,000 a year, half a year, A has 12,000 of the 20,000 net revenue.
    assert a["fixed_costs"] == 3600
    assert a["cm4"] == 1550
    assert a["cm1_pct"] == pytest.approx(46.7)
    assert a["cm4_pct"] == pytest.approx(12.9)

    assert (b["gross_revenue"], b["net_revenue"], b["cogs"], b["cm1"]) == (8000, 8000, 4000, 4000)
    assert b["order_costs"] == 5  # the shipping entry of September is outside the period
    assert b["cm2"] == 3995
    assert b["relationship_costs"] == 160  # marketing only: calls cost nothing here
    assert b["cm3"] == 3835
    assert b["fixed_costs"] == 2400
    assert b["cm4"] == 1435

    # C bought nothing but was visited: a customer who only costs money.
    assert (c["net_revenue"], c["relationship_costs"], c["fixed_costs"]) == (0, 50, 0)
    assert c["cm4"] == -50
    assert c["cm4_pct"] is None


def test_the_allocated_fixed_costs_add_up_to_the_prorated_yearly_amount():
    result = rows(contribution_margins(warehouse_tables(), [FIXED], D(2024, 1, 1), D(2024, 3, 31)))
    assert sum(r["fixed_costs"] for r in result.values()) == pytest.approx(3000)


def test_rules_count_only_facts_inside_their_validity():
    from_march = RuleSpec(
        name="Handling", level="order", basis="per_order", amount=5.0, valid_from=D(2024, 3, 1)
    )
    expired = RuleSpec(
        name="Old handling", level="order", basis="per_order", amount=7.0, valid_to=D(2023, 12, 31)
    )
    # Marketing only for March: A's net revenue of March is 3,000 − 1,000 returned.
    march = RuleSpec(
        name="Campaign",
        level="relationship",
        basis="percent_of_revenue",
        amount=10.0,
        valid_from=D(2024, 3, 1),
        valid_to=D(2024, 3, 31),
    )
    result = rows(contribution_margins(warehouse_tables(), [from_march, expired, march], *H1))
    assert result[1]["order_costs"] == 5  # the February order is before the rule
    assert result[2]["order_costs"] == 5
    assert result[1]["relationship_costs"] == 40 + 200  # complaint entry + 10 % of 2,000
    assert result[2]["relationship_costs"] == 0


def test_per_customer_rule_is_prorated_to_the_months_and_needs_a_sale():
    account = RuleSpec(
        name="Key account care", level="relationship", basis="per_customer", amount=1200.0
    )
    half = rows(contribution_margins(warehouse_tables(), [account], *H1))
    assert half[1]["relationship_costs"] == 40 + 600
    assert half[2]["relationship_costs"] == 600
    assert half[3]["relationship_costs"] == 50  # no sale, no flat rate
    q2 = (D(2024, 4, 1), D(2024, 6, 30))
    quarter = rows(contribution_margins(warehouse_tables(), [account], *q2))
    assert quarter[2]["relationship_costs"] == 300
    assert 1 not in quarter  # A has neither sales nor costs in the second quarter
    # Valid from mid-May only: 1.5 months of the year's 1,200 — but B bought in April.
    late = RuleSpec(
        name="Care",
        level="relationship",
        basis="per_customer",
        amount=1200.0,
        valid_from=D(2024, 5, 16),
    )
    assert rows(contribution_margins(warehouse_tables(), [late], *H1))[2]["cm3"] == 4000


def test_period_months():
    assert period_months(D(2024, 1, 1), D(2024, 6, 30)) == 6
    assert period_months(D(2024, 4, 1), D(2024, 6, 30)) == 3
    assert period_months(D(2023, 3, 15), D(2024, 3, 14)) == 12
    assert period_months(D(2024, 5, 16), D(2024, 6, 30)) == pytest.approx(1.5)


def test_deleted_customers_drop_out_and_do_not_take_a_share_of_fixed_costs():
    result = rows(contribution_margins(warehouse_tables(deleted=(2,)), [FIXED], *H1))
    assert 2 not in result
    assert result[1]["fixed_costs"] == 6000


def test_ranking_orders_by_the_chosen_level_with_cumulative_share():
    margins = contribution_margins(warehouse_tables(), ALL_RULES, *H1)
    ranked = ranking(margins, level="cm4").to_pyarrow().to_pylist()
    assert [r["party_id"] for r in ranked] == [1, 2, 3]
    assert [r["rank"] for r in ranked] == [1, 2, 3]
    total = 1550 + 1435 - 50
    assert ranked[0]["cumulative_share"] == pytest.approx(1550 / total, abs=1e-4)
    assert ranked[1]["cumulative_share"] == pytest.approx(2985 / total, abs=1e-4)  # above 100 % …
    assert ranked[2]["cumulative_share"] == pytest.approx(1.0)  # … until C's loss
    by_cm1 = ranking(margins, level="cm1", descending=False).to_pyarrow().to_pylist()
    assert [r["party_id"] for r in by_cm1] == [3, 2, 1]


def test_waterfall_steps_lead_from_gross_revenue_to_cm4():
    margins = rows(contribution_margins(warehouse_tables(), ALL_RULES, *H1))
    steps = accounting.waterfall(margins[1])
    assert [s["label"] for s in steps] == [
        "Gross revenue",
        "Sales deductions",
        "Net revenue",
        "Cost of goods",
        "CM I",
        "Order costs",
        "CM II",
        "Relationship costs",
        "CM III",
        "Fixed costs",
        "CM IV",
    ]
    assert [s["value"] for s in steps] == [
        14000,
        -2000,
        12000,
        -6400,
        5600,
        -10,
        5590,
        -440,
        5150,
        -3600,
        1550,
    ]
    deductions = steps[1]
    assert (deductions["start"], deductions["end"]) == (14000, 12000)
    option = accounting.waterfall_option(steps)
    base, up, down = option["series"]
    assert base["itemStyle"]["color"] == "transparent"
    assert base["data"][1] == 12000  # the deduction hangs from 14,000 down to 12,000
    assert up["data"][1]["value"] == 2000
    assert up["data"][1]["itemStyle"]["color"] == accounting.COLORS["down"]


def test_a_loss_crossing_zero_is_drawn_on_both_sides():
    row = dict.fromkeys(accounting.MONEY_COLUMNS, 0.0)
    row.update(gross_revenue=100.0, net_revenue=100.0, cm1=100.0, cm2=100.0, cm3=100.0)
    row.update(fixed_costs=150.0, cm4=-50.0)
    option = accounting.waterfall_option(accounting.waterfall(row))
    base, up, down = option["series"]
    assert (base["data"][9], up["data"][9]["value"], down["data"][9]["value"]) == (0, 100, -50)
    assert (base["data"][10], up["data"][10]["value"], down["data"][10]["value"]) == (0, 0, -50)
    assert down["data"][10]["itemStyle"]["color"] == accounting.COLORS["negative"]


# --- Pages and API ---------------------------------------------------------------------------

PERIOD = "start=2024-01-01&end=2024-06-30"


@pytest.fixture
def shop(alice, bob, charlie, monkeypatch):
    """Anker (Alice's) and Berger (Bob's) in team North, Südwind (Charlie's) in South; the
    warehouse holds the example's facts for them, the database its rules and entries."""
    anker = party_services.party_create(
        actor=alice, kind="organization", name="Anker GmbH", roles=["customer"]
    )
    berger = party_services.party_create(
        actor=bob, kind="organization", name="Berger KG", roles=["customer"]
    )
    suedwind = party_services.party_create(
        actor=charlie, kind="organization", name="Südwind AG", roles=["customer"]
    )
    monkeypatch.setattr(
        warehouse,
        "tables",
        lambda con=None: warehouse_tables(a=anker.pk, b=berger.pk, c=suedwind.pk),
        raising=False,
    )
    for spec in ALL_RULES:
        accounting.cost_rule_create(
            actor=None,
            name=spec.name,
            level=spec.level,
            category=spec.category,
            basis=spec.basis,
            amount=Decimal(str(spec.amount)),
            activity_kind=spec.activity_kind,
        )
    accounting.cost_entry_create(
        actor=alice,
        party=anker,
        date=D(2024, 3, 1),
        category="complaint",
        amount=Decimal("40.00"),
        note="Late delivery",
    )
    accounting.cost_entry_create(
        actor=charlie, party=suedwind, date=D(2024, 4, 4), category="visit", amount=Decimal("50")
    )
    return {"anker": anker, "berger": berger, "suedwind": suedwind}


def test_ranking_page_shows_the_margins_of_the_visible_customers(shop, alice):
    response = client_for(alice).get(f"/analytics/margin/?{PERIOD}")
    assert response.status_code == 200
    text = response.content.decode()
    assert "Anker GmbH" in text
    assert "Berger KG" in text
    assert "€1,550.00" in text  # Anker's CM IV
    assert "€1,435.00" in text  # Berger's CM IV
    assert "€2,985.00" in text  # the total of both
    ranking_rows = response.context["rows"]
    assert [r["name"] for r in ranking_rows] == ["Anker GmbH", "Berger KG"]


def test_another_teams_customer_is_not_shown(shop, alice, charlie):
    text = client_for(alice).get(f"/analytics/margin/?{PERIOD}").content.decode()
    assert "Südwind" not in text
    assert (
        client_for(alice).get(f"/analytics/margin/party/{shop['suedwind'].pk}/").status_code == 404
    )
    own = client_for(charlie).get(f"/analytics/margin/?{PERIOD}")
    assert [r["name"] for r in own.context["rows"]] == ["Südwind AG"]
    assert "Anker" not in own.content.decode()


def test_ranking_sorts_by_any_level_and_pages(shop, alice):
    lowest = client_for(alice).get(f"/analytics/margin/?{PERIOD}&sort=cm1")
    assert [r["name"] for r in lowest.context["rows"]] == ["Berger KG", "Anker GmbH"]
    assert client_for(alice).get(f"/analytics/margin/?{PERIOD}&page=9").status_code == 200


def test_ranking_csv_has_every_visible_customer(shop, alice):
    response = client_for(alice).get(f"/analytics/margin/export.csv?{PERIOD}")
    assert response.status_code == 200
    lines = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()
    assert len(lines) == 3
    assert lines[1].startswith(f"1,{shop['anker'].pk},Anker GmbH,14000.0,")
    assert ",1550.0," in lines[1]


def test_totals_waterfall_json_has_the_steps(shop, alice):
    data = client_for(alice).get(f"/analytics/margin/chart.json?{PERIOD}").json()
    steps = {s["label"]: s["value"] for s in data["steps"]}
    assert steps["Gross revenue"] == 22000
    assert steps["Sales deductions"] == -2000
    assert steps["CM IV"] == 2985
    assert len(data["option"]["series"]) == 3


def test_party_page_shows_the_waterfall_and_the_entries(shop, alice):
    anker = shop["anker"]
    response = client_for(alice).get(f"/analytics/margin/party/{anker.pk}/?{PERIOD}")
    text = response.content.decode()
    assert "Late delivery" in text
    assert "€1,550.00" in text
    assert "Overheads" in text
    assert "€3,600.00" in text
    chart = client_for(alice).get(f"/analytics/margin/party/{anker.pk}/chart.json?{PERIOD}")
    assert [s["value"] for s in chart.json()["steps"]][-1] == 1550


def test_bad_amount_gives_a_specific_error_and_keeps_the_input(shop, alice):
    anker = shop["anker"]
    url = f"/analytics/margin/party/{anker.pk}/?{PERIOD}"
    form = {"date": "2024-05-05", "category": "complaint", "amount": "-25", "note": "Broken box"}
    response = client_for(alice).post(url, form)
    assert response.status_code == 200
    text = response.content.decode()
    assert "Enter costs as a positive amount (0 or more)." in text
    assert 'value="Broken box"' in text
    assert 'value="2024-05-05"' in text
    assert CostEntry.objects.filter(party=anker).count() == 1
    response = client_for(alice).post(url, {**form, "amount": "twenty"})
    assert "Enter the amount as a number, e.g. 40.00." in response.content.decode()
    mismatch = {**form, "amount": "25", "category": "handling", "level": "fixed"}
    response = client_for(alice).post(url, mismatch)
    assert "Handling costs belong to the level Order costs (CM II)." in response.content.decode()
    assert CostEntry.objects.filter(party=anker).count() == 1


def test_a_cost_entered_by_hand_lowers_the_margin_at_once(shop, alice):
    anker = shop["anker"]
    url = f"/analytics/margin/party/{anker.pk}/?{PERIOD}"
    ranking_url = f"/analytics/margin/?{PERIOD}"
    assert client_for(alice).get(ranking_url).context["summary"]["cm4"] == 2985
    form = {"date": "2024-05-05", "category": "complaint", "amount": "25", "note": "Broken box"}
    response = client_for(alice).post(url, form)
    assert response.status_code == 302
    assert client_for(alice).get(ranking_url).context["summary"]["cm4"] == 2960
    entry = CostEntry.objects.get(note="Broken box")
    assert (entry.level, entry.amount, entry.created_by) == ("relationship", Decimal("25"), alice)
    page = client_for(alice).get(url)
    assert page.context["row"]["cm4"] == 1525
    client_for(alice).post(f"/analytics/margin/costs/{entry.pk}/delete/")
    assert not CostEntry.objects.filter(pk=entry.pk).exists()


def test_read_only_user_cannot_add_cost_entries(shop, rory):
    anker = shop["anker"]
    url = f"/analytics/margin/party/{anker.pk}/?{PERIOD}"
    page = client_for(rory).get(url)
    assert page.status_code == 200
    assert "Save cost entry" not in page.content.decode()
    form = {"date": "2024-05-05", "category": "complaint", "amount": "25"}
    assert client_for(rory).post(url, form).status_code == 403
    entry = CostEntry.objects.get(party=anker)
    assert client_for(rory).post(f"/analytics/margin/costs/{entry.pk}/delete/").status_code == 403
    # Through the API with a session (a read-only user has no writing API key).
    payload = {"party_id": anker.pk, "date": "2024-05-05", "category": "visit", "amount": "9"}
    assert post_json(client_for(rory), "/analytics/cost-entries", payload).status_code == 403
    assert CostEntry.objects.filter(party=anker).count() == 1


def test_party_panel_shows_the_last_12_months_compactly(shop, alice, monkeypatch):
    from kreis.analytics.margin import views

    monkeypatch.setattr(views.timezone, "localdate", lambda: D(2024, 6, 30))
    response = client_for(alice).get(f"/analytics/margin/party/{shop['anker'].pk}/panel/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "<html" not in text  # a fragment for the party page
    assert "CM IV" in text
    assert "€5,600.00" in text  # CM I of July 2023 to June 2024
    assert "46.7 %" in text


def test_pages_say_when_the_warehouse_is_not_there(shop, alice, monkeypatch):
    def busy(con=None):
        raise warehouse.WarehouseBusy("empty")

    monkeypatch.setattr(warehouse, "tables", busy)
    response = client_for(alice).get("/analytics/margin/")
    assert response.status_code == 503
    assert "warehouse is not available" in response.content.decode()


def test_cost_rules_are_managed_by_administrators(shop, alice, dana):
    assert client_for(alice).get("/analytics/margin/rules/").status_code == 403
    admin = client_for(dana)
    assert "Overheads" in admin.get("/analytics/margin/rules/").content.decode()
    form = {
        "name": "Service calls",
        "category": "service",
        "basis": "per_activity",
        "amount": "12.50",
        "activity_kind": "",
        "is_active": "on",
    }
    response = admin.post("/analytics/margin/rules/new/", form)
    assert "Choose which activities the rule counts." in response.content.decode()
    response = admin.post("/analytics/margin/rules/new/", {**form, "activity_kind": "call"})
    assert response.status_code == 302
    rule = CostRule.objects.get(name="Service calls")
    assert (rule.level, rule.activity_kind) == ("relationship", "call")
    admin.post(f"/analytics/margin/rules/{rule.pk}/deactivate/")
    rule.refresh_from_db()
    assert rule.is_active is False
    # Deactivated rules no longer count: without the overheads Anker keeps CM III.
    overheads = CostRule.objects.get(name="Overheads")
    admin.post(f"/analytics/margin/rules/{overheads.pk}/deactivate/")
    page = client_for(alice).get(f"/analytics/margin/party/{shop['anker'].pk}/?{PERIOD}")
    assert page.context["row"]["cm4"] == 5150


def post_json(client: Client, path: str, data: dict, method: str = "post"):
    return getattr(client, method)(f"/api/v1{path}", data, content_type="application/json")


def test_api_round_trip(shop, alice, dana, api_key_for):
    client = Client(HTTP_AUTHORIZATION=f"Bearer {api_key_for(alice)}")
    ranked = client.get(f"/api/v1/analytics/margins?{PERIOD}&level=cm1").json()
    assert ranked["count"] == 2
    assert [r["name"] for r in ranked["items"]] == ["Anker GmbH", "Berger KG"]
    assert ranked["items"][0]["cm1"] == 5600
    assert ranked["totals"]["cm4"] == 2985

    anker = shop["anker"]
    steps = client.get(f"/api/v1/analytics/margins/{anker.pk}?{PERIOD}").json()["steps"]
    assert steps[-1] == {**steps[-1], "label": "CM IV", "value": 1550.0}
    suedwind = shop["suedwind"].pk
    assert client.get(f"/api/v1/analytics/margins/{suedwind}?{PERIOD}").status_code == 404

    payload = {"party_id": anker.pk, "date": "2024-06-01", "category": "shipping", "amount": "7"}
    created = post_json(client, "/analytics/cost-entries", payload)
    assert created.status_code == 201
    assert created.json()["level"] == "order"
    listed = client.get(f"/api/v1/analytics/cost-entries?party_id={anker.pk}").json()
    assert {e["category"] for e in listed["items"]} == {"complaint", "shipping"}
    figures = client.get(f"/api/v1/analytics/margins/{anker.pk}?{PERIOD}").json()["figures"]
    assert figures["order_costs"] == 17
    bad = post_json(client, "/analytics/cost-entries", {**payload, "amount": "-1"})
    assert bad.status_code == 422
    entry_id = created.json()["id"]
    assert client.delete(f"/api/v1/analytics/cost-entries/{entry_id}").status_code == 204
    assert client.get(f"/api/v1/analytics/cost-entries/{entry_id}").status_code == 404

    rule = {"name": "Shipping", "category": "shipping", "basis": "per_line", "amount": "1.50"}
    assert post_json(client, "/analytics/cost-rules", rule).status_code == 403
    admin = Client(HTTP_AUTHORIZATION=f"Bearer {api_key_for(dana)}")
    made = post_json(admin, "/analytics/cost-rules", rule)
    assert made.status_code == 201
    assert made.json()["level"] == "order"
    rule_id = made.json()["id"]
    patched = post_json(admin, f"/analytics/cost-rules/{rule_id}", {"amount": "2.00"}, "patch")
    assert patched.json()["amount"] == "2.00"
    figures = client.get(f"/api/v1/analytics/margins/{anker.pk}?{PERIOD}").json()["figures"]
    assert figures["order_costs"] == 10 + 3 * 2.0  # three non-return lines of Anker
    assert admin.delete(f"/api/v1/analytics/cost-rules/{rule_id}").status_code == 204
    assert CostRule.objects.get(pk=rule_id).is_active is False
