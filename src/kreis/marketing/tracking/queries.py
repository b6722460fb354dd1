"""Reads of website tracking: the overview for marketing, the visits of one lead or contact
grouped into sessions, and counts for engagement scoring and follow-up rules."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate
from django.http import Http404
from django.utils import timezone

from kreis.core.models import User
from kreis.marketing.models import PageVisit, Visitor

# Visits with a pause shorter than this belong to one session (the usual web-analytics rule).
SESSION_GAP = dt.timedelta(minutes=30)
# Pages whose path contains one of these count as pricing pages (engagement scoring).
PRICING_PATHS = ("pricing", "preise", "price", "preis")


@dataclass
class Session:
    """Visits of one visitor without a 30-minute pause, oldest first."""

    start: dt.datetime
    end: dt.datetime
    visits: list[PageVisit] = field(default_factory=list)

    @property
    def paths(self) -> list[str]:
        return list(dict.fromkeys(v.path for v in self.visits))


def sessions(visits: Iterable[PageVisit]) -> list[Session]:
    """Group visits (any order) into sessions, the newest session first."""
    found: list[Session] = []
    last_by_visitor: dict[int, Session] = {}
    for visit in sorted(visits, key=lambda v: (v.at, v.pk)):
        current = last_by_visitor.get(visit.visitor_id)
        if current is None or visit.at - current.end > SESSION_GAP:
            current = Session(start=visit.at, end=visit.at)
            found.append(current)
            last_by_visitor[visit.visitor_id] = current
        current.visits.append(visit)
        current.end = visit.at
    return sorted(found, key=lambda s: s.start, reverse=True)


def visits_of(*, lead=None, party=None, limit: int = 200) -> QuerySet[PageVisit]:
    """The latest visits of a lead or a contact (the caller checked it may see them)."""
    qs = PageVisit.objects.all()
    qs = qs.filter(lead=lead) if lead is not None else qs.filter(party=party)
    return qs.order_by("-at", "-pk")[:limit]


def visit_counts(
    *,
    lead_ids: Iterable[int] | None,
    since: dt.datetime,
    path_contains: Iterable[str] = (),
) -> dict[int, int]:
    """Visits per lead since ``since`` (to pages whose path contains one of
    ``path_contains``, case-insensitive, when given) — one grouped query."""
    qs = PageVisit.objects.filter(lead__isnull=False, at__gte=since)
    if lead_ids is not None:
        ids = lead_ids if isinstance(lead_ids, QuerySet) else [int(pk) for pk in lead_ids]
        qs = qs.filter(lead_id__in=ids)
    words = [w for w in path_contains if w]
    if words:
        condition = Q()
        for word in words:
            condition |= Q(path__icontains=word)
        qs = qs.filter(condition)
    rows = qs.values("lead_id").annotate(n=Count("pk")).order_by()
    return {row["lead_id"]: row["n"] for row in rows}


def stats(*, days: int = 30, now: dt.datetime | None = None, top: int = 10) -> dict:
    """The overview of the last ``days`` days: visits per day, top pages, referrers and UTM
    sources, and how many visitors are identified (linked to a lead or contact)."""
    now = now or timezone.now()
    since = now - dt.timedelta(days=days)
    visits = PageVisit.objects.filter(at__gte=since)
    per_day = {
        row["day"]: row["n"]
        for row in visits.annotate(day=TruncDate("at"))
        .values("day")
        .annotate(n=Count("pk"))
        .order_by()
    }
    today = timezone.localdate(now)
    days_list = [today - dt.timedelta(days=n) for n in range(days - 1, -1, -1)]

    def top_of(column: str, qs=visits) -> list[dict]:
        return [
            {"value": row[column], "visits": row["n"]}
            for row in qs.exclude(**{column: ""})
            .values(column)
            .annotate(n=Count("pk"))
            .order_by("-n", column)[:top]
        ]

    active = Visitor.objects.filter(last_seen__gte=since)
    identified = active.filter(Q(lead__isnull=False) | Q(party__isnull=False)).count()
    total_visitors = active.count()
    return {
        "days": days,
        "since": since,
        "visits": visits.count(),
        "per_day": [{"day": day, "visits": per_day.get(day, 0)} for day in days_list],
        "top_pages": top_of("path"),
        "top_referrers": top_of("referrer"),
        "top_sources": top_of("utm_source"),
        "top_campaigns": top_of("utm_campaign"),
        "visitors": total_visitors,
        "identified": identified,
        "anonymous": total_visitors - identified,
    }


def visitor_get_for_user(*, user: User, pk: int) -> Visitor:
    """A visitor for marketing's overview (marketing.view); a linked visitor also needs the
    right to see its lead or contact, else 404."""
    visitor = (
        Visitor.objects.select_related("lead", "party").filter(pk=pk).first()
        if user.has_perm("marketing.view")
        else None
    )
    if visitor is None:
        raise Http404
    for record in (visitor.lead, visitor.party):
        if record is not None and not user.has_perm("core.view_record", record):
            raise Http404
    return visitor


def visitors_recent(*, limit: int = 20) -> QuerySet[Visitor]:
    return (
        Visitor.objects.select_related("lead", "party")
        .annotate(n_visits=Count("visits"))
        .order_by("-last_seen", "-pk")[:limit]
    )
