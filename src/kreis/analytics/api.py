"""REST API of the analytical CRM: /api/v1/analytics/…"""

from __future__ import annotations

from ninja import Router

from kreis.analytics.channel_metrics import router as channel_metrics_router
from kreis.analytics.kpis.api import router as kpis_router
from kreis.analytics.margin.api import router as margin_router
from kreis.analytics.reports.api import router as reports_router
from kreis.analytics.runs.api import router as runs_router
from kreis.analytics.scoring.api import router as scoring_router

router = Router(tags=["analytics"])
router.add_router("", runs_router)
router.add_router("", margin_router)
router.add_router("", scoring_router)
router.add_router("", reports_router)
router.add_router("", kpis_router)
router.add_router("", channel_metrics_router)
