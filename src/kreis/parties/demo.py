"""Demo parties: German and English organisations with their people, contact data, roles,
tags and relationships. Registered as a step of ``kreis demo``."""

from __future__ import annotations

import random

from django.db import transaction

from kreis.core.demo import DemoContext
from kreis.core.models import Role
from kreis.parties.models import (
    Address,
    AddressKind,
    CompanySize,
    ContactKind,
    ContactPoint,
    Employment,
    Party,
    PartyKind,
    PartyRole,
    PartyRoleAssignment,
    Relationship,
    RelationshipType,
    Tag,
)

SIZES = {"small": 200, "large": 40_000}  # organisations; persons are 1.5 per organisation
INDUSTRIES = [
    "Maschinenbau",
    "Logistik",
    "Handel",
    "Software",
    "Chemie",
    "Bau",
    "Lebensmittel",
    "Energie",
    "Automotive",
    "Healthcare",
    "Finance",
    "Retail",
]
TAGS = ["A-Kunde", "Messe 2026", "Newsletter", "Rahmenvertrag", "Key Account", "Export"]
ROLE_MIX = (
    [PartyRole.CUSTOMER] * 6
    + [PartyRole.PROSPECT] * 3
    + [
        PartyRole.SUPPLIER,
        PartyRole.PARTNER,
        PartyRole.RESELLER,
        PartyRole.SERVICE_PROVIDER,
        PartyRole.COMPETITOR,
    ]
)
POSITIONS = [
    "Geschäftsführer",
    "Einkaufsleiterin",
    "Head of Procurement",
    "CFO",
    "IT-Leiter",
    "Office Manager",
    "Vertriebsleiterin",
    "Buyer",
    "Projektleiter",
]
SOCIAL_NETWORKS = ["LinkedIn", "Xing", "Mastodon"]


def _phone(rng: random.Random, german: bool) -> str:
    # Numbers in real, valid ranges (Berlin, Hamburg, Munich; New York, Chicago) in E.164.
    if german:
        return f"+49{rng.choice(['30', '40', '89'])}{rng.randint(20_000_000, 99_999_999)}"
    return f"+1{rng.choice(['212', '312'])}{rng.randint(200, 999)}{rng.randint(1000, 9999)}"


def _slug(text: str) -> str:
    for umlaut, plain in {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"}.items():
        text = text.lower().replace(umlaut, plain)
    return "".join(ch for ch in text if ch.isalnum())[:30] or "firma"


@transaction.atomic
def create_parties(context: DemoContext) -> dict[str, int]:
    """Organisations (with 1–2 contacts each), their addresses, e-mails, phones, roles, tags
    and a web of relationships, owned by the sales users of the demo's teams."""
    rng = random.Random(context.fake["de_DE"].random.random())  # noqa: S311 (demo data)
    n_orgs = SIZES[context.size]
    owners = [u for u in context.users if u.role in {Role.SALES_REP, Role.SALES_MANAGER}]
    team_of = {u.pk: next(iter(u.team_ids()), None) for u in owners}
    tags = [Tag.objects.get_or_create(name=name)[0] for name in TAGS]

    orgs, persons = [], []
    for i in range(n_orgs):
        german = i % 4 != 0
        gen = context.fake["de_DE" if german else "en_US"]
        owner = rng.choice(owners)
        orgs.append(
            Party(
                kind=PartyKind.ORGANIZATION,
                name=gen.company(),
                industry=rng.choice(INDUSTRIES),
                size=rng.choice(CompanySize.values),
                source=rng.choice(["Messe", "Website", "Empfehlung", "Kaltakquise"]),
                territory=gen.state() if hasattr(gen, "state") else "",
                owner=owner,
                team_id=team_of[owner.pk],
                website=f"https://www.{_slug(gen.last_name())}{i}.example",
                external_id=f"DEMO-ORG-{i:06d}",
            )
        )
        for _ in range(1 if i % 2 else 2):
            first, last = gen.first_name(), gen.last_name()
            persons.append(
                Party(
                    kind=PartyKind.PERSON,
                    first_name=first,
                    last_name=last,
                    name=f"{first} {last}",
                    salutation=rng.choice(["Frau", "Herr", ""]) if german else "",
                    owner=owner,
                    team_id=team_of[owner.pk],
                )
            )
        if context.progress:
            context.progress("parties", i + 1, n_orgs)
    Party.objects.bulk_create(orgs, batch_size=2000)
    Party.objects.bulk_create(persons, batch_size=2000)
    orgs = list(Party.objects.filter(external_id__startswith="DEMO-ORG-").order_by("pk"))
    persons = list(Party.objects.filter(kind=PartyKind.PERSON).order_by("pk"))

    contacts, addresses, roles, employments, tag_links = [], [], [], [], []
    person_iter = iter(persons)
    for i, org in enumerate(orgs):
        german = i % 4 != 0
        gen = context.fake["de_DE" if german else "en_US"]
        domain = org.website.removeprefix("https://www.")
        contacts.append(
            ContactPoint(
                party=org,
                kind=ContactKind.EMAIL,
                value=f"info@{domain}",
                label="work",
                is_primary=True,
            )
        )
        contacts.append(
            ContactPoint(
                party=org,
                kind=ContactKind.PHONE,
                value=_phone(rng, german),
                label="work",
                is_primary=True,
            )
        )
        addresses.append(
            Address(
                party=org,
                kind=AddressKind.OFFICE,
                street=gen.street_address(),
                postal_code=gen.postcode(),
                city=gen.city(),
                country="DE" if german else "US",
                is_primary=True,
            )
        )
        role = rng.choice(ROLE_MIX)
        roles.append(PartyRoleAssignment(party=org, role=role))
        if rng.random() < 0.3:
            tag_links.append(Party.tags.through(party_id=org.pk, tag_id=rng.choice(tags).pk))
        for n in range(1 if i % 2 else 2):
            person = next(person_iter)
            handle = f"{_slug(person.first_name)}.{_slug(person.last_name)}"
            contacts.append(
                ContactPoint(
                    party=person,
                    kind=ContactKind.EMAIL,
                    value=f"{handle}@{domain}",
                    label="work",
                    is_primary=True,
                )
            )
            contacts.append(
                ContactPoint(
                    party=person,
                    kind=ContactKind.PHONE,
                    value=_phone(rng, german),
                    label="mobile",
                    is_primary=True,
                )
            )
            if rng.random() < 0.2:
                contacts.append(
                    ContactPoint(
                        party=person,
                        kind=ContactKind.SOCIAL,
                        value=handle,
                        label=rng.choice(SOCIAL_NETWORKS),
                    )
                )
            roles.append(PartyRoleAssignment(party=person, role=role))
            employments.append(
                Employment(
                    person=person,
                    organization=org,
                    position=rng.choice(POSITIONS),
                    is_primary_contact=n == 0,
                )
            )
    ContactPoint.objects.bulk_create(contacts, batch_size=5000)
    Address.objects.bulk_create(addresses, batch_size=5000)
    PartyRoleAssignment.objects.bulk_create(roles, batch_size=5000)
    Employment.objects.bulk_create(employments, batch_size=5000)
    Party.tags.through.objects.bulk_create(tag_links, batch_size=5000)

    relationships, seen = [], set()
    for _ in range(max(10, n_orgs // 5)):
        source, target = rng.sample(orgs, 2)
        kind = rng.choice(
            [
                RelationshipType.SUBSIDIARY_OF,
                RelationshipType.SUPPLIER_OF,
                RelationshipType.PARTNER_OF,
                RelationshipType.COMPETITOR_OF,
            ]
        )
        if (source.pk, target.pk, kind) not in seen:
            seen.add((source.pk, target.pk, kind))
            relationships.append(Relationship(source=source, target=target, type=kind))
    Relationship.objects.bulk_create(relationships, batch_size=5000)
    return {"parties": len(orgs) + len(persons), "relationships": len(relationships)}
