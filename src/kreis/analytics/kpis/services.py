"""Writes of the KPI inputs: market volumes and quality checks (``<entity>_<action>``)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db import transaction

from kreis.analytics.kpis.models import MarketVolume, QualityCheck
from kreis.analytics.kpis.queries import can_enter_kpi_inputs
from kreis.commerce.models import Product
from kreis.core.models import User


def _check(actor: User | None) -> None:
    if actor is not None and not can_enter_kpi_inputs(actor):
        raise PermissionDenied


@transaction.atomic
def market_volume_set(
    *,
    actor: User | None,
    segment: str,
    grain: str,
    start: dt.date,
    volume: Decimal,
    currency: str = "EUR",
    note: str = "",
) -> tuple[MarketVolume, bool]:
    """Enter the market volume of a segment (product category, "" = whole market) for one
    period; an entry for the same segment and period is replaced. Returns (entry, created)."""
    _check(actor)
    segment = (segment or "").strip()
    record = (
        MarketVolume.objects.select_for_update()
        .filter(segment=segment, grain=grain, start=start)
        .first()
    )
    created = record is None
    if record is None:
        record = MarketVolume(segment=segment, grain=grain, start=start, created_by=actor)
    record.volume = volume
    record.currency = currency or "EUR"
    record.note = (note or "").strip()
    record.full_clean(exclude=["created_by"], validate_constraints=False)
    record.save()
    return record, created


@transaction.atomic
def market_volume_delete(*, actor: User | None, record: MarketVolume) -> None:
    """Remove a market volume entry; the market share of its period is unknown again."""
    _check(actor)
    record.delete()


@transaction.atomic
def quality_check_create(
    *,
    actor: User | None,
    date: dt.date,
    stage: str,
    checked_units: int,
    defective_units: int,
    product: Product | None = None,
    notes: str = "",
) -> QualityCheck:
    """Record a quality check at one stage (internal, trade, end customer)."""
    _check(actor)
    record = QualityCheck(
        date=date,
        stage=stage,
        product=product,
        checked_units=checked_units,
        defective_units=defective_units,
        notes=(notes or "").strip(),
        created_by=actor,
    )
    record.full_clean(exclude=["created_by", "product"])
    record.save()
    return record


@transaction.atomic
def quality_check_delete(*, actor: User | None, record: QualityCheck) -> None:
    """Remove a quality check recorded in error."""
    _check(actor)
    record.delete()
