"""Products and transactions through /api/v1: CRUD with lines, filters, ETag, permissions."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from kreis.commerce.models import Product, Transaction
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


def invoice(party_id, *lines, **fields):
    return {
        "kind": "invoice",
        "party_id": party_id,
        "date": TODAY().isoformat(),
        "lines": list(lines),
        **fields,
    }


def test_create_read_update_delete_a_transaction(alice, north, customer, drill, gloves, api_for):
    api = api_for(alice)
    created = api.post(
        "/transactions",
        invoice(
            customer.pk,
            {"product_id": drill.pk, "quantity": "3", "discount": "17.01"},
            {"sku": "AS-1", "quantity": 7},
            number="RE-1",
            external_id="ERP-1",
        ),
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["net_revenue"] == "640.29"
    assert body["cost"] == "375.00"
    assert body["margin"] == "265.29"
    assert body["sign"] == 1
    assert (body["owner_id"], body["team_id"]) == (alice.pk, north.pk)
    assert [line["sku"] for line in body["lines"]] == ["WZ-1", "AS-1"]
    assert body["lines"][0]["unit_price"] == "189.00"

    changed = api.patch(
        f"/transactions/{body['id']}",
        {"note": "Teillieferung", "lines": [{"product_id": gloves.pk, "quantity": "2"}]},
    )
    assert changed.status_code == 200, changed.json()
    assert changed.json()["net_revenue"] == "25.80"
    assert changed.json()["note"] == "Teillieferung"
    assert changed.json()["party_id"] == customer.pk

    assert api.delete(f"/transactions/{body['id']}").status_code == 204
    assert api.get(f"/transactions/{body['id']}").status_code == 404
    assert Transaction.objects.get(pk=body["id"]).deleted_at is not None


def test_party_by_external_id_and_return_sign(alice, customer, drill, api_for):
    customer.external_id = "K-100"
    customer.save()
    response = api_for(alice).post(
        "/transactions",
        {
            "kind": "return",
            "party_external_id": "K-100",
            "date": TODAY().isoformat(),
            "lines": [{"sku": "WZ-1", "quantity": "1"}],
        },
    )
    assert response.status_code == 201, response.json()
    assert response.json()["net_revenue"] == "189.00"
    assert response.json()["sign"] == -1


def test_unknown_and_read_only_fields_are_rejected(alice, customer, drill, api_for):
    payload = invoice(
        customer.pk,
        {"product_id": drill.pk, "quantity": "1", "net_revenue": "1.00"},
        id=5,
        net_revenue="999.00",
        created_at="2020-01-01T00:00:00Z",
    )
    response = api_for(alice).post("/transactions", payload)
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"id", "net_revenue", "created_at", "lines.0.net_revenue"}
    assert not Transaction.objects.exists()


def test_validation_errors_name_the_field(alice, customer, drill, api_for):
    api = api_for(alice)
    too_much = api.post(
        "/transactions",
        invoice(customer.pk, {"product_id": drill.pk, "quantity": "1", "discount": "200"}),
    )
    assert too_much.status_code == 422
    assert too_much.json()["errors"][0]["field"] == "lines.0.discount"
    no_quantity = api.post(
        "/transactions", invoice(customer.pk, {"product_id": drill.pk, "quantity": "0"})
    )
    assert no_quantity.status_code == 422
    assert no_quantity.json()["errors"][0]["field"] == "lines.0.quantity"
    future = api.post(
        "/transactions",
        invoice(
            customer.pk,
            {"product_id": drill.pk, "quantity": "1"},
            date=(TODAY() + dt.timedelta(days=3)).isoformat(),
        ),
    )
    assert future.status_code == 422
    assert future.json()["errors"][0]["field"] == "date"


def test_rep_cannot_give_a_transaction_to_another_teams_user(
    alice, charlie, customer, drill, api_for
):
    response = api_for(alice).post(
        "/transactions",
        invoice(customer.pk, {"product_id": drill.pk, "quantity": "1"}, owner_id=charlie.pk),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "owner_id"


def test_another_teams_transaction_is_404(alice, charlie, foreign_customer, drill, record, api_for):
    theirs = record(charlie, foreign_customer, [(drill, 1, 0)])
    api = api_for(alice)
    assert api.get(f"/transactions/{theirs.pk}").status_code == 404
    assert api.patch(f"/transactions/{theirs.pk}", {"note": "x"}).status_code == 404
    assert api.delete(f"/transactions/{theirs.pk}").status_code == 404
    assert api.get("/transactions").json()["count"] == 0
    invisible_party = api.post(
        "/transactions", invoice(foreign_customer.pk, {"product_id": drill.pk, "quantity": "1"})
    )
    assert invisible_party.status_code == 422
    assert invisible_party.json()["errors"][0]["field"] == "party_id"


def test_read_only_user_and_read_key_cannot_write(alice, rory, customer, drill, record, api_for):
    txn = record(alice, customer, [(drill, 1, 0)])
    payload = invoice(customer.pk, {"product_id": drill.pk, "quantity": "1"})
    browser = client_for(rory)  # read-only users get no write keys; their session is tried
    assert browser.get(f"/api/v1/transactions/{txn.pk}").status_code == 200
    assert (
        browser.post("/api/v1/transactions", payload, content_type="application/json").status_code
        == 403
    )
    assert (
        browser.patch(
            f"/api/v1/transactions/{txn.pk}", {"note": "x"}, content_type="application/json"
        ).status_code
        == 404
    )
    read_key = api_for(alice, scope="read")
    assert read_key.post("/transactions", payload).status_code == 403
    assert Transaction.objects.count() == 1


def test_stale_write_is_refused_with_412(alice, customer, drill, record, api_for):
    txn = record(alice, customer, [(drill, 1, 0)])
    api = api_for(alice)
    tag = api.get(f"/transactions/{txn.pk}")["ETag"]
    first = api.patch(f"/transactions/{txn.pk}", {"note": "eins"}, HTTP_IF_MATCH=tag)
    assert first.status_code == 200
    assert first["ETag"] != tag
    stale = api.patch(f"/transactions/{txn.pk}", {"note": "zwei"}, HTTP_IF_MATCH=tag)
    assert stale.status_code == 412
    assert stale["Content-Type"] == "application/problem+json"
    assert api.delete(f"/transactions/{txn.pk}", HTTP_IF_MATCH=tag).status_code == 412
    txn.refresh_from_db()
    assert (txn.note, txn.deleted_at) == ("eins", None)


def test_list_filters_by_kind_party_dates_and_product(
    alice, customer, drill, gloves, record, api_for, north
):
    from tests.parties.factories import OrganizationFactory

    other = OrganizationFactory(owner=alice, team=north)
    old = TODAY() - dt.timedelta(days=40)
    a = record(alice, customer, [(drill, 1, 0)], date=old)
    b = record(alice, customer, [(gloves, 1, 0)])
    c = record(alice, other, [(drill, 1, 0), (gloves, 2, 0)], kind="return")
    api = api_for(alice)

    def ids(query):
        response = api.get(f"/transactions?{query}")
        assert response.status_code == 200, response.json()
        return {t["id"] for t in response.json()["items"]}

    assert ids("") == {a.pk, b.pk, c.pk}
    assert ids("kind=return") == {c.pk}
    assert ids(f"party_id={customer.pk}") == {a.pk, b.pk}
    assert ids(f"date_from={(old + dt.timedelta(days=1)).isoformat()}") == {b.pk, c.pk}
    assert ids(f"date_to={old.isoformat()}") == {a.pk}
    assert ids(f"product_id={gloves.pk}") == {b.pk, c.pk}
    ordered = api.get("/transactions?sort=revenue").json()["items"]
    assert ordered[0]["id"] == c.pk  # the return counts negatively
    page = api.get("/transactions?page=2&page_size=2").json()
    assert page["count"] == 3
    assert len(page["items"]) == 1


def test_products_crud_is_for_managers_and_admins(alice, mia, dana, drill, api_for):
    rep = api_for(alice)
    assert rep.get("/products").json()["count"] == 1
    assert rep.post("/products", {"sku": "X-1", "name": "X", "list_price": "1"}).status_code == 403
    assert rep.patch(f"/products/{drill.pk}", {"name": "Billig"}).status_code == 403
    assert rep.delete(f"/products/{drill.pk}").status_code == 403
    manager = api_for(mia)
    created = manager.post(
        "/products",
        {"sku": "MA-9", "name": "Fräse", "list_price": "4890.00", "unit_cost": "3100.50"},
    )
    assert created.status_code == 201, created.json()
    assert created.json()["unit_cost"] == "3100.50"
    tag = manager.get(f"/products/{created.json()['id']}")["ETag"]
    changed = manager.patch(
        f"/products/{created.json()['id']}", {"list_price": "4990"}, HTTP_IF_MATCH=tag
    )
    assert changed.json()["list_price"] == "4990.00"
    stale = manager.patch(
        f"/products/{created.json()['id']}", {"list_price": "1"}, HTTP_IF_MATCH=tag
    )
    assert stale.status_code == 412
    assert api_for(dana).delete(f"/products/{drill.pk}").status_code == 204
    drill.refresh_from_db()
    assert drill.is_active is False
    assert [p["sku"] for p in rep.get("/products?active=true").json()["items"]] == ["MA-9"]
    duplicate = manager.post("/products", {"sku": "MA-9", "name": "Y", "list_price": "1"})
    assert duplicate.status_code == 422
    assert duplicate.json()["errors"][0]["field"] == "sku"
    assert Product.objects.count() == 2


def test_product_with_unknown_fields_is_rejected(dana, api_for):
    response = api_for(dana).post(
        "/products", {"sku": "Z", "name": "Z", "list_price": "1", "id": 3, "created_at": "x"}
    )
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"id", "created_at"}


def test_decimal_amounts_keep_their_cents(alice, customer, api_for, dana):
    product = api_for(dana).post(
        "/products", {"sku": "C-1", "name": "Cent", "list_price": 0.1, "unit_cost": "0.07"}
    )
    assert product.json()["list_price"] == "0.10"
    txn = api_for(alice).post(
        "/transactions",
        invoice(customer.pk, {"sku": "C-1", "quantity": 3}),
    )
    assert txn.json()["net_revenue"] == "0.30"
    assert txn.json()["cost"] == "0.21"
    assert Transaction.objects.get().net_revenue == Decimal("0.30")
