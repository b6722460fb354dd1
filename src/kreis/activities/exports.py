"""The activity list's filters from a query string, and its export (``kreis.core.exports``):
the list page, its download menu, the export API and ``kreis export`` read both here."""

from __future__ import annotations

from collections.abc import Mapping

from django.utils.html import strip_tags

from kreis.activities import queries
from kreis.activities.models import ActivityKind
from kreis.core.exports import DATETIME, NUMBER, Column, Export
from kreis.core.models import User
from kreis.core.web import parse_date, parse_id
from kreis.parties.queries import party_name_for_user


def list_params(query: Mapping[str, str], *, user: User) -> dict:
    """The activity list's filters and sort (``activity_list_for_user`` arguments) from a
    query; ``owner=me`` is the user."""
    owner = query.get("owner", "")
    sort = query.get("sort")
    return {
        "kind": query.get("kind", "") if query.get("kind") in ActivityKind.values else "",
        "state": query.get("state", "") if query.get("state") in queries.STATES else "",
        "owner_id": user.pk if owner == "me" else parse_id(owner),
        "party_id": parse_id(query.get("party")),
        "deal_id": parse_id(query.get("deal")),
        "lead_id": parse_id(query.get("lead")),
        "date_from": parse_date(query.get("from")),
        "date_to": parse_date(query.get("to")),
        "search": (query.get("q") or "").strip()[:100],
        "sort": sort if sort in queries.SORTS else "-date",
    }


def _columns(user: User) -> list[Column]:
    return [
        Column("id", lambda a: a.pk, NUMBER),
        Column("kind", lambda a: a.kind),
        Column("subject", lambda a: a.subject),
        Column("occurred_at", lambda a: a.occurred_at, DATETIME),
        Column("ends_at", lambda a: a.ends_at, DATETIME),
        Column("done_at", lambda a: a.done_at, DATETIME),
        Column("direction", lambda a: a.direction),
        Column("duration_minutes", lambda a: a.duration_minutes, NUMBER),
        Column("outcome", lambda a: a.outcome),
        Column("location", lambda a: a.location),
        Column("party_id", lambda a: a.party_id, NUMBER),
        Column("party", lambda a: party_name_for_user(user=user, party=a.party)),
        Column("deal_id", lambda a: a.deal_id, NUMBER),
        Column("lead_id", lambda a: a.lead_id, NUMBER),
        Column("owner", lambda a: str(a.owner) if a.owner else ""),
        Column("team", lambda a: str(a.team) if a.team else ""),
        Column("external_id", lambda a: a.external_id or ""),
        Column("body", lambda a: strip_tags(a.body)),  # plain text
    ]


def activity_export(*, user: User, query: Mapping[str, str], chunk_size: int = 2000) -> Export:
    """The activity list as the user sees it (filters, sort, visibility), every row of it."""
    activities = queries.activity_list_for_user(user=user, **list_params(query, user=user))
    activities = activities.select_related("team").prefetch_related(None)
    return Export(
        name="kreis-activities",
        columns=_columns(user),
        records=activities.iterator(chunk_size=chunk_size),
    )
