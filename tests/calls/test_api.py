"""The calls API: log a call, build a list, claim the next entry, log its result (If-Match),
results, and who may do which."""

from __future__ import annotations

import pytest
from django.test import Client

from kreis.activities.models import Activity

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(api_key_for):
    def client(user):
        return Client(HTTP_AUTHORIZATION=f"Bearer {api_key_for(user)}")

    return client


def test_log_a_call_on_a_party(api, people, alice, charlie):
    body = {"party_id": people["anna"].pk, "phone": "+4930111111", "outcome": "no_answer",
            "duration_minutes": 0}  # fmt: skip
    answer = api(alice).post("/api/v1/calls/log", body, content_type="application/json")
    assert answer.status_code == 201, answer.content
    assert answer.json()["outcome"] == "no_answer"
    assert Activity.objects.get().party == people["anna"]
    hidden = api(charlie).post("/api/v1/calls/log", body, content_type="application/json")
    assert hidden.status_code == 404
    bad = api(alice).post(
        "/api/v1/calls/log", {**body, "outcome": "angry"}, content_type="application/json"
    )
    assert bad.status_code in (400, 422)
    assert Activity.objects.count() == 1


def test_build_work_and_read_results_through_the_api(api, segment, people, mia, bob, charlie):
    built = api(mia).post(
        "/api/v1/calls/lists",
        {"name": "Nachfass", "segment_id": segment.pk, "assignee_ids": [bob.pk]},
        content_type="application/json",
    )
    assert built.status_code == 201, built.content
    data = built.json()
    assert data["to_call"] == 3
    assert data["skipped"] == {"no_consent": 2, "no_phone": 1}
    list_id = data["call_list"]["id"]
    assert api(bob).post(f"/api/v1/calls/lists/{list_id}/next").status_code == 200
    assert api(charlie).post(f"/api/v1/calls/lists/{list_id}/next").status_code == 404
    assert api(bob).post("/api/v1/calls/lists", {"name": "x", "segment_id": segment.pk},
                         content_type="application/json").status_code == 403  # fmt: skip

    entry = api(bob).post(f"/api/v1/calls/lists/{list_id}/next")
    assert entry.json()["party_name"] == "Anna Adler"
    tag = entry["ETag"]
    entry_id = entry.json()["id"]
    stale = api(bob).post(
        f"/api/v1/calls/entries/{entry_id}/log", {"result": "reached"},
        content_type="application/json", HTTP_IF_MATCH='"0-0.000000"',
    )  # fmt: skip
    assert stale.status_code == 412
    logged = api(bob).post(
        f"/api/v1/calls/entries/{entry_id}/log",
        {"result": "call_back", "call_back_at": "2099-01-01T10:00:00+01:00", "notes": "Mo"},
        content_type="application/json",
        HTTP_IF_MATCH=tag,
    )
    assert logged.status_code == 200, logged.content
    assert logged.json()["entry"]["state"] == "call_back"
    assert Activity.objects.get(pk=logged.json()["activity_id"]).party == people["anna"]

    results = api(bob).get(f"/api/v1/calls/lists/{list_id}/results").json()
    assert results["results"] == {"call_back": 1}
    assert results["states"]["call_back"] == 1
    entries = api(bob).get(f"/api/v1/calls/lists/{list_id}/entries?state=skipped").json()
    assert {e["skip_reason"] for e in entries["items"]} == {"no_consent", "no_phone"}
    listed = api(charlie).get("/api/v1/calls/lists").json()
    assert listed["count"] == 0


def test_only_the_owner_or_a_manager_changes_a_list(api, segment, mia, bob):
    built = api(mia).post(
        "/api/v1/calls/lists", {"name": "Nachfass", "segment_id": segment.pk,
                                "assignee_ids": [bob.pk]}, content_type="application/json",
    ).json()  # fmt: skip
    url = f"/api/v1/calls/lists/{built['call_list']['id']}"
    assert (
        api(bob).patch(url, {"is_closed": True}, content_type="application/json").status_code == 403
    )
    closed = api(mia).patch(url, {"is_closed": True, "script": "Hallo"},
                            content_type="application/json")  # fmt: skip
    assert closed.status_code == 200
    assert closed.json()["is_closed"] is True
    assert api(bob).post(f"{url}/next").status_code == 403
