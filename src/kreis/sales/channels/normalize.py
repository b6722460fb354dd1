"""Reading a transaction's channel, a free text (as ERPs deliver it), as a sales channel.

``Transaction.channel`` stays free text so every existing value and every import keeps
working; figures per channel read it through ``channel_of``: the channel's code or its name in
English or German, in any case ("Field", "Außendienst", "online" …). Anything else is no
channel ("").
"""

from __future__ import annotations

import re

from kreis.commerce.models import SalesChannel

SPELLINGS: dict[str, tuple[str, ...]] = {
    SalesChannel.DIRECT: ("direct", "direkt", "direktvertrieb", "direct sales"),
    SalesChannel.FIELD: ("field", "field sales", "außendienst", "aussendienst"),
    SalesChannel.PARTNER: ("partner", "partners", "reseller", "partnervertrieb"),
    SalesChannel.ONLINE: ("online", "web", "webshop", "e-commerce", "ecommerce", "shop"),
}
_LOOKUP = {spelling: code for code, names in SPELLINGS.items() for spelling in names}


def channel_of(text: str | None) -> str:
    """The sales channel code a free-text channel names, or "" for none."""
    return _LOOKUP.get((text or "").strip().casefold(), "")


def spellings(code: str) -> str:
    """A case-insensitive regular expression matching every spelling of the channel."""
    names = SPELLINGS.get(code, (code,))
    return r"^\s*(" + "|".join(re.escape(n) for n in names) + r")\s*$"
