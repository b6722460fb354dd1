"""The analytics in a real browser: every page loads without a console error (the CSP blocks
nothing), draws its charts or says in words that there is no data, fits a phone's width, and
names every button; the party page shows the customer's figures. Screenshots of every page at
1280 px (English) and 390 px (German) go to var/screenshots."""

import datetime as dt
from decimal import Decimal

import numpy as np
import pytest
from django.utils import timezone
from playwright.sync_api import expect

from kreis.analytics.margin import accounting
from kreis.analytics.margin.models import CostRule
from kreis.analytics.models import AnalyticsRun
from kreis.analytics.runs import pipeline
from kreis.analytics.scoring import services
from kreis.commerce.models import Transaction, TransactionLine
from kreis.parties.models import Party
from kreis.sales import services as sales_services
from tests.analytics.test_pipeline import buy, customer
from tests.browser.test_shell_browser import SHOTS, sign_in
from tests.sales.factories import DealFactory, default_pipeline

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NO_DATA = {
    "en": "No data for this period yet — run the analysis or widen the period.",
    "de": "Für diesen Zeitraum gibt es noch keine Daten – führen Sie die Analyse aus oder "
    "wählen Sie einen längeren Zeitraum.",
}

# What sticks out on the right (a table's cells scroll inside it and do not count): named in
# the failure, so it says what to fix. page.evaluate goes through the DevTools protocol, which
# the CSP does not govern; page.wait_for_function would be refused.
WIDEST = """(width) => [...document.querySelectorAll("body *")]
    .filter((el) => el.getBoundingClientRect().right > width + 1)
    .filter((el) => !el.closest(".table-responsive") || getComputedStyle(el).position !== "static")
    .slice(-3)
    .map((el) => el.tagName.toLowerCase() + "." + [...el.classList].join("."))"""

# Buttons and links that a screen reader could only call “button” or “link”.
UNNAMED = """() => [...document.querySelectorAll("button, a[href]")]
    .filter((el) => el.offsetParent !== null)
    .filter((el) => !el.textContent.trim() && !el.getAttribute("aria-label") && !el.title)
    .map((el) => el.outerHTML.slice(0, 80))"""


def wait_for_charts(page) -> dict[str, str]:
    """Waits until every chart is drawn, empty or failed; returns id → state. Charts are drawn
    without animation for users who ask for reduced motion: screenshots show them complete."""
    expect(page.locator('[data-chart][aria-busy="true"]')).to_have_count(0)
    charts = page.locator("[data-chart]")
    return {
        charts.nth(i).get_attribute("id"): charts.nth(i).get_attribute("data-chart-state")
        for i in range(charts.count())
    }


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
def test_dashboard_draws_its_charts_and_says_which_have_no_data(page, live_server, analysed, width):
    page.set_viewport_size({"width": width, "height": 900})
    page.emulate_media(reduced_motion="reduce")
    sign_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/analytics/")
    states = wait_for_charts(page)
    # Alice has customers with purchases but no deal, and too few repeat buyers for a CLV
    # model: those charts say so in words instead of showing bare axes; no PNG of them.
    assert (states.pop("chart-pipeline"), states.pop("chart-clv")) == ("empty", "empty")
    pipeline_chart = page.locator("#chart-pipeline")
    expect(pipeline_chart).to_have_text(NO_DATA["en"])
    assert pipeline_chart.locator("canvas").count() == 0
    expect(page.locator('[data-chart-png="chart-pipeline"]')).to_be_disabled()
    assert {chart: state for chart, state in states.items() if state != "drawn"} == {}
    assert page.locator("[data-chart] canvas").count() == len(states)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"analytics-dashboard-{width}.png"), full_page=True)
    # A month's tooltip appears, built without the inline styles the CSP would refuse.
    page.locator("#chart-revenue").hover()
    expect(page.locator("#chart-revenue .kreis-tip-head")).to_be_visible()
    assert page.console_errors == []


def test_party_page_shows_the_figures_with_explanations(page, live_server, analysed):
    firm = analysed[-1]
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/parties/{firm.pk}/")
    figures = page.get_by_test_id("party-figures")
    figures.wait_for()
    assert "Lifecycle phase" in figures.inner_text() or "Lebenszyklusphase" in figures.inner_text()
    assert "€" in figures.inner_text()  # the customer lifetime value is money
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "party-page-figures-phone.png"), full_page=True)
    card = page.locator("section.card:has([data-testid=party-figures])")
    card.screenshot(path=str(SHOTS / "party-figures-phone.png"))
    assert page.console_errors == []


# --- Every analytics page, as a demanding user sees it -----------------------------------------


def _sale(party, days_ago: int, amount: int) -> None:
    day = timezone.localdate() - dt.timedelta(days=days_ago)
    value = Decimal(amount)
    txn = Transaction.objects.create(
        kind="invoice",
        party=party,
        date=day,
        net_revenue=value,
        cost=value * Decimal("0.55"),
        owner=party.owner,
        team=party.team,
    )
    TransactionLine.objects.create(
        transaction=txn, quantity=1, unit_price=value, net_revenue=value, cost=txn.cost
    )


@pytest.fixture
def crm(settings, tmp_path, alice, north, dana):
    """Forty customers with two years of purchases of varying rhythm, open deals, a cost rule
    and a cost entry, a primary customer scoring model and a utility-value analysis: every
    chart of every page has something to draw."""
    settings.KREIS_WAREHOUSE = f"duckdb://{tmp_path}/warehouse.duckdb"
    sales_services.ensure_default_pipeline()  # the database was emptied after the last test
    rng = np.random.default_rng(11)
    firms = []
    for i in range(40):
        firm = customer(f"Kunde {i:02d} Maschinenbau GmbH", owner=alice, team=north)
        mean = rng.gamma(5.0, 400.0)
        days = rng.choice(np.arange(3, 700), size=int(rng.integers(1, 12)), replace=False)
        for day in days:
            _sale(firm, int(day), int(max(50, rng.normal(mean, mean * 0.3))))
        firms.append(firm)
    Party.objects.filter(pk__in=[f.pk for f in firms[::2]]).update(purchasing_potential=40_000)
    stages = list(default_pipeline().stages.order_by("position"))
    for k, stage in enumerate(stages[:4]):
        DealFactory(owner=alice, team=north, amount=5000 * (k + 1), stage=stage)
    accounting.cost_rule_create(
        actor=dana,
        name="Versand",
        level="order",
        category="shipping",
        basis="per_order",
        amount=Decimal("12.50"),
    )
    accounting.cost_entry_create(
        actor=dana,
        party=firms[0],
        date=timezone.localdate() - dt.timedelta(days=20),
        category="complaint",
        amount=Decimal("180.00"),
        note="Reklamation Lieferung",
    )
    pipeline.run(as_of=timezone.localdate())
    model = services.scoring_model_create(
        actor=dana,
        name="Kundenwert",
        target="customer",
        description="Umsatz und ABC-Klasse",
        criteria=[
            {
                "field": "revenue_12m",
                "label": "Umsatz, 12 Monate",
                "weight": 3,
                "thresholds": [[0, 0], [4000, 4], [8000, 7], [15000, 10]],
            },
            {
                "field": "abc_class",
                "label": "ABC-Klasse",
                "weight": 1,
                "thresholds": {"A": 10, "B": 5},
            },
        ],
    )
    services.scoring_model_make_primary(actor=dana, model=model)
    services.scoring_model_apply(actor=dana, model=model)
    choice = services.scoring_model_create(
        actor=dana,
        name="CRM-Auswahl",
        target="option",
        max_points=5,
        criteria=[
            {"label": "Preis je Nutzer", "weight": 2, "thresholds": [[0, 5], [30, 3], [60, 1]]},
            {
                "field": "features",
                "label": "Funktionen",
                "weight": 3,
                "thresholds": [[0, 0], [5, 3], [8, 5]],
            },
        ],
    )
    for name, values in {
        "Kreis": {"preis_je_nutzer": 0, "features": 7},
        "BigCRM": {"preis_je_nutzer": 80, "features": 9},
    }.items():
        services.utility_option_create(actor=dana, model=choice, name=name, values=values)
    return {"firms": firms, "model": model, "choice": choice}


def _pages(crm) -> list[tuple[str, str]]:
    firm, model, choice = crm["firms"][0], crm["model"], crm["choice"]
    rule = CostRule.objects.first()
    run = AnalyticsRun.objects.order_by("-pk").first()
    return [
        ("dashboard", "/analytics/"),
        ("abc", "/analytics/abc/"),
        ("rfm", "/analytics/rfm/"),
        ("lifecycle", "/analytics/lifecycle/"),
        ("portfolio", "/analytics/portfolio/"),
        ("clv", "/analytics/clv/"),
        ("margin", "/analytics/margin/"),
        ("margin-party", f"/analytics/margin/party/{firm.pk}/"),
        ("cost-rules", "/analytics/margin/rules/"),
        ("cost-rule-new", "/analytics/margin/rules/new/"),
        ("cost-rule-edit", f"/analytics/margin/rules/{rule.pk}/"),
        ("scoring", "/analytics/scoring/"),
        ("scoring-choose", "/analytics/scoring/new/"),
        ("scoring-new", "/analytics/scoring/new/?target=customer"),
        ("scoring-detail", f"/analytics/scoring/{model.pk}/"),
        ("scoring-edit", f"/analytics/scoring/{model.pk}/edit/"),
        ("scoring-preview", f"/analytics/scoring/{model.pk}/preview/"),
        ("scoring-options", f"/analytics/scoring/{choice.pk}/options/"),
        ("runs", "/analytics/runs/"),
        ("run", f"/analytics/runs/{run.pk}/"),
        ("settings", "/analytics/settings/"),
        ("party", f"/parties/{firm.pk}/"),
    ]


# Chart cards shown in docs/guide.md: page → (chart element, picture).
GUIDE_CHARTS = {
    "abc": ("abc-pareto", "analytics-abc-pareto.png"),
    "rfm": ("rfm-grid", "analytics-rfm-grid.png"),
    "lifecycle": ("phase-sankey", "analytics-lifecycle-sankey.png"),
    "portfolio": ("portfolio", "analytics-portfolio.png"),
    "margin-party": ("margin-party-waterfall", "analytics-margin-waterfall.png"),
}


@pytest.mark.parametrize(("width", "language"), [(1280, "en"), (390, "de")])
def test_every_analytics_page_reads_well(page, live_server, crm, dana, width, language):
    dana.language = language
    dana.save(update_fields=["language"])
    page.set_viewport_size({"width": width, "height": 900})
    page.emulate_media(reduced_motion="reduce")
    sign_in(page, live_server, "dana")
    SHOTS.mkdir(parents=True, exist_ok=True)
    problems = []
    for name, url in _pages(crm):
        page.console_errors.clear()
        response = page.goto(f"{live_server.url}{url}")
        if name == "party":  # the figures, margins and scores come with HTMX
            for part in ("party-figures", "margin-panel", "party-scores"):
                page.get_by_test_id(part).wait_for()
        states = wait_for_charts(page)
        page.screenshot(path=str(SHOTS / f"tour-{name}-{width}-{language}.png"), full_page=True)
        if width == 1280 and name in GUIDE_CHARTS:
            chart, picture = GUIDE_CHARTS[name]
            page.locator(f"section.card:has(#{chart})").screenshot(path=str(SHOTS / picture))
        if width == 390 and name == "margin":
            page.locator("#margin-waterfall").scroll_into_view_if_needed()
            page.screenshot(path=str(SHOTS / "analytics-margin-phone-de.png"))
        if response.status != 200:
            problems.append(f"{name}: HTTP {response.status}")
        if page.locator("h1").count() != 1:
            problems.append(f"{name}: {page.locator('h1').count()} main headings")
        # Every chart has something to draw here: none may be empty, failed or blank.
        for chart, state in states.items():
            drawn = page.locator(f"#{chart} canvas").count() >= 1
            if state != "drawn" or not drawn:
                problems.append(f"{name}: chart {chart} is {state}")
        scroll = page.evaluate("document.documentElement.scrollWidth")
        if scroll > width:
            problems.append(f"{name}: {scroll} px wide because of {page.evaluate(WIDEST, width)}")
        if unnamed := page.evaluate(UNNAMED):
            problems.append(f"{name}: unnamed {unnamed}")
        if page.console_errors:
            problems.append(f"{name}: {page.console_errors}")
    assert problems == [], "\n".join(problems)


def test_an_empty_period_says_so_in_german_on_a_phone(page, live_server, crm, dana):
    dana.language = "de"
    dana.save(update_fields=["language"])
    page.set_viewport_size({"width": 390, "height": 844})
    page.emulate_media(reduced_motion="reduce")
    sign_in(page, live_server, "dana")
    page.goto(f"{live_server.url}/analytics/margin/?start=2001-01-01&end=2001-12-31")
    assert wait_for_charts(page) == {"margin-waterfall": "empty"}
    expect(page.locator("#margin-waterfall")).to_have_text(NO_DATA["de"])
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.console_errors == []


# Where a chart draws a data point, in page coordinates (ECharts' own conversion), and its name.
POINT = """([id, index]) => {
    const el = document.getElementById(id);
    const chart = echarts.getInstanceByDom(el);
    const point = chart.getOption().series[0].data[index];
    const [x, y] = chart.convertToPixel({ seriesIndex: 0 }, point.value.slice(0, 2));
    const box = el.getBoundingClientRect();
    return [box.left + x, box.top + y, point.name];
}"""


def test_a_bubble_names_its_customer_with_german_numbers(page, live_server, crm, dana):
    dana.language = "de"
    dana.save(update_fields=["language"])
    page.emulate_media(reduced_motion="reduce")
    sign_in(page, live_server, "dana")
    page.goto(f"{live_server.url}/analytics/portfolio/")
    assert wait_for_charts(page) == {"portfolio": "drawn"}
    page.locator("#portfolio").scroll_into_view_if_needed()
    x, y, name = page.evaluate(POINT, ["portfolio", 0])
    page.mouse.move(x, y)
    # The tooltip (drawn inside the chart's element) names the customer and lists share of
    # wallet in per cent, attractiveness and revenue, written the German way.
    chart = page.locator("#portfolio")
    expect(chart.get_by_text(name)).to_be_visible()
    expect(chart).to_contain_text("Lieferanteil (%)")
    revenue = Party.objects.get(name=name).revenue_12m
    expect(chart).to_contain_text(f"{revenue:,.0f}".replace(",", "."))
    assert page.console_errors == []
