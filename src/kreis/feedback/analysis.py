"""Survey scores (DOMAIN.md §3): CSAT, NPS with its confidence interval, the loyalty index and
the confirmation/disconfirmation shares of expectation-vs-performance items.

Notation. For a question, n_v is the number of answers with value v.

* **CSAT** (1–5 scale) = (n_4 + n_5) / n × 100: the share of satisfied answers, in per cent.
* **NPS** (0–10) = (P − D) / n × 100 with promoters P = n_9 + n_10, detractors
  D = n_0 + … + n_6 (passives 7–8 count in n only). Scoring each respondent s = +1 (promoter),
  0 (passive), −1 (detractor), NPS/100 is the mean of s, so its variance is
  Var(s) = p_P + p_D − (p_P − p_D)² with p_P = P/n, p_D = D/n, and the 95 % confidence
  interval (normal approximation) is NPS ± 1.96 × 100 × √(Var(s) / n), clipped to [−100, 100].
* **Loyalty index** from the four factors (recommend, repurchase, comparison, switching): each
  factor's answers are normalised to 0–100 (0–10 scale: 10·v; 1–5 scale: 25·(v − 1)),
  switching reversed (100 − x); the index is the mean of the factors' mean scores, over the
  factors the survey asks. For one respondent: the mean of their normalised factor answers.
* **Expectation vs. performance** (SOLL/IST, 1–5 each): per answer, performance > expectation
  is *delighted*, = *satisfied*, < *dissatisfied*; the item shows each share of the answers.

The counts come from SQL aggregates (``GROUP BY question, value``), never from one Python
object per answer: 100,000 answers are a few hundred grouped rows.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.db.models import Avg, Count, Q, Sum

from kreis.feedback.models import Answer, LoyaltyFactor, QuestionKind, Response, Survey

Z_95 = 1.959963984540054

CSAT_FORMULA = "CSAT = (n(4) + n(5)) / n × 100"
NPS_FORMULA = (
    "NPS = (promoters 9–10 − detractors 0–6) / n × 100; 95 % CI = NPS ± 1.96 × 100 × "
    "√((p_P + p_D − (p_P − p_D)²) / n)"
)
LOYALTY_FORMULA = (
    "Loyalty = mean of the factors' mean scores; each answer normalised to 0–100 "
    "(0–10: 10·v, 1–5: 25·(v − 1)), switching reversed (100 − x)"
)
EXPECTATION_FORMULA = (
    "per answer: performance > expectation = delighted, = satisfied, < dissatisfied"
)


@dataclass(frozen=True)
class NpsResult:
    n: int
    promoters: int
    passives: int
    detractors: int
    nps: float | None
    ci_low: float | None
    ci_high: float | None


def csat(counts: Mapping[int, int]) -> float | None:
    """Share of 4–5 answers on a 1–5 scale, in per cent; None without answers."""
    n = sum(c for v, c in counts.items() if 1 <= v <= 5)
    if not n:
        return None
    return 100.0 * (counts.get(4, 0) + counts.get(5, 0)) / n


def nps(counts: Mapping[int, int]) -> NpsResult:
    """NPS and its 95 % confidence interval from the counts of the answers 0–10."""
    n = sum(c for v, c in counts.items() if 0 <= v <= 10)
    promoters = counts.get(9, 0) + counts.get(10, 0)
    passives = counts.get(7, 0) + counts.get(8, 0)
    detractors = n - promoters - passives
    if not n:
        return NpsResult(0, 0, 0, 0, None, None, None)
    p_p, p_d = promoters / n, detractors / n
    score = 100.0 * (p_p - p_d)
    variance = p_p + p_d - (p_p - p_d) ** 2
    half = Z_95 * 100.0 * math.sqrt(max(variance, 0.0) / n)
    return NpsResult(
        n,
        promoters,
        passives,
        detractors,
        score,
        max(-100.0, score - half),
        min(100.0, score + half),
    )


def normalise(kind: str, value: float) -> float:
    """An answer on its question's scale as 0–100 (0–10: 10·v; 1–5: 25·(v − 1))."""
    if kind == QuestionKind.NPS:
        return 10.0 * value
    return 25.0 * (value - 1.0)


def loyalty_score(factor: str, kind: str, value: float) -> float:
    """One factor answer as 0–100, switching reverse-scored."""
    score = normalise(kind, value)
    return 100.0 - score if factor == LoyaltyFactor.SWITCHING else score


def loyalty_index(factor_means: Mapping[str, float]) -> float | None:
    """Mean of the factors' mean 0–100 scores (already reversed for switching)."""
    values = [v for v in factor_means.values() if v is not None]
    return sum(values) / len(values) if values else None


def expectation_shares(delighted: int, satisfied: int, dissatisfied: int) -> dict:
    n = delighted + satisfied + dissatisfied
    if not n:
        return {"n": 0, "delighted": None, "satisfied": None, "dissatisfied": None}
    return {
        "n": n,
        "delighted": 100.0 * delighted / n,
        "satisfied": 100.0 * satisfied / n,
        "dissatisfied": 100.0 * dissatisfied / n,
    }


def respondent_scores(questions: Iterable, values: Mapping[int, list[int]]) -> dict:
    """One response's NPS answer, CSAT (mean 1–5 rating) and loyalty index (0–100).

    ``values`` maps question id → the response's values for it.
    """
    nps_value = None
    ratings: list[int] = []
    factors: dict[str, list[float]] = defaultdict(list)
    for q in questions:
        got = values.get(q.pk) or []
        if not got:
            continue
        if q.kind == QuestionKind.NPS and nps_value is None:
            nps_value = got[0]
        if q.kind == QuestionKind.SCALE:
            ratings.append(got[0])
        if q.loyalty_factor and q.kind in (QuestionKind.NPS, QuestionKind.SCALE):
            factors[q.loyalty_factor].append(loyalty_score(q.loyalty_factor, q.kind, got[0]))
    factor_means = {f: sum(v) / len(v) for f, v in factors.items()}
    return {
        "nps": nps_value,
        "csat": sum(ratings) / len(ratings) if ratings else None,
        "loyalty": loyalty_index(factor_means),
        "scale_answers": len(ratings),
        "satisfied_answers": sum(1 for r in ratings if r >= 4),
        "factors": factor_means,
    }


# --- The survey's analysis, from SQL aggregates ------------------------------------------------

BREAKDOWNS = ("abc_class", "lifecycle_phase", "segment")
FACTOR_COLUMNS = {f: f"loyalty_{f}" for f in LoyaltyFactor.values}


def _value_counts(questions: list) -> dict[int, dict]:
    """{question id: {value: count}} of the scored answers (not SOLL/IST, not free text): one
    aggregate that the (question, value, value2) index answers without reading the table."""
    scored = [
        q.pk for q in questions if q.kind not in (QuestionKind.TEXT, QuestionKind.EXPECTATION)
    ]
    out: dict[int, dict] = defaultdict(dict)
    rows = (
        Answer.objects.filter(question_id__in=scored, value__isnull=False)
        .values_list("question_id", "value")
        .annotate(n=Count("id"))
        .order_by()
    )
    for question_id, value, n in rows:
        out[question_id][value] = n
    return out


def _expectation_counts(questions: list) -> dict[int, dict]:
    """Per SOLL/IST item the shares of delighted, satisfied and dissatisfied answers, from the
    count per (expectation, performance) pair: at most 25 rows an item."""
    ids = [q.pk for q in questions if q.kind == QuestionKind.EXPECTATION]
    tallies: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    rows = (
        Answer.objects.filter(question_id__in=ids, value__isnull=False, value2__isnull=False)
        .values_list("question_id", "value", "value2")
        .annotate(n=Count("id"))
        .order_by()
    )
    for question_id, soll, ist, n in rows:
        tallies[question_id][0 if ist > soll else 1 if ist == soll else 2] += n
    return {q: expectation_shares(*t) for q, t in tallies.items()}


def _breakdown(survey: Survey, group: str) -> dict[str, dict]:
    """CSAT, NPS with its CI and the loyalty index per value of ``group`` (ABC class, phase,
    segment as at the answer), from the respondents' parts stored on each response: one
    aggregate over the survey's responses. The group's loyalty index is the mean of its
    factors' mean respondent scores (a respondent's factor score: the mean of their answers
    to that factor's questions)."""
    factor_avgs = {f: Avg(column) for f, column in FACTOR_COLUMNS.items()}
    rows = (
        Response.objects.filter(survey=survey)
        .values(group)
        .annotate(
            promoters=Count("id", filter=Q(nps__gte=9)),
            passives=Count("id", filter=Q(nps__gte=7, nps__lte=8)),
            detractors=Count("id", filter=Q(nps__lte=6)),
            scale_n=Sum("scale_answers"),
            satisfied_n=Sum("satisfied_answers"),
            **factor_avgs,
        )
        .order_by(group)
    )
    out = {}
    for row in rows:
        result = nps({10: row["promoters"], 7: row["passives"], 0: row["detractors"]})
        factors = {f: row[f] for f in FACTOR_COLUMNS if row[f] is not None}
        scale_n = row["scale_n"] or 0
        out[row[group] or ""] = {
            "csat": 100.0 * (row["satisfied_n"] or 0) / scale_n if scale_n else None,
            "csat_n": scale_n,
            "nps": result.nps,
            "nps_ci": [result.ci_low, result.ci_high],
            "nps_n": result.n,
            "promoters": result.promoters,
            "passives": result.passives,
            "detractors": result.detractors,
            "loyalty": loyalty_index(factors),
            "loyalty_factors": factors,
        }
    return out


def _scores(questions: list, counts: Mapping[int, Mapping[int, int]]) -> dict:
    """CSAT, NPS and loyalty index of one group of answers."""
    scale_counts: dict[int, int] = defaultdict(int)
    nps_counts: dict[int, int] = defaultdict(int)
    factor_sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])
    for q in questions:
        qc = counts.get(q.pk) or {}
        if q.kind == QuestionKind.SCALE:
            for v, c in qc.items():
                scale_counts[v] += c
        if q.kind == QuestionKind.NPS and not any(nps_counts.values()):
            # The survey's NPS is its first 0–10 question.
            for v, c in qc.items():
                nps_counts[v] += c
        if q.loyalty_factor and q.kind in (QuestionKind.NPS, QuestionKind.SCALE):
            for v, c in qc.items():
                factor_sums[q.loyalty_factor][0] += c * loyalty_score(q.loyalty_factor, q.kind, v)
                factor_sums[q.loyalty_factor][1] += c
    factor_means = {f: s / n for f, (s, n) in factor_sums.items() if n}
    result = nps(nps_counts)
    return {
        "csat": csat(scale_counts),
        "csat_n": sum(scale_counts.values()),
        "nps": result.nps,
        "nps_ci": [result.ci_low, result.ci_high],
        "nps_n": result.n,
        "promoters": result.promoters,
        "passives": result.passives,
        "detractors": result.detractors,
        "loyalty": loyalty_index(factor_means),
        "loyalty_factors": factor_means,
    }


def survey_analysis(survey: Survey, *, free_text_limit: int = 200) -> dict:
    """Every score of a survey, per question and overall, with the breakdowns."""
    questions = list(survey.questions.all())
    counts = _value_counts(questions)
    expectation = _expectation_counts(questions)
    per_question = []
    for q in questions:
        qc = counts.get(q.pk, {})
        item: dict = {
            "id": q.pk,
            "kind": q.kind,
            "text_de": q.text_de,
            "text_en": q.text_en,
            "dimension": q.dimension,
            "loyalty_factor": q.loyalty_factor,
            "counts": {str(v): c for v, c in sorted(qc.items())},
        }
        if q.kind == QuestionKind.SCALE:
            item["csat"] = csat(qc)
            n = sum(qc.values())
            item["mean"] = sum(v * c for v, c in qc.items()) / n if n else None
        elif q.kind == QuestionKind.NPS:
            r = nps(qc)
            item |= {"nps": r.nps, "nps_ci": [r.ci_low, r.ci_high], "n": r.n}
        elif q.kind == QuestionKind.EXPECTATION:
            item |= expectation.get(q.pk, expectation_shares(0, 0, 0))
        per_question.append(item)
    breakdowns = {group: _breakdown(survey, group) for group in BREAKDOWNS}
    text_ids = [q.pk for q in questions if q.kind == QuestionKind.TEXT]
    free_text = list(
        Answer.objects.filter(question_id__in=text_ids)
        .exclude(text="")
        .order_by("-pk")  # the newest first: answers are written in order
        .values("question_id", "text", "response_id", "response__party_id")[:free_text_limit]
    )
    return {
        "responses": Response.objects.filter(survey=survey).count(),
        "overall": _scores(questions, counts),
        "questions": per_question,
        "breakdowns": breakdowns,
        "free_text": free_text,
        "formulas": {
            "csat": CSAT_FORMULA,
            "nps": NPS_FORMULA,
            "loyalty": LOYALTY_FORMULA,
            "expectation": EXPECTATION_FORMULA,
        },
    }
