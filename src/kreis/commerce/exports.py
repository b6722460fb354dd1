"""The product and transaction lists' filters from a query string, and their exports
(``kreis.core.exports``): the list pages, their download menus, the export API and
``kreis export`` read both here."""

from __future__ import annotations

from collections.abc import Mapping

from kreis.commerce import queries
from kreis.commerce.models import TransactionKind
from kreis.core.exports import DATE, DATETIME, NUMBER, Column, Export
from kreis.core.models import User
from kreis.core.web import parse_date, parse_id
from kreis.parties.queries import party_name_for_user


def product_params(query: Mapping[str, str]) -> dict:
    """The product list's filters and sort (``product_list_for_user`` arguments)."""
    return {
        "search": (query.get("q") or "").strip()[:100],
        "category": (query.get("category") or "").strip()[:100],
        "active": {"1": True, "0": False}.get(query.get("active", "1")),
        "sort": query.get("sort") or "name",
    }


def transaction_params(query: Mapping[str, str]) -> dict:
    """The transaction list's filters and sort (``transaction_list_for_user`` arguments)."""
    return {
        "kind": query.get("kind", "") if query.get("kind") in TransactionKind.values else "",
        "party_id": parse_id(query.get("party")),
        "product_id": parse_id(query.get("product")),
        "category": (query.get("category") or "").strip()[:100],
        "date_from": parse_date(query.get("from")),
        "date_to": parse_date(query.get("to")),
        "owner_id": parse_id(query.get("owner")),
        "team_id": parse_id(query.get("team")),
        "search": (query.get("q") or "").strip()[:100],
        "sort": query.get("sort") or "-date",
    }


PRODUCT_COLUMNS = [
    Column("id", lambda p: p.pk, NUMBER),
    Column("sku", lambda p: p.sku),
    Column("name", lambda p: p.name),
    Column("unit", lambda p: p.unit),
    Column("list_price", lambda p: p.list_price, NUMBER),
    Column("unit_cost", lambda p: p.unit_cost, NUMBER),
    Column("currency", lambda p: p.currency),
    Column("category", lambda p: p.category),
    Column("active", lambda p: int(p.is_active), NUMBER),
    Column("description", lambda p: p.description),
    Column("created_at", lambda p: p.created_at, DATETIME),
]


def product_export(*, user: User, query: Mapping[str, str], chunk_size: int = 2000) -> Export:
    """The catalogue as the product list shows it (filters, sort)."""
    products = queries.product_list_for_user(user=user, **product_params(query))
    return Export(
        name="kreis-products",
        columns=PRODUCT_COLUMNS,
        records=products.iterator(chunk_size=chunk_size),
    )


def _transaction_columns(user: User) -> list[Column]:
    return [
        Column("id", lambda t: t.pk, NUMBER),
        Column("kind", lambda t: t.kind),
        Column("number", lambda t: t.number),
        Column("date", lambda t: t.date, DATE),
        Column("party_id", lambda t: t.party_id, NUMBER),
        Column("party", lambda t: party_name_for_user(user=user, party=t.party)),
        Column("currency", lambda t: t.currency),
        Column("net_revenue", lambda t: t.net_revenue, NUMBER),
        Column("cost", lambda t: t.cost, NUMBER),
        Column("margin", lambda t: t.margin, NUMBER),
        Column("signed_net_revenue", lambda t: t.sign * t.net_revenue, NUMBER),
        Column("channel", lambda t: t.channel),
        Column("owner", lambda t: str(t.owner) if t.owner else ""),
        Column("team", lambda t: str(t.team) if t.team else ""),
        Column("external_id", lambda t: t.external_id or ""),
        Column("note", lambda t: t.note),
    ]


def transaction_export(*, user: User, query: Mapping[str, str], chunk_size: int = 2000) -> Export:
    """The transaction list as the user sees it (filters, sort, visibility): amounts as plain
    decimals with a dot in CSV, real numbers in XLSX and JSON."""
    transactions = queries.transaction_list_for_user(user=user, **transaction_params(query))
    return Export(
        name="kreis-transactions",
        columns=_transaction_columns(user),
        records=transactions.iterator(chunk_size=chunk_size),
    )
