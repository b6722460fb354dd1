"""Who may do what with mailings (django-rules), as in the rest of lead management
(``kreis.marketing.rules``): administrators and marketing users create and send mailings —
a marketing user those he owns, those of his teams and those nobody owns; sales managers and
read-only users see mailings and their results without changing them; nobody else sees them.
The suppression list is kept by administrators and marketing users."""

from __future__ import annotations

import rules

from kreis.core.rules import is_active_user, is_admin, is_in_team, is_owner
from kreis.marketing.rules import has_no_owner, is_marketing, sees_marketing

rules.add_perm("mailings.view", is_admin | sees_marketing)
rules.add_perm("mailings.add", is_admin | (is_active_user & is_marketing))
rules.add_perm("mailings.view_record", is_admin | sees_marketing)
rules.add_perm(
    "mailings.change_record",
    is_admin | (is_active_user & is_marketing & (is_owner | is_in_team | has_no_owner)),
)
rules.add_perm("mailings.manage_suppressions", is_admin | (is_active_user & is_marketing))
