"""The import engine: the interface every record type's import handler implements, the registry,
and the one pipeline a chunk of rows goes through (check and import alike).

A chunk of file rows passes four steps::

    rows = [SourceRow(number, raw, values), ...]    # the file's cells, mapped to targets
    prepared, problems = handler.prepare(rows, ctx)  # validate, normalise, resolve; no writes
    handler.match(prepared, ctx)                     # duplicates: in the database, in the file
    decide(prepared, ctx)                            # create / update / merge / skip per row
    records = handler.write(to_write, ctx)           # only when importing: in the chunk's
                                                     # transaction, with what undo needs

The check (dry run) stops before ``write``. The import runs every chunk in ONE transaction
together with its ``ImportRecord`` and ``ImportRowError`` rows and the job's counters, so a
worker killed at any moment leaves the chunk either complete and recorded or absent
(``kreis.migration.services.import_run``).

Writing a handler (one module per record type, registered on import)::

    class PersonHandler(Handler):
        entity = "person"
        model = Party

        def prepare(self, rows, ctx): ...
        def match(self, prepared, ctx): ...
        def write(self, prepared, ctx): ...

    register_handler(PersonHandler())

The handler modules are listed in ``HANDLER_MODULES``; ``handler_for(entity)`` imports the
module on first use. Performance matters (≥ 50,000 rows/s): a handler works on the whole chunk
at once — one query per lookup per chunk (``filter(email__in=…)``), ``bulk_create`` — never one
query per row. The engine adds no per-row queries either.
"""

from __future__ import annotations

import importlib
import itertools
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from django.core.exceptions import FieldDoesNotExist
from django.db import models, transaction

from kreis.core.purge import purge
from kreis.migration.models import DuplicateMode, RecordAction

if TYPE_CHECKING:
    from kreis.core.models import User
    from kreis.migration.models import ImportJob


# --- what flows through a chunk ----------------------------------------------------------


@dataclass(slots=True)
class SourceRow:
    """One data row of the file.

    ``number`` is the row as the user sees it in a spreadsheet (the header is row 1, so the
    first data row is 2); problems, the error CSV and the wizard's fixes all use it.
    ``raw`` is every cell in the file's column order (for the error CSV). ``values`` holds the
    mapped cells by target key (``"name"``, ``"email"``, ``"custom.<key>"`` …), stripped;
    columns mapped to nothing are left out, empty cells are ``""``.
    """

    number: int
    raw: list[str]
    values: dict[str, str]


@dataclass(slots=True)
class RowProblem:
    """What is wrong with a row: ``column`` is the file's header of the cell at fault (use
    ``ctx.column(target)``), ``""`` when the row as a whole is at fault. ``message`` is for
    the user, translated (gettext) in the active language."""

    row: int
    column: str
    message: str


class Action:
    """What happens to a prepared row (``Prepared.action``)."""

    CREATE = "create"
    UPDATE = "update"
    MERGE = "merge"
    SKIP = "skip"


@dataclass(slots=True)
class Prepared:
    """A valid row, normalised and ready to write.

    ``data`` is the handler's own (field values, resolved foreign keys, contact points …).
    ``match(...)`` sets ``existing_id`` (the record in the database the row is the same as;
    it wins) or ``same_as_row`` (the number of an earlier row of this file with the same key,
    in this chunk or an earlier one), and ``match_by`` (``"external_id"``, ``"email"``,
    ``"phone"``, ``"name"`` …) for the report. ``decide`` then sets ``action``.
    ``write(...)`` may change ``action`` to ``Action.SKIP`` for an update that changes nothing
    (counted as unchanged/skipped) and sets ``object_id`` to the record written.
    """

    row: SourceRow
    data: dict[str, Any]
    existing_id: int | None = None
    same_as_row: int | None = None
    match_by: str = ""
    action: str = Action.CREATE
    object_id: int | None = None


# --- the context of one import -----------------------------------------------------------


@dataclass
class Context:
    """Everything a handler may need besides the rows; one per check or run of a job.

    ``mapping`` is header → target. ``options`` are the job's (``skip_invalid``, ``owner``
    default …). ``cache`` is the handler's own, kept for the whole check or run: look-up
    tables loaded once (users by name, stages, custom field definitions). ``seen`` is the
    within-file duplicate memory: key → row number of the first row with that key, kept
    across chunks (a handler adds e.g. ``("email", "a@b.de")`` in ``match``).
    ``dry_run`` is True during the check: ``write`` is never called then.
    """

    entity: str
    actor: User | None
    mapping: dict[str, str]
    duplicate_mode: str = DuplicateMode.UPDATE
    options: dict[str, Any] = field(default_factory=dict)
    job: ImportJob | None = None
    dry_run: bool = False
    cache: dict[str, Any] = field(default_factory=dict)
    seen: dict[Any, int] = field(default_factory=dict)

    def column(self, target: str) -> str:
        """The file's header mapped to ``target`` (for ``RowProblem.column``), else the key."""
        columns = self.cache.get("_columns")
        if columns is None:
            columns = self.cache["_columns"] = {t: h for h, t in self.mapping.items() if t}
        return columns.get(target, target)

    def record(
        self,
        prepared: Prepared,
        *,
        model: type[models.Model] | str,
        object_id: int,
        action: str,
        before: dict[str, Any] | None = None,
        merge_id: int | None = None,
    ) -> RecordEntry:
        """The undo log entry for what ``write`` did to one record; the engine inserts the
        chunk's entries as ``ImportRecord`` rows in the chunk's transaction (in bulk, without
        a model instance each). ``before`` holds an updated record's previous values
        (JSON-able, by field name) — undo writes them back."""
        label = model if isinstance(model, str) else model._meta.label_lower
        return RecordEntry(prepared.row.number, label, object_id, action, before, merge_id)


@dataclass(slots=True)
class RecordEntry:
    """One ``ImportRecord`` to be: what an import did to one record (``Context.record``)."""

    row: int
    model: str  # "<app_label>.<model_name>"
    object_id: int
    action: str  # RecordAction
    before: dict[str, Any] | None = None
    merge_id: int | None = None
    pk: int = 0  # the ImportRecord's id, once stored (undo reads them back newest first)


# --- the handler interface ---------------------------------------------------------------


class Handler(ABC):
    """Imports one record type. Subclasses set ``entity`` and ``model`` and implement
    ``prepare``, ``match`` and ``write``; ``undo`` has a correct default that handlers of
    large or related records override with a faster one."""

    entity: ClassVar[str]
    model: ClassVar[type[models.Model]]

    def group(self, row: SourceRow) -> Any:
        """Rows that belong together (a transaction's lines: the same external ID or number)
        return the same non-None key; consecutive rows with one key are never split across
        two chunks, so they are written, and undone, together. None: every row stands alone."""
        return None

    @abstractmethod
    def prepare(
        self, rows: Sequence[SourceRow], ctx: Context
    ) -> tuple[list[Prepared], list[RowProblem]]:
        """Validate and normalise the rows and resolve their references (owner, stage,
        organisation, product …) — without writing anything. Returns the valid rows and the
        problems of the invalid ones (a row with any problem is left out of ``prepared``)."""

    @abstractmethod
    def match(self, prepared: list[Prepared], ctx: Context) -> None:
        """Find duplicates: set ``existing_id`` from the database (external ID, normalised
        e-mail, phone, name + company — the same rules as the duplicate warning) and
        ``same_as_row`` from ``ctx.seen`` for rows repeating an earlier one of the file."""

    @abstractmethod
    def write(self, prepared: list[Prepared], ctx: Context) -> list[RecordEntry]:
        """Write the rows per their ``action`` (create, update, merge; skipped rows are not
        passed) inside the chunk's transaction, and return one ``ctx.record(...)`` per record
        created, updated or merged — everything undo needs. Rows whose duplicate is an earlier
        row of the same chunk are never passed together with that row: the engine writes them
        in a second round, after the earlier row, and matches them again first."""

    def undo(self, records: Sequence[RecordEntry], ctx: Context) -> None:
        """Revert what ``records`` (one chunk of the job's ``ImportRecord``s, newest first, read
        back as ``RecordEntry``s with their ``pk``) did: merges
        undone, updated records given their ``before`` values, created records deleted. Called
        inside a transaction; the engine deletes the records afterwards."""
        undo_records(records, actor=ctx.actor)


# --- registry ----------------------------------------------------------------------------

# Where each record type's handler lives; the module registers it when imported.
HANDLER_MODULES = {
    "organization": "kreis.migration.handlers.parties",
    "person": "kreis.migration.handlers.parties",
    "lead": "kreis.migration.handlers.leads",
    "deal": "kreis.migration.handlers.deals",
    "activity": "kreis.migration.handlers.activities",
    "product": "kreis.migration.handlers.products",
    "transaction": "kreis.migration.handlers.transactions",
}

_HANDLERS: dict[str, Handler] = {}


def register_handler(handler: Handler) -> Handler:
    """Make ``handler`` the one for its ``entity`` (a later registration replaces it)."""
    _HANDLERS[handler.entity] = handler
    return handler


def handler_for(entity: str) -> Handler:
    """The handler of a record type; ``LookupError`` when there is none."""
    if entity not in _HANDLERS and entity in HANDLER_MODULES:
        try:
            importlib.import_module(HANDLER_MODULES[entity])
        except ModuleNotFoundError as exc:
            if exc.name != HANDLER_MODULES[entity]:
                raise
    try:
        return _HANDLERS[entity]
    except KeyError:
        raise LookupError(f"No import handler for {entity!r}.") from None


# --- rows from the file ------------------------------------------------------------------


def source_rows(
    cells: Iterable[Sequence[Any]],
    *,
    headers: Sequence[str],
    mapping: dict[str, str],
    fixes: dict[str, dict[str, str]] | None = None,
    first: int = 0,
) -> Iterator[SourceRow]:
    """The file's data rows as ``SourceRow``s, starting after the first ``first`` data rows
    (a resumed import). ``fixes`` are the wizard's corrections: row number (as text, JSON
    keys) → header → new cell text; they replace the file's cells."""
    fixes = fixes or {}
    width = len(headers)
    index = {h: i for i, h in enumerate(headers)}
    pairs = [(index[h], t) for h, t in mapping.items() if t and h in index]
    number = first + 1
    # The readers give lists of strings padded to the headers; anything else is made so.
    for row in itertools.islice(cells, first, None):
        number += 1
        raw = row if type(row) is list else ["" if c is None else str(c) for c in row]
        if len(raw) < width:
            raw = [*raw, *[""] * (width - len(raw))]
        if fixes and (fix := fixes.get(str(number))):
            raw = list(raw)
            for header, value in fix.items():
                if header in index:
                    raw[index[header]] = value
        yield SourceRow(number, raw, {t: raw[i].strip() for i, t in pairs})


def chunks(
    rows: Iterable[SourceRow], size: int, *, handler: Handler | None = None
) -> Iterator[list[SourceRow]]:
    """The rows in chunks of about ``size``; a chunk is only cut between two rows of
    different ``handler.group`` (so it may grow past ``size`` by one group)."""
    chunk: list[SourceRow] = []
    last: Any = None
    for row in rows:
        key = handler.group(row) if handler is not None else None
        if len(chunk) >= size and (key is None or key != last):
            yield chunk
            chunk = []
        chunk.append(row)
        last = key
    if chunk:
        yield chunk


# --- one chunk through the pipeline ------------------------------------------------------


@dataclass
class ChunkResult:
    """What a chunk did (or, in a check, would do). ``counts`` keys: ``create``, ``update``,
    ``merge``, ``skip`` (rows), ``unchanged`` (updates that changed nothing, also in skip),
    ``invalid`` (rows with problems), ``in_file`` (rows repeating an earlier row of the file),
    ``existing`` (rows matching a record in the database)."""

    prepared: list[Prepared] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    records: list[RecordEntry] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)


_MODE_ACTION = {
    DuplicateMode.CREATE: Action.CREATE,
    DuplicateMode.UPDATE: Action.UPDATE,
    DuplicateMode.SKIP: Action.SKIP,
    DuplicateMode.MERGE: Action.MERGE,
}


def decide(prepared: Iterable[Prepared], ctx: Context) -> None:
    """Each row's action from its match and the import's duplicate mode: no duplicate →
    create; a duplicate → the mode's action (create anyway, update, skip, merge)."""
    duplicate = _MODE_ACTION[DuplicateMode(ctx.duplicate_mode)]
    for p in prepared:
        is_duplicate = p.existing_id is not None or p.same_as_row is not None
        p.action = duplicate if is_duplicate else Action.CREATE


def process_chunk(handler: Handler, rows: list[SourceRow], ctx: Context) -> ChunkResult:
    """Run one chunk through prepare → match → decide, and unless ``ctx.dry_run`` → write.

    When writing, the caller holds the chunk's transaction. Rows whose duplicate is an
    earlier row of this same chunk (not yet in the database) wait for a later round, in which
    ``match`` finds the record the earlier row wrote; so update and merge apply to it, and
    skip skips. In a check they are counted by the mode's action without a second round."""
    result = ChunkResult()
    prepared, problems = handler.prepare(rows, ctx)
    result.problems = problems
    result.counts["invalid"] = len({p.row for p in problems})
    result.prepared = prepared
    pending = prepared
    first_round = True
    while pending:
        handler.match(pending, ctx)
        decide(pending, ctx)
        if first_round:
            result.counts["existing"] += sum(p.existing_id is not None for p in pending)
            result.counts["in_file"] += sum(
                p.existing_id is None and p.same_as_row is not None for p in pending
            )
        first_round = False
        if ctx.dry_run:
            result.counts.update(p.action for p in pending)
            break
        numbers = {p.row.number for p in pending}
        now, later = [], []
        for p in pending:
            waits = (
                p.existing_id is None
                and p.same_as_row in numbers
                and p.action in (Action.UPDATE, Action.MERGE)
            )
            (later if waits else now).append(p)
        if not now:  # a cycle cannot happen (same_as_row points back), but never spin
            now, later = later, []
        writing = [p for p in now if p.action != Action.SKIP]
        result.counts[Action.SKIP] += len(now) - len(writing)
        if writing:
            result.records.extend(handler.write(writing, ctx))
            for p in writing:
                result.counts[p.action] += 1
                if p.action == Action.SKIP:
                    result.counts["unchanged"] += 1
        for p in later:
            p.same_as_row, p.existing_id = None, None
        pending = later
    return result


# --- undo helpers ------------------------------------------------------------------------


def delete_by_ids(model: type[models.Model], ids: Iterable[int]) -> int:
    """Delete the rows ``ids`` of ``model`` for good, with every row that depends on them
    (related rows, history rows, search entries), in a few set-based statements per model
    (``kreis.core.purge``): no per-row signal, no history row for the delete — the records
    vanish as if the import had never written them."""
    return purge(model, ids)


def model_for(label: str) -> type[models.Model]:
    from django.apps import apps

    return apps.get_model(label)


def undo_records(records: Sequence[RecordEntry], *, actor: User | None) -> None:
    """The default undo of a chunk of records: merges undone (newest first), updated records
    given back their ``before`` values in bulk (with a history row each where the model
    keeps history), created records purged (models written last first)."""
    from kreis.parties.models import PartyMerge
    from kreis.parties.services import party_merge_undo

    merges = [r for r in records if r.action == RecordAction.MERGED and r.merge_id]
    for merge in PartyMerge.objects.filter(
        pk__in=[r.merge_id for r in merges], undone_at=None
    ).order_by("-pk"):
        party_merge_undo(actor=None, merge=merge)
    updated: dict[str, dict[int, dict[str, Any]]] = {}
    for record in records:  # newest first: a field's oldest ``before`` value wins
        if record.action == RecordAction.UPDATED and record.before:
            values = restorable(model_for(record.model), record.before)
            updated.setdefault(record.model, {}).setdefault(record.object_id, {}).update(values)
    for label, values_of in updated.items():
        restore_updated(model_for(label), values_of, actor=actor)
    created: dict[str, list[int]] = {}
    for record in sorted(records, key=lambda r: -r.pk if r.pk else 0):
        if record.action == RecordAction.CREATED:
            created.setdefault(record.model, []).append(record.object_id)
    with transaction.atomic():
        for label, ids in created.items():
            delete_by_ids(model_for(label), ids)


def restore_updated(
    model: type[models.Model], values_of: dict[int, dict[str, Any]], *, actor: User | None
) -> None:
    """Give records their previous values (pk → ``restorable`` values) back: one bulk update
    per set of fields, and a history row each ("changed", by ``actor``) when the model keeps
    history. Records deleted since are left out."""
    from simple_history.utils import bulk_update_with_history

    by_fields: dict[tuple[str, ...], dict[int, dict[str, Any]]] = {}
    for pk, values in values_of.items():
        if values:
            by_fields.setdefault(tuple(sorted(values)), {})[pk] = values
    keeps_history = getattr(model._meta, "simple_history_manager_attribute", None)
    for fields, group in by_fields.items():
        ids = list(group)
        for start in range(0, len(ids), 1000):
            objs = list(model._base_manager.filter(pk__in=ids[start : start + 1000]))
            for obj in objs:
                for attname, value in group[obj.pk].items():
                    setattr(obj, attname, value)
            if keeps_history:
                bulk_update_with_history(
                    objs, model, list(fields), batch_size=100, default_user=actor
                )
            else:
                model._base_manager.bulk_update(objs, list(fields), batch_size=100)


def restorable(model: type[models.Model], before: dict[str, Any]) -> dict[str, Any]:
    """``before`` (field name or attname → JSON value) as values for ``update(...)``, each
    converted back to the field's Python type (dates, decimals)."""
    values: dict[str, Any] = {}
    for name, value in before.items():
        try:
            field_ = model._meta.get_field(name)
        except FieldDoesNotExist:  # an attname such as owner_id
            field_ = next((f for f in model._meta.concrete_fields if f.attname == name), None)
            if field_ is None:
                continue
        attname = getattr(field_, "attname", name)
        values[attname] = None if value is None else field_.to_python(value)
    return values


def snapshot(instance: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """An instance's values of ``fields`` as JSON (for ``ImportRecord.before``)."""
    out: dict[str, Any] = {}
    for name in fields:
        field_ = instance._meta.get_field(name)
        value = getattr(instance, getattr(field_, "attname", name))
        if value is None or isinstance(value, str | int | float | bool | dict | list):
            out[getattr(field_, "attname", name)] = value
        else:
            out[getattr(field_, "attname", name)] = field_.value_to_string(instance)
    return out
