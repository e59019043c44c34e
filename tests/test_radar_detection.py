"""Detection kernels against independent references.

- Swerling 0 vs Albersheim's approximation and vs a Monte Carlo of the square-law detector;
- Swerling 1/2/3 vs numerical integration of the Swerling 0 curve over the RCS distribution and
  vs Monte Carlo;
- the classic required-SNR numbers (Pd 0.9, Pfa 1e-6: 13.2 dB and 21 dB);
- the radar range equation vs a dB budget with the published kT0 = -204 dBW/Hz, and
  R(Pd = 0.5) proportional to sigma^(1/4).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, optimize, stats

from shieldwall.catalog.types import Radar
from shieldwall.sensors import (
    db_to_linear,
    detection_probability,
    detection_range_m,
    detection_threshold,
    linear_to_db,
    pd_swerling0,
    pd_swerling1,
    pd_swerling2,
    pd_swerling3,
    radar_snr,
    radar_snr_for,
    required_snr,
    snr_db,
)


def albersheim_snr_db(pd: float, pfa: float, n: int = 1) -> float:
    """Albersheim (1981), Richards eq. 6.40: required per-pulse SNR (dB), linear detector."""
    a = np.log(0.62 / pfa)
    b = np.log(pd / (1.0 - pd))
    return float(-5.0 * np.log10(n)
                 + (6.2 + 4.54 / np.sqrt(n + 0.44)) * np.log10(a + 0.12 * a * b + 1.7 * b))


def exact_required_snr_db(model, pd: float, pfa: float, **kwargs) -> float:
    """Invert a Pd curve with brentq (independent of ``required_snr``'s bisection)."""
    return optimize.brentq(lambda x: float(model(db_to_linear(x), pfa, **kwargs)) - pd,
                           -30.0, 60.0, xtol=1e-10)


def square_law_mc(snr: np.ndarray, pfa: float, n: int, rng: np.random.Generator,
                  trials: int) -> float:
    """Fraction of trials where sum_k |a_k + w_k|^2 exceeds the Pfa threshold.

    ``snr`` is (trials, n): per-look signal power with unit-power complex Gaussian noise.
    The threshold comes from the chi-square quantile, not from the code under test.
    """
    noise = (rng.standard_normal((trials, n)) + 1j * rng.standard_normal((trials, n))) / np.sqrt(2)
    phase = np.exp(2j * np.pi * rng.random((trials, n)))
    statistic = np.sum(np.abs(np.sqrt(snr) * phase + noise) ** 2, axis=1)
    threshold = stats.chi2.isf(pfa, 2 * n) / 2.0
    return float(np.mean(statistic > threshold))


def binomial_tolerance(p: float, trials: int) -> float:
    return 5.0 * np.sqrt(p * (1.0 - p) / trials) + 1e-3


# --------------------------------------------------------------------------- Swerling 0


@pytest.mark.parametrize("pfa", [1e-4, 1e-5, 1e-6, 1e-7, 1e-8])
def test_swerling0_matches_albersheim_single_pulse(pfa: float) -> None:
    # Albersheim's fit is within 0.2 dB for Pd >= 0.3; below that it degrades (1.8 dB at
    # Pd = 0.1, Pfa = 1e-4 — checked against the Monte Carlo below), so the low-Pd end is
    # covered by the Monte Carlo test instead.
    for pd in np.linspace(0.3, 0.99, 24):
        exact = exact_required_snr_db(pd_swerling0, pd, pfa)
        assert abs(exact - albersheim_snr_db(pd, pfa)) < 0.2, (pd, pfa)


@pytest.mark.parametrize("n", [4, 16, 100])
def test_swerling0_noncoherent_matches_albersheim(n: int) -> None:
    # Albersheim models a linear envelope detector; ours is square law: they differ by up to
    # ~0.3 dB for a few pulses (Richards section 6.2), hence the wider bound.
    for pfa in (1e-4, 1e-6, 1e-8):
        for pd in (0.3, 0.5, 0.7, 0.9, 0.99):
            exact = exact_required_snr_db(pd_swerling0, pd, pfa, n=n)
            assert abs(exact - albersheim_snr_db(pd, pfa, n)) < 0.35, (n, pd, pfa)


@pytest.mark.parametrize(("snr_db_value", "pfa", "n"),
                         [(6.0, 1e-4, 1), (11.2, 1e-6, 1), (13.0, 1e-6, 1), (3.0, 1e-3, 1),
                          (5.0, 1e-4, 4), (2.0, 1e-3, 8)])
def test_swerling0_matches_monte_carlo(snr_db_value: float, pfa: float, n: int) -> None:
    rng = np.random.default_rng(7)
    trials = 200_000
    snr = np.full((trials, n), db_to_linear(snr_db_value))
    observed = square_law_mc(snr, pfa, n, rng, trials)
    expected = float(pd_swerling0(db_to_linear(snr_db_value), pfa, n))
    assert abs(observed - expected) < binomial_tolerance(expected, trials)


def test_false_alarm_rate_monte_carlo() -> None:
    # The threshold really gives the nominal Pfa on noise alone (checked at a Pfa a Monte
    # Carlo can resolve); and every model's Pd at zero SNR is Pfa.
    rng = np.random.default_rng(3)
    trials = 400_000
    for n in (1, 5):
        pfa = 1e-2
        threshold = float(detection_threshold(pfa, n))
        noise = rng.exponential(1.0, (trials, n)).sum(axis=1)
        assert abs(np.mean(noise > threshold) - pfa) < binomial_tolerance(pfa, trials)
    assert np.isclose(detection_threshold(1e-6, 1), np.log(1e6))


def test_classic_required_snr() -> None:
    # Pd = 0.9, Pfa = 1e-6: 13.2 dB non-fluctuating, 21 dB Swerling 1 (Skolnik fig. 2.7, 2.23).
    assert abs(exact_required_snr_db(pd_swerling0, 0.9, 1e-6) - 13.2) < 0.3
    assert abs(exact_required_snr_db(pd_swerling1, 0.9, 1e-6) - 21.0) < 0.3
    # Closed form for Swerling 1, one look: snr = ln(Pfa) / ln(Pd) - 1.
    assert np.isclose(float(required_snr(0.9, 1e-6, 1)), np.log(1e-6) / np.log(0.9) - 1.0,
                      rtol=1e-8)
    assert np.isclose(float(linear_to_db(required_snr(0.9, 1e-6, 0))),
                      exact_required_snr_db(pd_swerling0, 0.9, 1e-6), atol=1e-6)


# --------------------------------------------------------------------------- fluctuating


def _average_over_rcs(snr_mean: float, pfa: float, n: int, shape: float) -> float:
    """Pd of Swerling 0 averaged over a Gamma(shape, mean/shape) SNR (scan-to-scan)."""
    scale = snr_mean / shape

    def integrand(x: float) -> float:
        return float(pd_swerling0(x, pfa, n)) * stats.gamma.pdf(x, shape, scale=scale)

    upper = stats.gamma.isf(1e-14, shape, scale=scale)
    value, _ = integrate.quad(integrand, 0.0, upper, limit=400, epsabs=1e-11,
                              points=[snr_mean])
    return value


@pytest.mark.parametrize("n", [1, 3, 10])
@pytest.mark.parametrize("snr_db_value", [0.0, 8.0, 15.0, 21.0, 30.0])
def test_swerling1_equals_integral_of_swerling0(n: int, snr_db_value: float) -> None:
    snr = db_to_linear(snr_db_value)
    for pfa in (1e-4, 1e-6):
        reference = _average_over_rcs(float(snr), pfa, n, shape=1.0)
        assert abs(float(pd_swerling1(snr, pfa, n)) - reference) < 1e-6


@pytest.mark.parametrize("snr_db_value", [0.0, 8.0, 15.0, 21.0, 30.0])
def test_swerling3_equals_integral_of_swerling0(snr_db_value: float) -> None:
    snr = db_to_linear(snr_db_value)
    for pfa in (1e-4, 1e-6, 1e-8):
        reference = _average_over_rcs(float(snr), pfa, 1, shape=2.0)
        assert abs(float(pd_swerling3(snr, pfa)) - reference) < 1e-6


@pytest.mark.parametrize(("case", "n"), [(1, 1), (1, 4), (2, 4), (3, 1)])
def test_fluctuating_models_match_monte_carlo(case: int, n: int) -> None:
    rng = np.random.default_rng(11 + case * 10 + n)
    trials = 200_000
    pfa = 1e-4
    mean_snr = db_to_linear(12.0)
    if case == 1:    # one RCS draw per dwell
        snr = np.repeat(rng.exponential(mean_snr, (trials, 1)), n, axis=1)
        expected = float(pd_swerling1(mean_snr, pfa, n))
    elif case == 2:  # one RCS draw per look
        snr = rng.exponential(mean_snr, (trials, n))
        expected = float(pd_swerling2(mean_snr, pfa, n))
    else:            # chi-square, 4 degrees of freedom
        snr = rng.gamma(2.0, mean_snr / 2.0, (trials, n))
        expected = float(pd_swerling3(mean_snr, pfa))
    observed = square_law_mc(snr, pfa, n, rng, trials)
    assert abs(observed - expected) < binomial_tolerance(expected, trials)


def test_detection_probability_dispatch() -> None:
    snr = db_to_linear(np.linspace(-5, 35, 9))
    cases = np.array([0, 1, 2, 3, 4, 0, 1, 3, 2])
    pd = detection_probability(snr, 1e-6, cases)
    expected = np.select(
        [cases == 0, cases <= 2, cases >= 3],
        [pd_swerling0(snr, 1e-6), pd_swerling1(snr, 1e-6), pd_swerling3(snr, 1e-6)])
    np.testing.assert_allclose(pd, expected, rtol=1e-12)
    # One look: Swerling 2 is Swerling 1 exactly.
    np.testing.assert_allclose(pd_swerling2(snr, 1e-6), pd_swerling1(snr, 1e-6), rtol=1e-12)
    with pytest.raises(ValueError):
        detection_probability(snr[:1], 1e-6, np.array([5]))


@settings(max_examples=80, deadline=None)
@given(st.floats(-20.0, 50.0), st.floats(0.01, 5.0), st.floats(-10.0, -2.0),
       st.integers(0, 4))
def test_pd_is_increasing_and_bounded(snr_db_value: float, step_db: float, log_pfa: float,
                                      case: int) -> None:
    pfa = 10.0**log_pfa
    low, high = detection_probability(db_to_linear([snr_db_value, snr_db_value + step_db]),
                                      pfa, np.array([case, case]))
    assert pfa * (1 - 1e-9) <= low <= high + 1e-12 <= 1.0 + 1e-12
    assert np.isclose(detection_probability(np.array([0.0]), pfa, np.array([case]))[0], pfa,
                      rtol=1e-6)


@settings(max_examples=40, deadline=None)
@given(st.floats(0.05, 0.999), st.floats(-9.0, -3.0), st.integers(0, 4))
def test_required_snr_inverts_pd(pd: float, log_pfa: float, case: int) -> None:
    pfa = 10.0**log_pfa
    snr = required_snr(pd, pfa, case)
    assert np.isclose(detection_probability(np.atleast_1d(snr), pfa, np.array([case]))[0], pd,
                      atol=1e-9)


# --------------------------------------------------------------------------- range equation


def make_radar(**overrides: object) -> Radar:
    params: dict[str, object] = dict(
        name="test", label="test radar", role="surveillance", peak_power_w=1.0e5,
        antenna_gain_db=35.0, frequency_hz=3.0e9, bandwidth_hz=1.0e6, noise_figure_db=3.0,
        losses_db=6.0, pulses_integrated=16, pfa=1e-6, max_range_m=300e3, scan_period_s=5.0,
        sigma_range_m=20.0, sigma_azimuth_rad=0.002, sigma_elevation_rad=0.002)
    params.update(overrides)
    return Radar(**params)


def test_radar_snr_matches_db_budget() -> None:
    # Budget in dB with the published kT0 = -203.98 dBW/Hz (i.e. -174 dBm/Hz at 290 K).
    pt, g, f, b, nf, loss, n, sigma, r = 1e6, 40.0, 3e9, 1e6, 3.0, 6.0, 10, 2.0, 150e3
    lam = 299792458.0 / f
    budget_db = (10 * np.log10(pt) + 2 * g + 20 * np.log10(lam) + 10 * np.log10(sigma)
                 + 10 * np.log10(n) - 30 * np.log10(4 * np.pi) + 203.98 - 10 * np.log10(b)
                 - nf - loss - 40 * np.log10(r))
    value = snr_db(pt, g, f, b, nf, loss, n, sigma, r)
    assert abs(float(value) - budget_db) < 0.01
    np.testing.assert_allclose(linear_to_db(radar_snr(pt, g, f, b, nf, loss, n, sigma, r)),
                               value)
    # R^-4 and linear in sigma, broadcast over arrays.
    ranges = np.array([50e3, 100e3, 200e3])
    snr = radar_snr(pt, g, f, b, nf, loss, n, sigma, ranges)
    np.testing.assert_allclose(snr[1:] / snr[:-1], 1 / 16.0, rtol=1e-12)
    np.testing.assert_allclose(radar_snr(pt, g, f, b, nf, loss, n, 10 * sigma, ranges),
                               10 * snr, rtol=1e-12)


@pytest.mark.parametrize("case", [0, 1, 3])
def test_detection_range_scales_as_fourth_root_of_rcs(case: int) -> None:
    radar = make_radar()

    def range_at_half(sigma: float) -> float:
        def f(r: float) -> float:
            snr = radar_snr_for(radar, sigma, r)
            return float(detection_probability(np.atleast_1d(snr), radar.pfa,
                                               np.array([case]))[0]) - 0.5
        return optimize.brentq(f, 1.0, 1e8, xtol=1e-6, rtol=1e-13)

    r1, r10 = range_at_half(0.1), range_at_half(1.0)
    assert np.isclose(r10 / r1, 10.0**0.25, rtol=1e-8)
    np.testing.assert_allclose(detection_range_m(radar, np.array([0.1, 1.0]), 0.5, case),
                               [r1, r10], rtol=1e-8)


def test_extreme_snr_is_finite() -> None:
    # Targets right next to a radar give astronomically large SNR: Pd must be 1, never NaN.
    snr = np.array([0.0, 1e-12, 1e8, 1e40, np.inf])
    for pd in (pd_swerling0(snr, 1e-6), pd_swerling0(snr, 1e-6, 8), pd_swerling1(snr, 1e-6),
               pd_swerling1(snr, 1e-6, 8), pd_swerling2(snr, 1e-6, 8), pd_swerling3(snr, 1e-6)):
        assert np.all(np.isfinite(pd))
        assert pd[0] == pytest.approx(1e-6, rel=1e-6)
        np.testing.assert_allclose(pd[3:], 1.0, atol=1e-12)
