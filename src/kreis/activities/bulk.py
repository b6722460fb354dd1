"""Many activities at once: validation and create/update in bulk (imports).

Each row is checked by the rules of ``kreis.activities.services`` (``_validate``: the fields
each kind allows, a call's direction, duration and outcome, a meeting's end, a note's text;
bodies sanitised) and gets the same defaults as ``activity_create`` (the assignee is the
actor, the team that of the linked party, deal or lead, else the actor's; notes are done when
written, past calls and meetings done). External IDs are checked for the whole batch at once
by the caller, not per row. Activities keep no history rows and no search entries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from kreis.activities.models import Activity, ActivityKind
from kreis.activities.services import _clean_scalars, _empty, _validate
from kreis.core.jsonvalue import apply_values
from kreis.core.models import Team, User

RELATIONS = ("party", "deal", "lead", "owner", "team")
SCALARS = (
    "kind",
    "subject",
    "body",
    "occurred_at",
    "ends_at",
    "done_at",
    "direction",
    "duration_minutes",
    "outcome",
    "location",
    "external_id",
)


def activity_rows_clean(
    *, actor: User | None, rows: Sequence[Mapping[str, Any]], actor_team: Team | None
) -> tuple[list[Activity | None], list[dict[str, Any]]]:
    """Each row (the scalar fields; ``party``, ``deal``, ``lead``, ``owner``, ``team``
    objects the caller resolved and may link) as an unsaved, validated activity with the
    services' defaults, or ``None``; problems as ``{"row", "field", "message"}``."""
    now = timezone.now()
    activities: list[Activity | None] = []
    errors: list[dict[str, Any]] = []
    for i, row in enumerate(rows):
        activities.append(None)
        unknown = set(row) - set(SCALARS) - set(RELATIONS)
        if unknown:
            raise ValueError(f"not activity fields: {sorted(unknown)}")
        scalars = _clean_scalars({k: v for k, v in row.items() if k in SCALARS})
        kind = scalars.pop("kind")
        done_at = scalars.pop("done_at", None)
        external_id = scalars.pop("external_id", None)
        given = {k for k, v in scalars.items() if not _empty(v)}
        if scalars.get("occurred_at") is None and kind in (ActivityKind.NOTE, ActivityKind.CALL):
            scalars["occurred_at"] = now
        linked = [row.get(name) for name in ("party", "deal", "lead")]
        team = row.get("team")
        if team is None:
            team_id = next((r.team_id for r in linked if r is not None and r.team_id), None)
            team_id = team_id or (actor_team.pk if actor_team is not None else None)
        activity = Activity(
            kind=kind,
            party=row.get("party"),
            deal=row.get("deal"),
            lead=row.get("lead"),
            owner=row.get("owner") or actor,
            created_by=actor,
            **scalars,
        )
        if team is not None:
            activity.team = team
        else:
            activity.team_id = team_id
        try:
            _validate(activity, given=given)  # without the external ID: checked per batch
        except ValidationError as exc:
            errors += [
                {"row": i, "field": field, "message": message}
                for field, messages in exc.message_dict.items()
                for message in messages
            ]
            continue
        activity.external_id = external_id
        if done_at is not None:
            activity.done_at = done_at
        elif kind == ActivityKind.NOTE:
            activity.done_at = activity.occurred_at
        elif kind != ActivityKind.TASK and activity.occurred_at <= now:
            activity.done_at = now
        activities[i] = activity
    return activities, errors


def activities_create(activities: Sequence[Activity]) -> list[Activity]:
    """Insert validated activities (``activity_rows_clean``)."""
    return Activity.objects.bulk_create(list(activities), batch_size=1000)


def activities_update(
    changes: Sequence[tuple[Activity, Mapping[str, Any]]],
) -> list[tuple[Activity, dict[str, Any]]]:
    """Give existing activities new values (only those that differ). Returns each changed
    activity with its previous values by attname (JSON-able) for undo."""
    changed = []
    fields: set[str] = set()
    for activity, values in changes:
        before = apply_values(activity, values)
        fields.update(before)
        if before:
            changed.append((activity, before))
    if changed:
        Activity.objects.bulk_update(
            [a for a, _before in changed], sorted(fields | {"updated_at"}), batch_size=500
        )
    return changed
