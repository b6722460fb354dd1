"""The satisfaction KPIs page in a real browser: every chart is drawn from the JSON on the page
(the CSP allows no inline script), a tooltip appears, the formulas are written out, the page
fits a phone, and a quality check entered on the page shows in its chart."""

import datetime as dt

import pytest
from playwright.sync_api import expect

from kreis.analytics import warehouse
from kreis.analytics.kpis.models import MarketVolume
from tests.analytics.test_kpis import customer, line
from tests.browser.test_analytics_browser import UNNAMED
from tests.browser.test_shell_browser import SHOTS, sign_in
from tests.commerce.factories import ProductFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RANGE = "start=2025-01-01&end=2025-12-31&grain=quarter"
CHARTS = [
    "revenue",
    "market-share",
    "repurchase",
    "cross-buying",
    "price-tolerance",
    "referrals",
    "quality",
]


@pytest.fixture
def sales(settings, tmp_path, alice, north):
    from kreis.commerce import services as commerce
    from kreis.leads.models import Lead

    settings.KREIS_WAREHOUSE = f"duckdb://{tmp_path}/warehouse.duckdb"
    tools = ProductFactory(category="Werkzeuge")
    paint = ProductFactory(category="Farben")
    firms = [customer(f"Kunde {i}", alice, north) for i in range(6)]
    for i, firm in enumerate(firms):
        for month in range(1 + i % 3, 13, 2 + i % 3):
            commerce.transaction_create(
                actor=None,
                party=firm,
                kind="order",
                date=dt.date(2025, month, 10),
                lines=[line(tools, 2 + i, "100", str(10 * (i % 3))), line(paint, 1, "40")],
            )
    MarketVolume.objects.create(
        segment="Werkzeuge", grain="quarter", start=dt.date(2025, 1, 1), volume=20000
    )
    MarketVolume.objects.create(
        segment="", grain="quarter", start=dt.date(2025, 4, 1), volume=90000
    )
    lead = Lead.objects.create(last_name="Empfohlen", referred_by=firms[0], owner=alice, team=north)
    Lead.objects.filter(pk=lead.pk).update(created_at=dt.datetime(2025, 5, 2, 9, tzinfo=dt.UTC))
    warehouse.refresh(full=True)
    return firms


@pytest.mark.parametrize("width", [1280, 390])
def test_every_kpi_chart_is_drawn_with_its_formula(page, live_server, sales, mia, width):
    page.set_viewport_size({"width": width, "height": 900})
    page.emulate_media(reduced_motion="reduce")
    sign_in(page, live_server, "mia")
    page.goto(f"{live_server.url}/analytics/kpis/?{RANGE}")
    expect(page.locator('[data-chart-json][aria-busy="true"]')).to_have_count(0)
    states = {
        key: page.locator(f"#kpi-{key}-chart").get_attribute("data-chart-state") for key in CHARTS
    }
    # No quality check yet: that chart says so in words; every other one is drawn.
    assert states.pop("quality") == "empty"
    assert states == dict.fromkeys(states, "drawn")
    expect(page.locator("#kpi-repurchase-formula")).to_contain_text("Repurchase rate =")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert page.evaluate(UNNAMED) == []
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"analytics-kpis-{width}.png"), full_page=True)
    page.locator("#kpi-revenue-chart").hover()
    expect(page.locator("#kpi-revenue-chart .kreis-tip-head")).to_be_visible()
    assert page.console_errors == []


def test_a_quality_check_entered_on_the_page_shows_in_its_chart(page, live_server, sales, mia):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_server, "mia")
    page.goto(f"{live_server.url}/analytics/kpis/?{RANGE}")
    form = page.get_by_test_id("kpi-checks").locator("form.kreis-form")
    form.locator("input[name=date]").fill("2025-03-03")
    form.locator("select[name=stage]").select_option("trade")
    form.locator("input[name=checked_units]").fill("200")
    form.locator("input[name=defective_units]").fill("300")
    form.locator("button[type=submit]").click()
    # More defects than checked units: refused, with what was typed kept.
    expect(page.get_by_text("More units cannot be defective than were checked.")).to_be_visible()
    form = page.get_by_test_id("kpi-checks").locator("form.kreis-form")
    expect(form.locator("input[name=checked_units]")).to_have_value("200")
    form.locator("input[name=defective_units]").fill("3")
    form.locator("button[type=submit]").click()
    expect(page.get_by_test_id("kpi-checks")).to_contain_text("3 / 200")
    expect(page.locator('[data-chart-json][aria-busy="true"]')).to_have_count(0)
    assert page.locator("#kpi-quality-chart").get_attribute("data-chart-state") == "drawn"
    assert "2025-01-01" in page.url  # back on the periods it was entered from
    assert page.console_errors == []
