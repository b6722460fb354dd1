"""Who may change the catalogue: administrators and sales managers (django-rules).

Transactions follow the owner/team rules of ``core.view_record`` and ``core.change_record``.
"""

from __future__ import annotations

import rules

from kreis.core.models import Role
from kreis.core.rules import is_active_user, is_admin, is_read_only


@rules.predicate
def is_sales_manager(user) -> bool:
    return bool(user and user.is_authenticated and user.role == Role.SALES_MANAGER)


rules.add_perm(
    "commerce.manage_products", is_admin | (is_active_user & ~is_read_only & is_sales_manager)
)
