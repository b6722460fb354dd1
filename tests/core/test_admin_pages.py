"""Administrators manage users, teams and roles in the app."""

import pytest

from kreis.core.models import Role, Team, User
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def test_admin_creates_a_user_with_role_and_team(dana, north):
    response = client_for(dana).post(
        "/manage/users/new/",
        {
            "username": "erik",
            "first_name": "Erik",
            "last_name": "Engel",
            "email": "Erik@Example.com",
            "role": Role.SERVICE_AGENT,
            "teams": [north.pk],
            "password": "a sturdy passphrase 42",
        },
    )
    assert response.status_code == 302
    erik = User.objects.get(username="erik")
    assert erik.role == Role.SERVICE_AGENT
    assert erik.email == "erik@example.com"
    assert erik.check_password("a sturdy passphrase 42")
    assert list(erik.teams.all()) == [north]


def test_duplicate_username_is_shown_on_the_form_and_nothing_is_saved(dana, alice):
    response = client_for(dana).post(
        "/manage/users/new/", {"username": "ALICE", "role": Role.SALES_REP}
    )
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert User.objects.filter(username__iexact="alice").count() == 1


def test_weak_password_is_refused(dana):
    response = client_for(dana).post(
        "/manage/users/new/", {"username": "weak", "role": Role.SALES_REP, "password": "123"}
    )
    assert response.status_code == 200
    assert not User.objects.filter(username="weak").exists()


def test_admin_changes_role_and_deactivates(dana, alice):
    response = client_for(dana).post(
        f"/manage/users/{alice.pk}/",
        {"username": "alice", "role": Role.SALES_MANAGER, "email": "alice@example.com"},
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.role == Role.SALES_MANAGER
    assert alice.is_active is False  # unchecked box
    assert list(alice.teams.all()) == []


def test_admin_cannot_demote_themselves(dana):
    response = client_for(dana).post(
        f"/manage/users/{dana.pk}/", {"role": Role.SALES_REP, "is_active": "on"}
    )
    assert response.status_code == 200
    dana.refresh_from_db()
    assert dana.role == Role.ADMIN


def test_user_list_filters_by_role_and_htmx_gets_rows_only(dana, alice, mia):
    client = client_for(dana)
    page = client.get("/manage/users/", {"role": Role.SALES_MANAGER})
    assert "Mia" in page.content.decode()
    assert "Alice" not in page.content.decode()
    rows = client.get("/manage/users/", {"q": "alice"}, HTTP_HX_REQUEST="true")
    body = rows.content.decode()
    assert "Alice" in body
    assert "<html" not in body


def test_admin_creates_and_deletes_a_team(dana):
    client = client_for(dana)
    response = client.post("/teams/new/", {"name": "Key Accounts", "description": "Top 20"})
    team = Team.objects.get(name="Key Accounts")
    assert response.url == f"/teams/{team.pk}/"
    client.post(f"/teams/{team.pk}/delete/")
    assert not Team.objects.filter(pk=team.pk).exists()


def test_roles_page_counts_users_per_role(dana, alice, bob):
    body = client_for(dana).get("/manage/roles/").content.decode()
    assert "Sales rep" in body
    assert "2 users" in body


def test_user_list_pages_keep_the_filter(dana):
    from tests.factories import UserFactory

    UserFactory.create_batch(30, role=Role.SALES_REP)
    body = client_for(dana).get("/manage/users/", {"role": Role.SALES_REP}).content.decode()
    assert "1–25 of 30" in body
    assert "?role=sales_rep&amp;page=2" in body
