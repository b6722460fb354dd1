"""Analytical CRM at scale: warehouse refresh, CLV summary, figures, lifecycle, scoring and the
nightly pipeline on 100,000 and 1,000,000 customers with 10,000,000 transaction lines each.

Baselines in the same run: the CLV summary as one hand-written DuckDB query on the warehouse's
``fact_sales`` (against Kreis's Ibis ``analyses.clv_summary``), and ``lifetimes`` 0.11.3 fitting
BG/NBD + Gamma-Gamma and computing 12-month CLV on the same summary (through
``benchmarks/analytics_clv.py``, which runs it in its own virtualenv).

Each data set lives in its own folder (SQLite, generated with raw SQL on first use and reused
afterwards). Every measured step runs in a fresh subprocess, so its max RSS is its own.

    .venv/bin/python benchmarks/analytics.py [--customers 100000 1000000] [--lines 10000000]
    .venv/bin/python benchmarks/analytics.py --customers 100000 --skip-lifetimes
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import sqlite3
import statistics
import subprocess  # noqa: S404
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BATCH = 100_000
DAYS = 730
CHANNELS = ["web", "store", "phone", "partner"]


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def folder_for(customers: int) -> Path:
    label = f"{customers // 1_000_000}m" if customers % 1_000_000 == 0 else f"{customers // 1000}k"
    return Path(f"/tmp/bench-an-{label}")  # noqa: S108


# --- Data --------------------------------------------------------------------------------------


def _day_strings(days: np.ndarray) -> list[str]:
    return np.datetime_as_string(days.astype("datetime64[D]"), unit="D").tolist()


def generate(data: Path, customers: int, lines: int, seed: int) -> dict:
    """Customers, transactions and lines by raw SQL; skipped when the folder already has them."""
    db = data / "kreis.sqlite3"
    env = {**os.environ, "KREIS_DATA": str(data), "KREIS_LOG_LEVEL": "WARNING"}
    if not db.exists():
        data.mkdir(parents=True, exist_ok=True)
        subprocess.run(  # noqa: S603
            [str(ROOT / ".venv/bin/kreis"), "migrate", "-v", "0"], env=env, check=True
        )
    con = sqlite3.connect(db, isolation_level=None)
    have = con.execute("SELECT COUNT(*) FROM commerce_transactionline").fetchone()[0]
    if have >= lines:
        parties = con.execute("SELECT COUNT(*) FROM parties_party").fetchone()[0]
        txns = con.execute("SELECT COUNT(*) FROM commerce_transaction").fetchone()[0]
        con.close()
        return {"generated": False, "parties": parties, "transactions": txns, "lines": have}
    started = time.perf_counter()
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-1000000")
    rng = np.random.default_rng(seed)
    today = dt.datetime.now(dt.UTC).date()
    first_day = np.datetime64(today, "D") - DAYS
    stamp = f"{today.isoformat()} 00:00:00"

    con.execute("BEGIN")
    con.executemany(
        "INSERT INTO parties_party (id, kind, name, salutation, first_name, last_name, industry, "
        "size, source, territory, website, vat_id, iban, notes, created_at, updated_at, custom, "
        "abc_class, grade, lifecycle_facts, lifecycle_note, lifecycle_override, lifecycle_phase, "
        "lifecycle_reason, rfm_segment, termination_announced) VALUES (?, 'person', ?, '', '', "
        "'', '', '', '', '', '', '', '', '', ?, ?, '{}', '', '', '{}', '', 0, '', '', '', 0)",
        ((i, f"Customer {i}", stamp, stamp) for i in range(1, customers + 1)),
    )
    con.executemany(
        "INSERT INTO parties_partyroleassignment (role, party_id) VALUES ('customer', ?)",
        ((i,) for i in range(1, customers + 1)),
    )
    con.execute("COMMIT")

    # Lines per transaction: 1–4 for few customers, 1–2 for many; purchase counts Pareto-skewed.
    max_lines = 4 if lines / customers >= 20 else 2
    per_txn_mean = (1 + max_lines) / 2
    n_txn = int(lines / per_txn_mean)
    weights = rng.pareto(1.2, customers) + 1.0
    counts = 1 + rng.multinomial(n_txn - customers, weights / weights.sum())
    party = np.repeat(np.arange(1, customers + 1), counts)
    start = rng.integers(0, DAYS, customers)  # first purchase day per customer
    offs = start[party - 1]
    day = offs + (rng.random(n_txn) * (DAYS + 1 - offs)).astype(np.int64)
    day[np.r_[0, np.cumsum(counts)[:-1]]] = start  # each customer's first purchase on its day
    kind = np.where(rng.random(n_txn) < 0.03, "return", "order")
    channel = np.asarray(CHANNELS)[rng.integers(0, len(CHANNELS), n_txn)]
    n_lines = rng.integers(1, max_lines + 1, n_txn)
    surplus = int(n_lines.sum()) - lines  # trim or pad to exactly `lines`
    while surplus != 0:
        idx = rng.integers(0, n_txn, abs(surplus))
        n_lines[idx] = np.clip(n_lines[idx] - np.sign(surplus), 1, max_lines)
        surplus = int(n_lines.sum()) - lines
    txn_of_line = np.repeat(np.arange(1, n_txn + 1), n_lines)
    qty = rng.integers(1, 6, lines).astype(np.float64)
    price = np.round(rng.lognormal(3.0, 0.8, lines), 2)
    discount = np.round(np.where(rng.random(lines) < 0.2, qty * price * 0.05, 0.0), 2)
    net = np.round(qty * price - discount, 2)
    cost = np.round(net * rng.uniform(0.45, 0.75, lines), 2)
    txn_net = np.round(np.bincount(txn_of_line, net, n_txn + 1)[1:], 2)
    txn_cost = np.round(np.bincount(txn_of_line, cost, n_txn + 1)[1:], 2)

    con.execute("BEGIN")
    sql = (
        "INSERT INTO commerce_transaction (id, kind, number, date, currency, channel, note, "
        "net_revenue, cost, created_at, updated_at, party_id) "
        "VALUES (?, ?, '', ?, 'EUR', ?, '', ?, ?, ?, ?, ?)"
    )
    for lo in range(0, n_txn, BATCH):
        hi = min(lo + BATCH, n_txn)
        days = _day_strings(first_day + day[lo:hi])
        stamps = [f"{d} 12:00:00" for d in days]
        con.executemany(
            sql,
            zip(
                range(lo + 1, hi + 1),
                kind[lo:hi].tolist(),
                days,
                channel[lo:hi].tolist(),
                txn_net[lo:hi].tolist(),
                txn_cost[lo:hi].tolist(),
                stamps,
                stamps,
                party[lo:hi].tolist(),
                strict=True,
            ),
        )
    sql = (
        "INSERT INTO commerce_transactionline (id, description, quantity, unit_price, discount, "
        "net_revenue, cost, transaction_id) VALUES (?, '', ?, ?, ?, ?, ?, ?)"
    )
    for lo in range(0, lines, BATCH):
        hi = min(lo + BATCH, lines)
        con.executemany(
            sql,
            zip(
                range(lo + 1, hi + 1),
                qty[lo:hi].tolist(),
                price[lo:hi].tolist(),
                discount[lo:hi].tolist(),
                net[lo:hi].tolist(),
                cost[lo:hi].tolist(),
                txn_of_line[lo:hi].tolist(),
                strict=True,
            ),
        )
    con.execute("COMMIT")
    con.execute("ANALYZE")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return {
        "generated": True,
        "seconds": time.perf_counter() - started,
        "parties": customers,
        "transactions": n_txn,
        "lines": lines,
    }


# --- Measured steps (each in its own process) -------------------------------------------------


def _django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kreis.settings")
    os.environ.setdefault("KREIS_LOG_LEVEL", "WARNING")
    import django

    django.setup()


def raw_summary_sql(end: int) -> str:
    return f"""
        WITH days AS (
            SELECT party_id, day, SUM(net_revenue - cost) AS value
            FROM fact_sales WHERE kind <> 'return' AND day <= {end}
            GROUP BY party_id, day
        ), per AS (
            SELECT party_id, COUNT(*) AS n, MIN(day) AS first_day, MAX(day) AS last_day,
                   SUM(value) AS total, ARG_MIN(value, day) AS first_value
            FROM days GROUP BY party_id
        )
        SELECT party_id, first_day, last_day, total, n - 1 AS x,
               CAST(last_day - first_day AS DOUBLE) AS t_x,
               CAST({end} - first_day AS DOUBLE) AS "T",
               CASE WHEN n > 1 THEN (total - first_value) / (n - 1) ELSE 0.0 END AS zbar
        FROM per
    """  # noqa: S608 — an integer


def step_warehouse(args) -> dict:
    _django()
    from kreis.analytics import warehouse

    started = time.perf_counter()
    result = warehouse.refresh(full=True)
    return {"seconds": time.perf_counter() - started, "rows": result.rows, "rss_mb": rss_mb()}


def step_summary(args) -> dict:
    _django()
    from django.utils import timezone

    from kreis.analytics import analyses, warehouse
    from kreis.analytics.models import AnalyticsSettings
    from kreis.analytics.runs import pipeline

    cfg = AnalyticsSettings.load()
    cal_end = pipeline.calibration_end(cfg, timezone.localdate())
    con = warehouse.connect(read_only=True)
    t = warehouse.tables(con)
    sql = raw_summary_sql(analyses.day_number(cal_end))
    raw_times, kreis_times = [], []
    for _ in range(args.repeat):
        started = time.perf_counter()
        raw = con.con.execute(sql).df()
        raw_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        ours = analyses.clv_summary(t, calibration_end=cal_end, unit="days").to_pandas()
        kreis_times.append(time.perf_counter() - started)
    raw = raw.sort_values("party_id").reset_index(drop=True)
    ours = ours.sort_values("party_id").reset_index(drop=True)
    same = len(raw) == len(ours) and all(
        np.allclose(raw[c].to_numpy(float), ours[c].to_numpy(float), rtol=1e-9)
        for c in ("x", "t_x", "T", "zbar")
    )
    np.savez(
        Path(args.data) / "summary.npz",
        **{c: ours[c].to_numpy("float64") for c in ("x", "t_x", "T", "zbar")},
    )
    return {
        "raw_seconds": statistics.median(raw_times),
        "kreis_seconds": statistics.median(kreis_times),
        "customers": len(ours),
        "repeat_buyers": int((ours["x"] > 0).sum()),
        "same_result": bool(same),
        "rss_mb": rss_mb(),
    }


def _ensure_scoring_model():
    from kreis.analytics.models import ScoringModel
    from kreis.analytics.scoring import services

    if ScoringModel.objects.filter(is_active=True, is_primary=True, target="customer").exists():
        return
    model = services.scoring_model_create(
        actor=None,
        name="Benchmark customer score",
        target="customer",
        criteria=[
            {"field": "revenue_12m", "weight": 2, "thresholds": [[0, 0], [500, 5], [2000, 10]]},
            {"field": "clv", "weight": 2, "thresholds": [[0, 0], [200, 5], [1000, 10]]},
            {
                "field": "rfm_segment",
                "weight": 1,
                "thresholds": {"champions": 10, "loyal": 8, "at_risk": 4, "lost": 0},
            },
        ],
    )
    services.scoring_model_make_primary(actor=None, model=model)


def step_figures(args) -> dict:
    """compute (ABC + RFM + activity + CLV), lifecycle, store and scoring, as the run does them."""
    _django()
    from django.utils import timezone

    from kreis.analytics import warehouse
    from kreis.analytics.models import AnalyticsRun, AnalyticsSettings
    from kreis.analytics.runs import pipeline
    from kreis.analytics.scoring import engine

    cfg = AnalyticsSettings.load()
    as_of = timezone.localdate()
    con = warehouse.connect(read_only=True)
    out: dict = {}
    started = time.perf_counter()
    figures = pipeline.compute(warehouse.tables(con), cfg, as_of)
    out["compute_seconds"] = time.perf_counter() - started
    out["compute_rss_mb"] = rss_mb()
    out["parties"] = len(figures.frame)
    # the CLV part of compute on its own: summary query, then fit + prediction + CLV
    from kreis.analytics import analyses

    started = time.perf_counter()
    summary = analyses.clv_summary(
        warehouse.tables(con),
        calibration_end=pipeline.calibration_end(cfg, as_of),
        unit=cfg.time_unit,
    ).to_pandas()
    out["clv_summary_seconds"] = time.perf_counter() - started
    started = time.perf_counter()
    pipeline.predict_clv(summary, cfg)
    out["clv_fit_predict_seconds"] = time.perf_counter() - started
    con.disconnect()
    started = time.perf_counter()
    stored = pipeline._stored_phases()
    out["stored_phases_seconds"] = time.perf_counter() - started
    started = time.perf_counter()
    phases = pipeline.classify_phases(figures.frame, stored, cfg, as_of)
    out["lifecycle_seconds"] = time.perf_counter() - started
    record = AnalyticsRun.objects.create(as_of=as_of)
    started = time.perf_counter()
    pipeline.store(record, figures, phases, as_of)
    out["store_seconds"] = time.perf_counter() - started
    _ensure_scoring_model()
    started = time.perf_counter()
    scored = engine.apply_active_models()
    out["scoring_seconds"] = time.perf_counter() - started
    out["scored"] = int(sum(scored.values()))
    out["rss_mb"] = rss_mb()
    return out


def step_pipeline(args) -> dict:
    _django()
    from django.db import connection

    from kreis.analytics.runs import pipeline

    _ensure_scoring_model()
    changed = 0
    if not args.full:
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE commerce_transaction SET updated_at = %s WHERE id %% 100 = 0",
                [dt.datetime.now(dt.UTC).replace(tzinfo=None)],
            )
            changed = cursor.rowcount
    # The nightly run is the next night's: one day later, so every P(alive), CLV and day count
    # moves as it does in production (a second run on the same day would change little).
    from django.utils import timezone

    from kreis.analytics.models import AnalyticsRun

    last = AnalyticsRun.objects.filter(status="done").order_by("-as_of").first()
    as_of = timezone.localdate()
    if not args.full and last is not None:
        as_of = last.as_of + dt.timedelta(days=1)
    started = time.perf_counter()
    record = pipeline.run(full=args.full, as_of=as_of)
    return {
        "seconds": time.perf_counter() - started,
        "timings": record.timings,
        "counts": {k: v for k, v in record.counts.items() if not k.startswith("rows.")},
        "changed_transactions": changed,
        "status": record.status,
        "rss_mb": rss_mb(),
    }


def step_lifetimes(args) -> dict:
    sys.path.insert(0, str(HERE))
    import analytics_clv

    with np.load(Path(args.data) / "summary.npz") as arrays:
        summary = {name: arrays[name] for name in ("x", "t_x", "T", "zbar")}
    timings = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        ours = analytics_clv.kreis_run(summary)
        timings.append(time.perf_counter() - started)
    out = {"kreis_seconds": statistics.median(timings), "kreis_rss_mb": rss_mb()}
    if args.skip_lifetimes:
        return out
    python = os.environ.get("LIFETIMES_PYTHON", "/tmp/ltvenv/bin/python")  # noqa: S108
    # lifetimes raises ConvergenceError when scipy stops short of its tolerance; retry looser.
    errors = []
    for tol in (1e-10, 1e-7, 1e-5):
        try:
            theirs = analytics_clv.lifetimes_run(summary, python, tol)
            break
        except SystemExit as exc:
            errors.append(f"tol={tol:g}: {str(exc).strip().splitlines()[-1]}")
    else:
        out["lifetimes_error"] = errors
        return out
    out.update(lifetimes_tol=tol, lifetimes_errors=errors)
    bg, gg = ours["bgnbd"], ours["gamma_gamma"]
    mine = np.array([bg.r, bg.alpha, bg.a, bg.b, gg.p, gg.q, gg.gamma])
    other = np.array(
        [theirs["bgnbd"][k] for k in ("r", "alpha", "a", "b")]
        + [theirs["gamma_gamma"][k] for k in ("p", "q", "gamma")]
    )
    out.update(
        lifetimes_seconds=theirs["seconds"],
        lifetimes_rss_mb=theirs["max_rss_mb"],
        params_max_rel=analytics_clv.max_relative(mine, other),
        clv_max_rel=analytics_clv.max_relative(ours["clv"], theirs["clv"]),
        kreis_params=mine.tolist(),
        lifetimes_params=other.tolist(),
    )
    return out


STEPS = {
    "warehouse": step_warehouse,
    "summary": step_summary,
    "figures": step_figures,
    "pipeline": step_pipeline,
    "lifetimes": step_lifetimes,
}


# --- Orchestration ----------------------------------------------------------------------------


def child(step: str, data: Path, *extra: str) -> dict:
    env = {**os.environ, "KREIS_DATA": str(data), "KREIS_LOG_LEVEL": "WARNING"}
    cmd = [sys.executable, __file__, "--step", step, "--data", str(data), *extra]
    completed = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if completed.returncode != 0:
        sys.exit(f"step {step} failed:\n{completed.stderr[-4000:]}")
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    print(f"  {step} {' '.join(extra)}: {json.dumps(result)}", file=sys.stderr, flush=True)
    return result


def run_case(customers: int, lines: int, seed: int, args) -> list[tuple[str, str]]:
    data = folder_for(customers)
    print(f"case {customers:,} customers in {data}", file=sys.stderr, flush=True)
    gen = generate(data, customers, lines, seed)
    print(f"  data: {gen}", file=sys.stderr, flush=True)
    rep = ["--repeat", str(args.repeat)]
    wh = child("warehouse", data)
    sm = child("summary", data, *rep)
    fg = child("figures", data)
    full = child("pipeline", data, "--full")
    nightly = child("pipeline", data)
    lt = child("lifetimes", data, *rep, *(["--skip-lifetimes"] if args.skip_lifetimes else []))

    def timings(result: dict) -> str:
        return ", ".join(f"{k} {v:.1f}" for k, v in result["timings"].items())

    rows = [
        (
            "parties / transactions / lines",
            f"{gen['parties']:,} / {gen['transactions']:,} / {gen['lines']:,}",
        ),
        (
            "customers with purchases / repeat buyers",
            f"{sm['customers']:,} / {sm['repeat_buyers']:,}",
        ),
        ("warehouse full refresh, s", f"{wh['seconds']:.1f}"),
        ("warehouse full refresh, max RSS MB", f"{wh['rss_mb']:.0f}"),
        ("CLV summary, raw DuckDB SQL, s (median)", f"{sm['raw_seconds']:.2f}"),
        ("CLV summary, Kreis Ibis → pandas, s (median)", f"{sm['kreis_seconds']:.2f}"),
        (
            "CLV summary ratio Kreis / raw (target ≤ 1.5)",
            f"{sm['kreis_seconds'] / sm['raw_seconds']:.2f}×",
        ),
        ("CLV summary identical to raw SQL", str(sm["same_result"])),
        ("figures: pipeline.compute (ABC+RFM+activity+CLV), s", f"{fg['compute_seconds']:.1f}"),
        ("  of which CLV summary query, s", f"{fg['clv_summary_seconds']:.2f}"),
        ("  of which CLV fit + predict (predict_clv), s", f"{fg['clv_fit_predict_seconds']:.2f}"),
        ("figures: max RSS after compute, MB", f"{fg['compute_rss_mb']:.0f}"),
        ("lifecycle: _stored_phases (ORM read), s", f"{fg['stored_phases_seconds']:.1f}"),
        ("lifecycle: classify_phases, s", f"{fg['lifecycle_seconds']:.1f}"),
        ("store (figures + phases to parties), s", f"{fg['store_seconds']:.1f}"),
        ("scoring: apply_active_models (3 criteria), s", f"{fg['scoring_seconds']:.1f}"),
        ("figures…scoring process max RSS, MB", f"{fg['rss_mb']:.0f}"),
        ("pipeline.run(full=True), total s", f"{full['seconds']:.1f}"),
        ("  AnalyticsRun.timings", timings(full)),
        ("  max RSS, MB", f"{full['rss_mb']:.0f}"),
        (
            f"pipeline.run() nightly ({nightly['changed_transactions']:,} txns changed), total s",
            f"{nightly['seconds']:.1f}",
        ),
        ("  AnalyticsRun.timings", timings(nightly)),
        ("  max RSS, MB", f"{nightly['rss_mb']:.0f}"),
        (
            "Kreis fit + 90-day prediction + CLV (analytics_clv.kreis_run), s",
            f"{lt['kreis_seconds']:.2f}",
        ),
    ]
    if "lifetimes_seconds" in lt:
        rows += [
            ("lifetimes 0.11.3 same work, s", f"{lt['lifetimes_seconds']:.2f}"),
            ("lifetimes max RSS, MB", f"{lt['lifetimes_rss_mb']:.0f}"),
            (
                "speed-up vs lifetimes (target ≥ 7×)",
                f"{lt['lifetimes_seconds'] / lt['kreis_seconds']:.1f}×",
            ),
            (
                "max relative difference, 7 parameters (target ≤ 1e-4)",
                f"{lt['params_max_rel']:.1e}",
            ),
            ("max relative difference, CLV", f"{lt['clv_max_rel']:.1e}"),
        ]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--lines", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-lifetimes", action="store_true")
    parser.add_argument("--generate-only", action="store_true")
    parser.add_argument("--step", choices=sorted(STEPS))
    parser.add_argument("--data")
    parser.add_argument("--full", action="store_true")
    args = parser.parse_args()
    if args.step:
        print(json.dumps(STEPS[args.step](args), default=str))
        return
    if args.generate_only:
        for customers in args.customers:
            print(generate(folder_for(customers), customers, args.lines, args.seed))
        return
    cases = {n: run_case(n, args.lines, args.seed, args) for n in args.customers}
    names = [name for name, _ in next(iter(cases.values()))]
    print(f"| measure | {' | '.join(f'{n:,} customers' for n in cases)} |")
    print(f"|---|{'---:|' * len(cases)}")
    for i, name in enumerate(names):
        print(f"| {name} | {' | '.join(rows[i][1] for rows in cases.values())} |")


if __name__ == "__main__":
    main()
