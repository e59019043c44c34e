"""Reference check: single-look detection probability against SNR for Swerling 0, 1 and 3 --
the engine's closed forms (``sensors.detection.detection_probability``: Marcum Q, the
exponential and the chi-square-4 cases) against a Monte Carlo of the square-law detector they
describe (a second method): complex Gaussian noise of unit power, the target's complex return
with the case's fluctuation and a random phase, a detection when ``|s + n|^2`` exceeds the
threshold ``-ln(Pfa)`` set by the false-alarm probability. Model card:
docs/models/radar_detection.md.
"""

from __future__ import annotations

import numpy as np

from shieldwall.analysis.validation.types import Check, CheckResult, Figure, Series
from shieldwall.sensors.detection import detection_probability

PFA = 1e-6
SNR_DB = np.arange(0.0, 22.0, 2.0)


def _monte_carlo(snr: float, case: int, n: int, rng: np.random.Generator) -> float:
    """Fraction of ``n`` square-law looks over the threshold (unit noise power)."""
    noise = (rng.standard_normal(n) + 1j * rng.standard_normal(n)) / np.sqrt(2.0)
    if case == 0:
        power = np.full(n, snr)
    elif case == 1:  # exponential RCS (Rayleigh amplitude)
        power = rng.exponential(snr, n)
    else:  # chi-square with 4 degrees of freedom, mean snr
        power = rng.gamma(2.0, snr / 2.0, n)
    phase = rng.uniform(0.0, 2.0 * np.pi, n)
    s = np.sqrt(power) * np.exp(1j * phase)
    return float(np.mean(np.abs(s + noise) ** 2 > -np.log(PFA)))


def run(quick: bool) -> CheckResult:
    n = 20_000 if quick else 400_000
    rng = np.random.default_rng(20261205)
    snr = 10.0 ** (SNR_DB / 10.0)
    figures, metrics = [], {}
    worst_z = worst_abs = 0.0
    series = []
    for case in (0, 1, 3):
        ours = detection_probability(snr, PFA, np.full(len(snr), case))
        mc = np.array([_monte_carlo(s, case, n, rng) for s in snr])
        se = np.sqrt(np.maximum(ours * (1.0 - ours), 1.0 / n) / n)
        err = np.abs(mc - ours)
        worst_z = max(worst_z, float(np.max(err / se)))
        worst_abs = max(worst_abs, float(np.max(err)))
        metrics[f"swerling{case}_max_abs_error"] = float(np.max(err))
        series += [Series(f"shieldwall Swerling {case}", SNR_DB.tolist(), ours.tolist()),
                   Series(f"square-law Monte Carlo, Swerling {case}", SNR_DB.tolist(),
                          mc.tolist(), reference=True, style="points")]
    pd0 = float(detection_probability(np.array([0.0]), PFA, np.array([0]))[0])
    metrics["pd_at_zero_snr_over_pfa"] = pd0 / PFA
    metrics["max_z"] = worst_z
    metrics["samples_per_point"] = float(n)
    figures.append(Figure(title=f"Single-look Pd vs SNR, Pfa {PFA:g}", x_label="SNR (dB)",
                          y_label="probability of detection", series=series))
    return CheckResult(
        passed=worst_z < 4.5 and worst_abs < 0.02 and abs(pd0 / PFA - 1.0) < 1e-6,
        criterion="at every SNR and case |Monte Carlo - closed form| < 4.5 binomial standard "
                  "errors and < 0.02; Pd(SNR 0) = Pfa to 1e-6",
        metrics=metrics, figures=figures,
        notes="One look (the dwell's integrated SNR), as the engine uses it; Swerling 2 and 4 "
              "equal 1 and 3 for one look.")


CHECK = Check(
    name="pd_vs_snr", title="Detection probability against SNR, Swerling 0, 1 and 3",
    model="sensors.detection", card="docs/models/radar_detection.md",
    reference="Swerling, Probability of Detection for Fluctuating Targets, IRE Trans. IT-6, "
              "1960; Marcum, RAND RM-754, 1947; Skolnik, Introduction to Radar Systems, 3rd "
              "ed., 2001, sec. 2.5-2.8",
    run=run)
