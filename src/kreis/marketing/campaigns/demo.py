"""Demo campaigns: three campaigns with full funnels — a trade fair (an event with
registrations and attendance), a newsletter and a social media campaign.

Each has its costs, members from the demo's persons with their responses, and leads that came
through it: touched by the campaign (so attributed to it), some marketing-qualified, some
qualified by sales, some converted into deals, of which some are won with an amount. A few
newsletter leads clicked a social ad later, so first- and last-touch attribution differ. Leads
are created and converted through the lead services and touched through ``record_touch``, so
attribution and deals are what the application itself would make. Repeatable with ``--seed``.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.utils import timezone

from kreis.core.demo import DemoContext
from kreis.core.models import Role, Team
from kreis.leads import services as lead_services
from kreis.leads.models import Lead, LeadStatus
from kreis.marketing.campaigns.services import record_touch
from kreis.marketing.models import (
    Campaign,
    CampaignChannel,
    CampaignCost,
    CampaignMember,
    CampaignStatus,
    TouchKind,
)
from kreis.parties.models import Party, PartyKind
from kreis.sales import services as sales_services
from kreis.sales.models import Deal, StageKind

# (name, code, channel, goal, target group, days ago it started, length in days, budget,
#  leads in a small demo, touch kind, costs [(category, amount, note)])
CAMPAIGNS = [
    (
        "Frühjahrsmesse Hannover",
        "fruehjahrsmesse-hannover",
        CampaignChannel.EVENT,
        "Neue Kontakte aus dem Maschinenbau am Messestand gewinnen; 40 Termine vereinbaren.",
        "Produktionsleiter und Einkauf im Maschinenbau",
        120,
        4,
        Decimal("18000"),
        16,
        TouchKind.EVENT,
        [
            ("venue", "9800.00", "Standfläche Halle 7"),
            ("print", "1450.00", "Flyer und Roll-ups"),
            ("staff", "3200.00", "Standpersonal, 4 Tage"),
        ],
    ),
    (
        "Newsletter Q1",
        "newsletter-q1",
        CampaignChannel.EMAIL,
        "Bestandskontakte über die neue Produktlinie informieren und Demo-Termine anbieten.",
        "Bestandskunden und Interessenten mit Newsletter-Einwilligung",
        90,
        60,
        Decimal("2500"),
        12,
        TouchKind.CLICK,
        [("agency", "1200.00", "Texte und Layout"), ("media", "340.00", "Versanddienst")],
    ),
    (
        "LinkedIn Ads Spring",
        "linkedin-ads-spring",
        CampaignChannel.SOCIAL,
        "Reach plant managers in DACH with the whitepaper on predictive maintenance.",
        "Plant and maintenance managers, DACH",
        75,
        45,
        Decimal("8000"),
        10,
        TouchKind.FORM,
        [("media", "5200.00", "LinkedIn sponsored content"), ("agency", "900.00", "Creatives")],
    ),
]
SCALE = {"small": 1, "large": 3}


def create_campaigns(context: DemoContext) -> dict[str, int]:
    rng = random.Random(context.fake["de_DE"].random.random())  # noqa: S311 (demo data)
    scale = SCALE.get(context.size, 1)
    marketer = next((u for u in context.users if u.role == Role.MARKETING), None)
    reps = [u for u in context.users if u.role in {Role.SALES_REP, Role.SALES_MANAGER}]
    if not reps:
        return {"campaigns": 0}
    won_stage = (
        sales_services.ensure_default_pipeline()
        .stages.filter(kind=StageKind.WON)
        .order_by("position")
        .first()
    )
    persons = list(
        Party.objects.filter(kind=PartyKind.PERSON, deleted_at__isnull=True).order_by("pk")[
            : 60 * scale
        ]
    )
    now = timezone.now()
    campaigns = []
    leads_made = deals_won = 0
    for spec in CAMPAIGNS:
        name, code, channel, goal, target, ago, length, budget, n_leads, kind, costs = spec
        starts = (now - dt.timedelta(days=ago)).date()
        campaign = Campaign.objects.create(
            name=name,
            code=code,
            goal=goal,
            channel=channel,
            status=CampaignStatus.COMPLETED if ago - length > 14 else CampaignStatus.ACTIVE,
            target_description=target,
            starts_on=starts,
            ends_on=starts + dt.timedelta(days=length),
            budget=budget * scale,
            expected_leads=n_leads * scale + 4,
            expected_revenue=Decimal(60000 * scale),
            owner=marketer,
        )
        if channel == CampaignChannel.EVENT:
            campaign.event_starts_at = _at(starts, 0)
            campaign.event_location = "Messegelände Hannover, Halle 7, Stand B12"
            campaign.event_capacity = 60 * scale
            campaign.save()
        CampaignCost.objects.bulk_create(
            CampaignCost(
                campaign=campaign,
                date=starts,
                category=category,
                amount=Decimal(amount) * scale,
                note=note,
                created_by=marketer,
            )
            for category, amount, note in costs
        )
        campaigns.append(campaign)
        _members(rng, campaign, persons)
        made, won = _leads(rng, context, campaign, n_leads * scale, kind, reps, won_stage)
        leads_made += made
        deals_won += won
    # Some newsletter leads clicked a social ad lately: their last touch is that campaign.
    newsletter, social = campaigns[1], campaigns[2]
    later = Lead.objects.filter(attribution__first_campaign=newsletter).exclude(
        status=LeadStatus.CONVERTED
    )
    for lead in later.order_by("pk")[:3]:
        record_touch(
            campaign=social, kind=TouchKind.CLICK, at=now - dt.timedelta(days=2), lead=lead
        )
    return {
        "campaigns": len(campaigns),
        "campaign leads": leads_made,
        "campaign deals won": deals_won,
    }


def _at(day: dt.date, offset_minutes: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(9))) + dt.timedelta(
        minutes=offset_minutes
    )


def _email(first: str, last: str, suffix: str) -> str:
    local = f"{first}.{last}.{suffix}".lower()
    for umlaut, plain in {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", " ": "-", "'": ""}.items():
        local = local.replace(umlaut, plain)
    return local.encode("ascii", "ignore").decode() + "@kreis-demo.example"


def _members(rng: random.Random, campaign: Campaign, persons: list[Party]) -> None:
    """Demo persons as members with their responses (all sent, fewer opened, clicked…)."""
    chosen = rng.sample(persons, min(len(persons), 30))
    rows = []
    for party in chosen:
        sent = _at(campaign.starts_on, rng.randint(0, 2 * 24 * 60))
        member = CampaignMember(campaign=campaign, party=party, sent_at=sent)
        if rng.random() < 0.6:
            member.opened_at = sent + dt.timedelta(hours=rng.randint(1, 48))
            if rng.random() < 0.45:
                member.clicked_at = member.opened_at + dt.timedelta(minutes=rng.randint(1, 30))
        if campaign.channel == CampaignChannel.EVENT and rng.random() < 0.4:
            member.registered_at = sent + dt.timedelta(days=rng.randint(1, 10))
            if rng.random() < 0.75:
                member.attended_at = _at(campaign.starts_on, 60)
        if rng.random() < 0.15:
            member.responded_at = sent + dt.timedelta(days=rng.randint(1, 14))
        rows.append(member)
    CampaignMember.objects.bulk_create(rows)


def _leads(rng, context, campaign, count, kind, reps, won_stage) -> tuple[int, int]:
    """Leads that came through the campaign, down its funnel: every one touched; three in
    four marketing-qualified; half qualified by sales; a quarter converted into a deal, and
    most of those deals won."""
    made = won = 0
    days = (campaign.ends_on - campaign.starts_on).days
    for n in range(count):
        locale = "en_US" if campaign.channel == CampaignChannel.SOCIAL and n % 2 else "de_DE"
        gen = context.fake[locale]
        owner = reps[n % len(reps)]
        first, last = gen.first_name(), gen.last_name()
        lead = lead_services.lead_create(
            actor=None,
            owner=owner,
            team=Team.objects.filter(pk__in=owner.team_ids()).order_by("pk").first(),
            first_name=first,
            last_name=last,
            company=gen.company(),
            email=_email(first, last, f"{campaign.pk}-{n}"),
            source=campaign.name[:100],
        )
        touched = _at(campaign.starts_on, rng.randint(0, max(days, 1) * 24 * 60))
        record_touch(campaign=campaign, kind=kind, at=touched, lead=lead)
        if campaign.channel == CampaignChannel.EVENT:
            CampaignMember.objects.filter(campaign=campaign, lead=lead).update(
                registered_at=touched - dt.timedelta(days=3), attended_at=touched
            )
        made += 1
        step = n % 8  # 0–1 lead only; 2–3 MQL; 4–5 qualified; 6–7 converted
        if step >= 2:
            Lead.objects.filter(pk=lead.pk).update(mql_at=touched + dt.timedelta(days=2))
        if step >= 4:
            Lead.objects.filter(pk=lead.pk).update(status=LeadStatus.QUALIFIED)
        if step < 6:
            continue
        lead.refresh_from_db()
        amount = Decimal(rng.randrange(8, 60) * 1000)
        result = lead_services.lead_convert(actor=None, lead=lead, amount=amount)
        converted_at = touched + dt.timedelta(days=rng.randint(5, 20))
        Lead.objects.filter(pk=lead.pk).update(converted_at=converted_at)
        if result.deal is not None and won_stage is not None and (step == 7 or n == 6):
            sales_services.deal_move(actor=None, deal=result.deal, stage=won_stage)
            Deal.objects.filter(pk=result.deal.pk).update(
                closed_at=converted_at + dt.timedelta(days=rng.randint(10, 40))
            )
            won += 1
    return made, won
