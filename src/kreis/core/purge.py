"""Deleting many rows for good, with everything that depends on them, in a few set-based
statements: the way an import is undone (a million parties in seconds, where the ORM's
``delete()`` collects every related row in Python, sends two signals per row and writes a
history row for each).

What depends on a row is read from the models' ``_meta`` (so a new relation is followed
without a change here), starting from the rows' ids (the *keys*), table by table:

- a ``CASCADE`` relation: the referencing rows are purged the same way (recursively, their
  own dependants first), selected by ``fk IN (SELECT pk FROM parent WHERE …)``;
- ``SET_NULL``: the referencing column is set to NULL;
- ``PROTECT`` / ``RESTRICT``: when any row refers to the keys, ``ProtectedError`` is raised
  before anything is deleted (as the ORM does);
- the history rows (django-simple-history) of every row purged, and the history rows of
  related tables that point at it (``DO_NOTHING`` from a ``Historical…`` table) unless the live
  relation keeps the live row (``SET_NULL``: the deal's history still names its old contact);
- the global search entries of the purged records (``kreis.core.search``).

No signal is sent and no history row records the delete: this is for rows that are to vanish
as if never written (an import undone). Everything else deletes through the services.
Run it inside the caller's transaction; each statement carries the keys once, as one
parameter (PostgreSQL: an array; SQLite: a JSON array read by ``json_each``), so the number
of keys per call is limited only by memory.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache

from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db import connection, models
from django.db.models.deletion import ProtectedError, RestrictedError

# Stands in a statement's parameters for the keys (replaced when the statement runs).
KEYS = object()


@dataclass(frozen=True, slots=True)
class Where:
    """Rows of ``model`` matching ``sql`` (on its table, with ``params``)."""

    model: type[models.Model]
    sql: str
    params: tuple
    # The column compared directly with the keys (``col IN keys``), else None.
    keyed: str | None = None


@dataclass(frozen=True, slots=True)
class Step:
    """One statement of a purge. ``protect``: a query that finds rows blocking the delete."""

    sql: str
    params: tuple
    protect: tuple[type[models.Model], str] | None = None


def q(name: str) -> str:
    return connection.ops.quote_name(name)


def keys_sql() -> str:
    """The keys as the right-hand side of a comparison."""
    if connection.vendor == "postgresql":
        return "= ANY(%s::bigint[])"
    return "IN (SELECT value FROM json_each(%s))"


def keys_param(keys: Sequence[int]) -> str:
    """The keys as one text parameter: PostgreSQL's array literal (``{1,2,3}``; a Python list
    would be sent as ``ARRAY[1, 2, 3]``, 20,000 constants each statement parses again) or a
    JSON array for SQLite."""
    if connection.vendor == "postgresql":
        return "{" + ",".join(str(int(key)) for key in keys) + "}"
    return json.dumps([int(key) for key in keys])


def purge(model: type[models.Model], keys: Iterable[int]) -> int:
    """Delete the rows of ``model`` with these primary keys and everything depending on them
    (see the module's docstring). Returns the number of ``model`` rows deleted. Raises
    ``ProtectedError`` (nothing written) when a protected relation refers to one of them."""
    keys = sorted(set(keys))
    if not keys:
        return 0
    param = keys_param(keys)
    steps = plan(model)
    deleted = 0
    with connection.cursor() as cursor:
        for step in steps:
            if step.protect is not None:
                _check(cursor, step, param)
        for step in steps:
            if step.protect is None:
                cursor.execute(step.sql, [param if p is KEYS else p for p in step.params])
                deleted = cursor.rowcount
    return deleted  # the last statement deletes the model's own rows


def _check(cursor, step: Step, param) -> None:
    cursor.execute(step.sql, [param if p is KEYS else p for p in step.params])
    found = [row[0] for row in cursor.fetchall()]
    if not found:
        return
    blocker, field = step.protect or (None, "")
    objects = blocker._base_manager.filter(pk__in=found)
    on_delete = blocker._meta.get_field(field).remote_field.on_delete
    error = RestrictedError if on_delete is models.RESTRICT else ProtectedError
    raise error(
        f"Cannot delete these records: {blocker._meta.verbose_name_plural} refer to them "
        f"({blocker.__name__}.{field}).",
        set(objects),
    )


@cache
def plan(model: type[models.Model]) -> tuple[Step, ...]:
    """The statements that purge rows of ``model`` by primary key, dependants first; the
    last one deletes the rows themselves. Built once per model."""
    steps: list[Step] = []
    pk = model._meta.pk.column
    _visit(Where(model, f"{q(pk)} {keys_sql()}", (KEYS,), keyed=pk), steps, path=())
    return tuple(steps)


def _visit(where: Where, steps: list[Step], path: tuple[type[models.Model], ...]) -> None:
    model = where.model
    if model in path:
        raise ValueError(f"A cycle of cascading relations through {model.__name__}.")
    path = (*path, model)
    for rel in _reverse_relations(model):
        child = rel.related_model
        field = rel.field
        on_delete = field.remote_field.on_delete
        below = _referencing(child, field, where)
        if on_delete is models.CASCADE or (
            on_delete is models.DO_NOTHING and _history_follows(child, field)
        ):
            _visit(below, steps, path)
        elif on_delete is models.SET_NULL:
            table = q(child._meta.db_table)
            steps.append(
                Step(
                    f"UPDATE {table} SET {q(field.column)} = NULL WHERE {below.sql}",  # noqa: S608
                    below.params,
                )
            )
        elif on_delete in (models.PROTECT, models.RESTRICT):
            table = q(child._meta.db_table)
            steps.append(
                Step(
                    f"SELECT {q(child._meta.pk.column)} FROM {table} "  # noqa: S608
                    f"WHERE {below.sql} LIMIT 5",
                    below.params,
                    protect=(child, field.name),
                )
            )
        elif on_delete is not models.DO_NOTHING:
            # SET_DEFAULT and SET(...) need a value per row; no Kreis model uses them, and a
            # model that starts to must say here how its rows are purged, before any write.
            raise ImproperlyConfigured(
                f"{child.__name__}.{field.name}: on_delete {on_delete.__name__} cannot be purged."
            )
    history = _history_model(model)
    if history is not None:
        _visit(_referencing_pk(history, "id", where), steps, path)
    entity = _search_entity(model)
    if entity is not None:
        from kreis.core.models import SearchEntry

        entries = _referencing_pk(SearchEntry, "object_id", where)
        steps.append(
            Step(
                f"DELETE FROM {q(SearchEntry._meta.db_table)} "  # noqa: S608
                f"WHERE {q('entity')} = %s AND {entries.sql}",
                (entity, *entries.params),
            )
        )
    steps.append(
        Step(f"DELETE FROM {q(model._meta.db_table)} WHERE {where.sql}", where.params)  # noqa: S608
    )


def _reverse_relations(model: type[models.Model]) -> list:
    """The one-to-many relations pointing at ``model`` (many-to-many through tables
    included), of tables Django manages."""
    return [
        rel
        for rel in model._meta.get_fields(include_hidden=True)
        if rel.auto_created
        and not rel.concrete
        and (rel.one_to_many or rel.one_to_one)
        and rel.related_model._meta.managed
        and not rel.related_model._meta.proxy
    ]


def _referencing(child: type[models.Model], field, parent: Where) -> Where:
    """The rows of ``child`` whose ``field`` points at a row of ``parent``."""
    target = field.target_field.column
    if parent.keyed == target:
        return Where(child, f"{q(field.column)} {keys_sql()}", parent.params, keyed=field.column)
    return Where(
        child,
        f"{q(field.column)} IN (SELECT {q(target)} "  # noqa: S608 (names from _meta, quoted)
        f"FROM {q(parent.model._meta.db_table)} WHERE {parent.sql})",
        parent.params,
    )


def _referencing_pk(model: type[models.Model], column: str, parent: Where) -> Where:
    """Rows of ``model`` whose plain integer ``column`` holds a primary key of ``parent``."""
    pk = parent.model._meta.pk.column
    if parent.keyed == pk:
        return Where(model, f"{q(column)} {keys_sql()}", parent.params, keyed=column)
    return Where(
        model,
        f"{q(column)} IN (SELECT {q(pk)} "  # noqa: S608 (names from _meta, quoted)
        f"FROM {q(parent.model._meta.db_table)} WHERE {parent.sql})",
        parent.params,
    )


def _is_history(model: type[models.Model]) -> bool:
    return hasattr(model, "instance_type") and model.__name__.startswith("Historical")


def _history_follows(child: type[models.Model], field) -> bool:
    """A history table's reference goes with the row it names, unless the live table's
    relation of the same name keeps its rows (``SET_NULL``, ``PROTECT`` …): a history row of
    a purged party's contact point is purged, a deal's history naming the party stays."""
    if not _is_history(child):
        return False
    try:
        live = child.instance_type._meta.get_field(field.name)
    except FieldDoesNotExist:  # no live counterpart (the m2m history's link to its history row)
        return True
    remote = getattr(live, "remote_field", None)
    return remote is None or remote.on_delete is models.CASCADE


def _history_model(model: type[models.Model]) -> type[models.Model] | None:
    manager = getattr(model._meta, "simple_history_manager_attribute", None)
    return getattr(model, manager).model if manager else None


def _search_entity(model: type[models.Model]) -> str | None:
    from kreis.core.search import INDEXERS

    return next((e for e, (m, _i, _a) in INDEXERS.items() if m is model), None)
