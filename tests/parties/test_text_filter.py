"""The party list's text filter matches what it always matched, whichever form the database runs
(PostgreSQL: trigram-indexed semi-join for terms of three letters or more, a join for shorter
ones; SQLite: EXISTS per visible party): the name or a contact value containing the term, case
ignored like ``icontains``, or the external ID equal to it; visible, live parties only, once."""

import pytest
from django.utils import timezone

from kreis.parties.models import ContactPoint, Party
from kreis.parties.queries import party_list_for_user

pytestmark = pytest.mark.django_db


def _party(name, *, team, values=(), external_id=None, deleted=False, role=None):
    party = Party.objects.create(
        kind="organization",
        name=name,
        team=team,
        external_id=external_id,
        deleted_at=timezone.now() if deleted else None,
    )
    for value in values:
        ContactPoint.objects.create(party=party, kind="email", value=value)
    if role:
        party.role_assignments.create(role=role)
    return party


def _expected(parties, term):
    """The filter's rule in Python (ASCII terms: SQLite folds the case of ASCII letters only)."""
    low = term.lower()
    return sorted(
        p.name
        for p in parties
        if (
            low in p.name.lower()
            or any(low in v.lower() for v in p.contact_points.values_list("value", flat=True))
            or p.external_id == term
        )
    )


def alice_team(user):
    (team_id,) = user.team_ids()
    return team_id


@pytest.fixture
def parties(north, south):
    return [
        _party("Anna Schmidt", team=north, values=["anna@schmidt.example"]),
        # Two matching contact points: listed once.
        _party("Bernd Klein", team=north, values=["b@SCHMIDT.example", "bernd.schmidt@x.example"]),
        _party("Carla Weber", team=north, values=["carla@weber.example"], external_id="Schmidt"),
        _party("Dora Lang", team=north, values=["dora@lang.example"], role="customer"),
        _party("Erik Schmidtke", team=north, role="customer"),
        _party("Fritz 50%_off", team=north, values=["fritz@ab.example"]),
        _party("Gitte Schmidt", team=south, values=["g@schmidt.example"]),  # not visible
        _party("Hans Schmidt", team=north, deleted=True),  # deleted
    ]


@pytest.mark.parametrize(
    "term",
    ["Schmidt", "schmidt", "SCHMIDT", "midt", "ab", "a", "lang.example", "50%_", "%", "_", "Zorro"],
)
def test_text_filter_matches_as_before(alice, parties, term):
    visible = [p for p in parties if p.team_id == alice_team(alice) and not p.deleted_at]
    qs = party_list_for_user(user=alice, search=term)
    names = list(qs.values_list("name", flat=True))
    assert sorted(names) == _expected(visible, term)
    assert qs.count() == len(names)  # no party twice, in the list or in its count


@pytest.mark.parametrize("term", ["Schmidt", "la"])
def test_text_filter_with_role_and_sort(alice, parties, term):
    qs = party_list_for_user(user=alice, search=term, role="customer", sort="-name")
    customers = [p for p in parties[:6] if p.role_assignments.filter(role="customer").exists()]
    assert list(qs.values_list("name", flat=True)) == sorted(
        _expected(customers, term), reverse=True
    )


def test_text_filter_umlauts(alice, north):
    _party("Jörg Müller", team=north, values=["joerg@mueller.example"])
    _party("Jana Muller", team=north)
    assert list(
        party_list_for_user(user=alice, search="Müller").values_list("name", flat=True)
    ) == ["Jörg Müller"]
    assert list(
        party_list_for_user(user=alice, search="mueller").values_list("name", flat=True)
    ) == ["Jörg Müller"]
