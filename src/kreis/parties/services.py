"""Writes of parties: typed, keyword-only, atomic; every change lands in the party's history."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kreis.core.bulk import BulkActions
from kreis.core.customfields import clean_custom_values
from kreis.core.models import Team, User
from kreis.core.search import index_dependants, index_record
from kreis.core.services import check_assignment
from kreis.parties.merge_folds import FOLD_KEY_PREFIX, fold_duplicates, unfold_duplicates
from kreis.parties.models import (
    Address,
    ContactKind,
    ContactPoint,
    Employment,
    Party,
    PartyKind,
    PartyMerge,
    PartyRole,
    PartyRoleAssignment,
    Relationship,
    Tag,
)
from kreis.parties.normalize import (
    normalize_email,
    normalize_iban,
    normalize_phone,
    normalize_vat_id,
)

SCALAR_FIELDS = (
    "name",
    "salutation",
    "first_name",
    "last_name",
    "industry",
    "size",
    "source",
    "territory",
    "website",
    "vat_id",
    "iban",
    "notes",
    "external_id",
    "purchasing_potential",
    "termination_announced",
    "contract_end",
)


def _clean_scalars(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    data = {k: (v.strip() if isinstance(v, str) else v) for k, v in data.items()}
    errors: dict[str, list[str]] = {}
    for field, normalize in (("vat_id", normalize_vat_id), ("iban", normalize_iban)):
        if data.get(field):
            try:
                data[field] = normalize(data[field])
            except ValidationError as exc:
                errors[field] = exc.messages
    if "external_id" in data and not data["external_id"]:
        data["external_id"] = None
    if errors:
        raise ValidationError(errors)
    return data


def _normalized_contacts(
    kind: str, items: Iterable[Mapping[str, Any]], normalize
) -> list[ContactPoint]:
    points, errors = [], {}
    for i, item in enumerate(items):
        try:
            value = normalize(str(item.get("value", "")))
        except ValidationError as exc:
            errors[f"{kind}s.{i}"] = exc.messages
            continue
        points.append(
            ContactPoint(
                kind=kind,
                value=value,
                label=str(item.get("label", "")).strip()[:40],
                is_primary=bool(item.get("is_primary", False)),
            )
        )
    if errors:
        raise ValidationError(errors)
    if points and not any(p.is_primary for p in points):
        points[0].is_primary = True
    return points


def _social(raw: str) -> str:
    value = raw.strip()
    if not value:
        raise ValidationError(_("A social profile needs a handle or URL."))
    return value[:254]


def _replace_contacts(party: Party, kind: str, items, normalize) -> None:
    points = _normalized_contacts(kind, items, normalize)
    party.contact_points.filter(kind=kind).delete()
    for point in points:
        point.party = party
        point.full_clean(exclude=["party"])
    ContactPoint.objects.bulk_create(points)


def _replace_addresses(party: Party, items: Iterable[Mapping[str, Any]]) -> None:
    addresses, errors = [], {}
    for i, item in enumerate(items):
        address = Address(
            party=party, **{k: (v.strip() if isinstance(v, str) else v) for k, v in item.items()}
        )
        address.country = (address.country or "DE").upper()
        try:
            address.full_clean(exclude=["party"])
        except ValidationError as exc:
            errors.update({f"addresses.{i}.{f}": m for f, m in exc.message_dict.items()})
        addresses.append(address)
    if errors:
        raise ValidationError(errors)
    if addresses and not any(a.is_primary for a in addresses):
        addresses[0].is_primary = True
    party.addresses.all().delete()
    Address.objects.bulk_create(addresses)


def _set_roles(party: Party, roles: Iterable[str]) -> None:
    wanted = set(roles)
    unknown = wanted - set(PartyRole.values)
    if unknown:
        raise ValidationError({"roles": _("Unknown role: %s") % ", ".join(sorted(unknown))})
    party.role_assignments.exclude(role__in=wanted).delete()
    have = set(party.role_assignments.values_list("role", flat=True))
    PartyRoleAssignment.objects.bulk_create(
        PartyRoleAssignment(party=party, role=r) for r in wanted - have
    )


def set_tags(party: Party, names: Iterable[str]) -> None:
    tags = []
    for name in {n.strip()[:50] for n in names if n.strip()}:
        tag = Tag.objects.filter(name__iexact=name).first() or Tag.objects.create(name=name)
        tags.append(tag)
    party.tags.set(tags)


def _apply_related(party: Party, related: dict[str, Any]) -> None:
    if related.get("emails") is not None:
        _replace_contacts(party, ContactKind.EMAIL, related["emails"], normalize_email)
    if related.get("phones") is not None:
        _replace_contacts(party, ContactKind.PHONE, related["phones"], normalize_phone)
    if related.get("socials") is not None:
        _replace_contacts(party, ContactKind.SOCIAL, related["socials"], _social)
    if related.get("addresses") is not None:
        _replace_addresses(party, related["addresses"])
    if related.get("roles") is not None:
        _set_roles(party, related["roles"])
    if related.get("tags") is not None:
        set_tags(party, related["tags"])


def reindex_party(party: Party) -> None:
    """Refresh the party's search entry from the database (not from stale prefetches)."""
    fresh = (
        Party.objects.prefetch_related("contact_points", "employments__organization")
        .filter(pk=party.pk)
        .first()
    )
    if fresh is not None:
        index_record(fresh)


def _save(party: Party) -> None:
    if party.kind == PartyKind.PERSON:
        party.name = " ".join(p for p in (party.first_name, party.last_name) if p)
        if not party.name:
            raise ValidationError({"last_name": _("A person needs a first or last name.")})
    elif not party.name:
        raise ValidationError({"name": _("An organisation needs a name.")})
    if party.external_id and (
        Party.objects.filter(external_id=party.external_id).exclude(pk=party.pk).exists()
    ):
        raise ValidationError({"external_id": _("Another party has this external ID.")})
    party.full_clean(exclude=["owner", "team", "tags"])
    party.save()


@transaction.atomic
def party_create(
    *,
    actor: User | None,
    kind: str,
    owner: User | None = None,
    team: Team | None = None,
    emails: Iterable[Mapping[str, Any]] = (),
    phones: Iterable[Mapping[str, Any]] = (),
    socials: Iterable[Mapping[str, Any]] = (),
    addresses: Iterable[Mapping[str, Any]] = (),
    roles: Iterable[str] = (),
    tags: Iterable[str] = (),
    custom: Mapping[str, Any] | None = None,
    **fields: Any,
) -> Party:
    """Create an organisation or person with its contact data, roles and tags in one step.

    Without an owner the acting user owns it; without a team, the actor's first team.
    """
    if kind not in PartyKind.values:
        raise ValidationError({"kind": _("Unknown kind of party.")})
    if actor is not None and actor.is_read_only:
        raise PermissionDenied
    unknown = set(fields) - set(SCALAR_FIELDS)
    if unknown:
        raise ValidationError({f: _("This field cannot be set.") for f in sorted(unknown)})
    if owner is None and actor is not None:
        owner = actor
    if team is None and actor is not None:
        team = Team.objects.filter(pk__in=actor.team_ids()).order_by("pk").first()
    check_assignment(actor=actor, owner=owner, team=team)
    party = Party(kind=kind, owner=owner, team=team, **_clean_scalars(kind, fields))
    party.custom = clean_custom_values("party", dict(custom or {}))
    _save(party)
    _apply_related(
        party,
        {
            "emails": emails,
            "phones": phones,
            "socials": socials,
            "addresses": addresses,
            "roles": roles,
            "tags": tags,
        },
    )
    reindex_party(party)
    return party


_UNSET: Any = object()


@transaction.atomic
def party_update(
    *,
    actor: User | None,
    party: Party,
    owner: User | None = _UNSET,
    team: Team | None = _UNSET,
    custom: Mapping[str, Any] | None = None,
    **changes: Any,
) -> Party:
    """Change a party's fields; lists given (emails, phones, …, roles, tags) replace the old;
    custom field values given are merged (``None`` clears one)."""
    if actor is not None and not actor.has_perm("core.change_record", party):
        raise PermissionDenied
    related_keys = {"emails", "phones", "socials", "addresses", "roles", "tags"}
    related = {k: changes.pop(k) for k in list(changes) if k in related_keys}
    unknown = set(changes) - set(SCALAR_FIELDS)
    if unknown:
        raise ValidationError({f: _("This field cannot be changed.") for f in sorted(unknown)})
    new_owner = party.owner if owner is _UNSET else owner
    new_team = party.team if team is _UNSET else team
    if (new_owner, new_team) != (party.owner, party.team):
        check_assignment(actor=actor, owner=new_owner, team=new_team)
    party.owner, party.team = new_owner, new_team
    old_name, old_audience = party.name, (party.owner_id, party.team_id)
    for field, value in _clean_scalars(party.kind, changes).items():
        setattr(party, field, value)
    if custom is not None:
        party.custom = clean_custom_values("party", dict(custom), existing=party.custom)
    _save(party)
    _apply_related(party, related)
    reindex_party(party)
    if party.name != old_name or (party.owner_id, party.team_id) != old_audience:
        # Deals and employees show the name in their search entries (when their audience may
        # see it): refresh them once the change is committed (never for a rolled-back one).
        transaction.on_commit(lambda: index_dependants(party))
    return party


@transaction.atomic
def party_delete(*, actor: User | None, party: Party) -> None:
    """Soft delete: the party disappears from lists and search but stays restorable."""
    if actor is not None and not actor.has_perm("core.change_record", party):
        raise PermissionDenied
    party.deleted_at = timezone.now()
    party.save(update_fields=["deleted_at", "updated_at"])
    index_record(party)


@transaction.atomic
def employment_set(
    *,
    actor: User | None,
    person: Party,
    organization: Party,
    position: str = "",
    department: str = "",
    is_primary_contact: bool = False,
) -> Employment:
    """Link a person to an organisation (or change the link)."""
    if actor is not None and not actor.has_perm("core.change_record", person):
        raise PermissionDenied
    if person.kind != PartyKind.PERSON or organization.kind != PartyKind.ORGANIZATION:
        raise ValidationError({"organization_id": _("Only persons work for organisations.")})
    if is_primary_contact:
        organization.staff.exclude(person=person).update(is_primary_contact=False)
    employment, _created = Employment.objects.update_or_create(
        person=person,
        organization=organization,
        defaults={
            "position": position.strip(),
            "department": department.strip(),
            "is_primary_contact": is_primary_contact,
        },
    )
    reindex_party(person)
    return employment


@transaction.atomic
def employment_remove(*, actor: User | None, employment: Employment) -> None:
    if actor is not None and not actor.has_perm("core.change_record", employment.person):
        raise PermissionDenied
    employment.delete()
    reindex_party(employment.person)


@transaction.atomic
def relationship_add(
    *, actor: User | None, source: Party, target: Party, type: str, note: str = ""
) -> Relationship:
    if actor is not None and not actor.has_perm("core.change_record", source):
        raise PermissionDenied
    if source.pk == target.pk:
        raise ValidationError({"target_id": _("A party cannot relate to itself.")})
    relationship = Relationship(source=source, target=target, type=type, note=note.strip())
    relationship.full_clean(validate_constraints=False)
    if Relationship.objects.filter(source=source, target=target, type=type).exists():
        raise ValidationError({"type": _("This relationship exists already.")})
    relationship.save()
    return relationship


@transaction.atomic
def relationship_remove(*, actor: User | None, relationship: Relationship) -> None:
    if actor is not None and not actor.has_perm("core.change_record", relationship.source):
        raise PermissionDenied
    relationship.delete()


# The list's bulk actions (kreis.core.bulk): each one is the single-party service.
PARTY_BULK = BulkActions(
    assign_owner=lambda *, actor, record, owner: party_update(
        actor=actor, party=record, owner=owner
    ),
    delete=lambda *, actor, record: party_delete(actor=actor, party=record),
    tags=True,
)


# --- merging duplicates ------------------------------------------------------------------

# Keys of PartyMerge.moved that name rows whose primary flag the merge took away.
PRIMARY_KEY_PREFIX = "primary:"

MERGE_FIELDS = (
    "name",
    "salutation",
    "first_name",
    "last_name",
    "industry",
    "size",
    "source",
    "territory",
    "website",
    "vat_id",
    "iban",
    "notes",
    "owner_id",
    "team_id",
    "custom",
)


def _references_to_party() -> list[tuple[type, str]]:
    """Every (model, field) that points at a party, in any app — found, not listed, so a new
    app's records move along without changes here. History tables and merges stay."""
    refs = []
    for rel in Party._meta.get_fields(include_hidden=True):
        if not (rel.auto_created and not rel.concrete and (rel.one_to_many or rel.one_to_one)):
            continue
        model = rel.related_model
        if model is PartyMerge or model._meta.model_name.startswith("historical"):
            continue
        refs.append((model, rel.field.name))
    return refs


def _ref_key(model: type, field: str) -> str:
    return f"{model._meta.label_lower}:{field}"


def _repoint(model: type, field: str, target: Party) -> dict:
    """The UPDATE values that point ``field`` at ``target``; ``updated_at`` moves with them so
    that incremental readers (the analytics warehouse) see the moved rows."""
    values = {field: target}
    if any(f.name == "updated_at" for f in model._meta.concrete_fields):
        values["updated_at"] = timezone.now()
    return values


def _move_rows(model: type, field: str, *, source: Party, target: Party) -> list[int]:
    """Point ``field`` of the rows referencing ``source`` at ``target``; rows that would break
    a rule (the survivor has them already; a relationship to itself) stay where they are.
    Returns the moved ids."""
    ids = list(model._default_manager.filter(**{field: source}).values_list("pk", flat=True))
    if not ids:
        return []
    # A row whose key is the party itself (one row of figures per party) changes its key
    # when it moves: the merge records the new key, which the undo finds it by.
    keyed_by_party = model._meta.pk.name == field
    try:
        with transaction.atomic():
            model._default_manager.filter(pk__in=ids).update(**_repoint(model, field, target))
        return [target.pk] if keyed_by_party else ids
    except (IntegrityError, ValidationError):
        moved = []
        for pk in ids:
            try:
                with transaction.atomic():
                    model._default_manager.filter(pk=pk).update(**_repoint(model, field, target))
                moved.append(target.pk if keyed_by_party else pk)
            except IntegrityError:
                continue
        return moved


@transaction.atomic
def party_merge(
    *,
    actor: User | None,
    survivor: Party,
    merged: Party,
    take_from_merged: Iterable[str] = (),
) -> PartyMerge:
    """Merge ``merged`` into ``survivor``: the fields named in ``take_from_merged`` take the
    merged party's value, everything related (contact data, employments, deals, activities,
    transactions, …) moves to the survivor, and the merged party is deleted (softly).
    The merge is recorded and can be undone with ``party_merge_undo``."""
    if survivor.pk == merged.pk:
        raise ValidationError({"other_id": _("A party cannot be merged with itself.")})
    if survivor.kind != merged.kind:
        raise ValidationError(
            {"other_id": _("Only two organisations or two persons can be merged.")}
        )
    for party in (survivor, merged):
        if actor is not None and not actor.has_perm("core.change_record", party):
            raise PermissionDenied
    take = set(take_from_merged)
    unknown = take - set(MERGE_FIELDS)
    if unknown:
        raise ValidationError({"fields": _("Unknown field: %s") % ", ".join(sorted(unknown))})
    before = {f: getattr(survivor, f) for f in MERGE_FIELDS}
    for field in take:
        setattr(survivor, field, getattr(merged, field))
    if "custom" not in take:
        # Custom values the survivor lacks come over from the merged party.
        survivor.custom = {**(merged.custom or {}), **(survivor.custom or {})}
    # Contact points already on the survivor (same kind and value) stay with the merged party.
    have = set(survivor.contact_points.values_list("kind", "value"))
    duplicate_points = [c.pk for c in merged.contact_points.all() if (c.kind, c.value) in have]
    # The survivor's primary e-mail, phone and address stay primary: moved ones lose the flag,
    # and the merge remembers which had it, so that the undo gives it back.
    primary_kinds = set(
        survivor.contact_points.filter(is_primary=True).values_list("kind", flat=True)
    )
    unflag = {
        "parties.contactpoint": list(
            merged.contact_points.filter(is_primary=True, kind__in=primary_kinds)
            .exclude(pk__in=duplicate_points)
            .values_list("pk", flat=True)
        ),
        "parties.address": list(
            merged.addresses.filter(is_primary=True).values_list("pk", flat=True)
            if survivor.addresses.filter(is_primary=True).exists()
            else []
        ),
    }
    # Rows other apps fold (a campaign membership both had): into the survivor's, first.
    moved: dict[str, list] = dict(fold_duplicates(survivor=survivor, merged=merged))
    for model, field in _references_to_party():
        if model is ContactPoint:
            source_rows = ContactPoint.objects.filter(party=merged).exclude(pk__in=duplicate_points)
            ids = list(source_rows.values_list("pk", flat=True))
            ContactPoint.objects.filter(pk__in=ids).update(party=survivor)
        else:
            ids = _move_rows(model, field, source=merged, target=survivor)
        if ids:
            moved[_ref_key(model, field)] = ids
    for label, ids in unflag.items():
        if ids:
            model = ContactPoint if label == "parties.contactpoint" else Address
            model.objects.filter(pk__in=ids).update(is_primary=False)
            moved[f"{PRIMARY_KEY_PREFIX}{label}"] = ids
    for name in ("name", "first_name", "last_name"):
        before[name] = before[name] or ""
    if survivor.external_id is None and merged.external_id:
        # The external key moves too (it is unique): first free it on the merged party.
        before["external_id"] = None
        survivor.external_id, merged.external_id = merged.external_id, None
        Party.objects.filter(pk=merged.pk).update(external_id=None)
        moved["external_id"] = [merged.pk]
    _save(survivor)
    merged.deleted_at = timezone.now()
    merged.save(update_fields=["deleted_at", "updated_at"])
    record = PartyMerge.objects.create(
        survivor=survivor,
        merged=merged,
        survivor_before=_jsonable(before),
        moved=moved,
        performed_by=actor,
    )
    reindex_party(survivor)
    index_record(merged)
    return record


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    plain = str | int | float | bool | dict | type(None)
    return {k: (v if isinstance(v, plain) else str(v)) for k, v in values.items()}


@dataclass(frozen=True)
class MergeUndone:
    """What an undo did: the party that is back, and the later edits it kept."""

    party: Party
    # Survivor fields changed after the merge: they keep their new value.
    kept_fields: tuple[str, ...] = ()
    # Moved rows pointed elsewhere or deleted after the merge: they stay where they are.
    kept_rows: int = 0


def _survivor_after_merge(merge: PartyMerge) -> dict[str, Any] | None:
    """The survivor's merge fields as the merge left them (from its history), or None."""
    record = (
        merge.survivor.history.filter(history_date__lte=merge.performed_at)
        .order_by("-history_date", "-history_id")
        .first()
    )
    if record is None:
        return None
    return _jsonable({f: getattr(record, f) for f in MERGE_FIELDS})


@transaction.atomic
def party_merge_undo(*, actor: User | None, merge: PartyMerge) -> MergeUndone:
    """Put everything back as it was before the merge; the merged party returns.

    Edits made after the merge are kept, never overwritten: a survivor field changed since
    keeps its new value, and a moved row that was pointed at another party (or deleted) since
    stays where it is. Rows that were only edited go back with their edits. The result names
    what was kept, so the user is told."""
    if merge.undone_at is not None:
        raise ValidationError({"merge": _("This merge has been undone already.")})
    survivor = Party.objects.select_for_update().get(pk=merge.survivor_id)
    merged = Party.objects.select_for_update().get(pk=merge.merged_id)
    if actor is not None and not actor.has_perm("core.change_record", survivor):
        raise PermissionDenied
    refs = {_ref_key(model, field): (model, field) for model, field in _references_to_party()}
    moved = dict(merge.moved)
    if moved.pop("external_id", None) and survivor.external_id:
        merged.external_id = survivor.external_id
        Party.objects.filter(pk=survivor.pk).update(external_id=None)
        survivor.external_id = None
    primaries = {
        key.removeprefix(PRIMARY_KEY_PREFIX): moved.pop(key)
        for key in list(moved)
        if key.startswith(PRIMARY_KEY_PREFIX)
    }
    folded = {key: moved.pop(key) for key in list(moved) if key.startswith(FOLD_KEY_PREFIX)}
    kept_rows = 0
    for key, ids in moved.items():
        model, field = refs[key]
        still_here = model._default_manager.filter(pk__in=ids, **{field: survivor})
        kept_rows += len(ids) - still_here.update(**_repoint(model, field, merged))
    for label, ids in primaries.items():
        model = ContactPoint if label == "parties.contactpoint" else Address
        model.objects.filter(pk__in=ids, party=merged).update(is_primary=True)
    # After the moved rows are back: a folded duplicate returns beside them.
    kept_rows += unfold_duplicates(notes=folded)
    after = _survivor_after_merge(merge)
    current = _jsonable({f: getattr(survivor, f) for f in MERGE_FIELDS})
    kept_fields = []
    for field, value in merge.survivor_before.items():
        if field == "external_id":
            continue
        if after is not None and field in after and current.get(field) != after[field]:
            kept_fields.append(field)
            continue
        setattr(survivor, field, value)
    _save(survivor)
    merged.deleted_at = None
    merged.save(update_fields=["deleted_at", "external_id", "updated_at"])
    merge.undone_at = timezone.now()
    merge.save(update_fields=["undone_at"])
    reindex_party(survivor)
    reindex_party(merged)
    return MergeUndone(party=merged, kept_fields=tuple(kept_fields), kept_rows=kept_rows)
