"""Merge fields of e-mail templates: ``{{ party.name }}``, ``{{ deal.name }}``,
``{{ owner.name }}``, ``{{ party.custom.<key> }}`` …

Deliberately not the Django template engine: a template is text with placeholders, and a
placeholder is looked up in a fixed table of plain strings built here (``merge_values``) —
no attribute access, no method calls, no tags or filters, so a template author can reach
nothing but the documented values. An unknown placeholder is refused when the template is
saved (``validate_template``); a known one without a value (no deal chosen) becomes "".
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+(?:\.[a-z0-9_]+){1,2})\s*\}\}")
FIELDS = {
    "party.name": gettext_lazy("the party's name"),
    "party.first_name": gettext_lazy("first name (persons)"),
    "party.last_name": gettext_lazy("last name (persons)"),
    "party.salutation": gettext_lazy("salutation"),
    "party.email": gettext_lazy("the party's primary e-mail address"),
    "deal.name": gettext_lazy("the deal's name"),
    "deal.amount": gettext_lazy("the deal's amount"),
    "deal.stage": gettext_lazy("the deal's stage"),
    "owner.name": gettext_lazy("your name"),
    "owner.email": gettext_lazy("your e-mail address"),
}
CUSTOM = re.compile(r"^(party|deal)\.custom\.[a-z0-9_]+$")


def _known(name: str) -> bool:
    return name in FIELDS or bool(CUSTOM.match(name))


def validate_template(*, subject: str, body: str) -> None:
    unknown = sorted(
        {name for text in (subject, body) for name in PLACEHOLDER.findall(text)} - set(FIELDS)
    )
    unknown = [name for name in unknown if not _known(name)]
    if unknown:
        raise ValidationError(
            _("Unknown merge fields: %(fields)s. Known: %(known)s, party.custom.<key>.")
            % {"fields": ", ".join(unknown), "known": ", ".join(FIELDS)}
        )


def _custom(prefix: str, values: dict[str, Any], record) -> None:
    for key, value in (getattr(record, "custom", None) or {}).items():
        values[f"{prefix}.custom.{key}"] = "" if value is None else str(value)


def merge_values(*, party=None, deal=None, owner=None) -> dict[str, str]:
    """The plain-text value of every merge field for these records (missing ones: "")."""
    values: dict[str, str] = dict.fromkeys(FIELDS, "")
    if party is not None:
        values["party.name"] = party.name
        values["party.first_name"] = getattr(party, "first_name", "") or ""
        values["party.last_name"] = getattr(party, "last_name", "") or ""
        values["party.salutation"] = getattr(party, "salutation", "") or ""
        emails = [c for c in party.contact_points.all() if c.kind == "email"]
        values["party.email"] = emails[0].value if emails else ""
        _custom("party", values, party)
    if deal is not None:
        values["deal.name"] = deal.name
        values["deal.amount"] = (
            f"{formats.number_format(deal.amount, 2, use_l10n=True)} {deal.currency}"
            if getattr(deal, "amount", None) is not None
            else ""
        )
        values["deal.stage"] = str(deal.stage) if deal.stage_id else ""
        _custom("deal", values, deal)
    if owner is not None:
        values["owner.name"] = owner.get_full_name() or owner.username
        values["owner.email"] = owner.email
    return values


def render_text(text: str, values: dict[str, str]) -> str:
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), ""), text)
