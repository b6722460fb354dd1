"""How a segment appears in the global search, and the party list's ``segment`` filter.

Segments are found by everyone who sees lead management (``marketing.view``: administrators,
marketing, sales managers, read-only users) — whoever owns them — and by nobody else, as on
the segment pages. So they are a search provider like the campaigns, not entries of the
search index (whose owner/team rule would hide another marketer's segment and show one to a
sales rep in its team, who cannot open it).
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _

from kreis.core.models import User
from kreis.core.search import SearchHit
from kreis.marketing.models import Segment
from kreis.marketing.segments.queries import segment_list_for_user, segment_parties


def segment_search_hits(*, user: User, text: str, limit: int = 8) -> list[SearchHit]:
    """Segments whose name or description contains the text, for users who see lead
    management."""
    text = text.strip()
    if len(text) < 2:
        return []
    segments = segment_list_for_user(user=user).filter(
        Q(name__icontains=text) | Q(description__icontains=text)
    )
    return [
        SearchHit(
            title=segment.name,
            subtitle=" · ".join(
                x for x in (_("Segment"), segment.get_kind_display(), segment.description[:80]) if x
            ),
            url=reverse("marketing:segments:detail", args=[segment.pk]),
            icon="diagram-3",
            entity="segment",
            object_id=segment.pk,
        )
        for segment in segments.select_related(None).order_by("name", "pk")[:limit]
    ]


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
