"""Writes of the forecast: a rep submits a call for a period, a manager adjusts it (or the
team's total) with a note. Each is a new ``ForecastSnapshot``; none is ever changed, so the
snapshots are the forecast's history."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from kreis.core.models import Membership, Team, User
from kreis.sales.forecast.queries import category_sums
from kreis.sales.models import ForecastSnapshot, SnapshotKind
from kreis.sales.periods import Period


def _amount(value: Any) -> Decimal:
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError({"forecast": [_("Enter a number, e.g. 120000.")]}) from None
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e12"):
        raise ValidationError({"forecast": [_("Enter a forecast of zero or more.")]})
    return amount.quantize(Decimal("0.01"))


def _snapshot(
    *,
    kind: str,
    rep: User | None,
    team: Team,
    period: Period,
    forecast: Any,
    note: str,
    actor: User | None,
) -> ForecastSnapshot:
    if rep is not None:
        sums = category_sums(period=period, owner_ids=[rep.pk]).get(rep.pk)
    else:
        ids = list(Membership.objects.filter(team=team).values_list("user_id", flat=True))
        all_sums = category_sums(period=period, owner_ids=ids)
        from kreis.sales.forecast.queries import CategorySums

        sums = CategorySums()
        for s in all_sums.values():
            sums += s
    snapshot = ForecastSnapshot(
        kind=kind,
        user=rep,
        team=team,
        period_kind=period.kind,
        period_start=period.start,
        period_end=period.end,
        forecast=_amount(forecast),
        note=(note or "").strip()[:500],
        created_by=actor,
    )
    if sums is not None:
        snapshot.pipeline_amount = sums.pipeline
        snapshot.best_case_amount = sums.best_case
        snapshot.commit_amount = sums.commit
        snapshot.closed_amount = sums.closed
    snapshot.full_clean(exclude=["user", "team", "created_by"])
    snapshot.save()
    return snapshot


@transaction.atomic
def forecast_submit(
    *,
    actor: User,
    period: Period,
    forecast: Any,
    note: str = "",
    team: Team | None = None,
) -> ForecastSnapshot:
    """The actor's own call for the period, with their deals' sums per category as they are
    now. ``team``: the team it rolls up to (default: the actor's first team)."""
    if actor.is_read_only or not actor.is_active:
        raise PermissionDenied
    if team is None:
        first = Membership.objects.filter(user=actor).order_by("team_id").first()
        if first is None:
            raise ValidationError(
                {"team_id": [_("You belong to no team: a forecast rolls up to a team.")]}
            )
        team = first.team
    elif team.pk not in actor.team_ids():
        raise ValidationError({"team_id": [_("Choose one of your teams.")]})
    return _snapshot(
        kind=SnapshotKind.SUBMISSION,
        rep=actor,
        team=team,
        period=period,
        forecast=forecast,
        note=note,
        actor=actor,
    )


@transaction.atomic
def forecast_adjust(
    *,
    actor: User,
    team: Team,
    period: Period,
    forecast: Any,
    note: str,
    rep: User | None = None,
) -> ForecastSnapshot:
    """A manager's adjustment of a rep's call (``rep``) or of the team's total (no rep). The
    note (why) is required."""
    if not actor.is_active or actor.is_read_only:
        raise PermissionDenied
    if not (actor.is_admin or team.pk in actor.managed_team_ids()):
        raise PermissionDenied
    if not (note or "").strip():
        raise ValidationError({"note": [_("Say why you adjust the forecast.")]})
    if rep is not None and not Membership.objects.filter(team=team, user=rep).exists():
        raise ValidationError({"user_id": [_("The rep is not a member of the team.")]})
    return _snapshot(
        kind=SnapshotKind.ADJUSTMENT,
        rep=rep,
        team=team,
        period=period,
        forecast=forecast,
        note=note,
        actor=actor,
    )
