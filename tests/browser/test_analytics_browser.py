"""Issue 4 in a real browser: the management dashboard draws its charts (no CSP errors), the
party page shows the customer's figures, both on desktop and at phone width."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from kreis.analytics import pipeline
from tests.analytics.test_pipeline import buy, customer
from tests.browser.test_shell_browser import SHOTS, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def analysed(settings, tmp_path, alice, north):
    settings.KREIS_WAREHOUSE = f"duckdb://{tmp_path}/warehouse.duckdb"
    today = timezone.localdate()
    firms = []
    for i in range(12):
        firm = customer(f"Kunde {i}", owner=alice, team=north)
        for k in range(1 + i % 5):
            buy(firm, today - dt.timedelta(days=40 * k + 3 * i), f"{100 + 50 * i}.00")
        firms.append(firm)
    pipeline.run(as_of=today)
    return firms


@pytest.mark.parametrize("width", [1280, 390])
def test_dashboard_draws_its_charts(page, live_server, analysed, width):
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/analytics/")
    page.locator("[data-chart] canvas").first.wait_for()
    # No page.wait_for_function: it evaluates a string, which the CSP (rightly) refuses.
    expect(page.locator('[data-chart][aria-busy="true"]')).to_have_count(0)
    assert page.locator("[data-chart] canvas").count() == page.locator("[data-chart]").count()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"analytics-dashboard-{width}.png"), full_page=True)
    assert page.console_errors == []


def test_party_page_shows_the_figures_with_explanations(page, live_server, analysed):
    firm = analysed[-1]
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/parties/{firm.pk}/")
    figures = page.get_by_test_id("party-figures")
    figures.wait_for()
    assert "Lifecycle phase" in figures.inner_text() or "Lebenszyklusphase" in figures.inner_text()
    page.screenshot(path=str(SHOTS / "party-figures-phone.png"), full_page=True)
    assert page.console_errors == []
