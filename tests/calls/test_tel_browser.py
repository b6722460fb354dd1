"""In Chromium: on a party's page the user clicks the phone number (a tel: link), the call
logging dialog opens with its timer running, the user chooses the outcome and saves, and the
call is on the party's timeline with its duration."""

import re

import pytest
from playwright.sync_api import expect

from kreis.activities.models import Activity
from kreis.parties.models import ContactPoint
from tests.browser.test_shell_browser import sign_in
from tests.parties.factories import PersonFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_clicking_a_number_logs_the_call_on_the_timeline(page, live_server, alice, north):
    anna = PersonFactory(first_name="Anna", last_name="Adler", name="Anna Adler", owner=alice,
                         team=north)  # fmt: skip
    ContactPoint.objects.create(party=anna, kind="phone", value="+4930111111", is_primary=True)
    sign_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/parties/{anna.pk}/")
    # The tel: link would hand the number to the phone app; headless Chromium answers with an
    # external-protocol prompt that swallows all further input. The test stands in for the
    # phone app: the link's own navigation is stopped, the page's script sees the click.
    page.evaluate(
        "document.addEventListener('click', e => {"
        " if (e.target.closest('a[href^=\"tel:\"]')) e.preventDefault(); }, true)"
    )
    page.locator('a[href="tel:+4930111111"]').click()

    dialog = page.get_by_role("dialog", name="Log call")
    dialog.wait_for()
    timer = dialog.locator("[data-call-timer]")
    expect(timer).not_to_have_text("0:00")
    assert re.fullmatch(r"0:0[1-9]", timer.inner_text())
    dialog.get_by_label("Busy").check()
    duration = dialog.get_by_label("Duration (minutes)")
    assert duration.input_value() == "1"  # the running timer fills it
    duration.fill("3")
    dialog.get_by_label("Notes").fill("Leitung besetzt, später noch einmal")
    dialog.get_by_role("button", name="Save").click()

    entry = page.locator(".kreis-timeline").get_by_role("link", name=re.compile("Call with Anna"))
    entry.wait_for()
    timeline = page.locator(".kreis-timeline").inner_text()
    assert "3 minutes" in timeline
    assert "Busy" in timeline
    call = Activity.objects.get()
    assert (call.outcome, call.duration_minutes, call.party_id) == ("busy", 3, anna.pk)
    assert page.console_errors == []
