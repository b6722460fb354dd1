"""Leads through /api/v1: CRUD, strict input, ETag, status, conversion, bulk, permissions."""

import pytest
from django.test import Client

from kreis.leads.models import Lead
from kreis.parties.models import Party
from tests.conftest import client_for
from tests.leads.factories import LeadFactory
from tests.parties.factories import OrganizationFactory

pytestmark = pytest.mark.django_db


def _api(key):
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
    return _api(api_key_for(alice))


def test_create_read_update_delete_a_lead(api, alice, north):
    created = api.post(
        "/leads",
        {
            "first_name": "Jana",
            "last_name": "Weber",
            "company": "Nordlicht GmbH",
            "email": "Jana@Nordlicht.DE",
            "phone": "+49 40 1234567",
            "budget": "12000.50",
            "timeline": "2026-09-30",
            "tags": ["Messe"],
            "external_id": "CRM-1",
        },
    )
    assert created.status_code == 201, created.json()
    lead = created.json()
    assert (lead["email"], lead["phone"]) == ("jana@nordlicht.de", "+49401234567")
    assert (lead["owner_id"], lead["team_id"], lead["status"]) == (alice.pk, north.pk, "new")
    assert lead["budget"] == "12000.50"
    assert lead["tags"] == ["Messe"]
    changed = api.patch(f"/leads/{lead['id']}", {"need": "CRM für 20 Leute", "tags": []})
    assert changed.status_code == 200
    assert changed.json()["need"] == "CRM für 20 Leute"
    assert changed.json()["tags"] == []
    assert changed.json()["email"] == "jana@nordlicht.de"
    assert api.get(f"/leads/{lead['id']}").json()["company"] == "Nordlicht GmbH"
    assert api.delete(f"/leads/{lead['id']}").status_code == 204
    assert api.get(f"/leads/{lead['id']}").status_code == 404
    assert Lead.objects.get(pk=lead["id"]).deleted_at is not None


def test_unknown_and_read_only_fields_are_rejected(api):
    response = api.post(
        "/leads",
        {"last_name": "X", "id": 5, "created_at": "2020-01-01", "status": "qualified"},
    )
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"id", "created_at", "status"}
    assert not Lead.objects.exists()


def test_invalid_email_is_a_field_error(api):
    response = api.post("/leads", {"last_name": "X", "email": "kaputt"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "email"


def test_rep_cannot_give_a_lead_to_another_teams_user(api, charlie):
    response = api.post("/leads", {"last_name": "Y", "owner_id": charlie.pk})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "owner_id"


def test_another_teams_lead_is_404(api, charlie, south):
    theirs = LeadFactory(owner=charlie, team=south, status="qualified")
    assert api.get(f"/leads/{theirs.pk}").status_code == 404
    assert api.patch(f"/leads/{theirs.pk}", {"last_name": "Mine"}).status_code == 404
    assert api.delete(f"/leads/{theirs.pk}").status_code == 404
    assert api.post(f"/leads/{theirs.pk}/status", {"status": "contacted"}).status_code == 404
    assert api.post(f"/leads/{theirs.pk}/convert", {}).status_code == 404
    assert api.get("/leads").json()["count"] == 0


def test_read_only_user_cannot_write(rory, alice, north, api_key_for):
    lead = LeadFactory(owner=alice, team=north)
    api = _api(api_key_for(rory, scope="read"))
    assert api.get(f"/leads/{lead.pk}").status_code == 200
    assert api.post("/leads", {"last_name": "X"}).status_code == 403
    # Signed in through the browser, the role itself forbids writing.
    browser = client_for(rory)

    def post(path, data):
        return browser.post(f"/api/v1{path}", data, content_type="application/json")

    assert post("/leads", {"last_name": "X"}).status_code == 403
    assert post("/leads/bulk", {"items": [{"last_name": "Z"}]}).status_code == 403
    assert post(f"/leads/{lead.pk}/status", {"status": "contacted"}).status_code == 404
    assert (
        browser.patch(
            f"/api/v1/leads/{lead.pk}", {"last_name": "Y"}, content_type="application/json"
        ).status_code
        == 404
    )
    assert Lead.objects.count() == 1
    lead.refresh_from_db()
    assert lead.status == "new"


def test_list_filters_sorts_and_paginates(api, alice, bob, north):
    LeadFactory(owner=alice, team=north, last_name="Beta", status="new")
    LeadFactory(owner=bob, team=north, last_name="Alpha", status="contacted")
    LeadFactory(owner=alice, team=north, last_name="Gamma", status="new")
    names = [x["last_name"] for x in api.get("/leads?sort=-name").json()["items"]]
    assert names == ["Gamma", "Beta", "Alpha"]
    assert [x["last_name"] for x in api.get("/leads?status=contacted").json()["items"]] == ["Alpha"]
    assert api.get(f"/leads?owner_id={bob.pk}").json()["count"] == 1
    assert [x["last_name"] for x in api.get("/leads?q=gam").json()["items"]] == ["Gamma"]
    page = api.get("/leads?sort=name&page=2&page_size=2").json()
    assert page["count"] == 3
    assert [x["last_name"] for x in page["items"]] == ["Gamma"]
    assert api.get("/leads?status=bogus").status_code == 422


def test_leads_carry_their_predicted_score_read_only(api, alice, north):
    LeadFactory(owner=alice, team=north, last_name="Kalt", predicted_score=8.25)
    LeadFactory(owner=alice, team=north, last_name="Neu")
    LeadFactory(owner=alice, team=north, last_name="Heiss", predicted_score=87.5, score=40)
    items = api.get("/leads?sort=-predicted").json()["items"]
    assert [(x["last_name"], x["predicted_score"]) for x in items] == [
        ("Heiss", 87.5),
        ("Kalt", 8.25),
        ("Neu", None),
    ]
    assert items[0]["score"] == 40
    assert "predicted_at" in items[0]
    refused = api.patch(f"/leads/{items[1]['id']}", {"predicted_score": 99})
    assert refused.status_code == 422
    assert Lead.objects.get(pk=items[1]["id"]).predicted_score == 8.25


def test_stale_write_is_refused_with_412(api):
    lead = api.post("/leads", {"last_name": "Etag"}).json()
    first = api.get(f"/leads/{lead['id']}")
    tag = first["ETag"]
    assert api.patch(f"/leads/{lead['id']}", {"company": "A"}, HTTP_IF_MATCH=tag).status_code == 200
    stale = api.patch(f"/leads/{lead['id']}", {"company": "B"}, HTTP_IF_MATCH=tag)
    assert stale.status_code == 412
    assert Lead.objects.get(pk=lead["id"]).company == "A"
    assert api.delete(f"/leads/{lead['id']}", HTTP_IF_MATCH=tag).status_code == 412
    fresh = api.get(f"/leads/{lead['id']}")["ETag"]
    assert api.delete(f"/leads/{lead['id']}", HTTP_IF_MATCH=fresh).status_code == 204


def test_status_endpoint_follows_the_flow(api):
    lead = api.post("/leads", {"last_name": "Flow"}).json()
    skipped = api.post(f"/leads/{lead['id']}/status", {"status": "qualified"})
    assert skipped.status_code == 422
    assert skipped.json()["errors"][0]["field"] == "status"
    assert api.post(f"/leads/{lead['id']}/status", {"status": "contacted"}).status_code == 200
    no_reason = api.post(f"/leads/{lead['id']}/status", {"status": "disqualified"})
    assert no_reason.status_code == 422
    assert no_reason.json()["errors"][0]["field"] == "reason"
    done = api.post(f"/leads/{lead['id']}/status", {"status": "disqualified", "reason": "no_need"})
    assert done.json()["status"] == "disqualified"
    assert done.json()["disqualify_reason"] == "no_need"


def test_convert_reports_what_was_reused_and_created(api, alice, north):
    org = OrganizationFactory(name="Müller GmbH", owner=alice, team=north)
    lead = api.post(
        "/leads", {"last_name": "Weber", "company": "Mueller GmbH", "email": "w@mueller.de"}
    ).json()
    api.post(f"/leads/{lead['id']}/status", {"status": "contacted"})
    result = api.post(f"/leads/{lead['id']}/convert", {"deal_name": "Anlage", "amount": "500"})
    assert result.status_code == 200, result.json()
    body = result.json()
    assert body["organization"] == {"id": org.pk, "outcome": "reused"}
    assert body["person"]["outcome"] == "created"
    assert body["deal"]["outcome"] == "created"
    assert body["lead"]["status"] == "converted"
    assert body["lead"]["converted_deal_id"] == body["deal"]["id"]
    again = api.post(f"/leads/{lead['id']}/convert", {})
    assert again.status_code == 422
    assert Party.objects.count() == 2


def test_convert_cannot_pick_an_invisible_party(api, alice, charlie, north, south):
    theirs = OrganizationFactory(owner=charlie, team=south)
    lead = LeadFactory(owner=alice, team=north, status="qualified")
    response = api.post(f"/leads/{lead.pk}/convert", {"organization_id": theirs.pk})
    assert response.status_code == 404
    lead.refresh_from_db()
    assert lead.status == "qualified"


def test_bulk_creates_all_rows(api, alice):
    response = api.post(
        "/leads/bulk",
        {
            "items": [
                {"last_name": "Neu", "email": "Neu@Example.de", "source": "Campaign"},
                {"last_name": "Zwei", "external_id": "ERP-2"},
            ]
        },
    )
    assert response.status_code == 201, response.json()
    assert response.json()["created"] == 2
    assert Lead.objects.get(pk=response.json()["ids"][0]).email == "neu@example.de"
    assert Lead.objects.filter(owner=alice, status="new").count() == 2


def test_bulk_is_all_or_nothing_with_errors_per_row(api, alice):
    LeadFactory(owner=alice, external_id="ERP-1")
    response = api.post(
        "/leads/bulk",
        {
            "items": [
                {"last_name": "Gut"},
                {"last_name": "Schlecht", "email": "kaputt"},
                {"last_name": "Doppelt", "external_id": "ERP-1"},
            ]
        },
    )
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    errors = response.json()["errors"]
    assert {(e["row"], e["field"]) for e in errors} == {(1, "email"), (2, "external_id")}
    assert Lead.objects.count() == 1


def test_bulk_rows_with_unknown_fields_name_their_row(api):
    response = api.post("/leads/bulk", {"items": [{"last_name": "X"}, {"last_name": "Y", "id": 3}]})
    assert response.status_code == 422
    assert [(e["row"], e["field"]) for e in response.json()["errors"]] == [(1, "id")]
    assert not Lead.objects.exists()


def test_bulk_refuses_more_than_1000_rows(api):
    response = api.post("/leads/bulk", {"items": [{"last_name": "X"}] * 1001})
    assert response.status_code == 422
    assert not Lead.objects.exists()
