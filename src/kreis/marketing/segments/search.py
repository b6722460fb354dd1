"""How a segment appears in the global search, and the party list's ``segment`` filter."""

from __future__ import annotations

from django.db.models import QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _

from kreis.core.models import User
from kreis.core.search import SearchDocument
from kreis.marketing.models import Segment
from kreis.marketing.segments.queries import segment_parties


def segment_document(segment: Segment) -> SearchDocument | None:
    return SearchDocument(
        title=segment.name,
        subtitle=" · ".join(
            x for x in (_("Segment"), segment.get_kind_display(), segment.description[:80]) if x
        ),
        url=reverse("marketing:segments:detail", args=[segment.pk]),
        icon="diagram-3",
        text=" ".join([segment.name, segment.description]),
        owner_id=segment.owner_id,
        team_id=segment.team_id,
    )


def all_segments():
    return Segment.objects.order_by("pk").iterator(chunk_size=2000)


def _segment(value: str, user: User) -> Segment | None:
    try:
        pk = int(value)
    except (TypeError, ValueError):
        return None
    segment = Segment.objects.filter(pk=pk).first()
    if segment is None or not user.has_perm("marketing.view_record", segment):
        return None
    return segment


def filter_party_list(queryset: QuerySet, value: str, user: User) -> QuerySet:
    """``?segment=<id>`` on the party list (and its exports): the segment's members. A segment
    the user may not see (or none) leaves no rows, never the unfiltered list."""
    segment = _segment(value, user)
    if segment is None:
        return queryset.none()
    return queryset.filter(pk__in=segment_parties(segment).values("pk"))


def describe_party_list_filter(value: str, user: User) -> str | None:
    segment = _segment(value, user)
    if segment is None:
        return _("Members of a segment you cannot see")
    return _("Members of the segment “%s”") % segment.name
