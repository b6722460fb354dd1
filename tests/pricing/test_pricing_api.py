"""The pricing API: the same services as the pages, with ETags and permissions."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.test import Client

from kreis.commerce.models import Product
from kreis.core.models import Role
from kreis.parties.services import party_create
from kreis.pricing.models import QuoteState
from kreis.sales.services import deal_create, ensure_default_pipeline
from tests.factories import MembershipFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _post(client, path, body=None, **headers):
    return client.post(
        f"/api/v1/{path}", json.dumps(body or {}), content_type="application/json", **headers
    )


@pytest.fixture
def people():
    team = TeamFactory(name="Nord")
    rep = UserFactory(username="rita", role=Role.SALES_REP)
    MembershipFactory(team=team, user=rep)
    boss = UserFactory(username="mara", role=Role.SALES_MANAGER)
    MembershipFactory(team=team, user=boss, is_manager=True)
    return rep, boss


def test_rep_reads_prices_and_manager_writes_them(people):
    rep, boss = people
    product = Product.objects.create(sku="P", name="Pumpe", list_price=Decimal("100"))
    customer = party_create(actor=rep, kind="organization", name="Kunde GmbH")
    denied = _post(_client(rep), "pricing/price-lists", {"name": "X"})
    assert denied.status_code == 403
    made = _post(_client(boss), "pricing/price-lists", {"name": "Nord", "currency": "EUR"})
    assert made.status_code == 201
    plist = made.json()
    item = _post(
        _client(boss),
        f"pricing/price-lists/{plist['id']}/items",
        {"product_id": product.pk, "unit_price": "90.00"},
    )
    assert item.status_code == 200
    price = _client(rep).get(
        "/api/v1/pricing/price", {"product_id": product.pk, "party_id": customer.pk}
    )
    assert price.status_code == 200, price.content
    assert Decimal(price.json()["unit_price"]) == Decimal("90")
    assert price.json()["price_list_id"] == plist["id"]
    stale = _client(boss).patch(
        f"/api/v1/pricing/price-lists/{plist['id']}",
        json.dumps({"name": "Neu"}),
        content_type="application/json",
        HTTP_IF_MATCH='"1-0.000000"',
    )
    assert stale.status_code == 412


def test_quote_flow_through_the_api(people):
    rep, boss = people
    ensure_default_pipeline()
    product = Product.objects.create(sku="P", name="Pumpe", list_price=Decimal("100"))
    customer = party_create(actor=rep, kind="organization", name="Kunde GmbH")
    deal = deal_create(
        actor=rep,
        name="Deal",
        organization=customer,
        lines=[{"product_id": product.pk, "quantity": Decimal("2")}],
    )
    created = _post(_client(rep), f"pricing/deals/{deal.pk}/quotes")
    assert created.status_code == 201, created.content
    quote = created.json()
    line_id = quote["lines"][0]["id"]
    revised = _post(
        _client(rep),
        f"pricing/quotes/{quote['id']}/revise",
        {"discounts": [{"line_id": line_id, "percent": "30"}]},
    )
    assert revised.status_code == 201
    new = revised.json()
    assert new["version"] == 2
    assert new["needs_approval"] is True
    submitted = _post(_client(rep), f"pricing/quotes/{new['id']}/submit", {"reason": "Wettbewerb"})
    assert submitted.json()["state"] == QuoteState.AWAITING_APPROVAL
    pending = _client(boss).get("/api/v1/pricing/approvals", {"pending": True}).json()["items"]
    assert len(pending) == 1
    self_decided = _post(
        _client(rep), f"pricing/approvals/{pending[0]['id']}/decide", {"approve": True}
    )
    assert self_decided.status_code == 403
    decided = _post(
        _client(boss), f"pricing/approvals/{pending[0]['id']}/decide", {"approve": True}
    )
    assert decided.json()["status"] == "approved"
    accepted = _post(_client(rep), f"pricing/quotes/{new['id']}/accept")
    assert accepted.json()["state"] == QuoteState.ACCEPTED
    assert accepted.json()["order_id"] is not None
    outsider = UserFactory(username="otto")
    assert _client(outsider).get(f"/api/v1/pricing/quotes/{new['id']}").status_code == 404
