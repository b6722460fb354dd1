"""Who works in lead management (django-rules predicates).

- Administrators and marketing users run it: they create campaigns, segments, web forms and
  content offers. A marketing user changes those he owns, those of his teams and those nobody
  owns; administrators change everything.
- Sales managers and read-only users see lead management (funnels, segments, forms, consents)
  without changing it; sales managers also see the handoff report of their teams.
- Settings of lead management (MQL threshold, first-contact SLA, tracking retention, the
  predictive model) are for administrators.
- Consents are part of the party or lead they belong to: whoever sees that record sees its
  consent history; recording or withdrawing one for somebody needs the right to change it.
"""

from __future__ import annotations

import rules

from kreis.core.models import Role
from kreis.core.rules import is_active_user, is_admin, is_in_team, is_owner


@rules.predicate
def is_marketing(user) -> bool:
    return bool(user and user.is_authenticated and user.role == Role.MARKETING)


@rules.predicate
def sees_marketing(user) -> bool:
    return bool(
        user
        and user.is_authenticated
        and user.is_active
        and (user.is_admin or user.role in (Role.MARKETING, Role.SALES_MANAGER, Role.READ_ONLY))
    )


@rules.predicate
def has_no_owner(user, obj) -> bool:
    return obj is not None and getattr(obj, "owner_id", None) is None


# The area as a whole (menu, lists, reports), and creating new records in it.
rules.add_perm("marketing.view", is_admin | sees_marketing)
rules.add_perm("marketing.add", is_admin | (is_active_user & is_marketing))
# One campaign, segment, web form or content offer.
rules.add_perm("marketing.view_record", is_admin | sees_marketing)
rules.add_perm(
    "marketing.change_record",
    is_admin | (is_active_user & is_marketing & (is_owner | is_in_team | has_no_owner)),
)
# Settings and the predictive model.
rules.add_perm("marketing.configure", is_admin)
