"""Reads of activities, permission-aware: lists, a record's timeline, My day, calendars."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from kreis.activities.models import Activity, ActivityKind
from kreis.core.models import User
from kreis.core.queries import visible_records
from kreis.leads.models import Lead
from kreis.parties.models import Employment, Party, PartyKind
from kreis.sales.models import Deal

SORTS = {
    "date": ("occurred_at", "pk"),
    "-date": ("-occurred_at", "-pk"),
    "subject": ("subject", "pk"),
    "-subject": ("-subject", "-pk"),
    "created": ("created_at", "pk"),
    "-created": ("-created_at", "-pk"),
}
STATES = ("open", "done", "overdue")
TIMELINE_PAGE_SIZE = 10
OVERDUE_LIMIT = 50


def _alive_visible(user: User) -> QuerySet[Activity]:
    return visible_records(Activity.objects.filter(deleted_at__isnull=True), user=user)


def _with_relations(qs: QuerySet[Activity]) -> QuerySet[Activity]:
    return qs.select_related("owner", "party", "deal", "lead").prefetch_related("attendees")


def _timeline_columns(qs: QuerySet[Activity]) -> QuerySet[Activity]:
    """What a timeline entry shows (``kreis.activities.entries``) and its permission check
    needs: no deal or lead, of the party and the attendees only the name and who may see it."""
    return (
        qs.select_related("owner", "party")
        .only(
            *TIMELINE_FIELDS,
            "owner__username",
            "owner__first_name",
            "owner__last_name",
            "party__name",
            "party__owner",
            "party__team",
        )
        .prefetch_related(Prefetch("attendees", queryset=Party.objects.only("id", "name")))
    )


TIMELINE_FIELDS = (
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
    "party",
    "owner",
    "team",
)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """Start and end of a calendar day in the current time zone, as aware datetimes."""
    tz = timezone.get_current_timezone()
    start = datetime.combine(day, time.min, tzinfo=tz)
    return start, datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)


def activity_list_for_user(
    *,
    user: User,
    kind: str = "",
    party_id: int | None = None,
    deal_id: int | None = None,
    lead_id: int | None = None,
    owner_id: int | None = None,
    state: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
    search: str = "",
    sort: str = "-date",
) -> QuerySet[Activity]:
    """Activities the user may see, filtered; ``state`` is open, done or overdue (open and due
    before now); the date range is inclusive, in the current time zone."""
    qs = _alive_visible(user)
    if kind:
        qs = qs.filter(kind=kind)
    if party_id:
        qs = qs.filter(party_id=party_id)
    if deal_id:
        qs = qs.filter(deal_id=deal_id)
    if lead_id:
        qs = qs.filter(lead_id=lead_id)
    if owner_id:
        qs = qs.filter(owner_id=owner_id)
    if state == "open":
        qs = qs.filter(done_at__isnull=True)
    elif state == "done":
        qs = qs.filter(done_at__isnull=False)
    elif state == "overdue":
        qs = qs.filter(done_at__isnull=True, occurred_at__lt=timezone.now())
    if date_from:
        qs = qs.filter(occurred_at__gte=day_bounds(date_from)[0])
    if date_to:
        qs = qs.filter(occurred_at__lt=day_bounds(date_to)[1])
    if search:
        qs = qs.filter(
            Q(subject__icontains=search)
            | Q(body__icontains=search)
            | Q(party__name__icontains=search)
            | Q(external_id=search)
        )
    return _with_relations(qs).order_by(*SORTS.get(sort, SORTS["-date"]))


def activity_get_for_user(
    *, user: User, pk: int, write: bool = False, related: bool = True
) -> Activity:
    """An activity the user may see (or change, with ``write``); 404 otherwise. Without
    ``related`` only its own columns and its attendees' ids come along (what the API answers
    with): the four joined records are most of the cost of reading one activity."""
    qs = Activity.objects.filter(pk=pk, deleted_at__isnull=True)
    if related:
        qs = _with_relations(qs)
    else:
        qs = qs.prefetch_related(Prefetch("attendees", queryset=Party.objects.only("id")))
    activity = qs.first()
    perm = "core.change_record" if write else "core.view_record"
    if activity is None or not user.has_perm(perm, activity):
        raise Http404
    return activity


def _record_for_user(model, *, user: User, pk: int, light: bool = False):
    """The record if the user may see it; 404 otherwise. ``light``: only what a timeline
    needs of its anchor (id, kind, owner and team), not the dozens of other columns."""
    qs = model.objects.filter(pk=pk, deleted_at__isnull=True)
    if light:
        qs = qs.only(*LIGHT_FIELDS[model])
    record = qs.first()
    if record is None or not user.has_perm("core.view_record", record):
        raise Http404
    return record


LIGHT_FIELDS = {
    Party: ("id", "kind", "owner", "team"),
    Deal: ("id", "owner", "team"),
    Lead: ("id", "owner", "team"),
}


def party_for_user(*, user: User, pk: int, light: bool = False) -> Party:
    return _record_for_user(Party, user=user, pk=pk, light=light)


def deal_for_user(*, user: User, pk: int, light: bool = False) -> Deal:
    return _record_for_user(Deal, user=user, pk=pk, light=light)


def lead_for_user(*, user: User, pk: int, light: bool = False) -> Lead:
    return _record_for_user(Lead, user=user, pk=pk, light=light)


def parties_for_user(*, user: User) -> QuerySet[Party]:
    """Live parties the user may see: what activities may be linked to."""
    return visible_records(Party.objects.filter(deleted_at__isnull=True), user=user)


@dataclass
class TimelinePage:
    entries: list[Activity]
    number: int
    has_more: bool

    @property
    def next_number(self) -> int:
        return self.number + 1


def _party_ids(party: Party) -> list[int]:
    """The party, and for an organisation also the persons who work for it."""
    ids = [party.pk]
    if party.kind == PartyKind.ORGANIZATION:
        ids += Employment.objects.filter(organization_id=party.pk).values_list(
            "person_id", flat=True
        )
    return ids


def _party_activity_ids(base, party_ids: list[int], order: tuple, need: int) -> list[int]:
    """The newest ``need`` activities of these parties — their own and those they attend.

    Each source is asked for its own newest rows through its index (party + date, attendee),
    and only those ids go into the page's query: never a walk over every activity by date
    looking for this party's, which takes seconds at a million activities."""
    direct = base.filter(party_id__in=party_ids).order_by(*order).values_list("pk", flat=True)
    attending = base.filter(attendees__in=party_ids).order_by(*order).values_list("pk", flat=True)
    return list({*direct[:need], *attending[:need]})


def timeline(
    *,
    user: User,
    party: Party | None = None,
    deal: Deal | None = None,
    lead: Lead | None = None,
    kinds: list[str] | None = None,
    page: int = 1,
    page_size: int = TIMELINE_PAGE_SIZE,
) -> TimelinePage:
    """The record's activities, newest first, optionally of some kinds (channels) only.

    Pages are fetched one row beyond their size, so "load more" needs no count query.
    """
    order = ("-occurred_at", "-pk")
    page = max(1, page)
    offset = (page - 1) * page_size
    base = _alive_visible(user)
    if kinds:
        base = base.filter(kind__in=kinds)
    if party is not None:
        need = offset + page_size + 1
        scope = Q(pk__in=_party_activity_ids(base, _party_ids(party), order, need))
    elif deal is not None:
        scope = Q(deal_id=deal.pk)
    elif lead is not None:
        scope = Q(lead_id=lead.pk)
    else:
        raise ValueError("timeline() needs a party, deal or lead")
    qs = _timeline_columns(base.filter(scope))
    rows = list(qs.order_by(*order)[offset : offset + page_size + 1])
    return TimelinePage(entries=rows[:page_size], number=page, has_more=len(rows) > page_size)


@dataclass
class MyDay:
    day: date
    overdue_tasks: list[Activity] = field(default_factory=list)
    overdue_count: int = 0
    today_tasks: list[Activity] = field(default_factory=list)
    meetings: list[Activity] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (self.overdue_count or self.today_tasks or self.meetings)

    @property
    def more_overdue(self) -> int:
        return self.overdue_count - len(self.overdue_tasks)


def my_day(*, user: User, today: date, overdue_limit: int = OVERDUE_LIMIT) -> MyDay:
    """The user's open tasks due today, today's meetings, and open tasks due before today
    (overdue: the oldest ``overdue_limit`` of them, and how many there are in all)."""
    start, end = day_bounds(today)
    mine = Activity.objects.filter(owner_id=user.pk, deleted_at__isnull=True)
    open_tasks = Q(kind=ActivityKind.TASK, done_at__isnull=True)
    overdue = mine.filter(open_tasks, occurred_at__lt=start)
    result = MyDay(day=today, overdue_count=overdue.count())
    if result.overdue_count:
        result.overdue_tasks = list(
            _with_relations(overdue).order_by("occurred_at", "pk")[:overdue_limit]
        )
    todays = _with_relations(
        mine.filter(open_tasks | Q(kind=ActivityKind.MEETING))
        .filter(occurred_at__gte=start, occurred_at__lt=end)
        .order_by("occurred_at", "pk")
    )
    for activity in todays:
        if activity.kind == ActivityKind.MEETING:
            result.meetings.append(activity)
        else:
            result.today_tasks.append(activity)
    return result


def calendar_for_user(*, user: User, since_days: int = 90) -> QuerySet[Activity]:
    """The user's meetings (from ``since_days`` ago on) and open tasks, for a calendar feed."""
    since = timezone.now() - timedelta(days=since_days)
    return (
        Activity.objects.filter(owner_id=user.pk, deleted_at__isnull=True)
        .filter(
            Q(kind=ActivityKind.MEETING, occurred_at__gte=since)
            | Q(kind=ActivityKind.TASK, done_at__isnull=True)
        )
        .select_related("party")
        .prefetch_related("attendees")
        .order_by("occurred_at", "pk")
    )


def activities_for_bulk(*, user: User, ids: list[int]) -> list[Activity]:
    """The selected activities the user may see (others are silently not found)."""
    return list(activity_list_for_user(user=user).filter(pk__in=ids))
