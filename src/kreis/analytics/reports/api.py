"""Read API of the analytics reports (ABC, RFM, phases, portfolio, dashboard KPIs) and the
manual lifecycle phase: /api/v1/analytics/…; figures restricted to the caller's parties."""

import datetime as dt
from typing import Literal

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError

from kreis.analytics import warehouse
from kreis.analytics.customer import lifecycle
from kreis.analytics.customer.services import phase_override_lift, phase_override_set
from kreis.analytics.reports import charts, customer_charts
from kreis.core.api_support import (
    PROBLEM_RESPONSES,
    Input,
    Problem,
    check_if_match,
    etag,
)
from kreis.parties.models import LifecyclePhase
from kreis.parties.queries import party_get_for_user

router = Router(tags=["analytics"])
RESPONSES = {**PROBLEM_RESPONSES, 503: Problem}
Phase = Literal[tuple(LifecyclePhase.values)]  # type: ignore[valid-type]


def _unavailable() -> HttpError:
    return HttpError(503, "The analytics warehouse is empty or being refreshed; try again shortly.")


class AbcQuery(Schema):
    months: int | None = Field(None, ge=1, le=120)
    metric: Literal["revenue", "margin"] | None = None
    customers: bool = False
    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(100, ge=1, le=500)


@router.get("/analytics/abc", response={200: dict, **RESPONSES})
def abc(request: HttpRequest, query: Query[AbcQuery]):
    """Customers and value per ABC class; with ``customers=true`` a page of ranked customers."""
    get = {k: str(v) for k, v in (("months", query.months), ("metric", query.metric)) if v}
    params = customer_charts.abc_params(get, timezone.localdate())
    try:
        result: dict = {
            "start": params.start,
            "end": params.end,
            "metric": params.metric,
            "a_pct": params.a_pct,
            "b_pct": params.b_pct,
            "classes": [
                {k: v for k, v in row.items() if k != "url"}
                for row in customer_charts.abc_summary(request.auth, params)
            ],
        }
        if query.customers:
            offset = (query.page - 1) * query.page_size
            count, items = customer_charts.abc_customers(
                request.auth, params, offset=offset, limit=query.page_size
            )
            result["customers"] = {"count": count, "items": items}
    except warehouse.WarehouseBusy as exc:
        raise _unavailable() from exc
    return result


@router.get("/analytics/rfm", response={200: dict, **RESPONSES})
def rfm(request: HttpRequest):
    """Customers per RFM segment with averages, and the recency × frequency grid."""
    segments = customer_charts.rfm_segments(request.auth, timezone.localdate())
    return {
        "segments": [{k: v for k, v in s.items() if k != "url"} for s in segments],
        "grid": customer_charts.rfm_grid(request.auth),
    }


class PhasesQuery(Schema):
    month: str | None = Field(None, pattern=r"^(19|20)\d{2}-(0[1-9]|1[0-2])$")


@router.get("/analytics/phases", response={200: dict, **RESPONSES})
def phases(request: HttpRequest, query: Query[PhasesQuery]):
    """Customers per phase and the transitions of one month (default: the latest with any)."""
    months = customer_charts.change_months(request.auth)
    if query.month:
        month = dt.date(int(query.month[:4]), int(query.month[5:]), 1)
    else:
        month = months[0] if months else timezone.localdate().replace(day=1)
    return {
        "phases": [
            {
                "phase": p["phase"],
                "main_phase": group["main"],
                "customers": p["customers"],
            }
            for group in customer_charts.phases_grouped(request.auth)
            for p in group["phases"]
        ],
        "month": month.strftime("%Y-%m"),
        "months": [m.strftime("%Y-%m") for m in months],
        "transitions": [
            {"from_phase": source, "to_phase": target, "count": n}
            for source, target, n in customer_charts.transitions(request.auth, month)
        ],
    }


class PortfolioQuery(Schema):
    x: float | None = Field(
        None, ge=0, le=10, description="Share-of-wallet split (fraction); default: settings."
    )
    y: float | None = Field(
        None, ge=0, le=100, description="Attractiveness split (score); default: settings."
    )


@router.get("/analytics/portfolio", response={200: dict, **RESPONSES})
def portfolio(request: HttpRequest, query: Query[PortfolioQuery]):
    """Share of wallet × attractiveness quadrants with their top customers by revenue."""
    x_default, y_default = customer_charts.portfolio_splits()
    x = x_default if query.x is None else query.x
    y = y_default if query.y is None else query.y
    data = customer_charts.portfolio(request.auth, x, y)
    data.pop("_arrays")
    for quadrant in data["quadrants"]:
        quadrant["name"] = str(quadrant["name"])
        quadrant["action"] = str(quadrant["action"])
        for customer in quadrant["customers"]:
            customer.pop("url")
    return data


@router.get("/analytics/dashboard", response={200: dict, **RESPONSES})
def dashboard(request: HttpRequest):
    """The management KPIs of the dashboard."""
    return charts.dashboard_kpis(request.auth, timezone.localdate())


class PhaseOverrideIn(Input):
    phase: Phase
    note: str = Field("", max_length=300)


class PhaseOut(Schema):
    party: int
    lifecycle_phase: str
    lifecycle_override: bool
    lifecycle_note: str
    description: str


def _phase_out(party) -> dict:
    party.refresh_from_db()
    return {
        "party": party.pk,
        "lifecycle_phase": party.lifecycle_phase,
        "lifecycle_override": party.lifecycle_override,
        "lifecycle_note": party.lifecycle_note,
        "description": str(lifecycle.PHASE_LABELS.get(party.lifecycle_phase, "")),
    }


@router.put("/analytics/parties/{party_id}/phase-override", response={200: PhaseOut, **RESPONSES})
def phase_override_put(
    request: HttpRequest, party_id: int, payload: PhaseOverrideIn, response: HttpResponse
):
    """Set the lifecycle phase by hand; the runs keep it until the override is lifted.
    ``If-Match`` takes the party's ETag; the answer carries its new one."""
    party = party_get_for_user(user=request.auth, pk=party_id, write=True)
    check_if_match(request, party)
    phase_override_set(actor=request.auth, party=party, phase=payload.phase, note=payload.note)
    out = _phase_out(party)
    response["ETag"] = etag(party)
    return out


@router.delete(
    "/analytics/parties/{party_id}/phase-override", response={200: PhaseOut, **RESPONSES}
)
def phase_override_delete(request: HttpRequest, party_id: int, response: HttpResponse):
    """Lift the manual phase: the next run computes it again. ``If-Match`` takes the party's
    ETag; the answer carries its new one."""
    party = party_get_for_user(user=request.auth, pk=party_id, write=True)
    check_if_match(request, party)
    phase_override_lift(actor=request.auth, party=party)
    out = _phase_out(party)
    response["ETag"] = etag(party)
    return out
