"""Writes of targets (quotas): create, change, delete, and the CSV import and export.

Sales managers plan the targets of the teams they manage (team targets, their reps' targets,
and region, channel or category targets of their team); administrators plan all, company-wide
ones (without a team) included. Everyone else reads.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from kreis.commerce.models import SalesChannel
from kreis.core.models import Membership, Team, User
from kreis.core.web import DefusingWriter
from kreis.sales.models import Target, TargetDimension, TargetMetric
from kreis.sales.periods import Period, period_from_key, period_of

CSV_COLUMNS = (
    "period",
    "metric",
    "dimension",
    "amount",
    "rep",
    "team",
    "region",
    "channel",
    "category",
    "currency",
    "note",
)
MAX_IMPORT_ROWS = 10_000
SUBJECT_FIELDS = {
    TargetDimension.REP: "user",
    TargetDimension.TEAM: "team",
    TargetDimension.REGION: "region",
    TargetDimension.CHANNEL: "channel",
    TargetDimension.CATEGORY: "category",
}


def can_plan_targets(user: User | None, team: Team | None) -> bool:
    """Whether ``user`` may create or change targets of ``team`` (``None``: company-wide)."""
    if user is None:
        return True  # the system: CLI and migrations
    if not user.is_authenticated or not user.is_active or user.is_read_only:
        return False
    if user.is_admin:
        return True
    return team is not None and team.pk in user.managed_team_ids()


def _clean(target: Target) -> None:
    """Keep only the subject field the dimension uses, check it, and refuse a duplicate."""
    errors: dict[str, list[str]] = {}
    if target.metric not in TargetMetric.values:
        errors["metric"] = [_("Choose revenue or quantity.")]
    if target.dimension not in TargetDimension.values:
        errors["dimension"] = [_("Choose rep, team, region, channel or product category.")]
    if errors:
        raise ValidationError(errors)
    target.region = (target.region or "").strip()
    target.category = (target.category or "").strip()
    target.channel = (target.channel or "").strip()
    target.currency = (target.currency or "EUR").strip().upper()
    target.note = (target.note or "").strip()
    dim = target.dimension
    if dim != TargetDimension.REP:
        target.user = None
    if dim != TargetDimension.REGION:
        target.region = ""
    if dim != TargetDimension.CHANNEL:
        target.channel = ""
    if dim != TargetDimension.CATEGORY:
        target.category = ""
    if dim == TargetDimension.REP:
        if target.user_id is None:
            errors["user_id"] = [_("Choose the sales rep.")]
        elif target.team_id is None:
            errors["team_id"] = [_("Choose the rep's team: its managers plan the target.")]
        elif not Membership.objects.filter(team_id=target.team_id, user_id=target.user_id).exists():
            errors["user_id"] = [_("The rep is not a member of the chosen team.")]
    elif dim == TargetDimension.TEAM and target.team_id is None:
        errors["team_id"] = [_("Choose the team.")]
    elif dim == TargetDimension.REGION and not target.region:
        errors["region"] = [_("Enter the region (the territory of the customers).")]
    elif dim == TargetDimension.CHANNEL and target.channel not in SalesChannel.values:
        errors["channel"] = [_("Choose direct, field sales, partner or online.")]
    elif dim == TargetDimension.CATEGORY and not target.category:
        errors["category"] = [_("Enter the product category.")]
    if target.amount is None or target.amount < 0:
        errors["amount"] = [_("Enter a target of zero or more.")]
    if errors:
        raise ValidationError(errors)
    target.full_clean(exclude=["user", "team", "created_by"], validate_unique=False)
    duplicate = Target.objects.filter(
        metric=target.metric,
        dimension=target.dimension,
        user_id=target.user_id,
        team_id=target.team_id,
        region__iexact=target.region,
        channel=target.channel,
        category__iexact=target.category,
        period_kind=target.period_kind,
        period_start=target.period_start,
    ).exclude(pk=target.pk)
    if duplicate.exists():
        raise ValidationError(
            {"period": [_("This target exists already for the period; change that one.")]}
        )


@transaction.atomic
def target_create(
    *,
    actor: User | None,
    metric: str,
    dimension: str,
    period: Period,
    amount: Decimal | int | str,
    user: User | None = None,
    team: Team | None = None,
    region: str = "",
    channel: str = "",
    category: str = "",
    currency: str = "EUR",
    note: str = "",
) -> Target:
    """A new target. For a rep target without a team, the rep's team the actor manages (or,
    for an administrator, the rep's first team)."""
    if dimension == TargetDimension.REP and team is None and user is not None:
        teams = Membership.objects.filter(user=user).order_by("team_id")
        if actor is not None and not actor.is_admin:
            teams = teams.filter(team_id__in=actor.managed_team_ids())
        first = teams.select_related("team").first()
        team = first.team if first else None
    if not can_plan_targets(actor, team):
        raise PermissionDenied
    target = Target(
        metric=metric,
        dimension=dimension,
        user=user,
        team=team,
        region=region,
        channel=channel,
        category=category,
        period_kind=period.kind,
        period_start=period.start,
        period_end=period.end,
        amount=_amount(amount),
        currency=currency,
        note=note,
        created_by=actor,
    )
    _clean(target)
    target.save()
    return target


@transaction.atomic
def target_update(*, actor: User | None, target: Target, **changes: Any) -> Target:
    """Change a target's amount, note, period or subject; the actor must plan its old and its
    new team."""
    if not can_plan_targets(actor, target.team):
        raise PermissionDenied
    allowed = {
        "metric",
        "dimension",
        "user",
        "team",
        "region",
        "channel",
        "category",
        "amount",
        "currency",
        "note",
        "period",
    }
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError({f: [_("This field cannot be changed.")] for f in sorted(unknown)})
    period = changes.pop("period", None)
    if period is not None:
        target.period_kind, target.period_start, target.period_end = (
            period.kind,
            period.start,
            period.end,
        )
    if "amount" in changes:
        changes["amount"] = _amount(changes["amount"])
    for field, value in changes.items():
        setattr(target, field, value)
    if not can_plan_targets(actor, target.team):
        raise PermissionDenied
    _clean(target)
    target.save()
    return target


@transaction.atomic
def target_delete(*, actor: User | None, target: Target) -> None:
    if not can_plan_targets(actor, target.team):
        raise PermissionDenied
    target.delete()


def _amount(value: Any) -> Decimal:
    try:
        amount = Decimal(str(value).strip().replace(" ", ""))
    except (InvalidOperation, ValueError):
        raise ValidationError({"amount": [_("Enter a number, e.g. 250000.")]}) from None
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e12"):
        raise ValidationError({"amount": [_("Enter a target of zero or more.")]})
    return amount.quantize(Decimal("0.01"))


# --- CSV ---------------------------------------------------------------------------------------


def target_rows(targets: Iterable[Target]) -> Iterable[list[str]]:
    """The targets in the columns ``import`` reads (period as 2026 / 2026-Q2 / 2026-03, the rep
    by user name, the team by name)."""
    for t in targets:
        yield [
            period_of(t).key,
            t.metric,
            t.dimension,
            f"{t.amount:.2f}",
            t.user.username if t.user_id else "",
            t.team.name if t.team_id else "",
            t.region,
            t.channel,
            t.category,
            t.currency,
            t.note,
        ]


def targets_to_csv(targets: Iterable[Target]) -> str:
    """The targets as CSV (header and ``target_rows``), formulas defused."""
    out = io.StringIO()
    writer = DefusingWriter(out)
    writer.writerow(CSV_COLUMNS)
    writer.writerows(target_rows(targets))
    return out.getvalue()


class ImportErrors(ValidationError):
    """Row-numbered errors of a CSV import (nothing was saved)."""


def _row_value(row: Mapping[str, str], key: str) -> str:
    return (row.get(key) or "").strip()


@transaction.atomic
def targets_import_csv(*, actor: User | None, text: str) -> dict[str, int]:
    """Create or update targets from CSV (the export's columns). A row whose target exists
    (same period, measure, dimension and subject) changes its amount, currency and note.
    All or nothing: one bad row and nothing is saved; the errors name row and column."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    try:
        fieldnames = reader.fieldnames
        rows = list(itertools.islice(reader, MAX_IMPORT_ROWS + 1))
    except csv.Error as exc:
        raise ImportErrors(
            {"file": [_("The file cannot be read as CSV: %(error)s") % {"error": exc}]}
        ) from None
    missing = {"period", "metric", "dimension", "amount"} - set(fieldnames or [])
    if missing:
        raise ImportErrors(
            {"file": [_("Columns missing: %(cols)s") % {"cols": ", ".join(sorted(missing))}]}
        )
    users = {u.username.casefold(): u for u in User.objects.filter(is_active=True)}
    teams = {t.name.casefold(): t for t in Team.objects.all()}
    errors: dict[str, list[str]] = {}
    created = updated = 0
    for number, row in enumerate(rows, start=2):
        if number - 1 > MAX_IMPORT_ROWS:
            errors["file"] = [_("At most %(n)s rows per file.") % {"n": MAX_IMPORT_ROWS}]
            break
        try:
            period = period_from_key(_row_value(row, "period"))
            metric, dimension = _row_value(row, "metric"), _row_value(row, "dimension")
            rep_name, team_name = _row_value(row, "rep"), _row_value(row, "team").lstrip("'")
            rep = users.get(rep_name.casefold()) if rep_name else None
            if rep_name and rep is None:
                raise ValidationError({"rep": [_("No active user has this user name.")]})
            team = teams.get(team_name.casefold()) if team_name else None
            if team_name and team is None:
                raise ValidationError({"team": [_("No team has this name.")]})
            values = {
                "metric": metric,
                "dimension": dimension,
                "user": rep,
                "team": team,
                "region": _row_value(row, "region").lstrip("'"),
                "channel": _row_value(row, "channel").lower(),
                "category": _row_value(row, "category").lstrip("'"),
            }
            existing = _find_existing(values, period)
            extra = {"amount": _row_value(row, "amount")}
            if _row_value(row, "currency"):
                extra["currency"] = _row_value(row, "currency")
            if "note" in row:
                extra["note"] = _row_value(row, "note").lstrip("'")
            with transaction.atomic():
                if existing is not None:
                    target_update(actor=actor, target=existing, **extra)
                    updated += 1
                else:
                    target_create(actor=actor, period=period, **values, **extra)
                    created += 1
        except PermissionDenied:
            errors[f"row {number}"] = [_("You may not plan targets for this team.")]
        except ValidationError as exc:
            details = exc.message_dict if hasattr(exc, "error_dict") else {"row": exc.messages}
            for field, messages in details.items():
                errors[f"row {number}: {field}"] = list(messages)
    if errors:
        transaction.set_rollback(True)
        raise ImportErrors(errors)
    return {"created": created, "updated": updated}


def _find_existing(values: dict[str, Any], period: Period) -> Target | None:
    dim = values["dimension"]
    if dim not in TargetDimension.values:
        return None
    qs = Target.objects.filter(
        metric=values["metric"],
        dimension=dim,
        period_kind=period.kind,
        period_start=period.start,
        team=values["team"] if dim != TargetDimension.REP or values["team"] else None,
    )
    if dim == TargetDimension.REP:
        qs = Target.objects.filter(
            metric=values["metric"],
            dimension=dim,
            period_kind=period.kind,
            period_start=period.start,
            user=values["user"],
        )
        if values["team"] is not None:
            qs = qs.filter(team=values["team"])
    elif dim == TargetDimension.REGION:
        qs = qs.filter(region__iexact=values["region"])
    elif dim == TargetDimension.CHANNEL:
        qs = qs.filter(channel=values["channel"])
    elif dim == TargetDimension.CATEGORY:
        qs = qs.filter(category__iexact=values["category"])
    return qs.first()
