"""EKF kernels of shieldwall.tracking against textbook references and Monte Carlo consistency."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chi2

from shieldwall import geo
from shieldwall.tracking import (
    KinematicClassifier,
    MotionModel,
    SensorFrame,
    Tracker,
    approx_altitude_m,
    ekf_update_joseph,
    gate_pairs,
    gnn_assign,
    gnn_assign_pairs,
    innovation_covariance,
    mahalanobis_pairs,
    polar_innovations,
    polar_to_state,
    predict_kernel,
    radar_measurement,
    white_noise_acceleration_q,
    wrap_angle,
)
from shieldwall.tracking import scan_kernels as sk
from shieldwall.tracking.table import TrackTable

SITE = SensorFrame.at(50.0, 10.0, 10.0, sigma_range_m=10.0, sigma_azimuth_rad=1e-3,
                      sigma_elevation_rad=1e-3, sigma_range_rate_mps=1.0, max_range_m=200e3)


# ---- independent references written out here --------------------------------------------------

def q_reference(dt: float, q: float) -> np.ndarray:
    """Bar-Shalom eq. 6.2.3-8 written out with a Kronecker product."""
    block = np.array([[dt**3 / 3, dt**2 / 2], [dt**2 / 2, dt]])
    return q * np.kron(block, np.eye(3))


def f_reference(dt: float) -> np.ndarray:
    return np.kron(np.array([[1.0, dt], [0.0, 1.0]]), np.eye(3))


def h_reference(x: np.ndarray, origin: np.ndarray, rot: np.ndarray, with_rr: bool) -> tuple:
    """Scalar textbook polar measurement and Jacobian for one state (loops, math module)."""
    e, n, u = rot @ (x[:3] - origin)
    w = rot @ x[3:]
    rho = math.hypot(e, n)
    r = math.sqrt(e * e + n * n + u * u)
    z = [r, math.atan2(e, n), math.atan2(u, rho)]
    rows = [[e / r, n / r, u / r],
            [n / rho**2, -e / rho**2, 0.0],
            [-e * u / (r * r * rho), -n * u / (r * r * rho), rho / (r * r)]]
    H = np.zeros((4 if with_rr else 3, 6))
    for i in range(3):
        for j in range(3):
            H[i, j] = sum(rows[i][a] * rot[a, j] for a in range(3))
    if with_rr:
        rr = (e * w[0] + n * w[1] + u * w[2]) / r
        z.append(rr)
        d = (e, n, u)
        for j in range(3):
            H[3, j] = sum((w[a] / r - rr * d[a] / r**2) * rot[a, j] for a in range(3))
            H[3, 3 + j] = sum(d[a] / r * rot[a, j] for a in range(3))
    return np.array(z), H


def ekf_reference(x, P, z, zhat, H, R):
    """Textbook EKF update, one track, explicit inverse and Joseph form."""
    nu = z - zhat
    nu[1] = (nu[1] + math.pi) % (2 * math.pi) - math.pi
    S = H @ P @ H.T + R
    K = P @ H.T @ np.linalg.inv(S)
    I_KH = np.eye(6) - K @ H
    return x + K @ nu, I_KH @ P @ I_KH.T + K @ R @ K.T


def random_states(rng: np.random.Generator, n: int) -> np.ndarray:
    enu = np.column_stack([rng.uniform(-80e3, 80e3, n), rng.uniform(-80e3, 80e3, n),
                           rng.uniform(200.0, 20e3, n)])
    vel = rng.uniform(-600, 600, (n, 3))
    return np.hstack([enu @ SITE.rotation + SITE.origin_ecef, vel @ SITE.rotation])


def random_spd(rng: np.random.Generator, n: int, scale: float = 100.0) -> np.ndarray:
    A = rng.standard_normal((n, 6, 6)) * scale
    return A @ A.transpose(0, 2, 1) + np.eye(6) * scale


# ---- motion model ------------------------------------------------------------------------------

@settings(max_examples=40, deadline=None)
@given(dt1=st.floats(0.01, 20.0), dt2=st.floats(0.01, 20.0), q=st.floats(0.1, 1e3))
def test_process_noise_matches_formula_and_composes(dt1: float, dt2: float, q: float) -> None:
    Q1, Q2, Q12 = (white_noise_acceleration_q(np.array([d]), np.array([q]))[0]
                   for d in (dt1, dt2, dt1 + dt2))
    np.testing.assert_allclose(Q1, q_reference(dt1, q), rtol=1e-12, atol=0)
    # continuous white noise: Q(a + b) = F(b) Q(a) F(b)^T + Q(b)
    F2 = f_reference(dt2)
    np.testing.assert_allclose(F2 @ Q1 @ F2.T + Q2, Q12, rtol=1e-10, atol=1e-12)


def test_batched_predict_equals_loop_reference() -> None:
    rng = np.random.default_rng(3)
    n = 20
    x, P = random_states(rng, n), random_spd(rng, n)
    dt, q = rng.uniform(0.1, 10.0, n), rng.uniform(1.0, 100.0, n)
    xb, Pb = predict_kernel(x, P, dt, q, np.zeros(n, bool))
    for i in range(n):
        F, Q = f_reference(dt[i]), q_reference(dt[i], q[i])
        np.testing.assert_allclose(xb[i], F @ x[i], rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(Pb[i], F @ P[i] @ F.T + Q, rtol=1e-9, atol=1e-9)


def rk4_gravity(pos: np.ndarray, vel: np.ndarray, t: float, h: float = 0.01) -> np.ndarray:
    """Classical RK4 of dp/dt = v, dv/dt = -GM p / |p|^3 (independent of the tracker)."""
    def f(s: np.ndarray) -> np.ndarray:
        p = s[:3]
        return np.concatenate([s[3:], -geo.EARTH_GM_M3_S2 * p / np.linalg.norm(p) ** 3])

    s = np.concatenate([pos, vel])
    for _ in range(int(round(t / h))):
        k1 = f(s)
        k2 = f(s + 0.5 * h * k1)
        k3 = f(s + 0.5 * h * k2)
        k4 = f(s + h * k3)
        s = s + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return s


def test_gravity_prediction_matches_rk4_and_cv_does_not() -> None:
    x = np.hstack([geo.geodetic2ecef(50.0, 10.0, 80e3), geo.enu_rotation(50.0, 10.0).T
                   @ np.array([1400.0, 0.0, -1400.0])])[None, :]
    P = np.eye(6)[None] * 100.0
    truth = rk4_gravity(x[0, :3], x[0, 3:], 20.0)
    xg, _ = predict_kernel(x, P, np.array([20.0]), np.array([1.0]), np.array([True]))
    xc, _ = predict_kernel(x, P, np.array([20.0]), np.array([1.0]), np.array([False]))
    assert np.linalg.norm(xg[0, :3] - truth[:3]) < 1.0           # metres after 20 s
    assert np.linalg.norm(xg[0, 3:] - truth[3:]) < 0.1
    # pure CV misses the 1/2 g t^2 ~ 1950 m drop
    assert np.linalg.norm(xc[0, :3] - truth[:3]) > 1500.0


def test_gravity_jacobian_matches_finite_differences() -> None:
    # F = d(predicted mean)/d(state) of the gravity prediction, checked numerically
    x = np.hstack([geo.geodetic2ecef(10.0, 40.0, 150e3), [1000.0, -2000.0, 500.0]])[None, :]
    P = np.zeros((1, 6, 6))
    dt = np.array([1.5])
    _, PF = predict_kernel(x, np.eye(6)[None], dt, np.array([0.0]), np.array([True]))
    # with P = I and q = 0, the predicted covariance is F F^T
    F_num = np.zeros((6, 6))
    for j in range(6):
        step = 1.0 if j < 3 else 1e-2
        xp, xm = x.copy(), x.copy()
        xp[0, j] += step
        xm[0, j] -= step
        yp = predict_kernel(xp, P, dt, np.array([0.0]), np.array([True]))[0][0]
        ym = predict_kernel(xm, P, dt, np.array([0.0]), np.array([True]))[0][0]
        F_num[:, j] = (yp - ym) / (2 * step)
    np.testing.assert_allclose(PF[0], F_num @ F_num.T, rtol=1e-6, atol=1e-6)


# ---- measurement model -------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), with_rr=st.booleans())
def test_measurement_and_jacobian_match_scalar_reference(seed: int, with_rr: bool) -> None:
    rng = np.random.default_rng(seed)
    x = random_states(rng, 5)
    zhat, H = radar_measurement(x, SITE.origin_ecef, SITE.rotation, with_rr)
    for i in range(5):
        z_ref, H_ref = h_reference(x[i], SITE.origin_ecef, SITE.rotation, with_rr)
        np.testing.assert_allclose(zhat[i], z_ref, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(H[i], H_ref, rtol=1e-9, atol=1e-15)
    # and the geometry agrees with shieldwall.geo
    r, az, el = geo.enu2aer(geo.ecef2enu(x[:, :3], SITE.origin_ecef, SITE.rotation))
    np.testing.assert_allclose(zhat[:, 0], r, rtol=1e-12)
    np.testing.assert_allclose(wrap_angle(zhat[:, 1] - az), 0.0, atol=1e-12)
    np.testing.assert_allclose(zhat[:, 2], el, atol=1e-12)


def test_jacobian_matches_central_differences() -> None:
    rng = np.random.default_rng(11)
    x = random_states(rng, 4)
    _, H = radar_measurement(x, SITE.origin_ecef, SITE.rotation, True)
    for j in range(6):
        step = 0.5 if j < 3 else 0.05
        xp, xm = x.copy(), x.copy()
        xp[:, j] += step
        xm[:, j] -= step
        zp = radar_measurement(xp, SITE.origin_ecef, SITE.rotation, True)[0]
        zm = radar_measurement(xm, SITE.origin_ecef, SITE.rotation, True)[0]
        dz = zp - zm
        dz[:, 1] = wrap_angle(dz[:, 1])
        np.testing.assert_allclose(H[:, :, j], dz / (2 * step), rtol=1e-5, atol=1e-10)


@settings(max_examples=100, deadline=None)
@given(a=st.floats(-100.0, 100.0))
def test_wrap_angle_range(a: float) -> None:
    w = float(wrap_angle(np.array(a)))
    assert -math.pi < w <= math.pi
    assert math.isclose(math.cos(w), math.cos(a), abs_tol=1e-9)
    assert math.isclose(math.sin(w), math.sin(a), abs_tol=1e-9)


def test_initiation_inverts_the_measurement_model() -> None:
    rng = np.random.default_rng(5)
    x = random_states(rng, 10)
    z, H = radar_measurement(x, SITE.origin_ecef, SITE.rotation, True)
    sig = np.array([10.0, 1e-3, 1e-3])
    x0, P0 = polar_to_state(z[:, 0], z[:, 1], z[:, 2], z[:, 3], sig, 1.0, 500.0,
                            SITE.origin_ecef, SITE.rotation)
    np.testing.assert_allclose(x0[:, :3], x[:, :3], atol=1e-6)
    # position covariance maps back to diag(sigma^2) through the measurement Jacobian
    Hp = H[:, :3, :3]
    back = Hp @ P0[:, :3, :3] @ Hp.transpose(0, 2, 1)
    np.testing.assert_allclose(back, np.broadcast_to(np.diag(sig**2), back.shape),
                               rtol=1e-6, atol=1e-12)
    # range rate: radial velocity component equals the measured range rate
    los = x0[:, :3] - SITE.origin_ecef
    los /= np.linalg.norm(los, axis=1, keepdims=True)
    np.testing.assert_allclose(np.einsum("ni,ni->n", x0[:, 3:], los), z[:, 3], atol=1e-9)


def test_approx_altitude_matches_geodetic() -> None:
    rng = np.random.default_rng(2)
    lat, lon = rng.uniform(-89, 89, 200), rng.uniform(-180, 180, 200)
    alt = rng.uniform(-100, 1_000e3, 200)
    pos = geo.geodetic2ecef(lat, lon, alt)
    assert np.max(np.abs(approx_altitude_m(pos) - alt)) < 25.0


# ---- EKF update --------------------------------------------------------------------------------

@pytest.mark.parametrize("with_rr", [False, True])
def test_batched_ekf_update_equals_loop_reference(with_rr: bool) -> None:
    rng = np.random.default_rng(7)
    n = 30
    x, P = random_states(rng, n), random_spd(rng, n, 50.0)
    k = 4 if with_rr else 3
    R = np.diag([10.0**2, 1e-3**2, 1e-3**2, 1.0][:k])
    zhat, H = radar_measurement(x, SITE.origin_ecef, SITE.rotation, with_rr)
    z = zhat + rng.standard_normal((n, k)) * np.sqrt(np.diag(R)) * 3
    z[:, 1] = np.mod(z[:, 1], 2 * np.pi)  # detections report azimuth in [0, 2 pi)
    nu = polar_innovations(z, zhat)[np.arange(n), np.arange(n)]
    xb, Pb = ekf_update_joseph(x, P, nu, H, R)
    for i in range(n):
        z_ref, H_ref = h_reference(x[i], SITE.origin_ecef, SITE.rotation, with_rr)
        xr, Pr = ekf_reference(x[i], P[i], z[i], z_ref, H_ref, R)
        np.testing.assert_allclose(xb[i], xr, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(Pb[i], Pr, rtol=1e-9, atol=1e-9)


def test_joseph_form_keeps_covariance_symmetric_positive_definite() -> None:
    # A stiff case: very precise range against a large, badly conditioned prior.
    rng = np.random.default_rng(9)
    x = random_states(rng, 8)
    P = random_spd(rng, 8, 1e4)
    R = np.diag([1e-3**2, 1e-7**2, 1e-7**2])
    for _ in range(1000):
        x, P = predict_kernel(x, P, np.full(8, 0.1), np.full(8, 1e-2), np.zeros(8, bool))
        zhat, H = radar_measurement(x, SITE.origin_ecef, SITE.rotation, False)
        nu = rng.standard_normal((8, 3)) * np.sqrt(np.diag(R))
        x, P = ekf_update_joseph(x, P, nu, H, R)
        assert np.array_equal(P, P.transpose(0, 2, 1))
    assert np.all(np.linalg.eigvalsh(P) > 0)
    assert np.all(np.isfinite(P))


# ---- gating and association --------------------------------------------------------------------

@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_sparse_gate_equals_dense_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, m = 15, 25
    x = random_states(rng, n)
    P = random_spd(rng, n, 300.0)
    R = np.diag([20.0**2, 2e-3**2, 2e-3**2])
    zhat, H = radar_measurement(x, SITE.origin_ecef, SITE.rotation, False)
    # half of the detections near tracks, half anywhere
    near = zhat[rng.integers(0, n, m // 2)] + rng.standard_normal((m // 2, 3)) * [50, 3e-3, 3e-3]
    far = radar_measurement(random_states(rng, m - m // 2), SITE.origin_ecef, SITE.rotation,
                            False)[0]
    z = np.vstack([near, far])
    z[:, 1] = np.mod(z[:, 1], 2 * np.pi)
    S = innovation_covariance(P, H, R)
    thr = chi2.ppf(0.9999, 3)
    d2 = mahalanobis_pairs(polar_innovations(z, zhat), np.linalg.inv(S))
    ti, dj, d2s, _ = gate_pairs(z, zhat, S, thr)
    ref_i, ref_j = np.nonzero(d2 <= thr)
    np.testing.assert_array_equal(ti, ref_i)
    np.testing.assert_array_equal(dj, ref_j)
    np.testing.assert_allclose(d2s, d2[ref_i, ref_j], rtol=1e-9)


def brute_force_assignment(cost: np.ndarray, feasible: np.ndarray) -> tuple[int, float]:
    """Max number of feasible pairs, then min cost, by enumeration."""
    n, m = cost.shape
    best = (0, 0.0)
    for perm in itertools.permutations(range(max(n, m)), n):
        pairs = [(i, j) for i, j in enumerate(perm) if j < m and feasible[i, j]]
        c = sum(cost[i, j] for i, j in pairs)
        if (len(pairs), -c) > (best[0], -best[1]):
            best = (len(pairs), c)
    return best


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 5), m=st.integers(1, 5))
def test_gnn_matches_brute_force(seed: int, n: int, m: int) -> None:
    rng = np.random.default_rng(seed)
    cost = rng.uniform(0, 10, (n, m))
    feasible = rng.random((n, m)) < 0.5
    rows, cols = gnn_assign(cost, feasible)
    assert np.all(feasible[rows, cols])
    assert len(set(rows)) == rows.size and len(set(cols)) == cols.size
    count, total = brute_force_assignment(cost, feasible)
    assert rows.size == count
    assert math.isclose(cost[rows, cols].sum(), total, rel_tol=1e-9, abs_tol=1e-9)
    pi, pj = np.nonzero(feasible)
    chosen = gnn_assign_pairs(pi, pj, cost[pi, pj])
    assert chosen.size == count
    assert math.isclose(cost[pi[chosen], pj[chosen]].sum(), total, rel_tol=1e-9, abs_tol=1e-9)


# ---- compiled scan kernels against the numpy kernels --------------------------------------------

def ballistic_states(rng: np.random.Generator, n: int) -> np.ndarray:
    lat, lon = rng.uniform(45, 55, n), rng.uniform(5, 15, n)
    pos = geo.geodetic2ecef(lat, lon, rng.uniform(20e3, 300e3, n))
    return np.hstack([pos, rng.uniform(-3000, 3000, (n, 3))])


@pytest.mark.parametrize("rotating", [False, True])
def test_compiled_predict_matches_batched_kernel(rotating: bool) -> None:
    rng = np.random.default_rng(11)
    n = 24
    x = np.vstack([random_states(rng, n // 2), ballistic_states(rng, n // 2)])
    P = random_spd(rng, n)
    score = np.where(np.arange(n) >= n // 2, 3.0, -1.0)  # the second half is ballistic class
    dt = rng.uniform(-1.0, 7.0, n)
    dt[::5] = 0.0  # rows already at the prediction time
    t = 100.0
    state_time = t - dt
    for gravity in (True, False):
        model = MotionModel(gravity=gravity, rotating_frame=rotating, max_step_s=2.0)
        xr, Pr = model.predict(x, P, dt, score)
        xc, Pc, st = x.copy(), P.copy(), state_time.copy()
        sk.predict_rows(xc, Pc, st, score, np.arange(n), t, model.process_noise_m2_s3,
                        model.ballistic_process_noise_m2_s3, model.gravity, model.max_step_s,
                        model.rotating_frame)
        np.testing.assert_allclose(xc, xr, rtol=1e-13, atol=1e-7)
        np.testing.assert_allclose(Pc, Pr, rtol=1e-10, atol=1e-8 * np.abs(Pr).max())
        assert np.array_equal(Pc, Pc.transpose(0, 2, 1))
        assert np.all(st == t)
        # predicting the rows of a subset leaves the others untouched
        xs, Ps, st = x.copy(), P.copy(), state_time.copy()
        sk.predict_rows(xs, Ps, st, score, np.array([1, 3], np.int64), t, 1.0, 1.0, gravity,
                        2.0, rotating)
        keep = np.setdiff1d(np.arange(n), [1, 3])
        assert np.array_equal(xs[keep], x[keep]) and np.array_equal(Ps[keep], P[keep])


@pytest.mark.parametrize("with_rr", [False, True])
def test_compiled_measurement_gate_and_update_match_numpy(with_rr: bool) -> None:
    rng = np.random.default_rng(12)
    n = 20
    k = 4 if with_rr else 3
    x, P = random_states(rng, n), random_spd(rng, n, 50.0)
    sig2 = np.array([10.0**2, 1e-3**2, 1e-3**2, 1.0])
    R = np.diag(sig2[:k])
    zr, Hr = radar_measurement(x, SITE.origin_ecef, SITE.rotation, with_rr)
    Sr = innovation_covariance(P, Hr, R)
    z = zr + rng.standard_normal((n, k)) * np.sqrt(sig2[:k]) * 3
    nu = polar_innovations(z, zr)[np.arange(n), np.arange(n)]
    xr, Pr = ekf_update_joseph(x, P, nu, Hr, R)
    zhat, H, HP, S, LU = (np.empty(4), np.empty((4, 6)), np.empty((4, 6)), np.empty((4, 4)),
                          np.empty((4, 4)))
    piv, y = np.empty(4, np.int64), np.empty(4)
    scratch = (np.empty((4, 6)), np.empty(4), np.empty(4), np.empty((6, 6)), np.empty((6, 6)))
    for i in range(n):
        sk._measure_one(x[i], SITE.origin_ecef, SITE.rotation, with_rr, zhat, H)
        np.testing.assert_allclose(zhat[:k], zr[i], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(H[:k], Hr[i], rtol=1e-10, atol=1e-15)
        sk._innovation_cov(P[i], H, sig2, k, HP, S)
        np.testing.assert_allclose(S[:k, :k], Sr[i], rtol=1e-12)
        logdet = sk._lu_factor(S, k, LU, piv)
        assert math.isclose(logdet, np.linalg.slogdet(Sr[i])[1], rel_tol=1e-12, abs_tol=1e-12)
        sk._lu_solve(LU, piv, k, nu[i], y)
        np.testing.assert_allclose(y[:k], np.linalg.solve(Sr[i], nu[i]), rtol=1e-9)
        xs, Ps = x[i].copy(), P[i].copy()
        sk._joseph_one(xs, Ps, nu[i], H, S, sig2, k, HP, LU, piv, *scratch)
        np.testing.assert_allclose(xs, xr[i], rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(Ps, Pr[i], rtol=1e-9, atol=1e-9)
        assert np.array_equal(Ps, Ps.T)


def test_compiled_classifier_matches_numpy() -> None:
    rng = np.random.default_rng(13)
    n = 200
    table = TrackTable.empty(n)
    table.x[:] = np.vstack([random_states(rng, n // 2), ballistic_states(rng, n // 2)])
    table.P[:] = random_spd(rng, n, 1.0) * rng.uniform(0.01, 30.0, (n, 1, 1))
    table.class_ballistic_score[:] = rng.uniform(-9, 9, n)
    table.max_alt_m[: n // 2] = rng.uniform(0, 60e3, n // 2)
    table.max_speed_mps[::3] = np.nan
    ref = table.copy()
    classifier = KinematicClassifier()
    slots = np.arange(n)
    classifier.accumulate(ref, slots)
    cp = sk.classifier_params(classifier)
    for s in slots:
        sk._classify_one(table.x, table.P, s, table.class_ballistic_score, table.max_alt_m,
                         table.max_speed_mps, cp)
    np.testing.assert_allclose(table.class_ballistic_score, ref.class_ballistic_score, atol=1e-12)
    np.testing.assert_allclose(table.max_alt_m, ref.max_alt_m, rtol=1e-12)
    np.testing.assert_allclose(table.max_speed_mps, ref.max_speed_mps, rtol=1e-12)


def test_compiled_gate_matches_sparse_gate() -> None:
    rng = np.random.default_rng(14)
    n, m = 15, 25
    table = TrackTable.empty(n + 5)
    table.status[:n] = 1
    table.x[:n] = random_states(rng, n)
    table.P[:n] = random_spd(rng, n, 300.0)
    sig2 = np.array([20.0**2, 2e-3**2, 2e-3**2, 1.0])
    zhat, H = radar_measurement(table.x[:n], SITE.origin_ecef, SITE.rotation, False)
    z = np.full((m, 4), np.nan)  # no range rate: k = 3
    z[:, :3] = zhat[rng.integers(0, n, m)] + rng.standard_normal((m, 3)) * [300, 5e-3, 5e-3]
    z[:, 1] = np.mod(z[:, 1], 2 * np.pi)
    thr = chi2.ppf(0.9999, 3)
    S = innovation_covariance(table.P[:n], H, np.diag(sig2[:3]))
    ti, dj, d2, _ = gate_pairs(z[:, :3], zhat, S, thr)
    n_max = n + m
    pair_idx, pair_val = np.empty((2, n_max * m), np.int64), np.empty((n_max * m, 6))
    params = np.array([1.0, 1.0, 1.0, 2.0, 0.0, thr, chi2.ppf(0.9999, 4), 100.0])
    frame = sk.frame_vector(SITE.origin_ecef, SITE.rotation, sig2, np.inf, -1.0, 1.0, 0.0,
                            np.nan)
    out = sk.scan_front(
        *table._arrays(), 0.0, params, frame, z, np.arange(m), True, False, False, True,
        sk.classifier_params(KinematicClassifier()), np.uint64(1), 0,
        np.empty(n_max, np.int64), np.zeros(n_max, bool), np.zeros(m, np.int8), pair_idx,
        pair_val, np.empty(n_max, np.int64), np.empty((4, m), np.int64), np.empty((2, m)),
        np.empty(m, bool), np.zeros(3, np.int64), np.zeros(0, np.int64), False)
    n_active, n_pairs, conflict, _, with_rr = out
    assert (n_active, with_rr) == (n, False) and conflict  # clustered detections conflict
    assert n_pairs == ti.size > m // 2
    np.testing.assert_array_equal(pair_idx[0, :n_pairs], ti)
    np.testing.assert_array_equal(pair_idx[1, :n_pairs], dj)
    np.testing.assert_allclose(pair_val[:n_pairs, 0], d2, rtol=1e-9)
    logdet = np.linalg.slogdet(S)[1]
    np.testing.assert_allclose(pair_val[:n_pairs, 1], d2 + logdet[ti], rtol=1e-9)


# ---- Monte Carlo consistency (Bar-Shalom NEES / NIS) -------------------------------------------

@dataclass
class Dets:
    time_s: np.ndarray
    sensor_id: np.ndarray
    range_m: np.ndarray
    azimuth_rad: np.ndarray
    elevation_rad: np.ndarray
    range_rate_mps: np.ndarray
    truth_index: np.ndarray


@pytest.mark.parametrize("with_rr", [False, True])
def test_nees_and_nis_within_chi_square_bounds(with_rr: bool) -> None:
    """Matched model: truth is CV with white-noise acceleration (same q), one radar, Pd 1, and
    the initial truth velocity drawn from the initiator's prior.

    Bar-Shalom (2001, sec. 5.4.2): over N runs the average NEES is chi2(6N)/N and the average
    NIS chi2(kN)/N distributed; both must fall in the 95 % two-sided interval at (nearly) every
    checked step.
    """
    q, dt, runs, steps = 1.0, 1.0, 100, 45
    tracker = Tracker(motion=MotionModel(process_noise_m2_s3=q, gravity=False),
                      initial_velocity_std_mps=100.0, gate_probability=1 - 1e-9)
    rng = np.random.default_rng(2024 + with_rr)
    F, Q = f_reference(dt), q_reference(dt, q)
    LQ = np.linalg.cholesky(Q)
    sig = np.array([SITE.sigma_range_m, SITE.sigma_azimuth_rad, SITE.sigma_elevation_rad,
                    SITE.sigma_range_rate_mps])
    k = 4 if with_rr else 3
    nees = np.zeros((runs, steps))
    nis = np.zeros((runs, steps))
    # the gate is opened wide so that a rare (1e-4) gate miss does not start a second track
    for run in range(runs):
        enu = np.array([rng.uniform(-30e3, 30e3), rng.uniform(20e3, 40e3), 3e3])
        # initial velocity drawn from the initiator's prior N(0, 100^2 I): consistent from t0
        vel = rng.normal(0.0, 100.0, 3)
        xt = np.hstack([enu @ SITE.rotation + SITE.origin_ecef, vel @ SITE.rotation])
        table = tracker.new_table(4)
        for step in range(steps):
            if step:
                xt = F @ xt + LQ @ rng.standard_normal(6)
            z = h_reference(xt, SITE.origin_ecef, SITE.rotation, True)[0]
            z = z + sig * rng.standard_normal(4)
            rr = z[3] if with_rr else np.nan
            det = Dets(np.array([step * dt]), np.array([0]), z[:1], np.mod(z[1:2], 2 * np.pi),
                       z[2:3], np.array([rr]), np.array([0]))
            out = tracker.update(table, det, {0: SITE}, step * dt)
            table = out.tracks
            (slot,) = table.active()
            e = xt - table.x[slot]
            nees[run, step] = e @ np.linalg.solve(table.P[slot], e)
            nis[run, step] = out.log.nis[0]
            assert step == 0 or not out.log.initiated[0]
    checked = slice(5, steps)
    lo, hi = chi2.ppf([0.025, 0.975], 6 * runs) / runs
    inside = (nees[:, checked].mean(0) > lo) & (nees[:, checked].mean(0) < hi)
    # consecutive NEES are correlated in time, so a few adjacent steps may leave together
    assert inside.mean() >= 0.8, nees[:, checked].mean(0)
    lo, hi = chi2.ppf([0.025, 0.975], k * runs) / runs
    inside = (nis[:, checked].mean(0) > lo) & (nis[:, checked].mean(0) < hi)
    assert inside.mean() >= 0.85, nis[:, checked].mean(0)
    # and the time-averaged values are close to their expectations (about 3 standard errors;
    # NIS is white in time, NEES is not)
    assert abs(nees[:, checked].mean() - 6.0) < 0.45
    assert abs(nis[:, checked].mean() - k) < 0.25
