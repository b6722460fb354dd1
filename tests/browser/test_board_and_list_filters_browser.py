"""At 1280 px the deal board shows at least four stages side by side; on a phone (390 px)
every list's filters fold behind a Filter button, so the first rows show without scrolling,
and the button works from the keyboard."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from kreis.commerce.bulk import transactions_bulk_create
from kreis.parties.models import PartyRoleAssignment
from kreis.sales import services as sales_services
from tests.activities.factories import TaskFactory
from tests.commerce.factories import ProductFactory
from tests.factories import PASSWORD
from tests.leads.factories import LeadFactory
from tests.parties.factories import OrganizationFactory
from tests.sales.factories import DealFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, live_server, username):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def test_board_shows_four_stages_side_by_side_at_1280(page, live_server, alice, north):
    pipeline = sales_services.ensure_default_pipeline()
    for stage in pipeline.stages.all():  # long names must not widen a column
        DealFactory(
            owner=alice,
            team=north,
            stage=stage,
            name=f"Rahmenvertrag Instandhaltung aller Standorte {stage.name} 2027",
        )
    sign_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/deals/")
    page.locator(".deal-column").first.wait_for()
    fully_visible = page.evaluate(
        """() => {
          const width = document.documentElement.clientWidth;
          return [...document.querySelectorAll('.deal-column')]
            .map(c => c.getBoundingClientRect())
            .filter(r => r.left >= 0 && r.right <= width).length;
        }"""
    )
    assert fully_visible >= 4
    assert page.console_errors == []


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-US")
    page = context.new_page()
    yield page
    context.close()


def _lists_with_rows(alice, north):
    organization = OrganizationFactory(owner=alice, team=north, name="Hafen Logistik GmbH")
    PartyRoleAssignment.objects.create(party=organization, role="customer")
    for n in range(3):
        LeadFactory(owner=alice, team=north, company=f"Werft {n}")
        DealFactory(owner=alice, team=north, name=f"Kran {n}", organization=organization)
        TaskFactory(owner=alice, subject=f"Angebot nachfassen {n}", party=organization)
    product = ProductFactory()
    transactions_bulk_create(
        actor=None,
        rows=[
            {
                "party": organization,
                "kind": "invoice",
                "date": dt.date(2026, 3, n + 1),
                "number": f"RE-{n}",
                "currency": "EUR",
                "lines": [{"product": product, "quantity": Decimal(1), "unit_price": Decimal(100)}],
            }
            for n in range(3)
        ],
    )
    return {
        "/parties/": "#party-rows",
        "/leads/": "#lead-rows",
        "/deals/list/": "#deal-rows",
        "/activities/": "#activity-rows",
        "/commerce/transactions/": "#transaction-rows",
    }


def test_list_filters_fold_behind_a_filter_button_on_phones(phone, live_server, alice, north):
    pages = _lists_with_rows(alice, north)
    sign_in(phone, live_server, "alice")
    for path, rows in pages.items():
        phone.goto(f"{live_server.url}{path}")
        form = phone.locator("form.list-filters")
        first_row = phone.locator(f"{rows} tbody tr").first
        first_row.wait_for()
        # The first row shows without scrolling; of the filters only the search field shows.
        box = first_row.bounding_box()
        assert box["y"] + box["height"] <= 844, path
        assert form.locator("input[type=search]").is_visible(), path
        assert not form.locator("select").first.is_visible(), path
        button = form.locator("[data-filter-toggle]")
        assert button.get_attribute("aria-expanded") == "false"

        # Keyboard: Tab to the button, Enter opens the filters, Enter again closes them.
        form.locator("input[type=search]").focus()
        phone.keyboard.press("Tab")
        assert button.evaluate("b => b === document.activeElement"), path
        phone.keyboard.press("Enter")
        assert button.get_attribute("aria-expanded") == "true"
        assert form.locator("select").first.is_visible(), path
        phone.keyboard.press("Enter")
        assert not form.locator("select").first.is_visible(), path


def test_filters_stay_in_view_on_a_laptop(page, live_server, alice, north):
    _lists_with_rows(alice, north)
    sign_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/parties/")
    form = page.locator("form.list-filters")
    assert form.locator("select").first.is_visible()
    assert not form.locator("[data-filter-toggle]").is_visible()


def test_the_filter_button_counts_filters_in_use(phone, live_server, alice, north):
    _lists_with_rows(alice, north)
    sign_in(phone, live_server, "alice")
    phone.goto(f"{live_server.url}/parties/?kind=organization&role=customer")
    badge = phone.locator("form.list-filters .filter-count")
    assert badge.inner_text() == "2"
