"""Demo leads: German and English prospects in every status, from the usual sources, some
already converted into the demo's persons, organisations and deals. A step of ``kreis demo``."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from kreis.core.demo import DemoContext
from kreis.core.models import Role
from kreis.leads.models import DisqualifyReason, Lead, LeadStatus
from kreis.parties.models import Employment, Tag
from kreis.sales.models import Deal

SIZES = {"small": 120, "large": 10_000}
SOURCES = ["Website", "Trade fair", "Referral", "Cold call", "Campaign"]
STATUS_MIX = (
    [LeadStatus.NEW] * 30
    + [LeadStatus.CONTACTED] * 25
    + [LeadStatus.QUALIFIED] * 15
    + [LeadStatus.DISQUALIFIED] * 18
    + [LeadStatus.CONVERTED] * 12
)
POSITIONS = {
    "de_DE": ["Geschäftsführerin", "Einkaufsleiter", "IT-Leiterin", "Prokurist", "Teamleitung"],
    "en_US": ["Head of Operations", "CTO", "Procurement Manager", "Founder", "Office Manager"],
}
NEEDS = {
    "de_DE": [
        "Ablösung der Excel-Kundenliste",
        "Außendienst braucht mobile Kundendaten",
        "Angebote schneller erstellen",
        "Service-Anfragen zentral erfassen",
    ],
    "en_US": [
        "Replace spreadsheets for account planning",
        "Pipeline visibility for the sales team",
        "Track support requests in one place",
        "Connect the web shop with customer data",
    ],
}
AUTHORITY = {
    "de_DE": ["Entscheidet selbst", "Geschäftsführung entscheidet", "Einkauf gibt frei"],
    "en_US": ["Decides alone", "Board decides", "Procurement signs off"],
}
TAGS = ["Messe 2026", "Newsletter", "Webinar", "Inbound"]


def _slug(text: str) -> str:
    for umlaut, plain in {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"}.items():
        text = text.lower().replace(umlaut, plain)
    return "".join(ch for ch in text if ch.isalnum())[:30] or "firma"


def _phone(rng: random.Random, german: bool) -> str:
    if german:
        return f"+49{rng.choice(['30', '40', '89', '221'])}{rng.randint(20_000_000, 99_999_999)}"
    return f"+1{rng.choice(['212', '312', '415'])}{rng.randint(200, 999)}{rng.randint(1000, 9999)}"


@transaction.atomic
def create_leads(context: DemoContext) -> dict[str, int]:
    """Leads for the sales users of the demo's teams; converted ones link to demo persons,
    their organisations and (when the sales step made any) one of the organisation's deals."""
    rng = random.Random(context.fake["en_US"].random.random())  # noqa: S311 (demo data)
    total = SIZES[context.size]
    owners = [u for u in context.users if u.role in {Role.SALES_REP, Role.SALES_MANAGER}]
    if not owners:
        return {"leads": 0}
    team_of = {u.pk: next(iter(sorted(u.team_ids())), None) for u in owners}
    tags = [Tag.objects.get_or_create(name=name)[0] for name in TAGS]
    employments = list(
        Employment.objects.select_related("person", "organization").order_by("pk")[:2000]
    )
    deal_of_org: dict[int, int] = {}
    for deal_id, org_id in Deal.objects.filter(organization__isnull=False).values_list(
        "pk", "organization_id"
    )[:5000]:
        deal_of_org.setdefault(org_id, deal_id)
    now = timezone.now()

    leads = []
    for i in range(total):
        german = i % 3 != 0
        locale = "de_DE" if german else "en_US"
        gen = context.fake[locale]
        status = rng.choice(STATUS_MIX)
        employment = None
        if status == LeadStatus.CONVERTED:
            if not employments:
                status = LeadStatus.QUALIFIED
            else:
                employment = employments[i % len(employments)]
        if employment is not None:
            first, last = employment.person.first_name, employment.person.last_name
            company = employment.organization.name
        else:
            first, last, company = gen.first_name(), gen.last_name(), gen.company()
        domain = f"{_slug(company.split()[0])}.example"
        owner = rng.choice(owners)
        created = now - dt.timedelta(days=rng.randint(0, 365), minutes=rng.randint(0, 1440))
        qualified = status in {LeadStatus.QUALIFIED, LeadStatus.CONVERTED}
        lead = Lead(
            status=status,
            salutation=rng.choice(["Frau", "Herr", ""]) if german else "",
            first_name=first,
            last_name=last,
            company=company,
            position=rng.choice(POSITIONS[locale]),
            email=f"{_slug(first)}.{_slug(last)}@{domain}",
            phone=_phone(rng, german) if rng.random() < 0.7 else "",
            website=f"https://www.{domain}" if rng.random() < 0.5 else "",
            source=rng.choice(SOURCES),
            budget=Decimal(rng.randrange(2_000, 250_000, 500)) if qualified else None,
            authority=rng.choice(AUTHORITY[locale]) if qualified else "",
            need=rng.choice(NEEDS[locale]) if status != LeadStatus.NEW else "",
            timeline=(now + dt.timedelta(days=rng.randint(14, 240))).date() if qualified else None,
            owner=owner,
            team_id=team_of[owner.pk],
        )
        if status == LeadStatus.DISQUALIFIED:
            lead.disqualify_reason = rng.choice(DisqualifyReason.values)
        if employment is not None:
            lead.converted_at = created + dt.timedelta(days=rng.randint(3, 60))
            lead.converted_person = employment.person
            lead.converted_organization = employment.organization
            lead.converted_deal_id = deal_of_org.get(employment.organization_id)
        lead.demo_created = created  # type: ignore[attr-defined]
        leads.append(lead)
        if context.progress:
            context.progress("leads", i + 1, total)
    Lead.objects.bulk_create(leads, batch_size=2000)
    # created_at is set on insert (auto_now_add); spread the leads over the past year.
    for lead in leads:
        lead.created_at = lead.demo_created  # type: ignore[attr-defined]
    Lead.objects.bulk_update(leads, ["created_at"], batch_size=2000)
    links = [
        Lead.tags.through(lead_id=lead.pk, tag_id=rng.choice(tags).pk)
        for lead in leads
        if rng.random() < 0.25
    ]
    Lead.tags.through.objects.bulk_create(links, batch_size=5000)
    return {"leads": len(leads)}
