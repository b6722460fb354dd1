"""Duplicates are shown before saving; merging moves everything and can be undone."""

import pytest
from django.test import Client

from kreis.parties import services
from kreis.parties.models import ContactPoint, Employment, Party, PartyMerge
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def _person(actor, first, last, email="", phone="", **extra):
    return services.party_create(
        actor=actor,
        kind="person",
        first_name=first,
        last_name=last,
        emails=[{"value": email}] if email else [],
        phones=[{"value": phone}] if phone else [],
        **extra,
    )


def test_create_form_shows_duplicates_before_saving(alice):
    existing = _person(alice, "Jürgen", "Müller", email="jm@example.de")
    client = client_for(alice)
    data = {
        "first_name": "Juergen",
        "last_name": "Mueller",
        "emails": "JM@example.de",
        "country": "DE",
        "address_kind": "office",
    }
    response = client.post("/parties/new/person/", data)
    body = response.content.decode()
    assert response.status_code == 200
    assert "This may exist already" in body
    assert f"/parties/{existing.pk}/" in body
    assert Party.objects.filter(deleted_at__isnull=True).count() == 1
    # A deliberate second click creates it anyway.
    response = client.post("/parties/new/person/", {**data, "create_anyway": "1"})
    assert response.status_code == 302
    assert Party.objects.filter(deleted_at__isnull=True).count() == 2


def test_live_duplicate_check_by_phone_and_misspelt_name(alice):
    existing = _person(alice, "Anna", "Schröder", phone="+49 40 1234567")
    client = client_for(alice)
    by_phone = client.get(
        "/parties/duplicates/", {"kind": "person", "last_name": "X", "phones": "040 1234567"}
    )
    assert f"/parties/{existing.pk}/" in by_phone.content.decode()
    by_name = client.get(
        "/parties/duplicates/", {"kind": "person", "first_name": "Anna", "last_name": "Schroeder"}
    )
    assert f"/parties/{existing.pk}/" in by_name.content.decode()
    nothing = client.get(
        "/parties/duplicates/", {"kind": "person", "first_name": "Bernd", "last_name": "Weber"}
    )
    assert "This may exist already" not in nothing.content.decode()


def test_duplicates_of_another_team_are_counted_not_shown(alice, charlie):
    theirs = _person(charlie, "Karl", "Klein", email="kk@example.de")
    response = client_for(alice).get(
        "/parties/duplicates/", {"kind": "person", "last_name": "Y", "emails": "kk@example.de"}
    )
    body = response.content.decode()
    assert "Karl Klein" not in body
    assert f"/parties/{theirs.pk}/" not in body
    assert "another team" in body


@pytest.fixture
def pair(alice):
    firm = services.party_create(actor=alice, kind="organization", name="Nordlicht AG")
    keep = _person(alice, "Eva", "Berg", email="eva@berg.de", source="Messe")
    dupe = _person(alice, "Eva", "Berg-Lang", email="eva@berg.de", phone="+49 30 555", source="Web")
    dupe.external_id = "ERP-7"
    dupe.save()
    services.employment_set(actor=alice, person=dupe, organization=firm, position="CFO")
    return keep, dupe, firm


def test_merge_moves_related_records_and_undo_restores_them(alice, pair):
    keep, dupe, firm = pair
    client = client_for(alice)
    page = client.get(f"/parties/{keep.pk}/merge/", {"other": f"{dupe.name} (#{dupe.pk})"})
    assert "Berg-Lang" in page.content.decode()
    response = client.post(
        f"/parties/{keep.pk}/merge/",
        {"other_id": dupe.pk, "field_last_name": "mine", "field_source": "other"},
    )
    assert response.status_code == 302
    keep.refresh_from_db()
    dupe.refresh_from_db()
    assert keep.source == "Web"
    assert keep.last_name == "Berg"
    assert dupe.deleted_at is not None
    assert keep.external_id == "ERP-7"
    assert Employment.objects.get(organization=firm).person_id == keep.pk
    values = set(keep.contact_points.values_list("value", flat=True))
    assert values == {"eva@berg.de", "+4930555"}
    # The same e-mail stays with the merged party instead of appearing twice.
    assert ContactPoint.objects.filter(value="eva@berg.de").count() == 2
    assert "Undo merge" in client.get(f"/parties/{keep.pk}/").content.decode()

    merge = PartyMerge.objects.get()
    response = client.post(f"/parties/merges/{merge.pk}/undo/")
    assert response.status_code == 302
    keep.refresh_from_db()
    dupe.refresh_from_db()
    assert dupe.deleted_at is None
    assert dupe.external_id == "ERP-7"
    assert keep.source == "Messe"
    assert keep.external_id is None
    assert Employment.objects.get(organization=firm).person_id == dupe.pk
    assert set(dupe.contact_points.values_list("value", flat=True)) == {
        "eva@berg.de",
        "+4930555",
    }
    assert set(keep.contact_points.values_list("value", flat=True)) == {"eva@berg.de"}


def test_merge_refuses_other_team_kinds_and_itself(alice, charlie, pair, api_key_for):
    keep, dupe, firm = pair
    theirs = _person(charlie, "Eva", "Berg")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {api_key_for(alice)}"}
    client = Client()

    def merge(survivor, other):
        return client.post(
            f"/api/v1/parties/{survivor.pk}/merge",
            {"other_id": other.pk},
            content_type="application/json",
            **headers,
        )

    assert merge(keep, theirs).status_code == 404
    assert merge(keep, firm).status_code == 422
    assert merge(keep, keep).status_code == 422
    response = merge(keep, dupe)
    assert response.status_code == 201
    merge_id = response.json()["id"]
    undo = client.post(f"/api/v1/party-merges/{merge_id}/undo", **headers)
    assert undo.status_code == 200
    assert undo.json()["undone_at"]
    again = client.post(f"/api/v1/party-merges/{merge_id}/undo", **headers)
    assert again.status_code == 422


def test_read_only_cannot_merge(rory, pair):
    keep, dupe, _ = pair
    response = client_for(rory).post(f"/parties/{keep.pk}/merge/", {"other_id": dupe.pk})
    assert response.status_code == 404
