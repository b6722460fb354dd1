"""The REST API: API keys, session auth with CSRF, problem details, pagination, strict input."""

import pytest
from django.test import Client

from kreis.core.models import ApiKey, Team
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


def bearer(raw):
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_without_credentials_the_api_answers_401_problem(db):
    response = Client().get("/api/v1/me")
    assert response.status_code == 401
    assert response["Content-Type"] == PROBLEM
    assert response.json()["status"] == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_api_key_identifies_the_user_and_records_last_use(alice, api_key_for):
    raw = api_key_for(alice, scope="read")
    response = Client().get("/api/v1/me", **bearer(raw))
    assert response.status_code == 200
    assert response.json()["username"] == "alice"
    assert response.json()["teams"] == [
        {"id": alice.teams.get().pk, "name": "North", "is_manager": False}
    ]
    assert ApiKey.objects.get(user=alice).last_used_at is not None


def test_only_the_hash_of_a_key_is_stored(alice, api_key_for):
    raw = api_key_for(alice)
    stored = ApiKey.objects.get(user=alice)
    assert raw not in {stored.key_hash, stored.prefix}
    assert raw.startswith(stored.prefix)


def test_read_key_cannot_write(dana, api_key_for):
    raw = api_key_for(dana, scope="read")
    response = Client().post(
        "/api/v1/teams", {"name": "X"}, content_type="application/json", **bearer(raw)
    )
    assert response.status_code == 403
    assert response["Content-Type"] == PROBLEM
    assert not Team.objects.filter(name="X").exists()


def test_revoked_key_is_refused(alice, api_key_for):
    raw = api_key_for(alice)
    created = Client().get("/api/v1/api-keys", **bearer(raw)).json()["items"][0]
    Client().delete(f"/api/v1/api-keys/{created['id']}", **bearer(raw))
    assert Client().get("/api/v1/me", **bearer(raw)).status_code == 401


def test_key_of_inactive_user_is_refused(alice, api_key_for):
    raw = api_key_for(alice)
    alice.is_active = False
    alice.save()
    assert Client().get("/api/v1/me", **bearer(raw)).status_code == 401


def test_browser_session_needs_csrf_token_for_writes(dana):
    client = Client(enforce_csrf_checks=True)
    client.force_login(dana)
    assert client.get("/api/v1/me").status_code == 200
    response = client.post("/api/v1/teams", {"name": "Y"}, content_type="application/json")
    assert response.status_code == 403
    assert not Team.objects.filter(name="Y").exists()
    client.get("/")  # sets the CSRF cookie, as the app shell does
    token = client.cookies["csrftoken"].value
    response = client.post(
        "/api/v1/teams", {"name": "Y"}, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 201


def test_validation_errors_name_the_field(dana, api_key_for):
    raw = api_key_for(dana)
    response = Client().post(
        "/api/v1/users",
        {"username": "no spaces allowed", "role": "king"},
        content_type="application/json",
        **bearer(raw),
    )
    assert response.status_code == 422
    assert response["Content-Type"] == PROBLEM
    fields = {error["field"] for error in response.json()["errors"]}
    assert fields == {"username", "role"}


def test_unknown_and_read_only_fields_are_rejected_not_ignored(alice, api_key_for):
    raw = api_key_for(alice)
    response = Client().patch(
        "/api/v1/me",
        {"first_name": "Alicia", "role": "admin", "id": 7},
        content_type="application/json",
        **bearer(raw),
    )
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"role", "id"}
    alice.refresh_from_db()
    assert alice.first_name == "Alice"
    assert alice.role == "sales_rep"


def test_domain_errors_are_field_level_problems(dana, alice, api_key_for):
    raw = api_key_for(dana)
    response = Client().post(
        "/api/v1/users", {"username": "alice"}, content_type="application/json", **bearer(raw)
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "username"


def test_rep_cannot_create_users_or_see_other_teams(alice, south, api_key_for):
    raw = api_key_for(alice)
    response = Client().post(
        "/api/v1/users", {"username": "mallory"}, content_type="application/json", **bearer(raw)
    )
    assert response.status_code == 403
    assert Client().get(f"/api/v1/teams/{south.pk}", **bearer(raw)).status_code == 404
    listed = Client().get("/api/v1/teams", **bearer(raw)).json()
    assert [t["name"] for t in listed["items"]] == ["North"]


def test_user_list_is_paginated(dana, alice, bob, charlie, api_key_for):
    raw = api_key_for(dana)
    page = Client().get("/api/v1/users?page=2&page_size=2", **bearer(raw)).json()
    assert page["count"] == 4
    assert len(page["items"]) == 2


def test_manager_manages_members_through_the_api(mia, charlie, north, api_key_for):
    raw = api_key_for(mia)
    response = Client().put(
        f"/api/v1/teams/{north.pk}/members/{charlie.pk}",
        {"is_manager": True},
        content_type="application/json",
        **bearer(raw),
    )
    assert response.status_code == 200
    assert {
        "user_id": charlie.pk,
        "username": "charlie",
        "name": "Charlie Christ",
        "is_manager": True,
    } in response.json()["members"]


def test_api_key_is_shown_once_on_creation(alice):
    client = client_for(alice)
    client.get("/")
    created = client.post(
        "/api/v1/api-keys",
        {"name": "ERP", "scope": "read"},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value,
    )
    assert created.status_code == 201
    raw = created.json()["key"]
    assert Client().get("/api/v1/me", **bearer(raw)).status_code == 200
    listed = client.get("/api/v1/api-keys").json()["items"]
    assert "key" not in listed[0]


def test_read_only_user_gets_no_write_key(rory, api_key_for):
    with pytest.raises(Exception, match="read keys"):
        api_key_for(rory, scope="read_write")


def test_notifications_can_be_read_and_marked(alice, api_key_for):
    from tests.factories import NotificationFactory

    first = NotificationFactory(user=alice)
    NotificationFactory(user=alice)
    raw = api_key_for(alice)
    assert Client().get("/api/v1/notifications?unread=true", **bearer(raw)).json()["count"] == 2
    Client().post(f"/api/v1/notifications/{first.pk}/read", **bearer(raw))
    assert Client().get("/api/v1/notifications?unread=true", **bearer(raw)).json()["count"] == 1


def test_someone_elses_notification_is_404(alice, bob, api_key_for):
    from tests.factories import NotificationFactory

    theirs = NotificationFactory(user=bob)
    raw = api_key_for(alice)
    assert (
        Client().post(f"/api/v1/notifications/{theirs.pk}/read", **bearer(raw)).status_code == 404
    )


def test_openapi_schema_and_docs_page(alice):
    schema = Client().get("/api/v1/openapi.json").json()
    assert schema["info"]["title"] == "Kreis API"
    assert "/api/v1/teams" in schema["paths"]
    docs = client_for(alice).get("/api/v1/docs")
    assert docs.status_code == 200


def test_a_flood_of_bad_keys_is_throttled(alice, api_key_for):
    raw = api_key_for(alice)
    for _ in range(30):
        assert Client().get("/api/v1/me", **bearer("kreis_wrong")).status_code == 401
    response = Client().get("/api/v1/me", **bearer("kreis_wrong"))
    assert response.status_code == 429
    assert response["Content-Type"] == PROBLEM
    assert response["Retry-After"] == "300"
    # The valid key is never refused (an integration behind the same address keeps working).
    assert Client().get("/api/v1/me", **bearer(raw)).status_code == 200
