"""Issue 3 in a real browser: drag a deal and reload, find a person by a misspelt name,
convert a lead without a duplicate party, and a party page that works on a phone."""

import pytest

from kreis.activities import services as activity_services
from kreis.parties import services as party_services
from kreis.parties.models import Party
from kreis.sales import services as sales_services
from kreis.sales.models import Deal
from tests.browser.test_shell_browser import SHOTS, sign_in
from tests.sales.factories import DealFactory, stage_named

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_drag_a_deal_to_another_stage_and_reload(page, live_server, alice, north):  # noqa: F811
    sales_services.ensure_default_pipeline()  # the database was emptied after the last test
    deal = DealFactory(name="Wärmepumpen Hafen", owner=alice, team=north)
    target = stage_named("Negotiation")
    sign_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/deals/")
    card = page.locator(f"#deal-{deal.pk}")
    column = page.locator(f'.deal-column-cards[data-stage-id="{target.pk}"]')
    # Grabbed by its top edge, where a user takes a card: the middle holds the forecast select,
    # which (like the other controls) does not start a drag.
    card.drag_to(column, source_position={"x": 12, "y": 6})
    page.locator(f'#deal-{deal.pk}[data-stage-id="{target.pk}"]').wait_for()
    page.reload()
    column.locator(f"#deal-{deal.pk}").wait_for()
    assert Deal.objects.get(pk=deal.pk).stage == target
    assert deal.stage_changes.filter(to_stage=target, changed_by=alice).exists()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "deal-board-desktop.png"), full_page=True)
    assert page.console_errors == []


def test_search_finds_a_person_by_a_misspelt_name(page, live_server, alice):  # noqa: F811
    person = party_services.party_create(
        actor=alice, kind="person", first_name="Jürgen", last_name="Müller"
    )
    sign_in(page, live_server, "alice")
    page.fill("#global-search", "Jürgen Mülller")  # one l too many
    result = page.locator("#search-results").get_by_text("Jürgen Müller")
    result.wait_for()
    result.click()
    page.wait_for_url(f"**/parties/{person.pk}/")
    page.fill("#global-search", "Mueller")  # the umlaut spelt out
    page.locator("#search-results").get_by_text("Jürgen Müller").wait_for()
    assert page.console_errors == []


def test_party_page_at_phone_width(page, live_server, alice):  # noqa: F811
    firm = party_services.party_create(
        actor=alice,
        kind="organization",
        name="Hafenlogistik Nord GmbH",
        emails=[{"value": "info@hafenlogistik.de"}],
        phones=[{"value": "+49 40 5550100"}],
        roles=["customer"],
    )
    person = party_services.party_create(actor=alice, kind="person", last_name="Ahrens")
    party_services.employment_set(actor=alice, person=person, organization=firm, position="CEO")
    activity_services.activity_create(
        actor=alice, kind="note", party=firm, subject="Rahmenvertrag", body="<p>Verlängert</p>"
    )
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/parties/{firm.pk}/")
    page.locator("[data-testid=timeline]").get_by_text("Rahmenvertrag").wait_for()
    # Nothing wider than the phone: no sideways scrolling of the page.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert (
        page.get_by_role("link", name="+49 40 5550100").is_visible()
        or page.get_by_text("+49 40 5550100").first.is_visible()
    )
    assert page.get_by_role("link", name="Edit").first.is_visible()  # the party's own
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "party-page-phone.png"), full_page=True)
    assert page.console_errors == []


def test_converting_a_lead_reuses_the_person(page, live_server, alice, north):  # noqa: F811
    from kreis.leads import services as lead_services

    sales_services.ensure_default_pipeline()
    person = party_services.party_create(
        actor=alice,
        kind="person",
        first_name="Jana",
        last_name="Weber",
        emails=[{"value": "jana@nordlicht.de"}],
    )
    lead = lead_services.lead_create(
        actor=alice,
        first_name="Jana",
        last_name="Weber",
        email="JANA@nordlicht.de",
        company="Nordlicht Solar",
    )
    lead_services.lead_set_status(actor=alice, lead=lead, status="contacted")
    lead_services.lead_set_status(actor=alice, lead=lead, status="qualified")
    sign_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/leads/{lead.pk}/")
    convert = page.locator("[data-testid=convert]")
    convert.get_by_text("Reuses the existing person").wait_for()
    page.fill("input[name=deal_name]", "Solarpark Nord")
    convert.get_by_role("button", name="Convert").click()
    page.get_by_text("Lead converted.").wait_for()
    assert Party.objects.filter(last_name="Weber", deleted_at__isnull=True).count() == 1
    lead.refresh_from_db()
    assert lead.converted_person == person
    assert page.console_errors == []
