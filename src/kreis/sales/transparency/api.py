"""API routes for process transparency: stage figures of a pipeline, SLA compliance."""

from decimal import Decimal
from typing import Annotated

from django.http import Http404, HttpRequest
from django.utils import timezone
from ninja import Field, Router, Schema

from kreis.core.api_support import PROBLEM_RESPONSES, ObjectId
from kreis.sales.models import PeriodKind, Pipeline
from kreis.sales.periods import period_containing, period_from_key
from kreis.sales.transparency import queries

router = Router(tags=["sales management"])

PeriodKey = Annotated[str, Field(pattern=r"^\d{4}(-(Q[1-4]|0[1-9]|1[0-2]))?$")]


class StageFlowOut(Schema):
    stage_id: int
    name: str
    entered: int
    moved_on: int
    conversion_percent: Decimal | None
    median_days: float | None
    p75_days: float | None
    mean_days: float | None
    stuck_after_days: float | None
    stuck_deal_ids: list[int]


class SlaTeamOut(Schema):
    team_id: int | None
    in_time: int
    late: int
    open_past_due: int
    open_within_time: int
    compliance_percent: Decimal | None


class SlaComplianceOut(Schema):
    period: str
    leads: list[SlaTeamOut]
    cases: list[SlaTeamOut]
    case_acknowledgement: list[SlaTeamOut]


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


@router.get(
    "/sales/transparency/pipelines/{pipeline_id}",
    response={200: list[StageFlowOut], **PROBLEM_RESPONSES},
    summary="Time in stage, conversion and stuck deals per open stage of a pipeline",
)
def pipeline_flow(request: HttpRequest, pipeline_id: ObjectId):
    pipeline = Pipeline.objects.filter(pk=pipeline_id).first()
    if pipeline is None:
        raise Http404
    return [
        {
            "stage_id": f.stage.pk,
            "name": f.stage.label,
            "entered": f.entered,
            "moved_on": f.moved_on,
            "conversion_percent": f.conversion,
            "median_days": _round(f.median),
            "p75_days": _round(f.p75),
            "mean_days": _round(f.mean),
            "stuck_after_days": _round(f.threshold),
            "stuck_deal_ids": f.stuck_ids,
        }
        for f in queries.pipeline_figures(user=request.auth, pipeline=pipeline)
    ]


def _rows(rows) -> list[dict]:
    return [
        {
            "team_id": r.team.pk if r.team else None,
            "in_time": r.counts[queries.IN_TIME],
            "late": r.counts[queries.LATE],
            "open_past_due": r.counts[queries.OPEN_LATE],
            "open_within_time": r.counts[queries.OPEN_OK],
            "compliance_percent": r.compliance,
        }
        for r in rows
    ]


@router.get(
    "/sales/transparency/sla",
    response={200: SlaComplianceOut, **PROBLEM_RESPONSES},
    summary="SLA compliance of the lead and case queues per team in a period",
)
def sla_compliance(request: HttpRequest, period: PeriodKey | None = None):
    p = (
        period_from_key(period)
        if period
        else period_containing(timezone.localdate(), PeriodKind.QUARTER)
    )
    sla = queries.sla_compliance(user=request.auth, period=p)
    return {
        "period": p.key,
        "leads": _rows(sla["leads"]),
        "cases": _rows(sla["cases"]),
        "case_acknowledgement": _rows(sla["case_ack"]),
    }
