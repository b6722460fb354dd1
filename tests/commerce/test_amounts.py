"""Line and transaction amounts: exact decimals, discounts, returns, costs as they were."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Sum
from django.utils import timezone

from kreis.commerce import queries, services
from kreis.commerce.models import Transaction, TransactionLine

pytestmark = pytest.mark.django_db


def test_line_and_transaction_sums_are_exact_with_discount(alice, customer, drill, gloves, record):
    txn = record(alice, customer, [(drill, 3, "17.01"), (gloves, 7, 0)])
    drill_line, gloves_line = txn.lines.order_by("pk")
    assert drill_line.net_revenue == Decimal("549.99")  # 3 × 189.00 − 17.01
    assert drill_line.cost == Decimal("337.20")  # 3 × 112.40
    assert gloves_line.net_revenue == Decimal("90.30")
    assert gloves_line.cost == Decimal("37.80")
    txn.refresh_from_db()
    assert txn.net_revenue == Decimal("640.29")
    assert txn.cost == Decimal("375.00")
    assert txn.margin == Decimal("265.29")
    sums = txn.lines.aggregate(net=Sum("net_revenue"), cost=Sum("cost"))
    assert (sums["net"], sums["cost"]) == (txn.net_revenue, txn.cost)


def test_fractional_quantities_round_half_up_to_cents(alice, customer, gloves, record):
    txn = record(alice, customer, [(gloves, "1.333", 0), (gloves, "0.5", 0)])
    first, second = txn.lines.order_by("pk")
    assert first.net_revenue == Decimal("17.20")  # 17.1957
    assert first.cost == Decimal("7.20")  # 7.1982
    assert second.net_revenue == Decimal("6.45")
    assert second.cost == Decimal("2.70")
    txn.refresh_from_db()
    assert txn.net_revenue == Decimal("23.65")


def test_list_price_is_the_default_and_a_given_price_wins(alice, customer, drill):
    txn = services.transaction_create(
        actor=alice,
        party=customer,
        kind="order",
        date=timezone.localdate(),
        lines=[
            {"product": drill, "quantity": Decimal("1")},
            {"product": drill, "quantity": Decimal("2"), "unit_price": Decimal("150.00")},
            {"description": "Fracht", "quantity": Decimal("1"), "unit_price": Decimal("25.00")},
        ],
    )
    prices = [line.unit_price for line in txn.lines.order_by("pk")]
    assert prices == [Decimal("189.00"), Decimal("150.00"), Decimal("25.00")]
    freight = txn.lines.get(description="Fracht")
    assert freight.cost == Decimal("0.00")
    assert txn.net_revenue == Decimal("514.00")


def test_return_is_stored_positive_and_counts_negatively(alice, customer, drill, record):
    record(alice, customer, [(drill, 2, 0)])
    returned = record(alice, customer, [(drill, 1, 0)], kind="return")
    assert returned.net_revenue == Decimal("189.00")
    assert returned.cost == Decimal("112.40")
    signed = queries.with_signed(Transaction.objects.filter(pk=returned.pk)).get()
    assert signed.signed_net_revenue == Decimal("-189.00")
    assert signed.signed_margin == Decimal("-76.60")
    summary = queries.party_revenue_summary(user=alice, party=customer)
    assert summary.revenue == Decimal("189.00")  # 378.00 − 189.00
    assert summary.margin == Decimal("76.60")  # (378.00 − 224.80) − (189.00 − 112.40)
    assert summary.orders == 1


def test_cost_is_the_unit_cost_at_the_time_of_the_transaction(alice, dana, customer, drill, record):
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    before = record(alice, customer, [(drill, 1, 0)])
    services.product_update(actor=dana, product=drill, unit_cost=Decimal("120.00"))
    after = record(alice, customer, [(drill, 1, 0)])
    backdated = record(alice, customer, [(drill, 1, 0)], date=yesterday)
    before.refresh_from_db()
    assert before.cost == Decimal("112.40")  # a later change never rewrites the past
    assert after.cost == Decimal("120.00")
    assert backdated.cost == Decimal("112.40")  # the cost valid on its date


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ({"quantity": "0"}, "lines.0.quantity"),
        ({"quantity": "-1"}, "lines.0.quantity"),
        ({"quantity": "1.0001"}, "lines.0.quantity"),
        ({"quantity": "2", "discount": "378.01"}, "lines.0.discount"),
        ({"quantity": "1", "unit_price": "-5"}, "lines.0.unit_price"),
    ],
)
def test_invalid_lines_are_refused_and_nothing_is_saved(alice, customer, drill, line, field):
    data = {"product": drill, **{k: Decimal(v) for k, v in line.items()}}
    with pytest.raises(ValidationError) as exc:
        services.transaction_create(
            actor=alice, party=customer, kind="invoice", date=timezone.localdate(), lines=[data]
        )
    assert field in exc.value.message_dict
    assert not Transaction.objects.exists()
    assert not TransactionLine.objects.exists()


def test_discount_equal_to_gross_is_allowed(alice, customer, gloves, record):
    txn = record(alice, customer, [(gloves, 2, "25.80")])
    assert txn.net_revenue == Decimal("0.00")


def test_inactive_product_cannot_be_sold_but_stays_on_old_transactions(
    alice, dana, customer, drill, gloves, record
):
    old = record(alice, customer, [(drill, 1, 0)])
    services.product_deactivate(actor=dana, product=drill)
    drill.refresh_from_db()
    with pytest.raises(ValidationError) as exc:
        record(alice, customer, [(drill, 1, 0)])
    assert "lines.0.product_id" in exc.value.message_dict
    services.transaction_update(
        actor=alice,
        transaction=old,
        lines=[{"product": drill, "quantity": Decimal("2")}, {"product": gloves, "quantity": 1}],
    )
    old.refresh_from_db()
    assert old.net_revenue == Decimal("390.90")
    assert old.lines.count() == 2


def test_invoices_and_returns_cannot_be_dated_in_the_future_but_orders_can(
    alice, customer, drill, record
):
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    for kind in ("invoice", "return"):
        with pytest.raises(ValidationError) as exc:
            record(alice, customer, [(drill, 1, 0)], kind=kind, date=tomorrow)
        assert "date" in exc.value.message_dict
    assert record(alice, customer, [(drill, 1, 0)], kind="order", date=tomorrow).pk


def test_party_must_be_visible_to_the_actor(alice, foreign_customer, drill, record):
    with pytest.raises(ValidationError) as exc:
        record(alice, foreign_customer, [(drill, 1, 0)])
    assert "party_id" in exc.value.message_dict


def test_owner_and_team_default_to_the_partys(alice, bob, north, customer, drill, record):
    txn = record(bob, customer, [(drill, 1, 0)])
    assert (txn.owner, txn.team) == (alice, north)


def test_rep_cannot_give_a_transaction_to_another_team(alice, charlie, customer, drill, record):
    with pytest.raises(ValidationError) as exc:
        record(alice, customer, [(drill, 1, 0)], owner=charlie)
    assert "owner_id" in exc.value.message_dict


def test_read_only_user_cannot_record(rory, customer, drill, record):
    with pytest.raises(PermissionDenied):
        record(rory, customer, [(drill, 1, 0)])


def test_update_replaces_lines_and_keeps_sums_equal_to_lines(
    alice, customer, drill, gloves, record
):
    txn = record(alice, customer, [(drill, 1, 0)])
    services.transaction_update(
        actor=alice,
        transaction=txn,
        note="Nachlieferung",
        lines=[{"product": gloves, "quantity": Decimal("10"), "discount": Decimal("9.00")}],
    )
    txn.refresh_from_db()
    assert txn.note == "Nachlieferung"
    assert [line.product for line in txn.lines.all()] == [gloves]
    assert txn.net_revenue == Decimal("120.00")
    assert txn.cost == Decimal("54.00")


def test_soft_deleted_transaction_leaves_lists_and_sums(alice, customer, drill, record):
    txn = record(alice, customer, [(drill, 1, 0)])
    services.transaction_delete(actor=alice, transaction=txn)
    assert not queries.transaction_list_for_user(user=alice).exists()
    assert queries.party_revenue_summary(user=alice, party=customer).revenue == 0
    assert Transaction.objects.get(pk=txn.pk).deleted_at is not None


def test_only_admins_and_sales_managers_change_the_catalogue(alice, mia, dana, drill):
    with pytest.raises(PermissionDenied):
        services.product_update(actor=alice, product=drill, name="Billig")
    services.product_update(actor=mia, product=drill, list_price=Decimal("199.00"))
    product = services.product_create(
        actor=dana, sku="NEU-1", name="Neu", list_price=Decimal("1.00")
    )
    assert product.currency == "EUR"
    with pytest.raises(ValidationError) as exc:
        services.product_create(actor=dana, sku="NEU-1", name="Doppelt", list_price=1)
    assert "sku" in exc.value.message_dict
