"""The lead list's rows, built in Python.

Rendered as a template, a row cost about 0.35 ms (an include for the status badge with
``get_status_display``, a ``{% url %}``, a ``{% blocktranslate %}``, some twenty variables):
8-9 ms for a page of 25. Here what every row shares (translations, the status labels, the
read-only check) is made once per page and a row is one string format. The markup is exactly
what the template made (tests/leads/test_lead_rows.py renders both and compares). The rule
score and the predicted score show as whole numbers ("—" when there is none).

    {% load lead_rows %}
    {% lead_rows page %}    the rows of ``page`` (leads/_rows.html), or the "no leads" row

Takes ``user`` and ``custom_columns`` from the template context, as the template did.
"""

from __future__ import annotations

from django import template
from django.template.defaultfilters import floatformat
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from kreis.core.customfields import custom_cells
from kreis.core.fasturls import reverse_int
from kreis.leads.models import LeadStatus

register = template.Library()

_ROW = (
    "\n  <tr>\n"
    "    {select}\n"
    '    <td><a href="{url}">{name}</a>'
    '<div class="small text-body-secondary d-md-none text-truncate">{company}</div></td>\n'
    '    <td><span class="badge {badge}">{status}</span>\n</td>\n'
    '    <td class="d-none d-lg-table-cell text-end">{score}</td>\n'
    '    <td class="d-none d-lg-table-cell text-end" data-testid="predicted-score">'
    "{predicted}</td>\n"
    '    <td class="d-none d-md-table-cell">{company_or_dash}</td>\n'
    '    <td class="d-none d-lg-table-cell small">{contact}</td>\n'
    '    <td class="d-none d-lg-table-cell">{source}</td>\n'
    '    <td class="d-none d-md-table-cell">{owner}</td>\n'
    '    <td class="d-none d-xl-table-cell">{tags}</td>\n'
    "    {cells}\n"
    "  </tr>\n"
    "  "
)
_SELECT = (
    '<td class="kreis-check"><input type="checkbox" class="form-check-input" name="ids" '
    'value="{pk}" form="bulk-form" aria-label="{label}"></td>'
)
_EMPTY = '\n  <tr><td colspan="13" class="text-body-secondary">{}</td></tr>\n  '
# leads/_status_badge.html's colours.
_BADGES = {
    "new": "text-bg-info",
    "contacted": "text-bg-primary",
    "qualified": "text-bg-success",
    "disqualified": "text-bg-secondary",
}


def _whole(value: float | None) -> str:
    """A score as a whole number, as ``floatformat:0`` shows it; "—" when there is none."""
    return "—" if value is None else floatformat(value, 0)


@register.simple_tag(takes_context=True)
def lead_rows(context, page) -> SafeString:
    user = context.get("user")
    read_only = getattr(user, "is_read_only", False)
    select_label = gettext("Select %(name)s")
    statuses = {value: escape(label) for value, label in LeadStatus.choices}
    columns = list(context.get("custom_columns") or [])
    parts = []
    for lead in page:
        pk = lead.pk
        full_name = escape(lead.full_name)
        company = escape(lead.company)
        contact = ""
        if lead.email:
            contact += f'<div class="text-truncate">{escape(lead.email)}</div>'
        if lead.phone:
            contact += f"<div>{escape(lead.phone)}</div>"
        parts.append(
            _ROW.format(
                select=""
                if read_only
                else _SELECT.format(pk=pk, label=select_label % {"name": full_name}),
                url=reverse_int("leads:detail", pk),
                name=full_name or escape(lead.last_name),
                company=company,
                badge=_BADGES.get(lead.status, "text-bg-dark"),
                status=statuses.get(lead.status) or escape(lead.status),
                company_or_dash=company or "—",
                contact=contact,
                source=escape(lead.source) or "—",
                score=_whole(lead.score),
                predicted=_whole(lead.predicted_score),
                owner=escape(lead.owner) if lead.owner else "—",
                tags="".join(
                    f'<span class="badge text-bg-secondary me-1">{escape(t.name)}</span>'
                    for t in lead.tags.all()
                ),
                cells="".join(
                    f'<td class="d-none d-xl-table-cell">{escape(cell)}</td>'
                    for cell in custom_cells(lead, columns)
                ),
            )
        )
    if not parts:
        return mark_safe(_EMPTY.format(gettext("No leads match.")))  # noqa: S308
    return mark_safe("".join(parts))  # noqa: S308 (every value above is escaped)
