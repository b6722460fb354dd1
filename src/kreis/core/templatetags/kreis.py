"""Template helpers: money in the user's locale, active navigation."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from babel.numbers import format_currency
from django import template
from django.conf import settings
from django.utils import translation

register = template.Library()

BABEL_LOCALES = {"de": "de_DE", "en": "en_IE"}  # en_IE: English with EUR conventions


@register.filter
def money(value, currency: str = "") -> str:
    """``{{ amount|money }}`` → “1.234,50 €” in German, “€1,234.50” in English."""
    if value is None or value == "":
        return ""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    locale = BABEL_LOCALES.get(translation.get_language() or "en", "en_IE")
    return format_currency(amount, currency or settings.KREIS_CURRENCY, locale=locale)


@register.simple_tag(takes_context=True)
def nav_active(context, prefix: str) -> str:
    request = context.get("request")
    path = request.path if request is not None else ""
    active = path == prefix if prefix == "/" else path.startswith(prefix)
    return "active" if active else ""
