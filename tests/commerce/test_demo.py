"""The demo step: a catalogue and two years of transactions shaped for the analyses."""

import datetime as dt
from collections import Counter, defaultdict
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone
from faker import Faker

from kreis.commerce.demo import CATALOGUE, create_transactions
from kreis.commerce.demo import DAYS as DEMO_DAYS
from kreis.commerce.models import Product, Transaction, TransactionLine
from kreis.core.demo import DemoContext
from kreis.parties.models import PartyRoleAssignment
from tests.parties.factories import OrganizationFactory

pytestmark = pytest.mark.django_db


def test_small_demo_makes_exact_seasonal_skewed_transactions(alice, north, monkeypatch):
    # The demo's two years end today. Its customers make their first purchases early in the
    # window, which crowds whatever months the window starts in: pin "today" to mid-June so
    # the window starts and ends in a month the seasonal check below does not compare (run in
    # early December, three partial Decembers, one of them crowded, made the check fail).
    real_localdate = timezone.localdate
    today = dt.date(2026, 6, 15)

    def localdate(value=None, timezone=None):
        return today if value is None else real_localdate(value, timezone)

    monkeypatch.setattr(timezone, "localdate", localdate)
    customers = OrganizationFactory.create_batch(40, owner=alice, team=north)
    PartyRoleAssignment.objects.bulk_create(
        PartyRoleAssignment(party=c, role="customer") for c in customers
    )
    OrganizationFactory(owner=alice, team=north, name="Nur Lieferant")  # not a customer
    fake = Faker(["de_DE", "en_US"])
    Faker.seed(7)
    progress = []
    counts = create_transactions(
        DemoContext(
            size="small",
            fake=fake,
            users=[alice],
            teams=[north],
            progress=lambda *args: progress.append(args),
        )
    )
    assert counts["transaction lines"] == TransactionLine.objects.count() == 2000
    assert Product.objects.count() == len(CATALOGUE) >= 60
    assert progress[-1] == ("transactions", 2000, 2000)

    line_sums = {
        row["transaction"]: (row["net"], row["cost"])
        for row in TransactionLine.objects.values("transaction").annotate(
            net=Sum("net_revenue"), cost=Sum("cost")
        )
    }
    revenue_by_customer = defaultdict(Decimal)
    for txn in Transaction.objects.all():
        net, cost = line_sums[txn.pk]
        assert (txn.net_revenue, txn.cost) == (
            Decimal(net).quantize(Decimal("0.01")),
            Decimal(cost).quantize(Decimal("0.01")),
        )
        assert today - dt.timedelta(days=731) <= txn.date <= today
        assert (txn.owner_id, txn.team_id) == (alice.pk, north.pk)
        revenue_by_customer[txn.party_id] += txn.sign * txn.net_revenue
    assert Transaction.objects.filter(kind="return").exists()
    # Seasonality: strong spring and autumn months, a quiet August and December, as sales per
    # day of the month in the two-year window (a window ending in early December holds three
    # partial Decembers; months taken together: customers buy in bursts, so one month alone
    # is a noisy measure).
    per_month = Counter(Transaction.objects.values_list("date__month", flat=True))
    window_days = Counter(
        (today - dt.timedelta(days=offset)).month for offset in range(DEMO_DAYS + 1)
    )
    rate = {month: per_month[month] / window_days[month] for month in range(1, 13)}
    strong = sum(rate[m] for m in (3, 4, 10, 11)) / 4
    quiet = sum(rate[m] for m in (8, 12)) / 2
    assert strong > 1.5 * quiet
    assert not Transaction.objects.filter(party__name="Nur Lieferant").exists()
    # Pareto-like: the best fifth of the customers bring most of the revenue.
    ranked = sorted(revenue_by_customer.values(), reverse=True)
    assert sum(ranked[: len(ranked) // 5]) > sum(ranked) / 2
