"""How a party appears in the global search: names, e-mails, phones, companies, notes."""

from __future__ import annotations

from collections.abc import Iterable

from kreis.core.fasturls import reverse_int
from kreis.core.search import SearchDocument, seen_by_the_same
from kreis.parties.models import ContactKind, Party, PartyKind


def party_document(party: Party) -> SearchDocument | None:
    if party.deleted_at is not None:
        return None
    contacts = [(c.kind, c.value, c.is_primary) for c in party.contact_points.all()]
    if party.kind == PartyKind.PERSON:
        companies = [
            e.organization.name
            for e in party.employments.all()
            if seen_by_the_same(party, e.organization)
        ]
    else:
        companies = []
    return party_document_of(party, contacts=contacts, companies=companies)


def party_document_of(
    party, *, contacts: Iterable[tuple[str, str, bool]], companies: list[str]
) -> SearchDocument:
    """The entry of a live party from its values (``party``: anything with the party's
    fields), its contact points as (kind, value, primary) and the companies it may show;
    the bulk path (``kreis.parties.bulk``) builds entries from rows it has not read back."""
    contacts = list(contacts)
    primary = next((v for k, v, p in contacts if p and k != ContactKind.SOCIAL), "")
    # Phones also without the leading "+49" so "0401234" finds "+49401234…".
    phones = [v for k, v, _p in contacts if k == ContactKind.PHONE]
    national = [p[3:] for p in phones if p.startswith("+49")]
    text = " ".join(
        [
            party.name,
            party.first_name,
            party.last_name,
            *(v for _k, v, _p in contacts),
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
        url=reverse_int("parties:detail", party.pk),
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
