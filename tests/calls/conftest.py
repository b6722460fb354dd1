"""A trade-fair follow-up: persons with and without phone numbers and phone consents, in a
static segment and a campaign, owned by alice's team North."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kreis.core.models import Role
from kreis.marketing.models import (
    Campaign,
    CampaignMember,
    Consent,
    ConsentBasis,
    ConsentChannel,
    ConsentPurpose,
    ConsentSource,
    ConsentStatus,
    Segment,
    SegmentKind,
    SegmentMember,
)
from kreis.parties.models import ContactPoint
from tests.factories import UserFactory
from tests.parties.factories import PersonFactory


def consent(party, *, purpose=ConsentPurpose.PHONE, basis=ConsentBasis.DOCUMENTED, days=10):
    at = timezone.now() - dt.timedelta(days=days)
    return Consent.objects.create(
        party=party,
        purpose=purpose,
        channel=ConsentChannel.PHONE,
        status=ConsentStatus.GRANTED,
        basis=basis,
        source=ConsentSource.STAFF,
        requested_at=at,
        confirmed_at=at,
    )


def person(name, north, alice, phone=None):
    first, last = name.split()
    party = PersonFactory(first_name=first, last_name=last, name=name, owner=alice, team=north)
    if phone:
        ContactPoint.objects.create(party=party, kind="phone", value=phone, is_primary=True)
    return party


@pytest.fixture
def molly(db):
    return UserFactory(username="molly", role=Role.MARKETING)


@pytest.fixture
def people(north, alice):
    """anna, berta (consent, phone); carl (phone, no consent); dora (consent, no phone);
    emil (phone, consent withdrawn later); fritz (phone, existing-customer basis for offers)."""
    made = {
        "anna": person("Anna Adler", north, alice, "+4930111111"),
        "berta": person("Berta Brandt", north, alice, "+4930222222"),
        "carl": person("Carl Clausen", north, alice, "+4930333333"),
        "dora": person("Dora Dietz", north, alice),
        "emil": person("Emil Ernst", north, alice, "+4930555555"),
        "fritz": person("Fritz Frank", north, alice, "+4930666666"),
    }
    for key in ("anna", "berta", "dora", "emil"):
        consent(made[key])
    withdrawal = consent(made["emil"], days=2)
    withdrawal.status = ConsentStatus.WITHDRAWN
    withdrawal.withdrawn_at = timezone.now() - dt.timedelta(days=1)
    withdrawal.save()
    consent(made["fritz"], purpose=ConsentPurpose.MARKETING, basis=ConsentBasis.EXISTING_CUSTOMER)
    return made


@pytest.fixture
def segment(people, alice):
    segment = Segment.objects.create(name="Messe", kind=SegmentKind.STATIC, owner=alice)
    for party in people.values():
        SegmentMember.objects.create(segment=segment, party=party)
    return segment


@pytest.fixture
def campaign(people, alice):
    campaign = Campaign.objects.create(name="Fair", code="fair", channel="event", owner=alice)
    for key in ("anna", "carl"):
        CampaignMember.objects.create(campaign=campaign, party=people[key])
    return campaign
