"""API of the runs, the CLV model fit and the analytics settings."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from django.core.exceptions import PermissionDenied, ValidationError
from django.forms.models import model_to_dict
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status
from ninja.errors import HttpError

from kreis.analytics.reports import queries
from kreis.analytics.runs import services
from kreis.analytics.runs.models import AnalyticsRun, AnalyticsSettings
from kreis.core.api_support import PROBLEM_RESPONSES, Input, Problem

router = Router(tags=["analytics"])


class RunIn(Input):
    full: bool = False


class RunOut(Schema):
    id: int
    status: str
    as_of: dt.date
    started_at: dt.datetime
    finished_at: dt.datetime | None
    progress: int
    step: str
    timings: dict
    counts: dict
    error: str


@router.post(
    "/analytics/run",
    response={202: RunOut, 503: Problem, **PROBLEM_RESPONSES},
    summary="Refresh the warehouse and recompute every figure",
)
def run_start(request: HttpRequest, payload: RunIn | None = None):
    """Starts a run in the job queue and answers at once; poll `/analytics/runs/{id}`.
    503 when no job worker is alive to take it (nothing is queued then)."""
    try:
        record = services.analytics_run_start(
            actor=request.auth, full=bool(payload and payload.full)
        )
    except ValidationError as exc:
        if exc.code == "no_worker":  # nothing would run it: say so instead of queueing
            raise HttpError(503, " ".join(exc.messages)) from None
        raise
    record.refresh_from_db()
    return Status(202, record)


@router.get(
    "/analytics/runs",
    response={200: list[RunOut], **PROBLEM_RESPONSES},
    summary="The latest 50 runs",
)
def run_list(request: HttpRequest):
    """Administrators and sales managers."""
    if not services.can_follow_runs(request.auth):
        raise PermissionDenied
    services.analytics_runs_fail_orphaned()
    return AnalyticsRun.objects.all()[:50]


@router.get("/analytics/runs/{int:run_id}", response={200: RunOut, **PROBLEM_RESPONSES})
def run_get(request: HttpRequest, run_id: int):
    """Administrators and sales managers."""
    if not services.can_follow_runs(request.auth):
        raise PermissionDenied
    services.analytics_runs_fail_orphaned()
    return get_object_or_404(AnalyticsRun, pk=run_id)


@router.get(
    "/analytics/clv",
    response={200: dict, **PROBLEM_RESPONSES},
    summary="The fitted BG/NBD and Gamma-Gamma models",
)
def clv_get(request: HttpRequest):
    """Parameters `r`, `alpha`, `a`, `b` (BG/NBD) and `p`, `q`, `gamma` (Gamma-Gamma), their
    log-likelihoods, the calibration window, the time unit and the CLV horizon of the latest
    run. `converged` is false when a fit ended on a parameter bound or stopped short of the
    maximum (or Gamma-Gamma's q ≤ 1); `reason` then says which model and why, and each
    model's `converged` and `message` give the detail."""
    fit = queries.latest_fit()
    if fit is None:
        raise HttpError(404, "No CLV model has been fitted yet: start a run first.")
    return queries.clv_payload(fit)


class SettingsPatch(Input):
    calibration_end: dt.date | None = None
    time_unit: Literal["days", "weeks"] | None = None
    horizon_years: int | None = None
    min_clv_customers: int | None = None
    discount_rate_yearly: Decimal | None = None
    abc_metric: Literal["revenue", "margin"] | None = None
    abc_months: int | None = None
    abc_a: Decimal | None = None
    abc_b: Decimal | None = None
    socialization_days: int | None = None
    growth_pct: Decimal | None = None
    decline_pct: Decimal | None = None
    endangered_p_alive: float | None = None
    dissolution_p_alive: float | None = None
    recency_factor: float | None = None
    abstinence_days: int | None = None
    min_repeat_purchases: int | None = None
    detractor_days: int | None = None
    engagement_half_life_days: int | None = None
    portfolio_share_split: Decimal | None = None
    portfolio_attractiveness_split: Decimal | None = None


def _settings_dict(cfg: AnalyticsSettings) -> dict:
    data = model_to_dict(cfg)
    data.pop("id", None)
    return {k: float(v) if isinstance(v, Decimal) else v for k, v in data.items()}


@router.get("/analytics/settings", response=dict, summary="How the analyses run")
def settings_get(request: HttpRequest):
    return _settings_dict(AnalyticsSettings.load())


@router.patch("/analytics/settings", response={200: dict, **PROBLEM_RESPONSES})
def settings_patch(request: HttpRequest, payload: SettingsPatch):
    """Administrators only. `calibration_end: null` means "yesterday" on every run."""
    if not request.auth.is_admin or request.auth.is_read_only:
        raise PermissionDenied
    cfg = services.analytics_settings_update(
        actor=request.auth, **payload.model_dump(exclude_unset=True)
    )
    return _settings_dict(cfg)
