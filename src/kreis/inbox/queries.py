"""Reads of the inbox, with the permission checks every page, API route and command uses.

Who sees an item: administrators all; everyone else the items whose source record they may
see (its ``owner``, or its ``team`` is one of theirs — the rule of ``core.view_record`` and of
``kreis.core.queries.visible_records``, so a shared mail is seen exactly by whom comms shows
it) and the items assigned to them. Private mail has no item at all.
"""

from __future__ import annotations

import datetime as dt
import heapq
from dataclasses import dataclass
from itertools import islice

from django.db.models import Count, F, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from kreis.core.models import User
from kreis.inbox.models import InboxItem, ItemStatus

ASSIGNEE_FILTERS = ("me", "team", "unassigned")


def _visible(user: User) -> Q | None:
    if user.is_admin:
        return None
    teams = user.team_ids()
    return Q(owner_id=user.pk) | Q(team_id__in=teams) | Q(assignee_id=user.pk)


def items_for_user(*, user: User) -> QuerySet[InboxItem]:
    if not user.is_authenticated or not user.is_active:
        return InboxItem.objects.none()
    visible = _visible(user)
    return InboxItem.objects.all() if visible is None else InboxItem.objects.filter(visible)


def status_q(status: str, now: dt.datetime) -> Q:
    """The status as the user sees it: a snooze whose time has passed is open (even before
    the wake-up job has run)."""
    woken = Q(status=ItemStatus.SNOOZED, snoozed_until__lte=now)
    if status == ItemStatus.OPEN:
        return Q(status=ItemStatus.OPEN) | woken
    if status == ItemStatus.SNOOZED:
        return Q(status=ItemStatus.SNOOZED, snoozed_until__gt=now)
    return Q(status=status)


def breached_q(now: dt.datetime) -> Q:
    """Still unanswered after its due time, and not done."""
    return Q(first_responded_at__isnull=True, first_response_due_at__lt=now) & ~Q(
        status=ItemStatus.DONE
    )


@dataclass
class ItemFilters:
    channel: str = ""
    status: str = ""  # "" = everything not done
    assignee: str = ""  # me | team | unassigned | ""
    breached: bool = False
    party_id: int | None = None
    search: str = ""


def item_list_for_user(*, user: User, filters: ItemFilters | None = None) -> QuerySet[InboxItem]:
    """The queue, newest first (ties by id)."""
    qs = _filtered(items_for_user(user=user), user=user, filters=filters or ItemFilters())
    return qs.select_related("party", "assignee", "assigned_team").order_by("-received_at", "-id")


def _filtered(qs: QuerySet[InboxItem], *, user: User, filters: ItemFilters) -> QuerySet:
    now = timezone.now()
    if filters.status == "all":
        pass
    elif filters.status in ItemStatus.values:
        qs = qs.filter(status_q(filters.status, now))
    else:
        qs = qs.exclude(status=ItemStatus.DONE)
    if filters.channel:
        qs = qs.filter(channel=filters.channel)
    if filters.assignee == "me":
        qs = qs.filter(assignee_id=user.pk)
    elif filters.assignee == "team":
        qs = qs.filter(assigned_team_id__in=user.team_ids())
    elif filters.assignee == "unassigned":
        qs = qs.filter(assignee__isnull=True)
    if filters.breached:
        qs = qs.filter(breached_q(now))
    if filters.party_id:
        qs = qs.filter(party_id=filters.party_id)
    if filters.search:
        term = filters.search
        qs = qs.filter(
            Q(subject__icontains=term) | Q(sender__icontains=term) | Q(excerpt__icontains=term)
        )
    return qs


def item_page_for_user(
    *, user: User, filters: ItemFilters, page: int, size: int
) -> tuple[list[InboxItem], bool]:
    """One page of the queue (newest first) and whether another follows — without counting
    the whole visible set, which is what made the page slow at 100,000 items.

    The visibility rule is an OR (owner, team, assignee); one query with that OR cannot read
    an index in queue order, so each branch is read on its own index, newest first, only as
    far as this page reaches (``page * size + 1`` keys), and the keys are merged here. The
    page's rows are then loaded by id. ``benchmarks/inbox_list.py`` measures it."""
    if not user.is_authenticated or not user.is_active:
        return [], False
    reach = page * size + 1
    if user.is_admin:
        branches = [Q()]
    else:
        branches = [Q(owner_id=user.pk), Q(assignee_id=user.pk)]
        teams = user.team_ids()
        if teams:
            branches.append(Q(team_id__in=teams))
    key_lists = [
        list(
            _filtered(InboxItem.objects.filter(branch), user=user, filters=filters)
            .order_by("-received_at", "-id")
            .values_list("received_at", "id")[:reach]
        )
        for branch in branches
    ]
    merged = heapq.merge(*key_lists, reverse=True)
    ids, seen = [], set()
    for _, pk in merged:
        if pk not in seen:
            seen.add(pk)
            ids.append(pk)
    wanted = list(islice(ids, (page - 1) * size, page * size))
    has_more = len(ids) > page * size
    rows = InboxItem.objects.select_related("party", "assignee", "assigned_team").in_bulk(wanted)
    return [rows[pk] for pk in wanted if pk in rows], has_more


def item_get_for_user(*, user: User, pk: int) -> InboxItem:
    item = (
        items_for_user(user=user)
        .select_related(
            "party", "case", "lead", "deal", "assignee", "assigned_team", "first_responded_by"
        )
        .filter(pk=pk)
        .first()
    )
    if item is None:
        raise Http404
    return item


def item_changes(item: InboxItem) -> list:
    return list(item.changes.select_related("actor").order_by("-created_at", "-pk")[:50])


def source_url(item: InboxItem) -> str:
    """Where the source record is shown (the mail, mention, case, lead or survey)."""
    from django.urls import NoReverseMatch, reverse

    targets = {
        "comms.message": ("comms:message", item.source_id),
        "social.mention": ("social:mention_detail", item.source_id),
        "service.casemessage": ("service:detail", item.case_id),
        "service.case": ("service:detail", item.case_id),
        "marketing.formsubmission": ("leads:detail", item.lead_id),
    }
    name, pk = targets.get(item.source_type, ("", None))
    if not name or pk is None:
        return ""
    try:
        return reverse(name, args=[pk])
    except NoReverseMatch:
        return ""


def stats_for_user(*, user: User | None) -> dict:
    """Counts per status and channel, breaches, answers in time (``user`` None: every item,
    for the command line)."""
    now = timezone.now()
    qs = InboxItem.objects.all() if user is None else items_for_user(user=user)
    by_status = {row["status"]: row["n"] for row in qs.values("status").annotate(n=Count("id"))}
    by_channel = {
        row["channel"]: row["n"]
        for row in qs.exclude(status=ItemStatus.DONE).values("channel").annotate(n=Count("id"))
    }
    answered = qs.filter(first_responded_at__isnull=False, first_response_due_at__isnull=False)
    late = answered.filter(first_responded_at__gt=F("first_response_due_at")).count()
    total_answered = answered.count()
    return {
        "by_status": by_status,
        "open_by_channel": by_channel,
        "breached": qs.filter(breached_q(now)).count(),
        "answered": total_answered,
        "answered_in_time": total_answered - late,
    }
