"""The first-response SLA of the inbox: when a message of a channel must have its first answer.

The channel's ``SlaPolicy`` (Django admin, API, ``kreis inbox sla``) gives the hours; when it
names a complaint SLA policy as its calendar, they are business hours of that calendar —
counted by ``kreis.service.sla`` (weekdays, opening hours, German public holidays), not a copy
of it. Without a policy row a channel has its default below, in clock hours.
"""

from __future__ import annotations

import datetime as dt

from kreis.inbox.models import InboxChannel, SlaPolicy
from kreis.service.sla import BusinessCalendar, add_business_hours

# Hours to the first response when a channel has no policy: a public complaint or social post
# is seen by others and is answered fastest; a survey comment can wait a day.
DEFAULT_HOURS = {
    InboxChannel.COMPLAINT: 4,
    InboxChannel.SOCIAL: 4,
    InboxChannel.EMAIL: 8,
    InboxChannel.WEBFORM: 8,
    InboxChannel.SURVEY: 24,
}


def policies() -> dict[str, SlaPolicy]:
    return {p.channel: p for p in SlaPolicy.objects.select_related("calendar")}


def first_response_due(
    channel: str, received_at: dt.datetime, policy_map: dict | None = None
) -> dt.datetime:
    """``received_at`` plus the channel's first-response time (business hours when its policy
    has a calendar)."""
    policy = (policies() if policy_map is None else policy_map).get(channel)
    if policy is None:
        return received_at + dt.timedelta(hours=DEFAULT_HOURS.get(channel, 8))
    if policy.calendar is None:
        return received_at + dt.timedelta(hours=policy.first_response_hours)
    calendar = BusinessCalendar.from_policy(policy.calendar)
    return add_business_hours(received_at, policy.first_response_hours, calendar)


def policy_table() -> list[dict]:
    """Every channel with its first-response time: the policy's, or the default."""
    found = policies()
    rows = []
    for channel in InboxChannel:
        policy = found.get(channel.value)
        rows.append(
            {
                "channel": channel.value,
                "label": channel.label,
                "hours": policy.first_response_hours if policy else DEFAULT_HOURS[channel],
                "calendar": str(policy.calendar) if policy and policy.calendar else "",
                "calendar_id": policy.calendar_id if policy else None,
                "configured": policy is not None,
            }
        )
    return rows
