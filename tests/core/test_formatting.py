"""Money, numbers and dates follow the user's language; EUR is the default currency."""

from datetime import date
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import translation


@pytest.mark.parametrize(("language", "expected"), [("de", "1.234,50\xa0€"), ("en", "€1,234.50")])
def test_money_is_formatted_per_locale(language, expected):
    with translation.override(language):
        assert (
            Template("{% load kreis %}{{ v|money }}").render(Context({"v": Decimal("1234.5")}))
            == expected
        )


def test_other_currency_can_be_named():
    with translation.override("de"):
        out = Template("{% load kreis %}{{ v|money:'CHF' }}").render(Context({"v": 10}))
    assert "CHF" in out


def test_dates_follow_the_language():
    template = Template('{{ d|date:"SHORT_DATE_FORMAT" }}')
    with translation.override("de"):
        assert template.render(Context({"d": date(2026, 3, 1)})) == "01.03.2026"
    with translation.override("en"):
        assert template.render(Context({"d": date(2026, 3, 1)})) == "03/01/2026"


# format_money keeps the parsed locale and pattern per language and currency: the output must
# stay Babel's format_currency to the character, for every kind of amount and currency.
MONEY_AMOUNTS = [
    "0", "-0", "0.00", "0.004", "0.005", "0.015", "0.025", "-0.005", "1", "-1", "0.5", "1.5",
    "2.5", "12.345", "12.355", "999.995", "999.994", "1000", "-1000", "1234.5", "-1234.56",
    "1234567.891", "100000", "999999999999.99", "-999999999999.99", "123456789012345678.12",
    "1E+3", "1.5E+6", "-2E-3", "1E-10", "0E-8", "123.4500", "12345678901234567890123456789",
    "1" * 40, "NaN", "-NaN", "Infinity", "-Infinity",
]  # fmt: skip
MONEY_CURRENCIES = ["EUR", "USD", "CHF", "GBP", "JPY", "BHD", "CLF", "XYZ", "eur", "chf", "DEM"]


@pytest.mark.parametrize("language", ["de", "en", "fr", ""])
@pytest.mark.parametrize("currency", MONEY_CURRENCIES)
def test_format_money_is_babels_format_currency(language, currency):
    from babel.numbers import format_currency

    from kreis.core.money import BABEL_LOCALES, format_money

    locale = BABEL_LOCALES.get(language or "en", "en_IE")
    values = [*MONEY_AMOUNTS, *(Decimal(v) for v in MONEY_AMOUNTS), 0, 7, -42, 1234.5, 0.1]

    def outcome(call, *args, **kwargs):
        try:
            return call(*args, **kwargs)
        except Exception as error:  # Babel gives up on some amounts: so must format_money
            return type(error)

    with translation.override(language or None):
        for value in values:
            amount = Decimal(str(value))
            expected = outcome(format_currency, amount, currency, locale=locale)
            assert outcome(format_money, value, currency) == expected, (value, currency)
            assert outcome(format_money, value, currency) == expected, (value, currency)


def test_format_money_many_amounts_match_babel():
    import random

    from babel.numbers import format_currency

    from kreis.core.money import format_money

    rng = random.Random(16)
    for _ in range(3000):
        digits = rng.randint(0, 14)
        places = rng.randint(0, 5)
        text = f"{rng.choice(['', '-'])}{rng.randint(0, 10**digits)}"
        if places:
            text += f".{rng.randint(0, 10**places - 1):0{places}d}"
        for language, locale in (("de", "de_DE"), ("en", "en_IE")):
            for currency in ("EUR", "USD", "JPY", "BHD"):
                with translation.override(language):
                    got = format_money(text, currency)
                assert got == format_currency(Decimal(text), currency, locale=locale), text


def test_format_money_keeps_its_edges(settings):
    from kreis.core.money import format_money

    settings.KREIS_CURRENCY = "EUR"
    with translation.override("de"):
        assert format_money(None) == ""
        assert format_money("") == ""
        assert format_money("abc") == "abc"
        assert format_money("-1234.5") == "-1.234,50\xa0€"
        assert format_money(1234.5, "JPY") == "1.234\xa0¥"
        assert format_money(1234.5) == "1.234,50\xa0€"
    with translation.override("en"):
        assert format_money("-1234.5") == "-€1,234.50"
        assert format_money(Decimal("0.005")) == "€0.00"
        assert format_money(Decimal("0.015")) == "€0.02"
