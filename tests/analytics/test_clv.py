"""BG/NBD, Gamma-Gamma and CLV against the published CDNOW fits and against first principles."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import optimize, special

from kreis.analytics.customer import clv

CDNOW = Path(__file__).parent / "data" / "cdnow"


def _published_summary() -> dict[str, np.ndarray]:
    table = np.loadtxt(
        CDNOW / "cdnow_customers_summary_with_transactions.csv", delimiter=",", skiprows=1
    )
    return dict(zip(("id", "x", "t_x", "T", "zbar"), table.T, strict=True))


def _raw_transactions() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    raw = np.loadtxt(CDNOW / "CDNOW_sample.txt", dtype=str)
    dates = np.array(
        [f"{day[:4]}-{day[4:6]}-{day[6:]}" for day in raw[:, 2]], dtype="datetime64[D]"
    )
    return raw[:, 1].astype(int), dates, raw[:, 4].astype(float)


@pytest.fixture(scope="module")
def summary() -> dict[str, np.ndarray]:
    return _published_summary()


@pytest.fixture(scope="module")
def bgnbd(summary) -> clv.BgNbdFit:
    return clv.fit_bgnbd(summary["x"], summary["t_x"], summary["T"])


@pytest.fixture(scope="module")
def gamma_gamma(summary) -> clv.GammaGammaFit:
    return clv.fit_gamma_gamma(summary["x"], summary["zbar"])


def _agrees_to_published_digits(value: float, published: str) -> bool:
    """True when `value` rounds to `published` at the number of decimals printed there."""
    decimals = len(published.partition(".")[2])
    return abs(value - float(published)) <= 0.5 * 10.0**-decimals + 1e-12


def _significant(value: float, digits: int = 3) -> float:
    return round(value, digits - 1 - math.floor(math.log10(abs(value))))


def _assert_published_bgnbd(fit: clv.BgNbdFit) -> None:
    assert fit.converged, fit.message
    for name, published in (("r", "0.243"), ("alpha", "4.414"), ("a", "0.793"), ("b", "2.426")):
        assert _agrees_to_published_digits(getattr(fit, name), published), (
            name,
            getattr(fit, name),
        )
    assert _agrees_to_published_digits(fit.log_likelihood, "-9582.4")
    assert fit.n_customers == 2357


def _assert_published_gamma_gamma(fit: clv.GammaGammaFit) -> None:
    # Fader & Hardie print three significant digits; γ = 15.4477 at the maximum, so their
    # "15.44" is not exact to its last printed digit.
    assert fit.converged, fit.message
    assert (_significant(fit.p), _significant(fit.q), _significant(fit.gamma)) == (6.25, 3.74, 15.4)
    assert _agrees_to_published_digits(fit.log_likelihood, "-4055.92")
    assert fit.n_customers == 946


# --- published fits -------------------------------------------------------------------------


def test_bgnbd_fit_reproduces_fader_hardie_lee_2005(bgnbd):
    _assert_published_bgnbd(bgnbd)


def test_bgnbd_fit_matches_lifetimes_to_seven_digits(bgnbd):
    # lifetimes 0.11.3, BetaGeoFitter().fit(x, t_x, T, tol=1e-10) on the same file
    expected = (0.24259290718880555, 4.4135315608340235, 0.7928861483469273, 2.425753437335136)
    assert (bgnbd.r, bgnbd.alpha, bgnbd.a, bgnbd.b) == pytest.approx(expected, rel=1e-7)


def test_gamma_gamma_fit_reproduces_fader_hardie_2013(gamma_gamma):
    _assert_published_gamma_gamma(gamma_gamma)


def test_gamma_gamma_fit_matches_lifetimes_to_seven_digits(gamma_gamma):
    # lifetimes 0.11.3, GammaGammaFitter().fit(x, zbar, tol=1e-10) on the 946 repeat buyers
    expected = (6.248802489634895, 3.744588453295165, 15.447748009698161)
    assert (gamma_gamma.p, gamma_gamma.q, gamma_gamma.gamma) == pytest.approx(expected, rel=1e-7)


def test_customer_one_is_probably_alive_and_expects_1_2259_purchases(bgnbd):
    assert float(bgnbd.p_alive(2, 30.43, 38.86)) == pytest.approx(0.7266, abs=5e-5)
    assert float(bgnbd.expected_purchases(39, 2, 30.43, 38.86)) == pytest.approx(1.2259, abs=5e-5)


def test_fit_does_not_depend_on_the_time_unit(summary, bgnbd):
    in_days = clv.fit_bgnbd(summary["x"], summary["t_x"] * 7, summary["T"] * 7)
    assert (in_days.r, in_days.alpha / 7, in_days.a, in_days.b) == pytest.approx(
        (bgnbd.r, bgnbd.alpha, bgnbd.a, bgnbd.b), rel=1e-7
    )
    # λ^x in the likelihood: a 7 times finer unit lowers it by ln 7 per repeat purchase
    shift = summary["x"].sum() * math.log(7)
    assert in_days.log_likelihood == pytest.approx(bgnbd.log_likelihood - shift, abs=1e-6)


# --- summary from raw transactions ----------------------------------------------------------


def test_summary_from_raw_cdnow_transactions_matches_published_summary(summary):
    ids, dates, amounts = _raw_transactions()
    computed = clv.summary_from_transactions(ids, dates, amounts, "1997-09-30", unit="weeks")
    np.testing.assert_array_equal(computed.customer_id, summary["id"].astype(int))
    for column in ("x", "t_x", "T", "zbar"):
        np.testing.assert_allclose(
            getattr(computed, column), summary[column], rtol=0, atol=0.005 + 1e-9
        )


def test_fits_from_raw_cdnow_transactions_give_published_parameters():
    computed = clv.summary_from_transactions(*_raw_transactions(), np.datetime64("1997-09-30"))
    _assert_published_bgnbd(clv.fit_bgnbd(computed.x, computed.t_x, computed.T))
    _assert_published_gamma_gamma(clv.fit_gamma_gamma(computed.x, computed.zbar))


def test_summary_counts_a_day_once_and_ignores_purchases_after_calibration_end():
    ids = np.array(["ann", "ann", "ann", "ann", "ann", "bob", "cem", "cem"])
    dates = np.array(
        [
            "2024-01-01T09:00",
            "2024-01-01T17:30",  # same day as the first: one purchase, amounts summed
            "2024-01-08",
            "2024-01-15T08:00",
            "2024-01-15",
            "2024-01-10",
            "2024-02-01",  # after calibration end
            "2024-01-29",
        ],
        dtype="datetime64[m]",
    )
    amounts = np.array([10.0, 5.0, 20.0, 30.0, 12.0, 7.0, 99.0, 4.0])
    summary = clv.summary_from_transactions(ids, dates, amounts, "2024-01-29", unit="days")

    assert summary.customer_id.tolist() == ["ann", "bob", "cem"]
    np.testing.assert_array_equal(summary.x, [2, 0, 0])
    np.testing.assert_array_equal(summary.t_x, [14, 0, 0])
    np.testing.assert_array_equal(summary.T, [28, 19, 0])
    np.testing.assert_allclose(summary.zbar, [(20 + 42) / 2, 0, 0])

    in_weeks = clv.summary_from_transactions(ids, dates, amounts, "2024-01-29")
    np.testing.assert_allclose(in_weeks.t_x, [2, 0, 0])
    np.testing.assert_allclose(in_weeks.T, [4, 19 / 7, 0])


# --- likelihood, collapse and gradients -----------------------------------------------------


def _bgnbd_log_likelihood_per_customer(r, alpha, a, b, x, t_x, T):  # noqa: N803
    """FHL (2005) eq. 6 written out term by term, one value per customer."""
    common = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    alive = special.betaln(a, b + x) - special.betaln(a, b) - (r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        dropped = (
            special.betaln(a + 1, b + x - 1) - special.betaln(a, b) - (r + x) * np.log(alpha + t_x)
        )
    return common + np.logaddexp(alive, np.where(x > 0, dropped, -np.inf))


@pytest.mark.parametrize(
    "params", [(0.243, 4.414, 0.793, 2.426), (1.0, 10.0, 2.0, 5.0), (0.05, 0.5, 0.3, 0.2)]
)
def test_collapsed_bgnbd_likelihood_equals_sum_over_customers(summary, params):
    x, t_x, T = summary["x"], summary["t_x"], summary["T"]  # noqa: N806
    per_customer = _bgnbd_log_likelihood_per_customer(*params, x, t_x, T).sum()
    assert clv.bgnbd_log_likelihood(*params, x, t_x, T) == pytest.approx(per_customer, rel=1e-12)

    (ux, ut_x, uT), inverse, counts = clv._collapse(x, t_x, T)  # noqa: N806
    assert ux.size < x.size
    np.testing.assert_array_equal(ux[inverse], x)
    np.testing.assert_array_equal(ut_x[inverse], t_x)
    np.testing.assert_array_equal(uT[inverse], T)
    weighted = clv.bgnbd_log_likelihood(*params, ux, ut_x, uT, weights=counts)
    assert weighted == pytest.approx(per_customer, rel=1e-12)


@pytest.mark.parametrize("params", [(6.25, 3.74, 15.44), (1.0, 2.0, 30.0), (20.0, 1.5, 3.0)])
def test_collapsed_gamma_gamma_likelihood_equals_sum_over_customers(summary, params):
    p, q, gamma = params
    repeat = summary["x"] > 0
    x, zbar = summary["x"][repeat], summary["zbar"][repeat]
    per_customer = (
        special.gammaln(p * x + q)
        - special.gammaln(p * x)
        - special.gammaln(q)
        + q * np.log(gamma)
        + (p * x - 1) * np.log(zbar)
        + p * x * np.log(x)
        - (p * x + q) * np.log(gamma + x * zbar)
    ).sum()
    (ux, uzbar), _, counts = clv._collapse(x, zbar)
    assert ux.size < x.size
    weighted = clv.gamma_gamma_log_likelihood(*params, ux, uzbar, weights=counts)
    assert weighted == pytest.approx(per_customer, rel=1e-12)
    # customers without repeat purchases do not enter the Gamma-Gamma likelihood
    unfiltered = clv.gamma_gamma_log_likelihood(*params, summary["x"], summary["zbar"])
    assert unfiltered == pytest.approx(per_customer, rel=1e-12)


def test_fit_on_duplicated_customers_keeps_parameters_and_doubles_likelihood(summary, bgnbd):
    twice = {key: np.concatenate([column, column]) for key, column in summary.items()}
    refit = clv.fit_bgnbd(twice["x"], twice["t_x"], twice["T"])
    assert refit.n_customers == 2 * bgnbd.n_customers
    assert refit.n_distinct == bgnbd.n_distinct
    assert (refit.r, refit.alpha, refit.a, refit.b) == pytest.approx(
        (bgnbd.r, bgnbd.alpha, bgnbd.a, bgnbd.b), rel=1e-8
    )
    assert refit.log_likelihood == pytest.approx(2 * bgnbd.log_likelihood, rel=1e-12)


def test_fits_on_grouped_histories_with_weights_equal_fits_on_customers(
    summary, bgnbd, gamma_gamma
):
    (ux, ut_x, uT), _, counts = clv._collapse(summary["x"], summary["t_x"], summary["T"])  # noqa: N806
    grouped = clv.fit_bgnbd(ux, ut_x, uT, weights=counts)
    assert grouped.n_customers == bgnbd.n_customers
    assert (grouped.r, grouped.alpha, grouped.a, grouped.b) == pytest.approx(
        (bgnbd.r, bgnbd.alpha, bgnbd.a, bgnbd.b), rel=1e-8
    )
    assert grouped.log_likelihood == pytest.approx(bgnbd.log_likelihood, rel=1e-12)

    (ux, uzbar), _, counts = clv._collapse(summary["x"], summary["zbar"])
    grouped_spend = clv.fit_gamma_gamma(ux, uzbar, weights=counts)
    assert grouped_spend.n_customers == gamma_gamma.n_customers
    assert (grouped_spend.p, grouped_spend.q, grouped_spend.gamma) == pytest.approx(
        (gamma_gamma.p, gamma_gamma.q, gamma_gamma.gamma), rel=1e-8
    )

    with pytest.raises(ValueError, match="whole numbers of customers"):
        clv.fit_bgnbd(ux, np.zeros_like(ux), np.full_like(ux, 40.0), weights=counts + 0.5)


def test_fitted_bgnbd_parameters_maximise_the_likelihood(summary, bgnbd):
    x, t_x, T = summary["x"], summary["t_x"], summary["T"]  # noqa: N806
    best = (bgnbd.r, bgnbd.alpha, bgnbd.a, bgnbd.b)
    top = clv.bgnbd_log_likelihood(*best, x, t_x, T)
    assert top == pytest.approx(bgnbd.log_likelihood, rel=1e-13)
    for index in range(4):
        for factor in (1 - 1e-4, 1 + 1e-4):
            moved = list(best)
            moved[index] *= factor
            assert clv.bgnbd_log_likelihood(*moved, x, t_x, T) < top


@pytest.mark.parametrize(
    "log_params",
    [np.log([0.243, 4.414, 0.793, 2.426]), np.log([2.0, 0.7, 5.0, 0.9]), np.zeros(4)],
)
def test_bgnbd_gradient_matches_finite_differences(summary, log_params):
    (ux, ut_x, uT), _, counts = clv._collapse(summary["x"], summary["t_x"], summary["T"])  # noqa: N806
    data = clv._BgNbdData.build(ux, ut_x, uT, counts)

    def value(point):
        return clv._bgnbd_objective(point, data)[0]

    def gradient(point):
        return clv._bgnbd_objective(point, data)[1]

    scale = np.linalg.norm(gradient(log_params))
    # forward differences with step 1e-7 are good to about 1e-6 near the maximum
    assert optimize.check_grad(value, gradient, log_params, epsilon=1e-7) < 1e-6 + 1e-5 * scale


@pytest.mark.parametrize(
    "log_params", [np.log([6.25, 3.74, 15.44]), np.log([0.5, 8.0, 2.0]), np.zeros(3)]
)
def test_gamma_gamma_gradient_matches_finite_differences(summary, log_params):
    repeat = summary["x"] > 0
    (ux, uzbar), _, counts = clv._collapse(summary["x"][repeat], summary["zbar"][repeat])
    data = clv._GammaGammaData.build(ux, uzbar, counts)

    def value(point):
        return clv._gamma_gamma_objective(point, data)[0]

    def gradient(point):
        return clv._gamma_gamma_objective(point, data)[1]

    scale = np.linalg.norm(gradient(log_params))
    # forward differences with step 1e-7 are good to about 1e-6 near the maximum
    assert optimize.check_grad(value, gradient, log_params, epsilon=1e-7) < 1e-6 + 1e-5 * scale


# --- predictions and CLV --------------------------------------------------------------------


def test_expected_purchases_grow_with_the_horizon_and_match_eq_10(bgnbd, summary):
    x, t_x, T = summary["x"], summary["t_x"], summary["T"]  # noqa: N806
    expected = [bgnbd.expected_purchases(t, x, t_x, T) for t in (0.0, 10.0, 39.0, 200.0)]
    np.testing.assert_array_equal(expected[0], 0.0)
    assert all(
        np.all(later > earlier) for earlier, later in zip(expected, expected[1:], strict=False)
    )

    # eq. 10 as printed, without the Euler transformation the module uses
    r, alpha, a, b = bgnbd.r, bgnbd.alpha, bgnbd.a, bgnbd.b
    t = 39.0
    hypergeometric = special.hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
    printed = (
        (a + b + x - 1)
        / (a - 1)
        * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hypergeometric)
        / (1 + (x > 0) * a / (b + np.maximum(x, 1) - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x))
    )
    np.testing.assert_allclose(expected[2], printed, rtol=1e-9)


def test_expected_purchases_stay_finite_where_scipy_hyp2f1_fails():
    # c − a − b whole (r = a) with large x and z near 1 makes scipy's hyp2f1 return NaN
    fit = clv.BgNbdFit(
        r=0.5, alpha=2.0, a=1.5, b=0.5, log_likelihood=0.0, n_customers=1, converged=True
    )
    values = fit.expected_purchases(np.array([1.0, 200.0, 400.0]), 145, 0.66, 1.1)
    assert np.all(np.isfinite(values))
    assert np.all(np.diff(values) > 0)


def test_expected_purchases_are_continuous_at_a_equal_one():
    # eq. 10 divides by a − 1; the value at a = 1 is the limit from both sides
    values = [
        clv.BgNbdFit(
            r=0.25, alpha=30.0, a=a, b=2.5, log_likelihood=0.0, n_customers=1, converged=True
        ).expected_purchases(90.0, [0, 3, 20], [0, 40, 100], [100, 100, 100])
        for a in (1 - 1e-4, 1.0, 1 + 1e-4)
    ]
    assert np.all(np.isfinite(values[1]))
    np.testing.assert_allclose(values[1], (values[0] + values[2]) / 2, rtol=1e-8)
    np.testing.assert_allclose(values[1], values[0], rtol=1e-3)


def test_p_alive_is_one_without_repeat_purchases_and_falls_with_silence(bgnbd):
    assert bgnbd.p_alive(0, 0, 38.86) == 1.0
    recent, silent = bgnbd.p_alive(5, [38.0, 5.0], 38.86)
    assert 0 < silent < recent < 1


def test_expected_average_value_shrinks_towards_the_population_mean(gamma_gamma):
    p, q, gamma = gamma_gamma.p, gamma_gamma.q, gamma_gamma.gamma
    population_mean = p * gamma / (q - 1)
    assert gamma_gamma.expected_average_value(0, 0.0) == pytest.approx(population_mean)
    one, many = gamma_gamma.expected_average_value([1, 50], 100.0)
    assert population_mean < one < many < 100.0
    assert one == pytest.approx(p * (gamma + 100.0) / (p + q - 1))


def test_clv_is_non_negative_and_one_undiscounted_month_is_purchases_times_value(
    bgnbd, gamma_gamma, summary
):
    x, t_x, T, zbar = summary["x"], summary["t_x"], summary["T"], summary["zbar"]  # noqa: N806
    ppm = clv.WEEKS_PER_MONTH
    year = clv.customer_lifetime_value(bgnbd, gamma_gamma, x, t_x, T, zbar, periods_per_month=ppm)
    assert year.shape == x.shape
    assert np.all(year >= 0)
    assert np.all(year[x > 0] > 0)

    month = clv.customer_lifetime_value(
        bgnbd,
        gamma_gamma,
        x,
        t_x,
        T,
        zbar,
        months=1,
        discount_rate_monthly=0.0,
        periods_per_month=ppm,
    )
    purchases = bgnbd.expected_purchases(ppm, x, t_x, T)
    np.testing.assert_allclose(
        month, purchases * gamma_gamma.expected_average_value(x, zbar), rtol=1e-12
    )


def test_clv_discounts_each_month_and_follows_its_customer(bgnbd, gamma_gamma, summary):
    x, t_x, T, zbar = summary["x"], summary["t_x"], summary["T"], summary["zbar"]  # noqa: N806
    ppm = clv.WEEKS_PER_MONTH
    value = gamma_gamma.expected_average_value(x, zbar)
    undiscounted = clv.customer_lifetime_value(
        bgnbd, gamma_gamma, x, t_x, T, zbar, discount_rate_monthly=0.0, periods_per_month=ppm
    )
    year_of_purchases = bgnbd.expected_purchases(12 * ppm, x, t_x, T)
    np.testing.assert_allclose(undiscounted, year_of_purchases * value, rtol=1e-10)

    discounted = clv.customer_lifetime_value(
        bgnbd, gamma_gamma, x, t_x, T, zbar, discount_rate_monthly=0.01, periods_per_month=ppm
    )
    cumulative = np.stack([bgnbd.expected_purchases(m * ppm, x, t_x, T) for m in range(13)])
    by_hand = (np.diff(cumulative, axis=0) / 1.01 ** np.arange(1, 13)[:, None]).sum(axis=0) * value
    np.testing.assert_allclose(discounted, by_hand, rtol=1e-10)
    assert np.all(discounted[x > 0] < undiscounted[x > 0])

    order = np.random.default_rng(3).permutation(x.size)
    shuffled = clv.customer_lifetime_value(
        bgnbd,
        gamma_gamma,
        x[order],
        t_x[order],
        T[order],
        zbar[order],
        discount_rate_monthly=0.01,
        periods_per_month=ppm,
    )
    np.testing.assert_array_equal(shuffled, discounted[order])


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "t_x", "T", "message"),
    [
        ([-1, 2], [0, 3], [5, 5], "x must not be negative"),
        ([1, 2], [-0.5, 3], [5, 5], "t_x must not be negative"),
        ([1, 2], [6, 3], [5, 5], "t_x must not exceed T"),
        ([1.5, 2], [1, 3], [5, 5], "whole numbers"),
        ([0, 2], [1, 3], [5, 5], "t_x must be 0"),
        ([1, np.nan], [1, 3], [5, 5], "x must be finite"),
        ([], [], [], "no customers"),
        ([1, 2, 3], [1, 2], [5, 5], "incompatible shapes"),
        ([0, 0], [0, 0], [5, 5], "at least one customer with a repeat purchase"),
    ],
)
def test_bgnbd_fit_rejects_bad_histories(x, t_x, T, message):  # noqa: N803
    with pytest.raises(ValueError, match=message):
        clv.fit_bgnbd(x, t_x, T)


def test_predictions_reject_bad_input(bgnbd, gamma_gamma):
    with pytest.raises(ValueError, match="t_x must not exceed T"):
        bgnbd.p_alive(1, 10, 5)
    with pytest.raises(ValueError, match="t must not be negative"):
        bgnbd.expected_purchases(-1, 1, 1, 5)
    with pytest.raises(ValueError, match="zbar must not be negative"):
        gamma_gamma.expected_average_value(1, -3.0)
    infinite_mean = clv.GammaGammaFit(
        p=2.0, q=0.9, gamma=1.0, log_likelihood=0.0, n_customers=1, converged=True
    )
    with pytest.raises(ValueError, match="q <= 1"):
        infinite_mean.expected_average_value(1, 3.0)


@pytest.mark.parametrize(
    ("x", "zbar", "message"),
    [
        ([0, 0], [0, 0], "needs customers with repeat purchases"),
        ([1, 2], [0.0, 5.0], "zbar must be positive"),
        ([1, 2], [-1.0, 5.0], "zbar must not be negative"),
        ([1, 2], [1.0, np.inf], "zbar must be finite"),
    ],
)
def test_gamma_gamma_fit_rejects_bad_spend(x, zbar, message):
    with pytest.raises(ValueError, match=message):
        clv.fit_gamma_gamma(x, zbar)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"months": 0, "periods_per_month": 7.0}, "months"),
        ({"months": 1.5, "periods_per_month": 7.0}, "months"),
        ({"discount_rate_monthly": -1.0, "periods_per_month": 7.0}, "discount_rate_monthly"),
        ({"periods_per_month": 0.0}, "periods_per_month"),
    ],
)
def test_clv_rejects_bad_options(bgnbd, gamma_gamma, options, message):
    with pytest.raises(ValueError, match=message):
        clv.customer_lifetime_value(bgnbd, gamma_gamma, [1], [1], [5], [10.0], **options)


def test_clv_needs_the_time_unit(bgnbd, gamma_gamma):
    with pytest.raises(TypeError, match="periods_per_month"):
        clv.customer_lifetime_value(bgnbd, gamma_gamma, [1], [1], [5], [10.0])  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (([], [], []), "no transactions"),
        (([1, 2], ["2024-01-01"], [1.0, 2.0]), "equal length"),
        (([1], ["2024-01-01"], [-5.0]), "not negative"),
        (([1], ["2024-03-01"], [5.0]), "on or before calibration_end"),
    ],
)
def test_summary_rejects_bad_transactions(arguments, message):
    with pytest.raises(ValueError, match=message):
        clv.summary_from_transactions(*arguments, "2024-02-01")


def test_summary_rejects_an_unknown_unit():
    with pytest.raises(ValueError, match="unit"):
        clv.summary_from_transactions([1], ["2024-01-01"], [5.0], "2024-02-01", unit="months")


# --- non-convergence is reported ------------------------------------------------------------


def test_fit_without_any_dropout_reports_no_convergence():
    # every customer bought on the last day: the likelihood keeps rising as p → 0 (b → ∞)
    fit = clv.fit_bgnbd([1, 2, 3, 4], [10, 10, 10, 10], [10, 10, 10, 10])
    assert not fit.converged
    assert fit.message


def test_gamma_gamma_fit_on_identical_spend_reports_no_convergence():
    # no spread in spend between customers: q and γ run off to infinity
    fit = clv.fit_gamma_gamma([1, 2, 3, 1, 2], [20.0, 20.0, 20.0, 20.0, 20.0])
    assert not fit.converged
