"""The lists' export menu in a real browser: the other formats open from the CSV button, and
the Excel download holds the list as filtered."""

import io
import os

import openpyxl
import pytest

from kreis.parties import services as party_services
from tests.browser.test_shell_browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = os.environ.get("KREIS_SCREENSHOTS")  # a folder: keep screenshots for a look


def test_party_list_downloads_the_filtered_list_as_excel(page, live_server, alice):
    party_services.party_create(actor=alice, kind="organization", name="Acme GmbH")
    party_services.party_create(
        actor=alice, kind="person", name="Jörg Müller", first_name="Jörg", last_name="Müller"
    )
    sign_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/parties/?kind=person")
    page.wait_for_load_state("networkidle")
    page.click("[data-export-menu] .dropdown-toggle")
    menu = page.locator("[data-export-menu] .dropdown-menu")
    menu.wait_for(state="visible")
    assert menu.inner_text().split("\n") == ["Excel (XLSX)", "JSON", "vCard (persons)"]
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/export-menu-1280.png", full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=f"{SHOTS}/export-menu-390.png", full_page=True)
        page.set_viewport_size({"width": 1280, "height": 800})
    with page.expect_download() as download:
        menu.get_by_text("Excel (XLSX)").click()
    assert download.value.suggested_filename == "kreis-parties.xlsx"
    book = openpyxl.load_workbook(io.BytesIO(open(download.value.path(), "rb").read()))
    names = [row[2] for row in book.worksheets[0].iter_rows(min_row=2, values_only=True)]
    assert names == ["Jörg Müller"]
    assert page.console_errors == []
