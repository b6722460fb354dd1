"""Demo data for social listening: keywords, a feed, a Mastodon hashtag and a webhook source
(paused, so the worker does not try to reach the internet), and a few dozen mentions of the
last 60 days in German and English — generated here, with their sentiment scored — some by
authors known as parties."""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from kreis.commerce.models import Product
from kreis.core.demo import DemoContext
from kreis.core.search import index_records
from kreis.parties.models import ContactKind, ContactPoint
from kreis.social import sentiment
from kreis.social.matching import KeywordMatcher, handle_key
from kreis.social.models import Keyword, KeywordKind, Mention, Source, SourceKind

BRAND = "Kreiswerk"
COMPETITOR = "Zirkelbau"
SIZES = {"small": 36, "large": 240}

POSTS = {
    "de": [
        "Der Support von {brand} hat mir heute super schnell geholfen. Danke!",
        "Bin total begeistert von {product} 😍",
        "Die Lieferung von {brand} kam einen Tag früher. Top!",
        "Kann {product} jedem nur empfehlen.",
        "Wann gibt es {product} auch in Österreich?",
        "{brand} stellt nächste Woche auf der Messe in Hannover aus.",
        "Hat jemand {product} und {competitor} verglichen?",
        "Seit drei Wochen warte ich auf meine Lieferung von {brand} 😡",
        "{product} ist nach zwei Tagen kaputt gegangen. Sehr enttäuscht.",
        "Die Hotline von {brand} ist nicht erreichbar. Katastrophe!",
        "{competitor} ist billiger, aber der Service von {brand} ist besser.",
        "Nie wieder {competitor}, die Qualität ist schlecht.",
    ],
    "en": [
        "The {brand} support team solved my problem in minutes. Thanks!",
        "Absolutely love {product} 👍",
        "Is {product} available in the UK yet?",
        "{brand} is hiring in Berlin.",
        "Very disappointed with {product}, it broke after a week.",
        "{brand} customer service is a disaster. Nobody answers.",
        "Switched from {competitor} to {brand} and it is great so far.",
        "Comparing {product} with {competitor} for our team.",
    ],
}


def create_social(context: DemoContext) -> dict[str, int]:
    rng = random.Random(context.fake["de_DE"].random.random())  # noqa: S311 (demo data)
    owner = context.users[0] if context.users else None
    team = context.teams[0] if context.teams else None
    products = list(Product.objects.order_by("pk")[:2])
    keywords = [
        Keyword.objects.get_or_create(term=BRAND, defaults={"kind": KeywordKind.BRAND})[0],
        Keyword.objects.get_or_create(term=f"{BRAND} GmbH", defaults={"kind": KeywordKind.COMPANY})[
            0
        ],
        Keyword.objects.get_or_create(term=COMPETITOR, defaults={"kind": KeywordKind.COMPETITOR})[
            0
        ],
    ]
    for product in products:
        keywords.append(
            Keyword.objects.get_or_create(
                term=product.name[:120],
                defaults={"kind": KeywordKind.PRODUCT, "product": product},
            )[0]
        )
    sources = [
        Source.objects.create(
            name=f"{BRAND} Blog",
            kind=SourceKind.FEED,
            url="https://blog.kreiswerk.example/feed.xml",
            is_active=False,
            owner=owner,
            team=team,
        ),
        Source.objects.create(
            name=f"Mastodon #{BRAND}",
            kind=SourceKind.MASTODON_TAG,
            url="https://mastodon.example",
            query=BRAND.lower(),
            is_active=False,
            owner=owner,
            team=team,
        ),
        Source.objects.create(
            name="Bewertungsportal",
            kind=SourceKind.WEBHOOK,
            is_active=False,
            owner=owner,
            team=team,
        ),
    ]
    known = list(
        ContactPoint.objects.filter(kind=ContactKind.SOCIAL, party__deleted_at__isnull=True)
        .select_related("party")
        .order_by("pk")[:8]
    )
    matcher = KeywordMatcher(keywords)
    now = timezone.now()
    created = []
    for i in range(SIZES.get(context.size, SIZES["small"])):
        language = "de" if rng.random() < 0.65 else "en"
        template = rng.choice(POSTS[language])
        product = rng.choice(products).name if products else BRAND
        text = template.format(brand=BRAND, product=product, competitor=COMPETITOR)
        source = rng.choice(sources)
        if known and rng.random() < 0.25:
            point = rng.choice(known)
            handle, name, party = point.value, point.party.name, point.party
        else:
            first = context.fake["de_DE" if language == "de" else "en_US"].first_name()
            handle = f"@{first.lower()}{rng.randint(1, 99)}@mastodon.example"
            name, party = first, None
        score = sentiment.analyse(text, language)
        mention = Mention.objects.create(
            source=source,
            external_id=f"demo-{i}",
            url=f"https://mastodon.example/@demo/{100000 + i}",
            author_handle=handle[:200],
            author_name=name[:200],
            author_key=handle_key(handle),
            text=text,
            published_at=now - dt.timedelta(days=rng.randint(0, 59), minutes=rng.randint(0, 1439)),
            language=score.language,
            sentiment=score.label,
            sentiment_score=score.compound,
            party=party,
            owner=owner,
            team=team,
        )
        mention.keywords.set(matcher(text))
        created.append(mention)
    index_records(created, created=True)
    return {"social keywords": len(keywords), "social mentions": len(created)}
