"""A rep's discount above her limit waits for approval; the manager approves in the inbox;
the quote's PDF downloads with the customer's name in it."""

from __future__ import annotations

import contextlib
import re
import zlib
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from kreis.commerce.models import Product
from kreis.parties.services import party_create
from kreis.pricing.models import QuoteState
from kreis.pricing.pricelists.services import settings_update
from kreis.sales.services import deal_create, ensure_default_pipeline
from tests.browser.test_shell_browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _pdf_text(data: bytes) -> bytes:
    """The PDF's uncompressed content: its streams inflated (the document's title, with the
    customer's name, sits in a compressed object stream)."""
    parts = [data]
    for match in re.finditer(rb"stream\r?\n(.*?)endstream", data, re.S):
        with contextlib.suppress(zlib.error):
            parts.append(zlib.decompress(match.group(1)))
    return b"".join(parts)


def test_discount_above_the_limit_is_approved_and_the_pdf_downloads(page, live_server, alice, mia):
    from kreis.pricing.pricelists.services import ensure_defaults

    ensure_defaults()
    settings_update(actor=None, default_discount_limit=Decimal("10"))
    ensure_default_pipeline()
    product = Product.objects.create(sku="KP-1", name="Kreiselpumpe", list_price=Decimal("200"))
    customer = party_create(actor=alice, kind="organization", name="Gerber Hydraulik GmbH")
    deal = deal_create(
        actor=alice,
        name="Pumpen Nord",
        organization=customer,
        lines=[{"product_id": product.pk, "quantity": Decimal("5")}],
    )

    sign_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/deals/{deal.pk}/")
    page.get_by_role("button", name="Create quote from the line items").click()
    page.wait_for_url(re.compile(r"/pricing/quotes/\d+/$"))
    page.locator("input[name^=discount_]").fill("18")
    page.get_by_test_id("quote-revise").click()
    expect(page.get_by_test_id("quote-state")).to_have_attribute("data-state", QuoteState.DRAFT)
    page.fill("textarea[name=reason]", "Wettbewerber bietet 15 % weniger")
    page.get_by_test_id("quote-submit").click()
    expect(page.get_by_test_id("quote-state")).to_have_attribute(
        "data-state", QuoteState.AWAITING_APPROVAL
    )
    quote_url = page.url

    page.context.clear_cookies()
    sign_in(page, live_server, "mia")
    page.goto(f"{live_server.url}/pricing/approvals/")
    request = page.get_by_test_id("approval-request")
    expect(request).to_contain_text("Pumpen Nord")
    request.locator("textarea[name=decision_note]").fill("Einmalig, Großkunde")
    request.get_by_role("button", name="Approve").click()
    expect(page.get_by_test_id("approval-request")).to_have_count(0)

    page.context.clear_cookies()
    sign_in(page, live_server, "alice")
    page.goto(quote_url)
    expect(page.get_by_test_id("quote-state")).to_have_attribute("data-state", QuoteState.APPROVED)
    expect(page.get_by_test_id("approval-history")).to_contain_text("Einmalig, Großkunde")
    with page.expect_download() as download_info:
        page.get_by_test_id("quote-pdf").click()
    data = open(download_info.value.path(), "rb").read()  # noqa: PTH123, SIM115
    assert data.startswith(b"%PDF")
    assert b"Gerber Hydraulik GmbH" in _pdf_text(data)
