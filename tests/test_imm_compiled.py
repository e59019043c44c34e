"""The compiled IMM paths against their numpy references (tracking/imm_kernels.py).

``mix_predict`` (mixing, per-mode prediction, combination in one call) must give the numbers
of ``ImmTracker._mix_predict`` (numpy mixing weights, the models' own ``predict``) followed by
``_combine``; ``close_pairs`` the pairs of ``scipy.spatial.cKDTree.query_pairs``.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial import cKDTree

from shieldwall.tracking.imm import ImmTracker, _combine, default_models
from shieldwall.tracking.imm_kernels import close_pairs
from shieldwall.tracking.models import Ballistic, ConstantAcceleration, ConstantVelocity


def _random_modes(rng: np.random.Generator, n: int, r: int, frame: str
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if frame == "ecef":
        base = np.array([4.5e6, 1.2e6, 4.3e6, 300.0, -200.0, 50.0])
    else:
        base = np.array([1e4, 2e4, 5e3, 300.0, -200.0, 50.0])
    xm = base + rng.normal(size=(n, r, 6)) * np.array([2e3] * 3 + [80.0] * 3)
    A = rng.normal(size=(n, r, 6, 6))
    Pm = A @ np.swapaxes(A, -1, -2) * 50.0 + 10.0 * np.eye(6)
    mu = rng.dirichlet(np.ones(r), size=n)
    return xm, Pm, mu


def _numpy_path(tr: ImmTracker, xm: np.ndarray, Pm: np.ndarray, mu: np.ndarray,
                dt: np.ndarray) -> tuple[np.ndarray, ...]:
    xo, Po, cbar = tr._mix_predict(xm, Pm, mu, dt)
    return (xo, Po, cbar, *_combine(xo, Po, cbar))


@pytest.mark.parametrize("frame", ["ecef", "enu"])
@pytest.mark.parametrize("sojourn", [10.0, (5.0, 20.0, 20.0, 8.0, 12.0)])
def test_compiled_mix_predict_equals_the_numpy_models(frame: str, sojourn: object) -> None:
    rng = np.random.default_rng(7)
    models = default_models(frame, rotating_frame=True)
    if frame == "enu":  # a drag-limited ballistic mode too
        models = (*models, Ballistic(q_m2_s3=50.0, ballistic_coefficient_kg_m2=3000.0,
                                     frame="enu", alt0_m=100.0))
    soj = sojourn if isinstance(sojourn, float) else tuple(sojourn[:len(models)])
    tr = ImmTracker(models=models, frame=frame, sojourn_s=soj)
    assert tr._model_table is not None
    xm, Pm, mu = _random_modes(rng, 37, tr.n_modes, frame)
    dt = rng.uniform(0.2, 7.0, 37)
    dt[[2, 5]] = (0.0, -1.5)  # a zero step and a retrodiction
    # slow horizontal speed: the turn rate cap (min_speed) is exercised
    xm[3, :, 3:6] = 1.0
    got = tr._mix_predict_combined(xm, Pm, mu, dt)
    ref = _numpy_path(tr, xm, Pm, mu, dt)
    for g, r in zip(got, ref, strict=True):
        assert g.shape == r.shape
        np.testing.assert_allclose(g, r, rtol=1e-9, atol=1e-9 * np.abs(r).max())
    # mode probabilities stay a distribution and the mixture covariance is symmetric
    np.testing.assert_allclose(got[2].sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(got[4], np.swapaxes(got[4], -1, -2))


def test_models_without_a_compiled_kind_take_the_numpy_path() -> None:
    class SlowCV(ConstantVelocity):  # a subclass may predict differently: never compiled
        pass

    assert ImmTracker(models=(SlowCV(), ConstantVelocity()))._model_table is None
    tr = ImmTracker(models=(ConstantVelocity(), ConstantAcceleration()))
    assert tr._model_table is None
    rng = np.random.default_rng(3)
    xm = rng.normal(size=(5, 2, 9))
    Pm = np.broadcast_to(np.eye(9), (5, 2, 9, 9)).copy()
    mu = np.full((5, 2), 0.5)
    got = tr._mix_predict_combined(xm, Pm, mu, np.full(5, 1.0))
    ref = _numpy_path(tr, xm, Pm, mu, np.full(5, 1.0))
    for g, r in zip(got, ref, strict=True):
        np.testing.assert_array_equal(g, r)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 60), radius=st.floats(1.0, 5e3), seed=st.integers(0, 2**32 - 1))
def test_close_pairs_are_the_kd_tree_pairs(n: int, radius: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    pos = rng.uniform(0.0, 1e4, (n, 3))
    if n > 4:  # coincident points and a shared x coordinate
        pos[1] = pos[0]
        pos[3, 0] = pos[2, 0]
    got = close_pairs(pos, radius)
    assert got.shape[1] == 2 and np.all(got[:, 0] < got[:, 1])
    want = cKDTree(pos).query_pairs(radius) if n else set()
    assert set(map(tuple, got.tolist())) == want
    assert len(got) == len(want)


@pytest.mark.parametrize("confirmation", ["score", "m_of_n"])
def test_compiled_confirm_delete_equals_the_numpy_rules(confirmation: str) -> None:
    from shieldwall.tracking.imm import _Log

    rng = np.random.default_rng(11)
    tr = ImmTracker(confirmation=confirmation)  # type: ignore[arg-type]
    for _ in range(20):
        table = tr.new_table(200)
        cap = table.capacity
        table.status[:] = rng.integers(0, 3, cap).astype(np.int8)
        table.track_id[:] = np.where(table.status > 0, rng.permutation(10 * cap)[:cap], -1)
        table.score[:] = rng.normal(0.0, 15.0, cap)
        table.score_max[:] = table.score + rng.exponential(8.0, cap)
        table.misses[:] = rng.integers(0, 9, cap)
        table.opportunities[:] = rng.integers(0, 7, cap)
        table.history[:] = rng.integers(0, 2**6, cap).astype(np.uint64)
        ref_table, ref_log = table.copy(), _Log()
        log = _Log()
        tr._confirm_delete(table, log)
        tr._confirm_delete_numpy(ref_table, ref_log)
        np.testing.assert_array_equal(table.status, ref_table.status)
        np.testing.assert_array_equal(table.track_id, ref_table.track_id)
        got, ref = log.build(), ref_log.build()
        for name in ("confirmed_track_id", "deleted_track_id", "deleted_was_confirmed"):
            np.testing.assert_array_equal(getattr(got, name), getattr(ref, name))


# ---------------------------------------------------------------------------- the scan kernels


def _fma_matmul_platform() -> bool:
    """Whether numpy's ``@`` on this machine is the sequential fused multiply-add chain the
    compiled initiation uses (OpenBLAS on FMA hardware): then the two agree bit for bit."""
    from shieldwall.tracking.imm_kernels import _mm3_probe

    rng = np.random.default_rng(5)
    A, B = rng.normal(size=(2, 3, 3)) * 1e3
    return bool(np.array_equal(A @ B, _mm3_probe(A, B)))


def _enu_rotation(lat: float, lon: float) -> np.ndarray:
    sl, cl, so, co = np.sin(lat), np.cos(lat), np.sin(lon), np.cos(lon)
    return np.array([[-so, co, 0.0], [-sl * co, -sl * so, cl], [cl * co, cl * so, sl]])


@settings(max_examples=40, deadline=None)
@given(m=st.integers(1, 12), with_rr=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_compiled_polar_states_equal_polar_to_state(m: int, with_rr: bool, seed: int) -> None:
    from shieldwall.tracking.imm_kernels import polar_states
    from shieldwall.tracking.kernels import polar_to_state

    rng = np.random.default_rng(seed)
    z = np.column_stack([rng.uniform(1e3, 4e5, m), rng.uniform(-np.pi, np.pi, m),
                         rng.uniform(-0.1, 1.5, m), rng.uniform(-2e3, 2e3, m)])
    rot = _enu_rotation(rng.uniform(-1.5, 1.5), rng.uniform(-3.0, 3.0))
    origin = rng.normal(size=3) * 4e6
    sig = rng.uniform(1e-4, 50.0, 3)
    srr = float(rng.uniform(0.1, 5.0)) if with_rr else 1.0
    xr, Pr = polar_to_state(z[:, 0], z[:, 1], z[:, 2], z[:, 3] if with_rr else None, sig, srr,
                            300.0, origin, rot)
    x, P = np.full((m, 6), 7.0), np.full((m, 6, 6), 7.0)  # overwritten everywhere
    polar_states(z, np.cos(z[:, 2]), np.sin(z[:, 2]), np.cos(z[:, 1]), np.sin(z[:, 1]),
                 sig**2, with_rr, 300.0**2, srr**2, origin, rot, x, P)
    np.testing.assert_allclose(x, xr, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(P, Pr, rtol=1e-9, atol=1e-9 * np.abs(Pr).max())
    if _fma_matmul_platform():
        np.testing.assert_array_equal(x, xr)
        np.testing.assert_array_equal(P, Pr)


def _frame(rng: np.random.Generator, with_rr: bool):  # type: ignore[no-untyped-def]
    from shieldwall.tracking import SensorFrame
    from shieldwall.tracking.tracker import _frame_of

    return _frame_of(SensorFrame(
        origin_ecef=np.array([4.0e6, 1.0e6, 4.8e6]), rotation=_enu_rotation(0.85, 0.25),
        sigma_range_m=30.0, sigma_azimuth_rad=0.004, sigma_elevation_rad=0.004,
        sigma_range_rate_mps=3.0 if with_rr else None))


@pytest.mark.parametrize("with_rr", [False, True])
def test_compiled_initiation_equals_the_numpy_initiation(with_rr: bool) -> None:
    from shieldwall.tracking.imm import _Log

    rng = np.random.default_rng(21 + with_rr)
    tr = ImmTracker(models=default_models("ecef"), frame="ecef")
    frame = _frame(rng, with_rr)
    k = 4 if with_rr else 3
    for m in (1, 5, 40):
        z = np.column_stack([rng.uniform(1e4, 3e5, m), rng.uniform(-np.pi, np.pi, m),
                             rng.uniform(0.0, 1.0, m), rng.uniform(-900, 900, m)])[:, :k]
        rows = rng.permutation(100)[:m]
        table = tr.new_table(8)  # too small: both grow it
        table.status[[1, 4]] = 1  # two slots taken
        table.track_id[[1, 4]] = [90, 91]
        table.next_id = 92
        ref = table.copy()
        log, ref_log = _Log(), _Log()
        tr._initiate(table, z, rows, frame, with_rr, 1e-9, 12.5, 3, log)
        tr._initiate_numpy(ref, z, rows, frame, with_rr, 1e-9, 12.5, 3, ref_log)
        assert table.next_id == ref.next_id == 92 + m
        for name in table._columns():
            got, want = getattr(table, name), getattr(ref, name)
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-9, err_msg=name)
            if _fma_matmul_platform():
                np.testing.assert_array_equal(got, want, err_msg=name)
        for name in ("track_id", "slot", "detection_index", "initiated"):
            np.testing.assert_array_equal(getattr(log.build(), name),
                                          getattr(ref_log.build(), name))


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 30), m=st.integers(1, 30), k=st.sampled_from([3, 4]),
       seed=st.integers(0, 2**32 - 1))
def test_compiled_gate_equals_the_numpy_gate(n: int, m: int, k: int, seed: int) -> None:
    from shieldwall.tracking.imm import _gate
    from shieldwall.tracking.imm_kernels import gate

    rng = np.random.default_rng(seed)
    zhat = np.column_stack([rng.uniform(1e4, 2e4, n), rng.uniform(-np.pi, np.pi, n),
                            rng.uniform(0.0, 0.3, n), rng.uniform(-500, 500, n)])[:, :k]
    # detections near tracks (some across the azimuth cut), plus clutter, some equal ranges
    near = rng.integers(0, n, m)
    z = zhat[near] + rng.normal(size=(m, k)) * np.array([400.0, 0.05, 0.02, 30.0])[:k]
    z[:, 1] = np.pi - np.mod(np.pi - z[:, 1], 2 * np.pi)
    z[: m // 3] = np.column_stack([rng.uniform(1e4, 2e4, m), rng.uniform(-np.pi, np.pi, m),
                                   rng.uniform(0.0, 0.3, m),
                                   rng.uniform(-500, 500, m)])[: m // 3, :k]
    if m > 3:
        z[1, 0] = z[2, 0]
    A = rng.normal(size=(n, k, k))
    S = A @ np.swapaxes(A, -1, -2) * 0.01 + np.diag([4e4, 1e-3, 1e-3, 900.0][:k])
    threshold = 16.0
    pt, pd_, d2, S_inv = _gate(z, zhat, S, threshold)
    gt, gd, g2 = gate(np.ascontiguousarray(z), zhat, S, S_inv, threshold)
    np.testing.assert_array_equal(gt, pt)
    np.testing.assert_array_equal(gd, pd_)
    np.testing.assert_allclose(g2, d2, rtol=1e-12)
    np.testing.assert_array_equal(g2, d2)  # einsum's order: bit for bit


@settings(max_examples=80, deadline=None)
@given(n=st.integers(1, 12), m=st.integers(1, 12), p=st.integers(0, 40),
       seed=st.integers(0, 2**32 - 1))
def test_pair_clusters_are_the_connected_components(n: int, m: int, p: int, seed: int) -> None:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    from shieldwall.tracking.imm_kernels import pair_clusters

    rng = np.random.default_rng(seed)
    keys = np.unique(rng.integers(0, n * m, p))
    pt, pd_ = keys // m, keys % m
    label = pair_clusters(pt, pd_, n, m)
    if keys.size == 0:
        assert label.size == 0
        return
    _, comp = connected_components(coo_matrix((np.ones(pt.size), (pt, n + pd_)),
                                              shape=(n + m, n + m)), directed=False)
    c = comp[pt]
    single = (np.bincount(pt, minlength=n)[pt] == 1) & (np.bincount(pd_, minlength=m)[pd_] == 1)
    np.testing.assert_array_equal(label < 0, single)
    multi = ~single
    # the same partition of the pairs in more-than-one-pair clusters
    for i in np.flatnonzero(multi):
        np.testing.assert_array_equal(label[multi] == label[i], c[multi] == c[i])
    assert set(label[multi].tolist()) == set(range(int(label.max(initial=-1)) + 1))


def test_gnn_choice_equals_the_reference_association() -> None:
    """``_gnn`` (compiled clusters) chooses what ``_associate`` (scipy components) does."""
    from shieldwall.tracking.imm import _Log

    rng = np.random.default_rng(4)
    tr = ImmTracker(association="gnn")
    for _ in range(200):
        n, m = int(rng.integers(1, 10)), int(rng.integers(1, 10))
        keys = np.unique(rng.integers(0, n * m, int(rng.integers(1, 25))))
        pt, pd_ = keys // m, keys % m
        cost = rng.normal(0.0, 3.0, keys.size)
        chosen = tr._gnn(pt, pd_, cost, n, m)
        bt, bd, bw, b0 = tr._associate(pt, pd_, cost, np.exp(-cost), n, _Log())
        order = np.argsort(bt)
        np.testing.assert_array_equal(pt[chosen], bt[order])
        np.testing.assert_array_equal(pd_[chosen], bd[order])
        assert np.all(np.diff(pt[chosen]) > 0)


def test_in_place_prediction_and_update_equal_the_gathered_calls() -> None:
    """``mix_predict_slots`` / ``ekf_update_slots`` write into the table rows what
    ``mix_predict`` / ``ekf_update_assigned`` return for those rows, and touch no other."""
    from shieldwall.tracking.imm_kernels import (
        ekf_measure,
        ekf_update_assigned,
        ekf_update_slots,
        mix_predict,
        mix_predict_slots,
    )

    rng = np.random.default_rng(9)
    tr = ImmTracker(models=default_models("ecef", rotating_frame=True), frame="ecef")
    kinds, fp, soj = tr._model_table
    table = tr.new_table(30)
    xm, Pm, mu = _random_modes(rng, 30, tr.n_modes, "ecef")
    table.xm[:], table.Pm[:], table.mu[:] = xm, Pm, mu
    slots = np.array([2, 3, 11, 17, 29])
    dt = rng.uniform(0.5, 6.0, slots.size)
    stay = np.exp(-np.abs(dt)[:, None] / soj[None, :])
    want = mix_predict(xm[slots], Pm[slots], mu[slots], dt, stay, kinds, fp)
    before = table.copy()
    mix_predict_slots(slots, 42.0, dt, stay, kinds, fp, table.xm, table.Pm, table.mu,
                      table.x, table.P, table.state_time_s)
    for got, w in zip((table.xm, table.Pm, table.mu, table.x, table.P), want, strict=True):
        np.testing.assert_array_equal(got[slots], w)
    others = np.setdiff1d(np.arange(30), slots)
    np.testing.assert_array_equal(table.Pm[others], before.Pm[others])
    np.testing.assert_array_equal(table.state_time_s[slots], 42.0)
    # the update of three of them (local rows 0, 2, 4 of the scan arrays) with detections
    frame = _frame(rng, True)
    zhat_m, S_m, C_m, H_m, zhat, _ = ekf_measure(table.xm[slots], table.Pm[slots],
                                                 table.mu[slots], frame.origin,
                                                 frame.rotation, frame.sig2[:4], 4)
    local = np.array([0, 2, 4])
    det = np.array([1, 0, 2])
    z = zhat[local[[1, 0, 2]]] + rng.normal(size=(3, 4)) * np.array([30.0, 4e-3, 4e-3, 3.0])
    want = ekf_update_assigned(table.xm[slots[local]], table.Pm[slots[local]],
                               table.mu[slots[local]], z[det], zhat_m[local], S_m[local],
                               C_m[local], H_m[local], frame.sig2[:4])
    ekf_update_slots(slots[local], local, det, z, zhat_m, S_m, C_m, H_m, frame.sig2[:4],
                     table.xm, table.Pm, table.mu, table.x, table.P)
    for got, w in zip((table.xm, table.Pm, table.mu, table.x, table.P), want, strict=True):
        np.testing.assert_array_equal(got[slots[local]], w)
