"""The deal board in a real browser: move by select and by drag, a refused stale move,
the lost-reason dialog, the forecast category set from the keyboard, and the board at phone
width."""

import pytest

from kreis.sales import services
from kreis.sales.models import Deal
from tests.factories import PASSWORD
from tests.sales.factories import DealFactory, lost_reason, stage_named

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, live_server, username):  # noqa: F811
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def column(page, stage):  # noqa: F811
    return page.locator(f'.deal-column-cards[data-stage-id="{stage.pk}"]')


def test_moves_on_the_board(page, live_server, alice, bob, north):  # noqa: F811
    services.ensure_default_pipeline()  # the database was emptied after the last test
    lost_reason() or services.lost_reason_create(actor=None, name="Preis")
    deal = DealFactory(name="Pumpen", owner=alice, team=north)
    other = DealFactory(name="Ventile", owner=alice, team=north)
    sign_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/deals/")

    # Keyboard-friendly: choose the stage in the card and press the arrow button.
    card = page.locator(f"#deal-{deal.pk}")
    card.locator("select[name=stage]").select_option(str(stage_named("Proposal").pk))
    card.locator(".deal-move-form button[type=submit]").click()
    column(page, stage_named("Proposal")).locator(f"#deal-{deal.pk}").wait_for()
    page.locator(f'#deal-{deal.pk}[data-stage-id="{stage_named("Proposal").pk}"]').wait_for()
    assert Deal.objects.get(pk=deal.pk).stage.name == "Proposal"

    # Someone else moves it meanwhile: the board refuses, says so, and shows the truth.
    services.deal_move(actor=bob, deal=Deal.objects.get(pk=deal.pk), stage=stage_named("Won"))
    card = page.locator(f"#deal-{deal.pk}")
    card.locator("select[name=stage]").select_option(str(stage_named("Negotiation").pk))
    card.locator(".deal-move-form button[type=submit]").click()
    page.locator("#board-alert").get_by_text("Someone else changed this deal").wait_for()
    column(page, stage_named("Won")).locator(f"#deal-{deal.pk}").wait_for()
    assert Deal.objects.get(pk=deal.pk).stage.name == "Won"

    # A lost stage asks why.
    card = page.locator(f"#deal-{other.pk}")
    card.locator("select[name=stage]").select_option(str(stage_named("Lost").pk))
    card.locator(".deal-move-form button[type=submit]").click()
    page.locator("#lost-modal").wait_for(state="visible")
    page.select_option("#lost-modal select[name=lost_reason]", index=1)
    page.click("#lost-modal button.btn-danger")
    page.locator(f'#deal-{other.pk}[data-stage-id="{stage_named("Lost").pk}"]').wait_for()
    assert Deal.objects.get(pk=other.pk).lost_reason is not None
    unexpected = [e for e in page.console_errors if "409" not in e]
    assert unexpected == []


def test_forecast_category_is_set_in_place_with_the_keyboard(page, live_server, alice, north):  # noqa: F811
    services.ensure_default_pipeline()
    deal = DealFactory(name="Prognose", owner=alice, team=north)
    sign_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/deals/")
    select = page.locator(f"#forecast-{deal.pk}")
    assert select.input_value() == "pipeline"
    # Tab from the deal's link to its category, choose with the keyboard: saved at once.
    page.locator(f"#deal-{deal.pk} a").first.focus()
    page.keyboard.press("Tab")
    assert select.evaluate("el => el === document.activeElement")
    select.select_option("commit")
    page.locator(f'#forecast-{deal.pk} option[value="commit"][selected]').wait_for(state="attached")
    assert Deal.objects.get(pk=deal.pk).forecast_category == "commit"
    # The fresh card keeps the focus and the token: the next choice saves as well.
    assert page.evaluate("document.activeElement.id") == f"forecast-{deal.pk}"
    page.locator(f"#forecast-{deal.pk}").select_option("best_case")
    page.locator(f'#forecast-{deal.pk} option[value="best_case"][selected]').wait_for(
        state="attached"
    )
    assert Deal.objects.get(pk=deal.pk).forecast_category == "best_case"
    assert page.console_errors == []


def test_board_fits_a_phone_and_scrolls_sideways(page, live_server, alice, north):  # noqa: F811
    services.ensure_default_pipeline()
    DealFactory(name="Mobil", owner=alice, team=north)
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/deals/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    board = page.locator("[data-deal-board]")
    assert board.evaluate("el => el.scrollWidth > el.clientWidth")
    assert page.get_by_role("link", name="Mobil").is_visible()
    assert page.console_errors == []
