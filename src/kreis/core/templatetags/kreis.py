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
def nav_active(context, prefix: str, exact: bool = False) -> str:
    """ "active" on the page at ``prefix`` and below it (only at it with ``exact``)."""
    request = context.get("request")
    path = request.path if request is not None else ""
    active = path == prefix if prefix == "/" or exact else path.startswith(prefix)
    return "active" if active else ""


@register.simple_tag
def custom_values(record, entity: str) -> list:
    """``{% custom_values deal "deal" as rows %}``: (label, value) of the record's custom fields."""
    from kreis.core.customfields import custom_display

    return custom_display(record, entity)


@register.simple_tag(takes_context=True)
def saved_views(context, list_name: str) -> list:
    """The signed-in user's saved views of a list."""
    from kreis.core.queries import saved_view_list_for_user

    request = context.get("request")
    if request is None or not request.user.is_authenticated:
        return []
    return list(saved_view_list_for_user(user=request.user, list_name=list_name))


@register.filter
def custom_cells_of(record, fields) -> list[str]:
    """``{% for v in deal|custom_cells_of:custom_columns %}``: a row's custom values."""
    from kreis.core.customfields import custom_cells

    return custom_cells(record, list(fields or []))
