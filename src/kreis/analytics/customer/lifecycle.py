"""Customer relationship lifecycle phase (DOMAIN.md §2), computed for many customers at once.

`classify` takes one row per party and returns its phase, a reason code and the facts behind it.
The first matching rule wins (thresholds come from `LifecycleRules`):

1. No purchase at all → initiation (``initiation.no_purchase``), unless a contract has
   ended → abstinence (``abstinence.contract_ended``).
2. Abstinence: contract ended (``contract_end`` ≤ as_of, reported first) or the last purchase
   more than ``abstinence_days`` ago (``abstinence.no_purchase``).
3. Dissolution: termination announced (``dissolution.terminated``), a contract end set in the
   future (``dissolution.contract_end``), or P(alive) < ``dissolution_p_alive``
   (``dissolution.p_alive``).
4. Win-back: previous phase abstinence and a purchase after the abstinence began →
   socialization (``socialization.won_back``); the win-back date is the last purchase. For
   ``socialization_days`` after it the customer stays in socialization, as after a first purchase.
5. Endangerment, any risk signal, reported in this order while the facts list all of them:
   P(alive) < ``endangered_p_alive``; days since the last purchase > ``recency_factor`` × the
   typical inter-purchase time ((last − first) / (purchase days − 1), two purchase days or more);
   for a customer with a single purchase day, days since it > ``recency_factor`` × the median
   typical inter-purchase time of the repeat customers (``endangerment.one_purchase``: BG/NBD
   gives one-time buyers P(alive) = 1, so silence is their only signal); trailing-12-month
   revenue more than ``decline_pct`` below the 12 months before; an open high-severity
   complaint; a detractor NPS answer in the last ``detractor_days``; a resolution rating of 1 or
   2 (of 5) of a complaint case in the same window (``endangerment.poor_rating``).
6. Socialization: first purchase less than ``socialization_days`` ago (``socialization.new``)
   or fewer than ``min_repeat_purchases`` purchase days (``socialization.few_purchases``).
7. Growth: trailing-12-month revenue more than ``growth_pct`` above the 12 months before, or any
   revenue after none (``growth.revenue_up``).
8. Maturity: everything else (``maturity.stable``).

A purchase after the contract end supersedes that ended contract and its termination flag, so
a customer who left with the contract can be won back by buying again (DOMAIN.md: "a transaction
after abstinence marks the customer won back"). A missing P(alive) (NaN: no model) never
triggers a rule.
"""

from __future__ import annotations

import dataclasses
import datetime
import gc
import json
from collections.abc import Callable, Iterable
from itertools import repeat
from typing import Any

import numpy as np
import pandas as pd
from django.db import models
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from kreis.parties.models import LifecyclePhase

PHASES = (
    "initiation",
    "socialization",
    "growth",
    "maturity",
    "endangerment",
    "dissolution",
    "abstinence",
)

MAIN_PHASE = {
    "initiation": "acquisition",
    "socialization": "acquisition",
    "growth": "retention",
    "maturity": "retention",
    "endangerment": "recovery",
    "dissolution": "recovery",
    "abstinence": "recovery",
}


# The phases are the party's vocabulary (stored on it); the engine lives here.
Phase = LifecyclePhase


class MainPhase(models.TextChoices):
    ACQUISITION = "acquisition", gettext_lazy("Acquisition")
    RETENTION = "retention", gettext_lazy("Retention")
    RECOVERY = "recovery", gettext_lazy("Recovery")


PHASE_LABELS = {choice.value: choice.label for choice in Phase}
MAIN_LABELS = {choice.value: choice.label for choice in MainPhase}

# Precedence order: np.select picks the first condition that holds. The phase is the prefix.
REASONS = (
    "abstinence.contract_ended",
    "initiation.no_purchase",
    "abstinence.no_purchase",
    "dissolution.terminated",
    "dissolution.contract_end",
    "dissolution.p_alive",
    "socialization.won_back",
    "endangerment.p_alive",
    "endangerment.recency",
    "endangerment.one_purchase",
    "endangerment.decline",
    "endangerment.complaint",
    "endangerment.detractor",
    "endangerment.poor_rating",
    "socialization.new",
    "socialization.few_purchases",
    "growth.revenue_up",
    "maturity.stable",
)
_REASON_INDEX = {reason: i for i, reason in enumerate(REASONS)}
_RISK_SIGNALS = REASONS[7:14]

INPUT_COLUMNS = (
    "party_id",
    "purchase_days",
    "first_purchase",
    "last_purchase",
    "revenue_12m",
    "revenue_prev_12m",
    "p_alive",
    "terminated",
    "contract_end",
    "open_severe_complaints",
    "detractor_at",
    "prev_phase",
    "prev_since",
    "won_back_at",
)
OUTPUT_COLUMNS = ("party_id", "phase", "reason", "facts", "won_back", "won_back_at")


@dataclasses.dataclass(frozen=True)
class LifecycleRules:
    """Thresholds of the lifecycle rules; the defaults are those of DOMAIN.md §2."""

    socialization_days: int = 180
    min_repeat_purchases: int = 2
    growth_pct: float = 10.0
    decline_pct: float = 10.0
    endangered_p_alive: float = 0.5
    dissolution_p_alive: float = 0.2
    recency_factor: float = 2.0
    abstinence_days: int = 365
    detractor_days: int = 90


def classify(
    features: pd.DataFrame,
    as_of: datetime.date,
    rules: LifecycleRules = LifecycleRules(),
    *,
    facts_as_json: bool = False,
    median_interval: float | None = None,
) -> pd.DataFrame:
    """Phase, reason code, facts and win-back state per party, by the rules of the module doc.

    ``median_interval`` is the median typical inter-purchase time (days) of the repeat
    customers, against which one-time buyers are measured; by default it is taken from the
    rows given (the nightly run classifies every customer at once).

    Dates become day numbers (float, NaN for NaT) so that every comparison with a missing date
    is simply false. ``facts_as_json`` gives each row's facts as JSON text, built column-wise
    (the nightly run stores it; a million ``json.dumps`` would take seconds).
    """
    missing = [column for column in INPUT_COLUMNS if column not in features.columns]
    if missing:
        raise ValueError(f"lifecycle features lack columns: {', '.join(missing)}")
    today = float(np.datetime64(as_of, "D").astype(np.int64))

    purchases = _numbers(features["purchase_days"], fill=0.0)
    last = _days(features["last_purchase"])
    first = _days(features["first_purchase"])
    first = np.where(np.isnan(first), last, first)
    revenue = _numbers(features["revenue_12m"], fill=0.0)
    revenue_prev = _numbers(features["revenue_prev_12m"], fill=0.0)
    p_alive = _numbers(features["p_alive"])
    terminated = _numbers(features["terminated"], fill=0.0) != 0
    contract_end = _days(features["contract_end"])
    complaints = _numbers(features["open_severe_complaints"], fill=0.0)
    # The oldest open severe case as a number code (kreis.service.models.case_number_code),
    # named in the reason; optional, as callers without cases leave it out.
    complaint_case = (
        _numbers(features["complaint_case"])
        if "complaint_case" in features
        else np.full(len(features), np.nan)
    )
    detractor_at = _days(features["detractor_at"])
    # The last poor resolution rating (kreis.service.rating): its day, its value and its
    # case's number code; optional, as callers without cases leave them out.
    poor_rating_at = (
        _days(features["poor_rating_at"])
        if "poor_rating_at" in features
        else np.full(len(features), np.nan)
    )
    poor_rating, poor_rating_case = (
        _numbers(features[name]) if name in features else np.full(len(features), np.nan)
        for name in ("poor_rating", "poor_rating_case")
    )
    prev_abstinent = (
        features["prev_phase"].eq(Phase.ABSTINENCE.value).to_numpy(dtype=bool, na_value=False)
    )
    prev_since = _days(features["prev_since"])
    won_back_before = _days(features["won_back_at"])

    since_last = today - last
    since_first = today - first
    no_purchase = (purchases <= 0) | np.isnan(last)
    bought_after_end = last > contract_end
    contract_ended = (contract_end <= today) & ~bought_after_end
    announced = terminated & ~bought_after_end

    detected = ~no_purchase & prev_abstinent & (last > prev_since)
    won_back_at = np.where(detected, last, won_back_before)
    restarting = detected | (today - won_back_at < rules.socialization_days)

    typical = np.divide(
        last - first, purchases - 1, out=np.full(len(features), np.nan), where=purchases >= 2
    )
    if median_interval is None:
        intervals = typical[np.isfinite(typical) & (typical > 0)]
        median_interval = float(np.median(intervals)) if intervals.size else np.nan
    median = np.full(len(features), median_interval, dtype=np.float64)
    one_purchase = purchases == 1
    change_pct = np.divide(
        (revenue - revenue_prev) * 100.0,
        revenue_prev,
        out=np.full(len(features), np.nan),
        where=revenue_prev > 0,
    )
    since_detractor = today - detractor_at
    since_poor_rating = today - poor_rating_at
    risks = (
        p_alive < rules.endangered_p_alive,
        (typical > 0) & (since_last > rules.recency_factor * typical),
        one_purchase & (median > 0) & (since_last > rules.recency_factor * median),
        change_pct < -rules.decline_pct,
        complaints > 0,
        (since_detractor >= 0) & (since_detractor <= rules.detractor_days),
        (since_poor_rating >= 0) & (since_poor_rating <= rules.detractor_days),
    )
    conditions = (
        contract_ended,
        no_purchase,
        since_last > rules.abstinence_days,
        announced,
        contract_end > today,
        p_alive < rules.dissolution_p_alive,
        restarting,
        *risks,
        since_first < rules.socialization_days,
        purchases < rules.min_repeat_purchases,
        np.where(revenue_prev > 0, change_pct > rules.growth_pct, revenue > 0),
    )
    code = np.select(conditions, range(len(conditions)), default=len(REASONS) - 1).astype(np.int8)
    won_back = detected & (code == _REASON_INDEX["socialization.won_back"])
    won_back_at = np.where(won_back, last, won_back_before)

    # Categoricals: a million short strings would cost more than the whole classification.
    reasons = pd.Categorical.from_codes(code, categories=REASONS)
    phase_codes = np.asarray([PHASES.index(reason.split(".", 1)[0]) for reason in REASONS])
    phases = pd.Categorical.from_codes(phase_codes[code], categories=PHASES)
    facts = (_facts_json if facts_as_json else _facts)(
        code,
        rules,
        purchases=purchases,
        since_last=since_last,
        since_first=since_first,
        first=first,
        last=last,
        typical=typical,
        median=median,
        revenue=revenue,
        revenue_prev=revenue_prev,
        change_pct=change_pct,
        p_alive=p_alive,
        contract_end=contract_end,
        days_left=contract_end - today,
        complaints=complaints,
        complaint_case=complaint_case,
        detractor_at=detractor_at,
        poor_rating_at=poor_rating_at,
        poor_rating=poor_rating,
        poor_rating_case=poor_rating_case,
        won_back_at=won_back_at,
        since_won_back=today - won_back_at,
        abstinent_since=np.where(won_back, prev_since, np.nan),
        risks=risks,
    )
    return pd.DataFrame(
        {
            "party_id": features["party_id"].to_numpy(),
            "phase": phases,
            "reason": reasons,
            "facts": facts,
            "won_back": won_back,
            "won_back_at": _dates(won_back_at),
        },
        index=features.index,
    )


def _numbers(column: pd.Series, fill: float = np.nan) -> np.ndarray:
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    if not np.isnan(fill):
        values = np.where(np.isnan(values), fill, values)
    return values


def _days(column: pd.Series) -> np.ndarray:
    """Day numbers since 1970-01-01 as float, NaN where the date is missing."""
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        column = column.dt.tz_localize(None)
    elif column.dtype.kind != "M":
        column = pd.to_datetime(column)
    raw = column.to_numpy(dtype="datetime64[D]")
    days = raw.astype(np.int64).astype(np.float64)
    days[np.isnat(raw)] = np.nan
    return days


def _dates(days: np.ndarray) -> np.ndarray:
    missing = np.isnan(days)
    raw = np.where(missing, 0, days).astype(np.int64).astype("datetime64[D]")
    raw[missing] = np.datetime64("NaT")
    return raw.astype("datetime64[s]")


# Converters from numpy to plain Python values (None for missing) for the JSON facts; a
# missing-free column skips the slower object-array path.
def _ints(values: np.ndarray) -> list:
    missing = np.isnan(values)
    plain = np.rint(np.where(missing, 0, values)).astype(np.int64)
    if not missing.any():
        return plain.tolist()
    boxed = plain.astype(object)
    boxed[missing] = None
    return boxed.tolist()


def _rounded(digits: int) -> Callable[[np.ndarray], list]:
    def convert(values: np.ndarray) -> list:
        missing = np.isnan(values)
        plain = np.round(values, digits)
        if not missing.any():
            return plain.tolist()
        boxed = plain.astype(object)
        boxed[missing] = None
        return boxed.tolist()

    return convert


def _iso(values: np.ndarray) -> list:
    """ISO dates; formats each distinct day once, as datetime_as_string is slow per element."""
    missing = np.isnan(values)
    if missing.all():
        return [None] * len(values)
    days = values[~missing].astype(np.int64)
    low, high = int(days.min()), int(days.max())
    if high - low < 50_000:
        table = np.arange(low, high + 1)
        positions = days - low
    else:
        table, positions = np.unique(days, return_inverse=True)
    text = np.datetime_as_string(table.astype("datetime64[D]")).astype(object)
    boxed = np.full(len(values), None, dtype=object)
    boxed[~missing] = text[positions]
    return boxed.tolist()


_FactSpec = dict[str, tuple[str, Callable[[np.ndarray], list]] | Any]

_MONEY = _rounded(2)
_PCT = _rounded(1)
_PROBABILITY = _rounded(3)
_ENDANGERMENT: _FactSpec = {
    "p_alive": ("p_alive", _PROBABILITY),
    "days": ("since_last", _ints),
    "usual": ("typical", _ints),
    "change_pct": ("change_pct", _PCT),
    "complaints": ("complaints", _ints),
    "detractor_at": ("detractor_at", _iso),
}


def _fact_specs(rules: LifecycleRules) -> dict[str, _FactSpec]:
    """Which facts each reason keeps: (array name, converter) pairs, or constants."""
    revenue: _FactSpec = {
        "revenue_12m": ("revenue", _MONEY),
        "revenue_prev_12m": ("revenue_prev", _MONEY),
        "change_pct": ("change_pct", _PCT),
    }
    return {
        "abstinence.contract_ended": {
            "contract_end": ("contract_end", _iso),
            "days": ("since_last", _ints),
        },
        "initiation.no_purchase": {"purchases": 0},
        "abstinence.no_purchase": {
            "days": ("since_last", _ints),
            "last_purchase": ("last", _iso),
            "limit": rules.abstinence_days,
        },
        "dissolution.terminated": {"contract_end": ("contract_end", _iso)},
        "dissolution.contract_end": {
            "contract_end": ("contract_end", _iso),
            "days_left": ("days_left", _ints),
        },
        "dissolution.p_alive": {
            "p_alive": ("p_alive", _PROBABILITY),
            "limit": rules.dissolution_p_alive,
        },
        "socialization.won_back": {
            "won_back_at": ("won_back_at", _iso),
            "days": ("since_won_back", _ints),
            "abstinent_since": ("abstinent_since", _iso),
        },
        **dict.fromkeys(_RISK_SIGNALS, _ENDANGERMENT),
        "endangerment.complaint": {**_ENDANGERMENT, "case": ("complaint_case", _ints)},
        "endangerment.poor_rating": {
            **_ENDANGERMENT,
            "rating": ("poor_rating", _ints),
            "case": ("poor_rating_case", _ints),
            "rated_at": ("poor_rating_at", _iso),
        },
        "endangerment.one_purchase": {
            "p_alive": ("p_alive", _PROBABILITY),
            "days": ("since_last", _ints),
            "median": ("median", _ints),
            "factor": rules.recency_factor,
            "change_pct": ("change_pct", _PCT),
            "complaints": ("complaints", _ints),
            "detractor_at": ("detractor_at", _iso),
        },
        "socialization.new": {
            "days": ("since_first", _ints),
            "first_purchase": ("first", _iso),
            "limit": rules.socialization_days,
        },
        "socialization.few_purchases": {
            "purchases": ("purchases", _ints),
            "limit": rules.min_repeat_purchases,
        },
        "growth.revenue_up": {**revenue, "limit": rules.growth_pct},
        "maturity.stable": {
            "purchases": ("purchases", _ints),
            **revenue,
            "growth_pct": rules.growth_pct,
            "decline_pct": rules.decline_pct,
        },
    }


def _facts(
    code: np.ndarray,
    rules: LifecycleRules,
    *,
    risks: tuple[np.ndarray, ...],
    **arrays: np.ndarray,
) -> np.ndarray:
    """One dict of plain values per row, built column-wise for each reason's rows."""
    facts = np.empty(len(code), dtype=object)
    risk_bits = sum(risk.astype(np.int8) << bit for bit, risk in enumerate(risks))
    signal_names = [
        [signal for bit, signal in enumerate(_RISK_SIGNALS) if mask >> bit & 1]
        for mask in range(1 << len(_RISK_SIGNALS))
    ]
    # A million new dicts would trigger the cyclic garbage collector over and over (they
    # cannot form cycles); pausing it halves the time.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for reason, spec in _fact_specs(rules).items():
            rows = np.flatnonzero(code == _REASON_INDEX[reason])
            if not len(rows):
                continue
            keys = list(spec)
            columns = [_fact_column(value, arrays, rows) for value in spec.values()]
            if reason in _RISK_SIGNALS:
                keys.append("signals")
                columns.append([list(signal_names[mask]) for mask in risk_bits[rows].tolist()])
            facts[rows] = _records(keys, columns)
    finally:
        if collecting:
            gc.enable()
    return facts


# The same facts as JSON text, column by column: each value becomes its JSON literal with NumPy,
# then the literals of a row are joined. Parsed, they equal ``_facts``'s dicts (tested).
_JSON_OF = {_ints: "int", _MONEY: 2, _PCT: 1, _PROBABILITY: 3, _iso: "date"}


def _json_literals(kind: Any, values: np.ndarray) -> list[str]:
    missing = ~np.isfinite(values)  # JSON has no NaN or infinity
    if kind == "int":
        text = list(map(str, np.rint(np.where(missing, 0, values)).astype(np.int64).tolist()))
    elif kind == "date":
        return ["null" if v is None else f'"{v}"' for v in _iso(values)]
    else:
        text = list(map(repr, np.round(np.where(missing, 0.0, values), kind).tolist()))
    if missing.any():
        for i in np.flatnonzero(missing).tolist():
            text[i] = "null"
    return text


def _facts_json(
    code: np.ndarray,
    rules: LifecycleRules,
    *,
    risks: tuple[np.ndarray, ...],
    **arrays: np.ndarray,
) -> np.ndarray:
    facts = np.empty(len(code), dtype=object)
    risk_bits = sum(risk.astype(np.int8) << bit for bit, risk in enumerate(risks))
    signal_json = [
        json.dumps([signal for bit, signal in enumerate(_RISK_SIGNALS) if mask >> bit & 1])
        for mask in range(1 << len(_RISK_SIGNALS))
    ]
    for reason, spec in _fact_specs(rules).items():
        rows = np.flatnonzero(code == _REASON_INDEX[reason])
        if not len(rows):
            continue
        # One template per reason; constants written in, the columns' literals filled per row.
        parts, columns = [], []
        for key, value in spec.items():
            if isinstance(value, tuple):
                name, convert = value
                parts.append(f"{json.dumps(key)}: %s")
                columns.append(_json_literals(_JSON_OF[convert], arrays[name][rows]))
            else:
                parts.append(f"{json.dumps(key)}: {json.dumps(value)}".replace("%", "%%"))
        if reason in _RISK_SIGNALS:
            parts.append('"signals": %s')
            columns.append([signal_json[bits] for bits in risk_bits[rows].tolist()])
        template = "{" + ", ".join(parts) + "}"
        if columns:
            facts[rows] = [template % values for values in zip(*columns, strict=True)]
        else:
            facts[rows] = template % ()
    return facts


def _records(keys: list[str], columns: list[Iterable[Any]]) -> list[dict]:
    """Dicts from columns. Dict displays build about twice as fast as dict(zip()), which
    matters on a million rows, hence one branch per width."""
    rows = zip(*columns, strict=True)
    if len(keys) == 1:
        (k0,) = keys
        return [{k0: a} for (a,) in rows]
    if len(keys) == 2:
        k0, k1 = keys
        return [{k0: a, k1: b} for a, b in rows]
    if len(keys) == 3:
        k0, k1, k2 = keys
        return [{k0: a, k1: b, k2: c} for a, b, c in rows]
    if len(keys) == 4:
        k0, k1, k2, k3 = keys
        return [{k0: a, k1: b, k2: c, k3: d} for a, b, c, d in rows]
    if len(keys) == 6:
        k0, k1, k2, k3, k4, k5 = keys
        return [{k0: a, k1: b, k2: c, k3: d, k4: e, k5: f} for a, b, c, d, e, f in rows]
    if len(keys) == 7:
        k0, k1, k2, k3, k4, k5, k6 = keys
        return [{k0: a, k1: b, k2: c, k3: d, k4: e, k5: f, k6: g} for a, b, c, d, e, f, g in rows]
    return [dict(zip(keys, values, strict=True)) for values in rows]


def _fact_column(value: Any, arrays: dict[str, np.ndarray], rows: np.ndarray) -> Iterable[Any]:
    if isinstance(value, tuple):
        name, convert = value
        return convert(arrays[name][rows])
    return repeat(value, len(rows))


def describe(reason: str, facts: dict) -> str:
    """The one-line explanation of a reason code in the active language; never raises."""
    facts = facts if isinstance(facts, dict) else {}
    describer = _DESCRIBERS.get(reason)
    if describer is not None:
        try:
            return describer(facts)
        except (KeyError, TypeError, ValueError, AttributeError):
            pass
    phase = str(reason).split(".", 1)[0]
    if phase in PHASE_LABELS:
        return _("%(phase)s: computed from the customer's data") % {"phase": PHASE_LABELS[phase]}
    return _("Lifecycle phase computed from the customer's data")


def _number(value: float, decimals: int) -> str:
    return number_format(float(value), decimal_pos=decimals)


def _pct(value: float) -> str:
    value = round(abs(float(value)), 1)
    return number_format(value, decimal_pos=0 if value.is_integer() else 1)


def _days_ago(facts: dict) -> int:
    return int(facts["days"])


def _endangerment(text: str, facts: dict) -> str:
    others = len(facts.get("signals") or ()) - 1
    if others > 0:
        text = ngettext(
            "%(text)s (and %(count)s more risk signal)",
            "%(text)s (and %(count)s more risk signals)",
            others,
        ) % {"text": text, "count": others}
    return text


def _won_back(facts: dict) -> str:
    if facts.get("abstinent_since"):
        days = (
            datetime.date.fromisoformat(facts["won_back_at"])
            - datetime.date.fromisoformat(facts["abstinent_since"])
        ).days
        return ngettext(
            "Socialization: won back on %(date)s after %(days)s day of abstinence",
            "Socialization: won back on %(date)s after %(days)s days of abstinence",
            days,
        ) % {"date": facts["won_back_at"], "days": days}
    days = _days_ago(facts)
    return ngettext(
        "Socialization: won back on %(date)s, %(days)s day ago",
        "Socialization: won back on %(date)s, %(days)s days ago",
        days,
    ) % {"date": facts["won_back_at"], "days": days}


def _growth(facts: dict) -> str:
    if facts.get("change_pct") is None:
        return _(
            "Growth: revenue of %(revenue)s in the last 12 months, none in the 12 months before"
        ) % {"revenue": _number(facts["revenue_12m"], 2)}
    return _("Growth: revenue of the last 12 months up %(pct)s %% on the 12 months before") % {
        "pct": _pct(facts["change_pct"])
    }


def _maturity(facts: dict) -> str:
    growth, decline = facts["growth_pct"], facts["decline_pct"]
    if growth == decline:
        return _("Maturity: repeat customer, revenue within ±%(pct)s %%") % {"pct": _pct(growth)}
    return _("Maturity: repeat customer, revenue between −%(decline)s %% and +%(growth)s %%") % {
        "decline": _pct(decline),
        "growth": _pct(growth),
    }


def _dissolution_terminated(facts: dict) -> str:
    if facts.get("contract_end"):
        return _("Dissolution: termination announced, contract ends on %(date)s") % {
            "date": facts["contract_end"]
        }
    return _("Dissolution: termination announced")


def _contract_end(facts: dict) -> str:
    days = int(facts["days_left"])
    return ngettext(
        "Dissolution: contract ends on %(date)s, in %(days)s day",
        "Dissolution: contract ends on %(date)s, in %(days)s days",
        days,
    ) % {"date": facts["contract_end"], "days": days}


def _complaints(facts: dict) -> str:
    count = int(facts["complaints"])
    if facts.get("case"):
        from kreis.service.models import case_number_from_code

        number = case_number_from_code(int(facts["case"]))
        text = ngettext(
            "Endangerment: open high-severity complaint %(case)s",
            "Endangerment: %(count)s open high-severity complaints, the oldest %(case)s",
            count,
        ) % {"count": count, "case": number}
        return _endangerment(text, facts)
    text = ngettext(
        "Endangerment: %(count)s open high-severity complaint",
        "Endangerment: %(count)s open high-severity complaints",
        count,
    ) % {"count": count}
    return _endangerment(text, facts)


def _poor_rating(facts: dict) -> str:
    values = {"rating": int(facts["rating"]), "date": facts["rated_at"]}
    if facts.get("case"):
        from kreis.service.models import case_number_from_code

        values["case"] = case_number_from_code(int(facts["case"]))
        text = _(
            "Endangerment: the resolution of complaint %(case)s was rated %(rating)s of 5 on "
            "%(date)s"
        )
    else:
        text = _("Endangerment: a complaint's resolution was rated %(rating)s of 5 on %(date)s")
    return _endangerment(text % values, facts)


def _first_purchase(facts: dict) -> str:
    days = _days_ago(facts)
    return ngettext(
        "Socialization: first purchase %(days)s day ago",
        "Socialization: first purchase %(days)s days ago",
        days,
    ) % {"days": days}


def _few_purchases(facts: dict) -> str:
    count = int(facts["purchases"])
    return ngettext(
        "Socialization: only %(count)s purchase so far",
        "Socialization: only %(count)s purchases so far",
        count,
    ) % {"count": count}


_DESCRIBERS: dict[str, Callable[[dict], str]] = {
    "initiation.no_purchase": lambda facts: _("Initiation: known party, no purchase yet"),
    "abstinence.no_purchase": lambda facts: (
        _("Abstinence: no purchase for %(days)s days") % {"days": _days_ago(facts)}
    ),
    "abstinence.contract_ended": lambda facts: (
        _("Abstinence: contract ended on %(date)s") % {"date": facts["contract_end"]}
    ),
    "dissolution.terminated": _dissolution_terminated,
    "dissolution.contract_end": _contract_end,
    "dissolution.p_alive": lambda facts: (
        _("Dissolution: probability of being alive %(p)s") % {"p": _number(facts["p_alive"], 2)}
    ),
    "socialization.won_back": _won_back,
    "endangerment.p_alive": lambda facts: _endangerment(
        _("Endangerment: probability of being alive %(p)s") % {"p": _number(facts["p_alive"], 2)},
        facts,
    ),
    "endangerment.recency": lambda facts: _endangerment(
        _("Endangerment: no purchase for %(days)s days, usually every %(usual)s")
        % {"days": _days_ago(facts), "usual": int(facts["usual"])},
        facts,
    ),
    "endangerment.one_purchase": lambda facts: _endangerment(
        ngettext(
            "Endangerment: one purchase only, %(days)s day ago; repeat customers buy every "
            "%(median)s days (median), and %(factor)s × that has passed",
            "Endangerment: one purchase only, %(days)s days ago; repeat customers buy every "
            "%(median)s days (median), and %(factor)s × that has passed",
            _days_ago(facts),
        )
        % {
            "days": _days_ago(facts),
            "median": int(facts["median"]),
            "factor": _pct(facts["factor"]),
        },
        facts,
    ),
    "endangerment.decline": lambda facts: _endangerment(
        _("Endangerment: revenue of the last 12 months down %(pct)s %% on the 12 months before")
        % {"pct": _pct(facts["change_pct"])},
        facts,
    ),
    "endangerment.complaint": _complaints,
    "endangerment.detractor": lambda facts: _endangerment(
        _("Endangerment: detractor answer in a survey on %(date)s")
        % {"date": facts["detractor_at"]},
        facts,
    ),
    "endangerment.poor_rating": _poor_rating,
    "socialization.new": _first_purchase,
    "socialization.few_purchases": _few_purchases,
    "growth.revenue_up": _growth,
    "maturity.stable": _maturity,
}


def transitions_sankey(rows: list[tuple[str, str, int]]) -> dict:
    """ECharts sankey data for phase transitions (from_phase, to_phase, count).

    Left and right nodes get distinct names ("Growth ›", "› Maturity") because a sankey must be
    acyclic; '' (no previous phase) is the node "New ›". Repeated pairs are summed, non-positive
    counts dropped.
    """
    totals: dict[tuple[str, str], int] = {}
    for source, target, count in rows:
        key = (source or "", target or "")
        totals[key] = totals.get(key, 0) + int(count)
    totals = {key: count for key, count in totals.items() if count > 0}

    def order(phase: str) -> tuple[int, str]:
        if not phase:
            return (0, "")
        return (PHASES.index(phase) + 1 if phase in PHASES else len(PHASES) + 1, phase)

    def label(phase: str) -> str:
        return str(PHASE_LABELS.get(phase, phase)) if phase else _("New")

    sources = sorted({source for source, _target in totals}, key=order)
    targets = sorted({target for _source, target in totals}, key=order)
    source_names = {phase: _("%(phase)s ›") % {"phase": label(phase)} for phase in sources}
    target_names = {phase: _("› %(phase)s") % {"phase": label(phase)} for phase in targets}
    nodes = [
        {"name": source_names[phase], "id": f"from:{phase or 'new'}", "phase": phase, "depth": 0}
        for phase in sources
    ] + [
        {"name": target_names[phase], "id": f"to:{phase}", "phase": phase, "depth": 1}
        for phase in targets
    ]
    links = [
        {"source": source_names[source], "target": target_names[target], "value": count}
        for (source, target), count in sorted(
            totals.items(), key=lambda item: (order(item[0][0]), order(item[0][1]))
        )
    ]
    return {"nodes": nodes, "links": links}
