"""Radar detection kernels: the radar range equation and probability of detection.

Pure array functions (no objects, no random numbers); every argument broadcasts.

Radar range equation (Skolnik, *Introduction to Radar Systems*, 3rd ed., eq. 2.61)::

    SNR = Pt G^2 lambda^2 sigma n_p / ((4 pi)^3 k T0 B F L R^4)

with ``Pt`` peak power (W), ``G`` antenna gain (linear, same antenna on transmit and receive),
``lambda = c / f`` wavelength (m), ``sigma`` radar cross-section (m^2), ``n_p`` pulses integrated
coherently (an ideal integration gain), ``k`` Boltzmann's constant, ``T0 = 290 K``, ``B`` receiver
bandwidth (Hz), ``F`` noise figure and ``L`` system losses (linear), ``R`` range (m).

Probability of detection of a square-law (equivalently, for one look, envelope) detector with a
fixed threshold set for a probability of false alarm ``Pfa``, for ``n`` looks integrated
non-coherently; ``snr`` is the signal-to-noise ratio of one look (linear power ratio). With the
normalized test statistic ``Y = sum_k |r_k|^2 / N0`` the threshold ``T`` solves
``Pfa = Gamma_upper(n, T)`` (``T = ln(1/Pfa)`` for ``n = 1``), and

- Swerling 0 (non-fluctuating, Marcum): ``2Y ~ chi2'(2n, 2 n snr)`` so
  ``Pd = ncx2.sf(2T, 2n, 2 n snr)``; for ``n = 1`` ``Pd = Q1(sqrt(2 snr), sqrt(2 ln(1/Pfa)))``.
- Swerling 1 (exponential RCS, constant over the ``n`` looks, independent scan to scan)
  (DiFranco & Rubin; Mahafza, *Radar Systems Analysis and Design Using MATLAB*, eq. 2.95)::

      n = 1:  Pd = Pfa ** (1 / (1 + snr))
      n > 1:  Pd = 1 - P(n-1, T) + (1 + 1/(n snr))**(n-1) P(n-1, T / (1 + 1/(n snr)))
                   * exp(-T / (1 + n snr))

  with ``P`` the regularized lower incomplete gamma function.
- Swerling 2 (exponential RCS, independent look to look): each look's power is exponential
  with mean ``1 + snr`` so ``Y ~ Gamma(n, 1 + snr)`` and ``Pd = Gamma_upper(n, T / (1 + snr))``.
- Swerling 3 (chi-square RCS with 4 degrees of freedom, one dominant scatterer), one look::

      Pd = exp(-2T / (2 + snr)) (1 + 2 T snr / (2 + snr)**2),   T = ln(1/Pfa)

  obtained by averaging the Swerling 0 ``Pd`` over the ``Gamma(2, snr/2)`` SNR distribution
  (Mahafza eq. 2.103 with ``n_p = 1``). For one look Swerling 4 equals Swerling 3 and
  Swerling 2 equals Swerling 1.

``detection_probability`` is the one-look dispatch the detector uses: the range equation's SNR
already includes the coherent integration gain ``n_p``, so the dwell is one look.
"""

from __future__ import annotations

import numpy as np
from scipy import constants, special, stats

try:  # the ufunc behind ``stats.ncx2.sf`` (skips the rv_continuous argument handling)
    from scipy.special._ufuncs import _ncx2_sf as _NCX2_SF
except ImportError:  # pragma: no cover - older/newer scipy without the private ufunc
    _NCX2_SF = None

from shieldwall.catalog.types import Radar
from shieldwall.core.types import FloatArray, IntArray

BOLTZMANN_J_K = constants.k
SPEED_OF_LIGHT_M_S = constants.c
STANDARD_NOISE_TEMPERATURE_K = 290.0
#: Swerling 0: above this SNR ``ncx2.sf`` is exactly 1.0 for any Pfa >= 1e-300 (and it returns
#: NaN at infinity). The fluctuating models only need a cap that keeps ``snr**2`` finite.
_SNR_CAP_MARCUM = 1.0e7
_SNR_CAP = 1.0e100

ArrayLike = FloatArray | IntArray | float | int


def db_to_linear(value_db: ArrayLike) -> FloatArray:
    """Decibels (power ratio) -> linear: ``10 ** (dB / 10)``."""
    return np.power(10.0, np.asarray(value_db, np.float64) / 10.0)


def linear_to_db(value: ArrayLike) -> FloatArray:
    """Linear power ratio -> decibels: ``10 log10(x)`` (``-inf`` for 0)."""
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(np.asarray(value, np.float64))


def radar_snr(peak_power_w: ArrayLike, gain_db: ArrayLike, frequency_hz: ArrayLike,
              bandwidth_hz: ArrayLike, noise_figure_db: ArrayLike, losses_db: ArrayLike,
              pulses_integrated: ArrayLike, rcs_m2: ArrayLike, range_m: ArrayLike) -> FloatArray:
    """Signal-to-noise ratio (linear) from the radar range equation (module docstring).

    Parameters
    ----------
    peak_power_w : transmitted peak power, W
    gain_db : antenna gain, dBi (used twice: transmit and receive)
    frequency_hz : carrier frequency, Hz
    bandwidth_hz : receiver noise bandwidth, Hz
    noise_figure_db, losses_db : receiver noise figure and total system losses, dB
    pulses_integrated : pulses integrated coherently (ideal gain ``n_p``)
    rcs_m2 : target radar cross-section, m^2
    range_m : slant range, m (> 0)

    Returns
    -------
    snr : broadcast shape of the inputs, linear power ratio.
    """
    wavelength_m = SPEED_OF_LIGHT_M_S / np.asarray(frequency_hz, np.float64)
    gain = db_to_linear(gain_db)
    numerator = (np.asarray(peak_power_w, np.float64) * gain * gain * wavelength_m**2
                 * np.asarray(rcs_m2, np.float64) * np.asarray(pulses_integrated, np.float64))
    noise = (BOLTZMANN_J_K * STANDARD_NOISE_TEMPERATURE_K * np.asarray(bandwidth_hz, np.float64)
             * db_to_linear(noise_figure_db) * db_to_linear(losses_db))
    range4 = np.asarray(range_m, np.float64) ** 4
    return numerator / ((4.0 * np.pi) ** 3 * noise * range4)


def snr_db(peak_power_w: ArrayLike, gain_db: ArrayLike, frequency_hz: ArrayLike,
           bandwidth_hz: ArrayLike, noise_figure_db: ArrayLike, losses_db: ArrayLike,
           pulses_integrated: ArrayLike, rcs_m2: ArrayLike, range_m: ArrayLike) -> FloatArray:
    """``radar_snr`` in decibels (same arguments)."""
    return linear_to_db(radar_snr(peak_power_w, gain_db, frequency_hz, bandwidth_hz,
                                  noise_figure_db, losses_db, pulses_integrated, rcs_m2, range_m))


def radar_snr_for(radar: Radar, rcs_m2: ArrayLike, range_m: ArrayLike) -> FloatArray:
    """``radar_snr`` with the parameters of a catalog ``Radar`` record (linear)."""
    return radar_snr(radar.peak_power_w, radar.antenna_gain_db, radar.frequency_hz,
                     radar.bandwidth_hz, radar.noise_figure_db, radar.losses_db,
                     radar.pulses_integrated, rcs_m2, range_m)


def detection_threshold(pfa: ArrayLike, n: ArrayLike = 1) -> FloatArray:
    """Normalized threshold ``T`` with ``Pfa = Gamma_upper(n, T)`` (``ln(1/Pfa)`` for n = 1)."""
    return np.asarray(special.gammainccinv(np.asarray(n, np.float64),
                                           np.asarray(pfa, np.float64)), np.float64)


def _snr(snr: ArrayLike, cap: float = _SNR_CAP) -> FloatArray:
    return np.clip(np.asarray(snr, np.float64), 0.0, cap)


def pd_swerling0(snr: ArrayLike, pfa: ArrayLike, n: ArrayLike = 1) -> FloatArray:
    """Pd of a non-fluctuating target (Swerling 0 / Marcum), ``n`` looks non-coherently.

    ``Pd = ncx2.sf(2T, 2n, 2 n snr)`` with ``T`` from ``detection_threshold``; for ``n = 1``
    this is Marcum's ``Q1(sqrt(2 snr), sqrt(2 ln(1/Pfa)))``.

    snr : per-look SNR (linear), any shape; pfa in (0, 1); n >= 1 looks. Returns Pd (broadcast).
    """
    s = _snr(snr, _SNR_CAP_MARCUM)
    n_arr = np.asarray(n, np.float64)
    threshold = detection_threshold(pfa, n_arr)
    return _ncx2_sf(2.0 * threshold, 2.0 * n_arr, 2.0 * n_arr * s)


def _ncx2_sf(x: FloatArray, df: FloatArray, nc: FloatArray) -> FloatArray:
    """``stats.ncx2.sf(x, df, nc)`` with the same values, without the per-call overhead.

    For finite ``x > 0``, ``df > 0`` and finite ``nc >= 0`` (always the case here) scipy
    evaluates ``_ncx2_sf`` where ``nc != 0`` and ``chdtrc(df, x)`` where ``nc == 0``; anything
    else goes through ``stats.ncx2.sf`` itself.
    """
    x, df, nc = np.broadcast_arrays(np.asarray(x, np.float64), np.asarray(df, np.float64),
                                    np.asarray(nc, np.float64))
    if (_NCX2_SF is None or x.size == 0 or not np.all((x > 0) & (x < np.inf)) or not np.all(
            (df > 0) & (df < np.inf)) or not np.all((nc >= 0) & (nc < np.inf))):
        return np.asarray(stats.ncx2.sf(x, df, nc), np.float64)
    with np.errstate(over="ignore"):
        out = np.asarray(_NCX2_SF(x, df, nc), np.float64)
    zero = nc == 0
    if np.any(zero):
        out = np.where(zero, special.chdtrc(df, x), out)
    return out


def pd_swerling1(snr: ArrayLike, pfa: ArrayLike, n: ArrayLike = 1) -> FloatArray:
    """Pd of a Swerling 1 target (exponential RCS, constant within a dwell of ``n`` looks).

    ``n = 1``: ``Pd = Pfa ** (1 / (1 + snr))``; ``n > 1``: the closed form in the module
    docstring. snr : mean per-look SNR (linear). Returns Pd (broadcast shape).
    """
    s = _snr(snr)
    pfa_arr = np.asarray(pfa, np.float64)
    n_arr = np.asarray(n, np.float64)
    one_look = np.power(pfa_arr, 1.0 / (1.0 + s))
    if np.all(n_arr == 1):
        return np.asarray(one_look, np.float64)
    threshold = detection_threshold(pfa_arr, n_arr)
    m = np.maximum(n_arr - 1.0, 1.0)  # the n = 1 branch is taken from `one_look`
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        shrink = 1.0 + 1.0 / (n_arr * s)  # inf at snr = 0 -> Pd = Pfa (handled below)
        # (1 + 1/(n s))**(n-1) exp(-T/(1 + n s)) in logs to avoid overflow at small snr.
        log_factor = m * np.log(shrink) - threshold / (1.0 + n_arr * s)
        many = (special.gammaincc(m, threshold)
                + np.exp(log_factor) * special.gammainc(m, threshold / shrink))
    many = np.where(s > 0, many, pfa_arr)
    return np.asarray(np.clip(np.where(n_arr == 1, one_look, many), 0.0, 1.0), np.float64)


def pd_swerling2(snr: ArrayLike, pfa: ArrayLike, n: ArrayLike = 1) -> FloatArray:
    """Pd of a Swerling 2 target (exponential RCS, independent look to look).

    ``Pd = Gamma_upper(n, T / (1 + snr))``; equals ``pd_swerling1`` for ``n = 1``.
    """
    s = _snr(snr)
    n_arr = np.asarray(n, np.float64)
    threshold = detection_threshold(pfa, n_arr)
    return np.asarray(special.gammaincc(n_arr, threshold / (1.0 + s)), np.float64)


def pd_swerling3(snr: ArrayLike, pfa: ArrayLike) -> FloatArray:
    """Pd of a Swerling 3 (= Swerling 4) target for one look.

    ``Pd = exp(-2T / (2 + snr)) (1 + 2 T snr / (2 + snr)**2)`` with ``T = ln(1/Pfa)``.
    """
    s = _snr(snr)
    threshold = -np.log(np.asarray(pfa, np.float64))
    return np.asarray(np.exp(-2.0 * threshold / (2.0 + s))
                      * (1.0 + 2.0 * threshold * s / (2.0 + s) ** 2), np.float64)


def detection_probability(snr: ArrayLike, pfa: ArrayLike, swerling: ArrayLike) -> FloatArray:
    """One-look Pd by Swerling case: 0 -> Marcum, 1 and 2 -> exponential, 3 and 4 -> chi2-4.

    For a single look (the dwell's coherently integrated SNR) cases 2 and 4 are identical to
    1 and 3, so this dispatch is exact, not an approximation.

    snr : (n,) mean SNR (linear); pfa : scalar or (n,); swerling : (n,) int in 0..4.
    """
    s = np.asarray(snr, np.float64)
    case = np.asarray(swerling)
    s, case = np.broadcast_arrays(s, case)
    if np.any((case < 0) | (case > 4)):
        raise ValueError("Swerling case must be in 0..4")
    pd = np.empty(s.shape, np.float64)
    pfa_b = np.broadcast_to(np.asarray(pfa, np.float64), s.shape)
    groups = ((case == 0, pd_swerling0), ((case == 1) | (case == 2), pd_swerling1),
              ((case == 3) | (case == 4), pd_swerling3))
    for mask, model in groups:
        if np.any(mask):
            pd[mask] = model(s[mask], pfa_b[mask])
    return pd


def required_snr(pd: ArrayLike, pfa: ArrayLike, swerling: ArrayLike = 0) -> FloatArray:
    """One-look SNR (linear) at which ``detection_probability`` equals ``pd`` (``pfa < pd < 1``).

    Vectorized bisection on the SNR in dB over [-40, 100] dB (Pd is increasing in SNR); the
    result is accurate to 1e-9 dB.
    """
    pd_arr, pfa_arr, case = np.broadcast_arrays(np.asarray(pd, np.float64),
                                                np.asarray(pfa, np.float64), np.asarray(swerling))
    if np.any((pd_arr <= pfa_arr) | (pd_arr >= 1.0)):
        raise ValueError("required_snr needs pfa < pd < 1")
    low = np.full(pd_arr.shape, -40.0)
    high = np.full(pd_arr.shape, 100.0)
    for _ in range(48):
        mid = 0.5 * (low + high)
        above = detection_probability(db_to_linear(mid), pfa_arr, case) >= pd_arr
        high = np.where(above, mid, high)
        low = np.where(above, low, mid)
    return db_to_linear(0.5 * (low + high))


def detection_range_m(radar: Radar, rcs_m2: ArrayLike, pd: ArrayLike = 0.5,
                      swerling: ArrayLike = 0) -> FloatArray:
    """Free-space range (m) at which the radar detects a target with probability ``pd``.

    ``R = (SNR(1 m) / SNR_required) ** (1/4)`` from the range equation, so ``R`` scales as
    ``rcs ** (1/4)``. Not clipped to the instrumented range nor to the horizon.
    """
    snr_at_1m = radar_snr_for(radar, rcs_m2, 1.0)
    return np.asarray((snr_at_1m / required_snr(pd, radar.pfa, swerling)) ** 0.25, np.float64)
