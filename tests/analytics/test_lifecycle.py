"""Lifecycle phases (DOMAIN.md §2): each rule, the precedence between them, win-back, and the
explanation a rep reads beside the phase."""

import datetime
import json

import numpy as np
import pandas as pd
import pytest
from django.utils import translation

from kreis.analytics.customer.lifecycle import (
    MAIN_PHASE,
    OUTPUT_COLUMNS,
    PHASES,
    REASONS,
    LifecycleRules,
    Phase,
    classify,
    describe,
    transitions_sankey,
)

AS_OF = datetime.date(2026, 6, 1)


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def ago(days: int) -> datetime.date:
    return AS_OF - datetime.timedelta(days=days)


def customer(**changes) -> dict:
    """A steady repeat customer: ten purchase days over 2½ years, revenue flat."""
    row = {
        "party_id": 1,
        "purchase_days": 10,
        "first_purchase": ago(900),
        "last_purchase": ago(30),
        "revenue_12m": 1000.0,
        "revenue_prev_12m": 1000.0,
        "p_alive": np.nan,
        "terminated": False,
        "contract_end": None,
        "open_severe_complaints": 0,
        "detractor_at": None,
        "prev_phase": "",
        "prev_since": None,
        "won_back_at": None,
    }
    row.update(changes)
    return row


def prospect(**changes) -> dict:
    return customer(
        purchase_days=0,
        first_purchase=None,
        last_purchase=None,
        revenue_12m=0.0,
        revenue_prev_12m=0.0,
        **changes,
    )


def classify_one(row: dict, as_of: datetime.date = AS_OF, **rules) -> dict:
    result = classify(pd.DataFrame([row]), as_of, LifecycleRules(**rules))
    assert len(result) == 1
    # The nightly run stores the facts as JSON built column-wise: the same facts, every case.
    as_json = classify(pd.DataFrame([row]), as_of, LifecycleRules(**rules), facts_as_json=True)
    assert json.loads(as_json["facts"].iat[0]) == result["facts"].iat[0]
    return result.iloc[0].to_dict()


def explained(row: dict, as_of: datetime.date = AS_OF) -> tuple[str, str]:
    result = classify_one(row, as_of)
    return result["reason"], describe(result["reason"], result["facts"])


# 1. Initiation


def test_known_party_without_purchase_is_in_initiation():
    assert explained(prospect()) == (
        "initiation.no_purchase",
        "Initiation: known party, no purchase yet",
    )


def test_prospect_with_ended_contract_is_abstinent_not_in_initiation():
    assert explained(prospect(contract_end=ago(10))) == (
        "abstinence.contract_ended",
        "Abstinence: contract ended on 2026-05-22",
    )


def test_termination_flag_does_not_move_a_prospect_out_of_initiation():
    assert classify_one(prospect(terminated=True))["reason"] == "initiation.no_purchase"


# 2. Abstinence


def test_no_purchase_for_more_than_a_year_is_abstinence():
    result = classify_one(customer(last_purchase=ago(400)))
    assert result["phase"] == "abstinence"
    assert result["facts"] == {"days": 400, "last_purchase": "2025-04-27", "limit": 365}
    assert describe(result["reason"], result["facts"]) == "Abstinence: no purchase for 400 days"


def test_exactly_a_year_without_purchase_is_not_yet_abstinence():
    assert classify_one(customer(last_purchase=ago(365)))["phase"] != "abstinence"


def test_contract_ended_yesterday_is_abstinence_despite_recent_purchases():
    assert explained(customer(last_purchase=ago(30), contract_end=ago(1))) == (
        "abstinence.contract_ended",
        "Abstinence: contract ended on 2026-05-31",
    )


def test_contract_ending_today_counts_as_ended():
    assert classify_one(customer(contract_end=AS_OF))["reason"] == "abstinence.contract_ended"


def test_abstinence_threshold_is_configurable():
    row = customer(last_purchase=ago(200))
    assert classify_one(row)["phase"] != "abstinence"
    assert classify_one(row, abstinence_days=180)["reason"] == "abstinence.no_purchase"


# 3. Dissolution


def test_announced_termination_is_dissolution():
    assert explained(customer(terminated=True)) == (
        "dissolution.terminated",
        "Dissolution: termination announced",
    )


def test_termination_with_future_contract_end_names_the_date():
    assert explained(customer(terminated=True, contract_end=ago(-30))) == (
        "dissolution.terminated",
        "Dissolution: termination announced, contract ends on 2026-07-01",
    )


def test_contract_end_in_the_future_is_dissolution():
    result = classify_one(customer(contract_end=ago(-30)))
    assert result["facts"] == {"contract_end": "2026-07-01", "days_left": 30}
    assert describe(result["reason"], result["facts"]) == (
        "Dissolution: contract ends on 2026-07-01, in 30 days"
    )


def test_p_alive_below_dissolution_threshold_is_dissolution():
    assert explained(customer(p_alive=0.15)) == (
        "dissolution.p_alive",
        "Dissolution: probability of being alive 0.15",
    )


# 4. Win-back


def test_purchase_after_abstinence_is_a_win_back():
    row = customer(
        last_purchase=datetime.date(2026, 3, 2),
        prev_phase="abstinence",
        prev_since=datetime.date(2025, 12, 1),
        open_severe_complaints=1,  # the restart outranks risk signals
    )
    result = classify_one(row)
    assert (result["phase"], result["reason"]) == ("socialization", "socialization.won_back")
    assert result["won_back"]
    assert result["won_back_at"] == pd.Timestamp("2026-03-02")
    assert describe(result["reason"], result["facts"]) == (
        "Socialization: won back on 2026-03-02 after 91 days of abstinence"
    )


def test_won_back_customer_stays_in_socialization_for_180_days():
    row = customer(
        last_purchase=datetime.date(2026, 5, 20),
        prev_phase="socialization",
        prev_since=datetime.date(2026, 3, 2),
        won_back_at=datetime.date(2026, 3, 2),
    )
    later = classify_one(row)
    assert later["reason"] == "socialization.won_back"
    assert not later["won_back"], "the win-back was counted on the day it happened"
    assert later["won_back_at"] == pd.Timestamp("2026-03-02")
    assert describe(later["reason"], later["facts"]) == (
        "Socialization: won back on 2026-03-02, 91 days ago"
    )

    day_179 = datetime.date(2026, 3, 2) + datetime.timedelta(days=179)
    assert classify_one(row, as_of=day_179)["reason"] == "socialization.won_back"
    day_180 = day_179 + datetime.timedelta(days=1)
    after = classify_one(row, as_of=day_180)
    assert after["reason"] == "maturity.stable"
    assert after["won_back_at"] == pd.Timestamp("2026-03-02")


def test_customer_still_without_purchase_is_not_won_back():
    row = customer(last_purchase=ago(500), prev_phase="abstinence", prev_since=ago(134))
    result = classify_one(row)
    assert result["reason"] == "abstinence.no_purchase"
    assert not result["won_back"]
    assert pd.isna(result["won_back_at"])


def test_recent_purchase_without_previous_abstinence_is_no_win_back():
    result = classify_one(customer(prev_phase="endangerment", prev_since=ago(60)))
    assert result["reason"] == "maturity.stable"
    assert not result["won_back"]


def test_purchase_after_the_contract_ended_wins_the_customer_back():
    row = customer(
        last_purchase=ago(20),
        contract_end=ago(100),
        terminated=True,
        prev_phase="abstinence",
        prev_since=ago(100),
    )
    result = classify_one(row)
    assert result["reason"] == "socialization.won_back"
    assert result["won_back"]


def test_dissolution_outranks_win_back_and_nothing_is_counted():
    row = customer(
        last_purchase=ago(20),
        prev_phase="abstinence",
        prev_since=ago(100),
        contract_end=ago(-60),
    )
    result = classify_one(row)
    assert result["reason"] == "dissolution.contract_end"
    assert not result["won_back"]
    assert pd.isna(result["won_back_at"])


# 5. Endangerment


def test_long_silence_against_the_usual_rhythm_is_endangerment():
    # five purchase days 60 days apart, the last one 212 days ago
    row = customer(purchase_days=5, last_purchase=ago(212), first_purchase=ago(452))
    result = classify_one(row)
    assert result["reason"] == "endangerment.recency"
    assert result["facts"]["days"] == 212
    assert result["facts"]["usual"] == 60
    assert result["facts"]["signals"] == ["endangerment.recency"]
    assert describe(result["reason"], result["facts"]) == (
        "Endangerment: no purchase for 212 days, usually every 60"
    )


def test_silence_within_twice_the_usual_rhythm_is_no_risk():
    row = customer(purchase_days=5, last_purchase=ago(120), first_purchase=ago(360))
    assert classify_one(row)["reason"] == "maturity.stable"


def test_p_alive_below_one_half_is_endangerment():
    assert explained(customer(p_alive=0.31)) == (
        "endangerment.p_alive",
        "Endangerment: probability of being alive 0.31",
    )


def test_missing_p_alive_is_ignored():
    result = classify_one(customer(p_alive=np.nan))
    assert result["reason"] == "maturity.stable"


def test_revenue_down_more_than_ten_percent_is_endangerment():
    assert explained(customer(revenue_12m=800.0)) == (
        "endangerment.decline",
        "Endangerment: revenue of the last 12 months down 20 % on the 12 months before",
    )


def test_revenue_down_exactly_ten_percent_is_still_mature():
    assert classify_one(customer(revenue_12m=900.0))["reason"] == "maturity.stable"


def test_open_severe_complaint_is_endangerment():
    assert explained(customer(open_severe_complaints=2)) == (
        "endangerment.complaint",
        "Endangerment: 2 open high-severity complaints",
    )


def test_detractor_answer_in_the_last_90_days_is_endangerment():
    assert explained(customer(detractor_at=ago(90))) == (
        "endangerment.detractor",
        "Endangerment: detractor answer in a survey on 2026-03-03",
    )
    assert classify_one(customer(detractor_at=ago(91)))["reason"] == "maturity.stable"


def test_first_risk_signal_is_reported_and_all_are_kept():
    row = customer(
        p_alive=0.4,
        open_severe_complaints=1,
        purchase_days=5,
        last_purchase=ago(212),
        first_purchase=ago(452),
    )
    result = classify_one(row)
    assert result["reason"] == "endangerment.p_alive"
    assert result["facts"]["signals"] == [
        "endangerment.p_alive",
        "endangerment.recency",
        "endangerment.complaint",
    ]
    assert result["facts"]["complaints"] == 1
    assert describe(result["reason"], result["facts"]) == (
        "Endangerment: probability of being alive 0.40 (and 2 more risk signals)"
    )


# 6. Socialization


def test_first_purchase_less_than_180_days_ago_is_socialization():
    row = customer(
        purchase_days=2,
        first_purchase=ago(35),
        last_purchase=ago(5),
        revenue_prev_12m=0.0,
    )
    assert explained(row) == (
        "socialization.new",
        "Socialization: first purchase 35 days ago",
    )


def test_single_purchase_customer_stays_in_socialization():
    row = customer(purchase_days=1, first_purchase=ago(300), last_purchase=ago(300))
    assert explained(row) == (
        "socialization.few_purchases",
        "Socialization: only 1 purchase so far",
    )


def _one_time_buyer_among_repeat_customers(days: int, **rules) -> dict:
    """Repeat customers with usual intervals of 20, 50 and 60 days (median 50) and a
    customer who bought once, ``days`` ago."""
    rows = [
        customer(party_id=1, purchase_days=3, first_purchase=ago(50), last_purchase=ago(10)),
        customer(party_id=2, purchase_days=5, first_purchase=ago(210), last_purchase=ago(10)),
        customer(party_id=3, purchase_days=4, first_purchase=ago(190), last_purchase=ago(10)),
        customer(party_id=4, purchase_days=1, first_purchase=ago(days), last_purchase=ago(days)),
    ]
    result = classify(pd.DataFrame(rows), AS_OF, LifecycleRules(**rules))
    return result.iloc[3].to_dict()


def test_one_time_buyer_is_endangered_after_twice_the_median_repeat_interval():
    assert _one_time_buyer_among_repeat_customers(100)["reason"] == "socialization.new"
    row = _one_time_buyer_among_repeat_customers(101)
    assert (row["phase"], row["reason"]) == ("endangerment", "endangerment.one_purchase")
    assert row["facts"] == {
        "p_alive": None,
        "days": 101,
        "median": 50,
        "factor": 2.0,
        "change_pct": 0.0,
        "complaints": 0,
        "detractor_at": None,
        "signals": ["endangerment.one_purchase"],
    }
    assert describe(row["reason"], row["facts"]) == (
        "Endangerment: one purchase only, 101 days ago; repeat customers buy every 50 days "
        "(median), and 2 × that has passed"
    )
    with translation.override("de"):
        assert describe(row["reason"], row["facts"]) == (
            "Gefährdung: nur ein Kauf, vor 101 Tagen; Stammkunden kaufen im Median alle 50 "
            "Tage, und das 2-Fache davon ist verstrichen"
        )


def test_one_time_buyers_follow_the_recency_factor_and_a_given_median():
    assert _one_time_buyer_among_repeat_customers(140, recency_factor=3.0)["reason"] == (
        "socialization.new"
    )
    row = customer(purchase_days=1, first_purchase=ago(300), last_purchase=ago(300))
    result = classify(pd.DataFrame([row]), AS_OF, median_interval=100.0)
    assert result["reason"].iat[0] == "endangerment.one_purchase"


def test_first_purchase_180_days_ago_ends_socialization():
    row = customer(purchase_days=3, first_purchase=ago(180), last_purchase=ago(20))
    assert classify_one(row)["phase"] != "socialization"


# 7. Growth and 8. Maturity


def test_revenue_up_more_than_ten_percent_is_growth():
    result = classify_one(customer(revenue_12m=1240.0))
    assert result["phase"] == "growth"
    assert result["facts"]["change_pct"] == 24.0
    assert describe(result["reason"], result["facts"]) == (
        "Growth: revenue of the last 12 months up 24 % on the 12 months before"
    )


def test_revenue_up_exactly_ten_percent_is_maturity():
    assert classify_one(customer(revenue_12m=1100.0))["phase"] == "maturity"


def test_first_revenue_after_a_year_without_is_growth():
    assert explained(customer(revenue_12m=500.0, revenue_prev_12m=0.0)) == (
        "growth.revenue_up",
        "Growth: revenue of 500.00 in the last 12 months, none in the 12 months before",
    )


def test_steady_repeat_customer_is_mature():
    assert explained(customer()) == (
        "maturity.stable",
        "Maturity: repeat customer, revenue within ±10 %",
    )


def test_maturity_text_follows_uneven_thresholds():
    result = classify_one(customer(revenue_12m=1150.0), growth_pct=20.0, decline_pct=5.0)
    assert describe(result["reason"], result["facts"]) == (
        "Maturity: repeat customer, revenue between −5 % and +20 %"
    )


# Precedence conflicts


def test_abstinence_outranks_announced_termination():
    row = customer(last_purchase=ago(400), terminated=True)
    assert classify_one(row)["reason"] == "abstinence.no_purchase"


def test_ended_contract_is_reported_before_long_silence():
    row = customer(last_purchase=ago(400), contract_end=ago(10))
    assert classify_one(row)["reason"] == "abstinence.contract_ended"


def test_dissolution_outranks_endangerment():
    row = customer(terminated=True, p_alive=0.1, open_severe_complaints=3)
    assert classify_one(row)["reason"] == "dissolution.terminated"


def test_endangerment_outranks_socialization():
    row = customer(purchase_days=1, first_purchase=ago(20), last_purchase=ago(20), p_alive=0.3)
    assert classify_one(row)["reason"] == "endangerment.p_alive"


def test_socialization_outranks_growth():
    row = customer(
        purchase_days=3, first_purchase=ago(100), last_purchase=ago(10), revenue_prev_12m=0.0
    )
    assert classify_one(row)["reason"] == "socialization.new"


def test_decline_outranks_maturity_but_growth_needs_no_risk():
    rows = [customer(party_id=1, revenue_12m=700.0), customer(party_id=2, revenue_12m=1500.0)]
    result = classify(pd.DataFrame(rows), AS_OF)
    assert result["phase"].tolist() == ["endangerment", "growth"]


# The frame as a whole


def _mixture() -> pd.DataFrame:
    return pd.DataFrame(
        [
            prospect(party_id=1),
            prospect(party_id=2, contract_end=ago(3)),
            customer(party_id=3, last_purchase=ago(400)),
            customer(party_id=4, terminated=True, contract_end=ago(-20)),
            customer(party_id=5, contract_end=ago(-20)),
            customer(party_id=6, p_alive=0.1),
            customer(party_id=7, prev_phase="abstinence", prev_since=ago(60)),
            customer(party_id=8, p_alive=0.3, open_severe_complaints=1),
            customer(party_id=9, purchase_days=5, last_purchase=ago(212), first_purchase=ago(452)),
            customer(party_id=10, revenue_12m=10.0),
            customer(party_id=11, detractor_at=ago(5)),
            customer(party_id=12, open_severe_complaints=1),
            customer(party_id=13, purchase_days=2, first_purchase=ago(35), last_purchase=ago(5)),
            customer(party_id=14, purchase_days=1, first_purchase=ago(300), last_purchase=ago(300)),
            customer(party_id=15, revenue_12m=2000.0),
            customer(party_id=16),
            # One purchase each; the repeat customers' median interval is 870 / 9 ≈ 97 days.
            customer(party_id=17, purchase_days=1, first_purchase=ago(185), last_purchase=ago(185)),
            # A complaint's resolution rated 2 of 5 (kreis.service.rating).
            customer(
                party_id=18, poor_rating_at=ago(5), poor_rating=2, poor_rating_case=2026e9 + 7
            ),
        ],
        index=pd.RangeIndex(100, 118),
    )


def test_every_reason_has_its_own_explanation():
    result = classify(_mixture(), AS_OF)
    assert sorted(result["reason"].astype(str)) == sorted(REASONS)
    rows = zip(result["phase"], result["reason"], result["facts"], strict=True)
    for phase, reason, facts in rows:
        text = describe(reason, facts)
        assert text.startswith(f"{Phase(phase).label}: ")
        assert "computed from the customer's data" not in text


def test_output_keeps_index_order_and_plain_json_facts():
    features = _mixture().iloc[::-1]
    result = classify(features, AS_OF)
    assert list(result.columns) == list(OUTPUT_COLUMNS)
    assert result.index.equals(features.index)
    assert result["party_id"].tolist() == features["party_id"].tolist()
    payload = json.dumps(result["facts"].tolist(), allow_nan=False)
    assert json.loads(payload) == result["facts"].tolist()
    assert set(result["phase"].astype(str)) <= set(PHASES)
    assert {MAIN_PHASE[phase] for phase in result["phase"]} == {
        "acquisition",
        "retention",
        "recovery",
    }


def test_numpy_day_dates_give_the_same_result_as_python_dates():
    features = _mixture()
    as_numpy = features.copy()
    dates = ("first_purchase", "last_purchase", "contract_end", "detractor_at", "poor_rating_at")
    for column in dates:
        as_numpy[column] = pd.to_datetime(features[column]).to_numpy(dtype="datetime64[D]")
    for column in ("prev_since", "won_back_at"):
        as_numpy[column] = pd.to_datetime(features[column])
    expected = classify(features, AS_OF)
    actual = classify(as_numpy, AS_OF)
    assert actual["reason"].tolist() == expected["reason"].tolist()
    assert actual["facts"].tolist() == expected["facts"].tolist()


def test_empty_frame_gives_empty_result():
    result = classify(pd.DataFrame(columns=list(customer())), AS_OF)
    assert result.empty
    assert list(result.columns) == list(OUTPUT_COLUMNS)


def test_missing_feature_column_is_named():
    with pytest.raises(ValueError, match="p_alive"):
        classify(pd.DataFrame([customer()]).drop(columns="p_alive"), AS_OF)


# Explanations that cannot be built never break a page


def test_unknown_reason_gets_a_generic_text():
    assert describe("manual.override", {}) == "Lifecycle phase computed from the customer's data"


def test_reason_with_incomplete_facts_gets_the_phase_only():
    assert describe("endangerment.recency", {"days": 3}) == (
        "Endangerment: computed from the customer's data"
    )
    assert describe("growth.revenue_up", None) == "Growth: computed from the customer's data"


# Transitions as a sankey


def test_sankey_is_acyclic_and_keeps_counts():
    rows = [
        ("", "initiation", 5),
        ("growth", "maturity", 3),
        ("maturity", "growth", 2),
        ("growth", "maturity", 1),
        ("maturity", "endangerment", 0),
    ]
    chart = transitions_sankey(rows)
    names = [node["name"] for node in chart["nodes"]]
    assert len(names) == len(set(names))
    assert names == ["New ›", "Growth ›", "Maturity ›", "› Initiation", "› Growth", "› Maturity"]
    depth = {node["name"]: node["depth"] for node in chart["nodes"]}
    assert all(depth[link["source"]] == 0 and depth[link["target"]] == 1 for link in chart["links"])
    assert chart["links"] == [
        {"source": "New ›", "target": "› Initiation", "value": 5},
        {"source": "Growth ›", "target": "› Maturity", "value": 4},
        {"source": "Maturity ›", "target": "› Growth", "value": 2},
    ]
    assert sum(link["value"] for link in chart["links"]) == 11


def test_sankey_of_no_transitions_is_empty():
    assert transitions_sankey([]) == {"nodes": [], "links": []}


def test_json_facts_equal_the_dict_facts_over_many_mixed_rows():
    rng = np.random.default_rng(7)
    rows = []
    for i in range(400):
        last = int(rng.integers(0, 900))
        rows.append(
            customer(
                party_id=i,
                purchase_days=int(rng.integers(0, 12)),
                first_purchase=ago(last + int(rng.integers(0, 400))),
                last_purchase=ago(last),
                revenue_12m=float(rng.choice([0.0, 99.99, 1234.567, 1e7])),
                revenue_prev_12m=float(rng.choice([0.0, 100.0, 5000.0])),
                p_alive=float(rng.choice([np.nan, 0.05, 0.3333333, 0.9])),
                terminated=bool(rng.random() < 0.05),
                contract_end=ago(int(rng.integers(-60, 60))) if rng.random() < 0.1 else None,
                open_severe_complaints=int(rng.random() < 0.05),
                prev_phase=str(rng.choice(["", "abstinence", "maturity"])),
                prev_since=ago(500) if rng.random() < 0.5 else None,
            )
        )
    frame = pd.DataFrame(rows)
    as_dicts = classify(frame, AS_OF)
    as_json = classify(frame, AS_OF, facts_as_json=True)
    assert len(set(as_dicts["reason"])) >= 6  # many reasons, so many fact layouts
    assert [json.loads(text) for text in as_json["facts"]] == list(as_dicts["facts"])
