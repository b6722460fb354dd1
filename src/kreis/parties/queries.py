"""Reads of parties, permission-aware: UI and API fetch through these."""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404

from kreis.core.models import User
from kreis.core.queries import visible_records
from kreis.core.search import SearchHit
from kreis.parties.models import Employment, Party, PartyKind

SORTS = {
    "name": ("name", "pk"),
    "-name": ("-name", "-pk"),
    "created": ("created_at", "pk"),
    "-created": ("-created_at", "-pk"),
    "updated": ("updated_at", "pk"),
    "-updated": ("-updated_at", "-pk"),
}


def party_list_for_user(
    *,
    user: User,
    kind: str = "",
    search: str = "",
    role: str = "",
    tag: str = "",
    owner_id: int | None = None,
    team_id: int | None = None,
    sort: str = "name",
) -> QuerySet[Party]:
    qs = visible_records(Party.objects.filter(deleted_at__isnull=True), user=user)
    if kind:
        qs = qs.filter(kind=kind)
    if search:
        qs = qs.filter(
            Q(name__icontains=search)
            | Q(contact_points__value__icontains=search)
            | Q(external_id=search)
        ).distinct()
    if role:
        qs = qs.filter(role_assignments__role=role)
    if tag:
        qs = qs.filter(tags__name__iexact=tag)
    if owner_id:
        qs = qs.filter(owner_id=owner_id)
    if team_id:
        qs = qs.filter(team_id=team_id)
    return (
        qs.select_related("owner", "team")
        .prefetch_related("role_assignments", "tags", "contact_points")
        .order_by(*SORTS.get(sort, SORTS["name"]))
    )


def party_get_for_user(*, user: User, pk: int, write: bool = False, kind: str = "") -> Party:
    """A party the user may see (or change, with ``write``); 404 otherwise."""
    qs = Party.objects.filter(pk=pk, deleted_at__isnull=True)
    if kind:
        qs = qs.filter(kind=kind)
    party = (
        qs.select_related("owner", "team")
        .prefetch_related(
            "role_assignments",
            "tags",
            "contact_points",
            "addresses",
            Prefetch("employments", queryset=Employment.objects.select_related("organization")),
            Prefetch("staff", queryset=Employment.objects.select_related("person")),
        )
        .first()
    )
    perm = "core.change_record" if write else "core.view_record"
    if party is None or not user.has_perm(perm, party):
        raise Http404
    return party


def party_relationships(*, party: Party, user: User) -> list:
    """The party's relationships in both directions, limited to parties the user may see."""
    visible = visible_records(Party.objects.filter(deleted_at__isnull=True), user=user)
    outgoing = party.relationships_out.filter(target__in=visible).select_related("target")
    incoming = party.relationships_in.filter(source__in=visible).select_related("source")
    return [*outgoing, *incoming]


def organizations_for_user(*, user: User) -> QuerySet[Party]:
    return party_list_for_user(user=user, kind=PartyKind.ORGANIZATION)


def party_search_hits(*, user: User, text: str, limit: int = 8) -> list:
    """Hits for the global search box."""

    hits = []
    for party in party_list_for_user(user=user, search=text)[:limit]:
        primary = next((c.value for c in party.contact_points.all() if c.is_primary), "")
        hits.append(
            SearchHit(
                title=party.name,
                subtitle=primary,
                url=f"/parties/{party.pk}/",
                icon="person" if party.kind == PartyKind.PERSON else "building",
            )
        )
    return hits
