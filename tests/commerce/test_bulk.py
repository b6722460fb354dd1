"""Bulk creation through the API: all or nothing, per-row errors, references by key."""

import pytest
from django.utils import timezone

from kreis.commerce.models import Product, Transaction, TransactionLine

pytestmark = pytest.mark.django_db


def row(party_ref: dict, *lines, kind="invoice", **fields):
    return {
        "kind": kind,
        "date": timezone.localdate().isoformat(),
        **party_ref,
        "lines": list(lines),
        **fields,
    }


@pytest.fixture
def erp_customer(customer):
    customer.external_id = "ERP-K-1"
    customer.save()
    return customer


def test_bulk_transactions_reference_parties_and_products_by_key(
    alice, erp_customer, drill, gloves, api_for
):
    response = api_for(alice).post(
        "/transactions/bulk",
        {
            "items": [
                row({"party_external_id": "ERP-K-1"}, {"sku": "WZ-1", "quantity": "2"}),
                row(
                    {"party_id": erp_customer.pk},
                    {"sku": "AS-1", "quantity": "10", "discount": "9.00"},
                    {"description": "Versand", "quantity": "1", "unit_price": "7.50"},
                    external_id="ERP-RE-2",
                ),
                row(
                    {"party_external_id": "ERP-K-1"},
                    {"product_id": drill.pk, "quantity": 1},
                    kind="return",
                ),
            ]
        },
    )
    assert response.status_code == 201, response.json()
    assert response.json()["created"] == 3
    txns = Transaction.objects.filter(pk__in=response.json()["ids"]).order_by("pk")
    assert [str(t.net_revenue) for t in txns] == ["378.00", "127.50", "189.00"]
    assert [str(t.cost) for t in txns] == ["224.80", "54.00", "112.40"]
    assert {t.party_id for t in txns} == {erp_customer.pk}
    assert {t.owner_id for t in txns} == {alice.pk}
    assert txns[1].external_id == "ERP-RE-2"
    assert TransactionLine.objects.count() == 4


def test_one_bad_row_refuses_the_whole_batch_with_per_row_errors(
    alice, erp_customer, foreign_customer, drill, api_for
):
    foreign_customer.external_id = "ERP-K-9"
    foreign_customer.save()
    response = api_for(alice).post(
        "/transactions/bulk",
        {
            "items": [
                row({"party_external_id": "ERP-K-1"}, {"sku": "WZ-1", "quantity": "1"}),
                row({"party_external_id": "ERP-K-1"}, {"sku": "NOPE", "quantity": "1"}),
                row(
                    {"party_external_id": "ERP-K-1"},
                    {"sku": "WZ-1", "quantity": "1", "discount": "189.01"},
                ),
                row({"party_external_id": "ERP-K-9"}, {"sku": "WZ-1", "quantity": "1"}),
                row({"party_id": erp_customer.pk}, {"sku": "WZ-1", "quantity": "2"}),
            ]
        },
    )
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    errors = {(e["row"], e["field"]) for e in response.json()["errors"]}
    assert errors == {(1, "lines.0.sku"), (2, "lines.0.discount"), (3, "party_external_id")}
    assert all(e["message"] for e in response.json()["errors"])
    assert not Transaction.objects.exists()
    assert not TransactionLine.objects.exists()


def test_malformed_rows_are_named_too(alice, erp_customer, drill, api_for):
    response = api_for(alice).post(
        "/transactions/bulk",
        {
            "items": [
                row({"party_id": erp_customer.pk}, {"sku": "WZ-1", "quantity": "1"}),
                row({"party_id": erp_customer.pk}, {"sku": "WZ-1", "quantity": "1"}, id=7),
                row({"party_id": erp_customer.pk}, {"sku": "WZ-1", "quantity": "-1"}),
                row({"party_id": erp_customer.pk}, {"sku": "WZ-1", "quantity": "1"}, cost="1"),
            ]
        },
    )
    assert response.status_code == 422
    errors = {(e["row"], e["field"]) for e in response.json()["errors"]}
    assert errors == {(1, "id"), (2, "lines.0.quantity"), (3, "cost")}
    assert not Transaction.objects.exists()


def test_duplicate_external_ids_are_row_errors(alice, erp_customer, drill, record, api_for):
    record(alice, erp_customer, [(drill, 1, 0)], external_id="ERP-RE-1")
    line = {"sku": "WZ-1", "quantity": "1"}
    response = api_for(alice).post(
        "/transactions/bulk",
        {
            "items": [
                row({"party_id": erp_customer.pk}, line, external_id="ERP-RE-1"),
                row({"party_id": erp_customer.pk}, line, external_id="ERP-RE-2"),
                row({"party_id": erp_customer.pk}, line, external_id="ERP-RE-2"),
            ]
        },
    )
    assert response.status_code == 422
    assert [(e["row"], e["field"]) for e in response.json()["errors"]] == [
        (0, "external_id"),
        (2, "external_id"),
    ]
    assert Transaction.objects.count() == 1


def test_more_than_1000_rows_are_refused(alice, erp_customer, api_for):
    items = [row({"party_id": erp_customer.pk}, {"sku": "WZ-1", "quantity": "1"})] * 1001
    response = api_for(alice).post("/transactions/bulk", {"items": items})
    assert response.status_code == 422
    assert not Transaction.objects.exists()


def test_read_key_cannot_bulk_create(alice, erp_customer, drill, api_for):
    items = [row({"party_id": erp_customer.pk}, {"sku": "WZ-1", "quantity": "1"})]
    response = api_for(alice, scope="read").post("/transactions/bulk", {"items": items})
    assert response.status_code == 403


def test_bulk_products_all_or_nothing(mia, alice, drill, api_for):
    good = {"sku": "N-1", "name": "Neu 1", "list_price": "10.00", "unit_cost": "4.20"}
    response = api_for(mia).post(
        "/products/bulk",
        {
            "items": [
                good,
                {"sku": "WZ-1", "name": "Doppelt", "list_price": "1"},
                {"sku": "N-1", "name": "Auch doppelt", "list_price": "1"},
                {
                    "sku": "N-3",
                    "name": "Zu teuer im Einkauf",
                    "list_price": "1",
                    "currency": "EURO",
                },
            ]
        },
    )
    assert response.status_code == 422
    errors = {(e["row"], e["field"]) for e in response.json()["errors"]}
    assert errors == {(3, "currency")}  # the schema speaks first
    response = api_for(mia).post(
        "/products/bulk",
        {
            "items": [
                good,
                {"sku": "WZ-1", "name": "Doppelt", "list_price": "1"},
                {"sku": "N-1", "name": "Auch doppelt", "list_price": "1"},
            ]
        },
    )
    assert response.status_code == 422
    errors = {(e["row"], e["field"]) for e in response.json()["errors"]}
    assert errors == {(1, "sku"), (2, "sku")}
    assert Product.objects.count() == 1

    ok = api_for(mia).post(
        "/products/bulk", {"items": [good, {**good, "sku": "N-2", "name": "Neu 2"}]}
    )
    assert ok.status_code == 201, ok.json()
    assert ok.json()["created"] == 2
    created = Product.objects.get(sku="N-1")
    assert str(created.unit_cost) == "4.20"
    assert created.history.count() == 1  # the cost history starts with the import
    assert api_for(alice).post("/products/bulk", {"items": [good]}).status_code == 403
