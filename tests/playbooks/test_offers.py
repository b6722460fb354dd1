"""The playbook's personalised offer step: a draft quote from the customer's own purchases,
priced by the price lists and discount rules, for the owner to review and send."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from kreis.activities.models import Activity
from kreis.commerce.models import TransactionKind
from kreis.commerce.services import transaction_create
from kreis.playbooks import services
from kreis.playbooks.models import Enrollment, StepRun
from kreis.pricing.models import DiscountRule, PriceList, PriceListItem, Quote, QuoteState
from kreis.sales.models import Deal
from tests.commerce.factories import ProductFactory
from tests.parties.factories import OrganizationFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _buy(party, product, *, quantity, price, days_ago=100, kind=TransactionKind.ORDER):
    return transaction_create(
        actor=None,
        party=party,
        kind=kind,
        date=timezone.localdate() - timedelta(days=days_ago),
        lines=[{"product": product, "quantity": D(quantity), "unit_price": D(price)}],
    )


def _run_to_offer(playbook, party_ids):
    """Enrol and walk to the third step (the offer): 0 + 3 + 7 days of delay."""
    services.start_for_parties(playbook, party_ids, source="test")
    now = timezone.now()
    services.advance_due(now=now + timedelta(days=3, minutes=1))
    return services.advance_due(now=now + timedelta(days=10, minutes=2))


def test_offer_step_drafts_a_quote_of_the_top_three_products_at_list_prices(retention, alice):
    party = OrganizationFactory(owner=alice, abc_class="A")
    drill, saw, tape, glue = (ProductFactory(list_price=D(p)) for p in ("200", "80", "5", "50"))
    _buy(party, drill, quantity="2", price="200")  # 400
    _buy(party, drill, quantity="4", price="200", days_ago=300)  # +800 → 1200, two purchases
    _buy(party, saw, quantity="5", price="80")  # 400
    _buy(party, glue, quantity="1", price="50")  # 50
    _buy(party, tape, quantity="10", price="5")  # 50 as glue: the lower id (tape) wins
    _buy(party, saw, quantity="1", price="80", days_ago=900)  # outside 24 months
    keyacc = PriceList.objects.create(name="Stammkunden", currency="EUR")
    PriceListItem.objects.create(price_list=keyacc, product=saw, unit_price=D("70"))
    DiscountRule.objects.create(name="A-Kunden", percent=D("5"), abc_class="A")

    assert _run_to_offer(retention, [party.pk]) == 1

    run = StepRun.objects.get(enrollment__party=party, position=3)
    quote = run.quote
    assert quote is not None
    assert quote.state == QuoteState.DRAFT
    deal = quote.deal
    assert deal.owner == alice
    assert deal.organization == party
    lines = list(quote.lines.order_by("position"))
    assert [line.product for line in lines] == [drill, saw, tape]
    # Usual quantity per purchase (drill: 6 in two orders), the price list where one applies,
    # the A-customer discount rule on every line.
    assert [line.quantity for line in lines] == [D("3"), D("5"), D("10")]
    assert [line.unit_price for line in lines] == [D("200"), D("70"), D("5")]
    assert "Stammkunden" in lines[1].price_source
    assert all(line.discount_percent == D("5") for line in lines)
    assert quote.net_total == D("950.00")  # (600 + 350 + 50) × 0.95
    task = run.activity
    assert task.owner == alice
    assert task.deal == deal
    assert quote.number in task.subject
    assert f"/pricing/quotes/{quote.pk}/" in task.body


def test_customer_without_purchases_gets_the_task_with_the_reason(retention, alice):
    party = OrganizationFactory(owner=alice)
    old = ProductFactory()
    _buy(party, old, quantity="1", price="100", days_ago=800)  # too long ago
    _run_to_offer(retention, [party.pk])
    run = StepRun.objects.get(enrollment__party=party, position=3)
    assert run.quote is None
    assert "24" in run.note
    assert not Deal.objects.filter(organization=party).exists()
    assert "24" in run.activity.body
    assert run.activity.subject == retention.steps.get(position=3).title_en or run.activity.subject


def test_task_is_in_the_owners_language(retention, alice, bob):
    alice.language = "de"
    alice.save()
    party = OrganizationFactory(owner=alice)
    _buy(party, ProductFactory(), quantity="1", price="100")
    with translation.override("en"):
        _run_to_offer(retention, [party.pk])
    task = StepRun.objects.get(enrollment__party=party, position=3).activity
    assert task.subject.startswith("Angebot")


def test_offer_is_made_once_per_enrollment_step(retention, alice):
    from kreis.playbooks.offers import make_offers

    party = OrganizationFactory(owner=alice)
    _buy(party, ProductFactory(), quantity="1", price="100")
    _run_to_offer(retention, [party.pk])
    enrollment = Enrollment.objects.get(party=party)
    first = StepRun.objects.get(enrollment=enrollment, position=3).quote
    # A retry of the same step (a worker died after the offer, before the step was recorded)
    # finds the deal by its external ID and reuses its quote.
    again = make_offers(
        [(enrollment.pk, party.pk)],
        position=3,
        months=24,
        limit=3,
        today=timezone.localdate(),
        title="x",
    )
    assert again[enrollment.pk].quote == first
    assert Quote.objects.count() == 1
    assert Deal.objects.count() == 1
    # Running the due steps again makes nothing new.
    services.advance_due(now=timezone.now() + timedelta(days=30))
    assert Quote.objects.count() == 1


def test_offers_for_many_customers_read_purchases_in_one_query(retention, alice):
    products = [ProductFactory() for _ in range(4)]
    parties = [OrganizationFactory(owner=alice) for _ in range(12)]
    for i, party in enumerate(parties):
        for product in products[: 1 + i % 4]:
            _buy(party, product, quantity="1", price="10")
    services.start_for_parties(retention, [p.pk for p in parties], source="test")
    now = timezone.now()
    services.advance_due(now=now + timedelta(days=3, minutes=1))
    with CaptureQueriesContext(connection) as ctx:
        services.advance_due(now=now + timedelta(days=10, minutes=2))
    purchase_reads = [q for q in ctx.captured_queries if "commerce_transactionline" in q["sql"]]
    assert len(purchase_reads) == 1
    assert Quote.objects.count() == 12
    assert Activity.objects.filter(deal__isnull=False).count() == 12


def test_step_editor_sets_offer_settings_and_enrollment_row_shows_quote(retention, alice, dana):
    from django.test import Client

    party = OrganizationFactory(owner=alice)
    _buy(party, ProductFactory(), quantity="1", price="100")
    client = Client()
    client.force_login(dana)
    step = retention.steps.get(position=3)
    response = client.post(
        f"/playbooks/{retention.pk}/steps/{step.pk}/",
        {
            "action": "offer",
            "delay_days": 7,
            "due_days": 5,
            "title_de": step.title_de,
            "title_en": step.title_en,
            "offer_products": 1,
            "offer_months": 12,
        },
    )
    assert response.status_code == 302
    step.refresh_from_db()
    assert (step.offer_products, step.offer_months) == (1, 12)
    _run_to_offer(retention, [party.pk])
    quote = StepRun.objects.get(position=3).quote
    page = client.get(f"/playbooks/{retention.pk}/").content.decode()
    assert f"/pricing/quotes/{quote.pk}/" in page
    assert "top product of the last 12 months" in page
    panel = client.get(f"/playbooks/party/{party.pk}/").content.decode()
    assert f"/pricing/quotes/{quote.pk}/" in panel


def test_api_sets_offer_settings_and_lists_the_quote(retention, alice, dana, api_key_for):
    import json

    from django.test import Client

    party = OrganizationFactory(owner=alice)
    _buy(party, ProductFactory(), quantity="1", price="100")
    _buy(party, ProductFactory(), quantity="1", price="90")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {api_key_for(dana)}")
    step = retention.steps.get(position=3)
    changed = client.patch(
        f"/api/v1/playbooks/{retention.pk}/steps/{step.pk}",
        json.dumps({"offer_products": 1, "offer_months": 6}),
        content_type="application/json",
    )
    assert changed.status_code == 200, changed.content
    assert (changed.json()["offer_products"], changed.json()["offer_months"]) == (1, 6)
    too_many = client.patch(
        f"/api/v1/playbooks/{retention.pk}/steps/{step.pk}",
        json.dumps({"offer_products": 50}),
        content_type="application/json",
    )
    assert too_many.status_code in (400, 422)
    _run_to_offer(retention, [party.pk])
    quote = StepRun.objects.get(position=3).quote
    assert quote.lines.count() == 1
    rows = client.get(f"/api/v1/playbooks/{retention.pk}/enrollments").json()["items"]
    assert rows[0]["offer_quote_id"] == quote.pk
    of_party = client.get(f"/api/v1/parties/{party.pk}/playbooks").json()["items"]
    assert of_party[0]["offer_quote_id"] == quote.pk
