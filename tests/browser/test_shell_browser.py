"""A user signs in, switches to German and sees the app shell in German."""

from pathlib import Path

import pytest

from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def sign_in(page, live_server, username):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def test_sign_in_switch_to_german_and_see_the_shell_in_german(page, live_server, alice):
    sign_in(page, live_server, "alice")
    assert page.locator("h1").inner_text() == "Welcome, Alice"
    page.click("[data-testid=user-menu]")
    page.click("button[data-language=de]")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "de"
    assert page.locator("h1").inner_text() == "Willkommen, Alice"
    assert page.locator("#sidebar").get_by_text("Benachrichtigungen").is_visible()
    assert page.get_attribute("#global-search", "placeholder").startswith("Suchen")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "dashboard-de-desktop.png"), full_page=True)
    # No script was blocked by the Content-Security-Policy, no JavaScript error.
    assert page.console_errors == []


def test_phone_width_has_compact_navigation_and_working_search(page, live_server, alice, bob):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_server, "alice")
    assert not page.locator("#sidebar").is_visible()
    page.click("button[aria-controls=sidebar]")
    page.locator("#sidebar").get_by_text("Teams").wait_for(state="visible")
    page.click("#sidebar .btn-close")
    page.locator("#sidebar").wait_for(state="hidden")
    page.keyboard.press("/")
    page.keyboard.type("Beck")
    page.locator("#search-results").get_by_text("Bob Becker").wait_for()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "search-en-phone.png"), full_page=True)
    assert page.console_errors == []


def test_create_an_organisation_and_a_person_and_link_them(page, live_server, alice):
    sign_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/parties/new/organization/")
    page.fill("input[name=name]", "Brandt Werkzeuge GmbH")
    page.fill("textarea[name=emails]", "Info@Brandt-Werkzeuge.de")
    page.fill("textarea[name=phones]", "040 30123456")
    page.click("button[type=submit].btn-primary")
    page.wait_for_url("**/parties/*/")
    assert page.locator("h1").inner_text().strip() == "Brandt Werkzeuge GmbH"
    assert page.get_by_text("info@brandt-werkzeuge.de").is_visible()
    assert page.get_by_text("+49 40 30123456").is_visible()
    page.goto(f"{live_server.url}/parties/new/person/")
    page.fill("input[name=first_name]", "Ole")
    page.fill("input[name=last_name]", "Brandt")
    page.click("button[type=submit].btn-primary")
    page.wait_for_url("**/parties/*/")
    page.fill("input[name=other]", "Brandt Werk")
    page.locator("#employment-options option").first.wait_for(state="attached")
    value = page.locator("#employment-options option").first.get_attribute("value")
    page.fill("input[name=other]", value)
    page.fill("input[name=position]", "Geschäftsführer")
    page.get_by_role("button", name="Link").click()
    page.wait_for_load_state()
    assert page.get_by_role("link", name="Brandt Werkzeuge GmbH").is_visible()
    page.set_viewport_size({"width": 390, "height": 844})
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "person-phone.png"), full_page=True)
    assert page.console_errors == []
