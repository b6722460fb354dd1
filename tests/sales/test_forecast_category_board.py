"""A deal's forecast category on the board: shown on every card, changed in place by whoever
may change the deal, refused when stale or impossible, recorded in the deal's history; the
edit form and PATCH /deals/{id} set it too."""

import pytest
from django.utils import translation

from kreis.sales.models import Deal
from kreis.sales.services import deal_update
from tests.conftest import client_for
from tests.sales.factories import DealFactory, stage_named
from tests.sales.test_deal_api import api_for

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def set_category(client, deal, category, *, token=None, **extra):
    data = {
        "forecast_category": category,
        "updated_at": (token or deal.updated_at).isoformat(),
    }
    return client.post(f"/deals/{deal.pk}/forecast-category/", data, **extra)


def test_card_shows_the_category_and_the_rep_changes_it_in_place(alice, north):
    deal = DealFactory(name="Kühlhaus", owner=alice, team=north, stage=stage_named("Proposal"))
    deal_update(actor=alice, deal=deal, forecast_category="best_case")
    client = client_for(alice)
    board = client.get("/deals/").content.decode()
    assert f'id="forecast-{deal.pk}"' in board
    assert '<option value="best_case" selected>Best case</option>' in board
    assert '<option value="closed"' not in board  # closed comes only with winning

    response = set_category(client, deal, "commit", **HTMX)

    assert response.status_code == 200
    card = response.content.decode()
    assert f'id="deal-{deal.pk}"' in card
    assert '<option value="commit" selected>Commit</option>' in card
    deal.refresh_from_db()
    assert deal.forecast_category == "commit"
    assert deal.updated_at.isoformat() in card  # the next change carries the new token
    # The deal's history names the change, who made it and old → new in words.
    latest = deal.history.first()
    assert (latest.forecast_category, latest.history_user) == ("commit", alice)
    detail = client.get(f"/deals/{deal.pk}/").content.decode()
    assert "Forecast category:</span> <del>Best case</del> → Commit" in detail


def test_without_javascript_the_button_saves_and_returns_to_the_board(alice, north):
    deal = DealFactory(name="Silo", owner=alice, team=north)
    response = set_category(client_for(alice), deal, "best_case", follow=True)
    body = response.content.decode()
    assert response.redirect_chain[-1][0].startswith("/deals/?pipeline=")
    assert "Forecast category of “Silo”: Best case." in body
    deal.refresh_from_db()
    assert deal.forecast_category == "best_case"


def test_stale_card_is_refused_with_409_and_changes_nothing(alice, bob, north):
    deal = DealFactory(owner=alice, team=north)
    seen = deal.updated_at
    assert set_category(client_for(bob), deal, "commit", **HTMX).status_code == 200
    response = set_category(client_for(alice), deal, "best_case", token=seen, **HTMX)
    assert response.status_code == 409
    body = response.content.decode()
    assert "Someone else changed this deal — reloaded" in body
    assert '<option value="commit" selected>Commit</option>' in body  # bob's choice shown
    deal.refresh_from_db()
    assert deal.forecast_category == "commit"


@pytest.mark.parametrize("category", ["closed", "certain", ""])
def test_closed_or_unknown_category_is_refused(alice, north, category):
    deal = DealFactory(owner=alice, team=north)
    response = set_category(client_for(alice), deal, category, **HTMX)
    assert response.status_code == 422
    assert "Choose pipeline, best case or commit." in response.content.decode()
    deal.refresh_from_db()
    assert deal.forecast_category == "pipeline"


def test_outsider_gets_404_and_read_only_user_403_and_sees_only_text(alice, charlie, rory, north):
    deal = DealFactory(name="Sichtbar", owner=alice, team=north)
    assert set_category(client_for(charlie), deal, "commit", **HTMX).status_code == 404
    reader = client_for(rory)
    assert set_category(reader, deal, "commit", **HTMX).status_code == 403
    board = reader.get("/deals/").content.decode()
    assert "deal-forecast-form" not in board
    assert 'data-testid="deal-forecast-category"' in board
    assert ">Pipeline</div>" in board
    deal.refresh_from_db()
    assert deal.forecast_category == "pipeline"


def test_won_card_shows_closed_and_lost_card_no_category(alice, north):
    won = DealFactory(name="Gewonnen", owner=alice, team=north, stage=stage_named("Won"))
    Deal.objects.filter(pk=won.pk).update(forecast_category="closed")
    lost = DealFactory(name="Verloren", owner=alice, team=north, stage=stage_named("Lost"))
    board = client_for(alice).get("/deals/").content.decode()
    won_card = board.split(f'id="deal-{won.pk}"')[1].split("</article>")[0]
    lost_card = board.split(f'id="deal-{lost.pk}"')[1].split("</article>")[0]
    assert "Closed</div>" in won_card
    assert "deal-forecast-form" not in won_card
    assert "deal-forecast-category" not in lost_card


def test_board_speaks_german(alice, north):
    alice.language = "de"
    alice.save()
    DealFactory(owner=alice, team=north)
    with translation.override("de"):
        board = client_for(alice).get("/deals/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Forecast-Kategorie festlegen" in board
    assert ">Pipeline</option>" in board
    assert ">Best Case</option>" in board


def test_edit_form_sets_the_category(alice, north):
    deal = DealFactory(name="Halle", owner=alice, team=north, stage=stage_named("Proposal"))
    form = {
        "name": "Halle",
        "stage": deal.stage_id,
        "currency": "EUR",
        "amount": "1000",
        "owner": alice.pk,
        "team": north.pk,
        "forecast_category": "commit",
        "lines-TOTAL_FORMS": "0",
        "lines-INITIAL_FORMS": "0",
    }
    assert client_for(alice).post(f"/deals/{deal.pk}/edit/", form).status_code == 302
    deal.refresh_from_db()
    assert deal.forecast_category == "commit"


def test_api_patch_sets_the_category_and_refuses_closed_for_an_open_deal(alice, north, api_key_for):
    api = api_for(api_key_for(alice))
    deal = DealFactory(owner=alice, team=north)
    changed = api.patch(f"/deals/{deal.pk}", {"forecast_category": "best_case"})
    assert changed.status_code == 200, changed.json()
    assert changed.json()["forecast_category"] == "best_case"
    refused = api.patch(f"/deals/{deal.pk}", {"forecast_category": "closed"})
    assert refused.status_code in (400, 422)
    deal.refresh_from_db()
    assert deal.forecast_category == "best_case"
    assert deal.history.first().forecast_category == "best_case"
