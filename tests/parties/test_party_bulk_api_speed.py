"""The bulk-create API's fast path keeps its answers: per-item errors name the item and the
field wherever the item stands in a body of 1,000, the body is refused as a whole, and the
route runs without the cycle collector (switched back on afterwards)."""

import gc

import pytest
from django.test import Client

from kreis.core.api_support import without_cycle_collection
from kreis.parties.models import ContactPoint, Party

pytestmark = pytest.mark.django_db


@pytest.fixture
def collector_restored():
    """The collector's state as the test found it, whatever the test did."""
    enabled = gc.isenabled()
    yield
    if enabled:
        gc.enable()
    else:
        gc.disable()


def _post(key, path, data):
    return Client().post(
        f"/api/v1{path}", data, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}"
    )


def _person(i, **extra):
    return {
        "first_name": "Anna",
        "last_name": f"Schmidt {i}",
        "external_id": f"P-{i}",
        "emails": [{"value": f"anna.schmidt.{i}@example.de"}],
        "phones": [{"value": f"030 1234 {i:04d}"}],
        "addresses": [{"street": "Hauptstraße 1", "postal_code": "10115", "city": "Berlin"}],
        **extra,
    }


def test_an_invalid_email_deep_in_a_full_body_names_its_item_and_field(alice, api_key_for):
    items = [_person(i) for i in range(1000)]
    items[537]["emails"] = [{"value": "anna@example.de"}, {"value": "kein-at-zeichen"}]
    response = _post(api_key_for(alice), "/persons/bulk", {"items": items})
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert [(e["row"], e["field"]) for e in errors] == [(537, "emails.1")]
    assert "kein-at-zeichen" in errors[0]["message"]
    assert not Party.objects.exists()
    assert not ContactPoint.objects.exists()


def test_schema_errors_of_nested_items_name_item_and_field(alice, api_key_for):
    items = [_person(i) for i in range(600)]
    items[12]["addresses"][0]["country"] = "Deutschland"  # not a two-letter code
    items[599]["phones"] = [{"value": ""}]  # empty: refused by the schema
    items[300]["emails"][0]["colour"] = "blue"  # a field the API does not know
    response = _post(api_key_for(alice), "/persons/bulk", {"items": items})
    assert response.status_code == 422
    rows = {e["row"] for e in response.json()["errors"]}
    assert rows == {12, 300, 599}
    assert not Party.objects.exists()


def test_a_duplicate_external_id_fails_the_later_item_only(alice, api_key_for):
    key = api_key_for(alice)
    assert _post(key, "/persons/bulk", {"items": [_person(7)]}).status_code == 201
    items = [_person(1000 + i) for i in range(300)]
    items[250]["external_id"] = "P-7"  # held by the person created before
    items[299]["external_id"] = items[3]["external_id"]  # twice in the body
    response = _post(key, "/persons/bulk", {"items": items})
    assert response.status_code == 422
    assert [(e["row"], e["field"]) for e in response.json()["errors"]] == [
        (250, "external_id"),
        (299, "external_id"),
    ]
    assert Party.objects.count() == 1


def test_a_full_body_of_valid_persons_is_created_in_order(alice, api_key_for):
    items = [_person(i) for i in range(1000)]
    response = _post(api_key_for(alice), "/persons/bulk", {"items": items})
    assert response.status_code == 201
    body = response.json()
    assert body["created"] == 1000
    created = dict(Party.objects.filter(pk__in=body["ids"]).values_list("pk", "external_id"))
    assert [created[pk] for pk in body["ids"]] == [f"P-{i}" for i in range(1000)]


def test_without_cycle_collection_switches_back_only_what_it_switched(collector_restored):
    seen = []
    run = without_cycle_collection(lambda: seen.append(gc.isenabled()))
    gc.enable()
    run()
    assert seen == [False]
    assert gc.isenabled()
    gc.disable()  # someone else holds it off: it stays off
    run()
    assert not gc.isenabled()


def test_without_cycle_collection_switches_back_after_an_error(collector_restored):
    def fail():
        raise ValueError("boom")

    gc.enable()
    with pytest.raises(ValueError, match="boom"):
        without_cycle_collection(fail)()
    assert gc.isenabled()


@pytest.mark.django_db(transaction=True)
def test_the_persons_bulk_route_runs_without_the_collector(alice, api_key_for, collector_restored):
    from kreis.parties.signals import parties_bulk_created

    seen = []

    def listen(sender, ids, actor, **kwargs):
        seen.append(gc.isenabled())  # on commit: still inside the route

    gc.enable()
    parties_bulk_created.connect(listen)
    try:
        response = _post(api_key_for(alice), "/persons/bulk", {"items": [_person(1)]})
    finally:
        parties_bulk_created.disconnect(listen)
    assert response.status_code == 201
    assert seen == [False]
    assert gc.isenabled()


def test_a_required_custom_field_fails_every_item_without_it(alice, api_key_for):
    from kreis.core.models import CustomField

    CustomField.objects.create(
        entity="party", key="segment", label="Segment", type="text", required=True
    )
    items = [_person(i) for i in range(4)]
    items[1]["custom"] = {"segment": "KMU"}
    items[2]["custom"] = {"segment": "x" * 5000}  # too long
    response = _post(api_key_for(alice), "/persons/bulk", {"items": items})
    assert response.status_code == 422
    assert [(e["row"], e["field"]) for e in response.json()["errors"]] == [
        (0, "custom.segment"),
        (2, "custom.segment"),
        (3, "custom.segment"),
    ]
    messages = [e["message"] for e in response.json()["errors"]]
    assert messages[0] == messages[2] == "Segment is required."
    items = [_person(i, custom={"segment": "KMU"}) for i in range(3)]
    response = _post(api_key_for(alice), "/persons/bulk", {"items": items})
    assert response.status_code == 201
    assert {p.custom["segment"] for p in Party.objects.all()} == {"KMU"}


def test_addresses_of_bulk_items_take_the_defaults_and_name_bad_fields(alice, api_key_for):
    from kreis.parties.models import Address

    key = api_key_for(alice)
    items = [_person(i) for i in range(3)]
    items[1]["addresses"] = [
        {"street": "Ring 2", "city": "Köln"},
        {"street": "x" * 201, "city": "Bonn", "kind": "billing"},
    ]
    response = _post(key, "/persons/bulk", {"items": items})
    assert response.status_code == 422
    assert [(e["row"], e["field"]) for e in response.json()["errors"]] == [
        (1, "addresses.1.street")
    ]
    items[1]["addresses"][1]["street"] = "Ring 3"
    assert _post(key, "/persons/bulk", {"items": items}).status_code == 201
    first, second = Address.objects.filter(street__startswith="Ring").order_by("street")
    assert (first.kind, first.country, first.postal_code, first.region) == ("office", "DE", "", "")
    assert first.is_primary
    assert not second.is_primary
    assert second.kind == "billing"
