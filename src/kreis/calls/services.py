"""Writes of the phone channel: logging a call, building and working call lists.

Every call lands as an ``Activity`` of kind CALL through ``activities.services.activity_create``
(one timeline). A call list is built in one transaction from a segment's or a campaign's
parties, with one ``INSERT … SELECT``; who may be called is decided then, in the database,
with the rule of ``marketing.consent.services.may_contact`` (a granted phone consent for the
purpose, not withdrawn since; for advertising purposes a documented existing-customer basis
counts, as it does for mail). Entries are claimed with a conditional
``UPDATE … WHERE state = …`` so that two callers never get the same entry, whatever the
database.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import EmptyResultSet, PermissionDenied, ValidationError
from django.db import connections, transaction
from django.db.models import (
    Count,
    DateTimeField,
    Exists,
    F,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    Window,
)
from django.db.models.functions import Coalesce, RowNumber
from django.utils import timezone
from django.utils.translation import gettext as _

from kreis.activities import services as activity_services
from kreis.activities.models import Activity, ActivityKind, CallOutcome, Direction
from kreis.calls.models import (
    CLAIM_TIMEOUT,
    OUTCOME_OF_RESULT,
    RETRY_RESULTS,
    CallList,
    CallListEntry,
    CallResult,
    EntryState,
    SkipReason,
    WrongNumber,
)
from kreis.channels.models import Channel, ChannelPreference
from kreis.channels.services import outside_times
from kreis.core.models import Team, User
from kreis.leads.models import Lead
from kreis.marketing.consent.services import withdraw
from kreis.marketing.models import (
    MARKETING_PURPOSES,
    Campaign,
    Consent,
    ConsentBasis,
    ConsentChannel,
    ConsentPurpose,
    ConsentStatus,
    Segment,
)
from kreis.marketing.segments.queries import segment_parties
from kreis.parties.models import ContactKind, ContactPoint, Party
from kreis.sales.models import Deal

# A number not reached is tried again this much later (not straight after the next entry).
RETRY_AFTER = timedelta(hours=2)
NAME_MAX = 120
SCRIPT_MAX = 10_000
NOTES_MAX = 5_000


# --- who may be called ------------------------------------------------------------------------


def _consent_purposes(purpose: str) -> Q:
    match = Q(purpose=purpose)
    if purpose in MARKETING_PURPOSES:
        match |= Q(basis=ConsentBasis.EXISTING_CUSTOMER, purpose__in=MARKETING_PURPOSES)
    return match


def _phone_consent(purpose: str) -> Exists:
    """Whether the party of the outer query (its ``pk``) may be called for ``purpose`` now.

    The rule of ``may_contact(purpose=…, channel="phone", party=…)`` as one expression, so a
    whole list is decided in the database: a granted phone consent for the purpose (or, for an
    advertising purpose, on an existing-customer basis), not withdrawn, and no withdrawal for
    the same purpose after it was given."""
    withdrawn_later = Consent.objects.filter(
        party_id=OuterRef("party_id"),
        purpose=OuterRef("purpose"),
        channel=ConsentChannel.PHONE,
        status=ConsentStatus.WITHDRAWN,
        withdrawn_at__gt=Coalesce(OuterRef("confirmed_at"), OuterRef("requested_at")),
    )
    return Exists(
        Consent.objects.filter(
            _consent_purposes(purpose),
            party_id=OuterRef("pk"),
            channel=ConsentChannel.PHONE,
            status=ConsentStatus.GRANTED,
            withdrawn_at__isnull=True,
        ).filter(~Exists(withdrawn_later))
    )


def phone_allowed(party_ids: Iterable[int] | QuerySet, *, purpose: str) -> set[int]:
    """The parties among ``party_ids`` that may be called for ``purpose`` now (the rule of
    ``_phone_consent``)."""
    allowed = Party.objects.filter(_phone_consent(purpose), pk__in=party_ids)
    return set(allowed.values_list("pk", flat=True))


# --- call lists ------------------------------------------------------------------------------


def _members(*, segment: Segment | None, campaign: Campaign | None) -> QuerySet[Party]:
    """The live parties of the segment or campaign."""
    if segment is not None:
        parties = segment_parties(segment)
    else:
        parties = Party.objects.filter(
            deleted_at__isnull=True,
            pk__in=campaign.members.filter(party__isnull=False).values("party_id"),
        )
    return parties.order_by()


def _check_list_fields(*, name: str, script: str, max_attempts: int, purpose: str) -> dict:
    errors = {}
    if not name.strip():
        errors["name"] = _("Enter a name.")
    elif len(name) > NAME_MAX:
        errors["name"] = _("At most %d characters.") % NAME_MAX
    if len(script) > SCRIPT_MAX:
        errors["script"] = _("At most %d characters.") % SCRIPT_MAX
    if not 1 <= max_attempts <= 20:
        errors["max_attempts"] = _("Between 1 and 20 attempts.")
    if purpose not in ConsentPurpose.values:
        errors["purpose"] = _("Unknown purpose.")
    return errors


@dataclass
class BuildResult:
    call_list: CallList
    to_call: int
    skipped: dict[str, int]


def _check_people(actor: User | None, assignees: list[User], team: Team | None) -> None:
    if actor is None or actor.is_admin or actor.has_perm("calls.change_list", None):
        return
    if team is not None and team.pk not in actor.team_ids():
        raise ValidationError({"team_id": _("You can only assign your own teams.")})


def _insert_entries(
    call_list: CallList, members: QuerySet[Party], *, purpose: str, now: datetime
) -> None:
    """Write one entry per member with a single ``INSERT … SELECT``: the members in name order
    (``ROW_NUMBER()`` gives the position), the number to call (the primary phone, else the
    first), and why the party is skipped, checked in this order: no number, the number is
    marked wrong, a phone opt-out in the channel preferences, no consent for ``purpose``.

    The ORM builds the SELECT (so each database gets its own SQL and parameters); Django has
    no INSERT … SELECT, hence the raw wrapper. Building the entries as Python objects and
    bulk-inserting them cost about 0.4 ms per member, nearly all of it in Django's per-row
    work (benchmarks/call_list.py), against a few microseconds here."""
    number = (
        ContactPoint.objects.filter(party_id=OuterRef("pk"), kind=ContactKind.PHONE)
        .order_by("-is_primary", "pk")
        .values("value")[:1]
    )
    rows = members.annotate(
        entry_party=F("pk"),
        entry_position=Window(RowNumber(), order_by=[F("name").asc(), F("pk").asc()]),
        entry_phone=Coalesce(Subquery(number), Value("")),
        entry_wrong=Exists(
            WrongNumber.objects.filter(party_id=OuterRef("pk"), phone=OuterRef("entry_phone"))
        ),
        entry_opted_out=Exists(
            ChannelPreference.objects.filter(party_id=OuterRef("pk"), no_call_since__isnull=False)
        ),
        entry_allowed=_phone_consent(purpose),
    ).values_list(
        "entry_party",
        "entry_position",
        "entry_phone",
        "entry_wrong",
        "entry_opted_out",
        "entry_allowed",
    )
    try:
        select, select_params = rows.query.sql_with_params()
    except EmptyResultSet:  # a segment no party can meet
        return
    connection = connections[CallListEntry.objects.db]
    table = connection.ops.quote_name(CallListEntry._meta.db_table)
    reason = """CASE WHEN m.entry_phone = '' THEN %s WHEN m.entry_wrong THEN %s
        WHEN m.entry_opted_out THEN %s WHEN NOT m.entry_allowed THEN %s ELSE '' END"""
    stamp = connection.ops.adapt_datetimefield_value(now)
    sql = f"""INSERT INTO {table}
        (call_list_id, party_id, phone, position, state, skip_reason, due_at, attempts, result,
         updated_at)
        SELECT %s, e.entry_party, e.entry_phone, e.entry_position,
               CASE WHEN e.reason = '' THEN %s ELSE %s END, e.reason, %s, 0, '', %s
        FROM (SELECT m.*, {reason} AS reason FROM ({select}) m) e"""  # noqa: S608
    params = [
        call_list.pk,
        EntryState.OPEN,
        EntryState.SKIPPED,
        stamp,
        stamp,
        SkipReason.NO_PHONE,
        SkipReason.WRONG_NUMBER,
        SkipReason.OPTED_OUT,
        SkipReason.NO_CONSENT,
        *select_params,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@transaction.atomic
def call_list_create(
    *,
    actor: User | None,
    name: str,
    segment: Segment | None = None,
    campaign: Campaign | None = None,
    purpose: str = ConsentPurpose.PHONE,
    script: str = "",
    max_attempts: int = 3,
    assignees: Iterable[User] = (),
    team: Team | None = None,
    now: datetime | None = None,
) -> BuildResult:
    """Build a call list from a segment or a campaign's members (exactly one of them).

    Every live member becomes an entry, in name order: to be called when it has a phone number
    not marked wrong and its phone consent allows ``purpose``; skipped with the reason
    otherwise (so the list shows who was left out and why). Runs in one transaction."""
    if actor is not None and not actor.has_perm("calls.add"):
        raise PermissionDenied
    name, script = (name or "").strip(), (script or "").strip()
    errors = _check_list_fields(
        name=name, script=script, max_attempts=max_attempts, purpose=purpose
    )
    if (segment is None) == (campaign is None):
        errors["source"] = _("Choose a segment or a campaign.")
    if actor is not None:
        source = segment or campaign
        if source is not None and not actor.has_perm("marketing.view_record", source):
            errors["source"] = _("No such segment or campaign, or you may not see it.")
    if errors:
        raise ValidationError(errors)
    assignees = list(dict.fromkeys(assignees))
    if any(not u.is_active or u.is_read_only for u in assignees):
        raise ValidationError({"assignee_ids": _("Only active users who may call.")})
    _check_people(actor, assignees, team)
    call_list = CallList.objects.create(
        name=name,
        purpose=purpose,
        segment=segment,
        campaign=campaign,
        script=script,
        max_attempts=max_attempts,
        owner=actor,
        team=team,
    )
    if assignees:
        call_list.assignees.set(assignees)
    _insert_entries(
        call_list,
        _members(segment=segment, campaign=campaign),
        purpose=purpose,
        now=now or timezone.now(),
    )
    counts = dict(
        CallListEntry.objects.filter(call_list=call_list)
        .values_list("skip_reason")
        .annotate(n=Count("pk"))
        .order_by()
    )
    to_call = counts.pop("", 0)
    skipped = dict(counts)
    return BuildResult(call_list=call_list, to_call=to_call, skipped=skipped)


@transaction.atomic
def call_list_update(
    *,
    actor: User | None,
    call_list: CallList,
    assignees: Iterable[User] | None = None,
    **changes,
) -> CallList:
    """Rename, re-word the script, change attempts, team, assignees, or close/reopen a list."""
    if actor is not None and not actor.has_perm("calls.change_list", call_list):
        raise PermissionDenied
    allowed = {"name", "script", "max_attempts", "team", "is_closed"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError({f: _("This field cannot be set.") for f in sorted(unknown)})
    for field, value in changes.items():
        if isinstance(value, str):
            value = value.strip()
        setattr(call_list, field, value)
    errors = _check_list_fields(
        name=call_list.name,
        script=call_list.script,
        max_attempts=call_list.max_attempts,
        purpose=call_list.purpose,
    )
    if errors:
        raise ValidationError(errors)
    if "team" in changes:
        _check_people(actor, [], call_list.team)
    call_list.save()
    if assignees is not None:
        assignees = list(dict.fromkeys(assignees))
        if any(not u.is_active or u.is_read_only for u in assignees):
            raise ValidationError({"assignee_ids": _("Only active users who may call.")})
        call_list.assignees.set(assignees)
    return call_list


# --- working a list --------------------------------------------------------------------------


def _claimable(call_list_id: int, now: datetime) -> Q:
    """Entries free to take: due open ones and call-backs, and claims left to run out."""
    return Q(call_list_id=call_list_id) & (
        Q(state__in=(EntryState.OPEN, EntryState.CALL_BACK), due_at__lte=now)
        | Q(state=EntryState.CLAIMED, claimed_at__lt=now - CLAIM_TIMEOUT)
    )


def entry_held(*, actor: User, call_list: CallList, now: datetime | None = None):
    """The entry ``actor`` holds on the list (claimed and not yet run out), or None. Reading
    only: the work page shows it on every reload without taking anything."""
    now = now or timezone.now()
    return (
        CallListEntry.objects.select_related("party")
        .filter(
            call_list=call_list,
            state=EntryState.CLAIMED,
            claimed_by=actor,
            claimed_at__gte=now - CLAIM_TIMEOUT,
        )
        .order_by("claimed_at")
        .first()
    )


def entries_due(call_list: CallList, *, now: datetime | None = None) -> int:
    """How many entries could be taken right now (due open ones and call-backs, and claims
    left to run out)."""
    return CallListEntry.objects.filter(_claimable(call_list.pk, now or timezone.now())).count()


def entry_claim_next(
    *, actor: User, call_list: CallList, now: datetime | None = None
) -> CallListEntry | None:
    """The next entry for ``actor`` to call, claimed for them, or None when nothing is due.

    An entry the actor holds already comes back first (a reloaded page). Then due call-backs
    at their time, then the list in its order. The claim is one conditional UPDATE that only
    succeeds while the entry is still free, so two callers asking at once get different
    entries; the loser simply takes the next candidate."""
    if not actor.has_perm("calls.work_list", call_list) or call_list.is_closed:
        raise PermissionDenied
    now = now or timezone.now()
    held = entry_held(actor=actor, call_list=call_list, now=now)
    if held is not None:
        return held
    passed_over: list[int] = []  # parties who want no call at this hour: later
    for _attempt in range(50):
        candidate = _next_free(call_list.pk, now=now, passed_over=passed_over)
        if candidate is None:
            return None
        pref = ChannelPreference.objects.filter(party_id=candidate.party_id).first()
        if pref is not None and pref.opted_out(Channel.PHONE):
            _skip_opted_out(candidate, now=now)
            continue
        if pref is not None and outside_times(pref, now):
            passed_over.append(candidate.pk)
            continue
        if _take(candidate, actor=actor, now=now):
            candidate.refresh_from_db()
            return candidate
    return None


class _NotIndexed(Func):
    """The column itself; on SQLite written ``+column``, its documented way to keep the planner
    from using an index for that one term. Without it SQLite reads "state = open AND due_at ≤
    now ORDER BY position" through the (state, due_at) index and sorts every due entry of the
    list (30 ms on 70,000) instead of walking (state, position) to the first due one."""

    template = "%(expressions)s"

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, template="+%(expressions)s", **extra_context)


def _next_free(call_list_id: int, *, now: datetime, passed_over: list[int]) -> CallListEntry | None:
    """The next free entry (``_claimable``): a due call-back at its time first, then the list
    in its order, open and due or a claim run out. Three reads rather than one with an OR:
    each is a single range of an index (``call_next``, ``call_in_order``) already in the
    order wanted, so it stops at the first row however long the list; the OR made the
    database sort every due entry of the list on each claim."""
    entries = CallListEntry.objects.filter(call_list_id=call_list_id).exclude(pk__in=passed_over)
    call_back = (
        entries.filter(state=EntryState.CALL_BACK, due_at__lte=now)
        .order_by("due_at", "position")
        .first()
    )
    if call_back is not None:
        return call_back
    in_order = [
        entries.filter(state=EntryState.OPEN)
        .alias(due=_NotIndexed("due_at", output_field=DateTimeField()))
        .filter(due__lte=now)
        .order_by("position")
        .first(),
        entries.filter(state=EntryState.CLAIMED, claimed_at__lt=now - CLAIM_TIMEOUT)
        .order_by("position")
        .first(),
    ]
    return min((e for e in in_order if e is not None), key=lambda e: e.position, default=None)


def _skip_opted_out(entry: CallListEntry, *, now: datetime) -> None:
    """The party opted out of calls after the list was built: skipped, with that reason, if the
    entry is still as it was read."""
    CallListEntry.objects.filter(pk=entry.pk, state=entry.state).update(
        state=EntryState.SKIPPED, skip_reason=SkipReason.OPTED_OUT, updated_at=now
    )


def _take(candidate: CallListEntry, *, actor: User, now: datetime) -> bool:
    """Claim the entry as it was read: one UPDATE whose WHERE repeats what made it free (its
    state and claim time then), so it changes a row only if nobody took it in between."""
    return bool(
        CallListEntry.objects.filter(_claimable(candidate.call_list_id, now), pk=candidate.pk)
        .filter(state=candidate.state, claimed_at=candidate.claimed_at)
        .update(state=EntryState.CLAIMED, claimed_by=actor, claimed_at=now, updated_at=now)
    )


def entry_release(*, actor: User, entry: CallListEntry) -> None:
    """Give a claimed entry back untouched (skip it for now): it is due again at once. The
    caller gives back their own; whoever may change the list (its owner, managers,
    administrators) also a colleague's, e.g. one left open in a closed browser tab."""
    mine = Q(claimed_by=actor)
    if actor.has_perm("calls.change_list", entry.call_list):
        mine = Q()
    released = CallListEntry.objects.filter(mine, pk=entry.pk, state=EntryState.CLAIMED).update(
        state=EntryState.OPEN, claimed_by=None, claimed_at=None, updated_at=timezone.now()
    )
    if not released:
        raise ValidationError({"entry": _("This entry is not yours to give back.")})


def _mark_wrong(*, actor: User | None, party: Party, phone: str) -> None:
    if phone:
        WrongNumber.objects.get_or_create(party=party, phone=phone, defaults={"marked_by": actor})


def _withdraw_phone_consents(*, actor: User | None, party: Party, purpose: str) -> None:
    for consent in Consent.objects.filter(
        party=party,
        channel=ConsentChannel.PHONE,
        status=ConsentStatus.GRANTED,
        withdrawn_at__isnull=True,
    ).filter(_consent_purposes(purpose)):
        withdraw(consent, actor=actor)


def _check_duration(duration_minutes: int | None) -> None:
    if duration_minutes is not None and not 0 <= duration_minutes <= 1440:
        raise ValidationError({"duration_minutes": _("A call lasts between 0 and 1,440 minutes.")})


@transaction.atomic
def entry_log(
    *,
    actor: User,
    entry: CallListEntry,
    result: str,
    notes: str = "",
    duration_minutes: int | None = None,
    call_back_at: datetime | None = None,
    now: datetime | None = None,
) -> Activity:
    """Record the call on an entry: a CALL activity on the party's timeline, and the entry's
    next state — call back at the agreed time, try again later (no answer, busy, voicemail,
    until the list's attempts are used), or done. A wrong number is marked so that no list
    calls it again; "does not want to be called" withdraws the party's phone consents for the
    list's purpose."""
    now = now or timezone.now()
    entry = (
        CallListEntry.objects.select_for_update()
        .select_related("call_list", "party")
        .get(pk=entry.pk)
    )
    call_list = entry.call_list
    if not actor.has_perm("calls.work_list", call_list):
        raise PermissionDenied
    errors = {}
    if result not in CallResult.values:
        errors["result"] = _("Choose what the call came to.")
    supervises = actor.has_perm("calls.change_list", call_list)
    if entry.state == EntryState.CLAIMED and entry.claimed_by_id not in (None, actor.pk):
        if not supervises and entry.claimed_at and entry.claimed_at >= now - CLAIM_TIMEOUT:
            errors["entry"] = _("Somebody else is calling this entry.")
    elif entry.state in (EntryState.DONE, EntryState.SKIPPED):
        errors["entry"] = _("This entry is finished.")
    if result == CallResult.CALL_BACK:
        if call_back_at is None:
            errors["call_back_at"] = _("When should the call-back be?")
        elif call_back_at <= now:
            errors["call_back_at"] = _("The call-back must lie in the future.")
    if len(notes or "") > NOTES_MAX:
        errors["notes"] = _("At most %d characters.") % NOTES_MAX
    _check_duration(duration_minutes)
    if errors:
        raise ValidationError(errors)
    label = CallResult(result).label
    activity = activity_services.activity_create(
        actor=None,
        kind=ActivityKind.CALL,
        party=entry.party,
        owner=actor,
        team=call_list.team,
        subject=_("Call (%(list)s): %(result)s") % {"list": call_list.name, "result": label},
        body=notes or "",
        direction=Direction.OUTBOUND,
        outcome=OUTCOME_OF_RESULT[CallResult(result)],
        duration_minutes=duration_minutes,
        occurred_at=now,
    )
    Activity.objects.filter(pk=activity.pk).update(created_by=actor)
    entry.attempts += 1
    entry.result = result
    entry.last_activity = activity
    entry.called_by = actor
    entry.called_at = now
    entry.claimed_by = None
    entry.claimed_at = None
    if result == CallResult.CALL_BACK:
        entry.state, entry.due_at = EntryState.CALL_BACK, call_back_at
    elif result in RETRY_RESULTS and entry.attempts < call_list.max_attempts:
        entry.state, entry.due_at = EntryState.OPEN, now + RETRY_AFTER
    else:
        entry.state = EntryState.DONE
    entry.save()
    if result == CallResult.WRONG_NUMBER:
        _mark_wrong(actor=actor, party=entry.party, phone=entry.phone)
    elif result == CallResult.DO_NOT_CALL:
        _withdraw_phone_consents(actor=actor, party=entry.party, purpose=call_list.purpose)
    return activity


# --- a single call (click-to-call) -----------------------------------------------------------


@transaction.atomic
def call_log(
    *,
    actor: User,
    party: Party | None = None,
    lead: Lead | None = None,
    deal: Deal | None = None,
    phone: str = "",
    outcome: str = "",
    notes: str = "",
    duration_minutes: int | None = None,
    direction: str = Direction.OUTBOUND,
    occurred_at: datetime | None = None,
) -> Activity:
    """Log a call made from a ``tel:`` link: a CALL activity on the party (and the lead or
    deal the number was clicked on), with its outcome and duration. The activity service
    checks that the actor may see what it is linked to; writing needs the right to change
    the party, lead or deal. A wrong number is marked on the party."""
    for record in (party, lead, deal):
        if record is not None and not actor.has_perm("core.change_record", record):
            raise PermissionDenied
    if party is None and lead is None and deal is None:
        raise ValidationError({"party_id": _("Log the call on a party, lead or deal.")})
    if outcome and outcome not in CallOutcome.values:
        raise ValidationError({"outcome": _("Unknown outcome.")})
    if len(notes or "") > NOTES_MAX:
        raise ValidationError({"notes": _("At most %d characters.") % NOTES_MAX})
    _check_duration(duration_minutes)
    phone = (phone or "").strip()[:40]
    whom = party or lead or deal
    subject = _("Call with %(whom)s") % {"whom": whom}
    if phone:
        subject = f"{subject} ({phone})"
    activity = activity_services.activity_create(
        actor=actor,
        kind=ActivityKind.CALL,
        party=party,
        lead=lead,
        deal=deal,
        subject=subject[:200],
        body=notes or "",
        direction=direction,
        outcome=outcome,
        duration_minutes=duration_minutes,
        occurred_at=occurred_at or timezone.now(),
    )
    if outcome == CallOutcome.WRONG_NUMBER and party is not None:
        _mark_wrong(actor=actor, party=party, phone=phone)
    return activity
