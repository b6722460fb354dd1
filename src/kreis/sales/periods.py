"""Planning periods for targets and forecasts: a month, a quarter or a year.

A period is written as a key everywhere a person or a file names one: ``2026`` (the year),
``2026-Q2`` (the second quarter), ``2026-03`` (March). The key is what the CLI, the CSV files,
the API and the URLs take; the database keeps the kind and the first and last day.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils import formats
from django.utils.translation import gettext as _

from kreis.sales.models import PeriodKind

_KEY = re.compile(r"^(?P<year>\d{4})(?:-(?:(?P<quarter>[Qq][1-4])|(?P<month>0[1-9]|1[0-2])))?$")


@dataclass(frozen=True)
class Period:
    kind: str
    start: dt.date

    @property
    def end(self) -> dt.date:
        if self.kind == PeriodKind.YEAR:
            return self.start.replace(month=12, day=31)
        months = 3 if self.kind == PeriodKind.QUARTER else 1
        last_month = self.start.month + months - 1
        return self.start.replace(
            month=last_month, day=calendar.monthrange(self.start.year, last_month)[1]
        )

    @property
    def key(self) -> str:
        if self.kind == PeriodKind.YEAR:
            return f"{self.start.year}"
        if self.kind == PeriodKind.QUARTER:
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        return f"{self.start:%Y-%m}"

    @property
    def label(self) -> str:
        if self.kind == PeriodKind.MONTH:
            return formats.date_format(self.start, "YEAR_MONTH_FORMAT")
        if self.kind == PeriodKind.QUARTER:
            return _("Q%(quarter)s %(year)s") % {
                "quarter": (self.start.month - 1) // 3 + 1,
                "year": self.start.year,
            }
        return str(self.start.year)

    def contains(self, day: dt.date) -> bool:
        return self.start <= day <= self.end

    def months(self) -> list[dt.date]:
        """The first day of every month in the period."""
        out, day = [], self.start
        while day <= self.end:
            out.append(day)
            day = (day + dt.timedelta(days=32)).replace(day=1)
        return out

    def previous(self) -> Period:
        return period_containing(self.start - dt.timedelta(days=1), self.kind)


def period_from_key(key: str, *, field: str = "period") -> Period:
    """``2026`` / ``2026-Q2`` / ``2026-03`` as a period; a ``ValidationError`` names the field."""
    match = _KEY.match((key or "").strip())
    if not match or not 1900 <= int(match["year"]) <= 2999:
        raise ValidationError(
            {field: _("Enter a period as 2026, 2026-Q2 or 2026-03 (year, quarter or month).")}
        )
    year = int(match["year"])
    if match["quarter"]:
        quarter = int(match["quarter"][1])
        return Period(PeriodKind.QUARTER, dt.date(year, 3 * quarter - 2, 1))
    if match["month"]:
        return Period(PeriodKind.MONTH, dt.date(year, int(match["month"]), 1))
    return Period(PeriodKind.YEAR, dt.date(year, 1, 1))


def period_containing(day: dt.date, kind: str) -> Period:
    if kind == PeriodKind.YEAR:
        return Period(kind, dt.date(day.year, 1, 1))
    if kind == PeriodKind.QUARTER:
        return Period(kind, dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1))
    return Period(PeriodKind.MONTH, day.replace(day=1))


def period_of(obj) -> Period:
    """The period of a target or forecast snapshot (``period_kind`` and ``period_start``)."""
    return Period(obj.period_kind, obj.period_start)
