"""How a party appears in the global search: names, e-mails, phones, companies, notes."""

from __future__ import annotations

from collections.abc import Iterable

from django.urls import reverse

from kreis.core.search import SearchDocument, seen_by_the_same
from kreis.parties.models import ContactKind, Party, PartyKind


def party_document(party: Party) -> SearchDocument | None:
    if party.deleted_at is not None:
        return None
    contacts = list(party.contact_points.all())
    primary = next((c.value for c in contacts if c.is_primary and c.kind != ContactKind.SOCIAL), "")
    if party.kind == PartyKind.PERSON:
        companies = [
            e.organization.name
            for e in party.employments.all()
            if seen_by_the_same(party, e.organization)
        ]
    else:
        companies = []
    # Phones also without the leading "+49" so "0401234" finds "+49401234…".
    phones = [c.value for c in contacts if c.kind == ContactKind.PHONE]
    national = [p[3:] for p in phones if p.startswith("+49")]
    text = " ".join(
        [
            party.name,
            party.first_name,
            party.last_name,
            *(c.value for c in contacts),
            *national,
            *companies,
            party.external_id or "",
            party.notes[:1000],
        ]
    )
    subtitle = " · ".join(x for x in (", ".join(companies[:2]), primary) if x)
    return SearchDocument(
        title=party.name,
        subtitle=subtitle,
        url=reverse("parties:detail", args=[party.pk]),
        icon="person" if party.kind == PartyKind.PERSON else "building",
        text=text,
        owner_id=party.owner_id,
        team_id=party.team_id,
    )


def employees_naming(record) -> Iterable[Party]:
    """The persons whose entry shows this organisation's name (as the company they work for)."""
    if not isinstance(record, Party) or record.kind != PartyKind.ORGANIZATION:
        return []
    return (
        Party.objects.filter(employments__organization=record, deleted_at__isnull=True)
        .prefetch_related("contact_points", "employments__organization")
        .distinct()
        .order_by("pk")
    )


def all_parties():
    return (
        Party.objects.filter(deleted_at__isnull=True)
        .prefetch_related("contact_points", "employments__organization")
        .order_by("pk")
        # Prefetching lists the chunk's ids in one IN (…): keep it under SQLite's limits.
        .iterator(chunk_size=500)
    )
