"""The analytics app's models, defined in their topic's package (runs, customer, scoring,
margin, kpis) and gathered here so that Django and the migrations find them under ``analytics``."""

from kreis.analytics.customer.models import ClvFit, CustomerValue, PhaseChange
from kreis.analytics.kpis.models import MarketVolume, QualityCheck
from kreis.analytics.margin.models import CostEntry, CostRule
from kreis.analytics.runs.models import AnalyticsRun, AnalyticsSettings
from kreis.analytics.scoring.models import Criterion, ScoreRecord, ScoringModel, UtilityOption

__all__ = ["AnalyticsRun", "AnalyticsSettings", "ClvFit", "CustomerValue", "PhaseChange"]
__all__ += ["Criterion", "ScoreRecord", "ScoringModel", "UtilityOption"]
__all__ += ["CostEntry", "CostRule"]
__all__ += ["MarketVolume", "QualityCheck"]
