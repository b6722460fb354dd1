"""A service agent takes a phone complaint, works it and keeps a note to herself."""

import pytest

from kreis.parties.services import party_create
from kreis.service.defaults import ensure_defaults
from kreis.service.models import AssignmentRule, Case, CaseCategory
from tests.browser.test_shell_browser import SHOTS, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_take_a_phone_complaint_and_work_it_at_phone_width(page, live_server, alice, sam):
    ensure_defaults()  # an earlier transactional test's flush removed what migrate made
    defect = CaseCategory.objects.get(kind="defect")
    AssignmentRule.objects.create(position=1, name="Defects", category=defect, assign_user=sam)
    party_create(
        actor=alice,
        kind="person",
        first_name="Jana",
        last_name="Weber",
        phones=[{"value": "+49 40 555 0199"}],
    )
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_server, "sam")
    page.goto(f"{live_server.url}/cases/new/")
    page.fill("input[name=sender_name]", "Jana Weber")
    page.fill("input[name=sender_phone]", "040 5550199")
    page.fill("input[name=subject]", "Wärmepumpe fällt aus")
    page.select_option("select[name=category]", str(defect.pk))
    page.select_option("select[name=severity]", "high")
    page.click("button[type=submit].btn-primary")
    page.wait_for_url("**/cases/*/")
    case = Case.objects.get(subject="Wärmepumpe fällt aus")
    assert case.party.name == "Jana Weber"  # found by her phone number, no duplicate made
    assert case.owner == sam
    page.get_by_text(case.number).first.wait_for()
    page.get_by_role("button", name="Mark as Acknowledged").click()
    page.get_by_role("button", name="Mark as In progress").wait_for()
    page.get_by_role("tab", name="Internal note").click()
    page.fill("#note_body", "Techniker Herr Kaya informiert")
    page.get_by_role("button", name="Add internal note").click()
    timeline = page.locator("[data-testid=case-timeline]")
    timeline.get_by_text("Techniker Herr Kaya informiert").wait_for()
    assert timeline.get_by_text("Internal note — not visible to the customer").is_visible()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "case-phone.png"), full_page=True)
    case.refresh_from_db()
    assert case.status == "acknowledged"
    assert page.console_errors == []
