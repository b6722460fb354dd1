"""The analytics pages as a rep, a read-only user and an administrator see them."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from kreis.analytics.models import PhaseChange
from kreis.analytics.runs import pipeline
from kreis.commerce.models import Transaction, TransactionLine
from kreis.parties.models import Party, PartyRole, PartyRoleAssignment
from kreis.sales.models import Deal, StageKind
from tests.conftest import client_for
from tests.parties.factories import OrganizationFactory
from tests.sales.factories import DealFactory, default_pipeline

pytestmark = pytest.mark.django_db


def _customer(name: str, user, team) -> Party:
    party = OrganizationFactory(name=name, owner=user, team=team)
    PartyRoleAssignment.objects.create(party=party, role=PartyRole.CUSTOMER)
    return party


def _sale(party: Party, days_ago: int, amount: int) -> None:
    day = timezone.localdate() - dt.timedelta(days=days_ago)
    value = Decimal(amount)
    txn = Transaction.objects.create(
        kind="invoice",
        party=party,
        date=day,
        net_revenue=value,
        cost=value * Decimal("0.6"),
        owner=party.owner,
        team=party.team,
    )
    TransactionLine.objects.create(
        transaction=txn,
        quantity=1,
        unit_price=value,
        net_revenue=value,
        cost=value * Decimal("0.6"),
    )


@pytest.fixture
def world(settings, tmp_path, alice, bob, charlie, north, south):
    """Alice's team North has seven customers, Charlie's South two big ones.

    Nine customers in all: fewer than the CLV fit needs, so the run skips it."""
    settings.KREIS_WAREHOUSE = f"duckdb://{tmp_path}/w.duckdb"
    north_parties = []
    for i, amount in enumerate([50_000, 20_000, 9_000, 5_000, 3_000, 1_500]):
        party = _customer(f"North {i}", alice, north)
        for k in range(4):
            _sale(party, 20 + 60 * k + i, amount // 4)
        north_parties.append(party)
    sleeper = _customer("North sleeper", alice, north)
    _sale(sleeper, 500, 700)
    _sale(sleeper, 450, 700)
    south_parties = [_customer(f"South {i}", charlie, south) for i in range(2)]
    for party in south_parties:
        _sale(party, 15, 900_000)
        _sale(party, 45, 900_000)

    stages = default_pipeline().stages
    DealFactory(owner=alice, team=north, amount=5000)
    won = DealFactory(
        owner=alice, team=north, amount=7000, stage=stages.filter(kind=StageKind.WON).first()
    )
    lost = DealFactory(
        owner=alice, team=north, amount=2000, stage=stages.filter(kind=StageKind.LOST).first()
    )
    DealFactory(owner=charlie, team=south, amount=99_000)
    now = timezone.now()
    Deal.objects.filter(pk=won.pk).update(
        created_at=now - dt.timedelta(days=30), closed_at=now - dt.timedelta(days=10)
    )
    Deal.objects.filter(pk=lost.pk).update(closed_at=now - dt.timedelta(days=5))

    pipeline.run()
    return {"north": north_parties, "sleeper": sleeper, "south": south_parties}


def _json(response) -> dict:
    assert response.status_code == 200
    return json.loads(response.content)


def test_dashboard_shows_kpis_of_visible_deals_and_customers(world, alice):
    response = client_for(alice).get(reverse("analytics:dashboard"))
    assert response.status_code == 200
    kpis = response.context["kpis"]
    assert kpis["open_pipeline_count"] == 1
    assert kpis["open_pipeline_amount"] == 5000
    assert kpis["win_rate_pct"] == 50.0
    assert kpis["avg_sales_cycle_days"] == pytest.approx(20.0, abs=0.1)
    assert kpis["customers"] == 7
    # The sleeper has not bought for over a year: abstinent, counted as churned.
    assert kpis["churned"] == 1
    # North's revenue only, not Charlie's 3.6 million.
    assert kpis["revenue_12m"] == pytest.approx(88_500, rel=0.01)
    content = response.content.decode()
    assert "Run analytics now" not in content
    assert "50.0 %" in content
    assert "1 of 7 customers to abstinence or dissolution" in content


def test_admin_sees_run_button_and_all_revenue(world, dana):
    response = client_for(dana).get(reverse("analytics:dashboard"))
    assert "Run analytics now" in response.content.decode()
    assert response.context["kpis"]["revenue_12m"] > 3_600_000


def test_phase_chart_drills_down_to_filtered_party_list(world, alice):
    option = _json(client_for(alice).get(reverse("analytics:chart", args=["phases"])))["option"]
    urls = [point["url"] for point in option["series"][0]["data"]]
    assert f"{reverse('parties:list')}?lifecycle_phase=abstinence" in urls
    abc = _json(client_for(alice).get(reverse("analytics:chart", args=["abc-mix"])))["option"]
    assert {p["url"] for p in abc["series"][0]["data"]} == {
        f"{reverse('parties:list')}?abc_class={c}" for c in "ABC"
    }


def test_chart_csv_has_a_row_per_month(world, alice):
    response = client_for(alice).get(
        reverse("analytics:chart", args=["revenue"]), {"format": "csv"}
    )
    lines = b"".join(response.streaming_content).decode("utf-8-sig").strip().splitlines()
    assert lines[0] == "Month,Net revenue"
    assert len(lines) == 25
    # 24 months: the sleeper's two purchases 15 and 16 months ago count too.
    total = sum(float(line.split(",")[1]) for line in lines[1:])
    assert total == pytest.approx(88_500 + 1_400, rel=0.001)


def test_unknown_chart_is_404(world, alice):
    assert client_for(alice).get(reverse("analytics:chart", args=["nope"])).status_code == 404


def test_abc_counts_only_visible_customers(world, alice, charlie):
    summary = client_for(alice).get(reverse("analytics:abc")).context["summary"]
    counts = {row["abc_class"]: row["customers"] for row in summary}
    # Charlie's two customers hold almost all revenue: every North customer is C to the run;
    # the sleeper bought nothing in the last 12 months and is not ranked.
    assert counts == {"A": 0, "B": 0, "C": 6}
    charlie_counts = {
        row["abc_class"]: row["customers"]
        for row in client_for(charlie).get(reverse("analytics:abc")).context["summary"]
    }
    assert sum(charlie_counts.values()) == 2
    assert charlie_counts["A"] >= 1


def test_pareto_has_a_bar_per_visible_customer_and_thresholds(world, alice):
    url = reverse("analytics:chart", args=["abc-pareto"])
    option = _json(client_for(alice).get(url, {"months": "24"}))["option"]
    bars, line = option["series"]
    assert len(bars["data"]) == 7
    assert line["data"][-1] == pytest.approx(100.0)
    assert [m["yAxis"] for m in line["markLine"]["data"]] == [80.0, 95.0]


def test_rfm_page_lists_segments_and_grid_counts(world, alice):
    response = client_for(alice).get(reverse("analytics:rfm"))
    segments = {s["segment"]: s for s in response.context["segments"]}
    assert sum(s["customers"] for s in segments.values()) == 7
    option = _json(client_for(alice).get(reverse("analytics:chart", args=["rfm"])))["option"]
    cells = option["series"][0]["data"]
    assert len(cells) == 25
    assert sum(cell["value"][2] for cell in cells) == 7
    assert all(cell["url"].startswith(reverse("parties:list") + "?rfm_segment=") for cell in cells)


def test_lifecycle_page_shows_transition_with_reason(world, alice):
    response = client_for(alice).get(reverse("analytics:lifecycle"))
    content = response.content.decode()
    assert "North sleeper" in content
    assert "South 0" not in content
    option = _json(client_for(alice).get(response.context["sankey_url"]))["option"]
    assert sum(link["value"] for link in option["series"][0]["links"]) == 7


def test_override_sets_phase_and_survives_the_next_run(world, alice):
    sleeper = world["sleeper"]
    url = reverse("analytics:phase_override", args=[sleeper.pk])
    response = client_for(alice).post(url, {"phase": "maturity", "note": "Framework contract"})
    assert response.status_code == 302
    assert response["Location"] == reverse("parties:detail", args=[sleeper.pk])
    sleeper.refresh_from_db()
    assert sleeper.lifecycle_phase == "maturity"
    assert sleeper.lifecycle_override
    change = PhaseChange.objects.get(party=sleeper, manual=True)
    assert (change.from_phase, change.to_phase, change.changed_by) == (
        "abstinence",
        "maturity",
        alice,
    )
    assert change.note == "Framework contract"

    pipeline.run()
    sleeper.refresh_from_db()
    assert sleeper.lifecycle_phase == "maturity"

    client_for(alice).post(url, {"lift": "1"})
    pipeline.run()
    sleeper.refresh_from_db()
    assert not sleeper.lifecycle_override
    assert sleeper.lifecycle_phase == "abstinence"


def test_read_only_user_cannot_override(world, rory):
    sleeper = world["sleeper"]
    url = reverse("analytics:phase_override", args=[sleeper.pk])
    assert client_for(rory).post(url, {"phase": "maturity"}).status_code == 403
    sleeper.refresh_from_db()
    assert sleeper.lifecycle_phase == "abstinence"


def test_outsider_cannot_override_charlies_customer(world, alice):
    party = world["south"][0]
    url = reverse("analytics:phase_override", args=[party.pk])
    assert client_for(alice).post(url, {"phase": "maturity"}).status_code == 404


def test_portfolio_explains_missing_potential_and_score(world, alice):
    content = client_for(alice).get(reverse("analytics:portfolio")).content.decode()
    assert "7 customers have no purchasing potential and are left out" in content
    assert reverse("analytics:scoring_list") in content


def test_portfolio_lists_star_customer(world, alice):
    star = world["north"][0]
    Party.objects.filter(pk=star.pk).update(purchasing_potential=60_000, score=80)
    response = client_for(alice).get(reverse("analytics:portfolio"))
    stars = response.context["data"]["quadrants"][0]
    assert (stars["key"], stars["count"]) == ("stars", 1)
    assert "North 0" in response.content.decode()
    option = _json(client_for(alice).get(response.context["chart_url"]))["option"]
    assert option["series"][0]["data"][0]["url"] == reverse("parties:detail", args=[star.pk])


def test_clv_page_without_a_fit_says_so(world, alice):
    content = client_for(alice).get(reverse("analytics:clv")).content.decode()
    assert "No model has been fitted yet" in content


def test_pages_need_login(client):
    response = client.get(reverse("analytics:dashboard"))
    assert response.status_code == 302


# --- API ----------------------------------------------------------------------------------------


def _api(user, api_key_for, scope="read_write"):
    from django.test import Client

    return Client(HTTP_AUTHORIZATION=f"Bearer {api_key_for(user, scope)}")


def test_api_abc_counts_and_customer_page(world, charlie, api_key_for):
    response = _api(charlie, api_key_for).get(
        "/api/v1/analytics/abc", {"customers": "true", "page_size": 1}
    )
    body = _json(response)
    assert sum(row["customers"] for row in body["classes"]) == 2
    assert body["customers"]["count"] == 2
    assert len(body["customers"]["items"]) == 1
    assert body["customers"]["items"][0]["rank"] == 1


def test_api_rfm_phases_portfolio_dashboard(world, alice, api_key_for):
    client = _api(alice, api_key_for)
    rfm = _json(client.get("/api/v1/analytics/rfm"))
    assert sum(map(sum, rfm["grid"])) == 7
    phases = _json(client.get("/api/v1/analytics/phases"))
    assert sum(p["customers"] for p in phases["phases"]) == 7
    assert sum(t["count"] for t in phases["transitions"]) == 7
    assert phases["month"] == timezone.localdate().strftime("%Y-%m")
    assert client.get("/api/v1/analytics/phases", {"month": "2026-13"}).status_code in (400, 422)
    portfolio = _json(client.get("/api/v1/analytics/portfolio"))
    assert [q["key"] for q in portfolio["quadrants"]] == [
        "stars",
        "question_marks",
        "cash_cows",
        "dogs",
    ]
    kpis = _json(client.get("/api/v1/analytics/dashboard"))
    assert kpis["open_pipeline_count"] == 1


def test_api_portfolio_places_customer_with_potential_and_score(world, alice, api_key_for):
    star = world["north"][0]
    Party.objects.filter(pk=star.pk).update(purchasing_potential=60_000, score=80)
    portfolio = _json(_api(alice, api_key_for).get("/api/v1/analytics/portfolio"))
    stars = next(q for q in portfolio["quadrants"] if q["key"] == "stars")
    assert [c["id"] for c in stars["customers"]] == [star.pk]
    assert portfolio["parties"] == 1


def test_api_phase_override_and_lift(world, alice, rory, api_key_for):
    sleeper = world["sleeper"]
    url = f"/api/v1/analytics/parties/{sleeper.pk}/phase-override"
    denied = _api(rory, api_key_for, "read").put(
        url, {"phase": "growth"}, content_type="application/json"
    )
    assert denied.status_code in (403, 404)
    body = _json(
        _api(alice, api_key_for).put(
            url, {"phase": "growth", "note": "New contract"}, content_type="application/json"
        )
    )
    assert (body["lifecycle_phase"], body["lifecycle_override"]) == ("growth", True)
    assert PhaseChange.objects.filter(party=sleeper, manual=True, to_phase="growth").exists()
    body = _json(_api(alice, api_key_for).delete(url))
    assert body["lifecycle_override"] is False


@pytest.fixture
def many(settings, tmp_path, alice, north):
    """Sixty customers of Alice with a year of purchases of varying rhythm and amount."""
    import numpy as np

    settings.KREIS_WAREHOUSE = f"duckdb://{tmp_path}/w.duckdb"
    rng = np.random.default_rng(7)
    for i in range(60):
        party = _customer(f"Buyer {i:02d}", alice, north)
        mean = rng.gamma(6.0, 50.0)
        days = rng.choice(np.arange(5, 700), size=int(rng.integers(2, 11)), replace=False)
        for day in days:
            _sale(party, int(day), int(max(10, rng.normal(mean, mean * 0.3))))
    pipeline.run()


def test_clv_page_shows_fit_and_top_customers(many, alice):
    response = client_for(alice).get(reverse("analytics:clv"))
    content = response.content.decode()
    fit = response.context["fit"]
    assert fit is not None
    assert f"{fit.r:.4f}" in content
    top = list(response.context["top"])
    assert len(top) == 20
    assert [p.clv for p in top] == sorted((p.clv for p in top), reverse=True)
    histogram = client_for(alice).get(reverse("analytics:chart", args=["clv"]), {"format": "csv"})
    rows = b"".join(histogram.streaming_content).decode("utf-8-sig").strip().splitlines()[1:]
    assert len(rows) == 10
    assert (
        sum(int(row.split(",")[2]) for row in rows)
        == Party.objects.filter(clv__isnull=False).count()
    )


def test_pareto_is_downsampled_keeping_the_last_customer(world, alice):
    from kreis.analytics.reports import customer_charts

    params = customer_charts.abc_params({"months": "24"}, timezone.localdate())
    chart = customer_charts.abc_pareto(alice, params, points=3)
    assert [row[1] for row in chart.rows] == [1, 4, 7]
    assert chart.rows[-1][3] == pytest.approx(1.0)


def test_win_back_shows_on_dashboard(world, alice):
    sleeper = world["sleeper"]
    today = timezone.localdate()
    Party.objects.filter(pk=sleeper.pk).update(lifecycle_since=today - dt.timedelta(days=30))
    _sale(sleeper, 1, 500)
    pipeline.run()
    sleeper.refresh_from_db()
    assert sleeper.lifecycle_phase == "socialization"
    kpis = client_for(alice).get(reverse("analytics:dashboard")).context["kpis"]
    assert (kpis["won_back"], kpis["abstinent"], kpis["win_back_rate_pct"]) == (1, 1, 100.0)
    option = _json(client_for(alice).get(reverse("analytics:chart", args=["churn"])))["option"]
    churned, won_back = option["series"]
    assert (churned["data"][-1], won_back["data"][-1]) == (1, 1)


# --- What a user notices: no data, German numbers, readable charts -----------------------------


def _german(user):
    user.language = "de"
    user.save(update_fields=["language"])
    return client_for(user)


def test_every_chart_says_in_the_users_language_when_it_has_no_data(world, alice):
    """charts.js shows the element's data-empty text instead of bare axes."""
    english = client_for(alice).get(reverse("analytics:dashboard")).content.decode()
    assert english.count(
        'data-empty="No data for this period yet — run the analysis or widen the period."'
    ) == english.count("data-chart=")
    german = _german(alice).get(reverse("analytics:abc")).content.decode()
    assert 'data-empty="Für diesen Zeitraum gibt es noch keine Daten' in german


def test_churn_chart_is_empty_without_phase_changes_and_drawn_at_zero_with_them(world, alice):
    url = reverse("analytics:chart", args=["churn"])
    assert _json(client_for(alice).get(url))["empty"] is False  # the run classified phases
    PhaseChange.objects.all().delete()
    assert _json(client_for(alice).get(url))["empty"] is True


def test_sankey_links_name_their_nodes_by_id_and_nodes_show_their_phase(world, alice):
    """ECharts resolves a link's ends by node id when nodes have ids: by name it drew none."""
    response = client_for(alice).get(reverse("analytics:lifecycle"))
    series = _json(client_for(alice).get(response.context["sankey_url"]))["option"]["series"][0]
    ids = {node["id"] for node in series["data"]}
    assert series["links"]
    assert all(link["source"] in ids and link["target"] in ids for link in series["links"])
    labels = {node["label"]["formatter"] for node in series["data"]}
    assert "New ›" in labels
    assert not any(":" in label for label in labels)


def test_portfolio_split_is_a_percentage_the_browser_can_read_in_german(world, alice):
    """A number input's value must not be localised: “32,5” would show as an empty field."""
    response = _german(alice).get(reverse("analytics:portfolio"), {"share": "32.5"})
    assert b'name="share" value="32.5"' in response.content
    assert b'name="y" value="50"' in response.content
    option = _json(client_for(alice).get(response.context["chart_url"]))["option"]
    assert option["xAxis"]["name"] == "Lieferanteil (%)"
    assert option["series"][0]["markLine"]["data"][0] == {"xAxis": 32.5}


def test_margin_heads_are_german_and_months_stay_level(world, alice):
    german = _german(alice)
    content = german.get(reverse("analytics:margin")).content.decode()
    assert ">DB IV" in content
    assert ">CM IV" not in content
    option = _json(german.get(reverse("analytics:chart", args=["revenue"])))["option"]
    assert option["xAxis"]["axisLabel"]["rotate"] == 0  # 24 months stay level, thinned out


def test_run_steps_are_named_in_words(world, dana):
    from kreis.analytics.models import AnalyticsRun

    run = AnalyticsRun.objects.order_by("-pk").first()
    content = _german(dana).get(reverse("analytics:run_detail", args=[run.pk])).content.decode()
    assert "Kennzahlen speichern" in content
    assert ">store</dt>" not in content
