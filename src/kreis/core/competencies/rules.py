"""Who sees and changes sales competencies (django-rules predicates).

Every active user sees the skills matrix (a rep sees whom to ask). A user changes their own
levels; a sales manager changes the levels of the members of the teams they manage;
administrators change everyone's. The catalogue of competencies (which skills, languages and
product categories there are) is kept by administrators and sales managers.
"""

from __future__ import annotations

import rules

from kreis.core.models import Membership, Role
from kreis.core.rules import is_active_user, is_admin


@rules.predicate
def is_sales_manager(user) -> bool:
    return bool(user and user.is_authenticated and user.role == Role.SALES_MANAGER)


@rules.predicate
def is_self(user, target) -> bool:
    return target is not None and user.is_authenticated and target.pk == user.pk


@rules.predicate
def manages_user(user, target) -> bool:
    """The user manages a team the target is a member of."""
    if target is None or not user.is_authenticated:
        return False
    managed = user.managed_team_ids()
    if not managed:
        return False
    return Membership.objects.filter(user_id=target.pk, team_id__in=managed).exists()


@rules.predicate
def is_not_read_only(user) -> bool:
    return bool(user and user.is_authenticated and not user.is_read_only)


rules.add_perm("core.view_competencies", is_admin | is_active_user)
rules.add_perm(
    "core.change_user_competencies",
    is_admin | (is_active_user & is_not_read_only & (is_self | (is_sales_manager & manages_user))),
)
rules.add_perm("core.manage_competencies", is_admin | (is_active_user & is_sales_manager))

# The Django admin: administrators only.
for _action in ("view", "add", "change", "delete"):
    rules.add_perm(f"core.{_action}_competency", is_admin)
    rules.add_perm(f"core.{_action}_usercompetency", is_admin)
