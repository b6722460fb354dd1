"""The party list's filters from a query string, and its export: the columns every format
writes (``kreis.core.exports``), and a person as a vCard.

The list page, its download menu, ``GET /api/v1/exports/party`` and ``kreis export`` all read
the filters here, so an export holds exactly the rows the list shows, in its order.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from django.db.models import Prefetch

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
from kreis.parties import queries
from kreis.parties.models import (
    AbcClass,
    ClvMarginBasis,
    ContactKind,
    Employment,
    LifecyclePhase,
    Party,
    PartyKind,
    PartyRole,
    RfmSegment,
)

FIGURE_CHOICES = {
    "abc_class": AbcClass.values,
    "rfm_segment": RfmSegment.values,
    "lifecycle_phase": LifecyclePhase.values,
    "clv_basis": ClvMarginBasis.values,
}
CLV_RANGES = ("clv_min", "clv_max", "clv_next_12_min", "clv_next_12_max")


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
    for name in CLV_RANGES:
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
    }


def _primary(party: Party, kind: str) -> str:
    return next(
        (c.value for c in party.contact_points.all() if c.kind == kind and c.is_primary), ""
    )


def _address(party: Party, attribute: str) -> str:
    address = next(iter(party.addresses.all()), None)
    return getattr(address, attribute) if address else ""


def _next_12_months(party: Party) -> Decimal | None:
    value = getattr(party, "customer_value", None)  # kept by the analytics run
    return value.next_12_months if value is not None else None


COLUMNS = [
    Column("id", lambda p: p.pk, NUMBER),
    Column("kind", lambda p: p.kind),
    Column("name", lambda p: p.name),
    Column("roles", lambda p: " ".join(p.role_values())),
    Column("email", lambda p: _primary(p, ContactKind.EMAIL)),
    Column("phone", lambda p: _primary(p, ContactKind.PHONE)),
    Column("street", lambda p: _address(p, "street")),
    Column("postal_code", lambda p: _address(p, "postal_code")),
    Column("city", lambda p: _address(p, "city")),
    Column("country", lambda p: _address(p, "country")),
    Column("owner", lambda p: str(p.owner) if p.owner else ""),
    Column("team", lambda p: str(p.team) if p.team else ""),
    Column("tags", lambda p: ", ".join(t.name for t in p.tags.all())),
    Column("external_id", lambda p: p.external_id or ""),
    Column("created_at", lambda p: p.created_at, DATETIME),
    Column("abc_class", lambda p: p.abc_class),
    Column("lifecycle_phase", lambda p: p.lifecycle_phase),
    Column("historical_value", lambda p: p.historical_value, NUMBER),
    Column("clv", lambda p: p.clv, NUMBER),
    Column("clv_next_12_months", _next_12_months, NUMBER),
]


def party_vcard(party: Party, *, user: User) -> VCardPerson | None:
    """A person as a vCard: name, employer and position (the first employment; the employer's
    name only if the user may see it), e-mails, phones and addresses. Organisations: none."""
    if party.kind != PartyKind.PERSON:
        return None
    job = next(iter(party.employments.all()), None)
    contacts = {ContactKind.EMAIL: [], ContactKind.PHONE: []}
    for point in party.contact_points.all():
        if point.kind in contacts:
            contacts[point.kind].append((point.value, point.label, point.is_primary))
    return VCardPerson(
        full_name=party.name,
        first_name=party.first_name,
        last_name=party.last_name,
        salutation=party.salutation,
        organization=queries.party_name_for_user(user=user, party=job.organization) if job else "",
        title=job.position if job else "",
        emails=contacts[ContactKind.EMAIL],
        phones=contacts[ContactKind.PHONE],
        addresses=[
            (a.street, a.postal_code, a.city, a.region, a.country, a.kind)
            for a in party.addresses.all()
        ],
        url=party.website,
        uid=f"kreis-party-{party.pk}",
    )


def party_export(*, user: User, query: Mapping[str, str], chunk_size: int = 2000) -> Export:
    """The party list as the user sees it (filters, sort, visibility), every row of it."""
    parties = queries.party_list_for_user(user=user, **list_params(query)).prefetch_related(
        "addresses",
        Prefetch(
            "employments",
            queryset=Employment.objects.select_related("organization").order_by(
                "-is_primary_contact", "pk"
            ),
        ),
    )
    return Export(
        name="kreis-parties",
        columns=COLUMNS + custom_field_columns(custom_columns("party")),
        records=parties.iterator(chunk_size=chunk_size),
        vcard=lambda party: party_vcard(party, user=user),
    )
