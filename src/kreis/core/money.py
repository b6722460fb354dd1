"""Money as people read it, in the active language's conventions (Babel's CLDR data).

Used by the ``money`` template filter and by code that writes amounts into text (custom field
values, chart labels), so both read alike and neither needs the other."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from babel.numbers import format_currency
from django.conf import settings
from django.utils import translation

BABEL_LOCALES = {"de": "de_DE", "en": "en_IE"}  # en_IE: English with EUR conventions


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
    return format_currency(amount, currency or settings.KREIS_CURRENCY, locale=locale)
