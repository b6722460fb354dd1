"""CLV models on a million customers: Kreis's BG/NBD + Gamma-Gamma against `lifetimes` 0.11.3.

Both sides get the same synthetic summary in days, simulated from the BG/NBD and Gamma-Gamma
generative processes with a fixed seed, and do the same work: BG/NBD fit, expected purchases
over 90 days for every customer, Gamma-Gamma fit on the repeat buyers, 12-month CLV at 1 %
a month. `lifetimes` counts a month as 30 days (`freq="D"`), so Kreis uses 30 here too.

`lifetimes` needs old pandas/NumPy and runs in its own virtualenv, in a subprocess; it
receives the summary as an .npz file and measures its own wall time.

    .venv/bin/python benchmarks/analytics_clv.py [--customers 1000000] [--seed 2005]
    LIFETIMES_PYTHON=/path/to/venv/bin/python .venv/bin/python benchmarks/analytics_clv.py
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess  # noqa: S404
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

from kreis.analytics.customer import clv

# CDNOW's published fits (Fader, Hardie & Lee 2005; Fader & Hardie 2013), α from weeks to days
BGNBD_TRUE = {"r": 0.243, "alpha": 4.414 * 7, "a": 0.793, "b": 2.426}
GAMMA_GAMMA_TRUE = {"p": 6.25, "q": 3.74, "gamma": 15.44}
HORIZON_DAYS = 90.0
MONTHS = 12
DISCOUNT = 0.01
DAYS_PER_MONTH_LIFETIMES = 30.0

LIFETIMES_SCRIPT = r"""
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
import numpy as np, pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter

source, target, tol = sys.argv[1], sys.argv[2], float(sys.argv[3])
with np.load(source) as data:
    frame = pd.DataFrame({name: data[name] for name in ("x", "t_x", "T", "zbar")})
repeat = frame[frame.x > 0]
started, cpu_started = time.perf_counter(), time.process_time()
bgf = BetaGeoFitter().fit(frame.x, frame.t_x, frame["T"], tol=tol)
predicted = bgf.conditional_expected_number_of_purchases_up_to_time(
    float(sys.argv[4]), frame.x, frame.t_x, frame["T"]
)
ggf = GammaGammaFitter().fit(repeat.x, repeat.zbar, tol=tol)
value = ggf.customer_lifetime_value(
    bgf, frame.x, frame.t_x, frame["T"], frame.zbar, time=12, discount_rate=0.01, freq="D"
)
seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
np.savez(target, predicted=np.asarray(predicted), clv=np.asarray(value))
print(json.dumps({
    "seconds": seconds,
    "cpu_seconds": cpu_seconds,
    "bgnbd": dict(bgf.params_),
    "gamma_gamma": {"p": ggf.params_["p"], "q": ggf.params_["q"], "gamma": ggf.params_["v"]},
    "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def simulate(customers: int, seed: int, calibration_days: int) -> dict[str, np.ndarray]:
    """Summaries drawn from BG/NBD and Gamma-Gamma; first purchases spread over the period."""
    rng = np.random.default_rng(seed)
    age = rng.integers(1, calibration_days + 1, customers).astype(np.float64)
    rate = rng.gamma(BGNBD_TRUE["r"], 1.0 / BGNBD_TRUE["alpha"], customers)
    dropout = rng.beta(BGNBD_TRUE["a"], BGNBD_TRUE["b"], customers)
    # purchases the customer would make before dropping out, and those that fit into T
    before_dropout = rng.geometric(dropout)
    in_period = rng.poisson(rate * age)
    x = np.minimum(before_dropout, in_period)
    # the x-th of in_period uniform purchase times in (0, T], rounded up to whole days
    buyers = x > 0
    last = np.zeros(customers)
    last[buyers] = rng.beta(x[buyers], in_period[buyers] - x[buyers] + 1) * age[buyers]
    t_x = np.ceil(last)

    nu = rng.gamma(GAMMA_GAMMA_TRUE["q"], 1.0 / GAMMA_GAMMA_TRUE["gamma"], customers)
    zbar = np.zeros(customers)
    shape = GAMMA_GAMMA_TRUE["p"] * x[buyers]
    zbar[buyers] = rng.gamma(shape, 1.0 / (nu[buyers] * x[buyers]))
    zbar = np.where(buyers, np.maximum(np.round(zbar, 2), 0.01), 0.0)
    return {"x": x.astype(np.float64), "t_x": t_x, "T": age, "zbar": zbar}


def kreis_run(summary: dict[str, np.ndarray]) -> dict:
    x, t_x, T, zbar = summary["x"], summary["t_x"], summary["T"], summary["zbar"]  # noqa: N806
    bgnbd = clv.fit_bgnbd(x, t_x, T)
    predicted = bgnbd.expected_purchases(HORIZON_DAYS, x, t_x, T)
    gamma_gamma = clv.fit_gamma_gamma(x, zbar)
    value = clv.customer_lifetime_value(
        bgnbd,
        gamma_gamma,
        x,
        t_x,
        T,
        zbar,
        months=MONTHS,
        discount_rate_monthly=DISCOUNT,
        periods_per_month=DAYS_PER_MONTH_LIFETIMES,
    )
    return {"bgnbd": bgnbd, "gamma_gamma": gamma_gamma, "predicted": predicted, "clv": value}


def lifetimes_run(summary: dict[str, np.ndarray], python: str, tol: float) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        source, target = Path(folder) / "summary.npz", Path(folder) / "result.npz"
        np.savez(source, **summary)
        completed = subprocess.run(  # noqa: S603
            [python, "-c", LIFETIMES_SCRIPT, str(source), str(target), str(tol), str(HORIZON_DAYS)],
            capture_output=True,
            text=True,
            check=False,
        )
        if completed.returncode != 0:
            sys.exit(f"lifetimes failed:\n{completed.stderr[-3000:]}")
        result = json.loads(completed.stdout.strip().splitlines()[-1])
        with np.load(target) as arrays:
            result["predicted"], result["clv"] = arrays["predicted"], arrays["clv"]
    return result


def max_relative(ours: np.ndarray, theirs: np.ndarray) -> float:
    scale = np.maximum(np.abs(theirs), 1e-12)
    return float(np.max(np.abs(ours - theirs) / scale))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=2005)
    parser.add_argument("--calibration-days", type=int, default=365)
    parser.add_argument("--repeat", type=int, default=5, help="timed Kreis runs (median)")
    parser.add_argument("--lifetimes-tol", type=float, default=1e-10)
    parser.add_argument("--skip-lifetimes", action="store_true")
    args = parser.parse_args()

    summary = simulate(args.customers, args.seed, args.calibration_days)
    repeat_buyers = int((summary["x"] > 0).sum())
    distinct = len(clv._collapse(summary["x"], summary["t_x"], summary["T"])[2])

    timings, cpu_timings = [], []
    for _ in range(args.repeat):
        started, cpu_started = time.perf_counter(), time.process_time()
        ours = kreis_run(summary)
        timings.append(time.perf_counter() - started)
        cpu_timings.append(time.process_time() - cpu_started)
    tracemalloc.start()
    kreis_run(summary)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    kreis_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kreis_seconds = statistics.median(timings)
    kreis_cpu_seconds = statistics.median(cpu_timings)

    bgnbd, gamma_gamma = ours["bgnbd"], ours["gamma_gamma"]
    print(
        f"{args.customers:,} customers ({repeat_buyers:,} repeat buyers), "
        f"{distinct:,} distinct (x, t_x, T); seed {args.seed}; "
        f"first purchases over {args.calibration_days} days"
    )
    print(
        f"Kreis BG/NBD r={bgnbd.r:.6g} alpha={bgnbd.alpha:.6g} a={bgnbd.a:.6g} b={bgnbd.b:.6g} "
        f"LL={bgnbd.log_likelihood:.6f} converged={bgnbd.converged}"
    )
    print(
        f"Kreis Gamma-Gamma p={gamma_gamma.p:.6g} q={gamma_gamma.q:.6g} "
        f"gamma={gamma_gamma.gamma:.6g} LL={gamma_gamma.log_likelihood:.6f} "
        f"converged={gamma_gamma.converged}"
    )
    print(f"Kreis runs, wall s: {', '.join(f'{seconds:.2f}' for seconds in timings)}")

    rows = [
        ("Kreis: fit + 90-day prediction + CLV, median wall s", f"{kreis_seconds:.2f}"),
        ("Kreis: same, median CPU s", f"{kreis_cpu_seconds:.2f}"),
        ("Kreis: peak traced memory, MB", f"{peak / 2**20:.0f}"),
        ("Kreis process: max RSS incl. data, MB", f"{kreis_rss:.0f}"),
    ]
    if not args.skip_lifetimes:
        python = os.environ.get("LIFETIMES_PYTHON", "/tmp/ltvenv/bin/python")  # noqa: S108
        theirs = lifetimes_run(summary, python, args.lifetimes_tol)
        ours_params = [bgnbd.r, bgnbd.alpha, bgnbd.a, bgnbd.b]
        ours_params += [gamma_gamma.p, gamma_gamma.q, gamma_gamma.gamma]
        their_params = [theirs["bgnbd"][name] for name in ("r", "alpha", "a", "b")]
        their_params += [theirs["gamma_gamma"][name] for name in ("p", "q", "gamma")]
        print(f"lifetimes parameters: {theirs['bgnbd']} {theirs['gamma_gamma']}")
        rows += [
            ("lifetimes 0.11.3: same work, wall s", f"{theirs['seconds']:.2f}"),
            ("lifetimes 0.11.3: same work, CPU s", f"{theirs['cpu_seconds']:.2f}"),
            ("lifetimes process: max RSS incl. data, MB", f"{theirs['max_rss_mb']:.0f}"),
            ("speed-up, wall", f"{theirs['seconds'] / kreis_seconds:.1f}×"),
            ("speed-up, CPU", f"{theirs['cpu_seconds'] / kreis_cpu_seconds:.1f}×"),
            (
                "max relative difference, 7 parameters",
                f"{max_relative(np.array(ours_params), np.array(their_params)):.1e}",
            ),
            (
                "max relative difference, 90-day prediction",
                f"{max_relative(ours['predicted'], theirs['predicted']):.1e}",
            ),
            ("max relative difference, CLV", f"{max_relative(ours['clv'], theirs['clv']):.1e}"),
        ]
    print()
    print("| measure | value |")
    print("|---|---:|")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
