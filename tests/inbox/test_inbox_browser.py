"""In Chromium: an agent works the inbox with the keyboard only — j / k move through the
queue, x selects, e marks the selection done — and the two items are done on the page and in
the database, while the third stays open."""

import pytest
from playwright.sync_api import expect

from kreis.inbox.models import InboxItem, ItemStatus
from tests.browser.test_shell_browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_agent_marks_two_items_done_with_the_keyboard(page, live_server, alice, deliver, customer):
    for n, subject in enumerate(["Angebot Pumpen", "Liefertermin", "Rechnung"]):
        deliver("info@wexford.example", subject, f"<k{n}@wexford.example>")
    sign_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/inbox/")
    rows = page.locator("#inbox-rows tr.inbox-row")
    expect(rows).to_have_count(3)
    subjects = [rows.nth(i).locator("td.inbox-text a").first.inner_text() for i in range(3)]

    # j j x: the second row is current and selected; k x: the first one too.
    page.keyboard.press("j")
    page.keyboard.press("j")
    expect(rows.nth(1)).to_have_class("inbox-row inbox-current")
    page.keyboard.press("x")
    page.keyboard.press("k")
    expect(rows.nth(0)).to_have_class("inbox-row inbox-current")
    page.keyboard.press("x")
    boxes = page.locator("#inbox-rows .inbox-select")
    assert [boxes.nth(i).is_checked() for i in range(3)] == [True, True, False]

    page.keyboard.press("e")  # "Mark done" for the selection
    expect(page.get_by_role("alert").filter(has_text="2 items changed.")).to_be_visible()
    # The queue shows what is not done yet: only the third item is left.
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(subjects[2])
    page.locator(".inbox-filters select[name=status]").select_option("done")
    page.locator(".inbox-filters button[type=submit]").click()
    expect(rows).to_have_count(2)
    assert sorted(rows.nth(i).locator("td").nth(4).inner_text() for i in range(2)) == [
        "Done",
        "Done",
    ]
    status = dict(InboxItem.objects.values_list("subject", "status"))
    assert status == {
        subjects[0]: ItemStatus.DONE,
        subjects[1]: ItemStatus.DONE,
        subjects[2]: ItemStatus.OPEN,
    }
    assert page.console_errors == []
