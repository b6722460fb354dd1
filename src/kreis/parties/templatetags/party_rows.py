"""``{% party_rows page custom_columns %}``: the party list's rows (``kreis.parties.rows``)."""

from __future__ import annotations

from django import template

from kreis.parties.rows import PartyRowRenderer

register = template.Library()


@register.simple_tag(takes_context=True)
def party_rows(context, parties, custom_columns=()) -> str:
    return PartyRowRenderer(context, custom_columns).render_all(parties)
