"""The survey scores on hand-computed examples (DOMAIN.md §3, kreis.feedback.analysis)."""

import math

import pytest

from kreis.feedback import analysis
from kreis.feedback.models import LoyaltyFactor, QuestionKind


def test_csat_is_the_share_of_fours_and_fives():
    # 10 answers: 1×1, 1×2, 2×3, 3×4, 3×5 → (3 + 3) / 10 = 60 %.
    assert analysis.csat({1: 1, 2: 1, 3: 2, 4: 3, 5: 3}) == pytest.approx(60.0)
    assert analysis.csat({}) is None


def test_nps_and_its_confidence_interval_by_hand():
    # 20 answers: promoters 9–10: 8; passives 7–8: 7; detractors 0–6: 5.
    counts = {10: 5, 9: 3, 8: 4, 7: 3, 6: 2, 3: 2, 0: 1}
    result = analysis.nps(counts)
    assert (result.n, result.promoters, result.passives, result.detractors) == (20, 8, 7, 5)
    # NPS = (8 − 5) / 20 × 100 = 15.
    assert result.nps == pytest.approx(15.0)
    # Var(s) = p_P + p_D − (p_P − p_D)² = 0.4 + 0.25 − 0.15² = 0.6275;
    # half width = 1.96 × 100 × √(0.6275 / 20) = 1.959964 × 100 × 0.177130 = 34.7168.
    half = 1.959963984540054 * 100 * math.sqrt(0.6275 / 20)
    assert half == pytest.approx(34.7168, abs=1e-3)
    assert result.ci_low == pytest.approx(15.0 - half)
    assert result.ci_high == pytest.approx(15.0 + half)


def test_nps_interval_is_clipped_and_all_promoters_have_no_spread():
    result = analysis.nps({10: 4})
    assert result.nps == 100.0
    assert (result.ci_low, result.ci_high) == (100.0, 100.0)
    assert analysis.nps({}).nps is None


def test_loyalty_normalises_each_factor_and_reverses_switching():
    # recommend 9 on 0–10 → 90; repurchase 4 on 1–5 → 75; comparison 3 → 50;
    # switching 2 on 1–5 → 25, reversed → 75. Index = (90 + 75 + 50 + 75) / 4 = 72.5.
    assert analysis.loyalty_score(LoyaltyFactor.RECOMMEND, QuestionKind.NPS, 9) == 90
    assert analysis.loyalty_score(LoyaltyFactor.REPURCHASE, QuestionKind.SCALE, 4) == 75
    assert analysis.loyalty_score(LoyaltyFactor.SWITCHING, QuestionKind.SCALE, 2) == 75
    index = analysis.loyalty_index(
        {"recommend": 90.0, "repurchase": 75.0, "comparison": 50.0, "switching": 75.0}
    )
    assert index == pytest.approx(72.5)
    assert analysis.loyalty_index({}) is None


def test_expectation_shares():
    # 8 pairs: 2 above expectation, 5 equal, 1 below.
    shares = analysis.expectation_shares(2, 5, 1)
    assert shares["delighted"] == pytest.approx(25.0)
    assert shares["satisfied"] == pytest.approx(62.5)
    assert shares["dissatisfied"] == pytest.approx(12.5)
    assert shares["n"] == 8
