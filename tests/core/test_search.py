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


def _reference_score(query: str, text: str, title: str = "") -> float:
    """The ranking as it was first written (every word compared with difflib)."""
    from difflib import SequenceMatcher

    from kreis.core.search import SIMILARITY_FLOOR, _words

    title = fold(title)
    if title.startswith(query):
        return 3.0
    if query in title:
        return 2.5
    if query in text:
        return 2.0
    words = _words(text)
    if not words:
        return 0.0
    total = 0.0
    for q in _words(query):
        best = 0.0
        for w in words:
            if w.startswith(q) or q in w:
                best = 1.0
                break
            best = max(best, SequenceMatcher(None, q, w).ratio())
        if best < SIMILARITY_FLOOR:
            return 0.0
        total += best
    return total / len(_words(query))


def test_ranking_shortcuts_give_exactly_the_scores_of_comparing_every_word():
    import random

    from kreis.core.search import _score

    rng = random.Random(7)
    names = (
        "Jürgen Müller Weißbräu GmbH Schmidt Schmitt Meier Maier Mayer Weber Wagner Becker "
        "Bäcker Hoffmann Hofmann Schäfer Schaefer Koch Bauer Richter Klein Wolf Schröder "
        "Neumann Schwarz Zimmermann Braun Krüger Hartmann Lange Werner Krause Lehmann "
        "j.mueller@beispiel.de +49401234567 0401234567 Nordlicht Solar KG Straße 12a"
    ).split()
    texts = [fold(" ".join(rng.sample(names, rng.randint(1, 8)))) for _ in range(120)] + [
        "",
        "a",
        "mueller",
    ]

    def typo(word: str) -> str:
        letters = list(word)
        for _ in range(rng.randint(0, 2)):
            at = rng.randrange(len(letters) + 1)
            choice = rng.random()
            if choice < 0.33 and len(letters) > 1:
                del letters[min(at, len(letters) - 1)]
            elif choice < 0.66:
                letters.insert(at, rng.choice("aeiouklmnrst"))
            else:
                letters[min(at, len(letters) - 1)] = rng.choice("aeiouklmnrst")
        return "".join(letters)

    compared = similar = 0
    for _ in range(80):
        query = fold(" ".join(typo(rng.choice(names)) for _ in range(rng.choice([1, 1, 2, 3]))))
        if len(query) < 2:
            continue
        seen: dict = {}
        for text in texts:
            title = text[:20]
            expected = _reference_score(query, text, title)
            assert _score(query, text, title, seen) == expected, (query, text)
            assert _score(query, text, title) == expected, (query, text)
            compared += 1
            similar += 0 < expected < 1
    assert compared > 5000
    assert similar > 100


def test_only_what_the_user_may_see_competes_for_the_candidate_places(
    alice, charlie, api_key_for, monkeypatch
):
    from kreis.core import search

    for _ in range(4):
        services.party_create(actor=charlie, kind="person", first_name="Max", last_name="Müller")
    mine = services.party_create(actor=alice, kind="organization", name="Müllers Hof KG")
    monkeypatch.setattr(search, "CANDIDATES", 2)
    headers = {"Authorization": f"Bearer {api_key_for(alice)}"}
    hits = client_for(alice).get("/api/v1/search", {"q": "Müller"}, headers=headers).json()
    assert [h["id"] for h in hits] == [mine.pk]
    headers = {"Authorization": f"Bearer {api_key_for(charlie)}"}
    hits = client_for(charlie).get("/api/v1/search", {"q": "Müller"}, headers=headers).json()
    assert len(hits) == 2
    assert mine.pk not in [h["id"] for h in hits]


@pytest.mark.django_db(transaction=True)
def test_many_entries_written_at_once_are_found_and_a_failed_write_leaves_no_trace(alice):
    """Bulk writers fill the FTS table in one statement after the entries (SQLite); every
    entry is found afterwards, the next single write still reaches the index, and a write
    that fails midway leaves neither entries nor a deferred index behind."""
    from django.db import IntegrityError, connection, transaction

    from kreis.core.models import SearchEntry
    from kreis.core.search import candidate_ids, insert_entries

    def row(n, name):
        return {
            "entity": "party",
            "object_id": n,
            "title": name,
            "url": f"/p/{n}/",
            "text": fold(name),
            "owner_id": alice.pk,
            "team_id": None,
        }

    with transaction.atomic():
        assert insert_entries([row(n, f"Kundin Nummer{n:03d} Bräuer") for n in range(50)]) == 50
    found = candidate_ids("Nummer017 Braeuer")
    assert found
    assert SearchEntry.objects.get(pk=found[0]).object_id == 17
    assert len(candidate_ids("Braeuer")) == 50

    duplicate = (IntegrityError,)  # PostgreSQL's COPY raises the driver's own
    if connection.vendor == "postgresql":
        import psycopg

        duplicate += (psycopg.IntegrityError,)
    with pytest.raises(duplicate), transaction.atomic():  # object 3 is there already
        insert_entries([row(n, f"Zweiter Versuch{n}") for n in range(3, 40)])
    assert candidate_ids("Versuch") == []
    assert SearchEntry.objects.count() == 50

    with transaction.atomic():  # one entry: through the row trigger, which still fires
        insert_entries([row(99, "Einzelne Zeile")])
    assert len(candidate_ids("Einzelne")) == 1
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM core_searchfts_deferred")
            assert cursor.fetchone()[0] == 0
