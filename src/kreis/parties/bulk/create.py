"""Validating and inserting many parties (see the package's docstring)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.db import models, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from kreis.core.bulkinsert import insert_rows, reserve_ids
from kreis.core.customfields import clean_custom_values, custom_fields_for
from kreis.core.models import Team, User
from kreis.core.search import index_documents, seen_by_the_same
from kreis.core.services import check_assignment
from kreis.parties.models import (
    Address,
    ContactKind,
    ContactPoint,
    Employment,
    Party,
    PartyKind,
    PartyRole,
    PartyRoleAssignment,
    Tag,
)
from kreis.parties.normalize import (
    normalize_email,
    normalize_iban,
    normalize_phone,
    normalize_vat_id,
)
from kreis.parties.search import party_document_of
from kreis.parties.services import SCALAR_FIELDS
from kreis.parties.signals import parties_bulk_created
from kreis.parties.tagging import tags_by_name

# What a row may hold besides the scalar fields (``SCALAR_FIELDS``): the keyword arguments
# of ``party_create`` and, for persons, the organisation they work for.
LIST_KEYS = ("emails", "phones", "socials", "addresses", "roles", "tags")
EMPLOYMENT_KEYS = (
    "organization",  # a Party the caller resolved already
    "organization_id",
    "organization_external_id",
    "organization_name",
    "position",
    "department",
)
ROW_KEYS = {"kind", "owner", "team", "custom", *SCALAR_FIELDS, *LIST_KEYS, *EMPLOYMENT_KEYS}

NOT_FOUND = "A referenced record does not exist or is not yours."
NOT_ALLOWED = "You may not create this record."

_PARTY_FIELDS = {name: Party._meta.get_field(name) for name in SCALAR_FIELDS}
_ADDRESS_FIELDS = {
    f.name: f for f in Address._meta.concrete_fields if f.name not in ("id", "party", "is_primary")
}
_BATCH = 500
_ROLES = frozenset(PartyRole.values)
_KINDS = frozenset(PartyKind.values)


def _plain_text(field: models.Field) -> bool:
    """Text whose only rule is its length (no choices, no format such as a URL's)."""
    return (
        type(field) in (models.CharField, models.TextField)
        and not field.choices
        and all(isinstance(v, MaxLengthValidator) for v in field.validators)
    )


# Per field once, not per cell: whether it is plain text (then its blank rule and length).
# A set of fields was asked per cell, and a model field's hash is Python code.
_PLAIN_RULES: dict[models.Field, tuple[bool, int]] = {
    f: (f.blank, f.max_length if f.max_length is not None else 1 << 62)
    for f in (*_PARTY_FIELDS.values(), *_ADDRESS_FIELDS.values())
    if _plain_text(f)
}
_PARTY_RULES = {name: (f, _PLAIN_RULES.get(f)) for name, f in _PARTY_FIELDS.items()}
_NO_DEFAULT = object()
# (name, field, plain rule, default): the default taken once where it is a constant.
_ADDRESS_RULES = [
    (
        name,
        f,
        _PLAIN_RULES.get(f),
        _NO_DEFAULT if f.has_default() and callable(f.default) else f.get_default(),
    )
    for name, f in _ADDRESS_FIELDS.items()
]


def _clean_field(field: models.Field, value: Any, plain: tuple[bool, int] | None = None) -> Any:
    """``field.clean`` (as ``full_clean`` checks it), without its machinery for plain text
    within its length and not blank where it must not be: most cells of a batch. ``plain``:
    the field's ``_PLAIN_RULES`` entry, when the caller has it."""
    if plain is None:
        plain = _PLAIN_RULES.get(field)
    if plain is not None and type(value) is str and (value or plain[0]) and len(value) <= plain[1]:
        return value
    return field.clean(value, None)


@dataclass(frozen=True, slots=True)
class RowError:
    """A problem of one row: its index in the batch, the field ("" for the row as a whole,
    ``emails.0``, ``addresses.1.city``, ``custom.<key>`` …) and the message for the user."""

    row: int
    field: str
    message: str


@dataclass(slots=True, eq=False)
class PartyDraft:
    """A valid row, normalised, ready to insert (or to update an existing party with)."""

    row: int
    kind: str
    fields: dict[str, Any]  # scalar fields of ``Party``, cleaned; ``name`` always set
    owner_id: int | None
    team_id: int | None
    custom: dict[str, Any]
    custom_given: dict[str, Any]  # the custom values the row named (for updates)
    # (kind, value, label, is_primary), in the row's order; e-mails and phones normalised
    contacts: list[tuple[str, str, str, bool]]
    addresses: list[dict[str, Any]]
    roles: list[str]
    tags: list[str]
    given: frozenset[str]  # the keys the row named (an update changes only those)
    organization: Party | None = None
    # An organisation to find by external ID or name when writing (created if missing).
    organization_key: tuple[str | None, str] | None = None
    position: str = ""
    department: str = ""


@dataclass
class BulkCreated:
    """What ``parties_bulk_create`` did: the new party's id per row (``None``: the row failed),
    the organisations created for employments, and the problems."""

    ids: list[int | None]
    organizations: list[int] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def _messages(exc: ValidationError) -> list[str]:
    """The error's messages, its traceback let go. A ``ValidationError`` lists itself
    (``error_list``): a cycle that, through the traceback's frames, kept a whole import chunk
    alive until the cycle collector's next pass (and made that pass long)."""
    exc.__traceback__ = None
    return exc.messages


# --- normalising, with repeated values looked up once --------------------------------------

_NORMALIZERS = {ContactKind.EMAIL: normalize_email, ContactKind.PHONE: normalize_phone}
_normalized: dict[tuple[str, str, str], tuple[str, str]] = {}


def normalized_contact(kind: str, raw: str, language: str | None = None) -> tuple[str, str]:
    """``(value, "")`` or ``("", message)``. Kept per process, up to 20,000 values (~6 MB;
    200,000 held 56 MB of mostly unique e-mails): an import repeats company switchboards,
    and the normalisers' fast paths make the rest cheap. ``language``: the active one (the
    message's), when the caller knows it already (asking costs more than the look-up)."""
    if language is None:
        language = translation.get_language() or ""
    key = (kind, raw, language)
    found = _normalized.get(key)
    if found is None:
        if kind == ContactKind.SOCIAL:
            value = raw.strip()[:254]
            found = (value, "") if value else ("", _("A social profile needs a handle or URL."))
        else:
            try:
                found = (_NORMALIZERS[kind](raw), "")
            except ValidationError as exc:
                found = ("", _messages(exc)[0])
        if len(_normalized) > 20_000:
            _normalized.clear()
        _normalized[key] = found
    return found


# --- step 1: validate and normalise ------------------------------------------------------


class _Lookups:
    """What the rows of a batch refer to, loaded once per batch."""

    def __init__(self, actor: User | None) -> None:
        self.actor = actor
        self.default_team: Team | None = None
        if actor is not None:
            self.default_team = Team.objects.filter(pk__in=actor.team_ids()).order_by("pk").first()
        self.assignments: dict[tuple[int | None, int | None], dict[str, list[str]]] = {}
        self.custom_fields = custom_fields_for("party")
        self.language = translation.get_language() or ""
        self._without_custom: tuple[dict[str, Any], dict[str, list[str]]] | None = None

    def custom_values(self, given: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
        """The cleaned custom values of a row and the problems (``custom.<key>``, required
        fields); for a row that names none (most rows) worked out once per batch."""
        if not given and self._without_custom is not None:
            custom, problems = self._without_custom
            return dict(custom), problems
        try:
            result = (clean_custom_values("party", given, fields=self.custom_fields), {})
        except ValidationError as exc:
            exc.__traceback__ = None  # see _messages
            result = ({}, exc.message_dict)
        if not given:
            self._without_custom = result
            return dict(result[0]), result[1]
        return result

    def assignment_errors(self, owner: User | None, team: Team | None) -> dict[str, list[str]]:
        key = (owner.pk if owner else None, team.pk if team else None)
        if key not in self.assignments:
            try:
                check_assignment(actor=self.actor, owner=owner, team=team)
                self.assignments[key] = {}
            except ValidationError as exc:
                self.assignments[key] = exc.message_dict
        return self.assignments[key]


def _add(errors: list[RowError], row: int, messages: Mapping[str, Iterable[str]]) -> None:
    for name, texts in messages.items():
        for text in texts:
            errors.append(RowError(row, name, str(text)))


def _clean_row(
    index: int, row: Mapping[str, Any], kind: str, lookups: _Lookups
) -> tuple[PartyDraft | None, dict[str, list[str]]]:
    """One row by ``party_create``'s rules; every problem of the row, not only the first."""
    problems: dict[str, list[str]] = defaultdict(list)
    unknown = set(row) - ROW_KEYS
    for name in sorted(unknown):
        problems[name].append(_("This field cannot be set."))
    actor = lookups.actor
    owner = row.get("owner")
    team = row.get("team")
    if owner is None and actor is not None:
        owner = actor
    if team is None and actor is not None:
        team = lookups.default_team
    for name, texts in lookups.assignment_errors(owner, team).items():
        problems[name].extend(texts)
    fields: dict[str, Any] = {}
    for name in SCALAR_FIELDS:
        if name not in row:
            continue
        value = row[name]
        if isinstance(value, str):
            value = value.strip()
        if name in ("vat_id", "iban") and value:
            try:
                value = (normalize_vat_id if name == "vat_id" else normalize_iban)(value)
            except ValidationError as exc:
                problems[name].extend(_messages(exc))
                continue
        if name == "external_id" and not value:
            value = None
        model_field, plain = _PARTY_RULES[name]
        if value is None and not model_field.null:
            continue
        if name != "name" or value:
            try:
                value = _clean_field(model_field, value, plain)
            except ValidationError as exc:
                problems[name].extend(_messages(exc))
                continue
        fields[name] = value
    if kind == PartyKind.PERSON:
        fields["name"] = " ".join(
            p for p in (fields.get("first_name"), fields.get("last_name")) if p
        )
        if not fields["name"] and not (problems.get("first_name") or problems.get("last_name")):
            problems["last_name"].append(_("A person needs a first or last name."))
        elif len(fields["name"]) > 200:
            fields["name"] = fields["name"][:200]
    elif not fields.get("name") and not problems.get("name"):
        problems["name"].append(_("An organisation needs a name."))
    custom_given = dict(row.get("custom") or {})
    custom, custom_problems = lookups.custom_values(custom_given)
    for name, texts in custom_problems.items():
        problems[name].extend(texts)
    contacts: list[tuple[str, str, str, bool]] = []
    for key, contact_kind in (
        ("emails", ContactKind.EMAIL),
        ("phones", ContactKind.PHONE),
        ("socials", ContactKind.SOCIAL),
    ):
        items = row.get(key) or ()
        points = []
        for i, item in enumerate(items):
            value, message = normalized_contact(
                contact_kind, str(item.get("value", "")), lookups.language
            )
            if message:
                problems[f"{key}.{i}"].append(message)
                continue
            if len(value) > 254:
                problems[f"{key}.{i}"].append(_("Ensure this value has at most 254 characters."))
                continue
            label = str(item.get("label", "")).strip()[:40]
            points.append([contact_kind, value, label, bool(item.get("is_primary", False))])
        if points and not any(p[3] for p in points):
            points[0][3] = True
        contacts.extend(tuple(p) for p in points)  # type: ignore[misc]
    addresses = []
    for i, item in enumerate(row.get("addresses") or ()):
        address = {k: (v.strip() if isinstance(v, str) else v) for k, v in item.items()}
        address["country"] = (address.get("country") or "DE").upper()
        is_primary = bool(address.pop("is_primary", False))
        for name in address.keys() - _ADDRESS_FIELDS.keys():
            problems[f"addresses.{i}.{name}"].append(_("This field cannot be set."))
        for name, model_field, plain, default in _ADDRESS_RULES:
            value = address.get(name, _NO_DEFAULT)
            if value is _NO_DEFAULT:
                value = model_field.get_default() if default is _NO_DEFAULT else default
            try:
                address[name] = _clean_field(model_field, value, plain)
            except ValidationError as exc:
                problems[f"addresses.{i}.{name}"].extend(_messages(exc))
        address["is_primary"] = is_primary
        addresses.append(address)
    if addresses and not any(a["is_primary"] for a in addresses):
        addresses[0]["is_primary"] = True
    roles = list(dict.fromkeys(row.get("roles") or ()))
    unknown_roles = set(roles) - _ROLES
    if unknown_roles:
        problems["roles"].append(_("Unknown role: %s") % ", ".join(sorted(unknown_roles)))
    tags = list(dict.fromkeys(n.strip()[:50] for n in row.get("tags") or () if n.strip()))
    if problems:
        return None, problems
    return (
        PartyDraft(
            row=index,
            kind=kind,
            fields=fields,
            owner_id=owner.pk if owner else None,
            team_id=team.pk if team else None,
            custom=custom,
            custom_given=custom_given,
            contacts=contacts,
            addresses=addresses,
            roles=roles,
            tags=tags,
            given=frozenset(row),
            position=str(row.get("position") or "").strip()[:120],
            department=str(row.get("department") or "").strip()[:120],
        ),
        problems,
    )


def _resolve_organizations(
    drafts: list[PartyDraft],
    rows: Sequence[Mapping[str, Any]],
    errors: list[RowError],
    *,
    actor: User | None,
    create_organizations: bool,
) -> list[PartyDraft]:
    """The organisation each person works for: given, by id, by external ID or by name (two
    or three queries for the batch). One the actor may not see, or one not found when
    ``create_organizations`` is off, fails the row. Missing ones are created on write."""
    ids, external_ids, names = set(), set(), set()
    for draft in drafts:
        row = rows[draft.row]
        if row.get("organization") is None:
            if row.get("organization_id"):
                ids.add(row["organization_id"])
            elif row.get("organization_external_id"):
                external_ids.add(str(row["organization_external_id"]).strip())
            elif row.get("organization_name"):
                names.add(" ".join(str(row["organization_name"]).split()))
    # No ordering where the rows go into a dict: with ``Party``'s default (by name) SQLite
    # walked the whole name index for a long ``IN`` list instead of looking each key up.
    alive = (
        Party.objects.filter(kind=PartyKind.ORGANIZATION, deleted_at__isnull=True)
        .only("kind", "name", "external_id", "owner", "team")
        .order_by()
    )
    # Whether the actor sees an organisation depends on its owner and team only (the
    # ``core.view_record`` rule): asked once per pair.
    visible: dict[tuple[int | None, int | None], bool] = {}

    def sees(party: Party) -> bool:
        key = (party.owner_id, party.team_id)
        if key not in visible:
            visible[key] = actor is None or actor.has_perm("core.view_record", party)
        return visible[key]

    by_id = {p.pk: p for p in alive.filter(pk__in=ids)} if ids else {}
    by_external = (
        {p.external_id: p for p in alive.filter(external_id__in=external_ids)}
        if external_ids
        else {}
    )
    # Any party (a person too) holding an external ID blocks creating one with it.
    taken_external = (
        set(
            Party.objects.filter(external_id__in=external_ids)
            .order_by()
            .values_list("external_id", flat=True)
        )
        if external_ids and create_organizations
        else set()
    )
    by_name: dict[str, Party] = {}
    if names:
        # Oldest first wins a name two organisations share; visible ones before the others.
        for party in alive.filter(name__in=names).order_by("-pk"):
            if sees(party) or party.name not in by_name:
                by_name[party.name] = party
    kept = []
    for draft in drafts:
        row = rows[draft.row]
        organization = row.get("organization")
        key = None
        if organization is None:
            if row.get("organization_id"):
                organization = by_id.get(row["organization_id"])
                if organization is None:
                    errors.append(RowError(draft.row, "", NOT_FOUND))
                    continue
            elif row.get("organization_external_id"):
                external_id = str(row["organization_external_id"]).strip()
                organization = by_external.get(external_id)
                name = " ".join(str(row.get("organization_name") or "").split())
                if organization is None and create_organizations and name:
                    if external_id in taken_external:
                        errors.append(RowError(draft.row, "organization_external_id", NOT_FOUND))
                        continue
                    key = (external_id, name)
                elif organization is None:
                    errors.append(RowError(draft.row, "", NOT_FOUND))
                    continue
            elif row.get("organization_name"):
                name = " ".join(str(row["organization_name"]).split())
                organization = by_name.get(name)
                if organization is None and create_organizations:
                    key = (None, name[:200])
                elif organization is None:
                    errors.append(RowError(draft.row, "", NOT_FOUND))
                    continue
        if organization is not None and (
            organization.kind != PartyKind.ORGANIZATION or not sees(organization)
        ):
            errors.append(RowError(draft.row, "", NOT_FOUND))
            continue
        if draft.kind != PartyKind.PERSON and (organization is not None or key is not None):
            errors.append(
                RowError(draft.row, "organization_id", _("Only persons work for organisations."))
            )
            continue
        draft.organization, draft.organization_key = organization, key
        kept.append(draft)
    return kept


def party_rows_clean(
    *,
    actor: User | None,
    rows: Sequence[Mapping[str, Any]],
    kind: str | None = None,
    create_organizations: bool = False,
    external_ids_taken: bool = True,
) -> tuple[list[PartyDraft], list[RowError]]:
    """Validate and normalise ``rows`` (dicts of ``party_create``'s arguments, with ``kind``
    unless given for all, and for persons ``organization`` / ``organization_id`` /
    ``organization_external_id`` / ``organization_name``, ``position``, ``department``).

    Reads only: owner/team rules once per distinct pair, custom fields once, organisations
    and taken external IDs in one query each. ``external_ids_taken``: an external ID another
    party holds fails the row (the API; an import matches by it instead). Within the batch
    the first row keeps an external ID and later rows with it fail."""
    errors: list[RowError] = []
    if actor is not None and actor.is_read_only:
        return [], [RowError(i, "", NOT_ALLOWED) for i in range(len(rows))]
    lookups = _Lookups(actor)
    drafts: list[PartyDraft] = []
    for index, row in enumerate(rows):
        row_kind = kind or row.get("kind", "")
        if row_kind not in _KINDS:
            errors.append(RowError(index, "kind", _("Unknown kind of party.")))
            continue
        draft, problems = _clean_row(index, row, row_kind, lookups)
        _add(errors, index, problems)
        if draft is not None:
            drafts.append(draft)
    wants_organization = [d for d in drafts if any(rows[d.row].get(k) for k in EMPLOYMENT_KEYS[:4])]
    if wants_organization:
        resolved = set(
            map(
                id,
                _resolve_organizations(
                    wants_organization,
                    rows,
                    errors,
                    actor=actor,
                    create_organizations=create_organizations,
                ),
            )
        )
        asked = set(map(id, wants_organization))
        drafts = [d for d in drafts if id(d) not in asked or id(d) in resolved]
    if external_ids_taken:
        drafts = _drop_taken_external_ids(drafts, errors)
    errors.sort(key=lambda e: e.row)
    return drafts, errors


def _drop_taken_external_ids(drafts: list[PartyDraft], errors: list[RowError]) -> list[PartyDraft]:
    wanted = {d.fields["external_id"] for d in drafts if d.fields.get("external_id")}
    # Unordered: ordered by name (``Party``'s default), SQLite scanned the name index of every
    # party instead of looking up a thousand external IDs (~150 ms a request on the demo).
    taken = (
        set(
            Party.objects.filter(external_id__in=wanted)
            .order_by()
            .values_list("external_id", flat=True)
        )
        if wanted
        else set()
    )
    kept = []
    for draft in drafts:
        external_id = draft.fields.get("external_id")
        if external_id and external_id in taken:
            errors.append(
                RowError(draft.row, "external_id", _("Another party has this external ID."))
            )
            continue
        if external_id:
            taken.add(external_id)
        kept.append(draft)
    return kept


# --- step 2: insert ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Values:
    """A party's values as the search document reads them."""

    pk: int
    kind: str
    name: str
    first_name: str
    last_name: str
    external_id: str | None
    notes: str
    owner_id: int | None
    team_id: int | None


def _history_rows(model: type[Party] | type[Employment], rows: list[dict], *, actor, now):
    """simple-history's "created" row of each inserted row (what ``bulk_history_create``
    writes), with reserved ids so the tags' history can point at them."""
    history = model.history.model  # type: ignore[union-attr]
    ids = reserve_ids(history, len(rows))
    user_id = actor.pk if actor is not None else None
    # The row's own keys as they are: ``insert_rows`` takes the history table's columns
    # (the tracked fields) and leaves the rest.
    out = [
        {
            **row,
            "history_id": history_id,
            "history_date": now,
            "history_type": "+",
            "history_change_reason": None,
            "history_user_id": user_id,
        }
        for history_id, row in zip(ids, rows, strict=True)
    ]
    insert_rows(history, out)
    return ids


def _insert_parties(
    rows: list[dict[str, Any]],
    *,
    actor: User | None,
    now,
    contacts: list[list[tuple[str, str, bool]]],
    companies: list[list[str]],
    tags: list[list[Tag]],
) -> None:
    """Insert party rows (ids set) with their tags, "created" history and search entries."""
    for row in rows:
        row["created_at"] = row["updated_at"] = now  # the history copies created_at
    insert_rows(Party, rows)
    through = Party.tags.through
    links = [
        {"party_id": row["id"], "tag_id": tag.pk}
        for row, own in zip(rows, tags, strict=True)
        for tag in own
    ]
    for link, link_id in zip(links, reserve_ids(through, len(links)), strict=True):
        link["id"] = link_id
    insert_rows(through, links)
    history_ids = _history_rows(Party, rows, actor=actor, now=now)
    if links:
        history_of = dict(zip((r["id"] for r in rows), history_ids, strict=True))
        historical_tags = apps.get_model("parties", "HistoricalParty_tags")
        insert_rows(
            historical_tags,
            [{**link, "history_id": history_of[link["party_id"]]} for link in links],
        )
    documents = []
    for row, points, names in zip(rows, contacts, companies, strict=True):
        values = _Values(
            pk=row["id"],
            kind=row["kind"],
            name=row["name"],
            first_name=row.get("first_name", ""),
            last_name=row.get("last_name", ""),
            external_id=row.get("external_id"),
            notes=row.get("notes", ""),
            owner_id=row["owner_id"],
            team_id=row["team_id"],
        )
        documents.append((row["id"], party_document_of(values, contacts=points, companies=names)))
    index_documents("party", documents, created=True)


def _party_row(party_id: int, draft: PartyDraft) -> dict[str, Any]:
    return {
        "id": party_id,
        "kind": draft.kind,
        "owner_id": draft.owner_id,
        "team_id": draft.team_id,
        "custom": draft.custom,
        **draft.fields,
    }


def _new_organizations(drafts: Sequence[PartyDraft], *, actor: User | None, now) -> list[int]:
    """Insert the organisations persons of the batch work for and no one found: one per
    external ID or name (owned like the first person naming it), with history and search
    entries. Sets each draft's ``organization``; returns the new ids."""
    created: dict[tuple[str | None, str], Party] = {}
    for draft in drafts:
        if draft.organization_key is None:
            continue
        external_id, name = draft.organization_key
        key = (external_id, "") if external_id else (None, name)
        if key not in created:
            created[key] = Party(
                kind=PartyKind.ORGANIZATION,
                name=name,
                external_id=external_id,
                owner_id=draft.owner_id,
                team_id=draft.team_id,
            )
        draft.organization = created[key]
    organizations = list(created.values())
    if not organizations:
        return []
    rows = []
    for organization, pk in zip(organizations, reserve_ids(Party, len(organizations)), strict=True):
        organization.pk = pk
        rows.append(
            {
                "id": pk,
                "kind": PartyKind.ORGANIZATION,
                "name": organization.name,
                "external_id": organization.external_id,
                "owner_id": organization.owner_id,
                "team_id": organization.team_id,
            }
        )
    empty: list[list] = [[] for _ in rows]
    _insert_parties(rows, actor=actor, now=now, contacts=empty, companies=empty, tags=empty)
    return [o.pk for o in organizations]


def organizations_for_drafts_create(
    *, actor: User | None, drafts: Sequence[PartyDraft]
) -> list[int]:
    """Create the organisations the drafts' persons work for and no one found (an update
    links its party to them); ``party_drafts_create`` does this itself. Returns their ids;
    each draft's ``organization`` is set."""
    with transaction.atomic():
        return _new_organizations(drafts, actor=actor, now=timezone.now())


def party_drafts_create(
    *, actor: User | None, drafts: Sequence[PartyDraft]
) -> tuple[list[int], list[int]]:
    """Insert validated drafts (``party_rows_clean``) with everything that belongs to them,
    in a fixed number of statements whatever the number of rows: parties, contact points,
    addresses, roles, tags, employments, their "created" history (by ``actor``) and search
    entries. Returns the new parties' ids (in the drafts' order) and the ids of the
    organisations created for employments. Runs in the caller's transaction (in a savepoint
    of its own, so a failure leaves nothing half-written)."""
    if not drafts:
        return [], []
    drafts = list(drafts)
    now = timezone.now()
    with transaction.atomic():
        organization_ids = _new_organizations(drafts, actor=actor, now=now)
        ids = reserve_ids(Party, len(drafts))
        rows = [_party_row(pk, d) for pk, d in zip(ids, drafts, strict=True)]
        tags = tags_by_name(t for d in drafts for t in d.tags)
        points, addresses, roles, employments = [], [], [], []
        contacts, companies = [], []
        shown: dict[tuple, bool] = {}
        for pk, draft in zip(ids, drafts, strict=True):
            for kind, value, label, is_primary in draft.contacts:
                points.append(
                    {
                        "party_id": pk,
                        "kind": kind,
                        "value": value,
                        "label": label,
                        "is_primary": is_primary,
                    }
                )
            contacts.append([(k, v, p) for k, v, _label, p in draft.contacts])
            addresses.extend({"party_id": pk, **address} for address in draft.addresses)
            roles.extend({"party_id": pk, "role": role} for role in draft.roles)
            names = []
            if draft.organization is not None:
                employments.append(
                    {
                        "person_id": pk,
                        "organization_id": draft.organization.pk,
                        "position": draft.position,
                        "department": draft.department,
                        "is_primary_contact": False,
                    }
                )
                # The rule reads the two owners and teams only: asked once per combination.
                organization = draft.organization
                pair = (draft.owner_id, draft.team_id, organization.owner_id, organization.team_id)
                if pair not in shown:
                    person = _Values(pk, draft.kind, "", "", "", None, "", *pair[:2])
                    shown[pair] = seen_by_the_same(person, organization)
                if shown[pair]:
                    names.append(organization.name)
            companies.append(names)
        _insert_parties(
            rows,
            actor=actor,
            now=now,
            contacts=contacts,
            companies=companies,
            tags=[[tags[t.casefold()] for t in d.tags] for d in drafts],
        )
        insert_rows(ContactPoint, points)
        insert_rows(Address, addresses)
        insert_rows(PartyRoleAssignment, roles)
        for employment, pk in zip(
            employments, reserve_ids(Employment, len(employments)), strict=True
        ):
            employment["id"] = pk
        insert_rows(Employment, employments)
        if employments:
            _history_rows(Employment, employments, actor=actor, now=now)
    return ids, organization_ids


def parties_bulk_create(
    *,
    actor: User | None,
    rows: Sequence[Mapping[str, Any]],
    kind: str | None = None,
    create_organizations: bool = False,
) -> BulkCreated:
    """Validate all rows and insert the valid ones; the others come back as ``errors``."""
    drafts, errors = party_rows_clean(
        actor=actor, rows=rows, kind=kind, create_organizations=create_organizations
    )
    ids, organizations = party_drafts_create(actor=actor, drafts=drafts)
    result: list[int | None] = [None] * len(rows)
    for draft, pk in zip(drafts, ids, strict=True):
        result[draft.row] = pk
    return BulkCreated(ids=result, organizations=organizations, errors=errors)


def errors_as_validation_error(errors: Iterable[RowError]) -> ValidationError:
    """Row errors in the API's form: ``items.<row>.<field>`` (``items.<row>`` for the row)."""
    messages: dict[str, list[str]] = defaultdict(list)
    for error in errors:
        key = f"items.{error.row}" + (f".{error.field}" if error.field else "")
        messages[key].append(error.message)
    return ValidationError(dict(messages))


@transaction.atomic
def parties_bulk_create_all_or_nothing(
    *,
    actor: User | None,
    rows: Sequence[Mapping[str, Any]],
    kind: str | None = None,
    failed: Iterable[RowError] = (),
) -> list[int]:
    """The bulk-create API: every row valid, or nothing is written and a ValidationError
    names each problem by row (``items.3.emails.0``). ``failed``: problems the caller found
    already (a reference it could not resolve); those rows fail too. Once committed,
    ``signals.parties_bulk_created`` names the new parties (webhooks)."""
    drafts, errors = party_rows_clean(actor=actor, rows=rows, kind=kind)
    errors = sorted([*errors, *failed], key=lambda e: e.row)
    if errors:
        raise errors_as_validation_error(errors)
    ids, _organizations = party_drafts_create(actor=actor, drafts=drafts)
    transaction.on_commit(
        lambda: parties_bulk_created.send(sender=Party, ids=list(ids), actor=actor)
    )
    return ids
