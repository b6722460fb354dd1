"""The party list's ``?relationship_type=<id>`` filter (registered by ``kreis.marketing.apps``)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from kreis.core.models import User
from kreis.marketing.relationships.models import PartyRelationshipType, RelationshipType


def _type(value: str, user: User) -> RelationshipType | None:
    if not value.isdigit() or not user.has_perm("marketing.view_relationship_types"):
        return None
    return RelationshipType.objects.filter(pk=int(value)).first()


def filter_party_list(queryset: QuerySet, value: str, user: User) -> QuerySet:
    """The parties that have the type now; a type the user may not see leaves no rows."""
    rtype = _type(value, user)
    if rtype is None:
        return queryset.none()
    links = PartyRelationshipType.objects.filter(relationship_type=rtype).values("party_id")
    return queryset.filter(pk__in=links)


def describe_party_list_filter(value: str, user: User) -> str | None:
    rtype = _type(value, user)
    if rtype is None:
        return _("Customers of a relationship type you cannot see")
    return _("Customers with the relationship type “%s”") % rtype.name


def party_list_choices(user: User) -> list[tuple[str, str]]:
    """The types the party list's select offers (none without the right to see them)."""
    if not user.has_perm("marketing.view_relationship_types"):
        return []
    return [(str(t.pk), t.name) for t in RelationshipType.objects.order_by("-priority", "pk")]
