"""The party list's rows as HTML, built in Python: the markup ``parties/_rows.html`` had in a
``{% for %}`` loop.

Through the template engine a row cost close to a millisecond of CPU (about sixty nodes, a
translation and a URL per row, number formatting); a page has 25 of them and the list is one
of the most requested pages. This builds exactly the same markup at a fraction of that. Text
and markup are the template's: change them here. Everything from a record is escaped; labels
are translations as ``{% translate %}`` gives them.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.template.defaultfilters import floatformat
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from kreis.core.customfields import custom_cells
from kreis.core.fasturls import reverse_int
from kreis.parties.models import ContactKind, PartyRole
from kreis.parties.normalize import dial_string, format_phone

ROLE_LABELS = dict(PartyRole.choices)


def _figure(value) -> str:
    """``{{ value|floatformat:"0g" }}``: whole units, grouped in the user's locale."""
    return floatformat(value, "0g")


class PartyRowRenderer:
    """Rows for one template context: the user and the page's custom columns. Each party
    carries its roles, tags and primary contacts (``queries.party_list_details``)."""

    def __init__(self, context, custom_columns: Iterable = ()) -> None:
        user = context.get("user")
        self.selectable = not getattr(user, "is_read_only", False)
        self.custom_columns = list(custom_columns or [])
        self.select_label = gettext("Select %(name)s")
        self.abc_title = gettext("ABC class")
        self.show_type = bool(user and user.has_perm("marketing.view_relationship_types"))

    def render(self, party) -> str:
        esc = conditional_escape
        name = esc(party.name)
        out = ["\n  <tr>\n    "]
        if self.selectable:
            label = self.select_label % {"name": name}
            out.append(
                '<td class="kreis-check"><input type="checkbox" class="form-check-input" '
                f'name="ids" value="{party.pk}" form="bulk-form" aria-label="{label}"></td>'
            )
        icon = "person" if party.is_person else "building"
        out.append(
            f'\n    <td><i class="bi bi-{icon} text-body-secondary me-1" aria-hidden="true"></i>'
            f'<a href="{reverse_int("parties:detail", party.pk)}">{name}</a></td>'
            '\n    <td class="d-none d-md-table-cell">'
        )
        for role in party.row_roles:
            label = esc(str(ROLE_LABELS.get(role, role)))
            out.append(f'<span class="badge text-bg-light border me-1">{label}</span>')
        out.append('</td>\n    <td class="d-none d-lg-table-cell small">')
        out.append(esc(party.get_lifecycle_phase_display() or "—"))
        if party.abc_class:
            out.append(
                f' <span class="badge text-bg-light border" title="{self.abc_title}">'
                f"{esc(party.abc_class)}</span>"
            )
        rtype = getattr(party, "row_type", None) if self.show_type else None
        if self.show_type:
            out.append('</td>\n    <td class="d-none d-xxl-table-cell small">')
            out.append(esc(rtype) if rtype else "—")
        out.append('</td>\n    <td class="d-none d-lg-table-cell small text-end">')
        out.append(_figure(party.clv) if party.clv is not None else "—")
        out.append('</td>\n    <td class="d-none d-xxl-table-cell small text-end">')
        value = getattr(party, "customer_value", None)
        out.append(_figure(value.next_12_months) if value else "—")
        out.append('</td>\n    <td class="d-none d-lg-table-cell small">')
        for kind, value in party.row_contacts:
            out.append(f'<div class="text-truncate">{_contact_link(kind, value)}</div>')
        owner = party.owner
        out.append(f'</td>\n    <td class="d-none d-md-table-cell">{esc(owner) if owner else "—"}')
        if rtype:  # narrower than xxl the type has no column: it stands under the owner
            out.append(f'<div class="small text-body-secondary d-xxl-none">{esc(rtype)}</div>')
        out.append('</td>\n    <td class="d-none d-xxl-table-cell">')
        for tag in party.row_tags:
            out.append(f'<span class="badge text-bg-secondary me-1">{esc(tag)}</span>')
        out.append("</td>\n    ")
        if self.custom_columns:
            for cell in custom_cells(party, self.custom_columns):
                out.append(f'<td class="d-none d-xl-table-cell">{esc(cell)}</td>')
        out.append("\n  </tr>\n  ")
        return "".join(out)

    def render_all(self, parties: Iterable) -> SafeString:
        return mark_safe("".join(self.render(party) for party in parties))  # noqa: S308


def _contact_link(kind: str, value: str) -> str:
    """A primary phone number as a ``tel:`` link (shown formatted), an e-mail address as a
    ``mailto:`` link, anything else as text; escaped."""
    if kind == ContactKind.PHONE:
        dial = conditional_escape(dial_string(value))
        shown = conditional_escape(format_phone(value))
        return f'<a class="kreis-tel" href="tel:{dial}">{shown}</a>'
    if kind == ContactKind.EMAIL:
        address = conditional_escape(value)
        return f'<a href="mailto:{address}">{address}</a>'
    return conditional_escape(value)
