"""Writes of relationship types: keep them, and apply them to the segments' members.

Applying (``relationship_types_apply``) is set-based and runs as one job (``tasks``), nightly
and on demand:

1. Each active type's segment members are read (one query per type). A party in several
   segments takes the type of the highest ``priority`` (ties: the older type).
2. The owner and team each type gives (``Ownership``):
   - *named*: the type's owner, and its team when it has one (else the party keeps its team);
   - *round-robin*: the team's active members take turns (by username) — a party already
     owned by one of them keeps that owner, so the nightly run moves nobody twice;
   - *team*: the team, and no personal owner.
   With ``keep_existing_owner`` a party that has an owner keeps them and their team (it only
   gets the type): a rep's own customers are never moved by the nightly run.
3. Only parties whose owner or team changes are written: one ``UPDATE … WHERE id IN`` per
   (owner, team) and batch, and one history row per party ("changed", by the actor, the
   reason naming the type) — the party's history shows who moved it and why, like every other
   owner change, and the history page restores the old owner.
4. ``PartyRelationshipType`` keeps the type each party has now (the party page, the API and
   the party list's filter read it); parties in no typed segment lose theirs.
5. A run that changed anything is kept (``RelationshipApplyRun``) with each changed party's
   type, owner and team before and after, so it can be undone (``relationship_apply_undo``)
   the way an import or a merge is: in one transaction, and never over a later edit — a party
   whose type, owner or team changed since keeps it and is counted as skipped, and so is a
   party whose previous type has been deleted since (it would be left with no type).

An application (on demand, nightly, CLI) is one transaction: the batches' owner changes and
history rows, the links, the undo record and the types' "last applied" commit together or not
at all — a crash halfway leaves nothing moved without the record that undoes it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import rules
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kreis.core.models import Membership, Role, User
from kreis.marketing.relationships.models import (
    Ownership,
    PartyRelationshipType,
    RelationshipApplyChange,
    RelationshipApplyRun,
    RelationshipType,
)
from kreis.marketing.segments.queries import segment_parties
from kreis.parties.models import Party

BATCH = 1000
OWNER_ROLES = (Role.SALES_REP, Role.SALES_MANAGER)
Progress = Callable[[int, int], None]


def _check(actor: User | None) -> None:
    if actor is not None and not rules.has_perm("marketing.change_relationship_types", actor):
        raise PermissionDenied


def relationship_type_save(
    *, actor: User | None, relationship_type: RelationshipType, values: dict
) -> RelationshipType:
    """Create or change a relationship type (validated as a whole; nothing saved on error)."""
    _check(actor)
    for name, value in values.items():
        setattr(relationship_type, name, value)
    relationship_type.name_de = (relationship_type.name_de or "").strip()
    relationship_type.name_en = (relationship_type.name_en or "").strip()
    relationship_type.full_clean(exclude=["last_user"])
    errors = {}
    kind = relationship_type.ownership
    if kind == Ownership.NAMED and relationship_type.owner_id is None:
        errors["owner"] = _("A named owner is needed for this kind of ownership.")
    if kind in (Ownership.ROUND_ROBIN, Ownership.TEAM) and relationship_type.team_id is None:
        errors["team"] = _("A team is needed for this kind of ownership.")
    owner = relationship_type.owner
    if owner is not None and (not owner.is_active or owner.role not in OWNER_ROLES):
        errors["owner"] = _("Only active sales reps and sales managers own customers.")
    if errors:
        raise ValidationError(errors)
    relationship_type.save()
    return relationship_type


def relationship_type_delete(*, actor: User | None, relationship_type: RelationshipType) -> None:
    """Delete a type; its parties lose the type (their owners stay as they are)."""
    _check(actor)
    relationship_type.delete()


@dataclass
class ApplyResult:
    types: int = 0
    members: int = 0
    changed: int = 0
    per_type: dict[int, int] = field(default_factory=dict)
    run: RelationshipApplyRun | None = None  # kept for undo when anything changed


Triple = tuple[int | None, int | None, int | None]  # (type, owner, team) of a party


def _round_robin_members(team_id: int) -> list[int]:
    return list(
        User.objects.filter(
            is_active=True,
            role__in=OWNER_ROLES,
            pk__in=Membership.objects.filter(team_id=team_id).values("user_id"),
        )
        .order_by("username", "pk")
        .values_list("pk", flat=True)
    )


def _rotation(candidates: list[int], last: int | None) -> list[int]:
    if last in candidates:
        start = candidates.index(last) + 1
        return candidates[start:] + candidates[:start]
    return candidates


def relationship_types_apply(
    *,
    actor: User | None,
    only: RelationshipType | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ApplyResult:
    """Set owner and team of every typed segment's members (see the module's docstring).
    ``only``: write the members whose type is this one (the winner is still decided over all
    types). ``dry_run``: count, write nothing."""
    _check(actor)
    progress = progress or (lambda done, total: None)
    types = list(
        RelationshipType.objects.filter(is_active=True)
        .select_related("segment", "owner", "team")
        .order_by("-priority", "pk")
    )
    winner: dict[int, RelationshipType] = {}
    for rtype in types:
        for party_id in segment_parties(rtype.segment).values_list("pk", flat=True).iterator():
            winner.setdefault(party_id, rtype)
    if only is not None:
        winner = {pid: t for pid, t in winner.items() if t.pk == only.pk}
    result = ApplyResult(types=len(types) if only is None else 1, members=len(winner))
    ids = sorted(winner)
    total = len(ids)
    progress(0, total)
    robin = {
        t.pk: _round_robin_members(t.team_id)
        for t in types
        if t.ownership == Ownership.ROUND_ROBIN and t.team_id is not None
    }
    turn = {
        pk: _rotation(members, next(t for t in types if t.pk == pk).last_user_id)
        for pk, members in robin.items()
    }
    position = dict.fromkeys(turn, 0)
    last_given: dict[int, int] = {}
    now = timezone.now()
    by_type: dict[int, int] = defaultdict(int)
    # Owner and team before and after, per member (for the run's undo record).
    owners: dict[int, tuple[tuple[int | None, int | None], tuple[int | None, int | None]]] = {}

    def batches() -> None:
        for start in range(0, total, BATCH):
            chunk = ids[start : start + BATCH]
            moves = _plan_batch(
                chunk,
                winner=winner,
                turn=turn,
                position=position,
                last_given=last_given,
                owners=owners,
                by_type=by_type,
            )
            if not dry_run and moves:
                _write_moves(moves, winner=winner, actor=actor, now=now)
            progress(min(start + BATCH, total), total)

    if dry_run:
        batches()
        result.changed = sum(by_type.values())
        result.per_type = dict(by_type)
        return result
    # All or nothing: every batch's owner changes and history rows, the types' links, the undo
    # record and the types' "last applied" commit together, so a crash halfway leaves no
    # customer moved without an application that can undo it.
    with transaction.atomic():
        batches()
        before_types = _types_before(winner, only=only)
        _sync_links(winner, only=only)
        result.run = _record_run(
            actor=actor, only=only, winner=winner, owners=owners, before_types=before_types
        )
        for rtype in types if only is None else [only]:
            updates = {"applied_at": now, "applied_count": by_type.get(rtype.pk, 0)}
            if rtype.pk in last_given:
                updates["last_user_id"] = last_given[rtype.pk]
            RelationshipType.objects.filter(pk=rtype.pk).update(**updates)
    result.changed = sum(by_type.values())
    result.per_type = dict(by_type)
    return result


def _plan_batch(
    chunk: list[int],
    *,
    winner: dict[int, RelationshipType],
    turn: dict[int, list[int]],
    position: dict[int, int],
    last_given: dict[int, int],
    owners: dict,
    by_type: dict[int, int],
) -> dict[tuple[int | None, int | None], list[int]]:
    """One batch's owner and team per member (one query): the parties to move, grouped by their
    new (owner, team). Fills ``owners`` (before/after), ``by_type`` and the round-robin turn."""
    current = {
        pk: (owner_id, team_id)
        for pk, owner_id, team_id in Party.objects.filter(pk__in=chunk).values_list(
            "pk", "owner_id", "team_id"
        )
    }
    moves: dict[tuple[int | None, int | None], list[int]] = defaultdict(list)
    for pk in chunk:
        rtype = winner[pk]
        owner_id, team_id = current.get(pk, (None, None))
        new_owner, new_team = owner_id, team_id
        if rtype.ownership == Ownership.NAMED:
            new_owner = rtype.owner_id
            new_team = rtype.team_id or team_id
        elif rtype.ownership == Ownership.ROUND_ROBIN:
            new_team = rtype.team_id
            members = turn.get(rtype.pk) or []
            if owner_id not in members and members:
                new_owner = members[position[rtype.pk] % len(members)]
                position[rtype.pk] += 1
                last_given[rtype.pk] = new_owner
            elif not members:
                new_owner = None
        else:
            new_owner, new_team = None, rtype.team_id
        if rtype.keep_existing_owner and owner_id is not None:
            new_owner, new_team = owner_id, team_id
        owners[pk] = ((owner_id, team_id), (new_owner, new_team))
        if (new_owner, new_team) != (owner_id, team_id):
            moves[(new_owner, new_team)].append(pk)
            by_type[rtype.pk] += 1
    return moves


def _write_moves(
    moves: dict[tuple[int | None, int | None], list[int]],
    *,
    winner: dict[int, RelationshipType] | None = None,
    actor: User | None,
    now,
    reason: str = "",
) -> None:
    """One batch: the owner/team UPDATEs and the parties' history rows. Runs inside the
    caller's transaction (the whole application, or the whole undo), never one of its own.
    The history's reason names each party's type (``winner``), else ``reason``."""
    from kreis.parties.bulk.update import _history_tags

    for (owner_id, team_id), pks in moves.items():
        Party.objects.filter(pk__in=pks).update(owner_id=owner_id, team_id=team_id, updated_at=now)
    changed = [pk for pks in moves.values() for pk in pks]
    parties = list(Party.objects.filter(pk__in=changed))
    by_reason: dict[str, list[Party]] = defaultdict(list)
    for party in parties:
        if winner is not None:
            text = _("Relationship type: %(name)s") % {"name": winner[party.pk].name}
        else:
            text = reason
        by_reason[text[:100]].append(party)
    for reason, group in by_reason.items():
        history = Party.history.bulk_history_create(
            group,
            update=True,
            default_user=actor,
            default_date=now,
            default_change_reason=reason,
        )
        _history_tags(history)


def _sync_links(winner: dict[int, RelationshipType], *, only: RelationshipType | None) -> None:
    """``PartyRelationshipType`` as the winners say: upserted, stale rows deleted."""
    links = PartyRelationshipType.objects.all()
    if only is not None:
        links = links.filter(relationship_type=only)
    _delete_stale(winner, links)
    rows = [
        PartyRelationshipType(party_id=pid, relationship_type_id=t.pk) for pid, t in winner.items()
    ]
    PartyRelationshipType.objects.bulk_create(
        rows,
        batch_size=BATCH,
        update_conflicts=True,
        unique_fields=["party"],
        update_fields=["relationship_type", "assigned_at"],
    )


def _delete_stale(winner: dict[int, RelationshipType], links) -> None:
    """Links of parties that have no type any more, deleted by the thousand."""
    stale = [pk for pk in links.values_list("party_id", flat=True).iterator() if pk not in winner]
    for start in range(0, len(stale), BATCH):
        PartyRelationshipType.objects.filter(party_id__in=stale[start : start + BATCH]).delete()


# --- undo ------------------------------------------------------------------------------------


def _chunks(ids: list[int]):
    for start in range(0, len(ids), BATCH):
        yield ids[start : start + BATCH]


def _types_of(ids: list[int]) -> dict[int, int]:
    found: dict[int, int] = {}
    for chunk in _chunks(ids):
        found.update(
            PartyRelationshipType.objects.filter(party_id__in=chunk).values_list(
                "party_id", "relationship_type_id"
            )
        )
    return found


def _owners_of(ids: list[int]) -> dict[int, tuple[int | None, int | None]]:
    found: dict[int, tuple[int | None, int | None]] = {}
    for chunk in _chunks(ids):
        for pk, owner_id, team_id in Party.objects.filter(pk__in=chunk).values_list(
            "pk", "owner_id", "team_id"
        ):
            found[pk] = (owner_id, team_id)
    return found


def _types_before(
    winner: dict[int, RelationshipType], *, only: RelationshipType | None
) -> dict[int, int]:
    """The type every party the run touches has before it (members, and those losing one)."""
    links = PartyRelationshipType.objects.all()
    if only is not None:
        links = links.filter(relationship_type=only)
    scope = set(winner) | set(links.values_list("party_id", flat=True))
    return _types_of(sorted(scope))


def _record_run(
    *,
    actor: User | None,
    only: RelationshipType | None,
    winner: dict[int, RelationshipType],
    owners: dict,
    before_types: dict[int, int],
) -> RelationshipApplyRun | None:
    """Keep what the run changed, party by party (None when it changed nothing)."""
    losing = sorted(pk for pk in before_types if pk not in winner)
    kept_owners = _owners_of(losing)
    rows = []
    for pk in sorted(set(winner) | set(before_types)):
        old_owner, new_owner = owners.get(pk) or (kept_owners.get(pk, (None, None)),) * 2
        after_type = winner[pk].pk if pk in winner else None
        before: Triple = (before_types.get(pk), *old_owner)
        after: Triple = (after_type, *new_owner)
        if before != after:
            rows.append((pk, before, after))
    if not rows:
        return None
    run = RelationshipApplyRun.objects.create(started_by=actor, only=only, changed=len(rows))
    RelationshipApplyChange.objects.bulk_create(
        (
            RelationshipApplyChange(
                run=run,
                party_id=pk,
                type_before_id=before[0],
                type_replaced=before[0] is not None and before[0] != after[0],
                owner_before_id=before[1],
                team_before_id=before[2],
                type_after_id=after[0],
                owner_after_id=after[1],
                team_after_id=after[2],
            )
            for pk, before, after in rows
        ),
        batch_size=BATCH,
    )
    return run


@dataclass
class UndoResult:
    restored: int = 0
    skipped: int = 0  # left as they are: changed since the run, or their old type is gone
    skipped_type_deleted: int = 0  # of ``skipped``: their previous type has been deleted since


def relationship_apply_undo(*, actor: User | None, run: RelationshipApplyRun) -> UndoResult:
    """Give every party the run changed its type, owner and team back, in one transaction.

    A party whose type, owner or team is no longer what the run left (edited by hand, moved by a
    later run) keeps its present values and is counted as skipped, as an import's undo keeps
    later edits. A party whose previous type has been deleted since would be left with no
    type: it keeps its present values too and is counted (``skipped_type_deleted``, part of
    ``skipped``). The owner changes get a history row each ("Undone: …")."""
    _check(actor)
    with transaction.atomic():
        run = RelationshipApplyRun.objects.select_for_update().get(pk=run.pk)
        if run.undone_at is not None:
            raise ValidationError(_("This application has been undone already."))
        changes = list(
            run.changes.values_list(
                "party_id",
                "type_before_id",
                "type_replaced",
                "owner_before_id",
                "team_before_id",
                "type_after_id",
                "owner_after_id",
                "team_after_id",
            )
        )
        ids = [c[0] for c in changes]
        types_now, owners_now = _types_of(ids), _owners_of(ids)
        moves: dict[tuple[int | None, int | None], list[int]] = defaultdict(list)
        unlink: list[int] = []
        relink: list[PartyRelationshipType] = []
        result = UndoResult()
        for pk, type_b, replaced, owner_b, team_b, type_a, owner_a, team_a in changes:
            if type_b is None and replaced:
                result.skipped += 1
                result.skipped_type_deleted += 1
                continue
            if pk not in owners_now or (types_now.get(pk), *owners_now[pk]) != (
                type_a,
                owner_a,
                team_a,
            ):
                result.skipped += 1
                continue
            if (owner_b, team_b) != (owner_a, team_a):
                moves[(owner_b, team_b)].append(pk)
            if type_b != type_a:
                if type_b is None:
                    unlink.append(pk)
                else:
                    relink.append(PartyRelationshipType(party_id=pk, relationship_type_id=type_b))
            result.restored += 1
        now = timezone.now()
        reason = _("Undone: relationship types applied on %(date)s") % {
            "date": timezone.localtime(run.applied_at).strftime("%Y-%m-%d %H:%M")
        }
        for chunk in _chunks(sorted({pk for pks in moves.values() for pk in pks})):
            in_chunk = set(chunk)
            part = {key: [pk for pk in pks if pk in in_chunk] for key, pks in moves.items()}
            _write_moves({k: v for k, v in part.items() if v}, actor=actor, now=now, reason=reason)
        for chunk in _chunks(unlink):
            PartyRelationshipType.objects.filter(party_id__in=chunk).delete()
        PartyRelationshipType.objects.bulk_create(
            relink,
            batch_size=BATCH,
            update_conflicts=True,
            unique_fields=["party"],
            update_fields=["relationship_type", "assigned_at"],
        )
        run.undone_at = now
        run.undone_by = actor
        run.restored, run.skipped = result.restored, result.skipped
        run.skipped_type_deleted = result.skipped_type_deleted
        run.save(
            update_fields=["undone_at", "undone_by", "restored", "skipped", "skipped_type_deleted"]
        )
    return result
