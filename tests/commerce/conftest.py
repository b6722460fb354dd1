from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from kreis.commerce import services
from tests.commerce.factories import ProductFactory
from tests.parties.factories import OrganizationFactory


@pytest.fixture
def drill(db):
    return ProductFactory(
        sku="WZ-1", name="Akkuschrauber", list_price=Decimal("189.00"), unit_cost=Decimal("112.40")
    )


@pytest.fixture
def gloves(db):
    return ProductFactory(
        sku="AS-1",
        name="Handschuhe",
        category="Arbeitsschutz",
        list_price=Decimal("12.90"),
        unit_cost=Decimal("5.40"),
    )


@pytest.fixture
def customer(alice, north):
    return OrganizationFactory(name="Nordwind AG", owner=alice, team=north)


@pytest.fixture
def foreign_customer(charlie, south):
    return OrganizationFactory(name="Südwind GmbH", owner=charlie, team=south)


@pytest.fixture
def record():
    """record(actor, party, lines=[(product, quantity, discount)], kind=, date=)."""

    def make(actor, party, lines, *, kind="invoice", date=None, **fields):
        return services.transaction_create(
            actor=actor,
            party=party,
            kind=kind,
            date=date or timezone.localdate(),
            lines=[
                {"product": p, "quantity": Decimal(str(q)), "discount": Decimal(str(d))}
                for p, q, d in lines
            ],
            **fields,
        )

    return make


@pytest.fixture
def api_for(api_key_for):
    """api_for(user).get("/transactions") — JSON calls with the user's API key."""

    def make(user, scope="read_write"):
        key = api_key_for(user, scope=scope)

        class Api:
            def __getattr__(self, method):
                def call(path, data=None, **headers):
                    return getattr(Client(), method)(
                        f"/api/v1{path}",
                        data,
                        content_type="application/json",
                        HTTP_AUTHORIZATION=f"Bearer {key}",
                        **headers,
                    )

                return call

        return Api()

    return make
