"""Organisations and persons through /api/v1: CRUD, filters, strict input, permissions."""

import pytest
from django.test import Client

from kreis.parties.models import Party
from tests.parties.factories import OrganizationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(alice, api_key_for):
    key = api_key_for(alice)

    class Api:
        def __getattr__(self, method):
            def call(path, data=None):
                return getattr(Client(), method)(
                    f"/api/v1{path}",
                    data,
                    content_type="application/json",
                    HTTP_AUTHORIZATION=f"Bearer {key}",
                )

            return call

    return Api()


def test_create_read_update_delete_an_organisation(api, alice, north):
    created = api.post(
        "/organizations",
        {
            "name": "Lindner Logistik GmbH",
            "roles": ["customer"],
            "tags": ["Logistik"],
            "emails": [{"value": "Kontakt@Lindner.de"}],
            "phones": [{"value": "+49 40 1234567"}],
            "addresses": [{"street": "Kaistraße 5", "postal_code": "20457", "city": "Hamburg"}],
            "external_id": "ERP-1001",
        },
    )
    assert created.status_code == 201, created.json()
    org = created.json()
    assert org["emails"] == [{"value": "kontakt@lindner.de", "label": "", "is_primary": True}]
    assert org["phones"][0]["value"] == "+49401234567"
    assert org["owner_id"] == alice.pk
    assert org["team_id"] == north.pk
    changed = api.patch(
        f"/organizations/{org['id']}", {"industry": "Logistik", "roles": ["customer", "partner"]}
    )
    assert changed.json()["industry"] == "Logistik"
    assert changed.json()["roles"] == ["customer", "partner"]
    assert changed.json()["emails"][0]["value"] == "kontakt@lindner.de"  # untouched list stays
    assert api.delete(f"/organizations/{org['id']}").status_code == 204
    assert api.get(f"/organizations/{org['id']}").status_code == 404
    assert Party.objects.get(pk=org["id"]).deleted_at is not None


def test_person_with_employment(api):
    org = api.post("/organizations", {"name": "Sonne AG"}).json()
    person = api.post("/persons", {"first_name": "Jörg", "last_name": "Weiß"}).json()
    assert person["name"] == "Jörg Weiß"
    link = api.post(
        "/employments",
        {"person_id": person["id"], "organization_id": org["id"], "position": "CFO"},
    )
    assert link.status_code == 201
    assert api.get(f"/persons/{person['id']}").json()["employments"][0]["position"] == "CFO"


def test_invalid_phone_is_a_field_error_and_nothing_is_saved(api):
    response = api.post("/persons", {"last_name": "Nowak", "phones": [{"value": "abc"}]})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "phones.0"
    assert not Party.objects.filter(last_name="Nowak").exists()


def test_unknown_and_read_only_fields_are_rejected(api):
    response = api.post(
        "/organizations", {"name": "X", "id": 5, "created_at": "2020-01-01", "kind": "person"}
    )
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"id", "created_at", "kind"}


def test_rep_cannot_give_a_party_to_another_teams_user(api, charlie):
    response = api.post("/organizations", {"name": "Y", "owner_id": charlie.pk})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "owner_id"


def test_another_teams_party_is_404(api, charlie, south):
    theirs = OrganizationFactory(owner=charlie, team=south)
    assert api.get(f"/organizations/{theirs.pk}").status_code == 404
    assert api.patch(f"/organizations/{theirs.pk}", {"name": "Mine"}).status_code == 404
    assert api.delete(f"/organizations/{theirs.pk}").status_code == 404


def test_list_filters_sorts_and_paginates(api, alice, north):
    for name in ("Beta GmbH", "Alpha AG", "Gamma KG"):
        api.post(
            "/organizations",
            {"name": name, "roles": ["prospect"] if name != "Alpha AG" else ["customer"]},
        )
    names = [o["name"] for o in api.get("/organizations?sort=-name").json()["items"]]
    assert names == ["Gamma KG", "Beta GmbH", "Alpha AG"]
    customers = api.get("/organizations?role=customer").json()
    assert [o["name"] for o in customers["items"]] == ["Alpha AG"]
    page = api.get("/organizations?page=2&page_size=2").json()
    assert page["count"] == 3
    assert [o["name"] for o in page["items"]] == ["Gamma KG"]


def test_relationships_through_the_api(api):
    a = api.post("/organizations", {"name": "Mutter SE"}).json()
    b = api.post("/organizations", {"name": "Tochter GmbH"}).json()
    created = api.post(
        "/relationships", {"source_id": b["id"], "target_id": a["id"], "type": "subsidiary_of"}
    )
    assert created.status_code == 201
    listed = api.get(f"/relationships?party_id={a['id']}").json()
    assert listed["items"][0]["type"] == "subsidiary_of"
    again = api.post(
        "/relationships", {"source_id": b["id"], "target_id": a["id"], "type": "subsidiary_of"}
    )
    assert again.status_code == 422


def test_stale_write_is_refused_with_412(api, alice, api_key_for):
    created = api.post("/organizations", {"name": "Etag GmbH"}).json()
    key = api_key_for(alice)
    first = Client().get(
        f"/api/v1/organizations/{created['id']}", HTTP_AUTHORIZATION=f"Bearer {key}"
    )
    tag = first["ETag"]
    changed = Client().patch(
        f"/api/v1/organizations/{created['id']}",
        {"industry": "Chemie"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
        HTTP_IF_MATCH=tag,
    )
    assert changed.status_code == 200
    assert changed["ETag"] != tag
    stale = Client().patch(
        f"/api/v1/organizations/{created['id']}",
        {"industry": "Bau"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
        HTTP_IF_MATCH=tag,
    )
    assert stale.status_code == 412
    assert stale["Content-Type"] == "application/problem+json"
    assert Party.objects.get(pk=created["id"]).industry == "Chemie"
