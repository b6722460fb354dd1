"""Relationship types: who owns a segment's customers, applied set-based with history."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from kreis.marketing.models import Segment, SegmentMember
from kreis.marketing.relationships import services, tasks
from kreis.marketing.relationships.models import PartyRelationshipType, RelationshipType
from kreis.parties.models import Party
from kreis.parties.services import party_create
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def static_segment(name, parties):
    segment = Segment.objects.create(name=name, kind="static")
    SegmentMember.objects.bulk_create([SegmentMember(segment=segment, party=p) for p in parties])
    return segment


@pytest.fixture
def customers(dana):
    made = [party_create(actor=dana, kind="organization", name=f"Kunde {i}") for i in range(4)]
    Party.objects.filter(pk__in=[p.pk for p in made]).update(owner=None, team=None)
    return made


def rtype(segment, **fields):
    defaults = {"name_de": "Typ", "name_en": "Type", "priority": 10}
    return RelationshipType.objects.create(segment=segment, **(defaults | fields))


def owners(parties):
    return [Party.objects.get(pk=p.pk).owner_id for p in parties]


def test_a_named_owner_takes_every_member_and_the_history_says_why(dana, mia, north, customers):
    key = rtype(
        static_segment("Key", customers[:2]),
        name_en="Key account",
        ownership="named",
        owner=mia,
        team=north,
    )
    result = services.relationship_types_apply(actor=dana)
    assert result.changed == 2
    assert owners(customers) == [mia.pk, mia.pk, None, None]
    last = Party.history.filter(id=customers[0].pk).order_by("-history_id").first()
    assert last.history_user == dana
    assert "Key account" in last.history_change_reason or "Typ" in last.history_change_reason
    assert PartyRelationshipType.objects.get(party=customers[0]).relationship_type == key
    # Applied again: nothing moves, no new history.
    before = Party.history.count()
    assert services.relationship_types_apply(actor=dana).changed == 0
    assert Party.history.count() == before


def test_the_highest_priority_wins_for_a_party_in_two_segments(dana, alice, mia, north, customers):
    rtype(static_segment("Online", customers), ownership="team", team=north, priority=1)
    rtype(static_segment("Key", customers[:1]), ownership="named", owner=mia, priority=50)
    services.relationship_types_apply(actor=dana)
    assert owners(customers) == [mia.pk, None, None, None]
    teams = {p.team_id for p in Party.objects.filter(pk__in=[c.pk for c in customers[1:]])}
    assert teams == {north.pk}
    # The named type has no team: its customer keeps the team it had (none).
    assert Party.objects.get(pk=customers[0].pk).team_id is None


def test_round_robin_spreads_members_and_keeps_those_already_in_the_team(
    dana, alice, mia, north, customers
):
    Party.objects.filter(pk=customers[0].pk).update(owner=mia)
    rtype(static_segment("Field", customers), ownership="round_robin", team=north)
    services.relationship_types_apply(actor=dana)
    got = owners(customers)
    assert got[0] == mia.pk  # already with a member of the team: stays
    assert set(got[1:]) == {alice.pk, mia.pk}


def test_keep_existing_owner_moves_only_customers_without_one(dana, alice, north, customers):
    Party.objects.filter(pk=customers[0].pk).update(owner=alice)
    rtype(
        static_segment("Web", customers[:2]), ownership="team", team=north, keep_existing_owner=True
    )
    services.relationship_types_apply(actor=dana)
    assert owners(customers[:2]) == [alice.pk, None]
    assert Party.objects.get(pk=customers[0].pk).team_id is None
    assert Party.objects.get(pk=customers[1].pk).team_id == north.pk


def test_a_party_leaving_the_segment_loses_its_type_but_keeps_its_owner(dana, mia, customers):
    segment = static_segment("Key", customers[:1])
    rtype(segment, ownership="named", owner=mia)
    services.relationship_types_apply(actor=dana)
    SegmentMember.objects.filter(segment=segment).delete()
    services.relationship_types_apply(actor=dana)
    assert not PartyRelationshipType.objects.exists()
    assert owners(customers[:1]) == [mia.pk]


def test_ownership_needs_its_owner_or_team_and_reps_may_not_apply(alice, mia, dana, customers):
    segment = static_segment("S", customers[:1])
    with pytest.raises(ValidationError) as exc:
        services.relationship_type_save(
            actor=mia,
            relationship_type=RelationshipType(),
            values={"name_de": "A", "name_en": "A", "segment": segment, "ownership": "named"},
        )
    assert "owner" in exc.value.message_dict
    with pytest.raises(PermissionDenied):
        services.relationship_types_apply(actor=alice)


def test_dry_run_counts_and_writes_nothing(dana, mia, customers):
    rtype(static_segment("Key", customers), ownership="named", owner=mia)
    result = services.relationship_types_apply(actor=dana, dry_run=True)
    assert result.changed == 4
    assert owners(customers) == [None] * 4


def test_apply_now_runs_the_job_and_reports_progress(dana, mia, customers):
    rtype(static_segment("Key", customers), ownership="named", owner=mia)
    client = client_for(dana)
    response = client.post(reverse("marketing:relationships:apply"))
    assert response.status_code == 302
    progress = tasks.progress_get()
    assert progress["state"] == "done"
    assert progress["changed"] == 4
    assert progress["total"] == 4
    page = client.get(reverse("marketing:relationships:list")).content.decode()
    assert "4" in page
    detail = client.get(reverse("parties:detail", args=[customers[0].pk])).content.decode()
    assert 'data-testid="party-relationship-type"' in detail


def test_party_list_filters_by_relationship_type(dana, mia, customers):
    key = rtype(static_segment("Key", customers[:1]), ownership="named", owner=mia)
    services.relationship_types_apply(actor=dana)
    page = client_for(dana).get(reverse("parties:list") + f"?relationship_type={key.pk}")
    text = page.content.decode()
    assert "Kunde 0" in text
    assert "Kunde 1" not in text


def test_api_crud_apply_and_a_partys_type(dana, mia, north, customers, api_key_for, client):
    headers = {"Authorization": f"Bearer {api_key_for(dana)}"}
    segment = static_segment("Key", customers[:2])
    made = client.post(
        "/api/v1/marketing/relationship-types",
        {
            "name_de": "Schlüsselkunde",
            "name_en": "Key account",
            "segment_id": segment.pk,
            "ownership": "named",
            "owner_id": mia.pk,
            "team_id": north.pk,
            "priority": 90,
        },
        content_type="application/json",
        headers=headers,
    )
    assert made.status_code == 201, made.content
    pk = made.json()["id"]
    dry = client.post(
        "/api/v1/marketing/relationship-types/apply",
        {"dry_run": True},
        content_type="application/json",
        headers=headers,
    )
    assert dry.json()["changed"] == 2
    queued = client.post(
        "/api/v1/marketing/relationship-types/apply",
        {},
        content_type="application/json",
        headers=headers,
    )
    assert queued.status_code == 202
    of_party = client.get(
        f"/api/v1/marketing/relationship-types/parties/{customers[0].pk}", headers=headers
    ).json()
    assert of_party["relationship_type_id"] == pk
    members = client.get(f"/api/v1/marketing/relationship-types/{pk}/parties", headers=headers)
    assert {p["id"] for p in members.json()["items"]} == {customers[0].pk, customers[1].pk}
    stale = client.patch(
        f"/api/v1/marketing/relationship-types/{pk}",
        {"priority": 5},
        content_type="application/json",
        headers={**headers, "If-Match": '"1-1.0"'},
    )
    assert stale.status_code == 412
