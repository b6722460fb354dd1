"""Small helpers shared by the views of every app."""

from __future__ import annotations

import csv
import io
import itertools
import re
import unicodedata
from collections.abc import Iterable
from datetime import date
from typing import Any

from django.core.exceptions import BadRequest, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, StreamingHttpResponse
from django.utils.translation import gettext as _


def apply_errors(form, exc: ValidationError) -> None:
    """Put a service's validation errors onto the form fields they belong to."""
    by_field = exc.error_dict if hasattr(exc, "error_dict") else {"__all__": exc.error_list}
    for field, errors in by_field.items():
        target = field if field in form.fields else None
        for error in errors:
            form.add_error(target, error)


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def query_without_page(request: HttpRequest) -> str:
    """The list's current filters as a query string, for the pagination links."""
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


# What a spreadsheet reads as the start of a formula: = + - @ (and their full-width forms,
# which some spreadsheets fold to ASCII), and a tab, CR or LF at the very start (OWASP: CSV
# injection). Spreadsheets skip leading spaces and control characters before they look, so
# the check looks past those too.
_FORMULA_STARTS = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")
_BREAKS = frozenset("\t\r\n")
# A plain signed number (-12.5, +3, 1,5e-3, +49 30 1234567): a spreadsheet reads it as a
# number, never as a formula, so it stays exactly as it is.
_SIGNED_NUMBER = re.compile(r"[+-](?:\d[\d .,]*)?\d(?:[.,]\d*)?(?:[eE][+-]?\d+)?")


def _is_blank(char: str) -> bool:
    return char.isspace() or unicodedata.category(char) in {"Cc", "Cf", "Zs"}


def csv_cell(value: object) -> str:
    """A cell a spreadsheet would run as a formula, defused with a leading apostrophe.

    Dangerous: a cell whose first character is a tab, CR or LF, or whose first character
    after any leading spaces and control characters is = + - @. A plain signed number, such as
    ``-12.5`` or a phone number in E.164, stays as it is. Every CSV export writes its cells
    through this function."""
    text = "" if value is None else str(value)
    if not text:
        return text
    start = 0
    while start < len(text) and _is_blank(text[start]):
        start += 1
    rest = text[start:]
    formula = text[0] in _BREAKS or (
        rest[:1] in _FORMULA_STARTS and not _SIGNED_NUMBER.fullmatch(rest)
    )
    return f"'{text}" if formula else text


class DefusingWriter:
    """A ``csv.writer`` that passes every cell through ``csv_cell``: every CSV export, the
    downloads and the ``kreis`` commands alike, writes through one of these."""

    def __init__(self, stream, **options: Any) -> None:
        self._writer = csv.writer(stream, **options)

    def writerow(self, row: Iterable[object]) -> None:
        self._writer.writerow([csv_cell(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_response(filename: str, header: list[str], rows: Iterable[Iterable[object]]):
    """A streamed CSV download (UTF-8 with BOM, so spreadsheets read umlauts)."""

    def lines():
        buffer = io.StringIO()
        writer = DefusingWriter(buffer)
        yield "\ufeff"
        for row in itertools.chain([header], rows):
            writer.writerow(row)
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class BadQuery(BadRequest):
    """A filter, chart or bulk value no record can match: an id beyond what a database stores,
    a date beyond the calendar Kreis works in. Answered 400 with this message
    (``kreis.core.views.bad_request``) instead of failing deep inside the database."""


MAX_ID = 2**63 - 1  # the largest primary key any of our databases stores
# The dates a filter, forecast or chart may ask for: wide enough for any business record, and
# far enough inside Python's and the databases' calendars that a month added or a time zone
# applied never leaves them.
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2999, 12, 31)


def parse_id(value: str | None) -> int | None:
    """A record id from a list filter (``?owner=``, ``?party=`` …) or a bulk selection.
    Empty or not a number: ``None`` (no filter). A number no database can hold: BadQuery."""
    value = (value or "").strip()
    if not value.isdigit() or not value.isascii():
        return None
    number = int(value)
    if number > MAX_ID:
        raise BadQuery(_("“%(value)s” is not a valid id.") % {"value": value[:30]})
    return number


def _in_calendar(day: date, raw: str) -> date:
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise BadQuery(
            _("“%(value)s” is outside the dates Kreis works with (%(first)s to %(last)s).")
            % {"value": raw[:30], "first": EARLIEST_DATE.year, "last": LATEST_DATE.year}
        )
    return day


def parse_date(value: str | None) -> date | None:
    """A day from a filter (``YYYY-MM-DD``): unreadable is ``None``, out of range BadQuery."""
    try:
        day = date.fromisoformat(value) if value else None
    except ValueError:
        return None
    return _in_calendar(day, value) if day else None  # type: ignore[arg-type]


def parse_month(value: str | None) -> date | None:
    """The first day of a month from a filter or chart (``YYYY-MM``), like ``parse_date``."""
    return parse_date(f"{value}-01") if value else None


MAX_BULK = 1000


def bulk_ids(request: HttpRequest) -> list[int]:
    """The selected record ids of a bulk action (at most 1,000; non-numbers ignored, an id
    no database can hold is a BadQuery)."""
    ids = []
    for raw in request.POST.getlist("ids")[:MAX_BULK]:
        number = parse_id(raw)
        if number is not None:
            ids.append(number)
    return ids


def safe_next(request: HttpRequest, default: str = "/") -> str:
    from django.utils.http import url_has_allowed_host_and_scheme

    target = request.POST.get("next") or request.GET.get("next") or default
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return default
    return target


class IndexPaginator(Paginator):
    """Pages fetched in two steps: the page's ids first (an index-only walk, even at OFFSET
    50,000), then just those rows with everything they prefetch. Deep pages of a sorted list
    stay fast because the database never builds the rows it skips."""

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        ids = list(self.object_list.values_list("pk", flat=True)[bottom:top])
        rows = {row.pk: row for row in self.object_list.filter(pk__in=ids)}
        return self._get_page([rows[pk] for pk in ids if pk in rows], number, self)


def too_many_posts(request: HttpRequest, *, scope: str, limit: int, window: int) -> bool:
    """Whether this address has sent more than ``limit`` POSTs to a public page (``scope``)
    within ``window`` seconds: counted in the cache, so every app server counts together
    when the cache is Redis."""
    from allauth.core.internal.ratelimit import get_ip
    from django.core.cache import cache

    key = f"kreis:{scope}:{get_ip(request)}"
    cache.add(key, 0, window)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, count := 1, window)
    return count > limit
