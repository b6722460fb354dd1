"""Many leads at once: validation, duplicate matching, create and update in bulk (imports).

The rules are those of ``kreis.leads.services`` (normalised e-mail and phone, field checks,
custom fields, assignment) and ``kreis.leads.queries`` (which leads are duplicates: the same
normalised e-mail or phone, or the same name at the same company; converted leads are left
out), applied over a batch with a fixed number of queries and none per row. Writes keep the
history (simple-history's bulk helpers, with the tags) and the search index. Everything runs
inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from simple_history.utils import bulk_update_with_history

from kreis.core.customfields import clean_custom_values, custom_fields_for
from kreis.core.jsonvalue import apply_values
from kreis.core.models import User
from kreis.core.purge import purge
from kreis.core.queries import visible_records
from kreis.core.search import index_records
from kreis.leads.models import Lead, LeadStatus
from kreis.leads.queries import organization_key
from kreis.leads.services import SCALAR_FIELDS, _clean_scalars
from kreis.parties.tagging import bulk_set_tags, tag_names, tags_differ

# Fields an import may set besides the scalar ones.
EXTRA_FIELDS = ("status", "disqualify_reason", "disqualify_note", "owner", "team", "custom")
# Not checked by full_clean here: relations are resolved by the caller, external IDs below.
NOT_CLEANED = [
    "owner",
    "team",
    "tags",
    "converted_person",
    "converted_organization",
    "converted_deal",
    "external_id",
]


def lead_rows_clean(
    rows: Sequence[Mapping[str, Any]],
) -> tuple[list[Lead | None], list[dict[str, Any]]]:
    """Each row (lead fields, ``owner``/``team`` objects, ``custom`` values) as an unsaved,
    validated lead with normalised e-mail and phone, or ``None``; problems as ``{"row",
    "field", "message"}``. A disqualified lead needs a reason; converted cannot be set (only
    conversion converts)."""
    leads: list[Lead | None] = []
    errors: list[dict[str, Any]] = []
    custom_fields = custom_fields_for("lead")
    for i, row in enumerate(rows):
        leads.append(None)
        unknown = set(row) - set(SCALAR_FIELDS) - set(EXTRA_FIELDS)
        if unknown:
            raise ValueError(f"not lead fields: {sorted(unknown)}")
        scalars = {k: v for k, v in row.items() if k in SCALAR_FIELDS}
        problems: dict[str, list[str]] = {}
        try:
            scalars = _clean_scalars(scalars)
        except ValidationError as exc:
            problems.update(exc.message_dict)
            scalars = {k: v for k, v in scalars.items() if k not in problems}
        status = row.get("status") or LeadStatus.NEW
        if status == LeadStatus.CONVERTED:
            problems["status"] = [_("A lead is converted by converting it, not by import.")]
        if status == LeadStatus.DISQUALIFIED and not row.get("disqualify_reason"):
            problems["disqualify_reason"] = [_("Say why the lead was disqualified.")]
        lead = Lead(
            status=status,
            disqualify_reason=row.get("disqualify_reason") or "",
            disqualify_note=row.get("disqualify_note") or "",
            owner=row.get("owner"),
            team=row.get("team"),
            **scalars,
        )
        try:
            lead.custom = clean_custom_values(
                "lead", dict(row.get("custom") or {}), fields=custom_fields
            )
        except ValidationError as exc:
            problems["custom"] = exc.messages
        try:
            lead.full_clean(exclude=NOT_CLEANED, validate_unique=False)
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                problems.setdefault(field, messages)
        if problems:
            errors += [
                {"row": i, "field": field, "message": message}
                for field, messages in problems.items()
                for message in messages
            ]
        else:
            leads[i] = lead
    return leads, errors


@dataclass(frozen=True)
class LeadMatch:
    lead_id: int
    by: str  # "external_id", "email", "phone" or "name"


def match_leads(*, user: User | None, leads: Sequence[Lead]) -> list[LeadMatch | None]:
    """The existing visible lead each (unsaved) lead duplicates, by the duplicate warning's
    rules (``queries.likely_duplicates_for_lead``) plus the external ID, which wins: the same
    external ID, else the same normalised e-mail, else phone, else first and last name at the
    same company (company compared without legal form). Converted leads are not matched."""
    alive = Lead.objects.filter(deleted_at__isnull=True).exclude(status=LeadStatus.CONVERTED)
    if user is not None:
        alive = visible_records(alive, user=user)
    by_key: dict[tuple[str, Any], int] = {}

    def load(field: str, values: set) -> None:
        values.discard("")
        values.discard(None)
        for pk, value in alive.filter(**{f"{field}__in": sorted(values)}).values_list("pk", field):
            by_key.setdefault((field, value), pk)

    load("external_id", {lead.external_id for lead in leads})
    load("email", {lead.email for lead in leads})
    load("phone", {lead.phone for lead in leads})
    names = alive.filter(
        last_name__in=sorted({lead.last_name for lead in leads if lead.company})
    ).values_list("pk", "first_name", "last_name", "company")
    for pk, first, last, company in names:
        key = organization_key(company)
        if key:
            by_key.setdefault(("name", (first.casefold(), last.casefold(), key)), pk)
    found: list[LeadMatch | None] = []
    for lead in leads:
        match = None
        for field, value in lead_keys(lead):
            pk = by_key.get((field, value))
            if pk is not None:
                match = LeadMatch(pk, field)
                break
        found.append(match)
    return found


def lead_keys(lead: Lead) -> list[tuple[str, Any]]:
    """The keys by which a lead is the same as another, strongest first."""
    keys: list[tuple[str, Any]] = []
    if lead.external_id:
        keys.append(("external_id", lead.external_id))
    if lead.email:
        keys.append(("email", lead.email))
    if lead.phone:
        keys.append(("phone", lead.phone))
    company = organization_key(lead.company)
    if lead.last_name and company:
        keys.append(("name", (lead.first_name.casefold(), lead.last_name.casefold(), company)))
    return keys


def leads_create(
    *, actor: User | None, leads: Sequence[Lead], tags: Sequence[Sequence[str]] = ()
) -> list[Lead]:
    """Insert validated leads with their tags, history ("created", by the actor) and search
    entries."""
    created = Lead.objects.bulk_create(list(leads), batch_size=1000)
    history = Lead.history.bulk_history_create(created, batch_size=1000, default_user=actor)
    if tags:
        pairs = [(lead, names) for lead, names in zip(created, tags, strict=True)]
        with_tags = [i for i, (_lead, names) in enumerate(pairs) if names]
        bulk_set_tags(Lead, [pairs[i] for i in with_tags], history=[history[i] for i in with_tags])
    index_records(created, created=True)
    return created


def leads_update(
    *,
    actor: User | None,
    changes: Sequence[tuple[Lead, Mapping[str, Any], Sequence[str] | None]],
) -> list[tuple[Lead, dict[str, Any]]]:
    """Give existing leads new values (only fields that differ; ``custom`` merged) and, where
    given, new tags. Returns each changed lead with its previous values (JSON-able by
    attname, tags as ``"tags": [names]``) for undo; history rows and search entries follow."""
    changed: list[tuple[Lead, dict[str, Any], Sequence[str] | None]] = []
    fields: set[str] = set()
    current_tags = tag_names(
        Lead, [lead.pk for lead, _values, names in changes if names is not None]
    )
    for lead, values, names in changes:
        before = apply_values(lead, values)
        fields.update(before)
        if tags_differ(names, current_tags.get(lead.pk, [])):
            before["tags"] = current_tags.get(lead.pk, [])
        if before:
            changed.append((lead, before, names if "tags" in before else None))
    if not changed:
        return []
    leads = [lead for lead, _before, _names in changed]
    bulk_update_with_history(
        leads, Lead, sorted(fields | {"updated_at"}), batch_size=500, default_user=actor
    )
    retagged = [(lead, names) for lead, _before, names in changed if names is not None]
    if retagged:
        history = {h.id: h for h in _latest_history([lead.pk for lead, _names in retagged])}
        bulk_set_tags(
            Lead, retagged, history=[history[lead.pk] for lead, _n in retagged], replace=True
        )
    index_records(leads)
    return [(lead, before) for lead, before, _names in changed]


def _latest_history(lead_ids: Sequence[int]) -> list:
    rows = Lead.history.filter(id__in=lead_ids).order_by("id", "-history_id")
    latest: dict[int, Any] = {}
    for row in rows:
        latest.setdefault(row.id, row)
    return list(latest.values())


def leads_restore(befores: Mapping[int, Mapping[str, Any]], *, actor: User | None) -> None:
    """Write previous values back (``leads_update``'s ``before``), tags included."""
    leads = Lead.objects.in_bulk(list(befores))
    fields: set[str] = set()
    retag: list[tuple[Lead, Sequence[str]]] = []
    for pk, before in befores.items():
        lead = leads.get(pk)
        if lead is None:
            continue
        for attname, value in before.items():
            if attname == "tags":
                retag.append((lead, value))
                continue
            field = next(f for f in Lead._meta.concrete_fields if f.attname == attname)
            setattr(lead, attname, None if value is None else field.to_python(value))
            fields.add(attname)
    if fields:
        bulk_update_with_history(
            list(leads.values()), Lead, sorted(fields), batch_size=500, default_user=actor
        )
    if retag:
        bulk_set_tags(Lead, retag, replace=True)
    index_records(list(leads.values()))


def leads_delete(ids: Sequence[int]) -> None:
    """Remove leads for good (an import undone) with everything depending on them: tag
    links, activities, scores, history rows and search entries (``kreis.core.purge``:
    set-based, no signals)."""
    purge(Lead, ids)
