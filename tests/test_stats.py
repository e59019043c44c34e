"""Confidence intervals of shieldwall.analysis.stats against independent references.

References: scipy's Wilson interval (``binomtest(...).proportion_ci(method='wilson')``) and
Student-t interval (``scipy.stats.t.interval``); the exact coverage of the Wilson interval from
the binomial distribution; and simulated coverage on toy cases with a known answer, which must
agree with the nominal (or exact) coverage within binomial tolerance.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from shieldwall.analysis.stats import (
    convergence_checkpoints,
    estimate_mean,
    estimate_proportion,
    half_width_convergence,
    t_interval,
    wilson_interval,
)

REPETITIONS = 2000


def _binomial_tolerance(p: float, m: int, sigmas: float = 4.0) -> float:
    return sigmas * math.sqrt(p * (1.0 - p) / m)


@pytest.mark.parametrize("n", [1, 7, 30, 250])
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_wilson_matches_scipy(n: int, confidence: float) -> None:
    for k in sorted({0, 1, n // 3, n // 2, n - 1, n}):
        if not 0 <= k <= n:
            continue
        ref = stats.binomtest(k, n).proportion_ci(confidence_level=confidence,
                                                  method="wilson")
        lo, hi = wilson_interval(k, n, confidence)
        assert float(lo) == pytest.approx(ref.low, abs=1e-12)
        assert float(hi) == pytest.approx(ref.high, abs=1e-12)


def test_wilson_vectorized_edges() -> None:
    k = np.array([0, 3, 10, 0])
    n = np.array([10, 10, 10, 0])
    lo, hi = wilson_interval(k, n)
    assert lo[0] == 0.0 and 0.0 < hi[0] < 0.35
    assert hi[2] == pytest.approx(1.0) and lo[2] > 0.65
    assert math.isnan(lo[3]) and math.isnan(hi[3])
    assert np.all(lo[:3] <= k[:3] / n[:3]) and np.all(k[:3] / n[:3] <= hi[:3])
    with pytest.raises(ValueError):
        wilson_interval(11, 10)


def test_t_interval_matches_scipy() -> None:
    rng = np.random.default_rng(1)
    for n in (2, 5, 40):
        x = rng.gamma(2.0, 3.0, n)
        mean, lo, hi = t_interval(x, 0.95)
        ref = stats.t.interval(0.95, n - 1, loc=x.mean(), scale=stats.sem(x))
        assert mean == pytest.approx(x.mean())
        assert (lo, hi) == pytest.approx(ref, rel=1e-12)
    assert all(math.isnan(v) for v in t_interval([3.0])[1:])
    assert t_interval([3.0])[0] == 3.0
    assert all(math.isnan(v) for v in t_interval([]))
    # A constant sample: a zero-width interval, not NaN.
    assert t_interval([2.0, 2.0, 2.0]) == (2.0, 2.0, 2.0)


def _wilson_exact_coverage(p: float, n: int) -> float:
    k = np.arange(n + 1)
    lo, hi = wilson_interval(k, n)
    covered = (lo <= p) & (p <= hi)
    return float(stats.binom.pmf(k[covered], n, p).sum())


@pytest.mark.parametrize(("p", "n"), [(0.3, 50), (0.05, 100), (0.9, 20)])
def test_wilson_coverage_on_bernoulli_draws(p: float, n: int) -> None:
    rng = np.random.default_rng(20261127)
    draws = rng.random((REPETITIONS, n)) < p
    lo, hi = wilson_interval(draws.sum(axis=1), n)
    coverage = float(np.mean((lo <= p) & (p <= hi)))
    exact = _wilson_exact_coverage(p, n)
    # The exact coverage of Wilson's interval oscillates about the nominal level...
    assert abs(exact - 0.95) < 0.03
    # ...and the simulated coverage agrees with it (and with 0.95) within binomial tolerance.
    assert abs(coverage - exact) < _binomial_tolerance(exact, REPETITIONS)
    assert abs(coverage - 0.95) < _binomial_tolerance(0.95, REPETITIONS) + 0.03


def test_t_coverage_on_normal_draws() -> None:
    rng = np.random.default_rng(7)
    mu, n = 4.2, 15
    hits = 0
    for _ in range(REPETITIONS):
        _, lo, hi = t_interval(rng.normal(mu, 2.5, n))
        hits += lo <= mu <= hi
    coverage = hits / REPETITIONS
    # Exact for normal samples: 0.95 up to Monte Carlo noise.
    assert abs(coverage - 0.95) < _binomial_tolerance(0.95, REPETITIONS)


def test_t_coverage_on_leaker_counts() -> None:
    # Counts like leakers: Poisson(1.5), n = 100; the CLT makes the t-interval close to nominal.
    rng = np.random.default_rng(11)
    lam = 1.5
    x = rng.poisson(lam, (REPETITIONS, 100))
    hits = sum(lo <= lam <= hi for _, lo, hi in (t_interval(row) for row in x))
    assert abs(hits / REPETITIONS - 0.95) < _binomial_tolerance(0.95, REPETITIONS) + 0.01


def test_estimates_and_nan_handling() -> None:
    est = estimate_proportion([True, False, True, True])
    assert (est.successes, est.n, est.estimate) == (3, 4, 0.75)
    assert est.as_dict()["method"] == "wilson"
    m = estimate_mean([1.0, np.nan, 3.0, 5.0])
    assert (m.n, m.n_undefined, m.mean) == (3, 1, 3.0)
    assert m.std == pytest.approx(2.0)
    assert m.as_dict()["ci95"][0] < 3.0 < m.as_dict()["ci95"][1]
    assert estimate_mean([np.nan]).as_dict()["mean"] is None


def test_convergence_checkpoints_and_half_width_shrinks() -> None:
    assert convergence_checkpoints(5) == [5]
    assert convergence_checkpoints(10) == [10]
    assert convergence_checkpoints(130) == [10, 20, 50, 100, 130]
    assert convergence_checkpoints(1000) == [10, 20, 50, 100, 200, 500, 1000]
    assert convergence_checkpoints(0) == []
    rng = np.random.default_rng(3)
    x = rng.normal(0.0, 1.0, 5000)
    cps = convergence_checkpoints(x.size)
    hw = half_width_convergence(x, "mean", cps)
    # Half-width = t_{N-1} s_N / sqrt(N) on the first N samples, ~ 1.96 sigma / sqrt(N).
    for m, h in zip(cps, hw, strict=True):
        s_m = x[:m].std(ddof=1)
        assert h == pytest.approx(stats.t.ppf(0.975, m - 1) * s_m / math.sqrt(m), rel=1e-12)
        if m >= 100:
            assert h == pytest.approx(1.96 / math.sqrt(m), rel=0.2)
    assert hw[-1] < hw[0] / 10
    hp = half_width_convergence(rng.random(1000) < 0.2, "proportion", [10, 1000])
    assert hp[1] < hp[0]
    with pytest.raises(ValueError):
        half_width_convergence(x, "median", cps)
