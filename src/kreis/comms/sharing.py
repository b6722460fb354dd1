"""What of a mailbox reaches the CRM (issue 15: "private mail never reaches the CRM").

A message is *shared* when the account's settings allow it, decided once when it is stored:

1. A rule "never share" matching any address of the mail (sender or recipient, the account's
   own address aside) keeps it private — even when a customer is on it too. A rule names an
   address (``anna@example.com``) or a domain (``@example.com``; subdomains included).
2. Else a rule "always share" matching any of its addresses shares it.
3. Else the share mode: *all* shares every mail of the synced folders, *known* only mail with
   an address of a known party, *nothing* none.

Private mail is stored for its owner (and a shared mailbox's team) only: no timeline entry,
no search entry, a 404 for everyone else.
"""

from __future__ import annotations

from collections.abc import Iterable

from kreis.comms.models import MailAccount, RuleAction, ShareMode


def _matches(pattern: str, address: str) -> bool:
    pattern = pattern.strip().lower()
    if not pattern:
        return False
    if pattern.startswith("@") or "@" not in pattern:
        domain = pattern.lstrip("@")
        host = address.rpartition("@")[2]
        return host == domain or host.endswith("." + domain)
    return address == pattern


def is_shared(
    *, account: MailAccount, addresses: Iterable[str], known: bool, rules: list | None = None
) -> bool:
    """Whether a mail with these counterpart ``addresses`` is shared (see the module)."""
    addresses = [a.lower() for a in addresses if a]
    rules = list(account.rules.all()) if rules is None else rules
    for action in (RuleAction.NEVER, RuleAction.ALWAYS):
        for rule in rules:
            if rule.action == action and any(_matches(rule.pattern, a) for a in addresses):
                return action == RuleAction.ALWAYS
    if account.share_mode == ShareMode.ALL:
        return True
    if account.share_mode == ShareMode.KNOWN:
        return known
    return False
