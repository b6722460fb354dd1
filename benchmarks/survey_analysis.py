"""Survey analysis at scale: a survey answered 100,000 times (NPS, three loyalty scales, a
SOLL/IST pair, a multiple choice, free text from every 20th: ~605,000 answer rows), analysed by
``kreis.feedback.analysis.survey_analysis`` (CSAT, NPS with its CI, loyalty index, SOLL/IST
shares, breakdown by ABC class, lifecycle phase and RFM segment, the free-text list).

Baseline in the same run: the bare counts as one hand-written ``GROUP BY question, value``
over the answer table through the raw database connection (what any analysis reads at least).

The data lives in a temporary folder (SQLite, or PostgreSQL with DATABASE_URL), written by raw
SQL; ``--data`` reuses the folder of an earlier run.

    .venv/bin/python benchmarks/survey_analysis.py [--responses 100000] [--repeat 5] [--data DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
KINDS = [
    ("nps_0_10", "recommend"),
    ("scale_1_5", "repurchase"),
    ("scale_1_5", "comparison"),
    ("scale_1_5", "switching"),
    ("expectation_performance", ""),
    ("multiple_choice", ""),
    ("free_text", ""),
]


def generate(responses: int):
    """The survey, its questions, responses and answers (raw SQL, a fixed random seed)."""
    from django.db import connection
    from django.utils import timezone

    from kreis.feedback.models import Answer, Question, Response, Survey

    survey = Survey.objects.create(name="Benchmark", phase="analysis", method="online")
    questions = [
        Question.objects.create(
            survey=survey,
            position=i,
            kind=kind,
            text_de=f"Frage {i}",
            text_en=f"Question {i}",
            options_de="A\nB\nC",
            options_en="A\nB\nC",
            loyalty_factor=factor,
        )
        for i, (kind, factor) in enumerate(KINDS)
    ]
    rng = np.random.default_rng(7)
    now = timezone.now()
    nps = rng.integers(0, 11, responses)
    abc = rng.choice(["A", "B", "C", ""], responses)
    phases = rng.choice(["growth", "maturity", "endangerment", ""], responses)
    segments = rng.choice(["champions", "loyal", "at_risk", ""], responses)
    scale = rng.integers(1, 6, (responses, 5))  # three loyalty scales, then a SOLL/IST pair
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {Response._meta.db_table} (survey_id, channel, language, nps, "  # noqa: S608
            "abc_class, lifecycle_phase, segment, scale_answers, satisfied_answers, "
            "loyalty_recommend, loyalty_repurchase, loyalty_comparison, loyalty_switching, "
            "created_at) VALUES (%s, 'online', 'de', %s, %s, %s, %s, 3, %s, %s, %s, %s, %s, %s)",
            [
                (
                    survey.pk,
                    int(nps[i]),
                    abc[i],
                    phases[i],
                    segments[i],
                    int((scale[i, :3] >= 4).sum()),
                    10.0 * nps[i],
                    25.0 * (scale[i, 0] - 1),
                    25.0 * (scale[i, 1] - 1),
                    100.0 - 25.0 * (scale[i, 2] - 1),
                    now,
                )
                for i in range(responses)
            ],
        )
        ids = list(survey.responses.order_by("pk").values_list("pk", flat=True))
        rows: list[tuple] = []
        q = [question.pk for question in questions]
        for i, rid in enumerate(ids):
            rows += [
                (rid, q[0], int(nps[i]), None, ""),
                (rid, q[1], int(scale[i, 0]), None, ""),
                (rid, q[2], int(scale[i, 1]), None, ""),
                (rid, q[3], int(scale[i, 2]), None, ""),
                (rid, q[4], int(scale[i, 3]), int(scale[i, 4]), ""),
                (rid, q[5], int(scale[i, 0]) % 3, None, ""),
            ]
            if i % 20 == 0:
                rows.append((rid, q[6], None, None, f"Kommentar {i}"))
        cursor.executemany(
            f"INSERT INTO {Answer._meta.db_table} (response_id, question_id, value, value2, "  # noqa: S608
            "text) VALUES (%s, %s, %s, %s, %s)",
            rows,
        )
        cursor.execute("ANALYZE")
    return survey


def timed(fn, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--responses", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--data", help="reuse this folder of an earlier run (default: a new one)")
    args = parser.parse_args()
    data = Path(args.data) if args.data else Path(tempfile.mkdtemp(prefix="bench-survey-"))
    os.environ["KREIS_DATA"] = str(data)
    os.environ.setdefault("KREIS_LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kreis.settings")
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from kreis.feedback import analysis
    from kreis.feedback.models import Answer, Survey

    call_command("migrate", verbosity=0)
    survey = Survey.objects.filter(name="Benchmark").first()
    if survey is None:
        started = time.perf_counter()
        survey = generate(args.responses)
        print(f"generated in {time.perf_counter() - started:.0f} s")
    answers = Answer.objects.filter(question__survey=survey).count()
    print(f"data: {survey.responses.count():,} responses, {answers:,} answers ({data})")

    def baseline() -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT question_id, value, COUNT(*) FROM {Answer._meta.db_table} "  # noqa: S608
                "WHERE question_id IN (SELECT id FROM feedback_question WHERE survey_id = %s) "
                "AND value IS NOT NULL GROUP BY question_id, value",
                [survey.pk],
            )
            cursor.fetchall()

    result: dict = {}

    def full() -> None:
        result["data"] = analysis.survey_analysis(survey)

    base = timed(baseline, args.repeat)
    kreis = timed(full, args.repeat)
    overall = result["data"]["overall"]
    print(
        f"baseline GROUP BY question, value: median {statistics.median(base) * 1000:.0f} ms "
        f"(min {min(base) * 1000:.0f})"
    )
    print(
        "survey_analysis (overall, 3 breakdowns, SOLL/IST, free text): "
        f"median {statistics.median(kreis) * 1000:.0f} ms (min {min(kreis) * 1000:.0f}); "
        f"NPS {overall['nps']:.1f}, CSAT {overall['csat']:.1f} %, loyalty {overall['loyalty']:.1f}"
    )


if __name__ == "__main__":
    main()
