"""Who may do what in social listening (django-rules).

Sources and mentions are owned records: their owner and team see them (``core.view_record``)
and act on them (``core.change_record``; read-only users only look). The monitored keywords
are the company's shared list: everyone signed in sees it, administrators and marketing keep
it.
"""

from __future__ import annotations

import rules

from kreis.core.models import Role
from kreis.core.rules import is_active_user, is_admin


@rules.predicate
def is_marketing(user) -> bool:
    return bool(user and user.is_authenticated and user.role == Role.MARKETING)


rules.add_perm("social.manage_keywords", is_admin | (is_active_user & is_marketing))
rules.add_perm("social.view", is_active_user)
