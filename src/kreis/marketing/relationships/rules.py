"""Who works with relationship types (django-rules predicates).

Everyone who sees lead management (administrators, marketing, sales managers, read-only users)
sees the types and which customers have which. Relationship types decide who owns customers,
so administrators and sales managers keep and apply them (DOMAIN.md §6: sales management).
"""

from __future__ import annotations

import rules

from kreis.core.models import Role
from kreis.core.rules import is_active_user, is_admin
from kreis.marketing.rules import sees_marketing


@rules.predicate
def is_sales_manager(user) -> bool:
    return bool(user and user.is_authenticated and user.role == Role.SALES_MANAGER)


rules.add_perm("marketing.view_relationship_types", is_admin | sees_marketing)
rules.add_perm(
    "marketing.change_relationship_types", is_admin | (is_active_user & is_sales_manager)
)

for _action in ("view", "add", "change", "delete"):
    rules.add_perm(f"marketing.{_action}_relationshiptype", is_admin)
rules.add_perm("marketing.view_partyrelationshiptype", is_admin)
