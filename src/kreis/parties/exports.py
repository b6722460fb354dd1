"""The party list's filters from a query string, and its export: the columns every format
writes (``kreis.core.exports``), and a person as a vCard.

The list page, its download menu, ``GET /api/v1/exports/party`` and ``kreis export`` all read
the filters here, so an export holds exactly the rows the list shows, in its order.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from kreis.core.customfields import FORM_PREFIX, custom_columns
from kreis.core.exports import (
    DATETIME,
    NUMBER,
    Column,
    Export,
    VCardPerson,
    custom_field_columns,
)
from kreis.core.models import User
from kreis.core.queries import visible_records
from kreis.parties import queries
from kreis.parties.models import (
    AbcClass,
    Address,
    ClvMarginBasis,
    ContactKind,
    ContactPoint,
    Employment,
    LifecyclePhase,
    Party,
    PartyKind,
    PartyRole,
    PartyRoleAssignment,
    RfmSegment,
)

FIGURE_CHOICES = {
    "abc_class": AbcClass.values,
    "rfm_segment": RfmSegment.values,
    "lifecycle_phase": LifecyclePhase.values,
    "clv_basis": ClvMarginBasis.values,
}
CLV_RANGES = ("clv_min", "clv_max", "clv_next_12_min", "clv_next_12_max")
# The last survey answer's scores (kreis.feedback): number ranges like the CLV's.
SURVEY_RANGES = ("nps_min", "nps_max", "csat_min", "csat_max", "loyalty_min", "loyalty_max")


def _amount(text: str | None) -> Decimal | None:
    """A money bound from the query string; anything unusable is ignored like an empty one."""
    try:
        amount = Decimal((text or "").strip().replace(",", "."))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() and abs(amount) < Decimal("1e12") else None


def _figure_filters(query: Mapping[str, str]) -> dict:
    """Filters on the computed figures (drill-down from the analytics), known values only."""
    figures: dict = {
        name: query[name] for name, values in FIGURE_CHOICES.items() if query.get(name) in values
    }
    for name in (*CLV_RANGES, *SURVEY_RANGES):
        amount = _amount(query.get(name))
        if amount is not None:
            figures[name] = amount
    return figures


def list_params(query: Mapping[str, str]) -> dict:
    """The party list's filters and sort (``party_list_for_user`` arguments) from a query."""
    return {
        "kind": query.get("kind", "") if query.get("kind") in PartyKind.values else "",
        "search": (query.get("q") or "").strip()[:100],
        "role": query.get("role", "") if query.get("role") in PartyRole.values else "",
        "tag": (query.get("tag") or "").strip()[:50],
        "sort": query.get("sort") or "name",
        # Custom-field filters (cf_…) only when asked for: looking the fields up is a query.
        "custom": query if any(k.startswith(FORM_PREFIX) for k in query) else None,
        "figures": _figure_filters(query),
        # Other apps' filters (a segment's members: ``segment=<id>``).
        "extra": {
            name: (query.get(name) or "").strip()[:50]
            for name in queries.LIST_FILTERS
            if query.get(name)
        },
    }


def _primary(party: Party, kind: str) -> str:
    return next((value for k, value, _, primary in party.x_contacts if k == kind and primary), "")


def _address(party: Party, index: int) -> str:
    return party.x_addresses[0][index] if party.x_addresses else ""


def _next_12_months(party: Party) -> Decimal | None:
    value = getattr(party, "customer_value", None)  # kept by the analytics run
    return value.next_12_months if value is not None else None


COLUMNS = [
    Column("id", lambda p: p.pk, NUMBER),
    Column("kind", lambda p: p.kind),
    Column("name", lambda p: p.name),
    Column("roles", lambda p: " ".join(p.x_roles)),
    Column("email", lambda p: _primary(p, ContactKind.EMAIL)),
    Column("phone", lambda p: _primary(p, ContactKind.PHONE)),
    Column("street", lambda p: _address(p, 0)),
    Column("postal_code", lambda p: _address(p, 1)),
    Column("city", lambda p: _address(p, 2)),
    Column("country", lambda p: _address(p, 4)),
    Column("owner", lambda p: str(p.owner) if p.owner else ""),
    Column("team", lambda p: str(p.team) if p.team else ""),
    Column("tags", lambda p: ", ".join(p.x_tags)),
    Column("external_id", lambda p: p.external_id or ""),
    Column("created_at", lambda p: p.created_at, DATETIME),
    Column("abc_class", lambda p: p.abc_class),
    Column("lifecycle_phase", lambda p: p.lifecycle_phase),
    Column("historical_value", lambda p: p.historical_value, NUMBER),
    Column("clv", lambda p: p.clv, NUMBER),
    Column("clv_next_12_months", _next_12_months, NUMBER),
    Column("last_nps", lambda p: p.last_nps, NUMBER),
    Column("last_csat", lambda p: p.last_csat, NUMBER),
    Column("last_loyalty", lambda p: p.last_loyalty, NUMBER),
]


def _with_details(parties: list[Party], *, user: User) -> list[Party]:
    """Roles, tags, contacts, addresses and the first employment of a chunk of parties as
    plain values (``x_roles`` …): five small queries per chunk. Django's prefetching built a
    model instance, a related manager and a queryset per value, which made the export of
    100,000 parties take four minutes instead of seconds."""
    by_pk = {party.pk: party for party in parties}
    for party in parties:
        party.x_roles, party.x_tags, party.x_contacts, party.x_addresses = [], [], [], []
        party.x_job = None
    if not by_pk:
        return parties
    roles = PartyRoleAssignment.objects.filter(party_id__in=by_pk).order_by("pk")
    for party_id, role in roles.values_list("party_id", "role"):
        by_pk[party_id].x_roles.append(role)
    tags = Party.tags.through.objects.filter(party_id__in=by_pk).order_by("tag__name", "tag_id")
    for party_id, name in tags.values_list("party_id", "tag__name"):
        by_pk[party_id].x_tags.append(name)
    contacts = ContactPoint.objects.filter(party_id__in=by_pk).order_by("kind", "-is_primary", "pk")
    for party_id, *contact in contacts.values_list(
        "party_id", "kind", "value", "label", "is_primary"
    ):
        by_pk[party_id].x_contacts.append(contact)
    addresses = Address.objects.filter(party_id__in=by_pk).order_by("-is_primary", "pk")
    fields = ("street", "postal_code", "city", "region", "country", "kind")
    for party_id, *address in addresses.values_list("party_id", *fields):
        by_pk[party_id].x_addresses.append(address)
    jobs = (
        Employment.objects.filter(person_id__in=by_pk)
        .order_by("-is_primary_contact", "pk")
        .values_list("person_id", "organization_id", "organization__name", "position")
    )
    jobs = list(jobs)
    visible = (
        set(
            visible_records(
                Party.objects.filter(pk__in={j[1] for j in jobs}), user=user
            ).values_list("pk", flat=True)
        )
        if jobs
        else set()
    )
    for person_id, organization_id, name, position in jobs:
        person = by_pk[person_id]
        if person.x_job is None:
            shown = name if organization_id in visible else str(queries.HIDDEN_PARTY)
            person.x_job = (shown, position)
    return parties


def party_vcard(party: Party) -> VCardPerson | None:
    """A person as a vCard: name, employer and position (the first employment; the employer's
    name only if the user may see it), e-mails, phones and addresses. Organisations: none."""
    if party.kind != PartyKind.PERSON:
        return None
    organization, title = party.x_job or ("", "")
    contacts = {ContactKind.EMAIL: [], ContactKind.PHONE: []}
    for kind, value, label, primary in party.x_contacts:
        if kind in contacts:
            contacts[kind].append((value, label, primary))
    return VCardPerson(
        full_name=party.name,
        first_name=party.first_name,
        last_name=party.last_name,
        salutation=party.salutation,
        organization=organization,
        title=title,
        emails=contacts[ContactKind.EMAIL],
        phones=contacts[ContactKind.PHONE],
        addresses=[tuple(a) for a in party.x_addresses],
        url=party.website,
        uid=f"kreis-party-{party.pk}",
    )


def _in_chunks(parties, *, user: User, size: int):
    chunk = []
    for party in parties.iterator(chunk_size=size):
        chunk.append(party)
        if len(chunk) >= size:
            yield from _with_details(chunk, user=user)
            chunk = []
    yield from _with_details(chunk, user=user)


def party_export(*, user: User, query: Mapping[str, str], chunk_size: int = 2000) -> Export:
    """The party list as the user sees it (filters, sort, visibility), every row of it."""
    parties = queries.party_list_for_user(user=user, **list_params(query)).prefetch_related(None)
    return Export(
        name="kreis-parties",
        columns=COLUMNS + custom_field_columns(custom_columns("party")),
        records=_in_chunks(parties, user=user, size=chunk_size),
        vcard=party_vcard,
    )
