"""What the handlers of leads, deals, activities, products and transactions share: reading a
row's typed values with problems that name the column, and resolving references for a whole
chunk at once (users, teams, parties, products, pipelines and stages, leads, deals).

Look-up tables that are small and fixed for an import (users, teams, pipelines, stages, lost
reasons, choice labels) are loaded once per run into ``ctx.cache``; references to records of
which there are many (parties, products, deals, leads) are read per chunk with one query per
kind of key (``filter(external_id__in=…)``), never per row. Only records the importing user
may see are found.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet, TextChoices
from django.db.models.functions import Lower
from django.utils import translation
from django.utils.translation import gettext as _

from kreis.core.models import Team, User
from kreis.core.queries import visible_records
from kreis.core.services import check_assignment
from kreis.migration import targets, values
from kreis.migration.engine import Action, Context, Prepared, RowProblem, SourceRow
from kreis.migration.models import ImportRecord, RecordAction
from kreis.parties.models import ContactKind, ContactPoint, Party
from kreis.parties.normalize import normalize_email

AMBIGUOUS: Any = object()  # a key that names several records


class RowReader:
    """The typed values of one row; every problem names the row and the file's column."""

    def __init__(self, row: SourceRow, ctx: Context):
        self.row = row
        self.ctx = ctx
        self.problems: list[RowProblem] = []

    def problem(self, key: str, message: str) -> None:
        self.problems.append(RowProblem(self.row.number, self.ctx.column(key), message))

    def text(self, key: str, *, max_length: int | None = None, required: bool = False) -> str:
        value = self.row.values.get(key, "")
        if required and not value:
            self.problem(key, _("This field is required."))
        elif max_length is not None and len(value) > max_length:
            self.problem(key, _("At most %(n)d characters.") % {"n": max_length})
            return value[:max_length]
        return value

    def _parsed(self, key: str, parse, **kwargs) -> Any:
        value = self.row.values.get(key, "")
        if not value:
            return None
        try:
            return parse(value, **kwargs)
        except ValueError as exc:
            self.problem(key, str(exc))
            return None

    def decimal(self, key: str) -> Decimal | None:
        return self._parsed(
            key, values.parse_decimal, decimal_comma=self.ctx.options.get("decimal_comma")
        )

    def integer(self, key: str) -> int | None:
        return self._parsed(
            key, values.parse_int, decimal_comma=self.ctx.options.get("decimal_comma")
        )

    def date(self, key: str) -> dt.date | None:
        return self._parsed(key, values.parse_date, day_first=self.ctx.options.get("day_first"))

    def datetime(self, key: str) -> dt.datetime | None:
        return self._parsed(key, values.parse_datetime, day_first=self.ctx.options.get("day_first"))

    def boolean(self, key: str) -> bool | None:
        return self._parsed(key, values.parse_bool)

    def choice(self, key: str, choices: type[TextChoices]) -> str:
        """A stored value, given as the value or its label in German or English."""
        value = self.row.values.get(key, "")
        if not value:
            return ""
        found = choice_labels(self.ctx, choices).get(value.casefold())
        if found is None:
            self.problem(key, _("“%(value)s” is not one of the choices.") % {"value": value})
            return ""
        return found

    def tags(self, key: str = "tags") -> list[str]:
        value = self.row.values.get(key, "")
        return [t.strip()[:50] for t in value.replace(";", ",").split(",") if t.strip()]


def choice_labels(ctx: Context, choices: type[TextChoices]) -> dict[str, str]:
    """casefolded value or label (German and English) → stored value."""
    key = f"choices:{choices.__module__}.{choices.__qualname__}"
    table = ctx.cache.get(key)
    if table is None:
        table = {}
        for language in ("en", "de"):
            with translation.override(language):
                for value, label in choices.choices:
                    table.setdefault(str(label).casefold(), value)
        for value in choices.values:
            table[value.casefold()] = value
        ctx.cache[key] = table
    return table


# --- users and teams ------------------------------------------------------------------------


def _users(ctx: Context) -> dict[str, Any]:
    table = ctx.cache.get("users")
    if table is None:
        table = {}
        for user in User.objects.filter(is_active=True):
            keys = {user.username.casefold(), user.get_full_name().casefold()}
            if user.email:
                keys.add(user.email.casefold())
            for name in keys - {""}:
                table[name] = AMBIGUOUS if table.get(name, user) is not user else user
        ctx.cache["users"] = table
    return table


def _teams(ctx: Context) -> dict[str, Team]:
    table = ctx.cache.get("teams")
    if table is None:
        table = {t.name.casefold(): t for t in Team.objects.all()}
        ctx.cache["teams"] = table
    return table


def owner_and_team(reader: RowReader) -> tuple[User | None, Team | None, bool]:
    """The row's owner (by user name, e-mail or full name) and team (by name), checked as the
    services check an assignment (once per pair and import). The third value says whether
    either was given; a problem leaves both None."""
    ctx = reader.ctx
    owner_text, team_text = reader.text("owner"), reader.text("team")
    owner = team = None
    if owner_text:
        owner = _users(ctx).get(owner_text.casefold())
        if owner is AMBIGUOUS:
            reader.problem("owner", _("Several users have this name; use the user name."))
            owner = None
        elif owner is None:
            reader.problem("owner", _("No active user “%(value)s”.") % {"value": owner_text})
    if team_text:
        team = _teams(ctx).get(team_text.casefold())
        if team is None:
            reader.problem("team", _("No team “%(value)s”.") % {"value": team_text})
    if reader.problems:
        return None, None, bool(owner_text or team_text)
    if owner is not None or team is not None:
        checked = ctx.cache.setdefault("assignments", {})
        pair = (getattr(owner, "pk", None), getattr(team, "pk", None))
        if pair not in checked:
            try:
                check_assignment(actor=ctx.actor, owner=owner, team=team)
                checked[pair] = ""
            except ValidationError as exc:
                checked[pair] = "; ".join(exc.messages)
        if checked[pair]:
            reader.problem("owner" if owner is not None else "team", checked[pair])
            return None, None, True
    return owner, team, bool(owner_text or team_text)


def assigned_row(reader: RowReader, data: dict[str, Any], given: set[str]) -> dict | None:
    """The end of a lead's or deal's row: owner and team (the row's, else the importing user
    and their first team), custom-field values, and for updates the fields the row gave
    (``_given``, starting from ``given``) and its tags (``_tags``); None when the row has
    problems."""
    owner, team, assigned = owner_and_team(reader)
    if assigned:
        data["owner"], data["team"] = owner, team
        given |= {k for k in ("owner", "team") if data[k] is not None}
    else:
        data["owner"], data["team"] = reader.ctx.actor, actor_first_team(reader.ctx)
    custom = custom_values(reader)
    if custom:
        data["custom"] = custom
        given.add("custom")
    if reader.problems:
        return None
    data["_given"], data["_tags"] = given, reader.tags() or None
    return data


def actor_first_team(ctx: Context) -> Team | None:
    if "actor_team" not in ctx.cache:
        actor = ctx.actor
        ctx.cache["actor_team"] = (
            Team.objects.filter(pk__in=actor.team_ids()).order_by("pk").first()
            if actor is not None
            else None
        )
    return ctx.cache["actor_team"]


# --- records by key, per chunk ---------------------------------------------------------------


def visible(ctx: Context, queryset: QuerySet) -> QuerySet:
    return queryset if ctx.actor is None else visible_records(queryset, user=ctx.actor)


def by_external_id(ctx: Context, queryset: QuerySet, keys: Iterable[str]) -> dict[str, Model]:
    """Visible records of ``queryset`` by external ID."""
    keys = sorted({k for k in keys if k})
    found: dict[str, Model] = {}
    for start in range(0, len(keys), 900):
        part = keys[start : start + 900]
        for record in visible(ctx, queryset.filter(external_id__in=part)):
            found[record.external_id] = record
    return found


def external_ids_taken(ctx: Context, model: type[Model], keys: Iterable[str]) -> set[str]:
    """External IDs of records of ``model`` the user cannot update (deleted, or not
    visible): a row with one can neither create a record (the ID is unique) nor update it."""
    keys = sorted(set(keys) - {""})
    if not keys:
        return set()
    taken = model._default_manager.filter(external_id__in=keys)
    usable = visible(ctx, taken.filter(deleted_at__isnull=True))
    return set(taken.values_list("external_id", flat=True)) - set(
        usable.values_list("external_id", flat=True)
    )


def parties_by_email(ctx: Context, emails: Iterable[str]) -> dict[str, Any]:
    """normalised e-mail → the visible party with it (``AMBIGUOUS`` when several)."""
    wanted = {}
    for raw in emails:
        if raw:
            try:
                wanted[normalize_email(raw)] = raw
            except ValidationError:
                continue
    found: dict[str, Any] = {}
    if not wanted:
        return found
    keys = sorted(wanted)
    owners: dict[int, list[str]] = defaultdict(list)
    for start in range(0, len(keys), 900):
        points = ContactPoint.objects.filter(
            kind=ContactKind.EMAIL, value__in=keys[start : start + 900]
        ).values_list("party_id", "value")
        for party_id, value in points:
            owners[party_id].append(value)
    parties = visible(ctx, Party.objects.filter(pk__in=list(owners), deleted_at__isnull=True))
    for party in parties:
        for value in owners[party.pk]:
            found[value] = AMBIGUOUS if value in found and found[value] != party else party
    return found


def parties_by_name(ctx: Context, names: Iterable[str], *, kind: str = "") -> dict[str, Any]:
    """casefolded name → the visible party with exactly that name, case ignored
    (``AMBIGUOUS`` when several). For persons the full name (first and last)."""
    keys = sorted({n.casefold() for n in names if n})
    found: dict[str, Any] = {}
    if not keys:
        return found
    base = Party.objects.filter(deleted_at__isnull=True)
    if kind:
        base = base.filter(kind=kind)
    originals = sorted({n for n in names if n})
    candidates = list(visible(ctx, base.filter(name__in=originals)))
    missing = set(keys) - {p.name.casefold() for p in candidates}
    if missing:
        lowered = base.annotate(lower_name=Lower("name")).filter(lower_name__in=sorted(missing))
        candidates += list(visible(ctx, lowered))
    seen: set[int] = set()
    for party in candidates:
        if party.pk in seen:
            continue
        seen.add(party.pk)
        key = party.name.casefold()
        found[key] = AMBIGUOUS if key in found else party
    return found


def resolve_party(
    reader: RowReader,
    *,
    by_id: dict[str, Model],
    by_email: dict[str, Any],
    by_name: dict[str, Any],
    prefix: str = "party",
    email_key: str | None = None,
    kind: str = "",
) -> Party | None:
    """The party a row names by ``<prefix>_external_id``, ``<prefix>_email`` (or
    ``email_key``) or ``<prefix>`` (its name), in that order; a problem when it is unknown."""
    external = reader.row.values.get(f"{prefix}_external_id", "")
    email_key = email_key or f"{prefix}_email"
    email = reader.row.values.get(email_key, "")
    name = reader.row.values.get(prefix, "")
    party: Any = None
    if external:
        party, key, given = by_id.get(external), f"{prefix}_external_id", external
    elif email:
        try:
            normalised = normalize_email(email)
        except ValidationError as exc:
            reader.problem(email_key, "; ".join(exc.messages))
            return None
        party, key, given = by_email.get(normalised), email_key, email
    elif name:
        party, key, given = by_name.get(name.casefold()), prefix, name
    else:
        return None
    if party is AMBIGUOUS:
        reader.problem(key, _("Several records match “%(value)s”.") % {"value": given})
        return None
    if party is None or (kind and party.kind != kind):
        reader.problem(
            key, _("No such record “%(value)s”, or you may not see it.") % {"value": given}
        )
        return None
    return party


def column_values(rows: Iterable[SourceRow], key: str) -> set[str]:
    return {r.values.get(key, "") for r in rows} - {""}


def custom_values(reader: RowReader) -> dict[str, Any]:
    """The row's custom-field cells (``custom.<key>``), typed by the field's kind; checked
    against the field definitions by the domain's ``clean_custom_values``."""
    ctx = reader.ctx
    kinds = ctx.cache.get("custom_kinds")
    if kinds is None:
        kinds = {t.key: t.kind for t in targets.custom_targets(ctx.entity)}
        ctx.cache["custom_kinds"] = kinds
    found: dict[str, Any] = {}
    for key, text in reader.row.values.items():
        if not key.startswith(targets.CUSTOM_PREFIX) or not text:
            continue
        kind = kinds.get(key, targets.TEXT)
        if kind == targets.DECIMAL:
            value: Any = reader.decimal(key)
            value = None if value is None else str(value)
        elif kind == targets.DATE:
            value = reader.date(key)
            value = None if value is None else value.isoformat()
        elif kind == targets.BOOL:
            value = reader.boolean(key)
        elif kind == targets.LIST:
            value = reader.tags(key)
        else:
            value = text
        if value is not None:
            found[key.removeprefix(targets.CUSTOM_PREFIX)] = value
    return found


# --- the steps every handler of these record types takes the same way -----------------------


def match_external_ids(
    prepared: list[Prepared], ctx: Context, queryset: QuerySet, key_of: Callable[[Prepared], str]
) -> None:
    """Duplicates by external ID: the visible live record with it (``existing_id``), else an
    earlier row of the file with it (``same_as_row``)."""
    keys = [key_of(p) for p in prepared if key_of(p)]
    existing = dict(
        visible(ctx, queryset.filter(external_id__in=keys, deleted_at__isnull=True)).values_list(
            "external_id", "pk"
        )
    )
    label = queryset.model._meta.label_lower
    for p in prepared:
        external = key_of(p)
        p.existing_id = existing.get(external) if external else None
        p.same_as_row = None
        p.match_by = "external_id" if p.existing_id else ""
        if external:
            first = ctx.seen.setdefault((label, external), p.row.number)
            if p.existing_id is None and first != p.row.number:
                p.same_as_row, p.match_by = first, "external_id"


def creations(
    prepared: Sequence[Prepared], *, unique: Callable[[Prepared], bool]
) -> list[Prepared]:
    """The rows to create. "Create anyway" cannot give a second record a unique key: a row
    whose duplicate was found by such a key (``unique``) is skipped."""
    new = []
    for p in prepared:
        if p.action == Action.CREATE and (p.existing_id or p.same_as_row) and unique(p):
            p.action = Action.SKIP
        elif p.action == Action.CREATE:
            new.append(p)
    return new


def created_records(
    ctx: Context, rows: Sequence[Prepared], records: Sequence[Model]
) -> list[ImportRecord]:
    """One "created" record per row and the record written for it."""
    found = []
    for p, record in zip(rows, records, strict=True):
        p.object_id = record.pk
        found.append(
            ctx.record(p, model=type(record), object_id=record.pk, action=RecordAction.CREATED)
        )
    return found


def updated_records(
    ctx: Context, rows: Sequence[Prepared], changed: dict[int, dict], model: type[Model]
) -> list[ImportRecord]:
    """After an update of ``rows``' existing records: the ones that changed (``changed``:
    id → previous values) are updated, the others unchanged (counted as skipped)."""
    found = []
    for p in rows:
        p.object_id = p.existing_id
        if p.existing_id not in changed:
            p.action = Action.SKIP
            continue
        p.action = Action.UPDATE
        found.append(
            ctx.record(
                p,
                model=model,
                object_id=p.existing_id,
                action=RecordAction.UPDATED,
                before=changed[p.existing_id],
            )
        )
    return found
