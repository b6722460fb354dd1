"""Customer lifetime value: BG/NBD purchase counts, Gamma-Gamma spend, discounted residual CLV.

Maximum-likelihood fits with analytic gradients, optimised in log-parameter space. Customers
with the same history are collapsed into weighted rows first, so a fit costs as much as the
number of distinct histories, not the number of customers.

Sources:

- Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way: An Alternative to the
  Pareto/NBD Model", Marketing Science 24(2), 275-284 — likelihood (eq. 6), P(alive)
  (brucehardie.com/notes/021) and the conditional expectation E[Y(t) | x, t_x, T] (eq. 10).
- Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value" (brucehardie.com/notes/025).

Notation: x = repeat purchases, t_x = time of the last purchase and T = age, both measured
from the first purchase in one time unit (days or weeks); zbar = mean value of the repeat
purchases.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, special

FloatArray = NDArray[np.float64]

DAYS_PER_MONTH = 365.25 / 12
WEEKS_PER_MONTH = DAYS_PER_MONTH / 7

# Log-parameters are boxed so that no line search step overflows exp(); a fit that ends on
# the box is reported as not converged.
_LOG_BOUND = 25.0
# A fit counts as converged when one more Newton step would move no log-parameter by more
# than this, i.e. the parameters are within about 1e-8 relative of the maximum.
_STEP_TOLERANCE = 1e-8
_NEWTON_STEPS = 4
_MAX_ITERATIONS = 2000

# --- input checks and collapsing ------------------------------------------------------------


def _non_negative(name: str, values: ArrayLike) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite")
    if np.any(array < 0):
        raise ValueError(f"{name} must not be negative")
    return array + 0.0  # turns -0.0 into 0.0 so equal histories collapse


def _history(x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> tuple[FloatArray, ...]:  # noqa: N803
    """Validated, broadcast (x, t_x, T)."""
    try:
        x_, t_x_, T_ = np.broadcast_arrays(  # noqa: N806
            _non_negative("x", x), _non_negative("t_x", t_x), _non_negative("T", T)
        )
    except ValueError as error:
        raise ValueError(f"x, t_x and T have incompatible shapes: {error}") from None
    if x_.size == 0:
        raise ValueError("no customers given")
    if np.any(x_ != np.floor(x_)):
        raise ValueError("x must be whole numbers of repeat purchases")
    if np.any(t_x_ > T_):
        raise ValueError("t_x must not exceed T")
    if np.any((x_ == 0) & (t_x_ != 0)):
        raise ValueError("t_x must be 0 for customers without repeat purchases")
    return x_, t_x_, T_


def _collapse(
    *columns: FloatArray, weights: FloatArray | None = None
) -> tuple[tuple[FloatArray, ...], NDArray[np.intp], FloatArray]:
    """Distinct rows of the columns, the row each input maps to, and how many map to each
    (the sum of `weights` over them, when given).

    np.unique(axis=0) sorts a structured view and takes seconds on a million rows; a lexsort
    and a neighbour comparison do the same in a fraction of that.
    """
    order = np.lexsort(columns[::-1])
    starts = np.ones(order.size, dtype=bool)
    for column in columns:
        sorted_column = column[order]
        starts[1:] &= sorted_column[1:] == sorted_column[:-1]
    starts = ~starts
    starts[0] = True
    group = np.cumsum(starts) - 1
    inverse = np.empty(order.size, dtype=np.intp)
    inverse[order] = group
    first = order[starts]
    counts = np.bincount(group, weights=weights).astype(np.float64)
    return tuple(column[first] for column in columns), inverse, counts


def _dot(left: FloatArray, right: FloatArray) -> float:
    """Inner product without BLAS: OpenBLAS spreads long dot products over threads, which
    made whole fits four times slower on a busy two-core machine."""
    return float(np.einsum("i,i->", left, right))


def _hessian(objective, log_params: FloatArray, args: tuple) -> FloatArray:
    """Central differences of the analytic gradient."""
    size = log_params.size
    hessian = np.empty((size, size))
    for j in range(size):
        shift = np.zeros(size)
        shift[j] = 1e-5
        hessian[:, j] = (
            objective(log_params + shift, *args)[1] - objective(log_params - shift, *args)[1]
        ) / 2e-5
    return (hessian + hessian.T) / 2


def _minimise(
    objective, start: FloatArray, args: tuple, names: tuple[str, ...]
) -> tuple[FloatArray, float, bool, str]:
    """Minimise the negative mean log-likelihood: L-BFGS-B, then Newton steps.

    L-BFGS-B stalls at relative changes of the objective near machine precision, which on the
    flat Gamma-Gamma likelihood leaves the parameters only about 1e-6 accurate. Newton steps
    with a finite-difference Hessian of the analytic gradient, taken once at the L-BFGS-B end
    point (it barely changes over the last, tiny steps), settle them.
    """
    bounds = [(-_LOG_BOUND, _LOG_BOUND)] * start.size
    options = {"maxiter": _MAX_ITERATIONS, "ftol": 1e-15, "gtol": 1e-10}
    result = optimize.minimize(
        objective, start, args=args, jac=True, method="L-BFGS-B", bounds=bounds, options=options
    )
    log_params = result.x
    value, gradient = objective(log_params, *args)
    message = str(result.message)
    converged = False
    hessian = _hessian(objective, log_params, args)
    try:
        np.linalg.cholesky(hessian)
    except np.linalg.LinAlgError:
        message = f"the likelihood is not concave at the end point; {message}"
    else:
        for _ in range(_NEWTON_STEPS):
            step = np.linalg.solve(hessian, gradient)
            converged = float(np.max(np.abs(step))) <= _STEP_TOLERANCE
            candidate = log_params - step
            if np.any(np.abs(candidate) >= _LOG_BOUND):
                break
            candidate_value, candidate_gradient = objective(candidate, *args)
            improved = bool(np.max(np.abs(candidate_gradient)) < np.max(np.abs(gradient)))
            if improved:
                log_params, value, gradient = candidate, candidate_value, candidate_gradient
            if converged or not improved:
                break
    on_bound = np.abs(log_params) >= _LOG_BOUND - 1e-6
    if np.any(on_bound):
        converged = False
        ended = ", ".join(
            f"{name} = {value:.3g}"
            for name, value, bound in zip(names, np.exp(log_params), on_bound, strict=True)
            if bound
        )
        message = f"a parameter ran to its bound ({ended}; |log| = {_LOG_BOUND}); {message}"
    return np.exp(log_params), float(value), converged, message


# --- BG/NBD ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _BgNbdData:
    x: FloatArray
    t_x: FloatArray
    T: FloatArray
    weight: FloatArray
    x_levels: FloatArray  # distinct x: the x-only special functions are evaluated once each
    x_index: NDArray[np.intp]
    level_weight: FloatArray
    level_repeat: NDArray[np.bool_]
    total_weight: float

    @classmethod
    def build(cls, x: FloatArray, t_x: FloatArray, T: FloatArray, weight: FloatArray):  # noqa: N803
        x_levels, x_index = np.unique(x, return_inverse=True)
        x_index = x_index.reshape(-1)
        return cls(
            x=x,
            t_x=t_x,
            T=T,
            weight=weight,
            x_levels=x_levels,
            x_index=x_index,
            level_weight=np.bincount(x_index, weights=weight, minlength=x_levels.size),
            level_repeat=x_levels > 0,
            total_weight=float(weight.sum()),
        )


def _bgnbd_objective(log_params: FloatArray, data: _BgNbdData) -> tuple[float, FloatArray]:
    """Negative mean BG/NBD log-likelihood and its gradient in (log r, log α, log a, log b).

    LL = ln Γ(r+x) − ln Γ(r) + r ln α + ln B(a, b+x) − ln B(a, b)
         + ln[(α+T)^−(r+x) + δ(x>0) a/(b+x−1) (α+t_x)^−(r+x)]          (FHL 2005, eq. 6)
    """
    r, alpha, a, b = np.exp(log_params)
    levels = data.x_levels
    level_term = (
        special.gammaln(r + levels) + special.gammaln(b + levels) - special.gammaln(a + b + levels)
    )
    constant = -special.gammaln(r) + r * np.log(alpha) - special.gammaln(b) + special.gammaln(a + b)
    # b + x − 1 only matters for repeat buyers; max(x, 1) keeps the logarithm finite for x = 0.
    level_b_shift = b + np.maximum(levels, 1.0) - 1.0
    level_log_dropout = np.where(data.level_repeat, np.log(a) - np.log(level_b_shift), -np.inf)

    x, w = data.x, data.weight
    r_x = r + x
    log_alpha_T = np.log(alpha + data.T)  # noqa: N806
    log_alpha_t_x = np.log(alpha + data.t_x)
    alive = -r_x * log_alpha_T
    dropped = level_log_dropout[data.x_index] - r_x * log_alpha_t_x
    # ln(e^alive + e^dropped) and the share of the "dropped out right after the last purchase"
    # branch, from one exponential (np.logaddexp and expit cost three times as much)
    difference = dropped - alive
    small = np.exp(-np.abs(difference))
    log_likelihood = (
        level_term[data.x_index] + alive + np.maximum(difference, 0.0) + np.log1p(small)
    )
    total = _dot(w, log_likelihood) + data.total_weight * constant
    share = np.where(difference >= 0, 1.0, small) / (1.0 + small)
    w_share = w * share
    w_alive = w - w_share
    lw = data.level_weight
    digamma_a_b = special.digamma(a + b)
    digamma_a_b_x = special.digamma(a + b + levels)

    d_r = (
        _dot(lw, special.digamma(r + levels))
        + data.total_weight * (np.log(alpha) - special.digamma(r))
        - _dot(w_alive, log_alpha_T)
        - _dot(w_share, log_alpha_t_x)
    )
    d_alpha = data.total_weight * r / alpha - (
        _dot(w_alive * r_x, 1.0 / (alpha + data.T)) + _dot(w_share * r_x, 1.0 / (alpha + data.t_x))
    )
    d_a = _dot(lw, digamma_a_b - digamma_a_b_x) + w_share.sum() / a
    d_b = _dot(
        lw, special.digamma(b + levels) - digamma_a_b_x - special.digamma(b) + digamma_a_b
    ) - _dot(w_share, (1.0 / level_b_shift)[data.x_index])

    gradient = np.array([d_r * r, d_alpha * alpha, d_a * a, d_b * b])
    return -total / data.total_weight, -gradient / data.total_weight


@dataclass(frozen=True)
class BgNbdFit:
    """Fitted BG/NBD model: purchases at Poisson rate λ ~ Gamma(r, α) while alive, and after
    each repeat purchase the customer drops out with probability p ~ Beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    n_customers: int
    converged: bool
    n_distinct: int = 0
    message: str = ""

    def p_alive(self, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> FloatArray:  # noqa: N803
        """P(alive | x, t_x, T) = 1 / (1 + δ(x>0) a/(b+x−1) ((α+T)/(α+t_x))^(r+x))."""
        return self._p_alive(*_history(x, t_x, T))

    def expected_purchases(
        self,
        t: ArrayLike,
        x: ArrayLike,
        t_x: ArrayLike,
        T: ArrayLike,  # noqa: N803
    ) -> FloatArray:
        """E[Y(t) | x, t_x, T]: expected repeat purchases in the next t time units (FHL eq. 10)."""
        horizon = _non_negative("t", t)
        x_, t_x_, T_ = _history(x, t_x, T)  # noqa: N806
        return self._expected_purchases(horizon, x_, t_x_, T_)

    def _p_alive(self, x: FloatArray, t_x: FloatArray, T: FloatArray) -> FloatArray:  # noqa: N803
        log_odds_dropped = (
            np.log(self.a)
            - np.log(self.b + np.maximum(x, 1.0) - 1.0)
            + (self.r + x) * (np.log(self.alpha + T) - np.log(self.alpha + t_x))
        )
        return np.where(x > 0, special.expit(-log_odds_dropped), 1.0)

    def _expected_purchases(
        self,
        t: FloatArray,
        x: FloatArray,
        t_x: FloatArray,
        T: FloatArray,  # noqa: N803
    ) -> FloatArray:
        return self._purchases_if_alive(t, x, T) * self._p_alive(x, t_x, T)

    def _purchases_if_alive(self, t: FloatArray, x: FloatArray, T: FloatArray) -> FloatArray:  # noqa: N803
        """E[Y(t) | alive, x, T]; eq. 10 is this times P(alive)."""
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        if abs(a - 1.0) < 1e-7:
            # c/(a−1) · (1 − …) is 0/0 at a = 1; the mean of both sides is the limit to ~1e-10
            above, below = replace(self, a=1.0 + 1e-6), replace(self, a=1.0 - 1e-6)
            return 0.5 * (above._purchases_if_alive(t, x, T) + below._purchases_if_alive(t, x, T))
        z = t / (alpha + T + t)
        # Eq. 10 reads 1 − (1−z)^(r+x) 2F1(r+x, b+x; a+b+x−1; z). Euler's transformation
        # turns it into 1 − (1−z)^(a−1) 2F1(a+b−1−r, a−1; a+b+x−1; z): no huge power times a
        # huge 2F1 for heavy buyers over long horizons, and the series converges faster.
        c = a + b + x - 1.0
        hypergeometric = _hyp2f1(a + b - 1.0 - r, a - 1.0, c, z)
        remaining = 1.0 - np.exp((a - 1.0) * np.log1p(-z)) * hypergeometric
        return c / (a - 1.0) * remaining


def _hyp2f1(a: float, b: float, c: FloatArray, z: FloatArray) -> FloatArray:
    """scipy's 2F1, mended where it fails.

    SciPy 1.17 returns NaN for z > 0.9 and large c when c − a − b is a whole number (its
    special branch for that case overflows). 2F1 is smooth in a, so the mean of a ± 1e-7
    gives the value to about 1e-14 there.
    """
    value = np.array(special.hyp2f1(a, b, c, z), dtype=np.float64)
    failed = ~np.isfinite(value)
    if np.any(failed):
        c_failed = np.broadcast_to(c, value.shape)[failed]
        z_failed = np.broadcast_to(z, value.shape)[failed]
        value[failed] = 0.5 * (
            special.hyp2f1(a + 1e-7, b, c_failed, z_failed)
            + special.hyp2f1(a - 1e-7, b, c_failed, z_failed)
        )
    return value


def bgnbd_log_likelihood(
    r: float,
    alpha: float,
    a: float,
    b: float,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,  # noqa: N803
    *,
    weights: ArrayLike | None = None,
) -> float:
    """Total BG/NBD log-likelihood of the customers (FHL 2005, eq. 6), each row counted
    `weights` times."""
    x_, t_x_, T_ = (column.ravel() for column in _history(x, t_x, T))  # noqa: N806
    weight = _row_weights(weights, x_.size)
    log_params = np.log(np.array([r, alpha, a, b], dtype=np.float64))
    data = _BgNbdData.build(x_, t_x_, T_, weight)
    value, _ = _bgnbd_objective(log_params, data)
    return -value * data.total_weight


def fit_bgnbd(
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,  # noqa: N803
    *,
    weights: ArrayLike | None = None,
) -> BgNbdFit:
    """Maximum-likelihood BG/NBD fit (Fader, Hardie & Lee 2005) on the customers' histories.

    `weights` says how many customers share each row, for input already grouped by
    (x, t_x, T), e.g. in the warehouse.
    """
    x_, t_x_, T_ = (column.ravel() for column in _history(x, t_x, T))  # noqa: N806
    weight = _customer_counts(weights, x_.size)
    if not np.any((x_ > 0) & (weight > 0)):
        raise ValueError("the BG/NBD fit needs at least one customer with a repeat purchase")
    (ux, ut_x, uT), _, counts = _collapse(x_, t_x_, T_, weights=weight)  # noqa: N806
    data = _BgNbdData.build(ux, ut_x, uT, counts)
    # Start from r = a = b = 1 with α matching the mean purchase rate; log space makes the
    # optimiser indifferent to the time unit.
    mean_rate = _dot(counts, ux) / max(_dot(counts, uT), 1e-12)
    start = np.log(np.array([1.0, 1.0 / max(mean_rate, 1e-9), 1.0, 1.0]))
    (r, alpha, a, b), value, converged, message = _minimise(
        _bgnbd_objective, start, (data,), ("r", "alpha", "a", "b")
    )
    return BgNbdFit(
        r=float(r),
        alpha=float(alpha),
        a=float(a),
        b=float(b),
        log_likelihood=-value * data.total_weight,
        n_customers=round(data.total_weight),
        converged=converged,
        n_distinct=int(ux.size),
        message=message,
    )


# --- Gamma-Gamma ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _GammaGammaData:
    x: FloatArray
    zbar: FloatArray
    weight: FloatArray
    x_levels: FloatArray
    x_index: NDArray[np.intp]
    level_weight: FloatArray  # Σ w per distinct x
    level_weight_x: FloatArray  # Σ w·x per distinct x
    sum_w_log_zbar: float
    sum_w_x_log_zbar: float
    sum_w_x_log_x: float
    total_weight: float

    @classmethod
    def build(cls, x: FloatArray, zbar: FloatArray, weight: FloatArray):
        x_levels, x_index = np.unique(x, return_inverse=True)
        x_index = x_index.reshape(-1)
        level_weight = np.bincount(x_index, weights=weight, minlength=x_levels.size)
        log_zbar = np.log(zbar)
        return cls(
            x=x,
            zbar=zbar,
            weight=weight,
            x_levels=x_levels,
            x_index=x_index,
            level_weight=level_weight,
            level_weight_x=level_weight * x_levels,
            sum_w_log_zbar=_dot(weight, log_zbar),
            sum_w_x_log_zbar=_dot(weight * x, log_zbar),
            sum_w_x_log_x=_dot(weight * x, np.log(x)),
            total_weight=float(weight.sum()),
        )


def _gamma_gamma_objective(
    log_params: FloatArray, data: _GammaGammaData
) -> tuple[float, FloatArray]:
    """Negative mean Gamma-Gamma log-likelihood and its gradient in (log p, log q, log γ).

    LL = ln Γ(px+q) − ln Γ(px) − ln Γ(q) + q ln γ + (px−1) ln zbar + px ln x
         − (px+q) ln(γ + x·zbar)                                         (Fader & Hardie 2013)
    """
    p, q, gamma = np.exp(log_params)
    levels = data.x_levels
    px = p * levels
    lw, lwx, n = data.level_weight, data.level_weight_x, data.total_weight
    log_gamma_q = np.log(gamma)
    log_scale = np.log(gamma + data.x * data.zbar)
    shape = p * data.x + q
    total = (
        _dot(lw, special.gammaln(px + q) - special.gammaln(px))
        + n * (q * log_gamma_q - special.gammaln(q))
        + p * (data.sum_w_x_log_zbar + data.sum_w_x_log_x)
        - data.sum_w_log_zbar
        - _dot(data.weight * shape, log_scale)
    )
    digamma_shape = special.digamma(px + q)
    d_p = (
        _dot(lwx, digamma_shape - special.digamma(px))
        + data.sum_w_x_log_zbar
        + data.sum_w_x_log_x
        - _dot(data.weight * data.x, log_scale)
    )
    d_q = (
        _dot(lw, digamma_shape)
        + n * (log_gamma_q - special.digamma(q))
        - _dot(data.weight, log_scale)
    )
    d_gamma = n * q / gamma - _dot(data.weight * shape, 1.0 / (gamma + data.x * data.zbar))
    gradient = np.array([d_p * p, d_q * q, d_gamma * gamma])
    return -float(total) / n, -gradient / n


@dataclass(frozen=True)
class GammaGammaFit:
    """Fitted Gamma-Gamma model: a customer's purchase values are Gamma(p, ν) with
    ν ~ Gamma(q, γ) across customers."""

    p: float
    q: float
    gamma: float
    log_likelihood: float
    n_customers: int
    converged: bool
    n_distinct: int = 0
    message: str = ""

    def expected_average_value(self, x: ArrayLike, zbar: ArrayLike) -> FloatArray:
        """E[M | x, zbar] = p (γ + x·zbar) / (px + q − 1); the population mean pγ/(q−1) at x = 0."""
        if self.q <= 1:
            raise ValueError("the mean purchase value is infinite when q <= 1")
        x_, zbar_ = _spend(x, zbar)
        return self.p * (self.gamma + x_ * zbar_) / (self.p * x_ + self.q - 1.0)


def _spend(x: ArrayLike, zbar: ArrayLike) -> tuple[FloatArray, FloatArray]:
    try:
        x_, zbar_ = np.broadcast_arrays(_non_negative("x", x), _non_negative("zbar", zbar))
    except ValueError as error:
        raise ValueError(f"x and zbar have incompatible shapes: {error}") from None
    if x_.size == 0:
        raise ValueError("no customers given")
    if np.any(x_ != np.floor(x_)):
        raise ValueError("x must be whole numbers of repeat purchases")
    return x_, zbar_


def _repeat_buyers(x: ArrayLike, zbar: ArrayLike) -> tuple[FloatArray, FloatArray]:
    x_, zbar_ = (column.ravel() for column in _spend(x, zbar))
    repeat = x_ > 0
    if not np.any(repeat):
        raise ValueError("the Gamma-Gamma fit needs customers with repeat purchases (x > 0)")
    if np.any(zbar_[repeat] <= 0):
        raise ValueError("zbar must be positive for customers with repeat purchases")
    return x_[repeat], zbar_[repeat]


def gamma_gamma_log_likelihood(
    p: float,
    q: float,
    gamma: float,
    x: ArrayLike,
    zbar: ArrayLike,
    *,
    weights: ArrayLike | None = None,
) -> float:
    """Total Gamma-Gamma log-likelihood of the repeat buyers (x > 0) among the customers."""
    x_, zbar_ = _spend(x, zbar)
    weight = _row_weights(weights, x_.size)
    repeat = x_.ravel() > 0
    rx, rzbar = _repeat_buyers(x_, zbar_)
    data = _GammaGammaData.build(rx, rzbar, weight[repeat])
    value, _ = _gamma_gamma_objective(np.log(np.array([p, q, gamma], dtype=np.float64)), data)
    return -value * data.total_weight


def fit_gamma_gamma(
    x: ArrayLike, zbar: ArrayLike, *, weights: ArrayLike | None = None
) -> GammaGammaFit:
    """Maximum-likelihood Gamma-Gamma fit (Fader & Hardie 2013) on the repeat buyers (x > 0).

    `weights` says how many customers share each row (x, zbar).
    """
    x_, zbar_ = (column.ravel() for column in _spend(x, zbar))
    weight = _customer_counts(weights, x_.size)
    keep = weight > 0
    rx, rzbar = _repeat_buyers(x_[keep], zbar_[keep])
    repeat_weight = weight[keep][x_[keep] > 0]
    (ux, uzbar), _, counts = _collapse(rx, rzbar, weights=repeat_weight)
    data = _GammaGammaData.build(ux, uzbar, counts)
    # q = 2, p = 1 and γ = mean(zbar) match the population mean pγ/(q−1) to the data.
    start = np.log(np.array([1.0, 2.0, _dot(counts, uzbar) / data.total_weight]))
    (p, q, gamma), value, converged, message = _minimise(
        _gamma_gamma_objective, start, (data,), ("p", "q", "gamma")
    )
    return GammaGammaFit(
        p=float(p),
        q=float(q),
        gamma=float(gamma),
        log_likelihood=-value * data.total_weight,
        n_customers=round(data.total_weight),
        converged=converged,
        n_distinct=int(ux.size),
        message=message,
    )


def _customer_counts(weights: ArrayLike | None, size: int) -> FloatArray:
    weight = _row_weights(weights, size)
    if np.any(weight != np.floor(weight)):
        raise ValueError("weights must be whole numbers of customers")
    return weight


def _row_weights(weights: ArrayLike | None, size: int) -> FloatArray:
    if weights is None:
        return np.ones(size)
    weight = _non_negative("weights", weights).ravel()
    if weight.size != size:
        raise ValueError("weights must have one entry per customer")
    return weight


# --- customer lifetime value ----------------------------------------------------------------


def customer_lifetime_value(
    bgnbd: BgNbdFit,
    gamma_gamma: GammaGammaFit,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,  # noqa: N803
    zbar: ArrayLike,
    *,
    months: int = 12,
    discount_rate_monthly: float = 0.01,
    periods_per_month: float,
) -> FloatArray:
    """Discounted residual CLV over the next `months` months:

        Σ_m (E[Y(m·ppm)] − E[Y((m−1)·ppm)]) · E[M | x, zbar] / (1 + d)^m,  m = 1 … months

    with E[Y] from BG/NBD and E[M] from Gamma-Gamma; ppm = model time units per month
    (`DAYS_PER_MONTH`, `WEEKS_PER_MONTH`).
    """
    _check_months(months)
    x_, t_x_, T_ = _history(x, t_x, T)  # noqa: N806
    try:
        zbar_ = np.broadcast_to(_non_negative("zbar", zbar), x_.shape)
    except ValueError as error:
        raise ValueError(f"zbar does not match the shape of x, t_x and T: {error}") from None
    average_value = gamma_gamma.expected_average_value(x_, zbar_)
    (purchases,) = discounted_purchases(
        bgnbd,
        x_,
        t_x_,
        T_,
        months=(months,),
        discount_rate_monthly=discount_rate_monthly,
        periods_per_month=periods_per_month,
    )
    return purchases * average_value


def _check_months(months: object) -> int:
    if isinstance(months, bool) or not isinstance(months, int | np.integer) or months < 1:
        raise ValueError("months must be a whole number of at least 1")
    return int(months)


def discounted_purchases(
    bgnbd: BgNbdFit,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,  # noqa: N803
    *,
    months: tuple[int, ...],
    discount_rate_monthly: float,
    periods_per_month: float,
) -> list[FloatArray]:
    """Σ_m (E[Y(m·ppm)] − E[Y((m−1)·ppm)]) / (1 + d)^m for m = 1 … each of `months`: the
    discounted expected purchases per customer over several horizons in one pass. Times the
    expected margin per purchase, each is the residual CLV over its horizon.
    """
    horizons = [_check_months(m) for m in months]
    if not horizons:
        raise ValueError("months must name at least one horizon")
    if not np.isfinite(discount_rate_monthly) or discount_rate_monthly <= -1:
        raise ValueError("discount_rate_monthly must be greater than -1")
    if not np.isfinite(periods_per_month) or periods_per_month <= 0:
        raise ValueError("periods_per_month must be positive")
    x_, t_x_, T_ = _history(x, t_x, T)  # noqa: N806
    shape = x_.shape

    # E[Y(t) | alive] depends on (x, T) only, so the months are evaluated once per distinct
    # pair (far fewer than distinct (x, t_x, T)); P(alive) is cheap per customer.
    (ux, uT), inverse, _ = _collapse(x_.ravel(), T_.ravel())  # noqa: N806
    discounted = np.zeros(ux.size)
    previous = np.zeros(ux.size)
    alive = bgnbd._p_alive(x_, t_x_, T_)
    sums: dict[int, FloatArray] = {}
    for month in range(1, max(horizons) + 1):
        horizon = np.float64(month * periods_per_month)
        cumulative = bgnbd._purchases_if_alive(horizon, ux, uT)
        discounted += (cumulative - previous) / (1.0 + discount_rate_monthly) ** month
        previous = cumulative
        if month in horizons:
            sums[month] = discounted[inverse].reshape(shape) * alive
    return [sums[m] for m in horizons]


# --- summary from transactions --------------------------------------------------------------


@dataclass(frozen=True)
class PurchaseSummary:
    """Calibration summary per customer, sorted by customer id."""

    customer_id: np.ndarray
    x: FloatArray
    t_x: FloatArray
    T: FloatArray
    zbar: FloatArray


_UNIT_DAYS = {"days": 1.0, "weeks": 7.0}


def summary_from_transactions(
    customer_ids: ArrayLike,
    dates: ArrayLike,
    amounts: ArrayLike,
    calibration_end: dt.date | np.datetime64 | str,
    unit: Literal["weeks", "days"] = "weeks",
) -> PurchaseSummary:
    """(x, t_x, T, zbar) per customer from transactions on or before `calibration_end`.

    Transactions of one customer on one calendar day are one purchase with their amounts
    summed; x = purchase days − 1; t_x = (last − first purchase day) / unit; T =
    (calibration_end − first purchase day) / unit; zbar = mean of the repeat days' totals
    (0 when x = 0). Dates carrying a time of day are cut to the day.
    """
    if unit not in _UNIT_DAYS:
        raise ValueError("unit must be 'weeks' or 'days'")
    ids = np.asarray(customer_ids)
    days = np.asarray(dates).astype("datetime64[D]")
    values = np.asarray(amounts, dtype=np.float64)
    if ids.ndim != 1 or days.shape != ids.shape or values.shape != ids.shape:
        raise ValueError("customer_ids, dates and amounts must be 1-D and of equal length")
    if ids.size == 0:
        raise ValueError("no transactions given")
    if np.any(np.isnat(days)):
        raise ValueError("dates must not be missing")
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise ValueError("amounts must be finite and not negative (net refunds out first)")
    end = np.datetime64(calibration_end, "D")

    keep = days <= end
    if not np.any(keep):
        raise ValueError("no transactions on or before calibration_end")
    customers, customer_index = np.unique(ids[keep], return_inverse=True)
    customer_index = customer_index.reshape(-1)
    day_number = days[keep].astype(np.int64)
    values = values[keep]

    # one row per (customer, day) with the day's total
    order = np.lexsort((day_number, customer_index))
    customer_index, day_number, values = customer_index[order], day_number[order], values[order]
    new_day = np.ones(order.size, dtype=bool)
    new_day[1:] = (customer_index[1:] != customer_index[:-1]) | (day_number[1:] != day_number[:-1])
    day_starts = np.flatnonzero(new_day)
    day_customer = customer_index[day_starts]
    day_date = day_number[day_starts]
    day_total = np.add.reduceat(values, day_starts)

    # days are sorted within each customer, so a customer's first row is the first purchase
    first_row = np.flatnonzero(np.r_[True, day_customer[1:] != day_customer[:-1]])
    purchase_days = np.diff(np.r_[first_row, day_customer.size])
    last_row = first_row + purchase_days - 1
    first_day = day_date[first_row]
    repeat_total = np.add.reduceat(day_total, first_row) - day_total[first_row]

    unit_days = _UNIT_DAYS[unit]
    x = (purchase_days - 1).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        zbar = np.where(x > 0, repeat_total / x, 0.0)
    return PurchaseSummary(
        customer_id=customers,
        x=x,
        t_x=(day_date[last_row] - first_day) / unit_days,
        T=(end.astype(np.int64) - first_day) / unit_days,
        zbar=zbar,
    )
