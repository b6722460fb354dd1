"""API of the objective satisfaction KPIs: /api/v1/kpis, market volumes and quality checks.

The same figures as the page (``queries.kpi_report``), for managers and administrators."""

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from kreis.analytics.kpis import charts, queries, services
from kreis.analytics.kpis.models import Grain, MarketVolume, QualityCheck, QualityStage
from kreis.commerce.models import Product
from kreis.core.api_support import PROBLEM_RESPONSES, IdValue, Input, ObjectId, Pagination

router = Router(tags=["kpis"])

GrainName = Literal[tuple(Grain.values)]  # type: ignore[valid-type]
StageName = Literal[tuple(QualityStage.values)]  # type: ignore[valid-type]
Volume = Annotated[Decimal, Field(gt=0, max_digits=16, decimal_places=2)]
Units = Annotated[int, Field(ge=0, le=2_000_000_000)]


class RevenueSeries(Schema):
    net_revenue: list[float]
    units: list[float]


class MarketShareSeries(Schema):
    segment: str = Field(description="A product category; empty: the whole market.")
    revenue: list[float] | None
    volume: list[float | None]
    share_pct: list[float | None] | None


class RepurchaseSeries(Schema):
    customers: list[int]
    repurchased: list[int]
    rate_pct: list[float | None]


class CrossBuyingSeries(Schema):
    customers: list[int]
    average: list[float | None]
    distribution: dict[str, list[int]]


class PriceToleranceSeries(Schema):
    gross: list[float]
    discount: list[float]
    discount_pct: list[float | None]


class ReferralSeries(Schema):
    leads: list[int]
    converted: list[int]
    conversion_pct: list[float | None]


class QualitySeries(Schema):
    stage: str
    label: str
    checked: list[int]
    defective: list[int]
    defect_pct: list[float | None]


class DefectCategorySeries(Schema):
    segment: str = Field(description="A product category; empty: cases without a product.")
    cases: list[int]
    units: list[float] | None
    per_1000: list[float | None]


class DefectSeries(Schema):
    cases: list[int] = Field(description="Cases of the kind “product defect” received.")
    units: list[float] | None = Field(description="Units sold; null without the warehouse.")
    per_1000: list[float | None]
    by_category: list[DefectCategorySeries]


class WarrantySeries(Schema):
    claims: list[int]
    cost: list[float] = Field(description="Σ costs recorded on the period's warranty cases.")
    cost_per_claim: list[float | None]


class KpiReport(Schema):
    start: dt.date
    end: dt.date
    grain: str
    periods: list[str]
    warehouse: bool = Field(
        description="False while the warehouse is empty or being refreshed: the transaction "
        "figures (revenue, market share, repurchase, cross-buying, price tolerance) are null."
    )
    revenue: RevenueSeries | None
    market_share: list[MarketShareSeries]
    repurchase: RepurchaseSeries | None
    cross_buying: CrossBuyingSeries | None
    price_tolerance: PriceToleranceSeries | None
    referrals: ReferralSeries
    quality: list[QualitySeries]
    defects: DefectSeries
    warranty: WarrantySeries
    formulas: dict[str, str]


@router.get(
    "/kpis",
    response={200: KpiReport, **PROBLEM_RESPONSES},
    summary="The objective satisfaction KPIs per period (managers and administrators)",
    description="Each KPI as one value per period of `grain` (the range widened to whole "
    "periods; default: the last eight quarters), the same figures as the page, with their "
    "formulas. Transaction figures cover the customers you may see.",
)
def kpi_report(
    request: HttpRequest,
    start: dt.date | None = None,
    end: dt.date | None = None,
    grain: GrainName = "quarter",
):
    queries.check_view(request.auth)
    today = timezone.localdate()
    default_start, default_end = queries.default_range(today)
    report = queries.kpi_report(
        user=request.auth,
        start=start or default_start,
        end=end or default_end,
        grain=grain,
        today=today,
    )
    report["formulas"] = charts.formulas(report)
    return report


# --- Market volumes ----------------------------------------------------------------------------


class MarketVolumeOut(Schema):
    id: int
    segment: str
    grain: str
    start: dt.date
    end: dt.date
    volume: Decimal
    currency: str
    note: str
    created_at: dt.datetime
    updated_at: dt.datetime


class MarketVolumeIn(Input):
    segment: str = Field("", max_length=100, description="A product category; empty: all.")
    grain: GrainName
    start: dt.date = Field(description="The first day of the month, quarter or year.")
    volume: Volume
    currency: str = Field("EUR", min_length=3, max_length=3)
    note: str = Field("", max_length=300)


@router.get(
    "/kpis/market-volumes",
    response={200: list[MarketVolumeOut], **PROBLEM_RESPONSES},
    summary="Market volumes entered per segment and period",
)
@paginate(Pagination)
def market_volume_list(request: HttpRequest, segment: str | None = None):
    queries.check_view(request.auth)
    volumes = MarketVolume.objects.order_by("-start", "segment", "pk")
    return volumes.filter(segment=segment) if segment is not None else volumes


@router.post(
    "/kpis/market-volumes",
    response={200: MarketVolumeOut, 201: MarketVolumeOut, **PROBLEM_RESPONSES},
    summary="Enter a market volume (replaces the one of the same segment and period)",
)
def market_volume_set(request: HttpRequest, payload: MarketVolumeIn):
    queries.check_view(request.auth)
    record, created = services.market_volume_set(actor=request.auth, **payload.model_dump())
    return Status(201 if created else 200, record)


@router.delete(
    "/kpis/market-volumes/{int:volume_id}",
    response={204: None, **PROBLEM_RESPONSES},
    summary="Delete a market volume",
)
def market_volume_delete(request: HttpRequest, volume_id: ObjectId):
    queries.check_view(request.auth)
    record = get_object_or_404(MarketVolume, pk=volume_id)
    services.market_volume_delete(actor=request.auth, record=record)
    return Status(204, None)


# --- Quality checks ----------------------------------------------------------------------------


class QualityCheckOut(Schema):
    id: int
    date: dt.date
    stage: str
    product_id: int | None
    checked_units: int
    defective_units: int
    notes: str
    created_at: dt.datetime


class QualityCheckIn(Input):
    date: dt.date
    stage: StageName
    product_id: IdValue | None = None
    checked_units: Annotated[int, Field(ge=1, le=2_000_000_000)]
    defective_units: Units = 0
    notes: str = Field("", max_length=20000)


@router.get(
    "/kpis/quality-checks",
    response={200: list[QualityCheckOut], **PROBLEM_RESPONSES},
    summary="Quality checks (newest first)",
)
@paginate(Pagination)
def quality_check_list(
    request: HttpRequest,
    stage: StageName | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
):
    queries.check_view(request.auth)
    checks = QualityCheck.objects.order_by("-date", "-pk")
    if stage:
        checks = checks.filter(stage=stage)
    if date_from:
        checks = checks.filter(date__gte=date_from)
    if date_to:
        checks = checks.filter(date__lte=date_to)
    return checks


@router.post(
    "/kpis/quality-checks",
    response={201: QualityCheckOut, **PROBLEM_RESPONSES},
    summary="Record a quality check (internal, at the trade or at the end customer)",
)
def quality_check_create(request: HttpRequest, payload: QualityCheckIn):
    queries.check_view(request.auth)
    data = payload.model_dump()
    product_id = data.pop("product_id")
    product = get_object_or_404(Product, pk=product_id) if product_id else None
    record = services.quality_check_create(actor=request.auth, product=product, **data)
    return Status(201, record)


@router.delete(
    "/kpis/quality-checks/{int:check_id}",
    response={204: None, **PROBLEM_RESPONSES},
    summary="Delete a quality check",
)
def quality_check_delete(request: HttpRequest, check_id: ObjectId):
    queries.check_view(request.auth)
    record = get_object_or_404(QualityCheck, pk=check_id)
    services.quality_check_delete(actor=request.auth, record=record)
    return Status(204, None)
