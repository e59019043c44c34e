"""The compiled EKF scan gates each track against the detections inside its range window only
(issue 13's scaling fix: a loop over every detection per track grew as tracks x detections
with the raid size). Reference: the numpy ``gate_pairs`` over all track x detection pairs, on
random scans with detections spread in range, clustered on tracks, and some without a range.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chi2

from shieldwall.tracking import (
    KinematicClassifier,
    SensorFrame,
    gate_pairs,
    innovation_covariance,
    radar_measurement,
)
from shieldwall.tracking import scan_kernels as sk
from shieldwall.tracking.table import TrackTable

SITE = SensorFrame.at(50.0, 10.0, 10.0, sigma_range_m=10.0, sigma_azimuth_rad=1e-3,
                      sigma_elevation_rad=1e-3, sigma_range_rate_mps=1.0, max_range_m=200e3)


def scan(rng: np.random.Generator, n: int, m: int, with_rr: bool, p_scale: float,
         near: float, nan_fraction: float) -> tuple:
    table = TrackTable.empty(n + 3)
    table.status[:n] = 1
    enu = np.column_stack([rng.uniform(-80e3, 80e3, n), rng.uniform(-80e3, 80e3, n),
                           rng.uniform(200.0, 20e3, n)])
    vel = rng.uniform(-600, 600, (n, 3))
    table.x[:n] = np.hstack([enu @ SITE.rotation + SITE.origin_ecef, vel @ SITE.rotation])
    A = rng.standard_normal((n, 6, 6)) * p_scale
    table.P[:n] = A @ A.transpose(0, 2, 1) + np.eye(6) * p_scale
    k = 4 if with_rr else 3
    sig2 = np.array([20.0**2, 2e-3**2, 2e-3**2, 1.0])
    zhat, H = radar_measurement(table.x[:n], SITE.origin_ecef, SITE.rotation, with_rr)
    z = np.full((m, 4), np.nan)
    on_track = rng.random(m) < near          # the others anywhere in range
    src = rng.integers(0, n, m)
    z[:, :k] = zhat[src] + rng.standard_normal((m, k)) * np.array([300, 5e-3, 5e-3, 3.0])[:k]
    z[~on_track, 0] = rng.uniform(0.0, 150e3, int((~on_track).sum()))
    z[:, 1] = np.mod(z[:, 1], 2 * np.pi)
    z[rng.random(m) < nan_fraction, 0] = np.nan   # never in any gate
    thr3, thr4 = chi2.ppf(0.9999, 3), chi2.ppf(0.9999, 4)
    thr = thr4 if with_rr else thr3
    R = np.diag(sig2[:k])
    S = innovation_covariance(table.P[:n], H, R)
    return table, z, zhat, S, thr, sig2, np.array([1.0, 1.0, 1.0, 2.0, 0.0, thr3, thr4, 100.0])


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 40), m=st.integers(0, 120),
       with_rr=st.booleans(), p_scale=st.sampled_from([10.0, 300.0, 3000.0]),
       near=st.floats(0.0, 1.0), nan_fraction=st.sampled_from([0.0, 0.1]))
def test_range_window_gate_equals_all_pairs(seed: int, n: int, m: int, with_rr: bool,
                                            p_scale: float, near: float,
                                            nan_fraction: float) -> None:
    rng = np.random.default_rng(seed)
    table, z, zhat, S, thr, sig2, params = scan(rng, n, m, with_rr, p_scale, near,
                                                nan_fraction)
    k = zhat.shape[1]
    ti, dj, d2, _ = gate_pairs(np.nan_to_num(z[:, :k], nan=-1e12), zhat, S, thr)
    n_max = n + m
    pair_idx = np.empty((2, max(n_max * m, 1)), np.int64)
    pair_val = np.empty((max(n_max * m, 1), 6))
    frame = sk.frame_vector(SITE.origin_ecef, SITE.rotation, sig2, np.inf, -1.0, 1.0, 0.0,
                            np.nan)
    out = sk.scan_front(
        *table._arrays(), 0.0, params, frame, z, np.arange(m), with_rr, False, False, True,
        sk.classifier_params(KinematicClassifier()), np.uint64(1), 0,
        np.empty(n_max, np.int64), np.zeros(n_max, bool), np.zeros(max(m, 1), np.int8),
        pair_idx, pair_val, np.empty(n_max, np.int64), np.empty((4, max(m, 1)), np.int64),
        np.empty((2, max(m, 1))), np.empty(max(m, 1), bool), np.zeros(3, np.int64),
        np.zeros(0, np.int64), False)
    n_pairs = out[1]
    assert out[4] == (with_rr and m > 0)
    # the same pairs, in track then detection order, with the same distances
    np.testing.assert_array_equal(pair_idx[0, :n_pairs], ti)
    np.testing.assert_array_equal(pair_idx[1, :n_pairs], dj)
    np.testing.assert_allclose(pair_val[:n_pairs, 0], d2, rtol=1e-9)
