"""Activities through /api/v1: CRUD per kind, strict input, ETag, complete, bulk, permissions."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from kreis.activities.models import Activity
from tests.activities.factories import ActivityFactory, TaskFactory
from tests.conftest import client_for
from tests.parties.factories import OrganizationFactory

pytestmark = pytest.mark.django_db


def api_for(key):
    class Api:
        def __getattr__(self, method):
            def call(path, data=None, **headers):
                return getattr(Client(), method)(
                    f"/api/v1{path}",
                    data,
                    content_type="application/json",
                    HTTP_AUTHORIZATION=f"Bearer {key}",
                    **headers,
                )

            return call

    return Api()


@pytest.fixture
def api(alice, api_key_for):
    return api_for(api_key_for(alice))


@pytest.fixture
def acme(alice, north):
    return OrganizationFactory(name="ACME GmbH", owner=alice, team=north, external_id="ERP-7")


def test_create_read_update_delete_a_task(api, alice, north, acme):
    due = (timezone.now() + timedelta(days=2)).replace(microsecond=0)
    created = api.post(
        "/activities",
        {
            "kind": "task",
            "subject": "Send the quote",
            "body": "<p>With <strong>discount</strong></p><script>x()</script>",
            "occurred_at": due.isoformat(),
            "reminder_at": (due - timedelta(hours=2)).isoformat(),
            "party_id": acme.pk,
        },
    )
    assert created.status_code == 201, created.json()
    task = created.json()
    assert task["body"] == "<p>With <strong>discount</strong></p>"
    assert (task["owner_id"], task["team_id"], task["done_at"]) == (alice.pk, north.pk, None)
    fetched = api.get(f"/activities/{task['id']}")
    etag = fetched["ETag"]
    changed = api.patch(f"/activities/{task['id']}", {"subject": "Send the final quote"})
    assert changed.json()["subject"] == "Send the final quote"
    # The version fetched before the change is stale now.
    stale = api.patch(f"/activities/{task['id']}", {"subject": "Lost update"}, HTTP_IF_MATCH=etag)
    assert stale.status_code == 412
    fresh = api.patch(f"/activities/{task['id']}", {"subject": "OK"}, HTTP_IF_MATCH=changed["ETag"])
    assert fresh.status_code == 200
    completed = api.post(f"/activities/{task['id']}/complete")
    assert completed.json()["done_at"] is not None
    assert api.delete(f"/activities/{task['id']}").status_code == 204
    assert api.get(f"/activities/{task['id']}").status_code == 404
    assert Activity.objects.get(pk=task["id"]).deleted_at is not None


def test_kind_specific_fields_are_validated(api, acme):
    start = timezone.now() + timedelta(days=1)
    meeting = api.post(
        "/activities",
        {
            "kind": "meeting",
            "subject": "Workshop",
            "occurred_at": start.isoformat(),
            "ends_at": (start - timedelta(hours=1)).isoformat(),
        },
    )
    assert meeting.status_code == 422
    assert [e["field"] for e in meeting.json()["errors"]] == ["ends_at"]
    note = api.post("/activities", {"kind": "note", "body": "x", "duration_minutes": 5})
    assert note.status_code == 422
    assert note.json()["errors"][0]["field"] == "duration_minutes"
    call = api.post(
        "/activities",
        {"kind": "call", "subject": "Call", "direction": "sideways"},
    )
    assert call.status_code == 422


def test_unknown_and_read_only_fields_are_refused(api, bob, acme):
    for payload in (
        {"kind": "note", "body": "x", "id": 5},
        {"kind": "note", "body": "x", "created_at": "2024-01-01T00:00:00Z"},
        {"kind": "note", "body": "x", "colour": "red"},
    ):
        response = api.post("/activities", payload)
        assert response.status_code == 422, payload
    # A rep may not make a teammate the assignee.
    response = api.post("/activities", {"kind": "note", "body": "x", "owner_id": bob.pk})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "owner_id"
    assert not Activity.objects.exists()


def test_list_filters(api, alice, acme):
    TaskFactory(party=acme, team=acme.team, owner=alice, subject="Open task")
    TaskFactory(party=acme, team=acme.team, owner=alice, subject="Done", done_at=timezone.now())
    ActivityFactory(team=acme.team, owner=alice, subject="Loose note")
    open_tasks = api.get(f"/activities?kind=task&open=true&party_id={acme.pk}").json()
    assert [a["subject"] for a in open_tasks["items"]] == ["Open task"]
    everything = api.get("/activities?ordering=subject").json()
    assert [a["subject"] for a in everything["items"]] == ["Done", "Loose note", "Open task"]


def test_other_teams_activity_is_404_and_their_party_cannot_be_linked(
    api, charlie, south, api_key_for
):
    theirs = ActivityFactory(owner=charlie, team=south)
    assert api.get(f"/activities/{theirs.pk}").status_code == 404
    assert api.patch(f"/activities/{theirs.pk}", {"subject": "x"}).status_code == 404
    assert api.post(f"/activities/{theirs.pk}/complete").status_code == 404
    party = OrganizationFactory(owner=charlie, team=south)
    response = api.post("/activities", {"kind": "note", "body": "x", "party_id": party.pk})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "party_id"


def test_read_only_user_cannot_write(rory, alice, acme, api_key_for):
    task = TaskFactory(party=acme, team=acme.team, owner=alice)
    assert api_for(api_key_for(rory, scope="read")).get(f"/activities/{task.pk}").status_code == 200
    # Through the browser session, where only the role stops the write.
    session = client_for(rory)

    class Api:
        def __getattr__(self, method):
            def call(path, data=None):
                return getattr(session, method)(
                    f"/api/v1{path}", data, content_type="application/json"
                )

            return call

    api = Api()
    assert api.get(f"/activities/{task.pk}").status_code == 200
    assert api.post("/activities", {"kind": "note", "body": "x"}).status_code == 403
    assert api.patch(f"/activities/{task.pk}", {"subject": "x"}).status_code == 404
    assert api.post(f"/activities/{task.pk}/complete").status_code == 404
    assert (
        api.post("/activities/bulk", {"items": [{"kind": "note", "body": "x"}]}).status_code == 403
    )


def test_bulk_creates_all_rows_with_party_external_ids(api, acme):
    when = (timezone.now() - timedelta(days=1)).isoformat()
    response = api.post(
        "/activities/bulk",
        {
            "items": [
                {"kind": "note", "body": "Imported", "party_external_id": "ERP-7"},
                {
                    "kind": "call",
                    "subject": "Imported call",
                    "direction": "inbound",
                    "occurred_at": when,
                    "party_id": acme.pk,
                    "external_id": "CALL-1",
                },
            ]
        },
    )
    assert response.status_code == 200, response.json()
    assert response.json()["created"] == 2
    assert Activity.objects.filter(party=acme).count() == 2
    # The same external ID again updates the activity instead of adding one.
    again = api.post(
        "/activities/bulk",
        {
            "items": [
                {
                    "kind": "call",
                    "subject": "Imported call, corrected",
                    "direction": "inbound",
                    "external_id": "CALL-1",
                }
            ]
        },
    )
    assert again.json()["updated"] == 1
    assert Activity.objects.get(external_id="CALL-1").subject == "Imported call, corrected"


def test_bulk_is_all_or_nothing_with_errors_per_row(api, acme):
    response = api.post(
        "/activities/bulk",
        {
            "items": [
                {"kind": "note", "body": "Fine", "party_id": acme.pk},
                {"kind": "task", "subject": "No due date"},
                {"kind": "note", "body": "x", "party_external_id": "NOPE"},
            ]
        },
    )
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    errors = response.json()["errors"]
    assert {(e["row"], e["field"]) for e in errors} == {
        (1, "occurred_at"),
        (2, "party_external_id"),
    }
    assert not Activity.objects.exists()


def test_bulk_is_limited_to_1000_rows(api):
    rows = [{"kind": "note", "body": "x"}] * 1001
    assert api.post("/activities/bulk", {"items": rows}).status_code == 422
