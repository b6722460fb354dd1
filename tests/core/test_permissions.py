"""Who may see and change what: owner, team, manager of the team, administrator, read-only."""

from types import SimpleNamespace

import pytest

from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def record(owner, team):
    return SimpleNamespace(owner_id=owner.pk if owner else None, team_id=team.pk if team else None)


def test_owner_and_teammates_see_and_change_a_record(alice, bob, charlie, north):
    mine = record(alice, north)
    assert alice.has_perm("core.view_record", mine)
    assert alice.has_perm("core.change_record", mine)
    assert bob.has_perm("core.change_record", mine)
    assert not charlie.has_perm("core.view_record", mine)
    assert not charlie.has_perm("core.change_record", mine)


def test_owner_sees_own_record_without_a_team(alice, bob):
    private = record(alice, None)
    assert alice.has_perm("core.change_record", private)
    assert not bob.has_perm("core.view_record", private)


def test_read_only_user_reads_but_never_changes(rory, alice, north):
    teams_record = record(alice, north)
    assert rory.has_perm("core.view_record", teams_record)
    assert not rory.has_perm("core.change_record", teams_record)


def test_administrator_sees_and_changes_everything(dana, charlie, south):
    assert dana.has_perm("core.change_record", record(charlie, south))
    assert dana.has_perm("core.manage_users")


def test_inactive_user_has_no_rights(alice, north):
    alice.is_active = False
    alice.save()
    assert not alice.has_perm("core.view_record", record(alice, north))


def test_team_page_of_another_team_is_404(alice, charlie, south):
    assert client_for(alice).get(f"/teams/{south.pk}/").status_code == 404
    assert client_for(charlie).get(f"/teams/{south.pk}/").status_code == 200


def test_teammate_cannot_edit_team_but_manager_can(alice, mia, north):
    response = client_for(alice).post(f"/teams/{north.pk}/", {"name": "Hijacked"})
    assert response.status_code == 403
    north.refresh_from_db()
    assert north.name == "North"
    response = client_for(mia).post(f"/teams/{north.pk}/", {"name": "North-East"})
    assert response.status_code == 302
    north.refresh_from_db()
    assert north.name == "North-East"


def test_manager_adds_and_removes_members(mia, charlie, north):
    client = client_for(mia)
    client.post(f"/teams/{north.pk}/members/", {"user": charlie.pk, "is_manager": ""})
    assert north.memberships.filter(user=charlie).exists()
    client.post(f"/teams/{north.pk}/members/{charlie.pk}/remove/")
    assert not north.memberships.filter(user=charlie).exists()


def test_rep_cannot_add_members_to_another_team(alice, charlie, south):
    response = client_for(alice).post(f"/teams/{south.pk}/members/", {"user": alice.pk})
    assert response.status_code == 404
    assert not south.memberships.filter(user=alice).exists()


@pytest.mark.parametrize(
    "url", ["/manage/users/", "/manage/users/new/", "/manage/roles/", "/teams/new/"]
)
def test_administration_pages_are_hidden_from_non_admins(alice, mia, url):
    assert client_for(alice).get(url).status_code == 404
    assert client_for(mia).get(url).status_code == 404


def test_editing_a_user_is_404_for_non_admins(alice, bob):
    assert client_for(alice).get(f"/manage/users/{bob.pk}/").status_code == 404
