"""Reads of deals and pipelines, permission-aware: the board, lists, API and search use these."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import (
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    Prefetch,
    Q,
    QuerySet,
    Sum,
    Window,
)
from django.db.models.functions import RowNumber, TruncMonth
from django.http import Http404
from django.utils import timezone

from kreis.core.customfields import FORM_PREFIX, filter_by_custom
from kreis.core.models import User
from kreis.core.queries import visible_records
from kreis.sales.models import Deal, DealLine, LostReason, Pipeline, Stage, StageChange, StageKind

BOARD_LIMIT = 20  # cards per column; the rest is counted ("+ 120 more") and found in the list
BOARD_ORDER = ("position", "-pk")
CENT = Decimal("0.01")
SORTS = {
    "-created": ("-created_at", "-pk"),
    "created": ("created_at", "pk"),
    "name": ("name", "pk"),
    "-name": ("-name", "-pk"),
    "-amount": ("-amount", "-pk"),
    "amount": ("amount", "pk"),
    "expected_close": (F("expected_close").asc(nulls_last=True), "pk"),
    "-expected_close": (F("expected_close").desc(nulls_last=True), "-pk"),
    "-updated": ("-updated_at", "-pk"),
    "stage": ("pipeline__position", "stage__position", "-pk"),
}
STATUSES = (StageKind.OPEN, StageKind.WON, StageKind.LOST)
WEIGHTED = ExpressionWrapper(
    F("amount") * F("stage__probability"),
    output_field=DecimalField(max_digits=20, decimal_places=2),
)


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _alive_visible(user: User | None) -> QuerySet[Deal]:
    qs = Deal.objects.filter(deleted_at__isnull=True)
    return qs if user is None else visible_records(qs, user=user)


def deal_list_for_user(
    *,
    user: User,
    pipeline_id: int | None = None,
    stage_id: int | None = None,
    owner_id: int | None = None,
    team_id: int | None = None,
    organization_id: int | None = None,
    status: str = "",
    search: str = "",
    tag: str = "",
    close_from: dt.date | None = None,
    close_to: dt.date | None = None,
    closed_from: dt.date | None = None,
    closed_to: dt.date | None = None,
    channel: str = "",
    forecast_category: str = "",
    custom: Any = None,
    sort: str = "-created",
) -> QuerySet[Deal]:
    """Deals the user may see, filtered; ``custom`` is a query dict with ``cf_<key>`` filters."""
    qs = _alive_visible(user)
    if pipeline_id:
        qs = qs.filter(pipeline_id=pipeline_id)
    if stage_id:
        qs = qs.filter(stage_id=stage_id)
    if owner_id:
        qs = qs.filter(owner_id=owner_id)
    if team_id:
        qs = qs.filter(team_id=team_id)
    if organization_id:
        qs = qs.filter(organization_id=organization_id)
    if status in STATUSES:
        qs = qs.filter(stage__kind=status)
    if search:
        qs = qs.filter(
            Q(name__icontains=search)
            | Q(organization__name__icontains=search)
            | Q(contact__name__icontains=search)
            | Q(external_id=search)
        )
    if tag:
        qs = qs.filter(tags__name__iexact=tag)
    if close_from:
        qs = qs.filter(expected_close__gte=close_from)
    if close_to:
        qs = qs.filter(expected_close__lte=close_to)
    if closed_from:
        qs = qs.filter(closed_at__gte=_day_start(closed_from))
    if closed_to:
        qs = qs.filter(closed_at__lt=_day_start(closed_to + dt.timedelta(days=1)))
    if channel == "none":
        qs = qs.filter(channel="")
    elif channel:
        qs = qs.filter(channel=channel)
    if forecast_category:
        qs = qs.filter(forecast_category=forecast_category)
    if custom is not None and any(str(key).startswith(FORM_PREFIX) for key in custom):
        qs = filter_by_custom(qs, "deal", custom)  # reads the custom fields: only when asked
    return (
        qs.select_related("pipeline", "stage", "organization", "contact", "owner", "team")
        .prefetch_related("tags")
        .order_by(*SORTS.get(sort, SORTS["-created"]))
    )


# What a row of the deal list shows (sales.templatetags.deal_board): the deal with its custom
# values, its organisation's name and the fields the visibility rule reads, its owner's name.
# Pipeline and stage come from the pipelines the page has loaded anyway (``with_stages``).
LIST_ROW_FIELDS = (
    "name",
    "pipeline_id",
    "stage_id",
    "amount",
    "currency",
    "expected_close",
    "custom",
    "organization__name",
    "organization__owner_id",
    "organization__team_id",
    "owner__username",
    "owner__first_name",
    "owner__last_name",
)


def deal_list_rows(deals: QuerySet[Deal]) -> QuerySet[Deal]:
    """``deal_list_for_user`` narrowed to what the list's rows show (pair with ``with_stages``)."""
    return deals.select_related(None).select_related("organization", "owner").only(*LIST_ROW_FIELDS)


def with_stages(deals, pipelines: list[Pipeline]) -> list[Deal]:
    """The deals with their pipeline and stage set from ``pipelines`` (with their stages
    prefetched, as ``pipeline_list`` gives them): no join or query for them per row."""
    by_pk = {p.pk: p for p in pipelines}
    stages = {s.pk: s for p in pipelines for s in p.stages.all()}
    deals = list(deals)
    for deal in deals:
        if deal.pipeline_id in by_pk and deal.stage_id in stages:
            deal.pipeline = by_pk[deal.pipeline_id]
            deal.stage = stages[deal.stage_id]
    return deals


def deals_for_bulk(*, user: User, ids: list[int]) -> list[Deal]:
    """The ticked deals; one the user may not see makes the whole selection not found (404)."""
    wanted = set(ids)
    deals = list(deal_list_for_user(user=user).filter(pk__in=wanted))
    if len(deals) != len(wanted):
        raise Http404
    return deals


def deal_get_for_user(*, user: User, pk: int, write: bool = False, details: bool = True) -> Deal:
    """A deal the user may see (or change, with ``write``); 404 otherwise. Without
    ``details`` its tags and lines are not loaded (a move needs neither: two queries less)."""
    qs = Deal.objects.filter(pk=pk, deleted_at__isnull=True).select_related(
        "pipeline", "stage", "organization", "contact", "owner", "team", "lost_reason"
    )
    if details:
        qs = qs.prefetch_related(
            "tags", Prefetch("lines", queryset=DealLine.objects.select_related("product"))
        )
    deal = qs.first()
    perm = "core.change_record" if write else "core.view_record"
    if deal is None or not user.has_perm(perm, deal):
        raise Http404
    return deal


def deal_stage_history(*, deal: Deal) -> QuerySet[StageChange]:
    return deal.stage_changes.select_related("from_stage", "to_stage", "changed_by")


# --- Pipelines ------------------------------------------------------------------------------


def pipeline_list(*, active_only: bool = False) -> QuerySet[Pipeline]:
    """Pipelines are configuration: everyone sees them (deals in them stay permission-bound)."""
    qs = Pipeline.objects.prefetch_related(
        Prefetch("stages", queryset=Stage.objects.order_by("position", "pk"))
    )
    return qs.filter(is_active=True) if active_only else qs


def pipeline_get(*, pk: int, user: User | None = None, write: bool = False) -> Pipeline:
    if write and user is not None and not user.is_admin:
        raise Http404
    pipeline = pipeline_list().filter(pk=pk).first()
    if pipeline is None:
        raise Http404
    return pipeline


def stage_get(*, pk: int, user: User | None = None, write: bool = False) -> Stage:
    if write and user is not None and not user.is_admin:
        raise Http404
    stage = Stage.objects.select_related("pipeline").filter(pk=pk).first()
    if stage is None:
        raise Http404
    return stage


def lost_reason_list(*, active_only: bool = False) -> QuerySet[LostReason]:
    qs = LostReason.objects.all()
    return qs.filter(is_active=True) if active_only else qs


def lost_reason_get(*, pk: int, user: User | None = None, write: bool = False) -> LostReason:
    if write and user is not None and not user.is_admin:
        raise Http404
    reason = LostReason.objects.filter(pk=pk).first()
    if reason is None:
        raise Http404
    return reason


# --- The board ------------------------------------------------------------------------------


@dataclass
class BoardColumn:
    stage: Stage
    deals: list[Deal] = field(default_factory=list)
    count: int = 0
    amount: Decimal = Decimal(0)
    weighted: Decimal = Decimal(0)

    @property
    def more(self) -> int:
        return max(0, self.count - len(self.deals))


def _board_deals(user: User | None, owner_id: int | None, search: str) -> QuerySet[Deal]:
    qs = _alive_visible(user)
    if owner_id:
        qs = qs.filter(owner_id=owner_id)
    if search:
        qs = qs.filter(Q(name__icontains=search) | Q(organization__name__icontains=search))
    return qs


# What a card shows (sales.templatetags.deal_board): the deal, its organisation's name and the
# fields the visibility rule reads, its owner's name. Loading no more keeps a board of 120 cards
# from building 360 full model rows (parties carry their analytics and custom fields).
CARD_FIELDS = (
    "name",
    "stage_id",
    "amount",
    "currency",
    "expected_close",
    "forecast_category",
    "updated_at",
    "organization__name",
    "organization__owner_id",
    "organization__team_id",
    "owner__username",
    "owner__first_name",
    "owner__last_name",
)


def _column_sums(column: BoardColumn, count, total, weighted) -> None:
    column.count = count or 0
    column.amount = Decimal(total or 0).quantize(CENT)
    column.weighted = (Decimal(weighted or 0) / 100).quantize(CENT)


def board_for_user(
    *,
    user: User,
    pipeline: Pipeline,
    owner_id: int | None = None,
    search: str = "",
    stage_ids: list[int] | None = None,
    limit: int = BOARD_LIMIT,
) -> list[BoardColumn]:
    """One column per stage of ``pipeline`` with the first ``limit`` visible deals (in board
    order), the number of all of them and their amount and weighted amount.

    Two queries, however many stages and deals: the first numbers the visible deals per stage
    with a window function and keeps the first ``limit`` of each, each row carrying its
    stage's count and sums (window aggregates over the same partition); the second loads
    those cards. A stage without visible deals has no row and stays at zero. With ``limit``
    0 (only the sums, after a move) it is one grouped query.
    """
    stages = [s for s in pipeline.stages.all() if stage_ids is None or s.pk in stage_ids]
    columns = {s.pk: BoardColumn(stage=s) for s in stages}
    qs = _board_deals(user, owner_id, search).filter(stage__in=list(columns)).order_by()
    if limit <= 0:
        sums = qs.values("stage_id").annotate(
            count=Count("pk"), total=Sum("amount"), weighted=Sum(WEIGHTED)
        )
        for row in sums:
            _column_sums(columns[row["stage_id"]], row["count"], row["total"], row["weighted"])
        return list(columns.values())
    per_stage = {"partition_by": [F("stage_id")]}
    # The window numbers only narrow rows (id, stage, sums); the cards' joins are made for the
    # chosen ids alone, not for every deal of the pipeline.
    chosen = (
        qs.annotate(
            rank=Window(RowNumber(), order_by=[F("position").asc(), F("pk").desc()], **per_stage),
            stage_count=Window(Count("pk"), **per_stage),
            stage_total=Window(Sum("amount"), **per_stage),
            stage_weighted=Window(Sum(WEIGHTED), **per_stage),
        )
        .filter(rank__lte=limit)
        .values_list("pk", "stage_id", "stage_count", "stage_total", "stage_weighted")
    )
    ids = []
    for pk, stage_id, count, total, weighted in chosen:
        ids.append(pk)
        column = columns[stage_id]
        if not column.count:
            _column_sums(column, count, total, weighted)
    if not ids:
        return list(columns.values())
    cards = (
        Deal.objects.filter(pk__in=ids)
        .select_related("organization", "owner")
        .only(*CARD_FIELDS)
        .order_by("stage_id", *BOARD_ORDER)
    )
    for deal in cards:
        deal.stage = columns[deal.stage_id].stage  # the cards need the stage; no query per card
        columns[deal.stage_id].deals.append(deal)
    return list(columns.values())


def board_column_for_placement(*, user: User | None, stage: Stage) -> list[Deal]:
    """The column as the user sees it (only positions), to place a dropped card between the
    same neighbours the user saw."""
    return list(
        _alive_visible(user).filter(stage=stage).only("pk", "position").order_by(*BOARD_ORDER)
    )


# --- Forecast -------------------------------------------------------------------------------


def _month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _as_date(value: dt.date | dt.datetime) -> dt.date:
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value


def forecast_for_user(
    *,
    user: User,
    pipeline_id: int | None = None,
    owner_id: int | None = None,
    start: dt.date | None = None,
    months: int = 12,
) -> dict[str, Any]:
    """The weighted forecast per month: for open deals, Σ amount × stage probability ÷ 100,
    by the month of their expected close; beside it the amount won per month (by close date).

    Defaults to the twelve months from five months ago, so won history and the months ahead
    show together. Open deals without an expected close are summed separately (``undated``).
    """
    today = timezone.localdate()
    first = _month_start(start or _add_months(today, -5))
    end = _add_months(first, months)
    base = _alive_visible(user)
    if pipeline_id:
        base = base.filter(pipeline_id=pipeline_id)
    if owner_id:
        base = base.filter(owner_id=owner_id)
    rows = {
        _add_months(first, i): {
            "month": _add_months(first, i),
            "open_count": 0,
            "open_amount": Decimal(0),
            "weighted": Decimal(0),
            "won_count": 0,
            "won_amount": Decimal(0),
        }
        for i in range(months)
    }
    open_deals = base.filter(stage__kind=StageKind.OPEN)
    for row in (
        open_deals.filter(expected_close__gte=first, expected_close__lt=end)
        .order_by()
        .values(month=TruncMonth("expected_close"))
        .annotate(count=Count("pk"), total=Sum("amount"), weighted=Sum(WEIGHTED))
    ):
        target = rows[_month_start(_as_date(row["month"]))]
        target["open_count"] = row["count"]
        target["open_amount"] = Decimal(row["total"] or 0).quantize(CENT)
        target["weighted"] = (Decimal(row["weighted"] or 0) / 100).quantize(CENT)
    zone = timezone.get_current_timezone()
    since = dt.datetime.combine(first, dt.time.min, tzinfo=zone)
    until = dt.datetime.combine(end, dt.time.min, tzinfo=zone)
    for row in (
        base.filter(stage__kind=StageKind.WON, closed_at__gte=since, closed_at__lt=until)
        .order_by()
        .values(month=TruncMonth("closed_at"))
        .annotate(count=Count("pk"), amount=Sum("amount"))
    ):
        target = rows[_month_start(_as_date(row["month"]))]
        target["won_count"] = row["count"]
        target["won_amount"] = Decimal(row["amount"] or 0).quantize(CENT)
    undated = (
        open_deals.filter(expected_close__isnull=True)
        .order_by()
        .aggregate(count=Count("pk"), total=Sum("amount"), weighted=Sum(WEIGHTED))
    )
    months_list = list(rows.values())
    return {
        "start": first,
        "end": end,
        "months": months_list,
        "total_weighted": sum((r["weighted"] for r in months_list), Decimal(0)),
        "total_open": sum((r["open_amount"] for r in months_list), Decimal(0)),
        "total_won": sum((r["won_amount"] for r in months_list), Decimal(0)),
        "undated_count": undated["count"] or 0,
        "undated_amount": Decimal(undated["total"] or 0).quantize(CENT),
        "undated_weighted": (Decimal(undated["weighted"] or 0) / 100).quantize(CENT),
    }
