"""Who may do what with prices (django-rules).

Sales managers and administrators own price lists, discount rules, discount limits and the
approvals; every active user sees the price lists and rules (a rep quotes from them). A quote
follows its deal: who sees the deal sees its quotes, who may change the deal works on them.
"""

from __future__ import annotations

import rules

from kreis.core.models import Role
from kreis.core.rules import is_active_user, is_admin, is_read_only


@rules.predicate
def is_sales_manager(user) -> bool:
    return bool(user and user.is_authenticated and user.role == Role.SALES_MANAGER)


rules.add_perm("pricing.view", is_active_user)
rules.add_perm("pricing.manage", is_admin | (is_active_user & ~is_read_only & is_sales_manager))
