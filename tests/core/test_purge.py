"""Purging rows for good (an import undone): what depends on them goes with them, what only
points at them loses the link, what protects them stops the purge before anything changes."""

import datetime as dt

import pytest
from django.db.models import ProtectedError

from kreis.commerce.models import Product
from kreis.commerce.services import transaction_create
from kreis.core.purge import purge
from kreis.parties import services
from kreis.parties.models import ContactPoint, Party, Relationship
from kreis.sales.models import Deal
from tests.activities.factories import DealFactory
from tests.commerce.factories import ProductFactory

pytestmark = pytest.mark.django_db


def test_dependants_go_links_are_cleared_and_others_stay(alice):
    kept = services.party_create(actor=alice, kind="organization", name="Bleibt AG")
    gone = services.party_create(
        actor=alice, kind="person", last_name="Weg", emails=[{"value": "weg@x.de"}]
    )
    services.relationship_add(actor=alice, source=gone, target=kept, type="customer_of")
    deal = DealFactory(contact=gone, organization=kept, owner=alice)

    assert purge(Party, [gone.pk]) == 1

    assert list(Party.objects.all()) == [kept]
    assert not ContactPoint.objects.exists()
    assert not Relationship.objects.exists()
    assert not Relationship.history.exists()
    assert not Party.history.filter(id=gone.pk).exists()
    assert Party.history.filter(id=kept.pk).exists()
    deal.refresh_from_db()
    assert (deal.contact_id, deal.organization_id) == (None, kept.pk)
    assert Deal.history.filter(id=deal.pk).exists()  # a deal's history names its old contact


def test_a_protected_reference_stops_the_purge_before_anything_changes(alice):
    customer = services.party_create(actor=alice, kind="organization", name="Kunde GmbH")
    sold, unsold = ProductFactory(), ProductFactory()
    transaction_create(
        actor=alice,
        party=customer,
        kind="order",
        date=dt.date(2026, 1, 5),
        lines=[{"product": sold, "quantity": "2"}],
    )
    with pytest.raises(ProtectedError):
        purge(Product, [unsold.pk, sold.pk])
    assert Product.objects.count() == 2
    assert Product.history.filter(id=unsold.pk).exists()
    with pytest.raises(ProtectedError):
        purge(Party, [customer.pk])
    assert purge(Product, [unsold.pk]) == 1
