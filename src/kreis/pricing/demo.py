"""Demo prices: price lists (a general one, one per channel, one for a segment, an expired
one), discount rules by ABC class, quantity and segment, reps' discount limits, and quotes in
every state — made through the services, as users make them (e-mail goes to the configured
backend; the demo sends none, it sets the "sent" state with its link as the send would)."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from kreis.commerce.models import Product
from kreis.core.demo import DemoContext
from kreis.core.models import Role
from kreis.core.tokens import new_token
from kreis.marketing.models import Segment
from kreis.pricing.models import DiscountRule, PriceList, PriceListItem, Quote, QuoteState
from kreis.pricing.pricelists.services import ensure_defaults, rep_limit_set
from kreis.pricing.quotes import services as quotes
from kreis.sales.models import Deal, StageKind

STATES = [
    QuoteState.DRAFT,
    QuoteState.AWAITING_APPROVAL,
    QuoteState.APPROVED,
    QuoteState.SENT,
    QuoteState.ACCEPTED,
    QuoteState.REJECTED,
    QuoteState.EXPIRED,
    QuoteState.SUPERSEDED,
]


@transaction.atomic
def create_pricing(context: DemoContext) -> dict[str, int]:
    rng = random.Random(context.fake["de_DE"].random.random())  # noqa: S311 (demo data)
    ensure_defaults()
    today = timezone.localdate()
    products = list(Product.objects.filter(is_active=True, currency="EUR").order_by("pk")[:40])
    if not products:
        return {"price lists": 0, "quotes": 0}
    year = today.year
    general = PriceList.objects.create(
        name=f"Preisliste {year}", currency="EUR", valid_from=dt.date(year, 1, 1)
    )
    partner = PriceList.objects.create(
        name=f"Partnerpreise {year}",
        currency="EUR",
        channel="partner",
        valid_from=dt.date(year, 1, 1),
    )
    online = PriceList.objects.create(name="Onlineshop", currency="EUR", channel="online")
    old = PriceList.objects.create(
        name=f"Preisliste {year - 1}",
        currency="EUR",
        valid_from=dt.date(year - 1, 1, 1),
        valid_to=dt.date(year - 1, 12, 31),
    )
    segment = Segment.objects.order_by("pk").first()
    lists = [general, partner, online, old]
    if segment is not None:
        lists.append(
            PriceList.objects.create(
                name=f"Key Accounts {year}",
                currency="EUR",
                segment=segment,
                valid_from=dt.date(year, 1, 1),
            )
        )
    items = []
    for product in products:
        base = product.list_price
        for plist, factor in zip(
            lists,
            (Decimal("0.97"), Decimal("0.85"), Decimal("0.95"), Decimal("0.93"), Decimal("0.88")),
            strict=False,
        ):
            items.append(
                PriceListItem(
                    price_list=plist,
                    product=product,
                    unit_price=(base * factor).quantize(Decimal("0.01")),
                )
            )
        items.append(
            PriceListItem(
                price_list=general,
                product=product,
                min_quantity=Decimal("10"),
                unit_price=(base * Decimal("0.92")).quantize(Decimal("0.01")),
            )
        )
    PriceListItem.objects.bulk_create(items)
    DiscountRule.objects.create(name="A-Kunden", percent=Decimal("5"), abc_class="A")
    DiscountRule.objects.create(name="B-Kunden", percent=Decimal("2"), abc_class="B")
    DiscountRule.objects.create(
        name="Mengenrabatt ab 50", percent=Decimal("4"), min_quantity=Decimal("50")
    )
    if segment is not None:
        DiscountRule.objects.create(
            name=f"Segment {segment.name}"[:120], percent=Decimal("6"), segment=segment
        )
    reps = [u for u in context.users if u.role == Role.SALES_REP]
    for i, rep in enumerate(reps[:3]):
        rep_limit_set(actor=None, user=rep, limit_percent=Decimal(5 + 5 * i))

    deals = list(
        Deal.objects.filter(
            deleted_at__isnull=True, stage__kind=StageKind.OPEN, organization__isnull=False
        )
        .filter(lines__product__currency="EUR")
        .distinct()
        .order_by("pk")[: len(STATES) * 2]
    )
    made = 0
    for i, deal in enumerate(deals):
        state = STATES[i % len(STATES)]
        try:
            quote = quotes.quote_create(actor=None, deal=deal)
        except ValidationError:  # a deal the quote cannot be made of
            continue
        made += 1
        if state == QuoteState.DRAFT:
            continue
        if state == QuoteState.SUPERSEDED:
            quotes.quote_revise(actor=None, quote=quote, discounts={})
            continue
        if state == QuoteState.AWAITING_APPROVAL:
            line = quote.lines.order_by("pk").first()
            quote = quotes.quote_revise(actor=None, quote=quote, discounts={line.pk: Decimal("25")})
            quotes.quote_submit(
                actor=None, quote=quote, reason="Wettbewerbsangebot liegt 20 % darunter."
            )
            continue
        if quote.needs_approval:
            quote = quotes.quote_revise(
                actor=None,
                quote=quote,
                discounts={line.pk: line.rule_percent for line in quote.lines.all()},
            )
        quotes.quote_submit(actor=None, quote=quote, reason="")
        if state == QuoteState.APPROVED:
            continue
        _raw, hashed = new_token()
        sent = timezone.now() - dt.timedelta(days=rng.randint(1, 10))
        Quote.objects.filter(pk=quote.pk).update(
            state=QuoteState.SENT,
            token_hash=hashed,
            token_expires_at=sent + dt.timedelta(days=30),
            sent_at=sent,
            email=quote.email or "einkauf@example.com",
        )
        quote.refresh_from_db()
        if state == QuoteState.ACCEPTED:
            quotes.quote_accept(actor=None, quote=quote, via="link")
        elif state == QuoteState.REJECTED:
            quotes.quote_reject(actor=None, quote=quote, via="link", note="Budget verschoben.")
        elif state == QuoteState.EXPIRED:
            Quote.objects.filter(pk=quote.pk).update(valid_until=today - dt.timedelta(days=1))
            quotes.quotes_expire(today=today)
    return {
        "price lists": len(lists),
        "discount rules": DiscountRule.objects.count(),
        "quotes": made,
    }
