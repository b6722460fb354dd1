"""Reads of sales competencies: the skills matrix and the users who match a rule's needs."""

from __future__ import annotations

from dataclasses import dataclass, field

import rules
from django.db.models import Count, QuerySet

from kreis.core.competencies.models import Competency, CompetencyKind, UserCompetency
from kreis.core.models import Membership, Role, Team, User


def competencies(*, kind: str | None = None, active_only: bool = True) -> QuerySet[Competency]:
    qs = Competency.objects.all()
    if active_only:
        qs = qs.filter(is_active=True)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("kind", "name", "pk")


def competency_get(*, pk: int) -> Competency:
    return Competency.objects.get(pk=pk)


def users_with_competencies(
    users: QuerySet[User], *, competency_ids: list[int], level: int
) -> QuerySet[User]:
    """Those of ``users`` who hold *every* one of ``competency_ids`` at ``level`` or higher
    (one subquery; no ids: ``users`` unchanged)."""
    ids = sorted(set(competency_ids))
    if not ids:
        return users
    holders = (
        UserCompetency.objects.filter(competency_id__in=ids, level__gte=level)
        .values("user_id")
        .annotate(n=Count("competency_id", distinct=True))
        .filter(n=len(ids))
        .values("user_id")
    )
    return users.filter(pk__in=holders)


@dataclass
class MatrixRow:
    user: User
    levels: list[int | None]
    editable: bool


@dataclass
class Matrix:
    competencies: list[Competency]
    rows: list[MatrixRow]
    teams: list[Team]
    team: Team | None = None
    kind: str = ""
    groups: list[tuple[str, int]] = field(default_factory=list)  # (kind label, columns)


MATRIX_ROLES = (Role.SALES_REP, Role.SALES_MANAGER, Role.SERVICE_AGENT, Role.MARKETING, Role.ADMIN)


def matrix_users(*, team: Team | None = None) -> QuerySet[User]:
    users = User.objects.filter(is_active=True, role__in=MATRIX_ROLES)
    if team is not None:
        users = users.filter(pk__in=Membership.objects.filter(team=team).values("user_id"))
    return users.order_by("last_name", "first_name", "username", "pk")


def skills_matrix(*, viewer: User, team: Team | None = None, kind: str = "") -> Matrix:
    """Users × competencies with each cell's level, and which rows the viewer may change.
    Four queries whatever the size: competencies, users, levels, teams (+ managed teams)."""
    columns = list(competencies(kind=kind or None))
    users = list(matrix_users(team=team))
    cells = {
        (uc["user_id"], uc["competency_id"]): uc["level"]
        for uc in UserCompetency.objects.filter(
            user__in=[u.pk for u in users], competency__in=[c.pk for c in columns]
        ).values("user_id", "competency_id", "level")
    }
    editable_ids = editable_user_ids(viewer=viewer, user_ids=[u.pk for u in users])
    rows = [
        MatrixRow(
            user=user,
            levels=[cells.get((user.pk, c.pk)) for c in columns],
            editable=user.pk in editable_ids,
        )
        for user in users
    ]
    labels = dict(CompetencyKind.choices)
    groups: list[tuple[str, int]] = []
    for column in columns:
        label = str(labels[column.kind])
        if groups and groups[-1][0] == label:
            groups[-1] = (label, groups[-1][1] + 1)
        else:
            groups.append((label, 1))
    return Matrix(
        competencies=columns,
        rows=rows,
        teams=list(Team.objects.order_by("name")),
        team=team,
        kind=kind,
        groups=groups,
    )


def editable_user_ids(*, viewer: User, user_ids: list[int]) -> set[int]:
    """Which of these users' levels the viewer may change (one query for a manager)."""
    if not viewer.is_active or viewer.is_read_only:
        return set()
    if viewer.is_admin:
        return set(user_ids)
    ids = {viewer.pk} & set(user_ids)
    if viewer.role == Role.SALES_MANAGER and viewer.managed_team_ids():
        ids |= set(
            Membership.objects.filter(
                team_id__in=viewer.managed_team_ids(), user_id__in=user_ids
            ).values_list("user_id", flat=True)
        )
    return ids


def user_levels(*, user: User) -> dict[int, int]:
    return dict(UserCompetency.objects.filter(user=user).values_list("competency_id", "level"))


def user_get_for_competencies(*, viewer: User, pk: int, write: bool = False) -> User:
    """A user whose competencies the viewer may see (or change); 404 otherwise."""
    from django.http import Http404

    user = User.objects.filter(pk=pk).first()
    if user is None or not rules.has_perm("core.view_competencies", viewer):
        raise Http404
    if write and not rules.has_perm("core.change_user_competencies", viewer, user):
        raise Http404
    return user
