"""Small helpers shared by the views of every app."""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, StreamingHttpResponse


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


def csv_cell(value: object) -> str:
    """A cell starting with = + - @ would run as a formula in a spreadsheet: defuse it
    (a plain signed number, such as a phone number in E.164, stays as it is)."""
    text = "" if value is None else str(value)
    formula = text[:1] in {"=", "@", "\t", "\r"} or (
        text[:1] in {"+", "-"} and not re.fullmatch(r"[+-][\d .,]+", text)
    )
    return f"'{text}" if formula else text


def csv_response(filename: str, header: list[str], rows: Iterable[Iterable[object]]):
    """A streamed CSV download (UTF-8 with BOM, so spreadsheets read umlauts)."""

    def lines():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        yield "\ufeff"
        for row in itertools.chain([header], rows):
            writer.writerow([csv_cell(v) for v in row])
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


MAX_BULK = 1000


def bulk_ids(request: HttpRequest) -> list[int]:
    """The selected record ids of a bulk action (at most 1,000; non-numbers ignored)."""
    ids = []
    for raw in request.POST.getlist("ids")[:MAX_BULK]:
        if raw.isdigit():
            ids.append(int(raw))
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
