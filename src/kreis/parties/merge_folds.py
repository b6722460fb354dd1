"""Rows a party merge folds into the survivor's instead of leaving them behind.

A merge (``parties.services.party_merge``) moves every row that points at the merged party to
the survivor. A row that would break a unique rule there — the survivor has its own already —
stays with the merged party, which is deleted (softly). For some records that hides what a
user expects to find on the survivor: the responses of a campaign membership, a place on a
static list. The app that owns such a record registers a fold: the duplicate's values go into
the survivor's row (its empty values filled, of the ``earliest`` times the earlier kept), the
duplicate is deleted, and the merge record keeps both, so that the undo restores each row
exactly — unless the survivor's row was edited since, then that edit stays.

Parties know no app that registers here (the dependency points the other way).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.db import IntegrityError, models, transaction

# Keys of PartyMerge.moved that hold folded rows ("fold:<app.model>:<party field>").
FOLD_KEY_PREFIX = "fold:"


@dataclass(frozen=True)
class MergeFold:
    model: type[models.Model]
    # The foreign key to the party, and the fields that make a row unique together with it.
    field: str
    together: tuple[str, ...]
    # Times of which the earlier one is kept (first added, first opened …).
    earliest: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return f"{FOLD_KEY_PREFIX}{self.model._meta.label_lower}:{self.field}"


_FOLDS: dict[str, MergeFold] = {}


def register_merge_fold(
    model: type[models.Model],
    field: str,
    *,
    together: tuple[str, ...],
    earliest: tuple[str, ...] = (),
) -> None:
    """Have merges fold ``model``'s rows that are unique per party and ``together``."""
    fold = MergeFold(model=model, field=field, together=together, earliest=earliest)
    _FOLDS[fold.key] = fold


def _plain(value: Any) -> Any:
    """A column value as JSON keeps it exactly (times to the microsecond)."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _dump(row: models.Model) -> dict[str, Any]:
    return {f.attname: _plain(f.value_from_object(row)) for f in row._meta.concrete_fields}


def _empty(value: Any) -> bool:
    return value is None or value == ""


def _combined(fold: MergeFold, mine: models.Model, duplicate: models.Model) -> dict[str, Any]:
    """The survivor row's values that change when ``duplicate`` is folded into it."""
    fixed = {fold.field, *fold.together}
    changes = {}
    for field in mine._meta.concrete_fields:
        if field.primary_key or field.name in fixed:
            continue
        have, other = field.value_from_object(mine), field.value_from_object(duplicate)
        if _empty(other):
            continue
        if field.name in fold.earliest:
            if _empty(have) or other < have:
                changes[field.attname] = other
        elif _empty(have):
            changes[field.attname] = other
    return changes


def fold_duplicates(*, survivor: models.Model, merged: models.Model) -> dict[str, list[dict]]:
    """Fold the merged party's rows the survivor has already into the survivor's rows, before
    the merge moves the rest; returns what the undo needs, keyed for ``PartyMerge.moved``."""
    notes: dict[str, list[dict]] = {}
    for fold in _FOLDS.values():
        manager = fold.model._default_manager
        attnames = [fold.model._meta.get_field(name).attname for name in fold.together]
        mine = {
            tuple(getattr(row, a) for a in attnames): row
            for row in manager.filter(**{fold.field: survivor})
        }
        entries = []
        for duplicate in manager.filter(**{fold.field: merged}).order_by("pk"):
            row = mine.get(tuple(getattr(duplicate, a) for a in attnames))
            if row is None:
                continue
            changes = _combined(fold, row, duplicate)
            entries.append(
                {
                    "row": row.pk,
                    "before": {a: _plain(getattr(row, a)) for a in changes},
                    "after": {a: _plain(v) for a, v in changes.items()},
                    "deleted": _dump(duplicate),
                }
            )
            # The duplicate goes first: it may hold a value the survivor's row takes over
            # that is unique as well (a campaign member's lead).
            manager.filter(pk=duplicate.pk).delete()
            if changes:
                manager.filter(pk=row.pk).update(**changes)
        if entries:
            notes[fold.key] = entries
    return notes


def unfold_duplicates(*, notes: dict[str, list[dict]]) -> int:
    """Undo ``fold_duplicates``: each survivor row gets its values back (those not edited since
    the merge) and each deleted duplicate returns as it was, with its id. Returns the number
    of rows that keep an edit made since, or could not come back."""
    kept = 0
    for key, entries in notes.items():
        label = key.removeprefix(FOLD_KEY_PREFIX).rpartition(":")[0]
        model = apps.get_model(label)
        manager = model._default_manager
        columns = {f.attname: f for f in model._meta.concrete_fields}
        for entry in entries:
            current = manager.filter(pk=entry["row"]).values(*entry["after"]).first()
            if current is not None and entry["after"]:
                # A value edited since the merge stays; the others go back.
                back = {
                    a: columns[a].to_python(entry["before"][a])
                    for a, v in current.items()
                    if _plain(v) == entry["after"][a]
                }
                if back:
                    manager.filter(pk=entry["row"]).update(**back)
                if len(back) < len(entry["after"]):
                    kept += 1
            values = {a: columns[a].to_python(v) for a, v in entry["deleted"].items()}
            try:
                with transaction.atomic():
                    manager.bulk_create([model(**values)])
                    # auto_now(_add) stamps the insert with now: put the stored times back.
                    stamped = {
                        a: values[a]
                        for a, f in columns.items()
                        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
                    }
                    if stamped:
                        manager.filter(pk=values[model._meta.pk.attname]).update(**stamped)
            except IntegrityError:
                kept += 1
    return kept
