"""The single-scan radar range equation used to calibrate the catalog's radars.

With peak power ``Pt`` (W), antenna gain ``G`` (linear, same antenna transmit and receive),
wavelength ``lambda = c / f`` (m), target RCS ``sigma`` (m^2), ``n`` pulses integrated
coherently, Boltzmann's constant ``k``, reference temperature ``T0 = 290 K``, noise bandwidth
``B`` (Hz), noise figure ``F`` and system losses ``L`` (linear)::

    SNR(R) = Pt G^2 lambda^2 sigma n / ((4 pi)^3 k T0 B F L R^4)          (Skolnik, ch. 2)

so the range at which a given SNR is reached scales as ``sigma^(1/4)``. The catalog's radars are
calibrated to ``SNR = 13 dB`` for ``sigma = 1 m^2`` at their instrumented range. The detection
model proper (Swerling statistics, horizon, clutter) lives in ``shieldwall.sensors``; this is the
bottom-layer reference the catalog is checked against.
"""

from __future__ import annotations

import numpy as np

from shieldwall.catalog.types import Radar
from shieldwall.core.types import FloatArray

BOLTZMANN_J_K = 1.380649e-23
REFERENCE_TEMPERATURE_K = 290.0
SPEED_OF_LIGHT_MPS = 299_792_458.0
CALIBRATION_SNR_DB = 13.0
CALIBRATION_RCS_M2 = 1.0


def _db2lin(x_db: float) -> float:
    return float(10.0 ** (x_db / 10.0))


def radar_constant(radar: Radar) -> float:
    """``K`` with ``SNR = K sigma / R^4`` (linear SNR, sigma in m^2, R in m)."""
    wavelength_m = SPEED_OF_LIGHT_MPS / radar.frequency_hz
    gain = _db2lin(radar.antenna_gain_db)
    numerator = radar.peak_power_w * gain**2 * wavelength_m**2 * radar.pulses_integrated
    denominator = ((4.0 * np.pi) ** 3 * BOLTZMANN_J_K * REFERENCE_TEMPERATURE_K
                   * radar.bandwidth_hz * _db2lin(radar.noise_figure_db)
                   * _db2lin(radar.losses_db))
    return float(numerator / denominator)


def reference_snr_db(radar: Radar, range_m: FloatArray | float,
                     rcs_m2: FloatArray | float = CALIBRATION_RCS_M2) -> FloatArray:
    """Single-scan SNR (dB) of a target of RCS ``rcs_m2`` at slant range ``range_m``.

    Arrays broadcast; returns an array of the broadcast shape.
    """
    r = np.asarray(range_m, float)
    sigma = np.asarray(rcs_m2, float)
    return 10.0 * np.log10(radar_constant(radar) * sigma / r**4)


def reference_detection_range_m(radar: Radar, rcs_m2: FloatArray | float = CALIBRATION_RCS_M2,
                                snr_db: float = CALIBRATION_SNR_DB) -> FloatArray:
    """Range (m) at which the SNR falls to ``snr_db``: ``R = (K sigma / SNR)^(1/4)``."""
    sigma = np.asarray(rcs_m2, float)
    return (radar_constant(radar) * sigma / _db2lin(snr_db)) ** 0.25
