"""API of the contribution margin accounting: /api/v1/analytics/margins, cost entries, rules."""

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import paginate

from kreis.activities.models import ActivityKind
from kreis.analytics.margin import accounting
from kreis.analytics.margin.models import CostBasis, CostCategory, CostLevel, CostRule
from kreis.core.api_support import (
    PROBLEM_RESPONSES,
    IdValue,
    Input,
    ObjectId,
    Pagination,
    Problem,
)
from kreis.parties.queries import party_get_for_user

router = Router(tags=["analytics"])

RESPONSES = {**PROBLEM_RESPONSES, 503: Problem}
Level = Literal[tuple(CostLevel.values)]  # type: ignore[valid-type]
Category = Literal[tuple(CostCategory.values)]  # type: ignore[valid-type]
Basis = Literal[tuple(CostBasis.values)]  # type: ignore[valid-type]
Kind = Literal[tuple(ActivityKind.values)]  # type: ignore[valid-type]
RankBy = Literal["net_revenue", "cm1", "cm2", "cm3", "cm4"]
Money = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)]
RuleAmount = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)]


def _period(start: dt.date | None, end: dt.date | None) -> tuple[dt.date, dt.date]:
    default_start, default_end = accounting.last_12_months(timezone.localdate())
    start, end = start or default_start, end or default_end
    errors = {
        name: f"Choose a day from {accounting.FIRST_DAY} to {accounting.LAST_DAY}."
        for name, day in (("start", start), ("end", end))
        if not accounting.FIRST_DAY <= day <= accounting.LAST_DAY
    }
    if not errors and end < start:
        errors["end"] = "The period cannot end before it starts."
    if errors:
        raise ValidationError(errors)
    return start, end


def _unavailable() -> HttpError:
    return HttpError(503, "The analytics warehouse is empty or being refreshed; try again shortly.")


# --- Margins ----------------------------------------------------------------------------------


class Figures(Schema):
    gross_revenue: float
    discounts: float
    returns: float
    net_revenue: float
    cogs: float
    cm1: float
    order_costs: float
    cm2: float
    relationship_costs: float
    cm3: float
    fixed_costs: float
    cm4: float


class PartyFigures(Figures):
    cm1_pct: float | None
    cm2_pct: float | None
    cm3_pct: float | None
    cm4_pct: float | None


class MarginRow(PartyFigures):
    party_id: int
    name: str
    rank: int
    share: float | None
    cumulative_share: float | None


class Totals(Figures):
    customers: int


class MarginRanking(Schema):
    start: dt.date
    end: dt.date
    level: str
    ascending: bool
    count: int
    page: int
    page_size: int
    totals: Totals
    items: list[MarginRow]


class Step(Schema):
    key: str
    label: str
    kind: str
    value: float
    start: float
    end: float


class CostPart(Schema):
    label: str
    level: str
    amount: float


class PartyMargin(Schema):
    party_id: int
    name: str
    start: dt.date
    end: dt.date
    figures: PartyFigures
    steps: list[Step]
    costs: list[CostPart]


@router.get(
    "/analytics/margins",
    response={200: MarginRanking, **RESPONSES},
    summary="Contribution margins I–IV of the visible customers, ranked",
    description="The customers you may see with revenue or costs in the period (default: the "
    "last 12 months), ranked by `level` (highest first unless `ascending`), with share and "
    "cumulative share of the level's total, and the totals of all of them.",
)
def margin_ranking(
    request: HttpRequest,
    start: dt.date | None = None,
    end: dt.date | None = None,
    level: RankBy = "cm4",
    ascending: bool = False,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
):
    start, end = _period(start, end)
    try:
        with accounting.warehouse_tables() as tables:
            visible = accounting.margins_for_user(tables, user=request.auth, start=start, end=end)
            totals = accounting.totals(visible).to_pyarrow().to_pylist()[0]
            ranked = accounting.ranking(visible, level=level, descending=not ascending)
            offset = (page - 1) * page_size
            items = ranked.limit(page_size, offset=offset).to_pyarrow().to_pylist()
    except accounting.WarehouseUnavailable as exc:
        raise _unavailable() from exc
    names = accounting.party_names([row["party_id"] for row in items])
    for row in items:
        row["name"] = names.get(row["party_id"], "")
    return {
        "start": start,
        "end": end,
        "level": level,
        "ascending": ascending,
        "count": totals["customers"],
        "page": page,
        "page_size": page_size,
        "totals": totals,
        "items": items,
    }


@router.get(
    "/analytics/margins/{int:party_id}",
    response={200: PartyMargin, **RESPONSES},
    summary="A customer's contribution margins as waterfall steps",
)
def margin_party(
    request: HttpRequest,
    party_id: ObjectId,
    start: dt.date | None = None,
    end: dt.date | None = None,
):
    party = party_get_for_user(user=request.auth, pk=party_id)
    start, end = _period(start, end)
    try:
        with accounting.warehouse_tables() as tables:
            row, breakdown = accounting.party_margin(
                tables, party_id=party.pk, start=start, end=end
            )
    except accounting.WarehouseUnavailable as exc:
        raise _unavailable() from exc
    return {
        "party_id": party.pk,
        "name": party.name,
        "start": start,
        "end": end,
        "figures": row,
        "steps": accounting.waterfall(row),
        "costs": breakdown,
    }


# --- Cost entries -----------------------------------------------------------------------------


class CostEntryOut(Schema):
    id: int
    party_id: int
    date: dt.date
    level: str
    category: str
    amount: Decimal
    note: str
    created_by_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime


class CostEntryIn(Input):
    party_id: IdValue
    date: dt.date
    category: Category
    level: Level | Literal[""] = Field(
        "", description="Follows from the category; needed only for category `other`."
    )
    amount: Money
    note: str = Field("", max_length=500)


@router.get("/analytics/cost-entries", response=list[CostEntryOut], summary="Cost entries")
@paginate(Pagination)
def cost_entry_list(
    request: HttpRequest,
    party_id: IdValue | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
):
    return accounting.cost_entry_list_for_user(
        user=request.auth, party_id=party_id, start=date_from, end=date_to
    )


@router.post(
    "/analytics/cost-entries",
    response={201: CostEntryOut, **PROBLEM_RESPONSES},
    summary="Enter a cost of a customer (who may change the customer)",
)
def cost_entry_create(request: HttpRequest, payload: CostEntryIn):
    data = payload.model_dump()
    party = party_get_for_user(user=request.auth, pk=data.pop("party_id"))
    return Status(201, accounting.cost_entry_create(actor=request.auth, party=party, **data))


@router.get(
    "/analytics/cost-entries/{int:entry_id}",
    response={200: CostEntryOut, **PROBLEM_RESPONSES},
    summary="A cost entry",
)
def cost_entry_detail(request: HttpRequest, entry_id: ObjectId):
    return accounting.cost_entry_get_for_user(user=request.auth, pk=entry_id)


@router.delete(
    "/analytics/cost-entries/{int:entry_id}",
    response={204: None, **PROBLEM_RESPONSES},
    summary="Delete a cost entry",
)
def cost_entry_delete(request: HttpRequest, entry_id: ObjectId):
    entry = accounting.cost_entry_get_for_user(user=request.auth, pk=entry_id, write=True)
    accounting.cost_entry_delete(actor=request.auth, entry=entry)
    return Status(204, None)


# --- Cost rules -------------------------------------------------------------------------------


class CostRuleOut(Schema):
    id: int
    name: str
    level: str
    category: str
    basis: str
    amount: Decimal
    activity_kind: str
    valid_from: dt.date | None
    valid_to: dt.date | None
    is_active: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class CostRuleIn(Input):
    name: str = Field(min_length=1, max_length=100)
    category: Category
    level: Level | Literal[""] = ""
    basis: Basis
    amount: RuleAmount = Field(
        description="Money per unit; a per cent for percent_of_revenue; money per year for "
        "per_customer (each) and fixed_allocated (all together)."
    )
    activity_kind: Kind | Literal[""] = ""
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    is_active: bool = True


class CostRulePatch(Input):
    name: str | None = Field(None, min_length=1, max_length=100)
    category: Category | None = None
    level: Level | None = None
    basis: Basis | None = None
    amount: RuleAmount | None = None
    activity_kind: Kind | Literal[""] | None = None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    is_active: bool | None = None


@router.get("/analytics/cost-rules", response=list[CostRuleOut], summary="Cost rules")
@paginate(Pagination)
def cost_rule_list(request: HttpRequest, active: bool | None = None):
    rules = CostRule.objects.all()
    return rules if active is None else rules.filter(is_active=active)


@router.post(
    "/analytics/cost-rules",
    response={201: CostRuleOut, **PROBLEM_RESPONSES},
    summary="Add a cost rule (administrators)",
)
def cost_rule_create(request: HttpRequest, payload: CostRuleIn):
    return Status(201, accounting.cost_rule_create(actor=request.auth, **payload.model_dump()))


@router.get(
    "/analytics/cost-rules/{int:rule_id}",
    response={200: CostRuleOut, **PROBLEM_RESPONSES},
    summary="A cost rule",
)
def cost_rule_detail(request: HttpRequest, rule_id: ObjectId):
    return accounting.cost_rule_get(pk=rule_id)


@router.patch(
    "/analytics/cost-rules/{int:rule_id}",
    response={200: CostRuleOut, **PROBLEM_RESPONSES},
    summary="Change a cost rule (administrators)",
)
def cost_rule_update(request: HttpRequest, rule_id: ObjectId, payload: CostRulePatch):
    rule = accounting.cost_rule_get(pk=rule_id)
    changes = payload.model_dump(exclude_unset=True)
    return accounting.cost_rule_update(actor=request.auth, rule=rule, **changes)


@router.delete(
    "/analytics/cost-rules/{int:rule_id}",
    response={204: None, **PROBLEM_RESPONSES},
    summary="Deactivate a cost rule (administrators; it is kept and can be switched on again)",
)
def cost_rule_delete(request: HttpRequest, rule_id: ObjectId):
    accounting.cost_rule_deactivate(actor=request.auth, rule=accounting.cost_rule_get(pk=rule_id))
    return Status(204, None)
