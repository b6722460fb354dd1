"""NUL characters are refused in every API input (PostgreSQL cannot store them), however
they are spelt, at the field that holds them — also deep in a bulk body, whose NUL-free
requests skip the per-value scan."""

import json

import pytest
from django.test import Client

from kreis.parties.models import Party

pytestmark = pytest.mark.django_db


def _post(key, path, body: str):
    return Client().post(
        f"/api/v1{path}", body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}"
    )


def _locations(response) -> list:
    return [(e.get("row"), e["field"]) for e in response.json()["errors"] if "NUL" in e["message"]]


def test_a_json_escaped_nul_deep_in_a_bulk_body_is_refused_at_its_field(alice, api_key_for):
    items = [{"last_name": f"Person {i}"} for i in range(5)]
    items[3]["emails"] = [{"value": "a@b.de", "label": "Bü\x00ro"}]
    body = json.dumps({"items": items})
    assert "\\u0000" in body
    response = _post(api_key_for(alice), "/persons/bulk", body)
    assert response.status_code == 422
    assert _locations(response) == [(3, "emails.0.label")]
    assert not Party.objects.exists()


def test_a_nul_in_a_tag_list_is_refused(alice, api_key_for):
    body = json.dumps({"items": [{"last_name": "Eins", "tags": ["gut", "sch\x00lecht"]}]})
    response = _post(api_key_for(alice), "/persons/bulk", body)
    assert response.status_code == 422
    assert _locations(response) == [(0, "tags")]


def test_a_nul_free_bulk_body_is_created(alice, api_key_for):
    body = json.dumps({"items": [{"last_name": "Prozent %0 und \\u"}, {"last_name": "Zwei"}]})
    response = _post(api_key_for(alice), "/persons/bulk", body)
    assert response.status_code == 201, response.content
    assert Party.objects.filter(last_name="Prozent %0 und \\u").exists()


def test_a_url_encoded_nul_in_the_query_is_refused(alice, api_key_for):
    response = Client().get(
        "/api/v1/persons?q=M%00ller", HTTP_AUTHORIZATION=f"Bearer {api_key_for(alice)}"
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "query.q"
