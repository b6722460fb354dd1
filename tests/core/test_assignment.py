"""Who may give a record to whom — the rule every service enforces (``check_assignment``):
administrators anyone; a team's manager the members of the teams she manages; everyone else
only themselves and their own teams."""

import pytest
from django.core.exceptions import ValidationError
from django.forms.models import model_to_dict

from kreis.core.services import check_assignment
from kreis.leads.services import lead_create, lead_update
from tests.conftest import client_for
from tests.core.route_world import form_on_page
from tests.factories import MembershipFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def refused(**kwargs) -> dict:
    with pytest.raises(ValidationError) as caught:
        check_assignment(**kwargs)
    return caught.value.message_dict


def test_rep_assigns_only_herself_and_her_own_teams(alice, bob, charlie, north, south):
    check_assignment(actor=alice, owner=alice, team=north)
    check_assignment(actor=alice, owner=None, team=None)
    assert "owner_id" in refused(actor=alice, owner=bob, team=north)
    assert "owner_id" in refused(actor=alice, owner=charlie, team=north)
    assert "team_id" in refused(actor=alice, owner=alice, team=south)


def test_manager_assigns_members_of_the_team_she_manages(mia, alice, bob, north):
    check_assignment(actor=mia, owner=alice, team=north)
    check_assignment(actor=mia, owner=bob, team=north)
    check_assignment(actor=mia, owner=mia, team=north)


def test_manager_cannot_assign_outside_her_teams(mia, alice, charlie, north, south):
    # charlie is in South, which mia does not manage; nor may she hand a record to South.
    assert "owner_id" in refused(actor=mia, owner=charlie, team=north)
    assert "owner_id" in refused(actor=mia, owner=charlie, team=None)
    assert "team_id" in refused(actor=mia, owner=alice, team=south)


def test_manager_of_one_team_cannot_assign_members_of_a_team_she_only_belongs_to(mia, north):
    east = TeamFactory(name="East")
    MembershipFactory(team=east, user=mia, is_manager=False)
    erik = UserFactory(username="erik")
    MembershipFactory(team=east, user=erik)
    check_assignment(actor=mia, owner=mia, team=east)  # her own team: allowed for herself
    assert "owner_id" in refused(actor=mia, owner=erik, team=east)


def test_administrator_assigns_anyone_to_any_team(dana, alice, charlie, south):
    check_assignment(actor=dana, owner=alice, team=south)
    check_assignment(actor=dana, owner=charlie, team=None)


def test_system_actor_assigns_anyone(alice, south):
    check_assignment(actor=None, owner=alice, team=south)


def test_service_refuses_a_manager_assigning_a_lead_outside_her_teams(mia, alice, charlie, north):
    lead = lead_create(actor=alice, last_name="Koch", company="Koch GmbH")
    with pytest.raises(ValidationError):
        lead_update(actor=mia, lead=lead, owner=charlie)
    lead.refresh_from_db()
    assert lead.owner == alice
    lead_update(actor=mia, lead=lead, owner=mia)
    lead.refresh_from_db()
    assert lead.owner == mia


def test_api_refuses_a_manager_assigning_outside_her_teams_and_changes_nothing(
    mia, alice, charlie, north, south
):
    lead = lead_create(actor=alice, last_name="Koch", company="Koch GmbH")
    before = model_to_dict(lead)
    client = client_for(mia)
    to_charlie = client.patch(
        f"/api/v1/leads/{lead.pk}", {"owner_id": charlie.pk}, content_type="application/json"
    )
    to_south = client.patch(
        f"/api/v1/leads/{lead.pk}", {"team_id": south.pk}, content_type="application/json"
    )
    assert to_charlie.status_code in (400, 422), to_charlie.content
    assert to_south.status_code in (400, 404, 422), to_south.content
    lead.refresh_from_db()
    assert model_to_dict(lead) == before
    to_herself = client.patch(
        f"/api/v1/leads/{lead.pk}", {"owner_id": mia.pk}, content_type="application/json"
    )
    assert to_herself.status_code == 200, to_herself.content
    lead.refresh_from_db()
    assert lead.owner == mia


def test_rep_cannot_hand_her_deal_to_a_teammate_in_the_web_form(alice, bob, north):
    from kreis.sales.services import deal_create

    deal = deal_create(actor=alice, name="Pumpen")
    url = f"/deals/{deal.pk}/edit/"
    client = client_for(alice)
    form = form_on_page(client.get(url).content.decode(), url)
    assert form is not None
    form["owner"] = [str(bob.pk)]
    response = client.post(url, form)
    assert response.status_code == 200  # the form again, with the error
    assert "Only a manager of the owner" in response.content.decode()
    deal.refresh_from_db()
    assert deal.owner == alice
