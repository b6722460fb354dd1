"""Segment conditions: each field type (own, custom, computed), all/any, static lists,
deleted parties, visibility, validation messages, counts over time."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from kreis.core.models import CustomField
from kreis.marketing.models import Segment, SegmentMember, SegmentSnapshot
from kreis.marketing.segments import queries, services
from kreis.parties.models import PartyRoleAssignment, Tag
from tests.parties.factories import OrganizationFactory, PersonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def custom_fields(db):
    CustomField.objects.create(
        entity="party", key="branche", label="Branche", type="choice", choices=["Bau", "Handel"]
    )
    CustomField.objects.create(entity="party", key="employees", label="Employees", type="number")
    CustomField.objects.create(entity="party", key="budget", label="Budget", type="money")
    CustomField.objects.create(entity="party", key="since", label="Customer since", type="date")
    CustomField.objects.create(entity="party", key="vip", label="VIP", type="boolean")
    CustomField.objects.create(entity="party", key="motto", label="Motto", type="text")
    CustomField.objects.create(
        entity="party", key="topics", label="Topics", type="multi_choice", choices=["ERP", "CRM"]
    )


@pytest.fixture
def world(custom_fields, alice, charlie, north, south):
    bau = OrganizationFactory(
        name="Bau AG",
        abc_class="A",
        clv=Decimal("90000"),
        rfm_segment="champions",
        lifecycle_phase="growth",
        score=81.5,
        p_alive=0.9,
        last_nps=9,
        territory="Nord",
        owner=alice,
        team=north,
        custom={
            "branche": "Bau",
            "employees": 120,
            "budget": "1250.00",
            "since": "2019-05-01",
            "vip": True,
            "motto": "Immer weiter",
            "topics": ["ERP", "CRM"],
        },
    )
    handel = OrganizationFactory(
        name="Handel GmbH",
        abc_class="B",
        clv=Decimal("20000"),
        rfm_segment="at_risk",
        lifecycle_phase="endangerment",
        score=40,
        p_alive=0.3,
        last_nps=4,
        territory="Süd",
        owner=charlie,
        team=south,
        custom={
            "branche": "Handel",
            "employees": 9,
            "budget": "99.50",
            "since": "2023-01-10",
            "vip": False,
            "topics": ["CRM"],
        },
    )
    person = PersonFactory(name="Petra Pohl", abc_class="C", territory="Nord", owner=alice)
    gone = OrganizationFactory(
        name="Gone GmbH",
        abc_class="A",
        clv=Decimal("99999"),
        custom={"branche": "Bau"},
        deleted_at=timezone.now(),
    )
    vip = Tag.objects.create(name="VIP")
    bau.tags.add(vip)
    PartyRoleAssignment.objects.create(party=bau, role="customer")
    PartyRoleAssignment.objects.create(party=person, role="prospect")
    return {"bau": bau, "handel": handel, "person": person, "gone": gone}


def names(conditions, match="all"):
    cleaned = queries.clean_conditions(conditions)
    return sorted(p.name for p in queries.parties_matching(cleaned, match))


def test_own_fields(world, alice, north):
    assert names([{"field": "kind", "op": "eq", "value": "person"}]) == ["Petra Pohl"]
    assert names([{"field": "territory", "op": "eq", "value": "nord"}]) == [
        "Bau AG",
        "Petra Pohl",
    ]
    assert names([{"field": "name", "op": "contains", "value": "gmbh"}]) == ["Handel GmbH"]
    assert names([{"field": "territory", "op": "ne", "value": "Nord"}]) == ["Handel GmbH"]
    assert names([{"field": "owner", "op": "eq", "value": alice.pk}]) == ["Bau AG", "Petra Pohl"]
    assert names([{"field": "team", "op": "is_empty"}]) == ["Petra Pohl"]
    assert names([{"field": "tags", "op": "contains", "value": "vip"}]) == ["Bau AG"]
    assert names([{"field": "tags", "op": "is_empty"}]) == ["Handel GmbH", "Petra Pohl"]
    assert names([{"field": "role", "op": "in", "value": ["prospect", "partner"]}]) == [
        "Petra Pohl"
    ]
    assert len(names([{"field": "created_at", "op": "within_last_days", "value": 3}])) == 3
    yesterday = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    assert len(names([{"field": "created_at", "op": "gt", "value": yesterday}])) == 3
    assert names([{"field": "created_at", "op": "lt", "value": yesterday}]) == []


def test_computed_figures(world):
    assert names([{"field": "abc_class", "op": "in", "value": ["A", "B"]}]) == [
        "Bau AG",
        "Handel GmbH",
    ]
    assert names([{"field": "clv", "op": "gte", "value": "50000"}]) == ["Bau AG"]
    assert names([{"field": "clv", "op": "between", "value": ["10000", "30000"]}]) == [
        "Handel GmbH"
    ]
    assert names([{"field": "rfm_segment", "op": "eq", "value": "at_risk"}]) == ["Handel GmbH"]
    assert names([{"field": "lifecycle_phase", "op": "eq", "value": "growth"}]) == ["Bau AG"]
    assert names([{"field": "score", "op": "gt", "value": 50}]) == ["Bau AG"]
    assert names([{"field": "p_alive", "op": "lt", "value": "0,5"}]) == ["Handel GmbH"]
    assert names([{"field": "last_nps", "op": "lte", "value": 6}]) == ["Handel GmbH"]
    assert names([{"field": "clv", "op": "is_empty"}]) == ["Petra Pohl"]


def test_custom_fields_of_each_type(world):
    assert names([{"field": "custom.branche", "op": "eq", "value": "Bau"}]) == ["Bau AG"]
    # Numbers compare as numbers (9 < 120), not as text ("9" > "120").
    assert names([{"field": "custom.employees", "op": "gt", "value": 10}]) == ["Bau AG"]
    assert names([{"field": "custom.employees", "op": "lt", "value": 100}]) == ["Handel GmbH"]
    assert names([{"field": "custom.budget", "op": "gte", "value": "200"}]) == ["Bau AG"]
    assert names([{"field": "custom.budget", "op": "between", "value": [50, 100]}]) == [
        "Handel GmbH"
    ]
    assert names([{"field": "custom.since", "op": "lt", "value": "2020-01-01"}]) == ["Bau AG"]
    assert names([{"field": "custom.vip", "op": "eq", "value": "yes"}]) == ["Bau AG"]
    assert names([{"field": "custom.vip", "op": "eq", "value": "no"}]) == ["Handel GmbH"]
    assert names([{"field": "custom.motto", "op": "contains", "value": "WEITER"}]) == ["Bau AG"]
    assert names([{"field": "custom.topics", "op": "contains", "value": "ERP"}]) == ["Bau AG"]
    assert names([{"field": "custom.topics", "op": "in", "value": "ERP, CRM"}]) == [
        "Bau AG",
        "Handel GmbH",
    ]
    assert names([{"field": "custom.branche", "op": "is_empty"}]) == ["Petra Pohl"]
    assert names([{"field": "custom.employees", "op": "not_empty"}]) == ["Bau AG", "Handel GmbH"]


def test_all_and_any(world):
    conditions = [
        {"field": "abc_class", "op": "in", "value": ["A", "B"]},
        {"field": "clv", "op": "gte", "value": "50000"},
        {"field": "custom.branche", "op": "eq", "value": "Bau"},
    ]
    assert names(conditions) == ["Bau AG"]
    either = [
        {"field": "kind", "op": "eq", "value": "person"},
        {"field": "custom.branche", "op": "eq", "value": "Handel"},
    ]
    assert names(either, "any") == ["Handel GmbH", "Petra Pohl"]
    assert names(either, "all") == []


def test_deleted_parties_never_count_static_or_dynamic(world, alice):
    dynamic = services.segment_create(
        actor=None,
        name="Bau",
        conditions=[{"field": "custom.branche", "op": "eq", "value": "Bau"}],
    )
    assert dynamic.member_count == 1
    static = services.segment_create(actor=None, name="List", kind="static")
    SegmentMember.objects.create(segment=static, party=world["gone"])
    SegmentMember.objects.create(segment=static, party=world["handel"])
    assert queries.count_members(static) == 1
    assert queries.party_in_segment(world["handel"], static)
    assert not queries.party_in_segment(world["gone"], static)
    assert queries.party_in_segment(world["bau"], dynamic)
    assert not queries.party_in_segment(world["gone"], dynamic)


def test_members_a_user_sees(world, alice, charlie):
    segment = services.segment_create(
        actor=None, name="A and B", conditions=[{"field": "abc_class", "op": "in", "value": "A,B"}]
    )
    assert queries.count_members(segment) == 2
    assert [p.name for p in queries.segment_parties(segment, user=alice)] == ["Bau AG"]
    assert [p.name for p in queries.segment_parties(segment, user=charlie)] == ["Handel GmbH"]


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ({"field": "colour", "op": "eq", "value": "x"}, "There is no field “colour”"),
        ({"field": "clv", "op": "contains", "value": "1"}, "does not apply to"),
        ({"field": "clv", "op": "gte", "value": "lots"}, "Enter a number."),
        ({"field": "abc_class", "op": "eq", "value": "Z"}, "“Z” is not an option"),
        ({"field": "last_nps", "op": "gt", "value": 11}, "from 0 to 10"),
        ({"field": "custom.since", "op": "lt", "value": "soon"}, "YYYY-MM-DD"),
        ({"field": "custom.vip", "op": "eq", "value": "perhaps"}, "yes or no"),
        ({"field": "clv", "op": "between", "value": [5]}, "two values"),
        ({"field": "clv", "op": "between", "value": [9, 5]}, "must not be greater"),
        ({"field": "created_at", "op": "within_last_days", "value": 0}, "number of days"),
        ({"field": "owner", "op": "eq", "value": 99999}, "no user with the ID"),
    ],
)
def test_wrong_conditions_say_what_is_wrong(custom_fields, condition, message):
    with pytest.raises(ValidationError) as caught:
        queries.clean_conditions([{"field": "kind", "op": "eq", "value": "person"}, condition])
    (error,) = caught.value.message_dict["conditions"]
    assert error.startswith("Condition 2:")
    assert message in error


def test_a_condition_on_a_custom_field_removed_since_matches_nobody(world):
    segment = Segment.objects.create(
        name="Old", conditions=[{"field": "custom.gone", "op": "eq", "value": "x"}]
    )
    assert queries.count_members(segment) == 0
    assert "no longer exists" in queries.describe_segment(segment)[0]


def test_conditions_in_words(world):
    segment = services.segment_create(
        actor=None,
        name="Words",
        conditions=[
            {"field": "abc_class", "op": "in", "value": ["A", "B"]},
            {"field": "clv", "op": "between", "value": [1000, 5000]},
            {"field": "custom.since", "op": "within_last_days", "value": 30},
            {"field": "territory", "op": "is_empty"},
        ],
    )
    words = queries.describe_segment(segment)
    assert words[0] == "ABC class is one of “A”, “B”"
    assert words[1].startswith("Customer lifetime value (CLV) is between 1,000")
    assert words[2] == "Customer since within the last 30 days"
    assert words[3] == "Territory is empty"


def test_refresh_count_keeps_one_snapshot_a_day(world):
    segment = services.segment_create(
        actor=None, name="Nord", conditions=[{"field": "territory", "op": "eq", "value": "Nord"}]
    )
    world["handel"].territory = "Nord"
    world["handel"].save()
    assert services.refresh_count(segment) == 3
    yesterday = timezone.now() - dt.timedelta(days=1)
    services.refresh_count(segment, now=yesterday)
    counts = list(SegmentSnapshot.objects.filter(segment=segment).values_list("count", flat=True))
    assert counts == [3, 3]
    assert services.snapshot_all() == 1
    segment.refresh_from_db()
    assert segment.member_count == 3
    assert segment.counted_at is not None


def test_the_nightly_job_counts_every_segment(world):
    from kreis.marketing.segments.tasks import snapshot_segments

    services.segment_create(actor=None, name="One")
    services.segment_create(actor=None, name="Two", kind="static")
    SegmentSnapshot.objects.all().delete()
    assert snapshot_segments.call_local() == 2
    assert SegmentSnapshot.objects.filter(day=timezone.localdate()).count() == 2
