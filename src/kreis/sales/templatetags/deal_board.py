"""The deal board's columns and cards and the deal list's rows, built in Python.

A board shows up to 20 cards in each of its columns (120 and more on a busy pipeline), the list
25 rows. Rendered as templates, each card cost about 1.5 ms (an include, three ``{% url %}``,
translations, a stage ``<select>`` looping over every stage, filters); here the parts that are
the same on every card (translations, the stage options, the CSRF field) are made once per
page, and a card is one string format. The markup is exactly what the templates made (see
tests/sales/test_board_html.py): what users see and what board.js relies on is unchanged.

    {% load deal_board %}
    {% deal_column column %}        a board column: head and cards (board.html, _column.html)
    {% deal_card deal %}            one card (_moved.html)
    {% column_head column %}        a column's head with its sums (_moved.html)
    {% deal_rows rows %}            the deal list's rows, (deal, custom cells) pairs (_rows.html)

Each tag takes what it needs from the template context, as the templates did: ``stages`` (the
pipeline's stages, for the select), ``can_move``, ``query`` (the board's filters, for a
column's reload URL), ``csrf_token``, ``request`` and ``user``.
"""

from __future__ import annotations

from functools import lru_cache

from django import template
from django.conf import settings
from django.utils import dateformat
from django.utils.formats import get_format
from django.utils.html import conditional_escape, escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext, ngettext

from kreis.core.fasturls import reverse_int
from kreis.core.money import format_money
from kreis.parties.queries import party_name_for_user
from kreis.parties.templatetags.party_links import party_link
from kreis.sales.models import ForecastCategory

register = template.Library()

_KEY = "kreis.sales.deal_board"

_CARD = (
    '<article class="card deal-card" id="deal-{pk}" data-deal-id="{pk}" '
    'data-stage-id="{stage_id}" data-updated-at="{updated_at}" data-move-url="{move_url}">\n'
    '  <div class="card-body p-2">\n'
    '    <a class="fw-semibold d-block text-truncate" href="{detail_url}" title="{name}">'
    "{name}</a>\n"
    "    {organization}\n"
    '    <div class="d-flex justify-content-between align-items-center small mt-1 gap-2">\n'
    '      <span class="fw-semibold text-nowrap" data-testid="deal-amount">{amount}</span>\n'
    '      <span class="text-body-secondary text-truncate" title="{owner_title}">{owner}</span>\n'
    "    </div>\n"
    "    {close}\n"
    "    {forecast}{form}\n"
    "  </div>\n"
    "</article>\n"
)
_ORGANIZATION = (
    '<div class="small text-body-secondary text-truncate">'
    '<i class="bi bi-building me-1" aria-hidden="true"></i>{}</div>'
)
_CLOSE = (
    '<div class="small text-body-secondary">'
    '<i class="bi bi-calendar-event me-1" aria-hidden="true"></i>{}</div>'
)
# The forecast category of an open deal: a select the rep changes in place (board.js posts it;
# without JavaScript the button submits the form), or the category as text for who may not.
_FORECAST_FORM = (
    '<form class="deal-forecast-form d-flex align-items-center gap-1 mt-1" method="post" '
    'action="{url}">{csrf}\n'
    '      <input type="hidden" name="updated_at" value="{updated_at}">\n'
    '      <label class="text-body-secondary px-1" for="forecast-{pk}" title="{label}">'
    '<i class="bi bi-graph-up-arrow" aria-hidden="true"></i>'
    '<span class="visually-hidden">{label} – {name}</span></label>\n'
    '      <select class="form-select form-select-sm" id="forecast-{pk}" '
    'name="forecast_category" data-testid="deal-forecast-category">{options}</select>\n'
    '      <button class="btn btn-sm btn-outline-secondary" type="submit" title="{set_text}">'
    '<i class="bi bi-check2" aria-hidden="true"></i>'
    '<span class="visually-hidden">{set_text}</span></button>\n'
    "    </form>"
)
_FORECAST_TEXT = (
    '<div class="small text-body-secondary" title="{label}" data-testid="deal-forecast-category">'
    '<i class="bi bi-graph-up-arrow me-1" aria-hidden="true"></i>{category}</div>'
)
_FORM = (
    '\n    <form class="deal-move-form d-flex gap-1 mt-2" method="post" action="{move_url}">'
    "{csrf}\n"
    '      <input type="hidden" name="updated_at" value="{updated_at}">\n'
    '      <label class="visually-hidden" for="move-{pk}">{label}</label>\n'
    '      <select class="form-select form-select-sm" id="move-{pk}" name="stage">'
    "{options}</select>\n"
    '      <button class="btn btn-sm btn-outline-secondary" type="submit" title="{move_text}">'
    '<i class="bi bi-arrow-right" aria-hidden="true"></i>'
    '<span class="visually-hidden">{move_text}</span></button>\n'
    "    </form>"
)
_COLUMN = (
    '<section class="deal-column" data-stage-id="{pk}" data-stage-kind="{kind}" '
    'data-column-url="{url}" aria-label="{label}">\n'
    "  {head}\n"
    '  <div class="deal-column-cards" data-stage-id="{pk}" data-stage-kind="{kind}">'
    "{cards}</div>\n"
    "</section>\n"
)
_HEAD = (
    '<header class="deal-column-head" data-column-summary="{pk}">\n'
    '  <div class="d-flex justify-content-between align-items-center gap-2">\n'
    '    <h2 class="h6 mb-0 text-truncate">{icon}{label}</h2>\n'
    '    <span class="badge rounded-pill text-bg-secondary" data-testid="column-count" '
    'title="{deals_text}">{count}</span>\n'
    "  </div>\n"
    '  <div class="small text-body-secondary"><span data-testid="column-amount">{amount}</span>'
    "{weighted}</div>\n"
    "  {more}\n"
    "</header>\n"
)
_ICONS = {
    "won": '<i class="bi bi-trophy text-success me-1" aria-hidden="true"></i>',
    "lost": '<i class="bi bi-x-octagon text-danger me-1" aria-hidden="true"></i>',
}
_MORE = '<a class="small" href="{url}?stage={pk}" data-testid="column-more">{text}</a>'
_ROW = (
    "\n  <tr>\n"
    "    {select}\n"
    '    <td><a href="{detail_url}">{name}</a>{tags}</td>\n'
    '    <td class="d-none d-md-table-cell">{organization}</td>\n'
    '    <td><span class="badge {badge}">{stage}</span>'
    '<div class="small text-body-secondary d-none d-lg-block">{pipeline}</div></td>\n'
    '    <td class="text-end text-nowrap">{amount}</td>\n'
    '    <td class="d-none d-lg-table-cell">{close}</td>\n'
    '    <td class="d-none d-md-table-cell">{owner}</td>\n'
    "    {cells}\n"
    "  </tr>\n"
    "  "
)
_SELECT = (
    '<td><input type="checkbox" class="form-check-input" name="ids" value="{pk}" '
    'form="bulk-form" aria-label="{label}"></td>'
)
_BADGES = {"won": "text-bg-success", "lost": "text-bg-danger"}
_EMPTY = '\n  <tr><td colspan="9" class="text-body-secondary">{}</td></tr>\n  '


@lru_cache(maxsize=8192)
def _formatted_money(language: str | None, currency: str, value: str) -> str:
    return escape(format_money(value, currency))


def _money(value, currency: str = "") -> str:
    """``{{ value|money:currency }}``, escaped. Babel takes 40-80 us an amount and a board shows
    130 of them, mostly the same ones request after request: they are kept per language,
    currency and the amount's exact text (``format_money`` reads no more than these)."""
    if value is None or value == "":
        return ""
    return _formatted_money(get_language(), currency or settings.KREIS_CURRENCY, str(value))


class _Page:
    """What every card, column and row of one rendered page shares, made once."""

    def __init__(self, context):
        self.context = context
        request = context.get("request")
        self.user = getattr(request, "user", None) or context.get("user")
        self.can_move = bool(context.get("can_move"))
        self.query = context.get("query") or ""
        self._dates: dict = {}
        self._parties: dict = {}
        self._options: dict[int, str] | None = None
        self._csrf: str | None = None
        # Translations, as {% translate %} and {% blocktranslate %} gave them.
        self.owner_title = gettext("Owner")
        self.move_text = gettext("Move to this stage")
        self.stage_of = gettext("Stage of %(name)s")
        self.forecast_label = gettext("Forecast category")
        self.forecast_set = gettext("Set the forecast category")
        self._forecast_options: dict[str, str] = {}
        self._categories = dict(ForecastCategory.choices)

    # -- shared pieces ------------------------------------------------------------------

    def options(self, stage_id: int) -> str:
        """The stage select's options with ``stage_id`` selected (made once per stage)."""
        if self._options is None:
            parts = [
                (s.pk, f'<option value="{s.pk}"', f">{escape(s.label)}</option>")
                for s in self.context.get("stages") or ()
            ]
            self._options = {
                pk: "".join(
                    start + (" selected" if other == pk else "") + end
                    for other, start, end in parts
                )
                for pk in [None, *(pk for pk, _start, _end in parts)]
            }
        return self._options.get(stage_id, self._options[None])

    def forecast_options(self, category: str) -> str:
        """The categories a rep may choose for an open deal (closed comes with winning it)."""
        shown = self._forecast_options.get(category)
        if shown is None:
            shown = "".join(
                f'<option value="{value}"{" selected" if value == category else ""}>'
                f"{escape(label)}</option>"
                for value, label in ForecastCategory.choices
                if value != ForecastCategory.CLOSED
            )
            self._forecast_options[category] = shown
        return shown

    def forecast(self, deal, *, name: str, updated_at: str) -> str:
        """An open deal's category (a select when the user may change it), a won deal's
        "closed"; a lost deal is in no forecast."""
        kind = deal.stage.kind
        if kind == "lost":
            return ""
        # As the stage select: the board shows only deals the user may see, and whoever may
        # see a deal and is not read-only may change it (the view checks it again).
        if kind == "open" and self.can_move:
            return _FORECAST_FORM.format(
                url=reverse_int("sales:forecast_category", deal.pk),
                csrf=self.csrf(),
                updated_at=updated_at,
                pk=deal.pk,
                label=self.forecast_label,
                name=name,
                options=self.forecast_options(deal.forecast_category),
                set_text=self.forecast_set,
            )
        category = self._categories.get(deal.forecast_category, deal.forecast_category)
        return _FORECAST_TEXT.format(label=self.forecast_label, category=escape(category))

    def csrf(self) -> str:
        """``{% csrf_token %}``'s hidden field (the same token on the whole page)."""
        if self._csrf is None:
            value = self.context.get("csrf_token")
            if not value or value == "NOTPROVIDED":  # as CsrfTokenNode: no field
                self._csrf = ""
            else:
                self._csrf = (
                    f'<input type="hidden" name="csrfmiddlewaretoken" value="{escape(value)}">'
                )
        return self._csrf

    def date(self, value) -> str:
        """``value|date:"SHORT_DATE_FORMAT"`` (the same dates recur on a page)."""
        shown = self._dates.get(value)
        if shown is None:
            shown = dateformat.format(value, get_format("SHORT_DATE_FORMAT"))
            self._dates[value] = shown
        return shown

    def party_name(self, party) -> str:
        """``{% party_name party %}``: the name, or "Hidden party" if the user may not see it."""
        shown = self._parties.get(party.pk)
        if shown is None:
            shown = escape(party_name_for_user(user=self.user, party=party))
            self._parties[party.pk] = shown
        return shown

    def party_link(self, party) -> str:
        """``{% party_link party %}``, once per party on the page."""
        if party is None:
            return "—"
        key = ("link", party.pk)
        shown = self._parties.get(key)
        if shown is None:
            shown = str(conditional_escape(party_link(self.context, party)))
            self._parties[key] = shown
        return shown

    # -- the board -------------------------------------------------------------------------

    def card(self, deal) -> str:
        pk = deal.pk
        move_url = reverse_int("sales:move", pk)
        updated_at = escape(deal.updated_at.isoformat())
        name = escape(deal.name)
        organization = deal.organization
        close = deal.expected_close
        form = ""
        if self.can_move:
            form = _FORM.format(
                move_url=move_url,
                csrf=self.csrf(),
                updated_at=updated_at,
                pk=pk,
                label=self.stage_of % {"name": name},
                options=self.options(deal.stage_id),
                move_text=self.move_text,
            )
        return _CARD.format(
            pk=pk,
            stage_id=deal.stage_id,
            updated_at=updated_at,
            move_url=move_url,
            detail_url=reverse_int("sales:detail", pk),
            name=name,
            organization=_ORGANIZATION.format(self.party_name(organization))
            if organization
            else "",
            amount=_money(deal.amount, deal.currency),
            owner_title=self.owner_title,
            owner=escape(deal.owner or "—"),
            close=_CLOSE.format(escape(self.date(close)))
            if close and deal.stage.kind == "open"
            else "",
            forecast=self.forecast(deal, name=name, updated_at=updated_at),
            form=form,
        )

    def head(self, column) -> str:
        stage = column.stage
        weighted = ""
        if stage.kind == "open":
            weighted = " · " + gettext("%(weighted)s weighted (%(probability)s %%)") % {
                "weighted": _money(column.weighted),
                "probability": stage.probability,
            }
        more = ""
        if column.more:
            text = ngettext(
                "+ %(more)s more in the list", "+ %(more)s more in the list", column.more
            ) % {"more": column.more}
            more = _MORE.format(url=reverse_int("sales:list"), pk=stage.pk, text=text)
        return _HEAD.format(
            pk=stage.pk,
            icon=_ICONS.get(stage.kind, ""),
            label=escape(stage.label),
            deals_text=gettext("Deals"),
            count=column.count,
            amount=_money(column.amount),
            weighted=weighted,
            more=more,
        )

    def column(self, column) -> str:
        stage = column.stage
        url = reverse_int("sales:board_column", stage.pk)
        if self.query:
            url += "?" + escape(self.query)
        return _COLUMN.format(
            pk=stage.pk,
            kind=escape(stage.kind),
            url=url,
            label=escape(stage.label),
            head=self.head(column),
            cards="".join([self.card(deal) for deal in column.deals]),
        )

    # -- the deal list ---------------------------------------------------------------------

    def rows(self, rows) -> str:
        read_only = getattr(self.user, "is_read_only", False)
        select_label = gettext("Select %(name)s")
        parts = []
        for deal, cells in rows:
            pk = deal.pk
            name = escape(deal.name)
            stage = deal.stage
            close = deal.expected_close
            parts.append(
                _ROW.format(
                    select=""
                    if read_only
                    else _SELECT.format(pk=pk, label=select_label % {"name": name}),
                    detail_url=reverse_int("sales:detail", pk),
                    name=name,
                    tags="".join(
                        f' <span class="badge text-bg-secondary">{escape(t.name)}</span>'
                        for t in deal.tags.all()
                    ),
                    organization=self.party_link(deal.organization),
                    badge=_BADGES.get(stage.kind, "text-bg-light border"),
                    stage=escape(stage.label),
                    pipeline=escape(deal.pipeline.label),
                    amount=_money(deal.amount, deal.currency),
                    close=escape(self.date(close)) if close else "—",
                    owner=escape(deal.owner or "—"),
                    cells="".join(
                        f'<td class="d-none d-xl-table-cell">{escape(cell)}</td>' for cell in cells
                    ),
                )
            )
        if not parts:
            return _EMPTY.format(gettext("No deals match."))
        return "".join(parts)


def _page(context) -> _Page:
    """The page's shared pieces, made on the first tag of a template render."""
    page = context.render_context.get(_KEY)
    if page is None:
        page = _Page(context)
        context.render_context[_KEY] = page
    return page


def _html(markup: str) -> SafeString:
    """Markup built above: every value in it was escaped where it was put in."""
    return mark_safe(markup)  # noqa: S308


@register.simple_tag(takes_context=True)
def deal_column(context, column) -> SafeString:
    return _html(_page(context).column(column))


@register.simple_tag(takes_context=True)
def deal_card(context, deal) -> SafeString:
    return _html(_page(context).card(deal))


@register.simple_tag(takes_context=True)
def column_head(context, column) -> SafeString:
    return _html(_page(context).head(column))


@register.simple_tag(takes_context=True)
def deal_rows(context, rows) -> SafeString:
    return _html(_page(context).rows(rows))
