"""Organisations and persons in the web UI: create, see, link, relate, edit, history."""

import pytest

from kreis.parties.models import ContactKind, Employment, Party, PartyKind, Relationship
from tests.conftest import client_for
from tests.parties.factories import OrganizationFactory, PersonFactory

pytestmark = pytest.mark.django_db


def test_rep_creates_an_organisation_with_normalised_contact_data(alice, north):
    response = client_for(alice).post(
        "/parties/new/organization/",
        {
            "name": "Müller Maschinenbau GmbH",
            "roles": ["customer", "supplier"],
            "emails": "Info@Mueller-Maschinenbau.DE\nvertrieb@mueller-maschinenbau.de",
            "phones": "030 1234567",
            "street": "Hauptstraße 1",
            "postal_code": "10115",
            "city": "Berlin",
            "country": "de",
            "address_kind": "office",
            "vat_id": "DE 136 695 976",
            "tags": "Maschinenbau, A-Kunde",
        },
    )
    party = Party.objects.get(name="Müller Maschinenbau GmbH")
    assert response.url == f"/parties/{party.pk}/"
    assert party.kind == PartyKind.ORGANIZATION
    assert party.owner == alice
    assert party.team == north
    assert sorted(party.role_values()) == ["customer", "supplier"]
    emails = party.contact_points.filter(kind=ContactKind.EMAIL)
    assert [e.value for e in emails] == [
        "info@mueller-maschinenbau.de",
        "vertrieb@mueller-maschinenbau.de",
    ]
    assert emails[0].is_primary
    assert party.contact_points.get(kind=ContactKind.PHONE).value == "+49301234567"
    assert party.vat_id == "DE136695976"
    assert party.addresses.get().country == "DE"
    assert sorted(t.name for t in party.tags.all()) == ["A-Kunde", "Maschinenbau"]


def test_invalid_contact_data_is_shown_and_nothing_is_saved(alice):
    response = client_for(alice).post(
        "/parties/new/person/",
        {
            "last_name": "Schmidt",
            "emails": "not-an-email",
            "phones": "12",
            "country": "DE",
            "address_kind": "office",
            "vat_id": "",
        },
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "not-an-email" in body
    assert not Party.objects.filter(last_name="Schmidt").exists()


def test_bad_vat_id_is_refused(alice):
    response = client_for(alice).post(
        "/parties/new/organization/",
        {"name": "ACME", "vat_id": "DE123", "country": "DE", "address_kind": "office"},
    )
    assert response.status_code == 200
    assert "VAT" in response.content.decode()
    assert not Party.objects.filter(name="ACME").exists()


def test_person_is_linked_to_an_organisation_and_both_pages_show_it(alice, north):
    org = OrganizationFactory(owner=alice, team=north, name="Nordwind AG")
    person = PersonFactory(owner=alice, team=north, first_name="Jana", last_name="Krüger")
    client = client_for(alice)
    client.post(
        f"/parties/{person.pk}/employments/",
        {
            "other": f"Nordwind AG (#{org.pk})",
            "position": "Einkaufsleiterin",
            "department": "Einkauf",
            "is_primary_contact": "on",
        },
    )
    employment = Employment.objects.get()
    assert (employment.person, employment.organization) == (person, org)
    assert employment.is_primary_contact
    assert "Einkaufsleiterin" in client.get(f"/parties/{org.pk}/").content.decode()
    assert "Nordwind AG" in client.get(f"/parties/{person.pk}/").content.decode()


def test_relationship_appears_on_both_parties_and_in_the_graph(alice, north):
    parent = OrganizationFactory(owner=alice, team=north, name="Holding SE")
    child = OrganizationFactory(owner=alice, team=north, name="Tochter GmbH")
    client = client_for(alice)
    client.post(
        f"/parties/{child.pk}/relationships/",
        {"type": "subsidiary_of", "target": f"Holding SE (#{parent.pk})"},
    )
    assert Relationship.objects.filter(source=child, target=parent, type="subsidiary_of").exists()
    assert "Tochter GmbH" in client.get(f"/parties/{parent.pk}/").content.decode()
    graph = client.get(f"/parties/{parent.pk}/graph.json").json()
    assert {n["name"] for n in graph["nodes"]} == {"Holding SE", "Tochter GmbH"}
    assert graph["links"][0]["label"] == "is a subsidiary of"


def test_graph_leaves_out_parties_the_user_may_not_see(alice, charlie, north, south):
    mine = OrganizationFactory(owner=alice, team=north)
    theirs = OrganizationFactory(owner=charlie, team=south, name="Secret Ltd")
    Relationship.objects.create(source=mine, target=theirs, type="partner_of")
    graph = client_for(alice).get(f"/parties/{mine.pk}/graph.json").json()
    assert "Secret Ltd" not in {n["name"] for n in graph["nodes"]}


def test_edit_records_history_with_old_and_new_values(alice, north):
    org = OrganizationFactory(owner=alice, team=north, name="Alt GmbH")
    client = client_for(alice)
    client.post(
        f"/parties/{org.pk}/edit/",
        {
            "name": "Neu GmbH",
            "country": "DE",
            "address_kind": "office",
            "owner": alice.pk,
            "team": north.pk,
        },
    )
    org.refresh_from_db()
    assert org.name == "Neu GmbH"
    body = client.get(f"/parties/{org.pk}/").content.decode()
    assert "Alt GmbH" in body
    assert org.history.first().history_user == alice


def test_other_teams_party_is_404_everywhere(alice, charlie, south):
    theirs = OrganizationFactory(owner=charlie, team=south)
    client = client_for(alice)
    for url in (
        f"/parties/{theirs.pk}/",
        f"/parties/{theirs.pk}/edit/",
        f"/parties/{theirs.pk}/graph.json",
    ):
        assert client.get(url).status_code == 404
    assert client.post(f"/parties/{theirs.pk}/delete/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.deleted_at is None


def test_list_shows_own_and_team_parties_only_and_filters(alice, bob, charlie, north, south):
    OrganizationFactory(owner=bob, team=north, name="Teamkunde KG")
    OrganizationFactory(owner=charlie, team=south, name="Fremdkunde KG")
    PersonFactory(owner=alice, team=None, first_name="Eva", last_name="Eigen")
    client = client_for(alice)
    body = client.get("/parties/").content.decode()
    assert "Teamkunde KG" in body
    assert "Eva Eigen" in body
    assert "Fremdkunde KG" not in body
    rows = client.get("/parties/", {"kind": "person"}, HTTP_HX_REQUEST="true").content.decode()
    assert "Eva Eigen" in rows
    assert "Teamkunde KG" not in rows
    assert "<html" not in rows


def test_read_only_user_sees_but_cannot_create_or_edit(rory, alice, north):
    org = OrganizationFactory(owner=alice, team=north)
    client = client_for(rory)
    assert client.get(f"/parties/{org.pk}/").status_code == 200
    assert client.get("/parties/new/organization/").status_code == 403
    assert client.get(f"/parties/{org.pk}/edit/").status_code == 404


def test_soft_deleted_party_leaves_the_list(alice, north):
    org = OrganizationFactory(owner=alice, team=north, name="Weg GmbH")
    client = client_for(alice)
    client.post(f"/parties/{org.pk}/delete/")
    org.refresh_from_db()
    assert org.deleted_at is not None
    rows = client.get("/parties/", HTTP_HX_REQUEST="true").content.decode()
    assert "Weg GmbH" not in rows
    assert client.get(f"/parties/{org.pk}/").status_code == 404


def test_lookup_suggests_only_visible_parties_of_the_asked_kind(alice, charlie, north, south):
    OrganizationFactory(owner=alice, team=north, name="Sichtbar GmbH")
    OrganizationFactory(owner=charlie, team=south, name="Sichtlos GmbH")
    body = client_for(alice).get("/parties/lookup/", {"other": "Sicht", "kind": "organization"})
    assert "Sichtbar GmbH (#" in body.content.decode()
    assert "Sichtlos" not in body.content.decode()


def test_linking_to_an_invisible_party_is_refused(alice, charlie, north, south):
    mine = PersonFactory(owner=alice, team=north)
    theirs = OrganizationFactory(owner=charlie, team=south, name="Fremd AG")
    client_for(alice).post(
        f"/parties/{mine.pk}/employments/", {"other": f"Fremd AG (#{theirs.pk})"}
    )
    assert not Employment.objects.exists()


def test_global_search_finds_visible_parties_by_name_and_email(alice, charlie, north, south):
    from kreis.parties import services

    services.party_create(
        actor=alice,
        kind="person",
        first_name="Lena",
        last_name="Vogt",
        emails=[{"value": "lena.vogt@example.de"}],
    )
    OrganizationFactory(owner=charlie, team=south, name="Vogtland Fremd GmbH")
    client = client_for(alice)
    body = client.get("/search/", {"q": "Vogt"}, HTTP_HX_REQUEST="true").content.decode()
    assert "Lena Vogt" in body
    assert "Vogtland Fremd" not in body
    assert "Lena Vogt" in client.get("/search/", {"q": "lena.vogt@"}).content.decode()


def test_party_list_pages_keep_filters(alice, north):
    OrganizationFactory.create_batch(30, owner=alice, team=north)
    body = client_for(alice).get("/parties/", {"kind": "organization"}).content.decode()
    assert "kind=organization&amp;page=2" in body


def test_csv_export_has_the_filtered_visible_parties_and_defuses_formulas(
    alice, charlie, north, south
):
    from kreis.parties import services

    services.party_create(
        actor=alice,
        kind="organization",
        name="=HYPERLINK(1)",
        roles=["customer"],
        emails=[{"value": "a@b.de"}],
        phones=[{"value": "+49 30 12345678"}],
    )
    services.party_create(actor=alice, kind="organization", name="Müller AG", roles=["supplier"])
    OrganizationFactory(owner=charlie, team=south, name="Fremd AG")
    response = client_for(alice).get("/parties/export.csv", {"role": "customer"})
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = body.strip().splitlines()
    assert lines[0].startswith("id,kind,name,roles,email")
    assert len(lines) == 2
    assert "'=HYPERLINK(1)" in lines[1]
    assert "a@b.de" in lines[1]
    assert ",+493012345678," in lines[1]
    everything = b"".join(client_for(alice).get("/parties/export.csv").streaming_content)
    assert "Müller AG" in everything.decode("utf-8-sig")
    assert b"Fremd AG" not in everything
