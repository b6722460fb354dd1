"""Writes of sales competencies: the catalogue, a user's levels, and the CSV import."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

import rules
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from kreis.core.competencies.models import Competency, CompetencyKind, Level, UserCompetency
from kreis.core.models import User
from kreis.core.web import csv_cell

CSV_COLUMNS = ("username", "kind", "key", "name", "level")


def competency_save(*, actor: User | None, competency: Competency, values: dict) -> Competency:
    """Create or change a competency of the catalogue (validated; nothing saved on error)."""
    if actor is not None and not rules.has_perm("core.manage_competencies", actor):
        raise PermissionDenied
    for name, value in values.items():
        setattr(competency, name, value)
    competency.full_clean()
    competency.save()
    return competency


def competency_delete(*, actor: User | None, competency: Competency) -> None:
    """Delete a competency with every user's level in it (rules stop requiring it)."""
    if actor is not None and not rules.has_perm("core.manage_competencies", actor):
        raise PermissionDenied
    competency.delete()


def user_competencies_set(
    *, actor: User | None, user: User, levels: dict[int, int | None]
) -> dict[str, int]:
    """Set a user's levels: ``{competency_id: level}``; ``None`` or 0 removes the level.
    One transaction; competencies not named keep their level."""
    if actor is not None and not rules.has_perm("core.change_user_competencies", actor, user):
        raise PermissionDenied
    valid = set(Level.values)
    known = set(Competency.objects.filter(pk__in=list(levels)).values_list("pk", flat=True))
    errors = {}
    for competency_id, level in levels.items():
        if competency_id not in known:
            errors[str(competency_id)] = _("This competency does not exist.")
        elif level not in (None, 0) and level not in valid:
            errors[str(competency_id)] = _("The level is 1 (basic) to 4 (expert).")
    if errors:
        raise ValidationError(errors)
    set_rows = {cid: lvl for cid, lvl in levels.items() if lvl}
    removed = [cid for cid, lvl in levels.items() if not lvl]
    with transaction.atomic():
        deleted = 0
        if removed:
            deleted, _details = UserCompetency.objects.filter(
                user=user, competency_id__in=removed
            ).delete()
        UserCompetency.objects.bulk_create(
            [
                UserCompetency(user=user, competency_id=cid, level=lvl, updated_by=actor)
                for cid, lvl in set_rows.items()
            ],
            update_conflicts=True,
            unique_fields=["user", "competency"],
            update_fields=["level", "updated_by", "updated_at"],
        )
    return {"set": len(set_rows), "removed": deleted}


def _uncell(text: str) -> str:
    """A cell as the export defused it, back to its value."""
    if text.startswith("'") and csv_cell(text[1:]) == text:
        return text[1:]
    return text


@dataclass
class ImportResult:
    rows: int = 0
    levels: int = 0
    created_competencies: int = 0
    errors: list[str] = field(default_factory=list)


def competencies_import(*, actor: User | None, text: str, dry_run: bool = False) -> ImportResult:
    """Levels from CSV (``username,kind,key,name,level``; ``level`` empty removes it).
    A competency not yet in the catalogue is created (needs ``core.manage_competencies``).
    All or nothing: any bad row and nothing is written; the errors name the line."""
    result = ImportResult()
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    try:
        fieldnames = reader.fieldnames or []
        rows = list(reader)
    except csv.Error as exc:
        result.errors.append(_("The file cannot be read as CSV: %(error)s") % {"error": exc})
        return result
    missing = [c for c in ("username", "kind", "key", "level") if c not in fieldnames]
    if missing:
        result.errors.append(_("Missing columns: %(columns)s") % {"columns": ", ".join(missing)})
        return result
    result.rows = len(rows)
    users = {
        u.username.casefold(): u
        for u in User.objects.filter(
            username__in=[_uncell((r.get("username") or "").strip()) for r in rows]
        )
    }
    catalogue = {(c.kind, c.key.casefold()): c for c in Competency.objects.all()}
    kinds = set(CompetencyKind.values)
    may_manage = actor is None or rules.has_perm("core.manage_competencies", actor)
    to_create: dict[tuple[str, str], Competency] = {}
    planned: dict[tuple[int, tuple[str, str]], int | None] = {}
    for line, row in enumerate(rows, start=2):
        username = _uncell((row.get("username") or "").strip())
        kind = (row.get("kind") or "").strip().lower()
        key = _uncell((row.get("key") or "").strip())
        raw_level = (row.get("level") or "").strip()
        user = users.get(username.casefold())
        if user is None:
            result.errors.append(
                _("Line %(line)d: no user “%(name)s”.") % {"line": line, "name": username}
            )
            continue
        if kind not in kinds:
            result.errors.append(
                _("Line %(line)d: the kind is skill, language or product.") % {"line": line}
            )
            continue
        if not key:
            result.errors.append(_("Line %(line)d: the key is empty.") % {"line": line})
            continue
        level: int | None = None
        if raw_level:
            try:
                level = int(raw_level)
            except ValueError:
                level = -1
            if level not in Level.values:
                result.errors.append(
                    _("Line %(line)d: the level is 1 (basic) to 4 (expert).") % {"line": line}
                )
                continue
        if actor is not None and not rules.has_perm("core.change_user_competencies", actor, user):
            result.errors.append(
                _("Line %(line)d: you may not change the competencies of %(name)s.")
                % {"line": line, "name": username}
            )
            continue
        ident = (kind, (key.lower() if kind == CompetencyKind.LANGUAGE else key).casefold())
        if ident not in catalogue and ident not in to_create:
            if not may_manage:
                result.errors.append(
                    _("Line %(line)d: there is no competency “%(key)s”.")
                    % {"line": line, "key": key}
                )
                continue
            competency = Competency(
                kind=kind, key=key, name=_uncell((row.get("name") or "").strip()) or key
            )
            try:
                competency.full_clean(validate_unique=False)
            except ValidationError as error:
                result.errors.append(
                    _("Line %(line)d: %(error)s")
                    % {"line": line, "error": "; ".join(error.messages)}
                )
                continue
            to_create[ident] = competency
        planned[(user.pk, ident)] = level
    if result.errors or dry_run:
        result.levels = len(planned)
        result.created_competencies = len(to_create)
        return result
    with transaction.atomic():
        for ident, competency in to_create.items():
            competency.save()
            catalogue[ident] = competency
        by_user: dict[int, dict[int, int | None]] = {}
        for (user_id, ident), level in planned.items():
            by_user.setdefault(user_id, {})[catalogue[ident].pk] = level
        removals = [
            (uid, cid) for uid, levels in by_user.items() for cid, lvl in levels.items() if not lvl
        ]
        for uid, cid in removals:
            UserCompetency.objects.filter(user_id=uid, competency_id=cid).delete()
        UserCompetency.objects.bulk_create(
            [
                UserCompetency(user_id=uid, competency_id=cid, level=lvl, updated_by=actor)
                for uid, levels in by_user.items()
                for cid, lvl in levels.items()
                if lvl
            ],
            update_conflicts=True,
            unique_fields=["user", "competency"],
            update_fields=["level", "updated_by", "updated_at"],
        )
    result.levels = len(planned)
    result.created_competencies = len(to_create)
    return result


def competencies_export_rows() -> list[list[str]]:
    """Every level as CSV rows (header first), in the import's columns; cells a spreadsheet
    would run as a formula are defused (``csv_cell``), which the import strips again."""
    rows = [list(CSV_COLUMNS)]
    for uc in UserCompetency.objects.select_related("user", "competency").order_by(
        "user__username", "competency__kind", "competency__name"
    ):
        rows.append(
            [
                csv_cell(uc.user.username),
                uc.competency.kind,
                csv_cell(uc.competency.key),
                csv_cell(uc.competency.name),
                str(uc.level),
            ]
        )
    return rows
