"""Who sees and handles complaint cases (django-rules predicates; ``queries.visible_cases`` is
the same rule as a query).

- Administrators and sales managers see and handle every case ("managers see all").
- Everyone else sees the cases they own, the cases of their teams (service agents: their own
  and their team's cases) and the cases of the customers they may see themselves (a sales rep
  sees the complaints of his customers, as he sees their parties) — reading only.
- Handling a case (transitions, notes, replies, assignment) needs ownership or the case's
  team; read-only users handle nothing.
- Whoever sees a case sees the name of its customer (and the address replies go to), even
  without access to the customer's record: an agent cannot handle a complaint without knowing
  who complains. The link to the record follows the parties' own rule ("Hidden party").
"""

from __future__ import annotations

import rules

from kreis.core.models import Role
from kreis.core.rules import is_active_user, is_admin, is_in_team, is_owner, is_read_only


@rules.predicate
def sees_all_cases(user) -> bool:
    return bool(
        user
        and user.is_authenticated
        and user.is_active
        and (user.is_admin or user.role == Role.SALES_MANAGER)
    )


@rules.predicate
def sees_the_customer(user, case) -> bool:
    party = getattr(case, "party", None)
    return party is not None and user.has_perm("core.view_record", party)


rules.add_perm(
    "service.view_case",
    is_admin | (is_active_user & (sees_all_cases | is_owner | is_in_team | sees_the_customer)),
)
rules.add_perm(
    "service.change_case",
    is_admin | (is_active_user & ~is_read_only & (sees_all_cases | is_owner | is_in_team)),
)


# Improvement actions (information usage): every member of staff sees them and their effect;
# service agents, sales managers and administrators plan them; an action's owner changes it.
@rules.predicate
def plans_improvements(user) -> bool:
    return bool(
        user
        and user.is_authenticated
        and user.is_active
        and not user.is_read_only
        and (user.is_admin or user.role in (Role.SALES_MANAGER, Role.SERVICE_AGENT))
    )


rules.add_perm("service.view_improvementaction", is_admin | is_active_user)
rules.add_perm("service.add_improvementaction", plans_improvements)
rules.add_perm(
    "service.change_improvementaction",
    plans_improvements | (is_active_user & ~is_read_only & is_owner),
)

# The complaint configuration (categories, root causes, SLA policies, assignment rules, e-mail
# templates): administrators, in the Django admin and through /api/v1/cases/config/…; a
# superuser or a group with the model permissions may too (Django's ModelBackend).
for _model in ("casecategory", "rootcause", "slapolicy", "assignmentrule", "mailtemplate"):
    for _action in ("view", "add", "change", "delete"):
        rules.add_perm(f"service.{_action}_{_model}", is_admin)
# The Django admin lists the app's models only to whom has the module permission.
rules.add_perm("service", is_admin)

# The complaint mailboxes (IMAP, with their encrypted passwords): administrators, in the
# Django admin.
for _action in ("view", "add", "change", "delete"):
    rules.add_perm(f"service.{_action}_complaintmailbox", is_admin)

# The complaint settings (the public form's options, the hourly rate, the rating link's days):
# administrators, in the Django admin and through /api/v1/cases/config/settings. There is one
# row: nobody adds or deletes it (the admin refuses both).
for _action in ("view", "change"):
    rules.add_perm(f"service.{_action}_servicesettings", is_admin)

# The complaint reports' subscriptions (administrators subscribe users who see every case) and
# the archive of sent reports (read and delete only): administrators, in the Django admin.
for _action in ("view", "add", "change", "delete"):
    rules.add_perm(f"service.{_action}_reportsubscription", is_admin)
for _action in ("view", "delete"):
    rules.add_perm(f"service.{_action}_complaintreport", is_admin)
