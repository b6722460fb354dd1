"""Why a rep got a lead, in the reader's language.

{% load handoff_reasons %}
{{ handoff|handoff_reason }}    the stored reason code and parameters in words (older
                                handoffs: their stored text)
"""

from __future__ import annotations

from django import template

from kreis.marketing.handoff.services import reason_text

register = template.Library()


@register.filter
def handoff_reason(handoff) -> str:
    return reason_text(handoff.reason or "")
