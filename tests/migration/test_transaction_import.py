"""Import of transactions: rows sharing an order number or external ID are one transaction
with several lines, also across a chunk boundary; German numbers and dates; problems per row
and column; duplicates by external ID; re-import, update and undo."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from kreis.commerce.models import Transaction, TransactionLine
from kreis.migration import services
from kreis.migration.models import ImportStatus
from kreis.parties.models import ContactPoint
from tests.commerce.factories import ProductFactory
from tests.migration.import_helpers import check, create, problems, run
from tests.parties.factories import OrganizationFactory

pytestmark = pytest.mark.django_db

HEADER = (
    "external_id",
    "kind",
    "date",
    "party_external_id",
    "line.sku",
    "line.quantity",
    "line.unit_price",
    "line.discount",
)


@pytest.fixture
def shop(alice, north):
    customer = OrganizationFactory(name="Nordwind AG", owner=alice, team=north, external_id="K-1")
    ContactPoint.objects.create(party=customer, kind="email", value="einkauf@nordwind.de")
    drill = ProductFactory(sku="WZ-1", list_price=Decimal("189.00"), unit_cost=Decimal("112.40"))
    gloves = ProductFactory(sku="AS-1", list_price=Decimal("12.90"), unit_cost=Decimal("5.40"))
    return customer, drill, gloves


ORDERS = [
    ("RE-1", "Rechnung", "31.12.2025", "K-1", "WZ-1", "2", "", ""),
    ("RE-1", "", "", "", "AS-1", "10", "12,90", "9,00"),
    ("RE-2", "invoice", "02.01.2026", "K-1", "AS-1", "1,5", "1.000,00", ""),
]


def test_rows_with_one_external_id_are_one_transaction_with_lines(alice, shop):
    customer, _drill, _gloves = shop
    job = run(alice, create(alice, "transaction", HEADER, ORDERS))
    assert job.status == ImportStatus.DONE, job.error
    assert job.created_count == 2
    first = Transaction.objects.get(external_id="RE-1")
    assert (first.kind, first.date, first.party_id) == (
        "invoice",
        dt.date(2025, 12, 31),
        customer.pk,
    )
    assert first.lines.count() == 2
    # 2 × 189.00 + (10 × 12.90 − 9.00); cost 2 × 112.40 + 10 × 5.40
    assert (first.net_revenue, first.cost) == (Decimal("498.00"), Decimal("278.80"))
    second = Transaction.objects.get(external_id="RE-2")
    assert second.net_revenue == Decimal("1500.00")
    assert first.owner == alice


def test_a_transaction_is_never_split_across_chunks(alice, shop):
    rows = [(f"RE-{i // 3}", "invoice", "01.03.2026", "K-1", "AS-1", "1", "", "") for i in range(9)]
    job = run(alice, create(alice, "transaction", HEADER, rows, options={"chunk_size": 2}))
    assert job.created_count == 3
    assert [t.lines.count() for t in Transaction.objects.order_by("pk")] == [3, 3, 3]


def test_rows_of_an_order_apart_in_the_file_add_lines_to_it(alice, shop):
    rows = [
        ("RE-1", "invoice", "01.03.2026", "K-1", "AS-1", "1", "", ""),
        ("RE-2", "invoice", "01.03.2026", "K-1", "AS-1", "1", "", ""),
        ("RE-3", "invoice", "01.03.2026", "K-1", "AS-1", "1", "", ""),
        ("RE-1", "", "", "", "WZ-1", "1", "", ""),
    ]
    run(alice, create(alice, "transaction", HEADER, rows, options={"chunk_size": 2}))
    first = Transaction.objects.get(external_id="RE-1")
    assert first.lines.count() == 2
    assert first.net_revenue == Decimal("201.90")
    assert Transaction.objects.count() == 3


def test_problems_name_row_and_column_and_fail_the_whole_transaction(alice, shop, charlie):
    hidden = OrganizationFactory(owner=charlie, team=charlie.memberships.get().team)
    hidden.external_id = "K-9"
    hidden.save()
    rows = [
        ("RE-1", "invoice", "31.12.2025", "K-1", "WZ-1", "2", "", ""),
        ("RE-1", "", "", "", "NOPE", "1", "", ""),
        ("RE-2", "Gutschein", "31.12.2025", "K-1", "WZ-1", "1", "", ""),
        ("RE-3", "invoice", "32.12.2025", "K-1", "WZ-1", "eins", "", ""),
        ("RE-4", "invoice", "31.12.2025", "K-9", "WZ-1", "1", "", ""),
        ("RE-5", "invoice", "31.12.2025", "K-1", "WZ-1", "1", "", "500"),
        ("RE-6", "invoice", "31.12.2025", "K-1", "WZ-1", "1", "", ""),
    ]
    report = check(alice, create(alice, "transaction", HEADER, rows))
    assert problems(report) == {
        (2, ""),  # the other row of RE-1
        (3, "line.sku"),
        (4, "kind"),
        (5, "date"),
        (5, "line.quantity"),
        (6, "party_external_id"),
        (7, "line.discount"),
    }
    assert report.valid == 1
    job = create(alice, "transaction", HEADER, rows, options={"skip_invalid": True})
    job = run(alice, job)
    assert list(Transaction.objects.values_list("external_id", flat=True)) == ["RE-6"]
    assert job.failed_count == 6


def test_party_by_email_or_name(alice, shop):
    header = ("number", "kind", "date", "party_email", "party", "line.sku", "line.quantity")
    rows = [
        ("100", "order", "2026-01-05", "Einkauf@Nordwind.de", "", "AS-1", "1"),
        ("101", "order", "2026-01-05", "", "nordwind ag", "AS-1", "1"),
    ]
    job = run(alice, create(alice, "transaction", header, rows))
    assert job.created_count == 2
    assert set(Transaction.objects.values_list("party_id", flat=True)) == {shop[0].pk}


def test_reimport_creates_nothing_update_replaces_lines_and_undo_restores(alice, shop):
    run(alice, create(alice, "transaction", HEADER, ORDERS))
    again = run(alice, create(alice, "transaction", HEADER, ORDERS))
    assert (again.created_count, again.updated_count, again.skipped_count) == (0, 0, 2)
    assert TransactionLine.objects.count() == 3

    changed = [ORDERS[0], ORDERS[2]]  # RE-1 loses its second line
    job = run(alice, create(alice, "transaction", HEADER, changed))
    assert (job.created_count, job.updated_count, job.skipped_count) == (0, 1, 1)
    first = Transaction.objects.get(external_id="RE-1")
    assert (first.lines.count(), first.net_revenue) == (1, Decimal("378.00"))

    services.import_undo(actor=alice, job=job)
    first.refresh_from_db()
    assert (first.lines.count(), first.net_revenue) == (2, Decimal("498.00"))
    assert sorted(first.lines.values_list("discount", flat=True)) == [Decimal("0"), Decimal("9")]


def test_undo_deletes_created_transactions_with_their_lines(alice, shop):
    job = run(alice, create(alice, "transaction", HEADER, ORDERS))
    services.import_undo(actor=alice, job=job)
    assert not Transaction.objects.exists()
    assert not TransactionLine.objects.exists()


def test_skip_mode_leaves_existing_transactions(alice, shop):
    run(alice, create(alice, "transaction", HEADER, ORDERS[:2]))
    changed = [(*ORDERS[0][:5], "7", "", ""), *ORDERS[1:]]
    job = run(alice, create(alice, "transaction", HEADER, changed, duplicate_mode="skip"))
    assert (job.created_count, job.skipped_count) == (1, 1)
    assert Transaction.objects.get(external_id="RE-1").net_revenue == Decimal("498.00")
