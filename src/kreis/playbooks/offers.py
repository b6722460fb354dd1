"""The personalised offer of a playbook step (DOMAIN.md §4.2–4.3): a draft quote built from the
customer's own purchases, for the account owner to review and send.

For each enrollment whose offer step is due:

1. **What the customer buys.** Of the customer's transactions of the last ``offer_months``
   months (orders and invoices, returns counting negatively, as every revenue sum in Kreis),
   the products with the highest signed net revenue; the top ``offer_products`` of them, in
   the currency of the best-selling one. The quantity offered is what the customer bought per
   purchase on average (at least one unit). One aggregate query for a whole chunk of parties.
2. **The deal.** A deal for the customer, owned by the customer's owner (and team), with one
   line per product priced by ``pricing.pricelists.services.price_for`` — the price list that
   applies to this customer, else the product's list price.
3. **The quote.** ``pricing.quotes.services.quote_create`` builds a draft from the deal's
   lines: the prices again, plus the best discount rule (ABC class, segment, quantity).
4. The step's task becomes "review and send the offer", linked to the deal and the quote.

A customer without purchases in the window (or whose offer cannot be drafted) gets the task
only, with the reason in it. Retries never make a second offer: the deal carries the external
ID ``playbook-offer:<enrollment>:<step>`` (unique), and an existing one is reused.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Sum
from django.utils import translation
from django.utils.translation import gettext as _

from kreis.commerce.models import Product, TransactionLine
from kreis.commerce.queries import months_before, signed
from kreis.parties.models import Party, PartyKind
from kreis.pricing.models import Quote
from kreis.pricing.pricelists.services import Memberships, price_for
from kreis.pricing.quotes.services import customer_language, quote_create
from kreis.sales.models import Deal
from kreis.sales.services import deal_create

log = logging.getLogger(__name__)

ONE = Decimal("1")


@dataclass(frozen=True)
class Bought:
    """A product the customer bought: signed net revenue and quantity in the window."""

    product_id: int
    currency: str
    revenue: Decimal
    quantity: Decimal
    purchases: int

    @property
    def usual_quantity(self) -> Decimal:
        """Units per purchase on average, rounded up to a whole unit (at least one)."""
        if self.purchases <= 0 or self.quantity <= 0:
            return ONE
        return max(ONE, (self.quantity / self.purchases).quantize(ONE, rounding=ROUND_CEILING))


@dataclass(frozen=True)
class Offer:
    """What the step made for one enrollment: the quote, or why there is none (``failure``:
    the error; empty with no quote: no purchases in the window)."""

    quote: Quote | None
    deal: Deal | None = None
    months: int = 0
    failure: str = ""

    def reason(self) -> str:
        """Why there is no quote, in the active language ("" with a quote)."""
        if self.quote is not None or self.deal is not None:
            return ""
        if self.failure:
            return (_("The offer could not be drafted: %s") % self.failure)[:300]
        return no_history_reason(self.months)


def external_id(enrollment_id: int, position: int) -> str:
    return f"playbook-offer:{enrollment_id}:{position}"


def top_products(
    party_ids: list[int], *, months: int, limit: int, today: date
) -> dict[int, list[Bought]]:
    """Each party's best-selling products by signed net revenue in the last ``months`` months
    (ties: the product bought more often, then the lower id), at most ``limit``, all in the
    currency of the first. One grouped query for all parties."""
    since = months_before(today, months)
    rows = (
        TransactionLine.objects.filter(
            transaction__party_id__in=party_ids,
            transaction__deleted_at__isnull=True,
            transaction__date__gt=since,
            transaction__date__lte=today,
            product__isnull=False,
            product__is_active=True,
        )
        .order_by()
        .values_list("transaction__party_id", "product_id", "transaction__currency")
        .annotate(
            revenue=Sum(signed("net_revenue", kind_field="transaction__kind")),
            quantity=Sum(signed("quantity", kind_field="transaction__kind")),
            purchases=Count("transaction_id", distinct=True),
        )
    )
    found: dict[int, list[Bought]] = defaultdict(list)
    for party_id, product_id, currency, revenue, quantity, purchases in rows:
        revenue = Decimal(revenue or 0)
        if revenue <= 0:
            continue  # returned as much as bought: nothing to offer again
        found[party_id].append(
            Bought(product_id, currency, revenue, Decimal(quantity or 0), purchases)
        )
    result = {}
    for party_id, bought in found.items():
        bought.sort(key=lambda b: (-b.revenue, -b.purchases, b.product_id))
        currency = bought[0].currency
        result[party_id] = [b for b in bought if b.currency == currency][:limit]
    return result


def make_offers(
    enrollments: list[tuple[int, int]],
    *,
    position: int,
    months: int,
    limit: int,
    today: date,
    title: str,
) -> dict[int, Offer]:
    """Draft an offer for each (enrollment id, party id) of one step. Returns enrollment id →
    ``Offer``. Runs inside the caller's transaction; each offer in a savepoint of its own, so
    one customer's failure leaves the others' offers (and the step) standing."""
    if not enrollments:
        return {}
    party_ids = sorted({party_id for _, party_id in enrollments})
    bought = top_products(party_ids, months=months, limit=limit, today=today)
    parties = Party.objects.select_related("owner", "team").in_bulk(party_ids)
    products = Product.objects.in_bulk({b.product_id for bs in bought.values() for b in bs})
    keys = {pk: external_id(pk, position) for pk, _ in enrollments}
    existing = {
        deal.external_id: deal for deal in Deal.objects.filter(external_id__in=list(keys.values()))
    }
    quotes = {
        q.deal_id: q
        for q in Quote.objects.filter(deal__in=list(existing.values())).order_by("version")
    }
    offers: dict[int, Offer] = {}
    for enrollment_id, party_id in enrollments:
        deal = existing.get(keys[enrollment_id])
        if deal is not None:  # a retry: the offer is there already
            offers[enrollment_id] = Offer(quotes.get(deal.pk), deal)
            continue
        party = parties.get(party_id)
        lines = bought.get(party_id, [])
        if party is None or not lines:
            offers[enrollment_id] = Offer(None, months=months)
            continue
        try:
            with transaction.atomic():
                offers[enrollment_id] = _offer(
                    party,
                    [(products[b.product_id], b) for b in lines],
                    key=keys[enrollment_id],
                    today=today,
                    title=title,
                )
        except (ValidationError, ValueError) as exc:
            log.info("playbook offer for party %s not drafted: %s", party_id, exc)
            message = " ".join(getattr(exc, "messages", [str(exc)]))
            offers[enrollment_id] = Offer(None, months=months, failure=message[:250])
    return offers


def no_history_reason(months: int) -> str:
    return _(
        "No purchases in the last %(months)s months: no offer was drafted. Prepare one by hand."
    ) % {"months": months}


def _offer(
    party: Party, lines: list[tuple[Product, Bought]], *, key: str, today: date, title: str
) -> Offer:
    """The deal (lines priced by the price lists) and its draft quote for one customer."""
    currency = lines[0][1].currency
    memberships = Memberships(party)  # the party's segments, asked once for all lines
    items = []
    for product, bought in lines:
        applied = price_for(
            product=product,
            party=party,
            currency=currency,
            on=today,
            quantity=bought.usual_quantity,
            memberships=memberships,
        )
        items.append(
            {
                "product_id": product.pk,
                "quantity": bought.usual_quantity,
                "unit_price": applied.unit_price,
            }
        )
    organization = party if party.kind == PartyKind.ORGANIZATION else None
    contact = party if party.kind == PartyKind.PERSON else None
    deal = deal_create(
        actor=None,
        name=f"{title}: {party.name}"[:200],
        organization=organization,
        contact=contact,
        owner=party.owner,
        team=party.team,
        currency=currency,
        lines=items,
        external_id=key,
        source="playbook",
    )
    # The quote in the customer's language; the owner's is the fallback without an address.
    fallback = (party.owner.language if party.owner else "") or translation.get_language() or ""
    quote = quote_create(actor=None, deal=deal, language=_quote_language(party, fallback))
    return Offer(quote, deal)


def _quote_language(party: Party, fallback: str) -> str:
    language = customer_language(party, fallback[:2])
    return language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE[:2]
