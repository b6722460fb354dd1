"""Writes of activities: tasks, calls, meetings, notes (and e-mails) on one timeline.

Each kind has its own rules (a task is due and may remind; a call has a direction, duration
and outcome; a meeting starts, ends, has a place and attendees; a note has a text). Bodies are
sanitised HTML. Who may write follows the record rules of parties: owner or team, never
read-only users; an activity is linked only to records its author may see.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import nh3
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import formats, timezone, translation
from django.utils.html import linebreaks, strip_tags
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kreis.activities.models import Activity, ActivityKind, CallOutcome, Direction
from kreis.core.bulk import BulkActions
from kreis.core.models import Notification, Team, User
from kreis.core.services import check_assignment
from kreis.leads.models import Lead
from kreis.parties.models import Party
from kreis.sales.models import Deal

ALLOWED_TAGS = {"p", "br", "strong", "em", "ul", "ol", "li", "a", "blockquote", "code"}
LINK_REL = "noopener noreferrer nofollow"
URL_SCHEMES = {"http", "https", "mailto", "tel"}
DEFAULT_MEETING_LENGTH = timedelta(hours=1)
HTML_TAG = re.compile(r"</?[a-zA-Z][^>]*>")

# Fields that mean something only for some kinds; given for another kind they are an error.
KIND_FIELDS: dict[str, set[str]] = {
    ActivityKind.TASK: {"reminder_at"},
    ActivityKind.CALL: {"direction", "duration_minutes", "outcome"},
    ActivityKind.MEETING: {"ends_at", "location", "attendees", "reminder_at"},
    ActivityKind.NOTE: set(),
    ActivityKind.EMAIL: {"direction"},
}
KIND_SPECIFIC = set().union(*KIND_FIELDS.values())
COMMON_FIELDS = {"subject", "body", "occurred_at", "external_id"}
FIELD_ERROR_KEYS = {"attendees": "attendee_ids"}


def sanitize_html(html: str) -> str:
    """Basic formatting survives (paragraphs, emphasis, lists, links, quotes, code); scripts,
    styles, event handlers and unknown tags do not. Plain text keeps its line breaks."""
    html = (html or "").strip()
    if not html:
        return ""
    if not HTML_TAG.search(html):
        html = linebreaks(html, autoescape=True)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes={"a": {"href"}},
        link_rel=LINK_REL,
        url_schemes=URL_SCHEMES,
    ).strip()


def _empty(value: Any) -> bool:
    return value in (None, "", [], (), set())


def _require_linkable(actor: User | None, **records: Party | Deal | Lead | None) -> None:
    """An activity may point only at live records its author may see."""
    errors = {}
    for name, record in records.items():
        if record is None:
            continue
        alive = getattr(record, "deleted_at", None) is None
        if not alive or (actor is not None and not actor.has_perm("core.view_record", record)):
            errors[f"{name}_id"] = _("No such record, or you may not see it.")
    if errors:
        raise ValidationError(errors)


def _check_attendees(actor: User | None, attendees: Iterable[Party]) -> list[Party]:
    people = list(dict.fromkeys(attendees))
    hidden = [
        p
        for p in people
        if p.deleted_at is not None
        or (actor is not None and not actor.has_perm("core.view_record", p))
    ]
    if hidden:
        raise ValidationError({"attendee_ids": _("No such party, or you may not see it.")})
    return people


def _default_team(actor: User | None, party, deal, lead) -> Team | None:
    for record in (party, deal, lead):
        if record is not None and record.team_id is not None:
            return record.team
    if actor is not None:
        return Team.objects.filter(pk__in=actor.team_ids()).order_by("pk").first()
    return None


def _validate(activity: Activity, *, given: set[str]) -> None:
    """Kind-specific rules, on the activity as it would be saved."""
    kind = activity.kind
    errors: dict[str, str] = {}
    for field in sorted((given & KIND_SPECIFIC) - KIND_FIELDS[kind]):
        errors[FIELD_ERROR_KEYS.get(field, field)] = _("This field does not apply to a %s.") % (
            ActivityKind(kind).label.lower()
        )
    if activity.occurred_at is None:
        errors["occurred_at"] = (
            _("A task needs a due date.")
            if kind == ActivityKind.TASK
            else _("A meeting needs a start.")
            if kind == ActivityKind.MEETING
            else _("Enter a date.")
        )
    if kind == ActivityKind.TASK and activity.reminder_at and activity.occurred_at:
        if activity.reminder_at > activity.occurred_at:
            errors["reminder_at"] = _("The reminder must come before the task is due.")
    if kind == ActivityKind.MEETING and activity.occurred_at:
        if activity.ends_at is None:
            activity.ends_at = activity.occurred_at + DEFAULT_MEETING_LENGTH
        elif activity.ends_at <= activity.occurred_at:
            errors["ends_at"] = _("The meeting must end after it starts.")
    if kind == ActivityKind.CALL:
        if activity.direction not in Direction.values:
            errors["direction"] = _("Choose whether the call was inbound or outbound.")
        if activity.outcome and activity.outcome not in CallOutcome.values:
            errors["outcome"] = _("Unknown outcome.")
        if activity.duration_minutes is not None and not 0 <= activity.duration_minutes <= 1440:
            errors["duration_minutes"] = _("A call lasts between 0 and 1,440 minutes.")
    if kind == ActivityKind.EMAIL and activity.direction not in Direction.values:
        errors["direction"] = _("Choose whether the e-mail was received or sent.")
    if kind == ActivityKind.NOTE and not strip_tags(activity.body).strip():
        errors["body"] = _("A note needs a text.")
    if not activity.subject:
        if kind == ActivityKind.NOTE and activity.body:
            activity.subject = Truncator(strip_tags(activity.body).strip()).chars(80)
        else:
            errors["subject"] = _("Enter a subject.")
    if activity.external_id and (
        Activity.objects.filter(external_id=activity.external_id).exclude(pk=activity.pk).exists()
    ):
        errors["external_id"] = _("Another activity has this external ID.")
    if errors:
        raise ValidationError(errors)
    activity.full_clean(
        exclude=["party", "deal", "lead", "owner", "team", "created_by", "attendees", "external_id"]
    )


def _clean_scalars(data: dict[str, Any]) -> dict[str, Any]:
    data = {k: (v.strip() if isinstance(v, str) else v) for k, v in data.items()}
    if "body" in data:
        data["body"] = sanitize_html(data["body"] or "")
    if "external_id" in data and not data["external_id"]:
        data["external_id"] = None
    for field in ("direction", "outcome", "location", "subject"):
        if field in data and data[field] is None:
            data[field] = ""
    return data


def _refuse_unknown(fields: dict[str, Any]) -> None:
    unknown = set(fields) - COMMON_FIELDS - KIND_SPECIFIC
    if unknown:
        raise ValidationError({f: _("This field cannot be set.") for f in sorted(unknown)})


@transaction.atomic
def activity_create(
    *,
    actor: User | None,
    kind: str,
    party: Party | None = None,
    deal: Deal | None = None,
    lead: Lead | None = None,
    owner: User | None = None,
    team: Team | None = None,
    attendees: Iterable[Party] = (),
    done: bool | None = None,
    **fields: Any,
) -> Activity:
    """Record a task, call, meeting, note or e-mail, linked to a party, deal and/or lead.

    Without an owner (assignee) the actor; without a team, the team of the linked party, deal
    or lead, else the actor's first team. Notes are done when written; calls and meetings are
    done when they lie in the past (unless ``done`` says otherwise); tasks start open.
    """
    if kind not in ActivityKind.values:
        raise ValidationError({"kind": _("Unknown kind of activity.")})
    if actor is not None and actor.is_read_only:
        raise PermissionDenied
    _refuse_unknown(fields)
    attendees = list(attendees)
    given = {k for k, v in fields.items() if not _empty(v)} | (
        {"attendees"} if attendees else set()
    )
    _require_linkable(actor, party=party, deal=deal, lead=lead)
    if owner is None and actor is not None:
        owner = actor
    default_team = _default_team(actor, party, deal, lead)
    team = team or default_team
    # The team of the linked record (or the actor's own) is always allowed; another is checked.
    check_assignment(actor=actor, owner=owner, team=None if team == default_team else team)
    data = _clean_scalars(fields)
    if data.get("occurred_at") is None and kind in (ActivityKind.NOTE, ActivityKind.CALL):
        data["occurred_at"] = timezone.now()
    activity = Activity(
        kind=kind,
        party=party,
        deal=deal,
        lead=lead,
        owner=owner,
        team=team,
        created_by=actor,
        **data,
    )
    _validate(activity, given=given)
    now = timezone.now()
    if kind == ActivityKind.NOTE:
        activity.done_at = activity.occurred_at
    elif done is None:
        in_past = activity.occurred_at <= now
        activity.done_at = now if kind != ActivityKind.TASK and in_past else None
    else:
        activity.done_at = now if done else None
    activity.save()
    if attendees:
        activity.attendees.set(_check_attendees(actor, attendees))
    return activity


_UNSET: Any = object()


@transaction.atomic
def activity_update(
    *,
    actor: User | None,
    activity: Activity,
    party: Party | None = _UNSET,
    deal: Deal | None = _UNSET,
    lead: Lead | None = _UNSET,
    owner: User | None = _UNSET,
    team: Team | None = _UNSET,
    attendees: Iterable[Party] | None = None,
    **changes: Any,
) -> Activity:
    """Change an activity; the kind stays. A changed due date or reminder re-arms the reminder."""
    if actor is not None and not actor.has_perm("core.change_record", activity):
        raise PermissionDenied
    if "kind" in changes and changes.pop("kind") != activity.kind:
        raise ValidationError({"kind": _("The kind of an activity cannot change.")})
    _refuse_unknown(changes)
    links = {
        name: value
        for name, value in (("party", party), ("deal", deal), ("lead", lead))
        if value is not _UNSET and value != getattr(activity, name)
    }
    _require_linkable(actor, **links)
    for name, value in links.items():
        setattr(activity, name, value)
    new_owner = activity.owner if owner is _UNSET else owner
    new_team = activity.team if team is _UNSET else team
    if (new_owner, new_team) != (activity.owner, activity.team):
        changed_team = new_team if new_team != activity.team else None
        check_assignment(actor=actor, owner=new_owner, team=changed_team)
        activity.owner, activity.team = new_owner, new_team
    given = {k for k, v in changes.items() if not _empty(v)}
    if attendees is not None and list(attendees):
        given.add("attendees")
    data = _clean_scalars(changes)
    before = (activity.occurred_at, activity.reminder_at)
    for field, value in data.items():
        setattr(activity, field, value)
    if (activity.occurred_at, activity.reminder_at) != before:
        activity.reminded_at = None
    _validate(activity, given=given)
    activity.save()
    if attendees is not None:
        activity.attendees.set(_check_attendees(actor, attendees))
    return activity


@transaction.atomic
def activity_delete(*, actor: User | None, activity: Activity) -> None:
    """Soft delete: gone from timelines, lists and calendars, restorable by an administrator."""
    if actor is not None and not actor.has_perm("core.change_record", activity):
        raise PermissionDenied
    activity.deleted_at = timezone.now()
    activity.save(update_fields=["deleted_at", "updated_at"])


@transaction.atomic
def activity_complete(
    *, actor: User | None, activity: Activity, outcome: str | None = None
) -> Activity:
    """Mark a task done (a call or meeting held); a call may record its outcome at the same time.
    Completing something already done changes nothing."""
    if actor is not None and not actor.has_perm("core.change_record", activity):
        raise PermissionDenied
    if activity.kind == ActivityKind.NOTE:
        raise ValidationError({"kind": _("A note has nothing to complete.")})
    fields = ["updated_at"]
    if outcome:
        if activity.kind != ActivityKind.CALL or outcome not in CallOutcome.values:
            raise ValidationError({"outcome": _("Unknown outcome.")})
        activity.outcome = outcome
        fields.append("outcome")
    if activity.done_at is None:
        activity.done_at = timezone.now()
        fields.append("done_at")
    activity.save(update_fields=fields)
    return activity


@transaction.atomic
def activity_reopen(*, actor: User | None, activity: Activity) -> Activity:
    """Open a done task (or call, meeting) again."""
    if actor is not None and not actor.has_perm("core.change_record", activity):
        raise PermissionDenied
    if activity.kind == ActivityKind.NOTE:
        raise ValidationError({"kind": _("A note cannot be reopened.")})
    if activity.done_at is not None:
        activity.done_at = None
        activity.save(update_fields=["done_at", "updated_at"])
    return activity


def activity_send_reminders(*, now: datetime | None = None) -> int:
    """Notify each assignee whose open task's reminder time has passed — once per reminder.

    Each activity is claimed with a conditional ``UPDATE … WHERE reminded_at IS NULL`` first,
    so two workers running at the same minute never send the same reminder twice.
    """
    now = now or timezone.now()
    due = (
        Activity.objects.filter(
            reminder_at__lte=now,
            reminded_at__isnull=True,
            done_at__isnull=True,
            deleted_at__isnull=True,
            owner__is_active=True,
        )
        .select_related("owner")
        .order_by("reminder_at", "pk")
    )
    sent = 0
    for activity in due.iterator(chunk_size=500):
        with transaction.atomic():
            claimed = Activity.objects.filter(pk=activity.pk, reminded_at__isnull=True).update(
                reminded_at=now
            )
            if not claimed:
                continue
            owner = activity.owner
            with translation.override(owner.language or settings.LANGUAGE_CODE):
                due_at = timezone.localtime(activity.occurred_at)
                Notification.objects.create(
                    user=owner,
                    level=Notification.Level.WARNING,
                    title=_("Reminder: %s") % activity.subject,
                    body=_("Due %s") % formats.date_format(due_at, "SHORT_DATETIME_FORMAT"),
                    url=f"/activities/{activity.pk}/",
                )
            sent += 1
    return sent


def _bulk_mark_done(*, actor: User | None, record: Activity) -> bool:
    """Complete a task, call or meeting; a note has nothing to complete and is skipped."""
    if record.kind == ActivityKind.NOTE:
        return False
    activity_complete(actor=actor, activity=record)
    return True


# The list's bulk actions (kreis.core.bulk): each one is the single-activity service.
ACTIVITY_BULK = BulkActions(
    assign_owner=lambda *, actor, record, owner: activity_update(
        actor=actor, activity=record, owner=owner
    ),
    delete=lambda *, actor, record: activity_delete(actor=actor, activity=record),
    own={"mark_done": (gettext_lazy("Mark done"), _bulk_mark_done)},
)
