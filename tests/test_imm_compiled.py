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
