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
