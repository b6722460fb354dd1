"""Pieces every list page shares, built in Python where a template loop cost the most.

    {% load kreis_lists %}
    {% user_options users selected %}   <option>s for colleagues (the owner filter, the bulk
                                         bar's new owner); ``selected`` is a user id or None

A list page offers every active colleague twice (filter and bulk bar): with a few hundred
users the two template loops cost 10-20 ms a page. Here each option is one string format, the
same markup as ``<option value="{{ person.pk }}"{% if person.pk == selected %} selected
{% endif %}>{{ person }}</option>`` (tests/core/test_list_parts.py compares them).
"""

from __future__ import annotations

from django import template
from django.db.models import QuerySet
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.simple_tag
def user_options(users, selected=None) -> SafeString:
    if isinstance(users, QuerySet) and users._result_cache is None:
        # Only names are shown: whatever the caller prefetched for other uses is not needed.
        users = users.prefetch_related(None)
    parts = []
    for user in users or ():
        pk = user.pk
        mark = " selected" if pk == selected else ""
        parts.append(f'<option value="{pk}"{mark}>{escape(user)}</option>')
    return mark_safe("".join(parts))  # noqa: S308 (the name is escaped, the id a number)
