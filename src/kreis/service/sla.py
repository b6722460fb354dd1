"""Service level agreements in business hours (DOMAIN.md §5, acceptance: "due dates follow the
SLA of its severity").

A business hour is an hour between the calendar's ``day_start`` and ``day_end`` (local time of
``tz``) on one of its ``weekdays`` (ISO numbers, 1 = Monday) that is no German public holiday —
nationwide ones, plus those of the federal state when the calendar names one (from the
``holidays`` package). ``add_business_hours(start, hours, calendar)`` is the deadline ``hours``
business hours after ``start``; a start outside business hours counts from the next opening.
While a case waits for the customer its clock stands still: ``business_hours_between`` measures
the pause, and the due dates move by that many business hours.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import holidays as holiday_data
from django.conf import settings

# A deadline further than this many days ahead is a configuration error (a calendar without
# any business day), not a date.
MAX_DAYS = 3660


@functools.lru_cache(maxsize=32)
def german_holidays(state: str = "") -> holiday_data.HolidayBase:
    """Germany's public holidays, nationwide or with those of one federal state (e.g. "BY")."""
    return holiday_data.country_holidays("DE", subdiv=state or None)


def _default_tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


@dataclass(frozen=True)
class BusinessCalendar:
    day_start: dt.time = dt.time(8)
    day_end: dt.time = dt.time(17)
    weekdays: frozenset[int] = frozenset({1, 2, 3, 4, 5})
    state: str = ""
    tz: ZoneInfo = field(default_factory=_default_tz)

    def __post_init__(self) -> None:
        if self.day_end <= self.day_start:
            raise ValueError("A business day must end after it starts.")
        if not self.weekdays or not self.weekdays <= set(range(1, 8)):
            raise ValueError("Business days are ISO weekday numbers 1–7.")

    @classmethod
    def from_policy(cls, policy) -> BusinessCalendar:
        """The calendar of an ``SlaPolicy``."""
        return cls(
            day_start=policy.day_start,
            day_end=policy.day_end,
            weekdays=frozenset(int(c) for c in policy.weekdays if c.isdigit()),
            state=policy.state,
        )

    def is_business_day(self, day: dt.date) -> bool:
        return day.isoweekday() in self.weekdays and day not in german_holidays(self.state)

    def _opening(self, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
        return (
            dt.datetime.combine(day, self.day_start, tzinfo=self.tz),
            dt.datetime.combine(day, self.day_end, tzinfo=self.tz),
        )


def add_business_hours(start: dt.datetime, hours: float, calendar: BusinessCalendar) -> dt.datetime:
    """The moment ``hours`` business hours after ``start`` (aware; the answer is in UTC)."""
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    if hours < 0:
        raise ValueError("hours must not be negative")
    remaining = dt.timedelta(hours=hours)
    cursor = start.astimezone(calendar.tz)
    day = cursor.date()
    for _ in range(MAX_DAYS):
        if calendar.is_business_day(day):
            opens, closes = calendar._opening(day)
            begin = max(cursor, opens)
            if begin < closes:
                available = closes - begin
                if remaining <= available:
                    return (begin + remaining).astimezone(dt.UTC)
                remaining -= available
        day += dt.timedelta(days=1)
        cursor = dt.datetime.combine(day, dt.time.min, tzinfo=calendar.tz)
    raise ValueError("The calendar has no business hours within ten years.")


def business_hours_between(
    start: dt.datetime, end: dt.datetime, calendar: BusinessCalendar
) -> float:
    """How many business hours lie between ``start`` and ``end`` (0 if ``end`` is earlier)."""
    if end <= start:
        return 0.0
    total = dt.timedelta()
    local_start, local_end = start.astimezone(calendar.tz), end.astimezone(calendar.tz)
    day = local_start.date()
    while day <= local_end.date():
        if calendar.is_business_day(day):
            opens, closes = calendar._opening(day)
            begin, finish = max(local_start, opens), min(local_end, closes)
            if finish > begin:
                total += finish - begin
        day += dt.timedelta(days=1)
    return total.total_seconds() / 3600
