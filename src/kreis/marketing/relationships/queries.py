"""Reads of relationship types, permission-aware."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import Http404

from kreis.core.models import User
from kreis.core.queries import visible_records
from kreis.marketing.relationships.models import (
    PartyRelationshipType,
    RelationshipApplyRun,
    RelationshipType,
)
from kreis.parties.models import Party


def type_list_for_user(*, user: User) -> QuerySet[RelationshipType]:
    if not user.has_perm("marketing.view_relationship_types"):
        return RelationshipType.objects.none()
    return (
        RelationshipType.objects.select_related("segment", "owner", "team")
        .annotate(party_count=Count("party_links"))
        .order_by("-priority", "pk")
    )


def type_get_for_user(*, user: User, pk: int, write: bool = False) -> RelationshipType:
    """A type the user may see (else 404), or change with ``write`` (else 403)."""
    if not user.has_perm("marketing.view_relationship_types"):
        raise Http404
    rtype = RelationshipType.objects.select_related("segment", "owner", "team").filter(pk=pk)
    found = rtype.first()
    if found is None:
        raise Http404
    if write and not user.has_perm("marketing.change_relationship_types"):
        raise PermissionDenied
    return found


def type_parties_for_user(*, user: User, rtype: RelationshipType) -> QuerySet[Party]:
    """The live parties that have this type now, as far as the user sees them."""
    qs = Party.objects.filter(
        deleted_at__isnull=True,
        pk__in=PartyRelationshipType.objects.filter(relationship_type=rtype).values("party_id"),
    )
    return visible_records(qs, user=user).select_related("owner", "team").order_by("name", "pk")


def party_relationship_type(*, party: Party) -> RelationshipType | None:
    link = (
        PartyRelationshipType.objects.select_related("relationship_type")
        .filter(party_id=party.pk)
        .first()
    )
    return link.relationship_type if link else None


def run_list_for_user(*, user: User) -> QuerySet[RelationshipApplyRun]:
    """The applications that changed customers, newest first (403 without the right to see
    relationship types)."""
    if not user.has_perm("marketing.view_relationship_types"):
        raise PermissionDenied
    return RelationshipApplyRun.objects.select_related("started_by", "undone_by", "only").order_by(
        "-applied_at", "-pk"
    )


def run_get_for_user(*, user: User, pk: int, write: bool = False) -> RelationshipApplyRun:
    """An application the user may see (else 404), or undo with ``write`` (else 403)."""
    if not user.has_perm("marketing.view_relationship_types"):
        raise Http404
    run = RelationshipApplyRun.objects.filter(pk=pk).first()
    if run is None:
        raise Http404
    if write and not user.has_perm("marketing.change_relationship_types"):
        raise PermissionDenied
    return run
