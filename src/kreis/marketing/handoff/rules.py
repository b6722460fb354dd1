"""Who works with the handoff to sales (django-rules predicates).

- Administrators and marketing users see every handoff, hand leads off and keep the
  assignment rules; sales managers see the handoffs of their teams, the rules, and hand off
  the leads of the teams they manage (or leads of no team); read-only users see their teams'
  handoffs; a sales rep sees the handoffs given to him. The SLA settings are for
  administrators (``marketing.configure``).
"""

from __future__ import annotations

import rules

from kreis.core.models import Role
from kreis.core.rules import is_active_user, is_admin
from kreis.marketing.rules import is_marketing


@rules.predicate
def is_sales_manager(user) -> bool:
    return bool(user and user.is_authenticated and user.role == Role.SALES_MANAGER)


@rules.predicate
def works_with_handoffs(user) -> bool:
    return bool(
        user
        and user.is_authenticated
        and user.role
        in (Role.MARKETING, Role.SALES_MANAGER, Role.SALES_REP, Role.READ_ONLY, Role.ADMIN)
    )


@rules.predicate
def manages_lead_team(user, lead) -> bool:
    if lead is None:
        return False
    return lead.team_id is None or lead.team_id in user.managed_team_ids()


rules.add_perm("marketing.view_handoffs", is_admin | (is_active_user & works_with_handoffs))
rules.add_perm(
    "marketing.hand_off",
    is_admin | (is_active_user & (is_marketing | (is_sales_manager & manages_lead_team))),
)
rules.add_perm(
    "marketing.view_handoff_rules", is_admin | (is_active_user & (is_marketing | is_sales_manager))
)
rules.add_perm("marketing.change_handoff_rules", is_admin | (is_active_user & is_marketing))

# The Django admin: the rules for administrators, the handoffs for them to read.
for _action in ("view", "add", "change", "delete"):
    rules.add_perm(f"marketing.{_action}_leadassignmentrule", is_admin)
rules.add_perm("marketing.view_leadhandoff", is_admin)
if not rules.perm_exists("marketing"):  # the admin lists the app to whom has the module perm
    rules.add_perm("marketing", is_admin)
