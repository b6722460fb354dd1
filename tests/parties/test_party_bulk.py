"""Bulk work on parties: the bulk-create API (all or nothing) and list bulk actions."""

import pytest
from django.test import Client

from kreis.parties import services
from kreis.parties.models import Employment, Party
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def _post(key, path, data):
    return Client().post(
        f"/api/v1{path}", data, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}"
    )


def test_bulk_create_persons_linked_by_external_id(alice, api_key_for):
    key = api_key_for(alice)
    orgs = _post(
        key, "/organizations/bulk", {"items": [{"name": "Alpha GmbH", "external_id": "A-1"}]}
    )
    assert orgs.status_code == 201
    response = _post(
        key,
        "/persons/bulk",
        {
            "items": [
                {"last_name": "Eins", "organization_external_id": "A-1", "position": "CEO"},
                {"last_name": "Zwei", "emails": [{"value": "zwei@alpha.de"}]},
            ]
        },
    )
    assert response.status_code == 201
    assert response.json()["created"] == 2
    assert Employment.objects.get().position == "CEO"


def test_bulk_create_is_all_or_nothing_with_row_errors(alice, api_key_for):
    key = api_key_for(alice)
    response = _post(
        key,
        "/persons/bulk",
        {
            "items": [
                {"last_name": "Gut"},
                {"last_name": "Schlecht", "emails": [{"value": "not-an-email"}]},
                {"last_name": "Fremd", "organization_external_id": "NOPE"},
            ]
        },
    )
    assert response.status_code == 422
    rows = {e["row"] for e in response.json()["errors"]}
    assert rows == {1, 2}
    assert not Party.objects.exists()


def test_bulk_rejects_more_than_1000_and_unknown_fields(alice, api_key_for):
    key = api_key_for(alice)
    too_many = _post(key, "/organizations/bulk", {"items": [{"name": "x"}] * 1001})
    assert too_many.status_code == 422
    unknown = _post(key, "/organizations/bulk", {"items": [{"name": "x", "id": 5}]})
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["row"] == 0


def test_list_bulk_actions_assign_tag_and_delete_after_confirmation(alice, bob, mia, charlie):
    mine = [
        services.party_create(actor=alice, kind="organization", name=f"Firma {i}") for i in range(3)
    ]
    theirs = services.party_create(actor=charlie, kind="organization", name="Fremd")
    client = client_for(alice)
    ids = [p.pk for p in mine] + [theirs.pk]
    client.post("/parties/bulk/", {"ids": ids, "action": "add_tag", "tag": "Messe 2026"})
    assert Party.objects.filter(tags__name="Messe 2026").count() == 3
    # A rep may not hand records to a colleague: nothing changes.
    client.post("/parties/bulk/", {"ids": ids, "action": "assign_owner", "owner": bob.pk})
    assert not Party.objects.filter(owner=bob).exists()
    # Their manager may.
    client_for(mia).post("/parties/bulk/", {"ids": ids, "action": "assign_owner", "owner": bob.pk})
    assert set(Party.objects.filter(owner=bob).values_list("pk", flat=True)) == {p.pk for p in mine}
    confirm = client.post("/parties/bulk/", {"ids": ids, "action": "delete"})
    assert "Delete 3 records?" in confirm.content.decode()
    assert Party.objects.filter(deleted_at__isnull=True).count() == 4
    client.post("/parties/bulk/", {"ids": ids, "action": "delete", "confirmed": "1"})
    assert list(Party.objects.filter(deleted_at__isnull=True)) == [theirs]


def test_read_only_has_no_bulk_actions(rory, alice):
    services.party_create(actor=alice, kind="organization", name="Firma")
    client = client_for(rory)
    assert 'id="bulk-form"' not in client.get("/parties/").content.decode()
    party = Party.objects.get()
    client.post("/parties/bulk/", {"ids": [party.pk], "action": "delete", "confirmed": "1"})
    party.refresh_from_db()
    assert party.deleted_at is None
