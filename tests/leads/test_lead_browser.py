"""A rep enters a lead on a phone, is warned about a duplicate, qualifies and converts it."""

import pytest

from kreis.leads.models import Lead
from tests.browser.test_shell_browser import SHOTS, sign_in
from tests.leads.factories import LeadFactory
from tests.parties.factories import OrganizationFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_enter_qualify_and_convert_a_lead_at_phone_width(page, live_server, alice, north):  # noqa: F811
    LeadFactory(owner=alice, team=north, last_name="Früher", email="jana@nordlicht.de")
    org = OrganizationFactory(owner=alice, team=north, name="Nordlicht Solar GmbH")
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/leads/new/")
    page.fill("input[name=last_name]", "Weber")
    page.fill("input[name=company]", "Nordlicht Solar")
    page.fill("input[name=email]", "Jana@Nordlicht.de")
    page.locator("input[name=phone]").focus()  # leaving the e-mail field checks for duplicates
    warning = page.locator("[data-testid=lead-duplicates]")
    warning.get_by_text("Früher").wait_for()
    assert warning.get_by_text("Nordlicht Solar GmbH").is_visible()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "lead-duplicate-phone.png"), full_page=True)
    page.click("button[type=submit].btn-primary")
    page.wait_for_url("**/leads/*/")
    lead = Lead.objects.get(last_name="Weber")
    timeline = page.locator("[data-testid=timeline]")
    timeline.wait_for()  # the activities panel loads into the page (HTMX)
    page.get_by_role("button", name="Mark as Contacted").click()
    page.get_by_role("button", name="Mark as Qualified").wait_for()
    timeline.wait_for()
    page.get_by_role("button", name="Mark as Qualified").click()
    page.locator("[data-testid=convert]").wait_for()
    timeline.wait_for()
    convert = page.locator("[data-testid=convert]")
    assert convert.get_by_text("Reuses the existing organisation").is_visible()
    page.fill("input[name=deal_name]", "Solarpark Nord")
    page.fill("input[name=amount]", "48000")
    page.screenshot(path=str(SHOTS / "lead-convert-phone.png"), full_page=True)
    convert.get_by_role("button", name="Convert").click()
    page.get_by_text("Lead converted.").wait_for()
    timeline.wait_for()
    lead.refresh_from_db()
    assert lead.status == "converted"
    assert lead.converted_organization == org
    assert lead.converted_deal.name == "Solarpark Nord"
    assert page.console_errors == []
