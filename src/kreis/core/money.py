"""Money as people read it, in the active language's conventions (Babel's CLDR data).

Used by the ``money`` template filter and by code that writes amounts into text (custom field
values, chart labels), so both read alike and neither needs the other."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from functools import lru_cache

from babel.core import Locale
from babel.numbers import (
    get_currency_precision,
    get_currency_symbol,
    get_decimal_quantum,
    get_decimal_symbol,
    get_group_symbol,
)
from django.conf import settings
from django.utils import translation

BABEL_LOCALES = {"de": "de_DE", "en": "en_IE"}  # en_IE: English with EUR conventions


class _Format:
    """Babel's ``format_currency(amount, currency, locale=…)`` with everything that depends on
    the locale and the currency worked out once: the parsed locale, its standard currency
    pattern, symbols, the currency's digits and the affixes with the symbol already in place.
    ``apply`` repeats ``NumberPattern.apply``'s steps on the amount itself (the same Decimal
    operations in the same context) and hands anything unusual back to Babel."""

    def __init__(self, locale_name: str, currency: str) -> None:
        self.locale = locale = Locale.parse(locale_name)
        self.currency = currency
        self.pattern = pattern = locale.currency_formats["standard"]
        self.group = get_group_symbol(locale, numbering_system="latn")
        self.decimal = get_decimal_symbol(locale, numbering_system="latn")
        if currency:
            self.frac_prec = (get_currency_precision(currency),) * 2
        else:
            self.frac_prec = pattern.frac_prec
        self.quantum = get_decimal_quantum(self.frac_prec[1])
        self.min_int = pattern.int_prec[0]
        self.grouping = pattern.grouping
        symbol = get_currency_symbol(currency, locale) if currency else ""
        affixes = []
        for affix in (*pattern.prefix, *pattern.suffix):
            if "¤" in affix and currency:
                affix = affix.replace("¤¤¤", "\0").replace("¤¤", currency.upper())
                affix = affix.replace("¤", symbol)
            affixes.append(affix)
        # The fast path covers the plain patterns of ``BABEL_LOCALES`` (“#,##0.00 ¤”, “¤#,##0.00”):
        # no currency name (“¤¤¤” changes with the amount), no quotes, no scaling, exponent or
        # significant digits, and affixes that the symbol did not give a “¤” or a quote.
        self.fast = (
            pattern.scale == 0
            and not pattern.exp_prec
            and "@" not in pattern.pattern
            and pattern.number_pattern != ""
            and not any("\0" in a or "'" in a or "¤" in a for a in affixes)
            and (bool(currency) or not any("¤" in a for a in (*pattern.prefix, *pattern.suffix)))
        )
        self.prefix = (affixes[0], affixes[1])
        self.suffix = (affixes[2], affixes[3])

    def apply(self, amount: Decimal) -> str:
        if not self.fast or not amount.is_finite():
            return self.pattern.apply(amount, self.locale, currency=self.currency)
        value = amount.scaleb(0)  # as NumberPattern.apply (scale 0): rounds to the context
        is_negative = int(value.is_signed())
        value = abs(value).normalize()
        a, _sep, b = f"{value.quantize(self.quantum):f}".partition(".")
        # NumberPattern._format_int
        if len(a) < self.min_int:
            a = "0" * (self.min_int - len(a)) + a
        gsize = self.grouping[0]
        grouped = ""
        while len(a) > gsize:
            grouped = self.group + a[-gsize:] + grouped
            a = a[:-gsize]
            gsize = self.grouping[1]
        number = a + grouped
        # NumberPattern._format_frac
        low, high = self.frac_prec
        frac = b or "0"
        if len(frac) < low:
            frac += "0" * (low - len(frac))
        if not (high == 0 or (low == 0 and int(frac) == 0)):
            while len(frac) > low and frac[-1] == "0":
                frac = frac[:-1]
            number += self.decimal + frac
        return self.prefix[is_negative] + number + self.suffix[is_negative]


@lru_cache(maxsize=256)
def _money_format(locale_name: str, currency: str) -> _Format:
    return _Format(locale_name, currency)


def format_money(value, currency: str = "") -> str:
    """“1.234,50 €” in German, “€1,234.50” in English; empty for no value, and a value that is
    no number comes back as it was. ``currency`` defaults to ``KREIS_CURRENCY``."""
    if value is None or value == "":
        return ""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    locale = BABEL_LOCALES.get(translation.get_language() or "en", "en_IE")
    return _money_format(locale, currency or settings.KREIS_CURRENCY).apply(amount)
