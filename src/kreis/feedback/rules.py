"""Who may do what with surveys (django-rules).

Marketing, sales managers and administrators manage surveys (questions, phases, invitations,
reports); service agents may also enter answers taken in person, by phone or in writing. Every
active user who is not a sales rep may read a survey's analysis. Which respondent stands behind
an answer is shown only to who may see that party (``core.view_record``).
"""

from __future__ import annotations

import rules

from kreis.core.models import Role
from kreis.core.rules import is_active_user, is_admin

MANAGING_ROLES = {Role.MARKETING, Role.SALES_MANAGER}


@rules.predicate
def manages_surveys(user) -> bool:
    return bool(user and user.is_authenticated and user.role in MANAGING_ROLES)


@rules.predicate
def is_service_agent(user) -> bool:
    return bool(user and user.is_authenticated and user.role == Role.SERVICE_AGENT)


@rules.predicate
def is_read_only_role(user) -> bool:
    return bool(user and user.is_authenticated and user.role == Role.READ_ONLY)


can_manage = is_admin | (is_active_user & manages_surveys)
can_enter = can_manage | (is_active_user & is_service_agent)

rules.add_perm("feedback.manage_survey", can_manage)
rules.add_perm("feedback.enter_answers", can_enter)
rules.add_perm("feedback.view_survey", can_enter | (is_active_user & is_read_only_role))
