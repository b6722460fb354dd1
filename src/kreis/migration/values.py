"""Reading the values of import cells: numbers, dates, times and yes/no, German or English.

Every parser takes the cell's text and returns a typed value, or raises ``ValueError`` whose
message (translated) can be shown to the user as it is. Empty cells are the caller's
business: they raise here like any other text that is not a value.

Numbers (``parse_decimal``, ``parse_int``)
    Currency signs and codes (€ $ £ EUR USD CHF), spaces (also non-breaking), ``'`` and
    ``%`` are ignored; a sign may lead, trail (``1.234,56-``, as SAP writes) or be brackets
    (``(1.234,56)``). With both ``.`` and ``,`` the later one is the decimal mark. A mark
    used several times (``1.234.567``) groups thousands. A single mark is decimal, except
    that ``.`` followed by exactly three digits after 1–3 digits not starting with 0 groups
    thousands (German ``1.234`` = 1234); a single ``,`` is always decimal (German
    ``1,5``; also ``1,234`` = 1.234). ``decimal_comma=False`` reads the English way:
    ``1,234`` = 1234 and ``1.234`` = 1.234. Thousands groups must have three digits, so
    ``1.23.4`` is refused rather than guessed. ``-12,5 %`` is -12.5: the number as shown.
Dates (``parse_date``)
    ISO (``2025-12-31``, also with a time), German ``31.12.2025`` / ``31.12.25`` (years
    00–68 → 20xx, 69–99 → 19xx, as strptime), ``20251231``, ``31-12-2025``, month names in
    German or English (``31. Dezember 2025``, ``Dec 31, 2025``), and slashes: ``12/31/2025``
    is month first (the US order of Salesforce and HubSpot exports), ``31/12/2025`` day first
    because 31 cannot be a month; when both parts are ≤ 12 the order is month first unless
    ``day_first=True``. Excel serial numbers from 10000 to 99999 (1927–2173) count days
    from 1899-12-30 (Excel's 1900 date system).
Times (``parse_datetime``)
    The same dates with a time (``14:30``, ``14:30:05``, ``2:30 PM``, ISO with offset or
    ``Z``); a time without an offset is in ``tz`` (default: the current time zone). Returns
    an aware datetime.
Yes/no (``parse_bool``)
    ja/nein, yes/no, true/false, wahr/falsch, j/n, y/n, 1/0, x (yes), on/off, ✓.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.translation import gettext as _

_PLAIN_INT = re.compile(r"[+-]?\d+\Z")
_SIMPLE = re.compile(r"-?\d[\d.,]*\Z")
_NOISE = re.compile(r"(?i)\s+|\u00a0|\u202f|'|’|%|€|\$|£|\b(?:eur|usd|chf|gbp)\b")
_NUMBER = re.compile(r"\d[\d.,]*\Z|[.,]\d+\Z")
_EXPONENT = re.compile(r"(?:\d+\.?\d*|\.\d+)[eE][+-]?\d+\Z")
_GROUPED = re.compile(r"[1-9]\d{0,2}(?:X\d{3})+\Z")


def _not_a_number(text: str) -> ValueError:
    return ValueError(_("“%(value)s” is not a number.") % {"value": text})


def parse_decimal(text: str, *, decimal_comma: bool | None = None) -> Decimal:
    """A number written the German or English way; see the module docstring for the rules."""
    raw = text
    s = text.strip()
    if _PLAIN_INT.match(s):
        return Decimal(s)
    if _SIMPLE.match(s):  # digits and marks only: no currency, spaces or brackets to drop
        negative = s[0] == "-"
        number = Decimal(_canonical(s[negative:], decimal_comma=decimal_comma, raw=raw))
        return -number if negative else number
    s = _NOISE.sub("", s)
    negative = False
    if s.startswith("(") and s.endswith(")"):
        negative, s = True, s[1:-1]
    if s and s[0] in "+-":
        negative, s = negative ^ (s[0] == "-"), s[1:]
    elif s and s[-1] in "+-":
        negative, s = negative ^ (s[-1] == "-"), s[:-1]
    if _EXPONENT.match(s):
        number = Decimal(s)
    elif _NUMBER.match(s):
        number = Decimal(_canonical(s, decimal_comma=decimal_comma, raw=raw))
    else:
        raise _not_a_number(raw)
    if not number.is_finite():
        raise _not_a_number(raw)
    return -number if negative else number


def _canonical(s: str, *, decimal_comma: bool | None, raw: str) -> str:
    """ "1.234,56" → "1234.56"."""
    dots, commas = s.count("."), s.count(",")
    if dots and commas:
        mark = "." if s.rfind(".") > s.rfind(",") else ","
        group = "," if mark == "." else "."
        whole, _sep, fraction = s.rpartition(mark)
        if group in fraction or not _groups_ok(whole, group):
            raise _not_a_number(raw)
        return whole.replace(group, "") + "." + fraction
    if not dots and not commas:
        return s
    sep = "." if dots else ","
    if dots + commas > 1:  # one mark used several times: thousands
        if not _groups_ok(s, sep):
            raise _not_a_number(raw)
        return s.replace(sep, "")
    whole, _sep, fraction = s.partition(sep)
    groups_thousands = len(fraction) == 3 and _groups_ok(s, sep)
    if sep == "." and groups_thousands and decimal_comma is not False:
        return whole + fraction
    if sep == "," and groups_thousands and decimal_comma is False:
        return whole + fraction
    return (whole or "0") + "." + fraction


def _groups_ok(whole: str, group: str) -> bool:
    return bool(_GROUPED.match(whole.replace(group, "X"))) or group not in whole


def parse_int(text: str, *, decimal_comma: bool | None = None) -> int:
    """A whole number ("1.234" = 1234, "12,0" = 12); a fraction is an error."""
    s = text.strip()
    if _PLAIN_INT.match(s):
        return int(s)
    number = parse_decimal(text, decimal_comma=decimal_comma)
    if number != number.to_integral_value():
        raise ValueError(_("“%(value)s” is not a whole number.") % {"value": text})
    return int(number)


_TRUE = {"ja", "j", "yes", "y", "true", "wahr", "1", "x", "on", "✓", "✔", "t"}
_FALSE = {"nein", "n", "no", "false", "falsch", "0", "off", "f", "-"}


def parse_bool(text: str) -> bool:
    s = text.strip().lower()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise ValueError(_("“%(value)s” is not yes or no.") % {"value": text})


# --- dates ----------------------------------------------------------------------------------

MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("januar", "jan", "jänner", "jän", "january"),
            ("februar", "feb", "february"),
            ("märz", "mär", "maerz", "mrz", "march", "mar"),
            ("april", "apr"),
            ("mai", "may"),
            ("juni", "jun", "june"),
            ("juli", "jul", "july"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("oktober", "okt", "october", "oct"),
            ("november", "nov"),
            ("dezember", "dez", "december", "dec"),
        ),
        start=1,
    )
    for name in names
}
_TIME = (
    r"(?:[ T,]+(?P<time>\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:[ap]\.?m\.?)?)"
    r"(?P<zone>\s*(?:Z|[+-]\d{2}:?\d{2}|UTC|GMT))?)?"
)
_DATES = [
    (
        "ymd",
        re.compile(r"(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})" + _TIME + r"\Z", re.I),
    ),
    (
        "dmy",
        re.compile(
            r"(?P<d>\d{1,2})\.\s*(?P<m>\d{1,2})\.\s*(?P<y>\d{2}|\d{4})" + _TIME + r"\Z", re.I
        ),
    ),
    ("dmy", re.compile(r"(?P<d>\d{1,2})-(?P<m>\d{1,2})-(?P<y>\d{4})" + _TIME + r"\Z", re.I)),
    (
        "slash",
        re.compile(r"(?P<a>\d{1,2})/(?P<b>\d{1,2})/(?P<y>\d{2}|\d{4})" + _TIME + r"\Z", re.I),
    ),
    ("compact", re.compile(r"(?P<y>(?:19|20)\d{2})(?P<m>[01]\d)(?P<d>[0-3]\d)\Z")),
    (
        "dname",
        re.compile(
            r"(?P<d>\d{1,2})\.?\s*(?P<name>[^\W\d_]+)\.?\s*(?P<y>\d{4})" + _TIME + r"\Z", re.I
        ),
    ),
    (
        "named",
        re.compile(
            r"(?P<name>[^\W\d_]+)\.?\s+(?P<d>\d{1,2}),?\s+(?P<y>\d{4})" + _TIME + r"\Z", re.I
        ),
    ),
    ("serial", re.compile(r"(?P<serial>\d{5}(?:[.,]\d+)?)\Z")),
]
EXCEL_EPOCH = dt.datetime(1899, 12, 30)  # noqa: DTZ001 (a calendar origin, not an instant)


def _not_a_date(text: str) -> ValueError:
    return ValueError(_("“%(value)s” is not a valid date.") % {"value": text})


def _year(y: str) -> int:
    n = int(y)
    if len(y) == 2:
        return 2000 + n if n < 69 else 1900 + n
    return n


def _parse(text: str, day_first: bool | None) -> tuple[dt.datetime, bool, str]:
    """(naive datetime, whether a time was given, the zone text)."""
    s = text.strip()
    for kind, pattern in _DATES:
        m = pattern.match(s)
        if m is None:
            continue
        parts = m.groupdict()
        if kind == "serial":
            value = float(parts["serial"].replace(",", "."))
            moment = EXCEL_EPOCH + dt.timedelta(days=value)
            return moment.replace(microsecond=0), value != int(value), ""
        if kind == "slash":
            a, b = int(parts["a"]), int(parts["b"])
            if a > 12 or (day_first and b <= 12):
                day, month = a, b
            else:
                month, day = a, b
        elif kind in ("dname", "named"):
            month = MONTHS.get(parts["name"].lower(), 0)
            day = int(parts["d"])
        else:
            day, month = int(parts["d"]), int(parts["m"])
        try:
            date = dt.date(_year(parts["y"]), month, day)
        except ValueError:
            raise _not_a_date(text) from None
        clock, given = _clock(parts.get("time"), text)
        return dt.datetime.combine(date, clock), given, (parts.get("zone") or "").strip()
    raise _not_a_date(text)


def _clock(raw: str | None, text: str) -> tuple[dt.time, bool]:
    if not raw:
        return dt.time(0), False
    s = raw.lower().replace(".", "").replace(" ", "")
    pm, am = s.endswith("pm"), s.endswith("am")
    s = s.removesuffix("pm").removesuffix("am").replace(",", ".")
    pieces = s.split(":")
    try:
        hour, minute = int(pieces[0]), int(pieces[1])
        second = float(pieces[2]) if len(pieces) > 2 else 0.0
        if am or pm:
            if not 1 <= hour <= 12:
                raise ValueError
            hour = hour % 12 + (12 if pm else 0)
        return dt.time(hour, minute, int(second)), True
    except (ValueError, IndexError):
        raise _not_a_date(text) from None


def parse_date(text: str, *, day_first: bool | None = None) -> dt.date:
    """A calendar date; a time in the cell is ignored. See the module docstring."""
    s = text.strip()
    if len(s) == 10:
        if s[4] == "-":
            try:
                return dt.date.fromisoformat(s)
            except ValueError:
                pass
        elif s[2] == "." and s[5] == "." and s.replace(".", "").isdigit():  # 31.12.2025
            try:
                return dt.date(int(s[6:]), int(s[3:5]), int(s[:2]))
            except ValueError:
                raise _not_a_date(text) from None
    return _parse(s, day_first)[0].date()


def parse_datetime(
    text: str, *, day_first: bool | None = None, tz: dt.tzinfo | None = None
) -> dt.datetime:
    """A moment, timezone-aware: an offset in the text wins, else ``tz`` (default: the
    current time zone; pass it when parsing many cells, looking it up costs more than the
    parse). A date alone is midnight."""
    s = text.strip()
    zone = tz or timezone.get_current_timezone()
    if len(s) >= 10 and s[4:5] == "-" and s[7:8] == "-":
        try:
            moment = dt.datetime.fromisoformat(s)
        except ValueError:
            pass
        else:
            return moment if moment.tzinfo else moment.replace(tzinfo=zone)
    if len(s) in (16, 19) and s[2] == "." and s[5] == "." and s[10] == " " and s[13] == ":":
        try:  # 31.12.2025 14:30[:05], the German form, without the general patterns
            second = int(s[17:19]) if len(s) == 19 and s[16] == ":" else 0
            if len(s) == 19 and s[16] != ":":
                raise ValueError
            day = (int(s[6:10]), int(s[3:5]), int(s[:2]))
            return dt.datetime(*day, int(s[11:13]), int(s[14:16]), second, tzinfo=zone)
        except ValueError:
            raise _not_a_date(text) from None
    moment, _given, offset = _parse(s, day_first)
    if offset:
        return moment.replace(tzinfo=_offset(offset, text))
    return moment.replace(tzinfo=zone)


def _offset(text: str, original: str) -> dt.tzinfo:
    t = text.upper()
    if t in ("Z", "UTC", "GMT"):
        return ZoneInfo("UTC")
    sign = -1 if t[0] == "-" else 1
    digits = t[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    if hours > 23 or minutes > 59:
        raise _not_a_date(original)
    return dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))
