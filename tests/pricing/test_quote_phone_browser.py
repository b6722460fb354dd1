"""The quote page on a phone (390 px): each line stacks into labelled values, nothing scrolls
sideways, and the rep can still reach and change a line's discount."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kreis.commerce.models import Product
from kreis.parties.services import party_create
from kreis.pricing.quotes import services as quotes
from kreis.sales.services import deal_create, ensure_default_pipeline
from tests.sales.test_board_browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [1280, 390])
def test_quote_lines_fit_the_screen(page, live_server, alice, north, width):
    ensure_default_pipeline()
    customer = party_create(actor=alice, kind="organization", name="Keller Pumpen AG")
    product = Product.objects.create(
        sku="P-9", name="Hochdruck-Kreiselpumpe mit Frequenzumrichter", list_price=Decimal("4890")
    )
    deal = deal_create(
        actor=alice,
        name="Pumpen",
        organization=customer,
        lines=[{"product_id": product.pk, "quantity": Decimal("12")}],
    )
    quote = quotes.quote_create(actor=alice, deal=deal)
    page.set_viewport_size({"width": width, "height": 844})
    sign_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/pricing/quotes/{quote.pk}/")

    assert page.evaluate("document.documentElement.scrollWidth") <= width
    table = page.locator("[data-testid=quote-lines]")
    assert table.evaluate("el => el.scrollWidth <= el.parentElement.clientWidth")
    field = page.get_by_label("Discount (%): Hochdruck-Kreiselpumpe mit Frequenzumrichter")
    box = field.bounding_box()
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= width
    assert page.get_by_text("58,680.00").first.is_visible()  # the net of the line
    # On a phone the header row gives way to a label beside each value.
    header = page.locator("[data-testid=quote-lines] thead")
    assert header.is_visible() == (width == 1280)
    field.fill("5")
    page.click("[data-testid=quote-revise]")
    page.locator("[data-testid=quote-state][data-state=draft]").wait_for()
    assert page.get_by_text("55,746.00").first.is_visible()
    assert page.console_errors == []
