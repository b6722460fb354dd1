"""Chart tooltips are HTML: a party name or an employment position full of markup shows as
text, never as elements (the CSP stops the script, but the markup must not get that far)."""

import pytest

from kreis.parties import services as party_services
from tests.browser.test_shell_browser import SHOTS, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MARKUP = '<img src="x" data-xss="1" onerror="window.__xss=1"><b>Bold</b>'


def show_tip(page, data_type: str, index: int) -> str:
    """Open the graph's tooltip on a node or an edge; its HTML as the browser built it."""
    return page.evaluate(
        """([dataType, index]) => {
            const box = document.querySelector("[data-graph-url]");
            const chart = window.echarts.getInstanceByDom(box);
            chart.dispatchAction({ type: "showTip", seriesIndex: 0, dataIndex: index, dataType });
            return new Promise((done) => setTimeout(() => {
                const tips = [...box.querySelectorAll("div")].filter(
                    (d) => d.style.position === "absolute" && d.textContent.trim());
                done(tips.map((d) => d.innerHTML).join("\\n"));
            }, 300));
        }""",
        [data_type, index],
    )


def test_graph_tooltip_shows_names_and_positions_as_text(page, live_server, alice):
    firm = party_services.party_create(actor=alice, kind="organization", name="Hafen GmbH")
    person = party_services.party_create(actor=alice, kind="person", last_name=MARKUP)
    party_services.employment_set(actor=alice, person=person, organization=firm, position=MARKUP)
    sign_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/parties/{firm.pk}/")
    page.wait_for_function(
        "() => { const b = document.querySelector('[data-graph-url]');"
        " return b && window.echarts && window.echarts.getInstanceByDom(b); }"
    )
    node_tip = show_tip(page, "node", 1)
    assert "&lt;img" in node_tip
    assert page.locator("[data-graph-url] [data-xss]").count() == 0
    assert page.locator("[data-graph-url] b").count() == 0
    # An edge's tooltip: the chart's own formatter on the chart's own link (the position).
    edge_tip = page.evaluate(
        """() => {
            const box = document.querySelector("[data-graph-url]");
            const option = window.echarts.getInstanceByDom(box).getOption();
            const link = option.series[0].links[0];
            return option.tooltip[0].formatter({ dataType: "edge", data: link });
        }"""
    )
    assert "&lt;b&gt;Bold&lt;/b&gt;" in edge_tip
    assert page.locator("[data-graph-url] [data-xss]").count() == 0
    assert page.evaluate("window.__xss") is None
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "graph-tooltip-escaped.png"))


def test_analytics_tooltip_templates_from_the_server_are_escaped(page, live_server, alice):
    """Every analytics chart goes through charts.js: a string formatter the server wrote a
    name into (chart, series or data item) reaches the tooltip as text."""
    option = {
        "tooltip": {"trigger": "item"},
        "xAxis": {"type": "category", "data": ["a", "b"]},
        "yAxis": {"type": "value"},
        "series": [
            {
                "type": "bar",
                "tooltip": {"formatter": f"{MARKUP}: {{c}}"},
                "data": [{"value": 1, "tooltip": {"formatter": f"{MARKUP} item"}}, 2],
            }
        ],
    }
    page.route("**/fake-chart.json", lambda route: route.fulfill(json={"option": option}))
    sign_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/analytics/")
    page.wait_for_function("() => window.echarts !== undefined")
    page.evaluate(
        """() => {
            const wrap = document.createElement("div");
            wrap.innerHTML = '<div id="probe" data-chart="/fake-chart.json"></div>';
            wrap.firstChild.style.width = "400px";
            wrap.firstChild.style.height = "300px";
            document.querySelector("main, body").prepend(wrap);
            document.body.dispatchEvent(new CustomEvent("htmx:afterSwap", { detail: {} }));
        }"""
    )
    page.evaluate(
        """() => {
            const wrap = document.getElementById("probe").parentElement;
            const event = new CustomEvent("htmx:afterSwap", { bubbles: true });
            wrap.dispatchEvent(event);
        }"""
    )
    page.wait_for_function(
        "() => window.echarts.getInstanceByDom(document.getElementById('probe'))"
    )
    tips = page.evaluate(
        """() => {
            const chart = window.echarts.getInstanceByDom(document.getElementById("probe"));
            const series = chart.getOption().series[0];
            return [series.tooltip.formatter, series.data[0].tooltip.formatter];
        }"""
    )
    assert tips == [
        "&lt;img src=&quot;x&quot; data-xss=&quot;1&quot; onerror=&quot;window.__xss=1&quot;&gt;"
        "&lt;b&gt;Bold&lt;/b&gt;: {c}",
        "&lt;img src=&quot;x&quot; data-xss=&quot;1&quot; onerror=&quot;window.__xss=1&quot;&gt;"
        "&lt;b&gt;Bold&lt;/b&gt; item",
    ]
    page.evaluate(
        """() => window.echarts.getInstanceByDom(document.getElementById("probe"))
            .dispatchAction({ type: "showTip", seriesIndex: 0, dataIndex: 0 })"""
    )
    page.wait_for_timeout(300)
    assert page.locator("#probe [data-xss]").count() == 0
    assert page.locator("#probe b").count() == 0
    assert "Bold" in page.locator("#probe").inner_text()
