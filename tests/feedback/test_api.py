"""The surveys API: create, questions, phases, staff-entered responses, analysis."""

import json

import pytest

from kreis.feedback.models import Response
from tests.conftest import client_for
from tests.feedback.conftest import person

pytestmark = pytest.mark.django_db


def _post(client, url, body, **headers):
    return client.post(url, json.dumps(body), content_type="application/json", **headers)


def test_api_roundtrip(marta, north, api_key_for):
    client = client_for(marta)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {api_key_for(marta)}"}
    created = _post(
        client,
        "/api/v1/surveys",
        {"name": "Service 2026", "method": "phone", "goals": "Wie zufrieden?"},
        **auth,
    )
    assert created.status_code == 201, created.content
    survey = created.json()
    assert survey["phase"] == "definition"
    base = f"/api/v1/surveys/{survey['id']}"
    nps = _post(
        client,
        f"{base}/questions",
        {"kind": "nps_0_10", "text_de": "Empfehlen?", "text_en": "Recommend?"},
        **auth,
    )
    assert nps.status_code == 201, nps.content
    scale = _post(
        client,
        f"{base}/questions",
        {"kind": "scale_1_5", "text_de": "Zufrieden?", "text_en": "Satisfied?"},
        **auth,
    ).json()
    moved = _post(client, f"{base}/questions/{scale['id']}/move", {"step": "up"}, **auth)
    assert [q["id"] for q in moved.json()] == [scale["id"], nps.json()["id"]]
    bad = _post(client, f"{base}/move", {"to_phase": "analysis"}, **auth)
    assert bad.status_code == 422
    for phase in ("design", "collection"):
        assert _post(client, f"{base}/move", {"to_phase": phase}, **auth).status_code == 200
    customer = person(team=north)
    entered = _post(
        client,
        f"{base}/responses",
        {
            "party_id": customer.pk,
            "channel": "phone",
            "answers": [
                {"question_id": nps.json()["id"], "value": 10},
                {"question_id": scale["id"], "value": 4},
            ],
        },
        **auth,
    )
    assert entered.status_code == 201, entered.content
    assert entered.json()["party_id"] == customer.pk
    assert entered.json()["nps"] == 10
    invalid = _post(
        client,
        f"{base}/responses",
        {
            "party_id": customer.pk,
            "channel": "phone",
            "answers": [{"question_id": scale["id"], "value": 9}],
        },
        **auth,
    )
    assert invalid.status_code == 422
    assert Response.objects.count() == 1
    analysis = client.get(f"{base}/analysis", **auth).json()
    assert analysis["overall"]["nps"] == 100.0
    assert analysis["overall"]["csat"] == 100.0
    listed = client.get(f"{base}/responses", **auth).json()
    assert listed["count"] == 1
    party = client.get(f"/api/v1/persons/{customer.pk}", **auth).json()
    assert party["figures"]["last_nps"] == 10
    found = client.get("/api/v1/persons", {"nps_min": 9}, **auth).json()
    assert [p["id"] for p in found["items"]] == [customer.pk]


def test_api_refuses_who_may_not_manage(alice, marta, api_key_for):
    client = client_for(alice)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {api_key_for(alice)}"}
    assert _post(client, "/api/v1/surveys", {"name": "X"}, **auth).status_code == 403
    survey = _post(
        client_for(marta),
        "/api/v1/surveys",
        {"name": "Y"},
        HTTP_AUTHORIZATION=f"Bearer {api_key_for(marta)}",
    ).json()
    assert client.get(f"/api/v1/surveys/{survey['id']}", **auth).status_code == 404
    assert client.get("/api/v1/surveys", **auth).json()["count"] == 0
