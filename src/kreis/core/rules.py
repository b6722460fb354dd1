"""Object-level permission predicates (django-rules).

Records with an ``owner`` and a ``team`` (parties, leads, deals, …) follow one rule set:
administrators see and change everything; everyone else sees what they own and what belongs to
one of their teams; read-only users see the same but change nothing. A team's managers manage
its members. Who may give a record to whom is not a predicate here: every service calls
``kreis.core.services.check_assignment``, which needs the new owner and team as well.
"""

from __future__ import annotations

import rules


@rules.predicate
def is_admin(user) -> bool:
    return bool(user and user.is_authenticated and user.is_admin)


@rules.predicate
def is_read_only(user) -> bool:
    return bool(user and user.is_authenticated and user.is_read_only)


@rules.predicate
def is_owner(user, obj) -> bool:
    owner_id = getattr(obj, "owner_id", None) or getattr(obj, "user_id", None)
    return obj is not None and owner_id is not None and owner_id == user.pk


@rules.predicate
def is_in_team(user, obj) -> bool:
    team_id = getattr(obj, "team_id", None)
    return team_id is not None and user.is_authenticated and team_id in user.team_ids()


@rules.predicate
def is_team_manager(user, obj) -> bool:
    """The user manages the object's team (or, for a team itself, that team)."""
    from kreis.core.models import Team

    team_id = obj.pk if isinstance(obj, Team) else getattr(obj, "team_id", None)
    return team_id is not None and user.is_authenticated and team_id in user.managed_team_ids()


@rules.predicate
def is_team_member(user, team) -> bool:
    return team is not None and user.is_authenticated and team.pk in user.team_ids()


is_active_user = rules.is_active

# Records owned by a user and a team.
rules.add_perm("core.view_record", is_admin | (is_active_user & (is_owner | is_in_team)))
rules.add_perm(
    "core.change_record", is_admin | (is_active_user & ~is_read_only & (is_owner | is_in_team))
)

# Teams.
rules.add_perm("core.view_team", is_admin | (is_active_user & is_team_member))
rules.add_perm("core.change_team", is_admin | (is_active_user & is_team_manager))
rules.add_perm("core.add_team", is_admin)
rules.add_perm("core.delete_team", is_admin)

# Users and roles.
rules.add_perm("core.manage_users", is_admin)

# Personal API keys and notifications belong to their user.
rules.add_perm("core.change_apikey", is_admin | (is_active_user & is_owner))
rules.add_perm("core.change_notification", is_active_user & is_owner)
