"""One timeline entry as HTML, built in Python: the markup of ``activities/_entry.html``.

A timeline (party, deal and lead pages, My day) shows ten and more entries; through the template
engine an entry cost over a millisecond of CPU (about a hundred nodes, an include, URL
reversing, a translation lookup per label). This builds exactly the same markup at a fraction
of that. The text and markup are the template's, piece by piece: change them here, and in
``tests/activities`` the expected HTML. Everything shown from a record is escaped; the labels
are translations (as ``{% translate %}`` gives them, unescaped), ``body`` is sanitised HTML.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.template.defaulttags import CsrfTokenNode
from django.utils import dateformat
from django.utils.formats import get_format
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import template_localtime
from django.utils.translation import gettext, ngettext

from kreis.activities.models import ActivityKind, CallOutcome, Direction
from kreis.core.fasturls import reverse_int
from kreis.parties.templatetags.party_links import party_link


def _escape(value) -> str:
    return conditional_escape(value)


class EntryRenderer:
    """Renders entries for one template context (request, user, flags): what is the same for
    every entry (labels, the CSRF field, the page's address) is looked up once."""

    def __init__(self, context) -> None:
        self.context = context
        self.show_party = context.get("show_party")
        self.anchor_party_id = context.get("anchor_party_id")
        self.compact = context.get("compact")
        self.use_tz = context.use_tz
        # What the ``date`` and ``time`` filters look up per call, once per render.
        self.datetime_format = get_format("SHORT_DATETIME_FORMAT")
        self.time_format = get_format("TIME_FORMAT")
        # What ``get_<field>_display()`` translates per call, once per render.
        self.labels = {
            name: {value: str(label) for value, label in choices.choices}
            for name, choices in (
                ("kind", ActivityKind),
                ("direction", Direction),
                ("outcome", CallOutcome),
            )
        }
        self._form_tail = None
        self.due = gettext("due")
        self.with_ = gettext("with")
        self.nobody = gettext("nobody")
        self.badges = {
            "overdue": f'<span class="badge text-bg-danger ms-1">{gettext("overdue")}</span>',
            "done": f'<span class="badge text-bg-success ms-1">{gettext("done")}</span>',
            "open": f'<span class="badge text-bg-light border ms-1">{gettext("open")}</span>',
        }

    def _date(self, value, fmt: str) -> str:
        """``{{ value|date:fmt }}`` with the format already looked up."""
        if value in (None, ""):
            return ""
        return _escape(dateformat.format(template_localtime(value, self.use_tz), fmt))

    def _time(self, value) -> str:
        """``{{ value|time:"TIME_FORMAT" }}``."""
        if value in (None, ""):
            return ""
        return _escape(
            dateformat.time_format(template_localtime(value, self.use_tz), self.time_format)
        )

    def _label(self, field: str, value: str) -> str:
        """``get_<field>_display()``: the choice's label, or the value if it has none."""
        return _escape(self.labels[field].get(value, value))

    def _csrf_and_next(self) -> str:
        if self._form_tail is None:
            request = self.context.get("request")
            full_path = request.get_full_path() if request is not None else ""
            self._form_tail = (
                f"{CsrfTokenNode().render(self.context)}"
                f'<input type="hidden" name="next" value="{_escape(full_path)}">'
            )
        return self._form_tail

    def render(self, activity) -> str:
        kind = activity.kind
        pk = activity.pk
        done_at = activity.done_at
        kind_label = self._label("kind", kind)
        subject = _escape(activity.subject)
        out = [
            '<li class="list-group-item kreis-activity d-flex gap-2 align-items-start',
            " kreis-activity-done" if done_at else "",
            f'" id="activity-{pk}" data-kind="{_escape(kind)}">\n',
            f'  <span class="kreis-activity-icon text-body-secondary" title="{kind_label}">'
            f'<i class="bi bi-{_escape(activity.icon)}" aria-hidden="true"></i>'
            f'<span class="visually-hidden">{kind_label}</span></span>\n',
            '  <div class="flex-grow-1 min-w-0">\n',
            '    <div class="d-flex flex-wrap justify-content-between gap-1">\n',
            '      <a class="fw-semibold text-break',
            " text-decoration-line-through" if done_at and kind == "task" else "",
            f'" href="{reverse_int("activities:detail", pk)}">{subject}</a>\n',
            '      <time class="small text-body-secondary text-nowrap" datetime="',
            self._date(activity.occurred_at, "c"),
            '">',
            f"{self.due} " if kind == "task" else "",
            self._date(activity.occurred_at, self.datetime_format),
        ]
        if kind == "meeting" and activity.ends_at:
            out += ["–", self._time(activity.ends_at)]
        out.append("</time>\n    </div>\n")
        out.append('    <div class="small text-body-secondary">\n      ')
        if kind in ("call", "email"):
            out.append(self._label("direction", activity.direction))
            if activity.duration_minutes:
                minutes = activity.duration_minutes
                text = ngettext("%(n)s minute", "%(n)s minutes", minutes)
                out += [" · ", text % {"n": _escape(minutes)}]
            if activity.outcome:
                out += [" · ", self._label("outcome", activity.outcome)]
            out.append(" · ")
        out.append("\n      ")
        if kind == "meeting":
            if activity.location:
                out.append(
                    f'<i class="bi bi-geo-alt" aria-hidden="true"></i> '
                    f"{_escape(activity.location)} · "
                )
            people = activity.attendees.all()
            if people:
                names = ", ".join(_escape(p.name) for p in people)
                out.append(f"{self.with_} {names} · ")
        out.append("\n      ")
        if (
            self.show_party
            and activity.party_id is not None
            and activity.party
            and activity.party_id != self.anchor_party_id
        ):
            out += [party_link(self.context, activity.party), " · "]
        out.append("\n      ")
        owner = activity.owner
        out.append(_escape(owner) if owner else self.nobody)
        out.append("\n      ")
        if activity.is_overdue:
            out.append(self.badges["overdue"])
        elif done_at and kind != "note":
            out.append(self.badges["done"])
        elif kind != "note":
            out.append(self.badges["open"])
        out.append("\n    </div>\n    ")
        if activity.body and not self.compact:
            out.append(f'<div class="kreis-activity-body small mt-1">{activity.body}</div>')
        out.append("\n  </div>\n  ")
        if getattr(activity, "can_change", False) and kind != "note":
            action = "reopen" if done_at else "complete"
            url = reverse_int(f"activities:{action}", pk)
            out.append(
                f'\n    \n    <form method="post" action="{url}" hx-post="{url}" '
                'hx-target="closest .kreis-activity" hx-swap="outerHTML">'
                f"{self._csrf_and_next()}\n"
            )
            if done_at:
                title = gettext("Reopen")
                hidden = gettext("Reopen “%(subject)s”") % {"subject": subject}
                out.append(
                    '      <button class="btn btn-sm btn-outline-secondary" type="submit" '
                    f'title="{title}"><i class="bi bi-arrow-counterclockwise" '
                    'aria-hidden="true"></i>'
                )
            else:
                title = gettext("Mark done")
                hidden = gettext("Mark “%(subject)s” done") % {"subject": subject}
                out.append(
                    '      <button class="btn btn-sm btn-outline-success" type="submit" '
                    f'title="{title}" data-testid="complete-{pk}"><i class="bi bi-check-lg" '
                    'aria-hidden="true"></i>'
                )
            out.append(f'<span class="visually-hidden">{hidden}</span></button></form>\n    \n  ')
        out.append("\n</li>\n")
        return "".join(out)

    def render_all(self, activities: Iterable) -> SafeString:
        return mark_safe("".join(self.render(activity) for activity in activities))  # noqa: S308
