"""Connector pages in a real browser (issue 11, item 11): an administrator sets up a watched
folder with the ERP's mapping template, presses "Run now", and follows the run to its import.
At 1280 px in English and at 390 px in German; screenshots go to var/screenshots
(connector-<step>-<width>.png)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from kreis.commerce.models import Transaction
from kreis.migration.models import Connector
from tests.browser.test_analytics_browser import UNNAMED, WIDEST
from tests.browser.test_shell_browser import SHOTS, sign_in
from tests.migration.test_connectors import NIGHT_1, drop, erp, inbox, template  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def shot(page, name: str, width: int) -> None:
    assert page.evaluate(WIDEST, width) == [], f"{name}: something sticks out at {width} px"
    assert page.evaluate(UNNAMED) == [], f"{name}: a button or link without a name"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"connector-{name}-{width}.png"), full_page=True)


@pytest.mark.parametrize(("width", "language"), [(1280, "en"), (390, "de")])
def test_admin_sets_up_a_folder_connector_and_runs_it(
    page,
    live_server,
    erp,  # noqa: F811 (the fixture imported above)
    dana,
    template,  # noqa: F811 (the fixture imported above)
    inbox,  # noqa: F811 (the fixture imported above)
    width,
    language,
):
    dana.language = language
    dana.save()
    drop(inbox, "auftraege-2026-12-04.csv", NIGHT_1)
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_server, "dana")

    page.goto(f"{live_server.url}/imports/connectors/")
    shot(page, "list-empty", width)
    page.locator("a[href$='/imports/connectors/new/']").click()
    page.fill("input[name=name]", "ERP-Aufträge")
    page.select_option("select[name=kind]", "folder")
    page.fill("input[name=location]", str(inbox))
    page.select_option("select[name=template]", str(template.pk))
    page.select_option("select[name=schedule_hour]", "1")
    shot(page, "form", width)
    page.locator("form.kreis-form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/imports/connectors/\d+/$"))

    page.get_by_test_id("run-now").click()
    page.wait_for_url(re.compile(r"/imports/connectors/\d+/$"))
    runs = page.locator("#runs-heading + .card")
    expect(runs).to_contain_text("auftraege-2026-12-04.csv")
    expect(runs).to_contain_text("2 angelegt" if language == "de" else "2 created")
    shot(page, "after-run", width)
    assert Transaction.objects.count() == 2

    page.locator("#runs-heading + .card a").first.click()
    page.wait_for_url(re.compile(r"/imports/\d+/$"))
    connector = Connector.objects.get()
    page.goto(f"{live_server.url}/imports/connectors/")
    expect(page.locator("tbody")).to_contain_text(connector.name)
    shot(page, "list", width)
    assert page.console_errors == []
