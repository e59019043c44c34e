"""GNN per connected component (issue 13's scaling fix) equals the dense problem over all pairs.

``tracking.kernels.gnn_assign_pairs`` used to build one dense (tracks x detections) problem
over every track and detection in some feasible pair, which grows as the product of the two
with the raid size (and ``linear_sum_assignment`` as its cube). It now solves each connected
component of the pair graph on its own. The reference here is that dense formulation, and the
brute force of ``test_ekf.py`` covers the small cases.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from shieldwall.tracking.kernels import gnn_assign_pairs


def dense_reference(track_index: np.ndarray, detection_index: np.ndarray,
                    cost: np.ndarray) -> np.ndarray:
    """The previous implementation: one dense problem over all rows and columns in a pair."""
    rows, r_inv = np.unique(track_index, return_inverse=True)
    cols, c_inv = np.unique(detection_index, return_inverse=True)
    big = 1.0 + 2.0 * (np.abs(cost).sum() + 1.0) * min(rows.size, cols.size)
    dense = np.full((rows.size, cols.size), big)
    pair_of = np.full((rows.size, cols.size), -1, np.int64)
    dense[r_inv, c_inv] = cost
    pair_of[r_inv, c_inv] = np.arange(cost.size)
    r, c = linear_sum_assignment(dense)
    chosen = pair_of[r, c]
    return chosen[chosen >= 0]


def sparse_pairs(rng: np.random.Generator, n_tracks: int, n_dets: int, extra: int
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mostly one-to-one pairs (a raid: each detection near its own track) plus ``extra``
    conflicting ones, distinct (track, detection), in random order, distinct random costs."""
    k = min(n_tracks, n_dets)
    ti = rng.permutation(n_tracks)[:k]
    di = rng.permutation(n_dets)[:k]
    ti = np.concatenate([ti, rng.integers(0, n_tracks, extra)])
    di = np.concatenate([di, rng.integers(0, n_dets, extra)])
    _, first = np.unique(np.stack([ti, di]), axis=1, return_index=True)
    order = rng.permutation(first)
    ti, di = ti[order] * 7 + 3, di[order] * 5   # indices need not be contiguous
    return ti, di, rng.uniform(-5.0, 30.0, ti.size)


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_tracks=st.integers(1, 60),
       n_dets=st.integers(1, 60), extra=st.integers(0, 120))
def test_components_equal_dense_problem(seed: int, n_tracks: int, n_dets: int,
                                        extra: int) -> None:
    rng = np.random.default_rng(seed)
    ti, di, cost = sparse_pairs(rng, n_tracks, n_dets, extra)
    got = gnn_assign_pairs(ti, di, cost)
    ref = dense_reference(ti, di, cost)
    # Distinct continuous costs: the optimum is unique, so the very same pairs, in the same
    # (ascending track) order.
    np.testing.assert_array_equal(got, ref)
    assert np.all(np.diff(ti[got]) > 0)
    assert np.unique(di[got]).size == got.size


def test_ties_keep_the_optimum() -> None:
    """Equal costs (duplicate detections): any optimal answer, same count and total."""
    rng = np.random.default_rng(7)
    for _ in range(200):
        ti, di, _ = sparse_pairs(rng, int(rng.integers(1, 15)), int(rng.integers(1, 15)),
                                 int(rng.integers(0, 30)))
        cost = rng.integers(0, 3, ti.size).astype(float)
        got = gnn_assign_pairs(ti, di, cost)
        ref = dense_reference(ti, di, cost)
        assert got.size == ref.size
        assert math.isclose(cost[got].sum(), cost[ref].sum(), abs_tol=1e-9)
        assert np.unique(ti[got]).size == got.size and np.unique(di[got]).size == got.size


def test_no_dense_problem_across_components(monkeypatch) -> None:
    """The solver only ever sees one component: its problem is as small as the conflict."""
    import scipy.optimize

    rng = np.random.default_rng(3)
    ti, di, cost = sparse_pairs(rng, 3000, 3000, 40)
    n_r = np.unique(ti).size
    r_inv = np.unique(ti, return_inverse=True)[1]
    c_inv = np.unique(di, return_inverse=True)[1]
    graph = coo_matrix((np.ones(ti.size), (r_inv, c_inv + n_r)),
                       shape=(n_r + np.unique(di).size,) * 2)
    _, label = connected_components(graph, directed=False)
    largest = np.bincount(label).max()
    shapes = []
    real = scipy.optimize.linear_sum_assignment

    def spy(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        shapes.append(m.shape)
        return real(m)

    monkeypatch.setattr(scipy.optimize, "linear_sum_assignment", spy)
    got = gnn_assign_pairs(ti, di, cost)
    assert shapes, "some component has a conflict"
    assert max(a + b for a, b in shapes) <= largest
    np.testing.assert_array_equal(got, dense_reference(ti, di, cost))


def test_single_pair_and_empty() -> None:
    assert gnn_assign_pairs(np.zeros(0, np.int64), np.zeros(0, np.int64),
                            np.zeros(0)).size == 0
    np.testing.assert_array_equal(gnn_assign_pairs(np.array([4]), np.array([9]),
                                                   np.array([-2.0])), [0])
