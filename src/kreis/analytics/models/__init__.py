"""Models of the analytical CRM, one module per topic (settings and runs, scoring, costs)."""

from kreis.analytics.models.costs import CostEntry, CostRule
from kreis.analytics.models.runs import AnalyticsRun, AnalyticsSettings, ClvFit, PhaseChange
from kreis.analytics.models.scoring import Criterion, ScoreRecord, ScoringModel, UtilityOption

__all__ = ["AnalyticsRun", "AnalyticsSettings", "ClvFit", "PhaseChange"]
__all__ += ["Criterion", "ScoreRecord", "ScoringModel", "UtilityOption"]
__all__ += ["CostEntry", "CostRule"]
