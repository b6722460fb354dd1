"""Cell values of import files: German and English numbers, dates and yes/no."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from kreis.migration.values import (
    parse_bool,
    parse_date,
    parse_datetime,
    parse_decimal,
    parse_int,
)

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.234,56", "1234.56"),
        ("1,234.56", "1234.56"),
        ("1234,5", "1234.5"),
        ("1 234,56", "1234.56"),
        ("1\u00a0234,56", "1234.56"),
        ("€ 1.234,56", "1234.56"),
        ("1.234,56 EUR", "1234.56"),
        ("USD 1,000.00", "1000.00"),
        ("1'234.50", "1234.50"),
        ("-12,5 %", "-12.5"),
        ("1.234", "1234"),  # a thousands group: German
        ("0.234", "0.234"),  # a leading zero groups nothing
        ("1.23", "1.23"),
        ("1,234", "1.234"),  # a single comma is decimal
        ("1.234.567", "1234567"),
        ("1,234,567.5", "1234567.5"),
        ("(1.234,56)", "-1234.56"),
        ("1.234,56-", "-1234.56"),
        ("+7", "7"),
        (",5", "0.5"),
        ("1e-05", "0.00001"),
        ("  42  ", "42"),
    ],
)
def test_numbers_german_and_english(text, expected):
    assert parse_decimal(text) == Decimal(expected)


def test_english_reading_of_an_ambiguous_comma_and_dot():
    assert parse_decimal("1,234", decimal_comma=False) == Decimal("1234")
    assert parse_decimal("1.234", decimal_comma=False) == Decimal("1.234")
    assert parse_decimal("1,5", decimal_comma=False) == Decimal("1.5")


@pytest.mark.parametrize(
    "text", ["", "abc", "1.23.4", "12,34.5", "1,2,3", "--5", "1.234,5.6", "NaN", "∞"]
)
def test_not_numbers(text):
    with pytest.raises(ValueError, match="is not a number"):
        parse_decimal(text)


def test_number_errors_are_translated():
    with translation.override("de"), pytest.raises(ValueError, match="„zwölf“ ist keine Zahl"):
        parse_decimal("zwölf")


def test_whole_numbers():
    assert parse_int("1.234") == 1234
    assert parse_int("12,0") == 12
    assert parse_int("-7") == -7
    with pytest.raises(ValueError, match="not a whole number"):
        parse_int("12,5")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("31.12.2025", dt.date(2025, 12, 31)),
        ("1.2.2025", dt.date(2025, 2, 1)),
        ("31.12.25", dt.date(2025, 12, 31)),
        ("01.01.70", dt.date(1970, 1, 1)),
        ("2025-12-31", dt.date(2025, 12, 31)),
        ("2025-12-31T23:30:00.000Z", dt.date(2025, 12, 31)),
        ("2025/12/31", dt.date(2025, 12, 31)),
        ("12/31/2025", dt.date(2025, 12, 31)),  # US, as Salesforce and HubSpot export
        ("31/12/2025", dt.date(2025, 12, 31)),  # 31 cannot be a month
        ("02/01/2025", dt.date(2025, 2, 1)),  # ambiguous: month first
        ("31-12-2025", dt.date(2025, 12, 31)),
        ("20251231", dt.date(2025, 12, 31)),
        ("45657", dt.date(2024, 12, 31)),  # Excel serial
        ("31. Dezember 2025", dt.date(2025, 12, 31)),
        ("3. März 2025", dt.date(2025, 3, 3)),
        ("Dec 31, 2025", dt.date(2025, 12, 31)),
        ("31.12.2025 14:30", dt.date(2025, 12, 31)),
    ],
)
def test_dates(text, expected):
    assert parse_date(text) == expected


def test_day_first_decides_ambiguous_slashes():
    assert parse_date("02/01/2025", day_first=True) == dt.date(2025, 1, 2)
    assert parse_date("13/01/2025", day_first=False) == dt.date(2025, 1, 13)


@pytest.mark.parametrize("text", ["31.02.2025", "2025", "13/13/2025", "gestern", "32.01.2025", ""])
def test_not_dates(text):
    with pytest.raises(ValueError, match="is not a valid date"):
        parse_date(text)


def test_datetimes_get_a_zone():
    assert parse_datetime("31.12.2025 14:30", tz=BERLIN) == dt.datetime(
        2025, 12, 31, 14, 30, tzinfo=BERLIN
    )
    assert parse_datetime("12/31/2025 2:30 PM", tz=BERLIN) == dt.datetime(
        2025, 12, 31, 14, 30, tzinfo=BERLIN
    )
    utc = parse_datetime("2025-12-31T14:30:00.000Z")
    assert utc == dt.datetime(2025, 12, 31, 14, 30, tzinfo=dt.UTC)
    assert parse_datetime("31.12.2025 14:30 +01:00") == dt.datetime(
        2025, 12, 31, 13, 30, tzinfo=dt.UTC
    )
    assert parse_datetime("2025-06-01", tz=BERLIN) == dt.datetime(2025, 6, 1, tzinfo=BERLIN)
    assert parse_datetime("45657.5", tz=BERLIN) == dt.datetime(2024, 12, 31, 12, tzinfo=BERLIN)
    with pytest.raises(ValueError, match="is not a valid date"):
        parse_datetime("31.12.2025 25:00")


@pytest.mark.parametrize("text", ["ja", "Ja", "JA", "yes", "true", "wahr", "1", "x", "X", "j"])
def test_yes(text):
    assert parse_bool(text) is True


@pytest.mark.parametrize("text", ["nein", "Nein", "no", "false", "falsch", "0", "n"])
def test_no(text):
    assert parse_bool(text) is False


def test_neither_yes_nor_no():
    with pytest.raises(ValueError, match="not yes or no"):
        parse_bool("vielleicht")


# --- round trips: whatever Kreis or a spreadsheet writes, the parser reads back -------------

amounts = st.decimals(
    min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=2, allow_nan=False
)


def german(amount: Decimal) -> str:
    return f"{amount:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")


@given(amounts)
def test_round_trip_german_amounts(amount):
    assert parse_decimal(german(amount)) == amount
    assert parse_decimal(german(amount) + " €") == amount


@given(amounts)
def test_round_trip_english_amounts(amount):
    assert parse_decimal(f"{amount:,.2f}") == amount
    assert parse_decimal(f"{amount:.2f}") == amount


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_round_trip_whole_numbers_with_thousands(number):
    assert parse_int(f"{number:,}".replace(",", ".")) == number
    assert parse_int(f"{number:,}", decimal_comma=False) == number
    assert parse_int(str(number)) == number


dates = st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(2150, 12, 31))


@given(dates)
def test_round_trip_dates(day):
    assert parse_date(day.strftime("%d.%m.%Y")) == day
    assert parse_date(day.isoformat()) == day
    assert parse_date(day.strftime("%m/%d/%Y"), day_first=False) == day
    assert parse_date(day.strftime("%d/%m/%Y"), day_first=True) == day
    serial = (day - dt.date(1899, 12, 30)).days
    if 10_000 <= serial <= 99_999:
        assert parse_date(str(serial)) == day


@given(
    st.datetimes(
        min_value=dt.datetime(1970, 1, 1),  # noqa: DTZ001 (hypothesis bounds are naive)
        max_value=dt.datetime(2100, 1, 1),  # noqa: DTZ001
        timezones=st.just(dt.UTC),
    )
)
def test_round_trip_iso_datetimes(moment):
    moment = moment.replace(microsecond=0)
    assert parse_datetime(moment.isoformat()) == moment
    assert parse_datetime(moment.strftime("%d.%m.%Y %H:%M:%S"), tz=dt.UTC) == moment
