"""Global search: finds parties by misspelt names and umlaut spellings, respects permissions."""

import pytest

from kreis.core.search import fold, reindex
from kreis.parties import services
from tests.conftest import client_for


@pytest.fixture
def people(alice, charlie):
    mueller = services.party_create(
        actor=alice,
        kind="person",
        first_name="Jürgen",
        last_name="Müller",
        emails=[{"value": "J.Mueller@Beispiel.de"}],
        phones=[{"value": "040 1234567"}],
    )
    firm = services.party_create(actor=alice, kind="organization", name="Weißbräu GmbH")
    services.employment_set(actor=alice, person=mueller, organization=firm)
    hidden = services.party_create(actor=charlie, kind="person", last_name="Müllermann")
    return mueller, firm, hidden


def test_fold_spells_out_umlauts_and_drops_accents():
    assert fold("Jürgen MÜLLER, Straße") == "juergen mueller strasse"
    assert fold("Café Déjà-vu") == "cafe deja vu"


@pytest.mark.parametrize(
    "query",
    ["Müller", "Mueller", "mueller", "Muller", "Mülller", "Jürgen Müler", "juergen", "Weissbräu"],
)
def test_search_finds_the_person_despite_spelling(people, alice, query):
    mueller = people[0]
    response = client_for(alice).get("/search/", {"q": query})
    assert response.status_code == 200
    assert f"/parties/{mueller.pk}/" in response.content.decode()


def test_search_finds_by_email_phone_and_company(people, alice, api_key_for):
    mueller, firm, _ = people
    headers = {"Authorization": f"Bearer {api_key_for(alice)}"}
    client = client_for(alice)
    for query in ("j.mueller@beispiel", "+49401234567", "0401234567", "Weißbräu"):
        hits = client.get("/api/v1/search", {"q": query}, headers=headers).json()
        assert any(h["entity"] == "party" and h["id"] == mueller.pk for h in hits), query


def test_search_ranks_exact_match_first(people, alice, api_key_for):
    headers = {"Authorization": f"Bearer {api_key_for(alice)}"}
    hits = client_for(alice).get("/api/v1/search", {"q": "Weißbräu"}, headers=headers).json()
    assert hits[0]["id"] == people[1].pk


def test_search_never_shows_another_teams_records(people, alice, charlie, api_key_for):
    hidden = people[2]
    headers = {"Authorization": f"Bearer {api_key_for(alice)}"}
    hits = client_for(alice).get("/api/v1/search", {"q": "Müllermann"}, headers=headers).json()
    assert hidden.pk not in [h["id"] for h in hits]
    headers = {"Authorization": f"Bearer {api_key_for(charlie)}"}
    hits = client_for(charlie).get("/api/v1/search", {"q": "Muellermann"}, headers=headers).json()
    assert [h["id"] for h in hits] == [hidden.pk]


def test_a_different_name_is_not_a_hit(people, alice, api_key_for):
    headers = {"Authorization": f"Bearer {api_key_for(alice)}"}
    hits = client_for(alice).get("/api/v1/search", {"q": "Schmidt"}, headers=headers).json()
    assert hits == []


def test_changes_and_deletes_reach_the_index(people, alice, api_key_for):
    mueller = people[0]
    headers = {"Authorization": f"Bearer {api_key_for(alice)}"}
    client = client_for(alice)
    services.party_update(actor=alice, party=mueller, last_name="Schulze")
    assert client.get("/api/v1/search", {"q": "Schulze"}, headers=headers).json()[0]["id"] == (
        mueller.pk
    )
    services.party_delete(actor=alice, party=mueller)
    assert client.get("/api/v1/search", {"q": "Schulze"}, headers=headers).json() == []


def test_reindex_rebuilds_from_the_records(people, alice, api_key_for):
    from kreis.core.models import SearchEntry

    SearchEntry.objects.all().delete()
    assert reindex(["party"]) == 3
    headers = {"Authorization": f"Bearer {api_key_for(alice)}"}
    hits = client_for(alice).get("/api/v1/search", {"q": "Mueller"}, headers=headers).json()
    assert hits
    assert hits[0]["id"] == people[0].pk


def test_search_query_is_validated(alice, api_key_for):
    headers = {"Authorization": f"Bearer {api_key_for(alice)}"}
    response = client_for(alice).get("/api/v1/search", {"q": "x"}, headers=headers)
    assert response.status_code == 422
