"""API routes for the forecast by category: my forecast, a team's roll-up, submissions and
adjustments (the snapshots, the forecast's history), and accuracy per rep."""

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from django.http import Http404, HttpRequest
from django.utils import timezone
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from kreis.core.api_support import PROBLEM_RESPONSES, IdValue, Input, ObjectId, Pagination
from kreis.core.models import Membership, Team, User
from kreis.sales.forecast import queries, services
from kreis.sales.models import ForecastSnapshot, PeriodKind
from kreis.sales.periods import period_containing, period_from_key, period_of

router = Router(tags=["sales management"])

PeriodKey = Annotated[str, Field(pattern=r"^\d{4}(-(Q[1-4]|0[1-9]|1[0-2]))?$")]


class ForecastCategoriesOut(Schema):
    pipeline: Decimal
    best_case: Decimal
    commit: Decimal
    closed: Decimal


class ForecastSnapshotOut(Schema):
    id: int
    kind: str
    user_id: int | None
    team_id: int
    period: str
    period_start: dt.date
    period_end: dt.date
    pipeline_amount: Decimal
    best_case_amount: Decimal
    commit_amount: Decimal
    closed_amount: Decimal
    forecast: Decimal
    currency: str
    note: str
    created_by_id: int | None
    created_at: dt.datetime

    @staticmethod
    def resolve_period(obj: ForecastSnapshot) -> str:
        return period_of(obj).key


class MyForecastOut(Schema):
    period: str
    categories: ForecastCategoriesOut
    suggested: Decimal
    call: ForecastSnapshotOut | None


class ForecastRepOut(Schema):
    user_id: int
    name: str
    categories: ForecastCategoriesOut
    call: ForecastSnapshotOut | None


class ForecastRollupOut(Schema):
    team_id: int
    period: str
    reps: list[ForecastRepOut]
    totals: ForecastCategoriesOut
    reps_forecast: Decimal
    team_adjustment: ForecastSnapshotOut | None
    forecast: Decimal


class ForecastSubmitIn(Input):
    period: PeriodKey
    forecast: Decimal = Field(ge=0, max_digits=14, decimal_places=2)
    note: str = Field("", max_length=500)
    team_id: IdValue | None = None


class ForecastAdjustIn(Input):
    period: PeriodKey
    team_id: IdValue
    user_id: IdValue | None = None
    forecast: Decimal = Field(ge=0, max_digits=14, decimal_places=2)
    note: str = Field(min_length=1, max_length=500)


class ForecastAccuracyOut(Schema):
    user_id: int
    period: str
    actual: Decimal
    forecast: Decimal | None
    accuracy: Decimal | None = Field(
        description="1 − |actual − forecast| ÷ forecast, at least 0 (a fraction)"
    )


def _sums(s: queries.CategorySums) -> dict:
    return {
        "pipeline": s.pipeline,
        "best_case": s.best_case,
        "commit": s.commit,
        "closed": s.closed,
    }


def _period(key: str | None):
    if key:
        return period_from_key(key)
    return period_containing(timezone.localdate(), PeriodKind.QUARTER)


@router.get(
    "/sales/forecast",
    response={200: MyForecastOut, **PROBLEM_RESPONSES},
    summary="My deals per forecast category in a period, and my latest call",
)
def my_forecast(request: HttpRequest, period: PeriodKey | None = None):
    user = request.auth
    p = _period(period)
    sums = queries.category_sums(period=p, owner_ids=[user.pk]).get(user.pk, queries.CategorySums())
    call = queries.latest_calls(period=p, team=None, user_ids=[user.pk]).get(user.pk)
    return {"period": p.key, "categories": _sums(sums), "suggested": sums.suggested, "call": call}


@router.get(
    "/sales/forecast/teams/{team_id}",
    response={200: ForecastRollupOut, **PROBLEM_RESPONSES},
    summary="A team's forecast roll-up (for its managers)",
)
def team_forecast(request: HttpRequest, team_id: ObjectId, period: PeriodKey | None = None):
    team = queries.forecast_teams_for_user(request.auth).filter(pk=team_id).first()
    if team is None:
        raise Http404
    rollup = queries.team_rollup(team=team, period=_period(period))
    return {
        "team_id": team.pk,
        "period": rollup.period.key,
        "reps": [
            {"user_id": r.rep.pk, "name": str(r.rep), "categories": _sums(r.sums), "call": r.call}
            for r in rollup.rows
        ],
        "totals": _sums(rollup.totals),
        "reps_forecast": rollup.reps_forecast,
        "team_adjustment": rollup.team_call,
        "forecast": rollup.forecast,
    }


@router.post(
    "/sales/forecast/submissions",
    response={201: ForecastSnapshotOut, **PROBLEM_RESPONSES},
    summary="Submit my forecast (call) for a period",
)
def forecast_submit(request: HttpRequest, payload: ForecastSubmitIn):
    team = None
    if payload.team_id:
        team = Team.objects.filter(pk=payload.team_id).first()
        if team is None:
            from django.core.exceptions import ValidationError

            raise ValidationError({"team_id": "No such team."})
    snapshot = services.forecast_submit(
        actor=request.auth,
        period=period_from_key(payload.period),
        forecast=payload.forecast,
        note=payload.note,
        team=team,
    )
    return Status(201, snapshot)


@router.post(
    "/sales/forecast/adjustments",
    response={201: ForecastSnapshotOut, **PROBLEM_RESPONSES},
    summary="Adjust a rep's or the team's forecast, with a note (team managers)",
)
def forecast_adjust(request: HttpRequest, payload: ForecastAdjustIn):
    team = queries.forecast_teams_for_user(request.auth).filter(pk=payload.team_id).first()
    if team is None:
        raise Http404
    rep = None
    if payload.user_id:
        membership = (
            Membership.objects.filter(team=team, user_id=payload.user_id)
            .select_related("user")
            .first()
        )
        if membership is None:
            from django.core.exceptions import ValidationError

            raise ValidationError({"user_id": "The rep is not a member of the team."})
        rep = membership.user
    snapshot = services.forecast_adjust(
        actor=request.auth,
        team=team,
        rep=rep,
        period=period_from_key(payload.period),
        forecast=payload.forecast,
        note=payload.note,
    )
    return Status(201, snapshot)


@router.get(
    "/sales/forecast/snapshots",
    response=list[ForecastSnapshotOut],
    summary="The history of forecast submissions and adjustments you may see",
)
@paginate(Pagination)
def snapshot_list(
    request: HttpRequest,
    period: PeriodKey | None = None,
    team_id: IdValue | None = None,
    user_id: IdValue | None = None,
):
    return queries.snapshot_list_for_user(
        user=request.auth,
        period=period_from_key(period) if period else None,
        team_id=team_id,
        user_id=user_id,
    )


@router.get(
    "/sales/forecast/snapshots/{forecast_snapshot_id}",
    response={200: ForecastSnapshotOut, **PROBLEM_RESPONSES},
    summary="One forecast snapshot",
)
def snapshot_detail(request: HttpRequest, forecast_snapshot_id: ObjectId):
    return queries.snapshot_get_for_user(user=request.auth, pk=forecast_snapshot_id)


@router.get(
    "/sales/forecast/accuracy",
    response={200: list[ForecastAccuracyOut], **PROBLEM_RESPONSES},
    summary="Forecast accuracy per rep for ended periods",
)
def forecast_accuracy(
    request: HttpRequest,
    period_kind: Literal["month", "quarter", "year"] = "quarter",
    periods: Annotated[int, Field(ge=1, le=12)] = 4,
    team_id: IdValue | None = None,
):
    user: User = request.auth
    if team_id:
        team = queries.forecast_teams_for_user(user).filter(pk=team_id).first()
        if team is None:
            raise Http404
        reps = [m.user for m in Membership.objects.filter(team=team).select_related("user")]
    else:
        reps = [user]
    current = period_containing(timezone.localdate(), period_kind)
    chosen, p = [], current.previous()
    for _i in range(periods):
        chosen.append(p)
        p = p.previous()
    return [
        {
            "user_id": a.rep.pk,
            "period": a.period.key,
            "actual": a.actual,
            "forecast": a.forecast,
            "accuracy": a.value,
        }
        for a in queries.forecast_accuracy(reps=reps, periods=chosen)
    ]
