"""Import of products: German numbers, validation per row and column, SKU duplicates,
re-import, update and undo, the catalogue permission."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kreis.commerce.models import Product
from kreis.migration import services
from kreis.migration.models import ImportStatus
from tests.migration.import_helpers import check, create, problems, run

pytestmark = pytest.mark.django_db

HEADER = ("sku", "name", "list_price", "unit_cost", "category", "is_active")
ROWS = [
    ("B-1", "Bohrer", "1.234,56", "800,10", "Werkzeug", "ja"),
    ("B-2", "Säge", "49,90", "", "Werkzeug", "nein"),
    ("B-3", "Hammer", "12.5", "7", "", ""),
]


def test_products_are_created_with_german_numbers_and_history(mia):
    job = run(mia, create(mia, "product", HEADER, ROWS))
    assert job.status == ImportStatus.DONE, job.error
    assert job.created_count == 3
    drill = Product.objects.get(sku="B-1")
    assert (drill.list_price, drill.unit_cost, drill.is_active) == (
        Decimal("1234.56"),
        Decimal("800.10"),
        True,
    )
    assert Product.objects.get(sku="B-2").is_active is False
    assert Product.objects.get(sku="B-3").list_price == Decimal("12.50")
    assert drill.history.count() == 1


def test_bad_rows_name_the_row_and_column(mia):
    rows = [
        ("B-1", "Bohrer", "zwölf", "1", "", ""),
        ("", "Ohne SKU", "1", "", "", ""),
        ("B-3", "Negativ", "-5", "", "", ""),
        ("B-4", "Gut", "5", "", "", "vielleicht"),
        ("B-5", "Gut", "5", "", "", ""),
    ]
    report = check(mia, create(mia, "product", HEADER, rows))
    assert problems(report) == {
        (2, "list_price"),
        (3, "sku"),
        (4, "list_price"),
        (5, "is_active"),
    }
    assert report.valid == 1
    assert not Product.objects.exists()


def test_reimport_creates_nothing_and_update_changes_and_undo_restores(mia):
    run(mia, create(mia, "product", HEADER, ROWS))
    again = run(mia, create(mia, "product", HEADER, ROWS))
    assert (again.created_count, again.updated_count, again.skipped_count) == (0, 0, 3)
    assert Product.objects.count() == 3

    changed = [("B-1", "Bohrer Pro", "1.300,00", "800,10", "Werkzeug", "ja"), *ROWS[1:]]
    job = run(mia, create(mia, "product", HEADER, changed))
    assert (job.created_count, job.updated_count, job.skipped_count) == (0, 1, 2)
    drill = Product.objects.get(sku="B-1")
    assert (drill.name, drill.list_price) == ("Bohrer Pro", Decimal("1300.00"))
    assert drill.history.count() == 2

    services.import_undo(actor=mia, job=job)
    drill.refresh_from_db()
    assert (drill.name, drill.list_price) == ("Bohrer", Decimal("1234.56"))


def test_the_same_sku_twice_in_a_file_is_one_product(mia):
    rows = [ROWS[0], ("B-1", "Bohrer neu", "10", "", "", "")]
    job = run(mia, create(mia, "product", HEADER, rows))
    assert (job.created_count, job.updated_count) == (1, 1)
    assert Product.objects.get().name == "Bohrer neu"


def test_undo_removes_created_products(mia):
    job = run(mia, create(mia, "product", HEADER, ROWS))
    services.import_undo(actor=mia, job=job)
    assert not Product.objects.exists()


def test_reps_may_not_change_the_catalogue(alice):
    report = check(alice, create(alice, "product", HEADER, ROWS))
    assert report.invalid == 3
    assert not Product.objects.exists()
