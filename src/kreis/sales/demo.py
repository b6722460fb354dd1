"""Demo deals: a second pipeline, deals in every stage for the demo organisations, their
stage history and line items (from the product catalogue when there is one).
Registered as a step of ``kreis demo``, after the parties and products."""

from __future__ import annotations

import contextlib
import datetime as dt
import random
from collections import defaultdict
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from kreis.commerce.models import Product
from kreis.core.demo import DemoContext
from kreis.parties.models import Employment, Party, PartyKind, Tag
from kreis.sales.models import Deal, DealLine, LostReason, Pipeline, Stage, StageChange, StageKind
from kreis.sales.services import ensure_default_pipeline

SIZES = {"small": 150, "large": 20_000}
SERVICE_PIPELINE = (
    "Service contracts",
    "Support and maintenance contracts, renewals included.",
    [
        ("Request", 20, StageKind.OPEN),
        ("Offer sent", 50, StageKind.OPEN),
        ("Contract sent", 80, StageKind.OPEN),
        ("Signed", 100, StageKind.WON),
        ("Cancelled", 0, StageKind.LOST),
    ],
)
DEAL_NAMES = [
    "Rahmenvertrag {year}",
    "Erweiterung Standort {city}",
    "Ersatzteile Q{quarter}",
    "Pilotprojekt {city}",
    "Lizenzverlängerung {year}",
    "Wartungsvertrag",
    "Fleet upgrade {year}",
    "Annual supply agreement",
    "Service renewal {year}",
    "Rollout phase {quarter}",
]
SOURCES = ["Lead", "Bestandskunde", "Messe", "Website", "Empfehlung", "Partner"]
TAGS = ["Q-Ziel", "Upsell", "Neukunde", "Ausschreibung"]


@contextlib.contextmanager
def _keep_given_times(*fields):
    """Demo history lies in the past: let bulk_create keep the times we set instead of now."""
    saved = [(f, f.auto_now_add) for f in fields]
    for f in fields:
        f.auto_now_add = False
    try:
        yield
    finally:
        for f, value in saved:
            f.auto_now_add = value


def _service_pipeline() -> Pipeline:
    name, description, stages = SERVICE_PIPELINE
    pipeline, created = Pipeline.objects.get_or_create(
        name=name, defaults={"description": description, "position": 1}
    )
    if created:
        Stage.objects.bulk_create(
            Stage(pipeline=pipeline, name=n, probability=p, kind=k, position=i)
            for i, (n, p, k) in enumerate(stages)
        )
    return pipeline


def _lines(rng: random.Random, products: list[Product]) -> list[DealLine]:
    lines = []
    for product in rng.sample(products, k=min(len(products), rng.randint(1, 3))):
        quantity = Decimal(rng.choice([1, 1, 1, 2, 2, 3, 5, 10]))
        price = product.list_price
        discount = (quantity * price * Decimal(rng.choice([0, 0, 0, 5, 10])) / 100).quantize(
            Decimal("0.01")
        )
        lines.append(
            DealLine(
                product=product,
                description=product.name[:200],
                quantity=quantity,
                unit_price=price,
                discount=discount,
            )
        )
    return lines


@transaction.atomic
def create_deals(context: DemoContext) -> dict[str, int]:
    """Deals across both pipelines, owned like their organisations, in every stage."""
    rng = random.Random(context.fake["de_DE"].random.random())  # noqa: S311 (demo data)
    n_deals = SIZES[context.size]
    pipelines = [ensure_default_pipeline(), _service_pipeline()]
    stages = {p.pk: list(p.stages.order_by("position", "pk")) for p in pipelines}
    reasons = list(LostReason.objects.filter(is_active=True)) or [
        LostReason.objects.create(name="Price too high")
    ]
    orgs = list(
        Party.objects.filter(kind=PartyKind.ORGANIZATION, deleted_at__isnull=True).order_by("pk")
    )
    if not orgs:
        return {"deals": 0}
    contacts = defaultdict(list)
    for person_id, org_id in Employment.objects.values_list("person_id", "organization_id"):
        contacts[org_id].append(person_id)
    products = list(Product.objects.filter(is_active=True)[:200])
    tags = [Tag.objects.get_or_create(name=name)[0] for name in TAGS]
    now = timezone.now()
    today = timezone.localdate()

    deals, plans = [], []
    for i in range(n_deals):
        pipeline = pipelines[0] if i % 4 else pipelines[1]
        path = stages[pipeline.pk]
        open_stages = [s for s in path if s.kind == StageKind.OPEN]
        roll = rng.random()
        if roll < 0.2:
            final = next(s for s in path if s.kind == StageKind.WON)
        elif roll < 0.32:
            final = next(s for s in path if s.kind == StageKind.LOST)
        else:
            final = rng.choice(open_stages)
        # The open stages the deal went through before it got where it is.
        reached = (
            open_stages[: open_stages.index(final) + 1]
            if final.kind == StageKind.OPEN
            else open_stages[: rng.randint(1, len(open_stages))] + [final]
        )
        org = orgs[rng.randrange(len(orgs))]
        created = now - dt.timedelta(days=rng.randint(20, 400), minutes=rng.randint(0, 1440))
        closed = created + dt.timedelta(days=rng.randint(5, 120))
        closed = min(closed, now - dt.timedelta(hours=rng.randint(1, 48)))
        year = (today + dt.timedelta(days=180)).year
        name = rng.choice(DEAL_NAMES).format(
            year=year, quarter=rng.randint(1, 4), city=context.fake["de_DE"].city()
        )
        line_items = _lines(rng, products) if products else []
        amount = (
            sum((line.total for line in line_items), Decimal(0))
            if line_items
            else Decimal(rng.randrange(1_000, 250_000, 50))
        )
        is_open = final.kind == StageKind.OPEN
        deals.append(
            Deal(
                name=f"{org.name[:120]} – {name}",
                pipeline=pipeline,
                stage=final,
                organization=org,
                contact_id=rng.choice(contacts[org.pk]) if contacts[org.pk] else None,
                amount=amount,
                currency="EUR",
                expected_close=(
                    today + dt.timedelta(days=rng.randint(-45, 240))
                    if is_open
                    else _as_local_date(closed)
                ),
                closed_at=None if is_open else closed,
                lost_reason=rng.choice(reasons) if final.kind == StageKind.LOST else None,
                source=rng.choice(SOURCES),
                owner_id=org.owner_id,
                team_id=org.team_id,
                external_id=f"DEMO-DEAL-{i:06d}",
                created_at=created,
                updated_at=now,
            )
        )
        plans.append((reached, created, closed, line_items))
        if context.progress:
            context.progress("deals", i + 1, n_deals)

    created_field = Deal._meta.get_field("created_at")
    changed_field = StageChange._meta.get_field("changed_at")
    with _keep_given_times(created_field, changed_field):
        Deal.objects.bulk_create(deals, batch_size=2000)
        deals = list(Deal.objects.filter(external_id__startswith="DEMO-DEAL-").order_by("pk"))
        changes, lines, tag_links = [], [], []
        positions: dict[int, int] = defaultdict(int)
        for deal, (reached, created, closed, line_items) in zip(deals, plans, strict=True):
            deal.position = positions[deal.stage_id]
            positions[deal.stage_id] += 1
            previous = None
            span = max((closed - created).total_seconds(), 3600)
            for n, stage in enumerate(reached):
                at = created + dt.timedelta(seconds=span * n / max(len(reached), 1))
                changes.append(
                    StageChange(
                        deal=deal,
                        from_stage=previous,
                        to_stage=stage,
                        changed_by_id=deal.owner_id,
                        changed_at=at,
                    )
                )
                previous = stage
            for line in line_items:
                line.deal = deal
                lines.append(line)
            if rng.random() < 0.15:
                tag_links.append(Deal.tags.through(deal_id=deal.pk, tag_id=rng.choice(tags).pk))
        StageChange.objects.bulk_create(changes, batch_size=5000)
    Deal.objects.bulk_update(deals, ["position"], batch_size=2000)
    DealLine.objects.bulk_create(lines, batch_size=5000)
    Deal.tags.through.objects.bulk_create(tag_links, batch_size=5000)
    return {"deals": len(deals), "stage_changes": len(changes)}


def _as_local_date(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment).date()
