"""The lists' bulk bar in a real browser: rows ticked first keep their ticks while the action,
the owner and the tag are chosen (the list filter refreshes the rows only for its own fields)."""

import pytest

from kreis.activities.models import Activity
from kreis.parties import services as party_services
from kreis.parties.models import Party
from kreis.sales.models import Deal
from tests.activities.factories import TaskFactory
from tests.browser.test_shell_browser import sign_in
from tests.sales.factories import DealFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def choose(page, action: str) -> None:
    page.select_option("#bulk-action", action)
    page.wait_for_load_state("networkidle")  # a refresh of the rows would have happened by now


def test_ticked_deals_are_deleted_after_the_confirmation(page, live_server, alice, north):
    deals = [DealFactory(name=f"Deal {i}", owner=alice, team=north) for i in range(3)]
    sign_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/deals/list/")
    page.wait_for_load_state("networkidle")
    for deal in deals[:2]:
        page.check(f'input[name="ids"][value="{deal.pk}"]')
    choose(page, "delete")
    page.click('#bulk-form button[type="submit"]')
    assert "Delete 2 deals?" in page.inner_text("main")
    page.click("main button.btn-danger")
    assert "2 records changed." in page.inner_text("main")
    assert set(Deal.objects.filter(deleted_at__isnull=True)) == {deals[2]}


def test_ticked_task_is_marked_done_and_the_filter_still_narrows(page, live_server, alice, north):
    task = TaskFactory(owner=alice, team=north, subject="Call back")
    sign_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/activities/")
    page.wait_for_load_state("networkidle")
    page.check(f'input[name="ids"][value="{task.pk}"]')
    choose(page, "mark_done")
    page.click('#bulk-form button[type="submit"]')
    assert "1 records changed." in page.inner_text("main")
    assert Activity.objects.get(pk=task.pk).done_at is not None
    page.fill('form[hx-get] input[name="q"]', "zzz")
    page.wait_for_load_state("networkidle")
    page.wait_for_selector("#activity-rows >> text=No activities match.")


def test_ticked_party_gets_the_typed_tag(page, live_server, alice):
    firm = party_services.party_create(actor=alice, kind="organization", name="Firma Eins")
    sign_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/parties/")
    page.wait_for_load_state("networkidle")
    page.check(f'input[name="ids"][value="{firm.pk}"]')
    choose(page, "add_tag")
    page.fill('#bulk-form input[name="tag"]', "Messe")
    page.wait_for_load_state("networkidle")
    page.click('#bulk-form button[type="submit"]')
    assert "1 records changed." in page.inner_text("main")
    assert list(Party.objects.filter(tags__name="Messe")) == [firm]
    assert page.console_errors == []
