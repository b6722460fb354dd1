"""Every record type that exports, by the name the API and ``kreis export`` use.

The columns and filters live with each domain app (``<app>/exports.py``); this is the one
table that names them, so ``GET /api/v1/exports/{type}`` and ``kreis export --type`` offer the
same types with the same filters as the list pages.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from kreis.activities.exports import activity_export
from kreis.commerce.exports import product_export, transaction_export
from kreis.core.exports import Export
from kreis.core.models import User
from kreis.leads.exports import lead_export
from kreis.parties.exports import party_export
from kreis.parties.models import PartyKind
from kreis.sales.exports import deal_export


def _parties_of_kind(kind: str) -> Callable[..., Export]:
    def export(*, user: User, query: Mapping[str, str]) -> Export:
        narrowed = query.copy()  # a QueryDict's copy is mutable, and keeps repeated names
        narrowed["kind"] = kind
        found = party_export(user=user, query=narrowed)
        found.name = f"kreis-{kind}s"
        return found

    return export


EXPORT_TYPES: dict[str, Callable[..., Export]] = {
    "party": party_export,
    "organization": _parties_of_kind(PartyKind.ORGANIZATION),
    "person": _parties_of_kind(PartyKind.PERSON),
    "lead": lead_export,
    "deal": deal_export,
    "activity": activity_export,
    "transaction": transaction_export,
    "product": product_export,
}


def record_export(*, user: User, type_: str, query: Mapping[str, str]) -> Export:
    """The records of ``type_`` the user may see, filtered and sorted as its list page would
    (``query`` holds the list's parameters: ``q``, ``sort``, ``owner``, ``cf_<key>`` …)."""
    return EXPORT_TYPES[type_](user=user, query=query)
