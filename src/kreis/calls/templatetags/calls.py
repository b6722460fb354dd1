"""``{% tel_link number party=… lead=… deal=… shown=… %}``: every phone number Kreis shows.

A ``tel:`` link (the browser or softphone dials) that also opens the call-logging dialog
(``calls/tel.js``), and beside it a plain "Log call" link to the form page, for when there is
no JavaScript. Both carry the party, lead or deal the number belongs to."""

from __future__ import annotations

from urllib.parse import urlencode

from django import template
from django.template.loader import render_to_string
from django.urls import reverse

from kreis.parties.normalize import dial_string, format_phone

register = template.Library()


def log_url(*, phone: str, party=None, lead=None, deal=None) -> str:
    query = {"phone": phone}
    for name, record in (("party", party), ("lead", lead), ("deal", deal)):
        if record is not None:
            query[name] = record.pk
    return f"{reverse('calls:log')}?{urlencode(query)}"


@register.simple_tag(takes_context=True)
def tel_link(context, number, party=None, lead=None, deal=None, shown=None, may_log=None):
    """A number as a ``tel:`` link with call logging. ``may_log`` (default: the user may
    change the party, lead or deal) hides the logging part for users who cannot write."""
    number = (number or "").strip()
    if not number:
        return ""
    user = context.get("user")
    record = party or lead or deal
    if may_log is None:
        may_log = bool(
            record is not None
            and user is not None
            and user.is_authenticated
            and user.has_perm("core.change_record", record)
        )
    dial = dial_string(number)
    return render_to_string(
        "calls/_tel.html",
        {
            "dial": dial,
            "shown": shown or format_phone(number),  # "+49 40 71921073", not the bare E.164
            "may_log": may_log and record is not None,
            "log_url": log_url(phone=number, party=party, lead=lead, deal=deal),
        },
    )
