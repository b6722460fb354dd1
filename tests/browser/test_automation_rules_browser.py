"""Issue 14 in a real browser: an administrator creates a rule (a deal's stage changes →
create a task), tries it on a deal, enables it, moves a deal's stage and sees the task."""

import pytest

from kreis.activities.models import Activity, ActivityKind
from kreis.automation.rules.models import Rule, RuleRun
from tests.browser.test_shell_browser import SHOTS, sign_in
from tests.parties.factories import OrganizationFactory
from tests.sales.factories import DealFactory, stage_named

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_create_try_enable_and_see_the_task_when_a_deal_moves(
    page, live_server, dana, alice, north
):
    org = OrganizationFactory(name="Hafenkontor GmbH", owner=alice, team=north)
    deal = DealFactory(name="Kräne 2027", owner=alice, team=north, organization=org)
    proposal = stage_named("Proposal")
    sign_in(page, live_server, "dana")
    page.get_by_role("link", name="Automation rules").click()
    page.wait_for_url("**/automation/rules/")
    page.get_by_role("link", name="New rule").click()

    # The rule, filled with the keyboard in the form's order.
    page.locator("input[name=name]").fill("Proposal follow-up")
    page.locator("select[name=trigger]").select_option("deal.stage_changed")
    page.locator("select[name=stage]").select_option(str(proposal.pk))
    assert page.locator("input[name=from_value]").is_hidden()  # only the trigger's fields
    action = page.get_by_test_id("action-row").first
    action.locator("select[name=actions-0-kind]").select_option("create_task")
    action.locator("input[name=actions-0-subject]").fill("Call {{ name }} about the proposal")
    action.locator("input[name=actions-0-days]").fill("2")
    assert action.locator("input[name=actions-0-tag]").is_hidden()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "automation-rule-form.png"), full_page=True)
    page.get_by_role("button", name="Save", exact=True).press("Enter")
    page.get_by_test_id("rule-status").wait_for()
    assert page.get_by_test_id("rule-status").inner_text() == "disabled"
    rule = Rule.objects.get(name="Proposal follow-up")

    # Try it on the deal: it says what it would do and changes nothing.
    form = page.get_by_test_id("try-form")
    form.locator("select[name=record_type]").select_option("deal")
    form.locator("input[name=q]").fill("Kräne")
    form.locator("input[name=q]").press("Enter")
    result = page.get_by_test_id("try-result")
    result.wait_for()
    assert "Would create the task “Call Hafenkontor GmbH about the proposal” for Alice Adler" in (
        result.inner_text()
    )
    assert not Activity.objects.filter(deal=deal).exists()

    # Enable it, then move the deal on its page.
    page.get_by_role("link", name="Proposal follow-up").click()
    page.get_by_test_id("enable-rule").click()
    page.get_by_test_id("rule-status").wait_for()
    assert page.get_by_test_id("rule-status").inner_text() == "enabled"
    page.goto(f"{live_server.url}/deals/{deal.pk}/")
    page.locator("#detail-stage").select_option(str(proposal.pk))
    page.get_by_role("button", name="Move", exact=True).click()
    page.get_by_test_id("stage-history").get_by_text("Proposal").first.wait_for()

    task = Activity.objects.get(deal=deal, kind=ActivityKind.TASK)
    assert task.subject == "Call Hafenkontor GmbH about the proposal"
    assert task.owner == alice
    page.reload()
    page.get_by_text("Call Hafenkontor GmbH about the proposal").first.wait_for()

    # The run is in the rule's log.
    assert RuleRun.objects.get(rule=rule).status == "succeeded"
    page.goto(f"{live_server.url}/automation/rules/{rule.pk}/")
    log = page.get_by_test_id("run-log")
    assert "Succeeded" in log.inner_text()
    page.screenshot(path=str(SHOTS / "automation-rule-detail.png"), full_page=True)
