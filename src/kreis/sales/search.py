"""How a deal appears in the global search: its name, organisation, contact and notes."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q
from django.urls import reverse

from kreis.core.search import SearchDocument, seen_by_the_same
from kreis.parties.models import Party
from kreis.sales.models import Deal


def _name(deal: Deal, party: Party) -> str:
    return party.name if seen_by_the_same(deal, party) else ""


def deal_document(deal: Deal) -> SearchDocument | None:
    if deal.deleted_at is not None:
        return None
    organization = _name(deal, deal.organization) if deal.organization_id else ""
    contact = _name(deal, deal.contact) if deal.contact_id else ""
    text = " ".join([deal.name, organization, contact, deal.external_id or "", deal.notes[:1000]])
    return SearchDocument(
        title=deal.name,
        subtitle=" · ".join(x for x in (organization, deal.stage.name) if x),
        url=reverse("sales:detail", args=[deal.pk]),
        icon="kanban",
        text=text,
        owner_id=deal.owner_id,
        team_id=deal.team_id,
    )


def deals_naming(record) -> Iterable[Deal]:
    """The deals whose entry shows this party's name (as organisation or contact)."""
    if not isinstance(record, Party):
        return []
    return (
        Deal.objects.filter(Q(organization=record) | Q(contact=record), deleted_at__isnull=True)
        .select_related("organization", "contact", "stage")
        .order_by("pk")
    )


def all_deals():
    return (
        Deal.objects.filter(deleted_at__isnull=True)
        .select_related("organization", "contact", "stage")
        .order_by("pk")
        .iterator(chunk_size=2000)
    )
