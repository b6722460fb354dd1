"""Who may do what with playbooks (django-rules).

Administrators own automation: they create, edit, enable and delete playbooks and start or
stop them for parties by hand. Sales managers, sales reps and marketing see the playbooks and
their figures; which enrolled parties they see follows the party's owner and team
(``core.view_record``), as everywhere else.
"""

from __future__ import annotations

import rules

from kreis.core.models import Role
from kreis.core.rules import is_active_user, is_admin

VIEWING_ROLES = {Role.SALES_MANAGER, Role.SALES_REP, Role.MARKETING}


@rules.predicate
def sees_playbooks(user) -> bool:
    return bool(user and user.is_authenticated and user.role in VIEWING_ROLES)


rules.add_perm("playbooks.manage_playbook", is_admin)
rules.add_perm("playbooks.view_playbook", is_admin | (is_active_user & sees_playbooks))
