"""Products and transactions in the web UI: lists, filters, forms, bulk actions, the party
page's panel, CSV export, permissions."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kreis.commerce.models import Product, Transaction
from tests.commerce.factories import ProductFactory
from tests.conftest import client_for
from tests.parties.factories import OrganizationFactory

pytestmark = pytest.mark.django_db


def rows(client, **params):
    response = client.get("/commerce/transactions/", params, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body
    return body


def test_rep_records_an_invoice_with_lines_through_the_form(alice, north, customer, drill, gloves):
    client = client_for(alice)
    page = client.get(f"/commerce/transactions/new/?party={customer.pk}").content.decode()
    assert f"Nordwind AG (#{customer.pk})" in page
    assert 'data-price="189.00"' in page
    response = client.post(
        "/commerce/transactions/new/",
        {
            "kind": "invoice",
            "party": f"Nordwind AG (#{customer.pk})",
            "date": timezone.localdate().isoformat(),
            "number": "RE-100",
            "currency": "EUR",
            "lines-TOTAL_FORMS": "3",
            "lines-INITIAL_FORMS": "0",
            "lines-0-product": drill.pk,
            "lines-0-quantity": "3",
            "lines-0-discount": "17.01",
            "lines-1-product": gloves.pk,
            "lines-1-quantity": "7",
            "lines-1-unit_price": "",
        },
    )
    txn = Transaction.objects.get(number="RE-100")
    assert response.url == f"/commerce/transactions/{txn.pk}/"
    assert txn.net_revenue == Decimal("640.29")
    assert (txn.owner, txn.team) == (alice, north)
    detail = client.get(response.url).content.decode()
    assert "Akkuschrauber" in detail
    assert "Handschuhe" in detail


def test_form_shows_line_errors_and_saves_nothing(alice, customer, drill):
    response = client_for(alice).post(
        "/commerce/transactions/new/",
        {
            "kind": "invoice",
            "party": f"Nordwind AG (#{customer.pk})",
            "date": timezone.localdate().isoformat(),
            "currency": "EUR",
            "lines-TOTAL_FORMS": "1",
            "lines-INITIAL_FORMS": "0",
            "lines-0-product": drill.pk,
            "lines-0-quantity": "1",
            "lines-0-discount": "500",
        },
    )
    assert response.status_code == 200
    assert "cannot exceed" in response.content.decode()
    assert not Transaction.objects.exists()


def test_edit_replaces_lines(alice, customer, drill, gloves, record):
    txn = record(alice, customer, [(drill, 1, 0)])
    line = txn.lines.get()
    client = client_for(alice)
    assert "Akkuschrauber" in client.get(f"/commerce/transactions/{txn.pk}/edit/").content.decode()
    client.post(
        f"/commerce/transactions/{txn.pk}/edit/",
        {
            "kind": "invoice",
            "party": f"Nordwind AG (#{customer.pk})",
            "date": txn.date.isoformat(),
            "currency": "EUR",
            "owner": alice.pk,
            "lines-TOTAL_FORMS": "2",
            "lines-INITIAL_FORMS": "1",
            "lines-0-product": drill.pk,
            "lines-0-quantity": "1",
            "lines-0-DELETE": "on",
            "lines-1-product": gloves.pk,
            "lines-1-quantity": "2",
        },
    )
    txn.refresh_from_db()
    assert [x.product for x in txn.lines.all()] == [gloves]
    assert txn.net_revenue == Decimal("25.80")
    assert not txn.lines.filter(pk=line.pk).exists()


def test_list_filters_by_date_range_and_product(alice, customer, drill, gloves, record):
    record(alice, customer, [(drill, 1, 0)], number="ALT-1", date=dt.date(2025, 1, 15))
    record(alice, customer, [(gloves, 1, 0)], number="NEU-1")
    client = client_for(alice)
    in_january = rows(client, **{"from": "2025-01-01", "to": "2025-01-31"})
    assert "ALT-1" in in_january
    assert "NEU-1" not in in_january
    with_gloves = rows(client, product=gloves.pk)
    assert "NEU-1" in with_gloves
    assert "ALT-1" not in with_gloves
    by_category = rows(client, category="Arbeitsschutz")
    assert "NEU-1" in by_category
    assert "ALT-1" not in by_category
    assert "ALT-1" in rows(client, q="alt")


def test_list_shows_signed_totals(alice, customer, drill, record):
    record(alice, customer, [(drill, 2, 0)])
    record(alice, customer, [(drill, 1, 0)], kind="return")
    body = rows(client_for(alice))
    assert "−€189.00" in body or "-€189.00" in body  # the return, negative
    assert "2 transactions" in body


def test_list_query_count_does_not_grow_with_rows(alice, customer, drill, record):
    client = client_for(alice)
    record(alice, customer, [(drill, 1, 0)])
    client.get("/commerce/transactions/")  # warm the session and caches
    with CaptureQueriesContext(connection) as few:
        assert client.get("/commerce/transactions/").status_code == 200
    for _ in range(15):
        record(alice, customer, [(drill, 1, 0)])
    other = OrganizationFactory(owner=alice, team=customer.team)
    record(alice, other, [(drill, 1, 0)])
    with CaptureQueriesContext(connection) as many:
        assert client.get("/commerce/transactions/").status_code == 200
    assert len(many) == len(few)
    assert len(many) <= 14, [q["sql"] for q in many.captured_queries]


def test_csv_export_has_the_filtered_visible_transactions(
    alice, charlie, customer, foreign_customer, drill, gloves, record
):
    record(alice, customer, [(drill, 1, 0)], number="=CMD()")
    record(alice, customer, [(gloves, 1, 0)], number="RE-2", kind="return")
    record(charlie, foreign_customer, [(drill, 1, 0)], number="FREMD-1")
    response = client_for(alice).get("/commerce/transactions/export.csv", {"kind": "return"})
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = body.strip().splitlines()
    assert lines[0].startswith("id,kind,number,date,party_id,party,currency,net_revenue,cost")
    assert len(lines) == 2
    assert ",RE-2," in lines[1]
    assert ",12.90,5.40,7.50,-12.90," in lines[1]
    everything = b"".join(
        client_for(alice).get("/commerce/transactions/export.csv").streaming_content
    ).decode("utf-8-sig")
    assert "'=CMD()" in everything
    assert "FREMD-1" not in everything


def test_other_teams_transaction_is_404_everywhere(alice, charlie, foreign_customer, drill, record):
    theirs = record(charlie, foreign_customer, [(drill, 1, 0)], number="FREMD-1")
    client = client_for(alice)
    for url in (
        f"/commerce/transactions/{theirs.pk}/",
        f"/commerce/transactions/{theirs.pk}/edit/",
        f"/commerce/transactions/party/{foreign_customer.pk}/",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/commerce/transactions/{theirs.pk}/delete/").status_code == 404
    assert "FREMD-1" not in rows(client)
    client.post(
        "/commerce/transactions/bulk/", {"action": "delete", "ids": [theirs.pk], "confirmed": "1"}
    )
    theirs.refresh_from_db()
    assert theirs.deleted_at is None


def test_read_only_user_sees_but_cannot_write(rory, alice, customer, drill, record):
    txn = record(alice, customer, [(drill, 1, 0)])
    client = client_for(rory)
    assert client.get(f"/commerce/transactions/{txn.pk}/").status_code == 200
    assert client.get("/commerce/transactions/new/").status_code == 403
    assert client.get(f"/commerce/transactions/{txn.pk}/edit/").status_code == 404
    assert client.post(f"/commerce/transactions/{txn.pk}/delete/").status_code == 404
    assert client.post("/commerce/transactions/bulk/", {"action": "delete"}).status_code == 403
    assert 'name="ids"' not in rows(client)


def test_bulk_assign_owner_and_delete_after_confirmation(alice, bob, mia, customer, drill, record):
    first = record(alice, customer, [(drill, 1, 0)])
    second = record(alice, customer, [(drill, 1, 0)])
    manager = client_for(mia)
    manager.post(
        "/commerce/transactions/bulk/",
        {"action": "assign_owner", "owner": bob.pk, "ids": [first.pk, second.pk]},
    )
    assert set(Transaction.objects.values_list("owner", flat=True)) == {bob.pk}
    confirm = manager.post(
        "/commerce/transactions/bulk/", {"action": "delete", "ids": [first.pk, second.pk]}
    )
    assert confirm.status_code == 200
    assert "Delete 2 records?" in confirm.content.decode()
    assert Transaction.objects.filter(deleted_at__isnull=True).count() == 2
    manager.post(
        "/commerce/transactions/bulk/",
        {"action": "delete", "ids": [first.pk, second.pk], "confirmed": "1"},
    )
    assert Transaction.objects.filter(deleted_at__isnull=True).count() == 0


def test_rep_cannot_assign_to_another_teams_user_in_bulk(alice, charlie, customer, drill, record):
    txn = record(alice, customer, [(drill, 1, 0)])
    client_for(alice).post(
        "/commerce/transactions/bulk/",
        {"action": "assign_owner", "owner": charlie.pk, "ids": [txn.pk]},
    )
    txn.refresh_from_db()
    assert txn.owner == alice


def test_party_page_panel_shows_revenue_margin_and_recent_transactions(
    alice, customer, drill, record
):
    record(alice, customer, [(drill, 2, 0)], number="RE-7")
    record(
        alice,
        customer,
        [(drill, 1, 0)],
        number="ALT-9",
        date=timezone.localdate() - dt.timedelta(days=400),
    )
    client = client_for(alice)
    party_page = client.get(f"/parties/{customer.pk}/").content.decode()
    assert f"/commerce/transactions/party/{customer.pk}/" in party_page
    panel = client.get(f"/commerce/transactions/party/{customer.pk}/").content.decode()
    assert "€378.00" in panel  # last 12 months only
    assert "€153.20" in panel  # margin: 378.00 − 224.80
    assert "RE-7" in panel
    assert "ALT-9" in panel  # among the last five, though older than a year
    assert f"/commerce/transactions/?party={customer.pk}" in panel


def test_products_list_detail_and_who_may_change_them(alice, mia, drill, gloves):
    rep = client_for(alice)
    body = rep.get("/commerce/products/", {"category": "Arbeitsschutz"}, HTTP_HX_REQUEST="true")
    assert "Handschuhe" in body.content.decode()
    assert "Akkuschrauber" not in body.content.decode()
    assert "Akkuschrauber" in rep.get(f"/commerce/products/{drill.pk}/").content.decode()
    assert rep.get("/commerce/products/new/").status_code == 403
    assert rep.get(f"/commerce/products/{drill.pk}/edit/").status_code == 403
    assert rep.post(f"/commerce/products/{drill.pk}/deactivate/").status_code == 403
    manager = client_for(mia)
    response = manager.post(
        "/commerce/products/new/",
        {
            "sku": "SW-1",
            "name": "Wartungsplaner",
            "category": "Software",
            "unit": "license",
            "list_price": "480.00",
            "unit_cost": "60",
            "currency": "eur",
            "is_active": "on",
        },
    )
    product = Product.objects.get(sku="SW-1")
    assert response.url == f"/commerce/products/{product.pk}/"
    assert (product.list_price, product.currency) == (Decimal("480.00"), "EUR")
    manager.post(f"/commerce/products/{product.pk}/deactivate/")
    product.refresh_from_db()
    assert not product.is_active
    assert "Wartungsplaner" not in rep.get("/commerce/products/").content.decode()


def test_navigation_links_to_transactions_and_products(alice):
    body = client_for(alice).get("/commerce/products/").content.decode()
    assert 'href="/commerce/transactions/"' in body
    assert 'href="/commerce/products/"' in body


def test_customer_lookup_suggests_only_visible_parties(alice, customer, foreign_customer):
    body = client_for(alice).get("/commerce/transactions/party-lookup/", {"party": "wind"})
    assert f"Nordwind AG (#{customer.pk})" in body.content.decode()
    assert "Südwind" not in body.content.decode()


def test_global_search_finds_products(alice):
    ProductFactory(name="Hydraulikpresse", sku="MA-77")
    body = client_for(alice).get("/search/", {"q": "Hydraulik"}).content.decode()
    assert "Hydraulikpresse" in body
