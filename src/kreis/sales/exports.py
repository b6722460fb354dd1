"""The deal list's filters from a query string, and its export (``kreis.core.exports``):
the list page, its download menu, the export API and ``kreis export`` read both here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from kreis.core.customfields import custom_columns
from kreis.core.exports import DATE, DATETIME, NUMBER, Column, Export, custom_field_columns
from kreis.core.models import User
from kreis.core.web import parse_date, parse_id
from kreis.parties.queries import party_name_for_user
from kreis.sales import queries
from kreis.sales.models import ForecastCategory

CHANNELS = ("direct", "field", "partner", "online", "none")


def _id(value) -> int | None:
    return parse_id(None if value is None else str(value)) or None


def _date(value) -> dt.date | None:
    try:
        return parse_date(value or "")
    except ValueError:  # well-formed but impossible, such as 2026-02-31
        return None


def list_params(query: Mapping[str, str], *, user: User) -> dict:
    """The deal list's filters and sort (``deal_list_for_user`` arguments) from a query;
    ``owner=me`` is the user."""
    owner = query.get("owner", "")
    sort = query.get("sort")
    return {
        "pipeline_id": _id(query.get("pipeline")),
        "stage_id": _id(query.get("stage")),
        "owner_id": user.pk if owner == "me" else _id(owner),
        "team_id": _id(query.get("team")),
        "status": query.get("status", "") if query.get("status") in queries.STATUSES else "",
        "search": (query.get("q") or "").strip()[:100],
        "tag": (query.get("tag") or "").strip()[:50],
        "close_from": _date(query.get("close_from")),
        "close_to": _date(query.get("close_to")),
        "closed_from": _date(query.get("closed_from")),
        "closed_to": _date(query.get("closed_to")),
        "channel": query.get("channel", "") if query.get("channel") in CHANNELS else "",
        "forecast_category": (
            query.get("forecast_category", "")
            if query.get("forecast_category") in ForecastCategory.values
            else ""
        ),
        "sort": sort if sort in queries.SORTS else "-created",
        "custom": query,
    }


def _columns(user: User) -> list[Column]:
    return [
        Column("id", lambda d: d.pk, NUMBER),
        Column("name", lambda d: d.name),
        Column("pipeline", lambda d: d.pipeline.name),
        Column("stage", lambda d: d.stage.name),
        Column("status", lambda d: d.stage.kind),
        Column("probability", lambda d: d.stage.probability, NUMBER),
        Column("amount", lambda d: d.amount, NUMBER),
        Column("currency", lambda d: d.currency),
        Column("weighted_amount", lambda d: d.weighted_amount, NUMBER),
        Column("channel", lambda d: d.channel),
        Column("forecast_category", lambda d: d.forecast_category),
        Column("expected_close", lambda d: d.expected_close, DATE),
        Column("closed_at", lambda d: d.closed_at, DATETIME),
        Column("organization", lambda d: party_name_for_user(user=user, party=d.organization)),
        Column("contact", lambda d: party_name_for_user(user=user, party=d.contact)),
        Column("owner", lambda d: str(d.owner) if d.owner else ""),
        Column("team", lambda d: str(d.team) if d.team else ""),
        Column("lost_reason", lambda d: str(d.lost_reason) if d.lost_reason else ""),
        Column("tags", lambda d: ", ".join(t.name for t in d.tags.all())),
        Column("external_id", lambda d: d.external_id or ""),
        Column("created_at", lambda d: d.created_at, DATETIME),
    ]


def deal_export(*, user: User, query: Mapping[str, str], chunk_size: int = 2000) -> Export:
    """The deal list as the user sees it (filters, sort, visibility), every row of it; the
    custom fields are named by their key alone, as the CSV export always named them."""
    deals = queries.deal_list_for_user(user=user, **list_params(query, user=user))
    deals = deals.select_related("lost_reason")
    return Export(
        name="kreis-deals",
        columns=_columns(user) + custom_field_columns(custom_columns("deal"), prefix=""),
        records=deals.iterator(chunk_size=chunk_size),
    )
