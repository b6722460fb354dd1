from django import template
from django.utils.html import format_html

from kreis.parties.templatetags.party_links import party_link

register = template.Library()


@register.filter
def case_due(case):
    """The case's next SLA deadline (none once resolved or closed)."""
    return case.due_at()


@register.filter
def case_overdue(case) -> bool:
    return case.is_overdue()


@register.simple_tag(takes_context=True)
def case_customer(context, party) -> str:
    """The customer of a case. Whoever may see the case sees who complains (a complaint cannot
    be handled anonymously); the link to the party's record only for those who may see it
    (elsewhere a party one may not see is "Hidden party")."""
    user = context.get("user")
    if user is not None and user.has_perm("core.view_record", party):
        return party_link(context, party)
    return format_html('<span class="text-body-emphasis">{}</span>', party.name)
