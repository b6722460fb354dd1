"""Calendar files (RFC 5545): one meeting to download, and a personal feed of meetings and open
tasks that a calendar app can subscribe to while the browser session lasts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.html import strip_tags
from django.utils.translation import gettext as _
from icalendar import Calendar, Event, Todo, vCalAddress

from kreis.activities import queries
from kreis.activities.models import Activity, ActivityKind
from kreis.activities.services import DEFAULT_MEETING_LENGTH

PRODID = "-//Kreis CRM//Activities//EN"


def _uid(activity: Activity, request: HttpRequest) -> str:
    return f"activity-{activity.pk}@{request.get_host().split(':')[0] or 'kreis'}"


def _text(activity: Activity) -> str:
    return strip_tags(activity.body.replace("</p>", "</p>\n").replace("<br>", "\n")).strip()


def _component(activity: Activity, request: HttpRequest):
    url = request.build_absolute_uri(f"/activities/{activity.pk}/")
    if activity.kind == ActivityKind.MEETING:
        item = Event()
        item.add("dtstart", activity.occurred_at.astimezone(UTC))
        ends = activity.ends_at or activity.occurred_at + DEFAULT_MEETING_LENGTH
        item.add("dtend", ends.astimezone(UTC))
        if activity.location:
            item.add("location", activity.location)
        for party in activity.attendees.all():
            attendee = vCalAddress(f"urn:kreis:party:{party.pk}")
            attendee.params["cn"] = party.name
            item.add("attendee", attendee)
    else:
        item = Todo()
        item.add("due", activity.occurred_at.astimezone(UTC))
        item.add("status", "COMPLETED" if activity.done_at else "NEEDS-ACTION")
    item.add("uid", _uid(activity, request))
    item.add("dtstamp", timezone.now().astimezone(UTC))
    item.add("last-modified", activity.updated_at.astimezone(UTC))
    summary = activity.subject
    if activity.party is not None:
        summary = f"{summary} · {activity.party.name}"
    item.add("summary", summary)
    description = _text(activity)
    item.add("description", f"{description}\n\n{url}".strip())
    item.add("url", url)
    return item


def _calendar(items: Iterable[Activity], request: HttpRequest, name: str) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", settings.TIME_ZONE)
    for activity in items:
        calendar.add_component(_component(activity, request))
    return calendar.to_ical()


def _ics_response(content: bytes, filename: str, *, attachment: bool) -> HttpResponse:
    response = HttpResponse(content, content_type="text/calendar; charset=utf-8")
    disposition = "attachment" if attachment else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    return response


@login_required
def meeting_ics(request: HttpRequest, pk: int) -> HttpResponse:
    """One meeting as an .ics file, to add it to a calendar."""
    activity = queries.activity_get_for_user(user=request.user, pk=pk)
    if activity.kind != ActivityKind.MEETING:
        raise Http404
    content = _calendar([activity], request, activity.subject)
    return _ics_response(content, f"kreis-meeting-{activity.pk}.ics", attachment=True)


@login_required
def calendar_feed(request: HttpRequest) -> HttpResponse:
    """The signed-in user's meetings (last 90 days on) and open tasks."""
    items = queries.calendar_for_user(user=request.user)
    content = _calendar(items, request, _("Kreis: %s") % request.user)
    return _ics_response(content, "kreis-calendar.ics", attachment=False)
