"""Who may do what with call lists (django-rules).

- Administrators and sales managers see and change every list.
- Everybody else sees (and works) the lists assigned to them, the lists of their teams and the
  lists they own; read-only users only look.
- Creating a list needs the right to build one from a segment or campaign: administrators,
  sales managers and marketing. The owner of a list changes it as well.
- Logging a single call (a ``tel:`` click) needs the right to change the party, lead or deal
  it is logged on: that is the activity service's own check.
"""

from __future__ import annotations

import rules

from kreis.core.models import Role
from kreis.core.rules import is_active_user, is_admin, is_in_team, is_owner, is_read_only


@rules.predicate
def is_manager(user) -> bool:
    return bool(user and user.is_authenticated and user.role == Role.SALES_MANAGER)


@rules.predicate
def is_marketing(user) -> bool:
    return bool(user and user.is_authenticated and user.role == Role.MARKETING)


@rules.predicate
def is_assignee(user, call_list) -> bool:
    if call_list is None or not user.is_authenticated:
        return False
    ids = getattr(call_list, "_assignee_ids", None)
    if ids is None:
        ids = set(call_list.assignees.values_list("pk", flat=True))
        call_list._assignee_ids = ids
    return user.pk in ids


sees_all = is_admin | (is_active_user & is_manager)

rules.add_perm("calls.view", is_active_user)
rules.add_perm("calls.add", is_admin | (is_active_user & (is_manager | is_marketing)))
rules.add_perm(
    "calls.view_list", sees_all | (is_active_user & (is_assignee | is_in_team | is_owner))
)
rules.add_perm(
    "calls.work_list",
    sees_all | (is_active_user & ~is_read_only & (is_assignee | is_in_team | is_owner)),
)
rules.add_perm("calls.change_list", sees_all | (is_active_user & ~is_read_only & is_owner))
