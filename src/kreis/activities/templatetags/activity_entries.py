"""``{% activity_entries activities %}`` and ``{% activity_entry activity %}``: timeline entries
(the markup of ``activities/_entry.html``, built by ``kreis.activities.entries``)."""

from __future__ import annotations

from django import template

from kreis.activities.entries import EntryRenderer

register = template.Library()


@register.simple_tag(takes_context=True)
def activity_entries(context, activities) -> str:
    """Every entry of a list, in order (``show_party``, ``anchor_party_id`` and ``compact``
    come from the context, as for the include)."""
    return EntryRenderer(context).render_all(activities)


@register.simple_tag(takes_context=True)
def activity_entry(context, activity) -> str:
    return EntryRenderer(context).render_all([activity])
