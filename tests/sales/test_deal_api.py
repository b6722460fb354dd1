"""Deals and pipelines through /api/v1: CRUD, ETag, moves, forecast, bulk, permissions."""

import pytest
from django.test import Client
from django.utils import timezone

from kreis.sales.models import Deal, StageChange
from tests.conftest import client_for
from tests.parties.factories import OrganizationFactory, PersonFactory
from tests.sales.factories import DealFactory, default_pipeline, lost_reason, stage_named

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


def test_create_read_update_delete_a_deal(api, alice, north):
    org = OrganizationFactory(owner=alice, team=north, name="Lindner Logistik")
    created = api.post(
        "/deals",
        {
            "name": "Flotte 2027",
            "organization_id": org.pk,
            "stage_id": stage_named("Proposal").pk,
            "expected_close": "2027-06-30",
            "tags": ["Flotte"],
            "lines": [{"description": "Lkw", "quantity": "3", "unit_price": "85000"}],
        },
    )
    assert created.status_code == 201, created.json()
    deal = created.json()
    assert deal["amount"] == "255000.00"
    assert (deal["status"], deal["probability"]) == ("open", 50)
    assert (deal["owner_id"], deal["team_id"]) == (alice.pk, north.pk)
    assert deal["weighted_amount"] == "127500.00"
    changed = api.patch(f"/deals/{deal['id']}", {"name": "Flotte 2027/28", "amount": "250000"})
    assert changed.status_code == 200
    assert (changed.json()["name"], changed.json()["amount"]) == ("Flotte 2027/28", "250000.00")
    assert changed.json()["lines"][0]["description"] == "Lkw"  # untouched lines stay
    assert api.delete(f"/deals/{deal['id']}").status_code == 204
    assert api.get(f"/deals/{deal['id']}").status_code == 404
    assert Deal.objects.get(pk=deal["id"]).deleted_at is not None


def test_list_filters_and_sorts(api, alice, north):
    DealFactory(name="Klein", owner=alice, team=north, amount=10)
    DealFactory(name="Groß", owner=alice, team=north, amount=900, stage=stage_named("Won"))
    names = [d["name"] for d in api.get("/deals?sort=-amount").json()["items"]]
    assert names == ["Groß", "Klein"]
    assert [d["name"] for d in api.get("/deals?status=won").json()["items"]] == ["Groß"]
    assert api.get("/deals?q=klein").json()["count"] == 1


def test_unknown_and_read_only_fields_are_rejected(api):
    response = api.post("/deals", {"name": "X", "id": 5, "created_at": "2020-01-01"})
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"id", "created_at"}


def test_rep_cannot_give_a_deal_to_another_teams_user(api, charlie):
    response = api.post("/deals", {"name": "Y", "owner_id": charlie.pk})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "owner_id"


def test_another_teams_deal_is_404(api, charlie, south):
    theirs = DealFactory(owner=charlie, team=south)
    assert api.get(f"/deals/{theirs.pk}").status_code == 404
    assert api.patch(f"/deals/{theirs.pk}", {"name": "Mine"}).status_code == 404
    assert api.post(f"/deals/{theirs.pk}/move", {"stage_id": theirs.stage_id}).status_code == 404
    assert api.delete(f"/deals/{theirs.pk}").status_code == 404
    assert api.get("/deals").json()["count"] == 0


def test_read_only_user_cannot_write(rory, alice, north):
    deal = DealFactory(owner=alice, team=north)
    browser = client_for(rory)  # signed in: read-only users get no writing API keys at all
    assert browser.get(f"/api/v1/deals/{deal.pk}").status_code == 200
    created = browser.post("/api/v1/deals", {"name": "Nope"}, content_type="application/json")
    assert created.status_code == 403
    moved = browser.post(
        f"/api/v1/deals/{deal.pk}/move",
        {"stage_id": stage_named("Won").pk},
        content_type="application/json",
    )
    assert moved.status_code == 404
    assert Deal.objects.get(pk=deal.pk).stage.name == "Qualification"


def test_stale_write_is_refused_with_412(api, alice, north):
    deal = DealFactory(owner=alice, team=north)
    tag = api.get(f"/deals/{deal.pk}")["ETag"]
    changed = api.patch(f"/deals/{deal.pk}", {"source": "Messe"}, HTTP_IF_MATCH=tag)
    assert changed.status_code == 200
    assert changed["ETag"] != tag
    stale = api.patch(f"/deals/{deal.pk}", {"source": "Website"}, HTTP_IF_MATCH=tag)
    assert stale.status_code == 412
    assert stale["Content-Type"] == "application/problem+json"
    assert Deal.objects.get(pk=deal.pk).source == "Messe"


def test_move_records_the_change_and_refuses_a_stale_one_with_409(api, alice, north):
    deal = DealFactory(owner=alice, team=north)
    read = api.get(f"/deals/{deal.pk}").json()
    moved = api.post(
        f"/deals/{deal.pk}/move",
        {"stage_id": stage_named("Negotiation").pk, "expected_updated_at": read["updated_at"]},
    )
    assert moved.status_code == 200, moved.json()
    assert moved.json()["stage_id"] == stage_named("Negotiation").pk
    assert StageChange.objects.filter(deal=deal, to_stage__name="Negotiation").exists()
    stale = api.post(
        f"/deals/{deal.pk}/move",
        {"stage_id": stage_named("Won").pk, "expected_updated_at": read["updated_at"]},
    )
    assert stale.status_code == 409
    assert Deal.objects.get(pk=deal.pk).stage.name == "Negotiation"
    lost = api.post(f"/deals/{deal.pk}/move", {"stage_id": stage_named("Lost").pk})
    assert lost.status_code == 422
    assert lost.json()["errors"][0]["field"] == "lost_reason_id"
    done = api.post(
        f"/deals/{deal.pk}/move",
        {"stage_id": stage_named("Lost").pk, "lost_reason_id": lost_reason().pk},
    )
    assert done.json()["status"] == "lost"
    assert done.json()["closed_at"] is not None


def test_forecast(api, alice, north):
    month = timezone.localdate().replace(day=15)
    DealFactory(owner=alice, team=north, amount=1000, expected_close=month)  # 10 %
    data = api.get("/deals/forecast").json()
    row = next(r for r in data["months"] if r["month"] == month.replace(day=1).isoformat())
    assert row["weighted"] == "100.00"
    assert data["total_weighted"] == "100.00"


def test_bulk_references_parties_by_external_id_and_upserts(api, alice, north):
    org = OrganizationFactory(owner=alice, team=north, external_id="ERP-ORG-1")
    person = PersonFactory(owner=alice, team=north, external_id="ERP-P-1")
    rows = [
        {
            "name": "Import 1",
            "external_id": "ERP-DEAL-1",
            "organization_external_id": "ERP-ORG-1",
            "contact_external_id": "ERP-P-1",
            "amount": "1000",
        },
        {"name": "Import 2", "external_id": "ERP-DEAL-2", "organization_id": org.pk},
    ]
    first = api.post("/deals/bulk", {"deals": rows})
    assert first.status_code == 200, first.json()
    assert (first.json()["created"], first.json()["updated"]) == (2, 0)
    deal = Deal.objects.get(external_id="ERP-DEAL-1")
    assert (deal.organization, deal.contact) == (org, person)
    again = api.post("/deals/bulk", {"deals": [{**rows[0], "amount": "2000"}]})
    assert (again.json()["created"], again.json()["updated"]) == (0, 1)
    assert Deal.objects.get(external_id="ERP-DEAL-1").amount == 2000


def test_bulk_is_all_or_nothing_with_errors_per_row(api, alice, charlie, north, south):
    OrganizationFactory(owner=charlie, team=south, external_id="HIDDEN")
    response = api.post(
        "/deals/bulk",
        {
            "deals": [
                {"name": "Gut"},
                {"name": "", "amount": "-5"},
                {"name": "Fremd", "organization_external_id": "HIDDEN"},
                {"name": "Falsch", "colour": "red"},
            ]
        },
    )
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    errors = response.json()["errors"]
    assert {(e["row"], e["field"]) for e in errors} == {
        (1, "name"),
        (1, "amount"),
        (2, "organization_external_id"),
        (3, "colour"),
    }
    assert not Deal.objects.filter(name="Gut").exists()


def test_bulk_accepts_at_most_1000_rows(api):
    response = api.post("/deals/bulk", {"deals": [{"name": "x"}] * 1001})
    assert response.status_code == 422


def test_pipelines_are_listed_for_everyone_and_configured_by_admins(api, dana, api_key_for):
    listed = api.get("/pipelines").json()["items"]
    assert listed[0]["name"] == default_pipeline().name
    assert [s["name"] for s in listed[0]["stages"]][-2:] == ["Won", "Lost"]
    assert api.post("/pipelines", {"name": "Mine"}).status_code == 403
    admin = api_for(api_key_for(dana))
    created = admin.post(
        "/pipelines",
        {
            "name": "Service",
            "stages": [
                {"name": "Anfrage", "probability": 20},
                {"name": "Unterschrieben", "kind": "won"},
                {"name": "Abgesagt", "kind": "lost"},
            ],
        },
    )
    assert created.status_code == 201, created.json()
    stages = created.json()["stages"]
    assert [(s["name"], s["probability"]) for s in stages] == [
        ("Anfrage", 20),
        ("Unterschrieben", 100),
        ("Abgesagt", 0),
    ]
    order = admin.put(
        f"/pipelines/{created.json()['id']}/stage-order",
        {"stage_ids": [stages[1]["id"], stages[0]["id"], stages[2]["id"]]},
    )
    assert [s["name"] for s in order.json()["stages"]][0] == "Unterschrieben"
    assert admin.delete(f"/pipelines/{created.json()['id']}").status_code == 204
    reason = admin.post("/lost-reasons", {"name": "Lieferzeit"})
    assert reason.status_code == 201


def test_custom_fields_are_validated_stored_and_filterable(api):
    from kreis.core.models import CustomField

    CustomField.objects.create(
        entity="deal", key="segment", label="Segment", type="choice", choices=["KMU", "Konzern"]
    )
    bad = api.post("/deals", {"name": "X", "custom": {"segment": "Behörde"}})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "custom.segment"
    good = api.post("/deals", {"name": "Y", "custom": {"segment": "KMU"}})
    assert good.json()["custom"] == {"segment": "KMU"}
    api.post("/deals", {"name": "Z", "custom": {"segment": "Konzern"}})
    assert [d["name"] for d in api.get("/deals?cf_segment=KMU").json()["items"]] == ["Y"]
