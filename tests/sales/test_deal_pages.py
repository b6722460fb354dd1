"""Deals in the web UI: the board (moves, stale moves, lost reasons), list, detail, forms,
forecast and pipeline configuration."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from kreis.sales.models import Deal, Pipeline, StageChange
from tests.conftest import client_for
from tests.parties.factories import OrganizationFactory
from tests.sales.factories import DealFactory, default_pipeline, lost_reason, stage_named

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def move(client, deal, stage, *, token=None, **extra):
    data = {
        "stage": stage.pk,
        "updated_at": (token or deal.updated_at).isoformat(),
        "position": 0,
        **extra,
    }
    return client.post(f"/deals/{deal.pk}/move/", data, **HTMX)


def test_board_shows_only_the_deals_the_user_may_see(alice, charlie, north, south):
    DealFactory(name="Nordsee Logistik", owner=alice, team=north)
    DealFactory(name="Alpen Bau", owner=charlie, team=south)
    body = client_for(alice).get("/deals/").content.decode()
    assert "Nordsee Logistik" in body
    assert "Alpen Bau" not in body
    assert "sales/board.js" in body
    assert "Qualification" in body
    assert "Won" in body


def test_board_caps_columns_and_counts_the_rest(alice, north):
    for i in range(23):
        DealFactory(name=f"D{i}", owner=alice, team=north, amount=100)
    body = client_for(alice).get("/deals/").content.decode()
    assert body.count('class="card deal-card"') == 20
    assert "+ 3 more in the list" in body
    assert "2.300,00" in body or "2,300.00" in body  # the column's sum covers all 23


def test_move_persists_and_records_the_stage_change(alice, north):
    deal = DealFactory(name="Pumpen", owner=alice, team=north)
    proposal = stage_named("Proposal")
    response = move(client_for(alice), deal, proposal)
    assert response.status_code == 200
    body = response.content.decode()
    assert f'id="deal-{deal.pk}"' in body
    assert f'data-column-summary="{proposal.pk}"' in body
    deal.refresh_from_db()
    assert deal.stage == proposal
    change = StageChange.objects.filter(deal=deal).first()
    assert (change.to_stage, change.changed_by) == (proposal, alice)
    assert deal.updated_at.isoformat() in body  # the card carries the new token


def test_stale_move_answers_409_with_a_message_and_changes_nothing(alice, bob, north):
    deal = DealFactory(owner=alice, team=north)
    seen = deal.updated_at
    assert move(client_for(bob), deal, stage_named("Proposal")).status_code == 200
    response = move(client_for(alice), deal, stage_named("Won"), token=seen)
    assert response.status_code == 409
    assert "Someone else changed this deal — reloaded" in response.content.decode()
    deal.refresh_from_db()
    assert deal.stage.name == "Proposal"
    assert deal.closed_at is None
    assert StageChange.objects.filter(deal=deal).count() == 1  # only bob's move


def test_stale_move_without_javascript_redirects_with_the_message(alice, bob, north):
    deal = DealFactory(owner=alice, team=north)
    seen = deal.updated_at
    move(client_for(bob), deal, stage_named("Proposal"))
    client = client_for(alice)
    response = client.post(
        f"/deals/{deal.pk}/move/",
        {"stage": stage_named("Won").pk, "updated_at": seen.isoformat()},
        follow=True,
    )
    assert "Someone else changed this deal — reloaded" in response.content.decode()


def test_lost_stage_needs_a_reason(alice, north):
    deal = DealFactory(owner=alice, team=north)
    lost = stage_named("Lost")
    client = client_for(alice)
    refused = move(client, deal, lost)
    assert refused.status_code == 422
    assert "Say why the deal was lost" in refused.content.decode()
    deal.refresh_from_db()
    assert deal.stage.name == "Qualification"
    # Without JavaScript the board asks on a page of its own.
    page = client.post(
        f"/deals/{deal.pk}/move/", {"stage": lost.pk, "updated_at": deal.updated_at.isoformat()}
    )
    assert page.status_code == 200
    assert "Why was" in page.content.decode()
    done = move(client, deal, lost, lost_reason=lost_reason().pk, lost_note="Budget gestrichen")
    assert done.status_code == 200
    deal.refresh_from_db()
    assert (deal.stage, deal.lost_reason, deal.lost_note) == (
        lost,
        lost_reason(),
        "Budget gestrichen",
    )


def test_rep_of_another_team_gets_404_on_detail_edit_and_move(alice, charlie, north):
    deal = DealFactory(owner=alice, team=north)
    client = client_for(charlie)
    assert client.get(f"/deals/{deal.pk}/").status_code == 404
    assert client.get(f"/deals/{deal.pk}/edit/").status_code == 404
    assert move(client, deal, stage_named("Won")).status_code == 404
    deal.refresh_from_db()
    assert deal.stage.name == "Qualification"


def test_read_only_user_sees_the_board_but_cannot_move(alice, rory, north):
    deal = DealFactory(name="Sichtbar", owner=alice, team=north)
    client = client_for(rory)
    body = client.get("/deals/").content.decode()
    assert "Sichtbar" in body
    assert "deal-move-form" not in body
    assert move(client, deal, stage_named("Won")).status_code == 403
    deal.refresh_from_db()
    assert deal.stage.name == "Qualification"
    assert client.get("/deals/new/").status_code == 403


def test_create_a_deal_with_organisation_lookup_and_lines(alice, north):
    org = OrganizationFactory(owner=alice, team=north, name="Hansa Werft")
    response = client_for(alice).post(
        "/deals/new/",
        {
            "name": "Kräne 2027",
            "stage": stage_named("Proposal").pk,
            "organization": f"Hansa Werft (#{org.pk})",
            "contact": "",
            "amount": "",
            "currency": "eur",
            "expected_close": "2027-03-31",
            "tags": "Ausschreibung",
            "lines-TOTAL_FORMS": "2",
            "lines-INITIAL_FORMS": "0",
            "lines-0-description": "Kran",
            "lines-0-quantity": "2",
            "lines-0-unit_price": "1500",
            "lines-1-quantity": "1",
        },
    )
    deal = Deal.objects.get(name="Kräne 2027")
    assert response.url == f"/deals/{deal.pk}/"
    assert (deal.organization, deal.amount, deal.currency) == (org, Decimal("3000.00"), "EUR")
    assert deal.stage.name == "Proposal"
    assert [t.name for t in deal.tags.all()] == ["Ausschreibung"]
    detail = client_for(alice).get(f"/deals/{deal.pk}/").content.decode()
    assert "Hansa Werft" in detail
    assert "Created in" in detail  # stage history
    assert f'hx-get="/activities/timeline/?deal={deal.pk}"' in detail


def test_edit_shows_history_old_to_new(alice, north):
    deal = DealFactory(name="Alt", owner=alice, team=north)
    client = client_for(alice)
    form = {
        "name": "Neu",
        "stage": deal.stage_id,
        "currency": "EUR",
        "amount": "1000",
        "owner": alice.pk,
        "team": north.pk,
        "lines-TOTAL_FORMS": "0",
        "lines-INITIAL_FORMS": "0",
    }
    # The factory bypasses the services: record a first version to diff against.
    Deal.history.model.objects.create(
        id=deal.pk,
        name="Alt",
        pipeline_id=deal.pipeline_id,
        stage_id=deal.stage_id,
        amount=deal.amount,
        currency="EUR",
        created_at=deal.created_at,
        history_date=timezone.now() - dt.timedelta(minutes=1),
        history_type="+",
        custom={},
    )
    assert client.post(f"/deals/{deal.pk}/edit/", form).status_code == 302
    body = client.get(f"/deals/{deal.pk}/").content.decode()
    assert "<del>Alt</del> → Neu" in body


def test_list_filters_exports_and_bulk_assigns(alice, bob, mia, charlie, north, south):
    DealFactory(name="Offen A", owner=alice, team=north, amount=100)
    won = DealFactory(name="Gewonnen B", owner=alice, team=north, stage=stage_named("Won"))
    DealFactory(name="Fremd C", owner=charlie, team=south)
    client = client_for(alice)
    body = client.get("/deals/list/?status=won", **HTMX).content.decode()
    assert "Gewonnen B" in body
    assert "Offen A" not in body
    assert "Fremd C" not in body
    csv = b"".join(client.get("/deals/list/export.csv").streaming_content).decode()
    assert "Offen A" in csv
    assert "Gewonnen B" in csv
    assert "Fremd C" not in csv
    # A rep may not give deals away; the team's manager may.
    refused = client.post(
        "/deals/bulk/", {"action": "assign_owner", "owner": bob.pk, "ids": [won.pk]}, follow=True
    )
    assert "Only a manager" in refused.content.decode()
    response = client_for(mia).post(
        "/deals/bulk/", {"action": "assign_owner", "owner": bob.pk, "ids": [won.pk]}
    )
    assert response.status_code == 302
    won.refresh_from_db()
    assert won.owner == bob


def test_bulk_delete_asks_first_and_is_all_or_nothing(alice, charlie, north, south):
    mine = DealFactory(owner=alice, team=north)
    theirs = DealFactory(owner=charlie, team=south)
    client = client_for(alice)
    confirm = client.post("/deals/bulk/", {"action": "delete", "ids": [mine.pk]})
    assert confirm.status_code == 200
    assert "Delete 1 deal?" in confirm.content.decode()
    assert Deal.objects.get(pk=mine.pk).deleted_at is None
    refused = client.post(
        "/deals/bulk/", {"action": "delete", "confirmed": "1", "ids": [mine.pk, theirs.pk]}
    )
    assert refused.status_code == 404
    assert Deal.objects.get(pk=mine.pk).deleted_at is None
    client.post("/deals/bulk/", {"action": "delete", "confirmed": "1", "ids": [mine.pk]})
    assert Deal.objects.get(pk=mine.pk).deleted_at is not None


def test_forecast_sums_weighted_open_and_won_amounts(alice, north):
    today = timezone.localdate()
    month = today.replace(day=28)
    DealFactory(
        owner=alice, team=north, amount=1000, expected_close=month, stage=stage_named("Proposal")
    )
    DealFactory(
        owner=alice, team=north, amount=2000, expected_close=month, stage=stage_named("Negotiation")
    )
    DealFactory(
        owner=alice,
        team=north,
        amount=500,
        stage=stage_named("Won"),
        closed_at=timezone.now(),
        expected_close=month,
    )
    data = client_for(alice).get("/deals/forecast.json").json()
    index = data["months"].index(today.strftime("%Y-%m"))
    assert Decimal(data["weighted"][index]) == Decimal("2000.00")  # 1000×50 % + 2000×75 %
    assert Decimal(data["won"][index]) == Decimal("500.00")
    page = client_for(alice).get("/deals/forecast/").content.decode()
    assert "forecast.js" in page
    assert "data-forecast-url" in page


def test_pipeline_configuration_is_for_admins(alice, dana):
    assert client_for(alice).get("/deals/pipelines/").status_code == 404
    client = client_for(dana)
    assert client.get("/deals/pipelines/").status_code == 200
    response = client.post(
        "/deals/pipelines/new/", {"name": "Projekte", "position": 2, "is_active": "on"}
    )
    pipeline = Pipeline.objects.get(name="Projekte")
    assert response.url == f"/deals/pipelines/{pipeline.pk}/"
    client.post(
        f"/deals/pipelines/{pipeline.pk}/stages/",
        {"new-name": "Angebot", "new-probability": 40, "new-kind": "open"},
    )
    assert pipeline.stages.filter(name="Angebot", probability=40).exists()
    stage = pipeline.stages.get(name="Angebot")
    client.post(
        f"/deals/stages/{stage.pk}/",
        {
            f"stage-{stage.pk}-name": "Angebot",
            f"stage-{stage.pk}-probability": 60,
            f"stage-{stage.pk}-kind": "open",
        },
    )
    stage.refresh_from_db()
    assert stage.probability == 60


def test_board_and_list_need_a_constant_number_of_queries(
    alice, north, django_assert_max_num_queries
):
    org = OrganizationFactory(owner=alice, team=north)
    stages = list(default_pipeline().stages.all())
    for i in range(60):
        DealFactory(owner=alice, team=north, organization=org, stage=stages[i % len(stages)])
    client = client_for(alice)
    client.get("/deals/")  # warm caches (session, content types)
    with django_assert_max_num_queries(9):
        assert client.get("/deals/").status_code == 200
    with django_assert_max_num_queries(13):
        assert client.get("/deals/list/").status_code == 200
