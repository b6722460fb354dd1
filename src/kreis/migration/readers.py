"""Reading import files: CSV, XLSX, vCard and JSON as one kind of table, safely.

``open_table(source)`` looks at the content, never the name, to tell the format; it checks the
file before anything else reads it, and raises ``ValidationError`` with a message in the
user's language when it refuses one. The result, a ``Table``, has string headers and yields
rows of strings; each call of ``rows()`` starts again at the first data row. Nothing here
touches the database.

Safety (issue 11, item 10):

* size: at most ``KREIS_IMPORT_MAX_MB`` (or ``max_bytes``); JSON and vCard, which are held
  in memory while read, at most ``STRUCTURED_MAX_BYTES``;
* type by content: known binary signatures (puremagic) other than an XLSX zip are refused,
  and so is text with NUL or other control bytes;
* XLSX: the zip directory is checked before anything is unpacked (member count, declared
  sizes, compression ratio), then every member is inflated here with a budget (a member that
  inflates past its declared size, or all past ``XLSX_MAX_UNPACKED``, is a zip bomb), and
  every XML part goes through defusedxml with DTDs forbidden (billion laughs, external
  entities). Only then does calamine read the workbook.

CSV streams: the file is read in blocks by the C ``csv`` module and never held whole, so a
1,000,000-row file costs a few MB of memory.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
import os
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, cast

import charset_normalizer
import puremagic
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from kreis.migration.charsets import looks_central_european

CSV, XLSX, VCARD, JSON = "csv", "xlsx", "vcard", "json"
DELIMITERS = ",;\t|"
BLOCK = 1 << 20
SNIFF_BYTES = 64 * 1024
STRUCTURED_MAX_BYTES = 100 * 1024 * 1024  # JSON, vCard: read whole
JSON_MAX_DEPTH = 20
# XLSX limits: far beyond any real workbook, far below what hurts the server.
XLSX_MAX_MEMBERS = 5000
XLSX_MAX_UNPACKED = 2 * 1024 * 1024 * 1024
XLSX_MAX_RATIO = 200  # uncompressed ÷ compressed, for members above XLSX_RATIO_FLOOR
XLSX_RATIO_FLOOR = 1024 * 1024
XML_FULL_PARSE_BYTES = 4 * 1024 * 1024  # smaller XML parts are parsed whole
# calamine holds the sheet in memory, about 1.7 bytes per byte of sheet XML: a larger sheet
# (over a million rows of ten columns) is refused, which bounds memory near 1 GB. Streaming
# it through openpyxl's read-only mode measured 1,800 rows/s, too slow to offer instead.
XLSX_MAX_SHEET = 600 * 1024 * 1024
# Signatures that may start a text file: not a reason to refuse it.
TEXT_SIGNATURES = {".csv", ".tsv", ".txt", ".json", ".vcf", ".gcrd", ".vcard", ".slk", ".ics"}
CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0e-\x1a\x1c-\x1f]")
C1_BYTES = re.compile(rb"[\x80-\x9f]")
_JSON_START = re.compile(rb'\[\s*[{\]]|\{\s*"')

Source = str | os.PathLike | IO[bytes]


def _not_supported() -> ValidationError:
    return ValidationError(
        _("This file is not a CSV, Excel (XLSX), vCard or JSON file."), code="file_type"
    )


def _zip_bomb(unpacked: int | None = None) -> ValidationError:
    """``unpacked``: bytes inflated when the guard stopped (for the record and the tests)."""
    return ValidationError(
        _("The Excel file is packed suspiciously (zip bomb) and was rejected."),
        code="zip_bomb",
        params=None if unpacked is None else {"unpacked": unpacked},
    )


def max_upload_bytes() -> int:
    return settings.KREIS_IMPORT_MAX_MB * 1024 * 1024


# --- the source: a path or a binary file object, opened again for every pass ---------------


class _Source:
    def __init__(self, source: Source, name: str):
        self.path: Path | None = None
        self.fileobj: IO[bytes] | None = None
        if isinstance(source, str | os.PathLike):
            self.path = Path(source)
            self.name = name or self.path.name
        else:
            # Django's UploadedFile wraps the real file (a temporary file or BytesIO).
            inner = getattr(source, "file", None)
            self.fileobj = inner if inner is not None and hasattr(inner, "seek") else source
            self.name = name or str(getattr(source, "name", "") or "")

    def size(self) -> int:
        if self.fileobj is None:
            return cast(Path, self.path).stat().st_size
        self.fileobj.seek(0, io.SEEK_END)
        return self.fileobj.tell()

    def open(self) -> IO[bytes]:
        """A binary stream at the start; closing it leaves a caller's file object open."""
        if self.fileobj is None:
            return open(cast(Path, self.path), "rb", buffering=BLOCK)  # noqa: SIM115
        self.fileobj.seek(0)
        return _Unclosed(self.fileobj)

    def head(self, n: int) -> bytes:
        with self.open() as f:
            return f.read(n)

    def blocks(self) -> Iterator[bytes]:
        with self.open() as f:
            while block := f.read(BLOCK):
                yield block


class _Unclosed(io.RawIOBase):
    """A view of a caller's file object that does not close it."""

    def __init__(self, inner: IO[bytes]):
        self.inner = inner

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.inner.seek(offset, whence)

    def tell(self) -> int:
        return self.inner.tell()

    def readinto(self, buffer: Any) -> int:
        data = self.inner.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def read(self, size: int = -1) -> bytes:
        return self.inner.read(size)


# --- the table ----------------------------------------------------------------------------


@dataclass
class Table:
    """A file read as a table. ``rows()`` starts again at the first data row on every call;
    values are the cells' text as written (not stripped), rows of only empty cells skipped."""

    format: str
    headers: list[str]
    encoding: str = ""
    delimiter: str = ""
    sheet: str = ""
    sheets: list[str] = field(default_factory=list)
    _rows: Callable[[], Iterator[list[str]]] = field(default=lambda: iter(()), repr=False)
    _count: Callable[[], int] | None = field(default=None, repr=False)

    def rows(self) -> Iterator[list[str]]:
        """Data rows as lists of strings, padded to the number of headers."""
        return self._rows()

    def count_rows(self) -> int:
        if self._count is not None:
            return self._count()
        return sum(1 for _row in self._rows())


def unique_headers(raw: list[Any]) -> list[str]:
    """Stripped header names, empty ones named by position, repeats numbered: "E-Mail (2)"."""
    taken: set[str] = set()
    result = []
    for i, value in enumerate(raw, start=1):
        name = " ".join(str(value if value is not None else "").split()) or _("Column %d") % i
        candidate, n = name, 1
        while candidate.casefold() in taken:
            n += 1
            candidate = f"{name} ({n})"
        taken.add(candidate.casefold())
        result.append(candidate)
    return result


def open_table(
    source: Source, *, name: str = "", sheet: str | None = None, max_bytes: int | None = None
) -> Table:
    """Read ``source`` (a path, or a binary file object such as an upload) as a ``Table``.

    The format comes from the content, never from ``name`` (the original file name). Raises
    ``ValidationError`` when the file is too large, of another type, damaged or unsafe.
    """
    src = _Source(source, name)
    limit = max_upload_bytes() if max_bytes is None else max_bytes
    size = src.size()
    if size > limit:
        raise ValidationError(
            _("The file is larger than %(mb)s MB.") % {"mb": _megabytes(limit)}, code="too_large"
        )
    if size == 0:
        raise ValidationError(_("The file is empty."), code="empty")
    head = src.head(SNIFF_BYTES)
    kind = _detect(head)
    if kind == XLSX:
        return _open_xlsx(src, sheet)
    if kind in (VCARD, JSON) and size > STRUCTURED_MAX_BYTES:
        raise ValidationError(
            _("vCard and JSON files may be at most %(mb)s MB; save larger data as CSV.")
            % {"mb": _megabytes(STRUCTURED_MAX_BYTES)},
            code="too_large",
        )
    encoding = _detect_encoding(src, head)
    if kind == VCARD:
        return _open_vcard(src, encoding)
    if kind == JSON:
        return _open_json(src, encoding)
    return _open_csv(src, encoding)


def _megabytes(n: int) -> str:
    mb = n / (1024 * 1024)
    return str(int(mb)) if mb == int(mb) else f"{mb:.1f}"


def _detect(head: bytes) -> str:
    if head.startswith(b"PK\x03\x04"):
        return XLSX  # confirmed (or refused) from the zip directory
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        raise ValidationError(
            _(
                "Old Excel files (.xls) and password-protected workbooks cannot be read; "
                "save the file as XLSX or CSV."
            ),
            code="file_type",
        )
    try:
        matches = puremagic.magic_string(head)
    except puremagic.PureError:
        matches = []
    for match in matches:
        if (
            match.offset == 0
            and len(match.byte_match) >= 4
            and match.extension.lower() not in TEXT_SIGNATURES
        ):
            raise _not_supported()
    utf16 = head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    text = head.decode("utf-16") if utf16 else head
    sample = text.encode("utf-8", "replace") if utf16 else head
    if CONTROL_BYTES.search(sample[:SNIFF_BYTES]):
        raise _not_supported()
    start = sample.lstrip(codecs.BOM_UTF8).lstrip()
    if start[:11].upper() == b"BEGIN:VCARD":
        return VCARD
    if _JSON_START.match(start):  # "[{", "[]" or '{"'; "[Name];…" is a CSV header
        return JSON
    return CSV


# --- encodings ------------------------------------------------------------------------------

# Single-byte encodings of other scripts, taken when the detector finds one; any other guess
# on a file without bytes 0x80–0x9F means ISO-8859-1 (detectors err on short Western text).
OTHER_SCRIPTS = {"cp1251", "koi8_r", "iso8859_5", "cp1253", "iso8859_7", "cp1255", "cp1256"}
# Old encodings whose letters lie in 0x80–0x9F (DOS, Mac): taken when the detector says so.
OTHER_C1 = {"cp850", "cp437", "mac_roman"}


def _detect_encoding(src: _Source, head: bytes) -> str:
    """UTF-8 (with or without BOM) if the whole file decodes as such; else Windows-1250 for
    Central European text (``charsets.looks_central_european``); else Windows-1252 when
    bytes 0x80–0x9F occur (there they are € „ “ – …; in ISO-8859-1 control codes), else
    ISO-8859-1 for Western text (both decode 0xA0–0xFF alike), else what charset-normalizer
    finds for another script."""
    if head.startswith(codecs.BOM_UTF8):
        bom = "utf-8-sig"
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    else:
        bom = ""
    decoder = codecs.getincrementaldecoder("utf-8")()
    has_c1 = False
    utf8 = True
    first_bad = b""
    for block in src.blocks():
        if b"\x00" in block:
            raise _not_supported()
        if utf8:
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                utf8 = False
                first_bad = block[max(0, exc.start - 2000) : exc.start + 2000]
        has_c1 = has_c1 or bool(C1_BYTES.search(block))
    if utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8 = False
    if utf8:
        return bom or "utf-8"
    sample = head + b"\n" + first_bad
    if looks_central_european(sample) and _decodes(src, "cp1250"):
        return "cp1250"
    best = charset_normalizer.from_bytes(sample).best()
    guess = _codec(best.encoding) if best is not None else ""
    if has_c1:
        if guess in OTHER_C1 and _decodes(src, guess):
            return best.encoding  # type: ignore[union-attr]
        return "cp1252" if _decodes(src, "cp1252") else "iso-8859-1"
    if guess in OTHER_SCRIPTS and _decodes(src, guess):
        return best.encoding  # type: ignore[union-attr]
    return "iso-8859-1"


def _codec(name: str) -> str:
    return codecs.lookup(name).name.replace("-", "_")


def _decodes(src: _Source, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        for block in src.blocks():
            decoder.decode(block)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _text(src: _Source, encoding: str) -> io.TextIOWrapper:
    return io.TextIOWrapper(
        io.BufferedReader(src.open(), BLOCK) if src.fileobj is not None else src.open(),  # type: ignore[arg-type]
        encoding="utf-8-sig" if encoding == "utf-8" else encoding,
        newline="",
    )


# --- CSV ------------------------------------------------------------------------------------


def _sniff_delimiter(sample: str) -> str:
    """The delimiter among , ; TAB | that splits the sample's lines most consistently."""
    lines = sample.splitlines(keepends=True)
    if len(lines) > 1 and not sample.endswith(("\n", "\r")):
        lines = lines[:-1]  # the last line of a sample may be cut
    sample = "".join(lines[:200])
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        sniffed = ""
    best, best_score = ",", (0.0, 0)
    for delimiter in DELIMITERS:
        try:
            counts = [len(r) for r in csv.reader(io.StringIO(sample), delimiter=delimiter) if r]
        except csv.Error:
            continue
        if not counts or counts[0] < 2:
            continue
        same = sum(1 for c in counts if c == counts[0]) / len(counts)
        score = (same, counts[0])
        if score > best_score or (score == best_score and delimiter == sniffed):
            best, best_score = delimiter, score
    if sniffed and best_score[0] < 1.0:
        # the consistency test found no clean split: trust the sniffer if it split at all
        return sniffed
    return best


def _open_csv(src: _Source, encoding: str) -> Table:
    with _text(src, encoding) as f:
        sample = f.read(SNIFF_BYTES)
    # Excel's hint line "sep=;" names the delimiter and is no data.
    hint = re.match(r"sep=([^\r\n])\r?\n", sample)
    delimiter = hint[1] if hint else _sniff_delimiter(sample)
    dialect = {"delimiter": delimiter, "quotechar": '"', "doublequote": True, "strict": False}

    def reader() -> Iterator[list[str]]:
        with _text(src, encoding) as f:
            if hint:
                f.readline()
            try:
                yield from csv.reader(f, **dialect)
            except csv.Error as exc:
                if "field limit" in str(exc):
                    message = _(
                        "The CSV file is damaged: a quote is not closed, or a field is longer "
                        "than %(n)s characters."
                    ) % {"n": csv.field_size_limit()}
                else:
                    message = _("The CSV file is damaged: %(error)s") % {"error": exc}
                raise ValidationError(message, code="damaged") from None

    header_row: list[str] = []
    try:
        for row in reader():
            if any(v.strip() for v in row):
                header_row = row
                break
    except UnicodeDecodeError:
        raise _not_supported() from None
    if not header_row:
        raise ValidationError(_("The file contains no column headers."), code="empty")
    headers = unique_headers(header_row)
    width = len(headers)

    def rows() -> Iterator[list[str]]:
        it = reader()
        for row in it:
            if any(v.strip() for v in row):
                break  # the header
        pad = [""] * width
        for row in it:
            n = len(row)
            if n == width and (row[0] or any(row)):
                yield row
            elif not any(row):
                continue  # blank line (or only delimiters)
            elif n < width:
                yield row + pad[n:]
            else:
                yield row

    def count() -> int:
        fast = _count_lines(src, encoding, delimiter)
        if fast is None:
            return sum(1 for _row in rows())
        return fast - 1 if hint else fast

    return Table(
        format=CSV,
        headers=headers,
        encoding=encoding,
        delimiter=delimiter,
        _rows=rows,
        _count=count,
    )


def _count_lines(src: _Source, encoding: str, delimiter: str) -> int | None:
    """Data rows counted by newline bytes, as ``rows()`` would yield them (lines of only
    delimiters skipped), at memory speed; None when a quote (a field may span lines), a lone
    CR or a multi-byte encoding makes the csv module's count necessary."""
    if encoding.startswith("utf-16"):
        return None
    sep = delimiter.encode()
    # where a line of nothing could start: a newline followed by a newline, CR or delimiter
    maybe_empty = re.compile(rb"\n[\r\n" + re.escape(sep) + rb"]")
    lines, tail = 0, b""
    for block in src.blocks():
        if b'"' in block or (b"\r" in block and block.count(b"\r") != block.count(b"\r\n")):
            return None
        data = tail + block
        cut = data.rfind(b"\n") + 1
        complete, tail = data[:cut], data[cut:]
        if complete.startswith((b"\n", b"\r", sep)) or maybe_empty.search(complete):
            lines += sum(1 for line in complete.split(b"\n")[:-1] if line.strip(sep + b"\r"))
        else:
            lines += complete.count(b"\n")
    if tail.strip(delimiter.encode() + b"\r"):
        lines += 1
    return max(lines - 1, 0)  # the header


# --- XLSX -----------------------------------------------------------------------------------

_LOCAL_HEADER = struct.Struct("<4s5H3L2H")


def _check_xlsx(src: _Source) -> int:
    """Refuse zip bombs and XML entity tricks before a workbook library sees the file.
    Returns the unpacked size of the largest worksheet."""
    with src.open() as f:
        try:
            archive = zipfile.ZipFile(f)
            members = archive.infolist()
        except (zipfile.BadZipFile, OSError, ValueError):
            raise ValidationError(
                _("The Excel file is damaged and cannot be read."), code="damaged"
            ) from None
        names = {m.filename for m in members}
        if "xl/workbook.xml" not in names:
            raise _not_supported()
        if len(members) > XLSX_MAX_MEMBERS:
            raise _zip_bomb()
        declared = 0
        for m in members:
            declared += m.file_size
            if m.flag_bits & 0x1:
                raise ValidationError(
                    _("The Excel file is encrypted; save it without a password."),
                    code="encrypted",
                )
            if m.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise _zip_bomb()
            if m.file_size > XLSX_RATIO_FLOOR and m.file_size > XLSX_MAX_RATIO * max(
                m.compress_size, 1
            ):
                raise _zip_bomb()
        if declared > XLSX_MAX_UNPACKED:
            raise _zip_bomb()
        budget = XLSX_MAX_UNPACKED
        for m in members:
            budget -= _inspect_member(f, m, budget)
    return max((m.file_size for m in members if m.filename.startswith("xl/worksheets/")), default=0)


def _inspect_member(f: IO[bytes], member: Any, budget: int) -> int:
    """Inflate one member, refusing more output than declared or than the budget; parse an
    XML part with defusedxml (whole when small, else its prolog up to the root element,
    where any DTD would have to stand). Returns the bytes inflated."""
    f.seek(member.header_offset)
    header = f.read(_LOCAL_HEADER.size)
    if len(header) < _LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
        raise ValidationError(_("The Excel file is damaged and cannot be read."), code="damaged")
    *_fields, name_len, extra_len = _LOCAL_HEADER.unpack(header)
    f.seek(name_len + extra_len, io.SEEK_CUR)
    limit = min(member.file_size, budget)
    inflate = zlib.decompressobj(-15) if member.compress_type == 8 else None
    is_xml = member.filename.endswith((".xml", ".rels", ".vml")) or member.filename == (
        "[Content_Types].xml"
    )
    parser = _XmlCheck(whole=member.file_size <= XML_FULL_PARSE_BYTES) if is_xml else None
    left, out, full = member.compress_size, 0, False
    while True:
        if inflate is not None and inflate.unconsumed_tail:
            raw = inflate.unconsumed_tail
        elif left > 0:
            raw = f.read(min(BLOCK, left))
            if not raw:
                break
            left -= len(raw)
        elif inflate is not None and full and not inflate.eof:
            raw = b""  # output still held back by the last call's limit
        else:
            break
        want = min(BLOCK, limit + 1 - out)
        try:
            data = inflate.decompress(raw, want) if inflate else raw
        except zlib.error:
            raise ValidationError(
                _("The Excel file is damaged and cannot be read."), code="damaged"
            ) from None
        out += len(data)
        full = len(data) == want
        if out > limit:
            raise _zip_bomb(unpacked=out)
        for start in range(0, len(data) if parser is not None else 0, SNIFF_BYTES):
            if parser is not None and not parser.feed(data[start : start + SNIFF_BYTES]):
                parser = None  # prolog checked
    if parser is not None:
        parser.close()
    return out


class _XmlCheck:
    """defusedxml's expat parser with DTDs, entities and external references forbidden."""

    class _Target:
        started = False

        def start(self, tag: str, attrs: dict) -> None:
            self.started = True

        def end(self, tag: str) -> None:
            pass

        def data(self, text: str) -> None:
            pass

        def close(self) -> None:
            pass

    def __init__(self, *, whole: bool):
        self.whole = whole
        self.target = self._Target()
        self.parser = DefusedXMLParser(
            target=self.target, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )

    def feed(self, data: bytes) -> bool:
        """False once enough is seen."""
        try:
            self.parser.feed(data)
        except (DefusedXmlException, SyntaxError, ValueError) as exc:
            raise self._refuse(exc) from None
        return self.whole or not self.target.started

    def close(self) -> None:
        if not self.whole:
            return
        try:
            self.parser.close()
        except (DefusedXmlException, SyntaxError, ValueError) as exc:
            raise self._refuse(exc) from None

    @staticmethod
    def _refuse(exc: Exception) -> ValidationError:
        if isinstance(exc, DefusedXmlException):
            return ValidationError(
                _(
                    "The Excel file contains XML definitions (DTD or entities) that could "
                    "attack the server and was rejected."
                ),
                code="xml_entities",
            )
        return ValidationError(_("The Excel file is damaged and cannot be read."), code="damaged")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return f"{value:.15g}"  # Excel's precision: 0.1 + 0.2 reads "0.3"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(timespec="seconds")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    return str(value)


def _damaged_workbook() -> ValidationError:
    return ValidationError(_("The Excel file is damaged and cannot be read."), code="damaged")


def _chosen_sheet(names: list[str], sheet: str | None) -> str:
    if not names:
        raise ValidationError(_("The Excel file has no sheets."), code="empty")
    if sheet is not None and sheet not in names:
        raise ValidationError(
            _("The Excel file has no sheet named “%(sheet)s”.") % {"sheet": sheet},
            code="sheet",
        )
    return sheet or names[0]


def _calamine_sheet(src: _Source, sheet: str | None) -> tuple[list[str], str, Callable]:
    """Fast (Rust), but holds the whole sheet in memory (hence XLSX_MAX_SHEET)."""
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        if src.path is not None:
            book = CalamineWorkbook.from_path(str(src.path))
        else:
            with src.open() as f:
                book = CalamineWorkbook.from_filelike(io.BytesIO(f.read()))
        names = list(book.sheet_names)
        chosen = _chosen_sheet(names, sheet)
        data = book.get_sheet_by_name(chosen)  # parsed once, kept while the table lives
    except (CalamineError, OSError, ValueError) as exc:
        raise _damaged_workbook() from exc
    return names, chosen, data.iter_rows


def _open_xlsx(src: _Source, sheet: str | None) -> Table:
    if _check_xlsx(src) > XLSX_MAX_SHEET:
        raise ValidationError(
            _("This Excel sheet is too large to be read at once; save it as CSV and import that."),
            code="too_large",
        )
    names, chosen, iter_rows = _calamine_sheet(src, sheet)

    def raw_rows() -> Iterator[list[str]]:
        for row in iter_rows():
            cells = [_cell(v) for v in row]
            if any(c.strip() for c in cells):
                yield cells

    first = next(raw_rows(), None)
    if first is None:
        raise ValidationError(_("The file contains no column headers."), code="empty")
    while first and not first[-1].strip():
        first.pop()
    headers = unique_headers(first)
    width = len(headers)

    def rows() -> Iterator[list[str]]:
        it = raw_rows()
        next(it, None)
        for row in it:
            n = len(row)
            if n < width:
                row += [""] * (width - n)
            elif n > width and not any(c.strip() for c in row[width:]):
                del row[width:]
            yield row

    return Table(format=XLSX, headers=headers, sheet=chosen, sheets=names, _rows=rows)


# --- vCard ----------------------------------------------------------------------------------

VCARD_HEADERS = [
    "UID",
    "Full name",
    "Salutation",
    "First name",
    "Last name",
    "Organization",
    "Department",
    "Title",
    "E-mail",
    "E-mail 2",
    "Phone",
    "Phone 2",
    "Mobile",
    "Fax",
    "Street",
    "Postal code",
    "City",
    "Region",
    "Country",
    "Website",
    "Birthday",
    "Categories",
    "Note",
]


def _vcard_row(card: Any) -> list[str]:
    import vobject  # noqa: F401  (registers the vCard behaviour)

    row = dict.fromkeys(VCARD_HEADERS, "")

    def values(name: str) -> list[Any]:
        return card.contents.get(name, [])

    def text(line: Any) -> str:
        value = line.value
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value if v)
        return str(value).strip()

    def types(line: Any) -> set[str]:
        found = set()
        for t in line.params.get("TYPE", []):
            found.update(p.strip().lower() for p in str(t).split(","))
        return found

    if values("uid"):
        row["UID"] = text(values("uid")[0])
    if values("fn"):
        row["Full name"] = text(values("fn")[0])
    if values("n"):
        n = values("n")[0].value
        row["Salutation"] = _join(getattr(n, "prefix", ""))
        row["First name"] = " ".join(
            p for p in (_join(getattr(n, "given", "")), _join(getattr(n, "additional", ""))) if p
        )
        row["Last name"] = _join(getattr(n, "family", ""))
    if values("org"):
        org = values("org")[0].value
        parts = org if isinstance(org, list) else [org]
        row["Organization"] = str(parts[0]).strip() if parts else ""
        row["Department"] = ", ".join(str(p).strip() for p in parts[1:] if str(p).strip())
    if values("title"):
        row["Title"] = text(values("title")[0])
    emails = [text(e) for e in values("email") if text(e)]
    row["E-mail"], row["E-mail 2"] = (emails + ["", ""])[:2]
    phones, mobiles, faxes = [], [], []
    for tel in values("tel"):
        kinds = types(tel)
        number = text(tel).removeprefix("tel:")
        if "cell" in kinds:
            mobiles.append(number)
        elif "fax" in kinds:
            faxes.append(number)
        else:
            phones.append(number)
    row["Phone"], row["Phone 2"] = (phones + ["", ""])[:2]
    row["Mobile"] = mobiles[0] if mobiles else (phones[2] if len(phones) > 2 else "")
    row["Fax"] = faxes[0] if faxes else ""
    if values("adr"):
        adr = values("adr")[0].value
        row["Street"] = _join(getattr(adr, "street", ""))
        row["Postal code"] = _join(getattr(adr, "code", ""))
        row["City"] = _join(getattr(adr, "city", ""))
        row["Region"] = _join(getattr(adr, "region", ""))
        row["Country"] = _join(getattr(adr, "country", ""))
    if values("url"):
        row["Website"] = text(values("url")[0])
    if values("bday"):
        row["Birthday"] = text(values("bday")[0])
    if values("categories"):
        row["Categories"] = "; ".join(
            str(c).strip() for line in values("categories") for c in line.value if str(c).strip()
        )
    if values("note"):
        row["Note"] = text(values("note")[0])
    return list(row.values())


def _join(value: Any) -> str:
    if isinstance(value, list | tuple):
        return " ".join(str(v).strip() for v in value if str(v).strip())
    return str(value or "").strip()


def _open_vcard(src: _Source, encoding: str) -> Table:
    import vobject

    def rows() -> Iterator[list[str]]:
        with _text(src, encoding) as f:
            try:
                for card in vobject.readComponents(f, ignoreUnreadable=True, allowQP=True):
                    if card.name.upper() == "VCARD":
                        yield _vcard_row(card)
            except (vobject.base.ParseError, ValueError, TypeError) as exc:
                raise ValidationError(
                    _("The vCard file is damaged: %(error)s") % {"error": exc}, code="damaged"
                ) from None

    n = sum(1 for _row in rows())  # parses once: a damaged file fails here, not mid-import
    return Table(
        format=VCARD,
        headers=list(VCARD_HEADERS),
        encoding=encoding,
        _rows=rows,
        _count=lambda: n,
    )


# --- JSON -----------------------------------------------------------------------------------

_SPACE = re.compile(r"[ \t\n\r]*")
LIST_KEYS = ("items", "data", "results", "records")


def _json_objects(text: str) -> Iterator[dict]:
    """The objects of a top-level array, or of the array under "items" (or data, results,
    records) of a top-level object, decoded one at a time."""
    decoder = json.JSONDecoder()
    pos = _SPACE.match(text, 0).end()  # type: ignore[union-attr]
    if text.startswith("\ufeff", pos):
        pos = _SPACE.match(text, pos + 1).end()  # type: ignore[union-attr]
    if text.startswith("{", pos):
        pos = _seek_list(text, pos, decoder)
    if not text.startswith("[", pos):
        raise _json_shape()
    pos = _SPACE.match(text, pos + 1).end()  # type: ignore[union-attr]
    if text.startswith("]", pos):
        return
    while True:
        item, pos = decoder.raw_decode(text, pos)
        if not isinstance(item, dict):
            raise _json_shape()
        yield item
        pos = _SPACE.match(text, pos).end()  # type: ignore[union-attr]
        if text.startswith(",", pos):
            pos = _SPACE.match(text, pos + 1).end()  # type: ignore[union-attr]
        elif text.startswith("]", pos):
            return
        else:
            raise json.JSONDecodeError("expected , or ]", text, pos)


def _seek_list(text: str, pos: int, decoder: json.JSONDecoder) -> int:
    pos = _SPACE.match(text, pos + 1).end()  # type: ignore[union-attr]
    while not text.startswith("}", pos):
        key, pos = decoder.raw_decode(text, pos)
        pos = _SPACE.match(text, pos).end()  # type: ignore[union-attr]
        if not text.startswith(":", pos):
            raise json.JSONDecodeError("expected :", text, pos)
        pos = _SPACE.match(text, pos + 1).end()  # type: ignore[union-attr]
        if key in LIST_KEYS and text.startswith("[", pos):
            return pos
        _value, pos = decoder.raw_decode(text, pos)
        pos = _SPACE.match(text, pos).end()  # type: ignore[union-attr]
        if text.startswith(",", pos):
            pos = _SPACE.match(text, pos + 1).end()  # type: ignore[union-attr]
    raise _json_shape()


def _json_shape() -> ValidationError:
    return ValidationError(
        _('The JSON file must hold a list of objects, or an object with such a list as "items".'),
        code="json_shape",
    )


def _flatten(obj: dict, prefix: str = "", depth: int = 0, out: dict | None = None) -> dict:
    """Nested objects become dotted keys ({"address": {"city": …}} → "address.city")."""
    if depth > JSON_MAX_DEPTH:
        raise ValidationError(_("The JSON file is nested too deeply."), code="json_depth")
    out = {} if out is None else out
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            _flatten(value, name + ".", depth + 1, out)
        else:
            out[name] = value
    return out


def _json_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        if all(not isinstance(v, dict | list) for v in value):
            return "; ".join(_json_value(v) for v in value)
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return str(value)


def _open_json(src: _Source, encoding: str) -> Table:
    with _text(src, encoding) as f:
        text = f.read()

    def flat_objects() -> Iterator[dict]:
        try:
            for obj in _json_objects(text):
                yield _flatten(obj)
        except (json.JSONDecodeError, RecursionError) as exc:
            if isinstance(exc, RecursionError):
                raise ValidationError(
                    _("The JSON file is nested too deeply."), code="json_depth"
                ) from None
            raise ValidationError(
                _("The JSON file is damaged: %(error)s") % {"error": exc.msg}, code="damaged"
            ) from None

    keys: dict[str, None] = {}
    n = 0
    for obj in flat_objects():
        keys.update(dict.fromkeys(obj))
        n += 1
    if not keys:
        raise ValidationError(_("The file contains no column headers."), code="empty")
    order = list(keys)
    headers = unique_headers(order)

    def rows() -> Iterator[list[str]]:
        for obj in flat_objects():
            yield [_json_value(obj.get(k)) for k in order]

    return Table(format=JSON, headers=headers, encoding=encoding, _rows=rows, _count=lambda: n)
