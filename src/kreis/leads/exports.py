"""The lead list's filters from a query string, and its export (``kreis.core.exports``):
the list page, its download menu, the export API and ``kreis export`` read both here."""

from __future__ import annotations

from collections.abc import Mapping

from kreis.core.customfields import FORM_PREFIX, custom_columns
from kreis.core.exports import DATE, DATETIME, NUMBER, Column, Export, custom_field_columns
from kreis.core.models import User
from kreis.core.web import parse_id
from kreis.leads import queries
from kreis.leads.models import LeadStatus


def list_params(query: Mapping[str, str]) -> dict:
    """The lead list's filters and sort (``lead_list_for_user`` arguments) from a query."""
    status = query.get("status", "")
    return {
        "status": status if status in LeadStatus.values else "",
        "owner_id": parse_id(query.get("owner")),
        "team_id": parse_id(query.get("team")),
        "source": (query.get("source") or "").strip()[:100],
        "search": (query.get("q") or "").strip()[:100],
        "tag": (query.get("tag") or "").strip()[:50],
        "sort": query.get("sort") or "-created",
        # Custom-field filters (cf_…) only when asked for: looking the fields up is a query.
        "custom": query if any(k.startswith(FORM_PREFIX) for k in query) else None,
    }


COLUMNS = [
    Column("id", lambda lead: lead.pk, NUMBER),
    Column("status", lambda lead: lead.status),
    Column("salutation", lambda lead: lead.salutation),
    Column("first_name", lambda lead: lead.first_name),
    Column("last_name", lambda lead: lead.last_name),
    Column("company", lambda lead: lead.company),
    Column("position", lambda lead: lead.position),
    Column("email", lambda lead: lead.email),
    Column("phone", lambda lead: lead.phone),
    Column("website", lambda lead: lead.website),
    Column("source", lambda lead: lead.source),
    Column("budget", lambda lead: lead.budget, NUMBER),
    Column("authority", lambda lead: lead.authority),
    Column("need", lambda lead: lead.need),
    Column("timeline", lambda lead: lead.timeline, DATE),
    Column("disqualify_reason", lambda lead: lead.disqualify_reason),
    Column("owner", lambda lead: str(lead.owner) if lead.owner else ""),
    Column("team", lambda lead: str(lead.team) if lead.team else ""),
    Column("tags", lambda lead: ", ".join(t.name for t in lead.tags.all())),
    Column("external_id", lambda lead: lead.external_id or ""),
    Column("created_at", lambda lead: lead.created_at, DATETIME),
]


def lead_export(*, user: User, query: Mapping[str, str], chunk_size: int = 2000) -> Export:
    """The lead list as the user sees it (filters, sort, visibility), every row of it."""
    leads = queries.lead_list_for_user(user=user, **list_params(query))
    return Export(
        name="kreis-leads",
        columns=COLUMNS + custom_field_columns(custom_columns("lead")),
        records=leads.iterator(chunk_size=chunk_size),
    )
