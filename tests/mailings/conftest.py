"""Fixtures of the mailing tests: Mara from marketing (team North), a static segment of four
customers with different consents — confirmed double opt-in, pending, withdrawn, and the
existing-customer basis — and a draft newsletter to them."""

from __future__ import annotations

import pytest

from kreis.core.models import Role
from kreis.mailings import services
from kreis.marketing.consent import services as consent
from kreis.marketing.defaults import ensure_defaults
from kreis.marketing.models import MarketingSettings, Segment, SegmentKind, SegmentMember
from kreis.parties.models import ContactKind, ContactPoint
from tests.factories import MembershipFactory, UserFactory
from tests.parties.factories import PersonFactory

BASE = "https://crm.example.com"
CONFIRMED = "anna@kunde.example"
PENDING = "paul@kunde.example"
WITHDRAWN = "wera@kunde.example"
EXISTING = "emil@kunde.example"


@pytest.fixture(autouse=True)
def _marketing_settings(db):
    ensure_defaults()
    config = MarketingSettings.load()
    config.public_base_url = BASE
    config.sender_email = "news@kreis.example"
    config.sender_name = "Kreis News"
    config.imprint = "Beispiel GmbH, Berlin"
    config.save()


@pytest.fixture
def mara(north):
    user = UserFactory(username="mara", first_name="Mara", last_name="Marx", role=Role.MARKETING)
    MembershipFactory(team=north, user=user)
    return user


def person(first: str, address: str, *, owner, team):
    party = PersonFactory(first_name=first, last_name="Kunde", owner=owner, team=team)
    ContactPoint.objects.create(party=party, kind=ContactKind.EMAIL, value=address, is_primary=True)
    return party


def give_consent(party, address: str, *, how: str, actor=None):
    """A newsletter consent: "confirmed" (double opt-in, link opened), "pending", "withdrawn"
    (confirmed, then withdrawn) or "existing" (existing-customer basis, recorded by staff)."""
    if how == "existing":
        return consent.request_consent(
            purpose="newsletter",
            channel="email",
            email=address,
            party=party,
            language="de",
            source="staff",
            basis="existing_customer",
            actor=actor,
        )
    given = consent.request_consent(
        purpose="newsletter",
        channel="email",
        email=address,
        party=party,
        language="de",
        source="form",
    )
    if how in ("confirmed", "withdrawn"):
        consent.confirm(given)
    if how == "withdrawn":
        consent.withdraw(given, via=consent.Via.LINK)
    return given


@pytest.fixture
def customers(alice, north, mara):
    found = {}
    for first, address, how in (
        ("Anna", CONFIRMED, "confirmed"),
        ("Paul", PENDING, "pending"),
        ("Wera", WITHDRAWN, "withdrawn"),
        ("Emil", EXISTING, "existing"),
    ):
        party = person(first, address, owner=alice, team=north)
        give_consent(party, address, how=how, actor=mara)
        found[address] = party
    return found


@pytest.fixture
def segment(customers, mara, north):
    segment = Segment.objects.create(
        name="Newsletter", kind=SegmentKind.STATIC, owner=mara, team=north
    )
    for party in customers.values():
        SegmentMember.objects.create(segment=segment, party=party)
    return segment


@pytest.fixture
def mailing(segment, mara):
    return services.mailing_create(
        actor=mara,
        name="Frühjahr",
        segment=segment,
        subject="Neuigkeiten für {{ party.first_name }}",
        body="Hallo {{ party.name }},\n\nunser Frühjahrsprogramm ist da.",
        rate=500,
    )
