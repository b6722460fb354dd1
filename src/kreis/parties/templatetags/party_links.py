"""``{% party_link party %}``: a linked party as the signed-in user may see it."""

from __future__ import annotations

from django import template
from django.utils.html import format_html

from kreis.core.fasturls import reverse_int
from kreis.parties.normalize import dial_string, format_phone
from kreis.parties.queries import HIDDEN_PARTY, party_name_for_user, party_visible

register = template.Library()


@register.simple_tag(takes_context=True)
def party_link(context, party, css_class: str = "") -> str:
    """The party's name as a link to its page; "Hidden party" (no name, no link) when the
    user may not see it; "—" when there is none. The one rule of ``party_name_for_user``."""
    if party is None:
        return "—"
    if not party_visible(user=context["request"].user, party=party):
        return format_html('<span class="text-body-secondary fst-italic">{}</span>', HIDDEN_PARTY)
    url = reverse_int("parties:detail", party.pk)
    if css_class:
        return format_html('<a class="{}" href="{}">{}</a>', css_class, url, party.name)
    return format_html('<a href="{}">{}</a>', url, party.name)


@register.simple_tag(takes_context=True)
def party_name(context, party) -> str:
    """The party's name as text (where a link would not fit), by the same rule."""
    return party_name_for_user(user=context["request"].user, party=party)


@register.filter
def phone(value: str) -> str:
    """A stored E.164 number as people read it: ``+49 40 71921073``."""
    return format_phone(value or "")


@register.filter
def dial(value: str) -> str:
    """What a ``tel:`` link to the number dials."""
    return dial_string(value or "")
