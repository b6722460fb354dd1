"""Figures end to end (DOMAIN.md §2, §7.1, §7.2, §7.5): orders with discounts and returns
entered through the commerce services go through a run; ABC, contribution margins I–IV, the
lifecycle phase of one-time buyers and the total CLV with the value of the next 12 months then
equal numbers computed here by hand or independently.

The independent CLV: FHL (2005) eq. 10 evaluated directly with scipy's hyp2f1 in *months*
(α per month = α per model unit ÷ model units per month; t_x and T converted likewise), times
Gamma-Gamma's E[M | x, zbar] (Fader & Hardie 2013), each month discounted at the monthly rate
that compounds to the yearly one, (1 + y)^(1/12) − 1. Kreis computes in days or weeks. The
numbers pinned in ``LIFETIMES`` came from lifetimes 0.11.3 (``customer_lifetime_value`` with
freq "M" on the same histories converted to months, the same fitted parameters).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from scipy import special

from kreis.analytics.customer.models import ClvFit, CustomerValue
from kreis.analytics.runs import pipeline
from kreis.analytics.runs.models import AnalyticsSettings
from kreis.commerce import services as commerce
from kreis.commerce.models import Product
from kreis.parties.models import Party, PartyKind, PartyRole, PartyRoleAssignment
from tests.conftest import client_for

TODAY = dt.date(2026, 6, 30)
END = TODAY - dt.timedelta(days=1)  # calibration end: yesterday
DAYS_PER_MONTH = 365.25 / 12

# Margin per purchase day, by days before the calibration end (free lines: no cost, so the
# margin is the revenue). Customer 10 buys a product with discounts and returns one item.
HISTORIES = {
    1: [(300, 40), (250, 55), (180, 35), (120, 60), (40, 50)],
    2: [(200, 120), (20, 80)],
    3: [(330, 25)],
    4: [(310, 30), (290, 30), (100, 45)],
    5: [(150, 70)],
    6: [(360, 20), (200, 35), (150, 15), (90, 25), (60, 30), (10, 40)],
    7: [(280, 90), (140, 110)],
    8: [(90, 60)],
    9: [(340, 15), (330, 20)],
    11: [(60, 35), (30, 45)],
    12: [(365, 50)],
}


def before_end(days: int) -> dt.date:
    return END - dt.timedelta(days=days)


def _customer(number: int) -> Party:
    party = Party.objects.create(kind=PartyKind.ORGANIZATION, name=f"Customer {number:02d}")
    PartyRoleAssignment.objects.create(party=party, role=PartyRole.CUSTOMER)
    return party


def _free_line(amount: int) -> dict:
    return {"description": "Service", "quantity": Decimal(1), "unit_price": Decimal(amount)}


@pytest.fixture
def shop(db, settings, tmp_path):
    settings.KREIS_WAREHOUSE = f"duckdb://{tmp_path}/warehouse.duckdb"
    parties = {}
    for number, purchases in HISTORIES.items():
        parties[number] = party = _customer(number)
        for days, amount in purchases:
            commerce.transaction_create(
                actor=None,
                party=party,
                kind="order",
                date=before_end(days),
                lines=[_free_line(amount)],
            )
    # Customer 10: a product at 100 that costs 40; discounts on each order, one item returned.
    parties[10] = party = _customer(10)
    product = Product.objects.create(
        sku="P-100", name="Pump", list_price=Decimal(100), unit_cost=Decimal(40)
    )

    def line(quantity: int, discount: int) -> dict:
        return {"product": product, "quantity": Decimal(quantity), "discount": Decimal(discount)}

    for days, kind, quantity, discount in (
        (250, "order", 4, 40),  # net 360, cost 160: margin 200
        (210, "order", 4, 60),  # net 340, cost 160: margin 180 …
        (190, "return", 1, 30),  # … less the return: net 70, cost 40: margin 30 → 150
        (170, "order", 6, 100),  # net 500, cost 240: margin 260
    ):
        commerce.transaction_create(
            actor=None,
            party=party,
            kind=kind,
            date=before_end(days),
            lines=[line(quantity, discount)],
        )
    return parties


def expected_purchases(t, x, t_x, T, r, alpha, a, b):  # noqa: N803
    """E[Y(t) | x, t_x, T], FHL (2005) eq. 10, as printed."""
    z = t / (alpha + T + t)
    head = (a + b + x - 1) / (a - 1)
    body = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * special.hyp2f1(
        r + x, b + x, a + b + x - 1, z
    )
    alive = 1 + (x > 0) * a / (b + max(x, 1) - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x)
    return head * body / alive


def reference_clv(fit: ClvFit, *, x, t_x, T, margin, months):  # noqa: N803
    """Σ_m (E[Y(m)] − E[Y(m−1)]) · margin / (1 + d)^m in months; x, t_x, T in days."""
    unit_days = {"days": 1.0, "weeks": 7.0}[fit.time_unit]
    per_month = DAYS_PER_MONTH / unit_days
    alpha = fit.alpha / per_month  # the rate's scale in months
    t_x, T = t_x / DAYS_PER_MONTH, T / DAYS_PER_MONTH  # noqa: N806
    monthly = (1 + float(fit.discount_rate_yearly) / 100) ** (1 / 12) - 1
    total, previous = 0.0, 0.0
    for month in range(1, months + 1):
        cumulative = expected_purchases(month, x, t_x, T, fit.r, alpha, fit.a, fit.b)
        total += (cumulative - previous) * margin / (1 + monthly) ** month
        previous = cumulative
    return total


def gamma_gamma_mean(fit: ClvFit, *, x: float, zbar: float) -> float:
    """E[M | x, zbar] = p(γ + x·zbar) / (px + q − 1)."""
    return fit.p * (fit.gamma + x * zbar) / (fit.p * x + fit.q - 1)


# Customer: (x, t_x, T in days, zbar, historical value). Customer 10's return nets against
# the purchase before it (day −210: 180 − 30 = 150), as in the historical value.
THREE = {
    1: (4, 260, 300, 50.0, Decimal("240.00")),
    10: (2, 80, 250, 205.0, Decimal("610.00")),
    3: (0, 0, 330, None, Decimal("25.00")),
}
# lifetimes 0.11.3 on the days fit (r 2.8328, α 449.95, a 0.040794, b 0.21542; p 17.316,
# q 2.6763, γ 7.1422): next 12 months and the residual of 10 years at 10 % a year.
LIFETIMES = {1: (154.71, 1001.20), 10: (413.76, 2654.48), 3: (84.91, 503.68)}


@pytest.mark.parametrize("unit", ["days", "weeks"])
def test_total_clv_and_next_12_months_equal_an_independent_calculation(shop, unit):
    AnalyticsSettings.objects.update_or_create(
        pk=1,
        defaults={
            "time_unit": unit,
            "horizon_years": 10,
            "discount_rate_yearly": Decimal("10.00"),
            "min_clv_customers": 5,
        },
    )
    assert pipeline.run(as_of=TODAY).status == "done"
    fit = ClvFit.objects.get()
    assert (fit.time_unit, fit.horizon_months, fit.bgnbd_converged) == (unit, 120, True)
    for number, (x, t_x, age, zbar, historical) in THREE.items():
        party = Party.objects.get(pk=shop[number].pk)
        value = CustomerValue.objects.get(party=party)
        if x:
            margin, basis = gamma_gamma_mean(fit, x=x, zbar=zbar), "model"
        else:
            margin, basis = fit.p * fit.gamma / (fit.q - 1), "population"
        history = {"x": x, "t_x": t_x, "T": age, "margin": margin}
        next_12 = reference_clv(fit, months=12, **history)
        residual = reference_clv(fit, months=120, **history)
        assert party.historical_value == historical
        assert value.margin_basis == basis
        assert float(value.next_12_months) == pytest.approx(next_12, abs=0.006)
        assert float(value.residual) == pytest.approx(residual, abs=0.006)
        assert float(party.clv) == pytest.approx(float(historical) + residual, abs=0.011)
        # The same figures as lifetimes' customer_lifetime_value, to the cent.
        pinned_12, pinned_residual = LIFETIMES[number]
        assert float(value.next_12_months) == pytest.approx(pinned_12, abs=0.011)
        assert float(value.residual) == pytest.approx(pinned_residual, abs=0.011)


def test_abc_and_contribution_margins_follow_discounts_and_returns(shop, dana):
    """Revenue of the last 12 months (ABC by revenue, 80/95 %): customer 10 has 1,400 gross −
    200 discounts − 70 returned = 1,130 of 2,310 in all; customer 12 bought 366 days ago."""
    client = client_for(dana)
    for rule in (
        {"name": "Picking", "category": "handling", "basis": "per_order", "amount": "10"},
        {"name": "Account", "category": "fixed", "basis": "per_customer", "amount": "120"},
    ):
        assert (
            client.post("/api/v1/analytics/cost-rules", rule, "application/json").status_code == 201
        )
    visit = {"party_id": shop[10].pk, "date": "2026-05-04", "category": "visit", "amount": "50"}
    assert (
        client.post("/api/v1/analytics/cost-entries", visit, "application/json").status_code == 201
    )
    assert pipeline.run(as_of=TODAY).status == "done"
    classes = {n: Party.objects.get(pk=p.pk).abc_class for n, p in shop.items()}
    # Sorted: 10 (1130), 1 (240), 2 and 7 (200), 6 (165) → A; 4 (105), 11 (80), 5 (70),
    # 8 (60; 2,190 before it, below 95 % = 2,194.50) → B; 9, 3 and 12 → C.
    assert classes == {
        1: "A", 2: "A", 7: "A", 6: "A", 10: "A",
        4: "B", 11: "B", 5: "B", 8: "B",
        9: "C", 3: "C", 12: "C",
    }  # fmt: skip
    start = (TODAY - dt.timedelta(days=364)).isoformat()
    figures = client.get(
        f"/api/v1/analytics/margins/{shop[10].pk}?start={start}&end={TODAY.isoformat()}"
    ).json()["figures"]
    # 3 orders × 10 handling; visit 50; 120 a year for the account over 12 months.
    assert {key: figures[key] for key in (
        "gross_revenue", "discounts", "returns", "net_revenue", "cogs",
        "cm1", "order_costs", "cm2", "relationship_costs", "cm3", "fixed_costs", "cm4",
    )} == {
        "gross_revenue": 1400.0, "discounts": 200.0, "returns": 70.0, "net_revenue": 1130.0,
        "cogs": 520.0, "cm1": 610.0, "order_costs": 30.0, "cm2": 580.0,
        "relationship_costs": 50.0, "cm3": 530.0, "fixed_costs": 120.0, "cm4": 410.0,
    }  # fmt: skip
    # CM I to date is the historical value the CLV starts from.
    assert Party.objects.get(pk=shop[10].pk).historical_value == Decimal("610.00")


def test_one_time_buyers_are_endangered_after_twice_the_median_repeat_interval(shop, dana):
    """Repeat customers' usual intervals (days): 65, 180, 105, 70, 140, 10, 40, 30 → median
    67.5, twice that 135. One-time buyers: 3 (331 days ago) and 5 (151) are endangered, 8 (91)
    is new, 12 (366) abstinent."""
    assert pipeline.run(as_of=TODAY).status == "done"
    got = {n: Party.objects.get(pk=shop[n].pk) for n in (3, 5, 8, 12)}
    assert {n: (p.lifecycle_phase, p.lifecycle_reason) for n, p in got.items()} == {
        3: ("endangerment", "endangerment.one_purchase"),
        5: ("endangerment", "endangerment.one_purchase"),
        8: ("socialization", "socialization.new"),
        12: ("abstinence", "abstinence.no_purchase"),
    }
    assert got[3].lifecycle_facts["median"] == 68  # 67.5, shown in whole days
    page = client_for(dana).get(f"/analytics/party/{shop[3].pk}/figures/").content.decode()
    assert (
        "Endangerment: one purchase only, 331 days ago; repeat customers buy every 68 days "
        "(median), and 2 × that has passed" in page
    )


def test_a_customer_with_a_non_positive_mean_margin_is_valued_at_their_own_mean(shop, dana):
    """Customer 13 buys three times at a loss of 20; customer 14 buys twice at a margin of 50
    and returns goods worth 60 of margin after the second purchase, which leaves the repeat
    purchase at −10. Neither gets the Gamma-Gamma estimate (it is positive for everyone)."""
    loss = Product.objects.create(
        sku="L-10", name="Loss leader", list_price=Decimal(10), unit_cost=Decimal(30)
    )
    thirteen, fourteen = _customer(13), _customer(14)
    for days in (200, 120, 50):
        commerce.transaction_create(
            actor=None,
            party=thirteen,
            kind="order",
            date=before_end(days),
            lines=[{"product": loss, "quantity": Decimal(1)}],
        )
    for days, kind, amount in ((150, "order", 50), (100, "order", 50), (90, "return", 60)):
        commerce.transaction_create(
            actor=None, party=fourteen, kind=kind, date=before_end(days), lines=[_free_line(amount)]
        )
    AnalyticsSettings.objects.update_or_create(pk=1, defaults={"min_clv_customers": 5})
    assert pipeline.run(as_of=TODAY).status == "done"
    fit = ClvFit.objects.get()
    for party, (x, t_x, age, mean, historical) in (
        (thirteen, (2, 150, 200, -20.0, Decimal("-60.00"))),
        (fourteen, (1, 50, 150, -10.0, Decimal("40.00"))),
    ):
        party.refresh_from_db()
        value = CustomerValue.objects.get(party=party)
        residual = reference_clv(fit, x=x, t_x=t_x, T=age, margin=mean, months=120)
        assert (value.margin_basis, value.expected_margin) == ("own_mean", pytest.approx(mean))
        assert party.historical_value == historical
        assert residual < 0
        assert float(value.residual) == pytest.approx(residual, abs=0.006)
        assert float(party.clv) == pytest.approx(float(historical) + residual, abs=0.011)
        assert float(value.next_12_months) < 0
    page = client_for(dana).get(f"/analytics/party/{thirteen.pk}/figures/").content.decode()
    assert "Valued at their own mean margin of -€20.00 per purchase, which is not positive" in page
    api = client_for(dana).get(f"/api/v1/organizations/{thirteen.pk}").json()["figures"]
    assert api["clv_margin_basis"] == "own_mean"
    assert Decimal(str(api["clv_next_12_months"])) == value_of(thirteen).next_12_months


def value_of(party: Party) -> CustomerValue:
    return CustomerValue.objects.get(party=party)


@pytest.mark.django_db
def test_a_fit_on_its_bound_says_so_in_the_api_and_on_the_page(settings, tmp_path, dana):
    """Ten customers who all keep buying at their own steady rhythm: nobody ever drops out, so
    BG/NBD's a runs to its bound (a → 0)."""
    settings.KREIS_WAREHOUSE = f"duckdb://{tmp_path}/warehouse.duckdb"
    for number in range(10):
        party = _customer(number)
        purchases, gap = 6 + number % 4, 30 + 3 * number
        first = gap * (purchases - 1) + 5 + number
        for k in range(purchases):
            commerce.transaction_create(
                actor=None,
                party=party,
                kind="order",
                date=before_end(first - k * gap),
                lines=[_free_line(20 + 7 * number)],
            )
    AnalyticsSettings.objects.update_or_create(pk=1, defaults={"min_clv_customers": 5})
    assert pipeline.run(as_of=TODAY).status == "done"
    body = client_for(dana).get("/api/v1/analytics/clv").json()
    assert body["converged"] is False
    assert body["bgnbd"]["converged"] is False
    assert body["reason"].startswith("BG/NBD: a parameter ran to its bound (")
    page = client_for(dana).get("/analytics/clv/").content.decode()
    assert 'data-testid="clv-not-converged"' in page
    assert "did not converge" in page
    dana.language = "de"
    dana.save()
    page = client_for(dana).get("/analytics/clv/").content.decode()
    assert "nicht konvergiert" in page


def test_the_party_list_and_api_filter_and_sort_by_the_clv_figures(shop, dana):
    AnalyticsSettings.objects.update_or_create(pk=1, defaults={"min_clv_customers": 5})
    pipeline.run(as_of=TODAY)
    client = client_for(dana)
    ranked = client.get("/api/v1/organizations?sort=-clv_next_12&page_size=3").json()["items"]
    twelve = [Decimal(str(row["figures"]["clv_next_12_months"])) for row in ranked]
    assert twelve == sorted(twelve, reverse=True)
    assert ranked[0]["name"] == "Customer 10"
    assert ranked[0]["figures"]["clv_margin_basis"] == "model"
    one_time = client.get("/api/v1/organizations?clv_basis=population").json()["items"]
    assert sorted(row["name"] for row in one_time) == [
        "Customer 03", "Customer 05", "Customer 08", "Customer 12"
    ]  # fmt: skip
    rich = client.get("/api/v1/organizations?clv_min=1000").json()["items"]
    assert all(Decimal(str(row["figures"]["clv"])) >= 1000 for row in rich)
    assert "Customer 10" in {row["name"] for row in rich}
    assert client.get("/api/v1/organizations?clv_min=abc").status_code == 422
    page = client.get("/parties/?clv_next_12_min=400&sort=-clv_next_12").content.decode()
    assert "Customer 10" in page
    assert "Customer 01" not in page
    export = b"".join(client.get("/parties/export.csv?clv_basis=own_mean").streaming_content)
    header = export.decode("utf-8-sig").splitlines()[0]
    assert ",abc_class,lifecycle_phase,historical_value,clv,clv_next_12_months," in header
    assert header.endswith(",last_nps,last_csat,last_loyalty")  # the survey scores after them


def test_every_threshold_is_a_validated_setting(dana):
    client = client_for(dana)
    changes = {
        "horizon_years": 5,
        "min_clv_customers": 20,
        "min_repeat_purchases": 3,
        "detractor_days": 60,
        "engagement_half_life_days": 14,
        "portfolio_share_split": 40,
        "portfolio_attractiveness_split": 60,
    }
    body = client.patch("/api/v1/analytics/settings", changes, "application/json").json()
    assert {key: body[key] for key in changes} == changes
    for bad in (
        {"horizon_years": 0},
        {"min_clv_customers": 1},
        {"min_repeat_purchases": 1},
        {"engagement_half_life_days": 0},
        {"portfolio_attractiveness_split": 101},
    ):
        response = client.patch("/api/v1/analytics/settings", bad, "application/json")
        assert response.status_code == 422, bad
    page = client.get("/analytics/settings/").content.decode()
    for label in ("CLV horizon (years)", "engagement half-life (days)", "portfolio split"):
        assert label.lower() in page.lower()
    portfolio = client.get("/api/v1/analytics/portfolio").json()
    assert (portfolio["x_split"], portfolio["y_split"]) == (0.4, 60.0)
