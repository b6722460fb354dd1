"""Updating many existing parties from rows (an import's upsert), and undoing that.

An update changes only what the row names *and* fills: an empty cell never clears a value.
Scalar fields and custom values that differ are set; e-mails, phones and social profiles the
party lacks are added (never primary over an existing one); the addresses are added when the
party has none, else the primary one takes the row's values; roles and tags are added; the
organisation the row names becomes an employment (or its position changes).

Each changed party gets its history row ("changed", by the actor) and a fresh search entry.
What it was before comes back per party as JSON (``before``), and
``party_updates_restore`` puts it back: fields and custom values as they were, added rows
removed, the address's old values restored.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from kreis.core.bulkinsert import insert_rows, update_rows
from kreis.core.models import User
from kreis.core.purge import purge
from kreis.core.search import index_records
from kreis.parties.bulk.create import PartyDraft, RowError
from kreis.parties.models import (
    Address,
    ContactPoint,
    Employment,
    Party,
    PartyRoleAssignment,
)
from kreis.parties.services import SCALAR_FIELDS
from kreis.parties.tagging import tags_by_name

# A ``before`` key (field name or attname such as ``owner_id``) → the field.
_FIELD_BY_NAME = {
    **{f.attname: f for f in Party._meta.concrete_fields},
    **{f.name: f for f in Party._meta.concrete_fields},
}
NOT_YOURS = "This record matches a party you may not change."
ADDRESS_FIELDS = ("kind", "street", "postal_code", "city", "region", "country")


@dataclass(frozen=True, slots=True)
class PartyUpdated:
    """One party an update touched: its values before (``None``: nothing changed)."""

    party_id: int
    before: dict[str, Any] | None


def _json(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool | dict | list):
        return value
    return str(value)


class _PartyState:
    """What a party has while a batch updates it: its rows as read, plus what the batch's
    earlier rows added (written together after the loop)."""

    def __init__(self, party: Party) -> None:
        points = list(party.contact_points.all())
        self.contacts = {(c.kind, c.value) for c in points}
        self.primary_kinds = {c.kind for c in points if c.is_primary}
        self.addresses: list[Address] = list(party.addresses.all())
        self.roles = {r.role for r in party.role_assignments.all()}
        self.tags = {t.pk for t in party.tags.all()}
        self.employments = {e.organization_id: e for e in party.employments.all()}


def _changed_fields(party: Party, draft: PartyDraft) -> dict[str, Any]:
    """Field → new value, for the fields the row fills with something else."""
    changes: dict[str, Any] = {}
    for name, value in draft.fields.items():
        if name == "name" and "name" not in draft.given:
            # A person's name follows first and last name: only when one of them is given.
            if not {"first_name", "last_name"} & draft.given:
                continue
        if value in (None, "") or name not in (*SCALAR_FIELDS, "name"):
            continue
        if getattr(party, name) != value:
            changes[name] = value
    if "owner" in draft.given and draft.owner_id and draft.owner_id != party.owner_id:
        changes["owner_id"] = draft.owner_id
    if "team" in draft.given and draft.team_id and draft.team_id != party.team_id:
        changes["team_id"] = draft.team_id
    custom = {k: v for k, v in draft.custom.items() if k in draft.custom_given}
    if any((party.custom or {}).get(k) != v for k, v in custom.items()):
        changes["custom"] = {**(party.custom or {}), **custom}
    return changes


def party_drafts_update(
    *, actor: User | None, pairs: Sequence[tuple[int, PartyDraft]]
) -> tuple[list[PartyUpdated], list[RowError]]:
    """Update existing parties (id, draft) with what each draft fills and they lack or
    differ in; a fixed number of queries for the batch. A party the actor may not change
    fails its row. Returns per pair that was allowed the values before, for undo."""
    ids = {pk for pk, _draft in pairs}
    parties = {
        p.pk: p
        for p in Party.objects.filter(pk__in=ids).prefetch_related(
            "contact_points", "addresses", "role_assignments", "tags", "employments"
        )
    }
    errors: list[RowError] = []
    results: list[PartyUpdated] = []
    tags = tags_by_name(t for _pk, d in pairs for t in d.tags)
    new_points, new_addresses, new_roles, new_links, new_employments = [], [], [], [], []
    address_updates: list[Address] = []
    employment_updates: list[Employment] = []
    changed_parties: dict[int, set[str]] = defaultdict(set)
    befores: dict[int, dict[str, Any]] = {}
    states: dict[int, _PartyState] = {}
    for pk, draft in pairs:
        party = parties.get(pk)
        if party is None or (actor is not None and not actor.has_perm("core.change_record", party)):
            errors.append(RowError(draft.row, "", NOT_YOURS))
            continue
        before = befores.setdefault(pk, {})
        added = before.setdefault("added", defaultdict(list))
        for field, value in _changed_fields(party, draft).items():
            before.setdefault(field, _json(getattr(party, field)))
            setattr(party, field, value)
            changed_parties[pk].add(field)
        # What the party has, with what earlier rows of the batch gave it (two rows may
        # update one party: the second must not add the same e-mail, tag or employment).
        state = states.get(pk) or states.setdefault(pk, _PartyState(party))
        for kind, value, label, is_primary in draft.contacts:
            if (kind, value) in state.contacts:
                continue
            state.contacts.add((kind, value))
            new_points.append(
                ContactPoint(
                    party_id=pk,
                    kind=kind,
                    value=value,
                    label=label,
                    is_primary=is_primary and kind not in state.primary_kinds,
                )
            )
            state.primary_kinds.add(kind)
        if draft.addresses and not state.addresses:
            added_addresses = [Address(party_id=pk, **a) for a in draft.addresses]
            new_addresses.extend(added_addresses)
            state.addresses.extend(added_addresses)
        elif draft.addresses:
            target = next((a for a in state.addresses if a.is_primary), state.addresses[0])
            row = draft.addresses[0]
            old = {f: getattr(target, f) for f in ADDRESS_FIELDS}
            given = {f: row[f] for f in ADDRESS_FIELDS if row.get(f) not in (None, "")}
            if any(old[f] != v for f, v in given.items()):
                for f, v in given.items():
                    setattr(target, f, v)
                if target.pk is not None:  # else added above, not yet written
                    before.setdefault("address", {"id": target.pk, **old})
                    address_updates.append(target)
        for role in draft.roles:
            if role not in state.roles:
                state.roles.add(role)
                new_roles.append(PartyRoleAssignment(party_id=pk, role=role))
        for name in draft.tags:
            tag = tags[name.casefold()]
            if tag.pk not in state.tags:
                state.tags.add(tag.pk)
                new_links.append(Party.tags.through(party_id=pk, tag_id=tag.pk))
                added["tags"].append(tag.pk)
                changed_parties[pk].add("tags")
        if draft.organization is not None and draft.organization.pk:
            current = state.employments.get(draft.organization.pk)
            if current is None:
                current = Employment(
                    person_id=pk,
                    organization_id=draft.organization.pk,
                    position=draft.position,
                    department=draft.department,
                )
                new_employments.append(current)
                state.employments[draft.organization.pk] = current
            elif draft.position and draft.position != current.position:
                if current.pk is not None:  # else added above, not yet written
                    before.setdefault(
                        "employment", {"id": current.pk, "position": current.position}
                    )
                    employment_updates.append(current)
                current.position = draft.position
        results.append(PartyUpdated(pk, before))

    now = timezone.now()
    with transaction.atomic():
        for model, objs, key in (
            (ContactPoint, new_points, "parties.contactpoint"),
            (Address, new_addresses, "parties.address"),
            (PartyRoleAssignment, new_roles, "parties.partyroleassignment"),
            (Employment, new_employments, "parties.employment"),
        ):
            if not objs:
                continue
            model.objects.bulk_create(objs, batch_size=500)
            for obj in objs:
                party_id = obj.person_id if model is Employment else obj.party_id
                befores[party_id]["added"][key].append(obj.pk)
                changed_parties[party_id].add(key)
        Party.tags.through.objects.bulk_create(new_links, batch_size=500)
        if new_employments:
            Employment.history.bulk_history_create(
                new_employments, default_user=actor, default_date=now
            )
        if address_updates:
            update_rows(Address, address_updates, ADDRESS_FIELDS)
            for address in address_updates:
                changed_parties[address.party_id].add("address")
        if employment_updates:
            update_rows(Employment, employment_updates, ["position"])
            for employment in employment_updates:
                changed_parties[employment.person_id].add("employment")
        _save_changed(
            [parties[pk] for pk in changed_parties], changed_parties, actor=actor, now=now
        )
    _let_go(parties.values())
    out = []
    for result in results:
        if result.party_id not in changed_parties:
            out.append(PartyUpdated(result.party_id, None))
            continue
        before = dict(befores[result.party_id])
        before["added"] = {k: v for k, v in before["added"].items() if v}
        if not before["added"]:
            del before["added"]
        out.append(PartyUpdated(result.party_id, before))
    return out, errors


def _save_changed(
    parties: list[Party], fields_of: dict[int, set[str]], *, actor: User | None, now
) -> None:
    """Write the changed fields, one history row per changed party (with its tags, as
    simple-history keeps them), and the parties' fresh search entries."""
    if not parties:
        return
    columns = sorted({f for pk in fields_of for f in fields_of[pk] if hasattr(Party, f)} - {"tags"})
    for party in parties:
        party.updated_at = now
    update_rows(Party, parties, [*columns, "updated_at"])
    history = Party.history.bulk_history_create(
        parties, update=True, default_user=actor, default_date=now
    )
    _history_tags(history)
    ids = [p.pk for p in parties]
    for start in range(0, len(ids), 200):
        fresh = Party.objects.filter(pk__in=ids[start : start + 200]).prefetch_related(
            "contact_points", "employments__organization"
        )
        fresh = list(fresh)
        index_records(fresh)
        _let_go(fresh)


def _let_go(parties: Iterable[Party]) -> None:
    """Drop the parties' prefetched rows: each row caches its party (``fields_cache``), a
    cycle per party that outlived the import's chunk."""
    for party in parties:
        party.__dict__.pop("_prefetched_objects_cache", None)


def _history_tags(history: Iterable) -> None:
    """The tags each party has at its new history row."""
    from django.apps import apps

    history = list(history)
    by_party = {h.id: h.history_id for h in history}
    links = Party.tags.through.objects.filter(party_id__in=by_party).values_list(
        "id", "party_id", "tag_id"
    )
    rows = [
        {"id": link_id, "party_id": party_id, "tag_id": tag_id, "history_id": by_party[party_id]}
        for link_id, party_id, tag_id in links
    ]
    with transaction.atomic():
        insert_rows(apps.get_model("parties", "HistoricalParty_tags"), rows)


def _remove_tag_links(pairs: Sequence[tuple[int, int]]) -> None:
    """Delete the (party, tag) links the import added: their ids in one query per 1,000
    parties, then one set-based delete (instead of a statement per party)."""
    wanted = set(pairs)
    parties = sorted({party_id for party_id, _tag in wanted})
    link_ids = []
    for start in range(0, len(parties), 1000):
        links = Party.tags.through.objects.filter(party_id__in=parties[start : start + 1000])
        link_ids += [
            pk
            for pk, party_id, tag_id in links.values_list("pk", "party_id", "tag_id")
            if (party_id, tag_id) in wanted
        ]
    purge(Party.tags.through, link_ids)


def party_updates_restore(*, actor: User | None, befores: Sequence[tuple[int, dict]]) -> None:
    """Undo ``party_drafts_update``: each party's fields and custom values as they were,
    the rows it added removed, the address and position it changed restored; a history row
    for each and fresh search entries."""
    if not befores:
        return
    parties = Party.objects.in_bulk([pk for pk, _b in befores])
    fields_of: dict[int, set[str]] = defaultdict(set)
    removals: dict[str, list[int]] = defaultdict(list)
    tag_removals: list[tuple[int, int]] = []
    with transaction.atomic():
        for pk, before in befores:
            party = parties.get(pk)
            if party is None:
                continue
            for name, value in before.items():
                if name in ("added", "address", "employment"):
                    continue
                field = _FIELD_BY_NAME[name]
                setattr(party, field.attname, None if value is None else field.to_python(value))
                fields_of[pk].add(field.attname)
            for key, ids in before.get("added", {}).items():
                if key == "tags":
                    tag_removals.extend((pk, tag_id) for tag_id in ids)
                else:
                    removals[key].extend(ids)
                fields_of[pk].add("tags")
            if "address" in before:
                old = dict(before["address"])
                Address.objects.filter(pk=old.pop("id"), party_id=pk).update(**old)
                fields_of[pk].add("tags")
            if "employment" in before:
                old = before["employment"]
                Employment.objects.filter(pk=old["id"]).update(position=old["position"])
        for key, ids in removals.items():
            model = {
                "parties.contactpoint": ContactPoint,
                "parties.address": Address,
                "parties.partyroleassignment": PartyRoleAssignment,
                "parties.employment": Employment,
            }[key]
            # Rows the import added vanish with their history, no per-row signal.
            purge(model, ids)
        _remove_tag_links(tag_removals)
        changed = [parties[pk] for pk in fields_of]
        _save_changed(changed, fields_of, actor=actor, now=timezone.now())
