"""Exports of a list or a whole record type: one column description, four formats.

Each domain app describes its export once (``<app>/exports.py``): the columns, each with a
name and a function from a record to a typed value (``str``, ``int``, ``Decimal``, ``date``,
``datetime``, ``bool``, a list of strings, or ``None``), and the records as a lazy iterable.
The writers here turn that into

- **CSV**: UTF-8 with BOM, every cell through ``csv_cell`` (the formula defusing of
  ``kreis.core.web``), ``None`` empty, dates ISO 8601 — the lists' CSV exports as they were;
- **XLSX**: openpyxl in write-only mode (rows go to a temporary file as they come, so memory
  stays flat); numbers, dates and times are real cells; text is defused exactly as in CSV and
  always stored as text, never as a formula;
- **JSON**: an array of objects, streamed; numbers as JSON numbers (decimals exactly as
  stored), dates ISO 8601, ``None`` as ``null``;
- **vCard** (persons): 4.0 or 3.0 through vobject, for exports that give a ``vcard`` function.

Every writer is a generator of text or byte chunks: a download streams it, ``kreis export``
writes it to a file, and no writer holds more than one chunk of records.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.http import Http404, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from kreis.core.models import CustomField, CustomFieldType
from kreis.core.web import DefusingWriter, csv_cell

TEXT, NUMBER, DATE, DATETIME, BOOLEAN = "text", "number", "date", "datetime", "boolean"

FORMATS = {
    "csv": ("text/csv; charset=utf-8", "csv"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "json": ("application/json", "json"),
    "vcard": ("text/vcard; charset=utf-8", "vcf"),
}
VCARD_VERSIONS = ("4.0", "3.0")


@dataclass(frozen=True)
class Column:
    """One column: its name (CSV/XLSX header, JSON key), how to read it off a record, and what
    kind of value it holds (for the XLSX cell type and the JSON value)."""

    name: str
    value: Callable[[Any], Any]
    kind: str = TEXT


@dataclass(frozen=True)
class VCardPerson:
    """What a vCard carries of a person. ``emails``/``phones``: (value, label, primary);
    ``addresses``: (street, postal code, city, region, country, kind)."""

    full_name: str
    first_name: str = ""
    last_name: str = ""
    salutation: str = ""
    organization: str = ""
    title: str = ""
    emails: list[tuple[str, str, bool]] = field(default_factory=list)
    phones: list[tuple[str, str, bool]] = field(default_factory=list)
    addresses: list[tuple[str, str, str, str, str, str]] = field(default_factory=list)
    url: str = ""
    note: str = ""
    uid: str = ""


@dataclass
class Export:
    """A list or record type ready to write: ``records`` is iterated once, lazily."""

    name: str  # the file name without extension, e.g. "kreis-parties"
    columns: list[Column]
    records: Iterable[Any]
    vcard: Callable[[Any], VCardPerson | None] | None = None


class ExportFormatError(ValueError):
    """A format the export does not offer (vCard of deals, an unknown name)."""


def check_format(export: Export, fmt: str) -> None:
    if fmt not in FORMATS:
        raise ExportFormatError(
            _("Unknown export format “%(format)s”; choose one of: %(formats)s.")
            % {"format": fmt[:20], "formats": ", ".join(FORMATS)}
        )
    if fmt == "vcard" and export.vcard is None:
        raise ExportFormatError(_("Only persons can be exported as vCard."))


# --- custom fields as columns -------------------------------------------------------------

CUSTOM_KINDS = {
    CustomFieldType.NUMBER: NUMBER,
    CustomFieldType.MONEY: NUMBER,
    CustomFieldType.DATE: DATE,
    CustomFieldType.BOOLEAN: BOOLEAN,
}


def custom_field_columns(fields: list[CustomField], prefix: str = "custom.") -> list[Column]:
    """A column per custom field, named ``<prefix><key>``; numbers, money and dates typed."""

    def reader(key: str) -> Callable[[Any], Any]:
        return lambda record: (getattr(record, "custom", None) or {}).get(key)

    return [Column(prefix + f.key, reader(f.key), CUSTOM_KINDS.get(f.type, TEXT)) for f in fields]


# --- values per format ----------------------------------------------------------------------


def text_of(value: Any) -> str:
    """A value as CSV text: ``None`` empty, dates ISO 8601, lists joined, yes/no in words."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, dt.date):  # datetime too
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def _number(value: Any) -> int | Decimal | float | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, int | Decimal | float):
        return value
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def typed(column: Column, value: Any) -> Any:
    """The value as the column's kind, or ``None``; text where it does not parse (a custom
    number field holding a word keeps the word rather than losing it)."""
    if value is None or value == "":
        return None
    if column.kind == NUMBER:
        number = _number(value)
        return number if number is not None else text_of(value)
    if column.kind == DATE:
        day = _date(value)
        return day if day is not None else text_of(value)
    if column.kind == BOOLEAN and isinstance(value, bool):
        return value
    if column.kind == DATETIME and isinstance(value, dt.datetime):
        return value
    return text_of(value)


# --- CSV --------------------------------------------------------------------------------------


def csv_chunks(export: Export) -> Iterator[str]:
    buffer = io.StringIO()
    writer = DefusingWriter(buffer)
    writer.writerow([c.name for c in export.columns])
    yield "\ufeff" + buffer.getvalue()
    for record in export.records:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([text_of(c.value(record)) for c in export.columns])
        yield buffer.getvalue()


# --- XLSX -------------------------------------------------------------------------------------


def _xlsx_text(value: str) -> str:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    # Control characters cannot be stored in XML; the defusing sees them first.
    return ILLEGAL_CHARACTERS_RE.sub("", csv_cell(value))


def _xlsx_value(column: Column, value: Any) -> Any:
    value = typed(column, value)
    if isinstance(value, str):
        return _xlsx_text(value)
    if isinstance(value, dt.datetime):
        # Excel has no time zones: the time as the user's clock shows it.
        return timezone.localtime(value).replace(tzinfo=None) if timezone.is_aware(value) else value
    return value


def xlsx_chunks(export: Export, chunk_size: int = 1 << 16) -> Iterator[bytes]:
    """The workbook, built row by row in openpyxl's write-only mode (each row goes to a
    temporary file at once), then read out in chunks."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=export.name.removeprefix("kreis-")[:31] or "export")
    sheet.append([_xlsx_text(c.name) for c in export.columns])
    formats = {DATE: "yyyy-mm-dd", DATETIME: "yyyy-mm-dd hh:mm:ss"}
    styled = {i: formats[c.kind] for i, c in enumerate(export.columns) if c.kind in formats}
    for record in export.records:
        row = [_xlsx_value(c, c.value(record)) for c in export.columns]
        for i, number_format in styled.items():
            if isinstance(row[i], dt.date):
                cell = WriteOnlyCell(sheet, value=row[i])
                cell.number_format = number_format
                row[i] = cell
        sheet.append(row)
    with tempfile.TemporaryFile() as out:
        book.save(out)
        out.seek(0)
        while chunk := out.read(chunk_size):
            yield chunk


# --- JSON -------------------------------------------------------------------------------------


def _json_value(column: Column, value: Any) -> str:
    value = typed(column, value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal | float):
        return str(value)
    if isinstance(value, dt.date):
        return json.dumps(value.isoformat())
    return json.dumps(value, ensure_ascii=False)


def json_chunks(export: Export) -> Iterator[str]:
    keyed = [(json.dumps(c.name, ensure_ascii=False) + ": ", c) for c in export.columns]
    separator = "[\n"
    for record in export.records:
        fields = (key + _json_value(c, c.value(record)) for key, c in keyed)
        yield separator + "{" + ", ".join(fields) + "}"
        separator = ",\n"
    yield "[]\n" if separator == "[\n" else "\n]\n"


# --- vCard ------------------------------------------------------------------------------------


def vcard_text(person: VCardPerson, version: str = "4.0") -> str:
    """One person as a vCard (RFC 6350 for 4.0, RFC 2426 for 3.0)."""
    import vobject

    card = vobject.vCard()
    card.add("version").value = version
    card.add("fn").value = person.full_name
    card.add("n").value = vobject.vcard.Name(
        family=person.last_name,
        given=person.first_name if person.first_name or person.last_name else person.full_name,
        prefix=person.salutation,
    )
    if person.organization:
        card.add("org").value = [person.organization]
    if person.title:
        card.add("title").value = person.title
    v4 = version.startswith("4")
    for name, entries, extra in (("email", person.emails, "internet"), ("tel", person.phones, "")):
        for value, label, primary in entries:
            line = card.add(name)
            line.value = value
            types = [label.lower()] if label and label.replace("-", "").isalnum() else []
            if extra and not v4:
                types.append(extra)
            if primary and v4:
                line.params["PREF"] = ["1"]
            elif primary:
                types.append("pref")
            if types:
                line.params["TYPE"] = types
    for street, code, city, region, country, kind in person.addresses:
        line = card.add("adr")
        line.value = vobject.vcard.Address(
            street=street, code=code, city=city, region=region, country=country
        )
        if kind:
            line.type_param = {"office": "work", "private": "home"}.get(kind, kind)
    if person.url:
        card.add("url").value = person.url
    if person.note:
        card.add("note").value = person.note
    if person.uid:
        card.add("uid").value = person.uid
    return card.serialize()


def vcard_chunks(export: Export, version: str = "4.0") -> Iterator[str]:
    check_format(export, "vcard")
    to_person = export.vcard or (lambda record: None)
    for record in export.records:
        person = to_person(record)
        if person is not None:
            yield vcard_text(person, version)


# --- one entry point ------------------------------------------------------------------------


def export_chunks(export: Export, fmt: str, *, vcard_version: str = "4.0") -> Iterator[Any]:
    """The export in ``fmt`` as chunks (``str``, or ``bytes`` for XLSX)."""
    check_format(export, fmt)
    if fmt == "csv":
        return csv_chunks(export)
    if fmt == "xlsx":
        return xlsx_chunks(export)
    if fmt == "json":
        return json_chunks(export)
    return vcard_chunks(export, vcard_version if vcard_version in VCARD_VERSIONS else "4.0")


def write_export(export: Export, fmt: str, stream, *, vcard_version: str = "4.0") -> None:
    """Write the export to a binary ``stream`` (a file opened with ``"wb"``)."""
    for chunk in export_chunks(export, fmt, vcard_version=vcard_version):
        stream.write(chunk if isinstance(chunk, bytes) else chunk.encode("utf-8"))


def export_response(export: Export, fmt: str, *, vcard_version: str = "4.0"):
    """A streamed download of the export; ``ExportFormatError`` for a format it lacks."""
    chunks = export_chunks(export, fmt, vcard_version=vcard_version)
    content_type, extension = FORMATS[fmt]
    response = StreamingHttpResponse(chunks, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{export.name}.{extension}"'
    return response


def export_download(request, export: Export, fmt: str):
    """A list page's download (``…/export.<fmt>``, ``vcf`` for vCard); a format the list
    lacks is a 404.
    ``?vcard=3.0`` asks for vCard 3.0 instead of 4.0."""
    fmt = "vcard" if fmt == "vcf" else fmt
    try:
        return export_response(export, fmt, vcard_version=request.GET.get("vcard", "4.0"))
    except ExportFormatError as exc:
        raise Http404(str(exc)) from exc
