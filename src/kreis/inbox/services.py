"""Writes of the inbox: typed, keyword-only, atomic, permission-checked, each change recorded
as an ``ItemChange`` (who, when, field, from, to).

- ``item_update``: assign (a user and/or a team; who may give to whom is the rule of
  ``kreis.core.services.check_assignment``), set the status (open, waiting for the customer,
  snoozed — with a time in the future —, done), mark answered (the first response).
- ``items_bulk_update``: the same change on many items in one transaction; every item is
  checked, and one refused item refuses them all.
- ``first_response_record``: the receivers call it when someone replies in the item's thread.
- ``snoozed_wake``: snoozed items whose time has come are open again (a job every minute; the
  queries count them as open already before the job runs).
- ``sla_policy_set``: the first-response hours of a channel.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kreis.core.models import Team, User
from kreis.core.services import check_assignment
from kreis.inbox.models import InboxChannel, InboxItem, ItemChange, ItemStatus, SlaPolicy

MAX_BULK = 500
UNSET = object()


@dataclass
class Change:
    """What to change on an item; ``UNSET`` leaves a part as it is."""

    assignee: object = UNSET  # User or None (unassigned)
    assigned_team: object = UNSET  # Team or None
    status: str | None = None
    snoozed_until: dt.datetime | None = None
    answered: bool = False


def _may_change(actor: User, item: InboxItem) -> bool:
    if actor.is_read_only or not actor.is_active:
        return False
    if actor.is_admin:
        return True
    return (
        item.owner_id == actor.pk
        or item.assignee_id == actor.pk
        or (item.team_id is not None and item.team_id in actor.team_ids())
    )


def _validate(change: Change, now: dt.datetime) -> None:
    if change.status is not None and change.status not in ItemStatus.values:
        raise ValidationError({"status": _("Unknown status.")})
    if change.status == ItemStatus.SNOOZED:
        if change.snoozed_until is None:
            raise ValidationError({"snoozed_until": _("Say until when to snooze.")})
        if change.snoozed_until <= now:
            raise ValidationError({"snoozed_until": _("Snooze until a time in the future.")})
    elif change.snoozed_until is not None:
        raise ValidationError({"snoozed_until": _("Only a snoozed item has a snooze time.")})
    if change.assignee is not UNSET and change.assignee is not None:
        if not isinstance(change.assignee, User) or not change.assignee.is_active:
            raise ValidationError({"assignee_id": _("Choose an active user.")})


def _record(item: InboxItem, actor: User | None, field: str, old, new) -> ItemChange:
    return ItemChange(
        item=item, actor=actor, field=field, from_value=str(old or "")[:100],
        to_value=str(new or "")[:100],
    )  # fmt: skip


def _apply(
    item: InboxItem, change: Change, actor: User | None, now: dt.datetime
) -> list[ItemChange]:
    rows = []
    if change.assignee is not UNSET:
        new_id = change.assignee.pk if change.assignee is not None else None
        if new_id != item.assignee_id:
            rows.append(_record(item, actor, "assignee", item.assignee_id, new_id))
            item.assignee_id = new_id
    if change.assigned_team is not UNSET:
        new_id = change.assigned_team.pk if change.assigned_team is not None else None
        if new_id != item.assigned_team_id:
            rows.append(_record(item, actor, "assigned_team", item.assigned_team_id, new_id))
            item.assigned_team_id = new_id
    if change.answered and item.first_responded_at is None:
        rows.append(_record(item, actor, "first_response", "", now.isoformat()))
        item.first_responded_at, item.first_responded_by = now, actor
    if change.status is not None and (
        change.status != item.status or change.snoozed_until != item.snoozed_until
    ):
        rows.append(_record(item, actor, "status", item.status, change.status))
        item.status = change.status
        item.snoozed_until = change.snoozed_until
        item.done_at = now if change.status == ItemStatus.DONE else None
    return rows


def _check(actor: User | None, items: Iterable[InboxItem], change: Change) -> None:
    if actor is None:
        return
    refused = [item.pk for item in items if not _may_change(actor, item)]
    if refused:
        raise PermissionDenied(
            _("You may not change these items: %s") % ", ".join(map(str, refused))
        )
    if change.assignee is not UNSET or change.assigned_team is not UNSET:
        owner = change.assignee if change.assignee is not UNSET else None
        team = change.assigned_team if change.assigned_team is not UNSET else None
        check_assignment(actor=actor, owner=owner, team=team)  # type: ignore[arg-type]


@transaction.atomic
def item_update(*, actor: User | None, item: InboxItem, change: Change) -> InboxItem:
    """Change one item (see the module); an unchanged item is returned as it was."""
    now = timezone.now()
    _validate(change, now)
    _check(actor, [item], change)
    rows = _apply(item, change, actor, now)
    if rows:
        item.save()
        ItemChange.objects.bulk_create(rows)
    return item


@transaction.atomic
def items_bulk_update(*, actor: User | None, ids: list[int], change: Change) -> list[InboxItem]:
    """The same change on every item of ``ids``, all or nothing: an item that does not exist
    or that the actor may not change refuses the whole request."""
    ids = list(dict.fromkeys(ids))
    if not ids:
        raise ValidationError({"ids": _("Select at least one item.")})
    if len(ids) > MAX_BULK:
        raise ValidationError({"ids": _("At most %d items at once.") % MAX_BULK})
    now = timezone.now()
    _validate(change, now)
    items = list(InboxItem.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
    missing = set(ids) - {item.pk for item in items}
    if missing:
        raise ValidationError(
            {"ids": _("No such items: %s") % ", ".join(map(str, sorted(missing)))}
        )
    _check(actor, items, change)
    rows: list[ItemChange] = []
    changed = []
    for item in items:
        item_rows = _apply(item, change, actor, now)
        if item_rows:
            item.updated_at = now
            rows += item_rows
            changed.append(item)
    if changed:
        InboxItem.objects.bulk_update(
            changed,
            [
                "assignee", "assigned_team", "status", "snoozed_until", "done_at",
                "first_responded_at", "first_responded_by", "updated_at",
            ],
        )  # fmt: skip
        ItemChange.objects.bulk_create(rows)
    return items


def first_response_record(
    *, thread_key: str, at: dt.datetime, by_id: int | None, source_filter: dict | None = None
) -> int:
    """A reply went out in this thread at ``at``: the thread's unanswered items received before
    it have their first response. Returns how many."""
    qs = InboxItem.objects.filter(
        thread_key=thread_key, first_responded_at__isnull=True, received_at__lte=at
    )
    if source_filter:
        qs = qs.filter(**source_filter)
    return qs.update(first_responded_at=at, first_responded_by=by_id, updated_at=timezone.now())


def snoozed_wake(now: dt.datetime | None = None) -> int:
    """Snoozed items whose time has come are open again. Returns how many."""
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            InboxItem.objects.filter(status=ItemStatus.SNOOZED, snoozed_until__lte=now).values_list(
                "pk", "status"
            )
        )
        if not due:
            return 0
        ids = [pk for pk, _status in due]
        InboxItem.objects.filter(pk__in=ids).update(
            status=ItemStatus.OPEN, snoozed_until=None, updated_at=now
        )
        ItemChange.objects.bulk_create(
            ItemChange(item_id=pk, field="status", from_value=ItemStatus.SNOOZED, to_value="open")
            for pk in ids
        )
    return len(ids)


@transaction.atomic
def sla_policy_set(*, actor: User | None, channel: str, hours: int, calendar=None) -> SlaPolicy:
    """Set a channel's first-response time (``calendar``: a complaint SLA policy whose
    business hours count, or None for clock hours). Items already in the queue keep theirs."""
    if actor is not None and not actor.is_admin:
        raise PermissionDenied
    if channel not in InboxChannel.values:
        raise ValidationError({"channel": _("Unknown channel.")})
    policy = SlaPolicy.objects.filter(channel=channel).first() or SlaPolicy(channel=channel)
    policy.first_response_hours = hours
    policy.calendar = calendar
    policy.full_clean()
    policy.save()
    return policy


def team_get(pk: int | None) -> Team | None:
    if pk is None:
        return None
    team = Team.objects.filter(pk=pk).first()
    if team is None:
        raise ValidationError({"team_id": _("No such team.")})
    return team


def user_get(pk: int | None) -> User | None:
    if pk is None:
        return None
    user = User.objects.filter(pk=pk, is_active=True).first()
    if user is None:
        raise ValidationError({"assignee_id": _("Choose an active user.")})
    return user
