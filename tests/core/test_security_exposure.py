"""What leaks past the permission checks: cached answers of signed-in users, colleagues'
contact details."""

import pytest
from django.test import Client

from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def no_store(response) -> bool:
    return "no-store" in response.get("Cache-Control", "")


@pytest.mark.parametrize("path", ["/", "/parties/", "/parties/export.csv", "/api/v1/organizations"])
def test_signed_in_answers_are_never_stored_by_caches(alice, path):
    response = client_for(alice).get(path)
    assert response.status_code == 200
    assert no_store(response)


def test_api_key_answers_are_never_stored_by_caches(alice, api_key_for):
    raw = api_key_for(alice, scope="read")
    response = Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200
    assert no_store(response)


def test_static_files_stay_cacheable_for_signed_in_users(alice):
    response = client_for(alice).get("/static/kreis/kreis.css")
    assert response.status_code == 200
    assert not no_store(response)


def test_reps_see_colleagues_names_but_not_their_email_or_phone(alice, bob, charlie):
    bob.phone = "+49301234567"
    bob.save()
    users = {u["username"]: u for u in client_for(alice).get("/api/v1/users").json()["items"]}
    assert users["bob"]["first_name"] == "Bob"
    assert users["bob"]["email"] is None
    assert users["bob"]["phone"] is None
    assert users["charlie"]["email"] is None
    assert users["alice"]["email"] == "alice@example.com"  # her own
    detail = client_for(alice).get(f"/api/v1/users/{bob.pk}").json()
    assert detail["email"] is None
    assert detail["phone"] is None


def test_reps_cannot_find_colleagues_by_email(alice, bob):
    found = client_for(alice).get("/api/v1/users", {"q": "bob@example"}).json()["items"]
    assert found == []
    page = client_for(alice).get("/search/", {"q": "Becker"}).content.decode()
    assert "Bob Becker" in page
    assert "bob@example.com" not in page


def test_administrators_see_contact_details(dana, bob):
    bob.phone = "+49301234567"
    bob.save()
    users = {u["username"]: u for u in client_for(dana).get("/api/v1/users").json()["items"]}
    assert users["bob"]["email"] == "bob@example.com"
    assert users["bob"]["phone"] == "+49301234567"
    found = client_for(dana).get("/api/v1/users", {"q": "bob@example"}).json()["items"]
    assert [u["username"] for u in found] == ["bob"]
    page = client_for(dana).get("/search/", {"q": "Becker"}).content.decode()
    assert "bob@example.com" in page
