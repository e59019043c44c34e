"""Tests of shieldwall.tracking.metrics against independent references.

GOSPA / OSPA: brute force over every injection on small sets (the definitions written
out, no assignment solver), hand-computed cases, metric axioms. NEES / NIS: scipy.stats
and a Monte Carlo of a consistent Gaussian; Bar-Shalom's tabulated interval. Continuity:
hand-built assignment sequences.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from shieldwall.tracking.metrics import (
    chi2_bounds,
    gospa,
    nees,
    nis,
    ospa,
    track_breaks_and_switches,
)


def brute_gospa(x: np.ndarray, y: np.ndarray, c: float, p: float, alpha: float) -> float:
    """GOSPA from its definition: min over injections of the smaller set into the larger."""
    if len(x) > len(y):
        x, y = y, x
    n, m = len(x), len(y)
    best = np.inf
    for perm in itertools.permutations(range(m), n):
        total = sum(min(float(np.linalg.norm(x[i] - y[j])), c) ** p for i, j in enumerate(perm))
        best = min(best, total)
    return (best + c**p / alpha * (m - n)) ** (1.0 / p)


def brute_ospa(x: np.ndarray, y: np.ndarray, c: float, p: float) -> float:
    if len(x) > len(y):
        x, y = y, x
    n, m = len(x), len(y)
    if m == 0:
        return 0.0
    best = np.inf
    for perm in itertools.permutations(range(m), n):
        total = sum(min(float(np.linalg.norm(x[i] - y[j])), c) ** p for i, j in enumerate(perm))
        best = min(best, total)
    return ((best + c**p * (m - n)) / m) ** (1.0 / p)


def brute_gospa_alpha2_parts(
    x: np.ndarray, y: np.ndarray, c: float, p: float
) -> tuple[float, float, float]:
    """Min over partial assignments (every subset of pairs) of loc + c^p/2 (missed + false)."""
    n, m = len(x), len(y)
    best = (np.inf, 0.0, 0.0, 0.0)
    for k in range(min(n, m) + 1):
        for rows in itertools.combinations(range(n), k):
            for cols in itertools.permutations(range(m), k):
                d = [float(np.linalg.norm(x[i] - y[j])) for i, j in zip(rows, cols, strict=True)]
                loc = sum(v**p for v in d)
                miss = c**p / 2 * (n - k)
                false = c**p / 2 * (m - k)
                if loc + miss + false < best[0] - 1e-9:
                    best = (loc + miss + false, loc, miss, false)
    return best[1], best[2], best[3]


def random_set(rng: np.random.Generator, n: int, d: int = 2, scale: float = 10.0) -> np.ndarray:
    return rng.uniform(0.0, scale, size=(n, d))


@pytest.mark.parametrize("alpha", [2.0, 1.0, 0.5])
@pytest.mark.parametrize("p", [1.0, 2.0, 3.0])
def test_gospa_matches_brute_force(alpha: float, p: float) -> None:
    rng = np.random.default_rng(7)
    for _ in range(40):
        x = random_set(rng, int(rng.integers(0, 5)))
        y = random_set(rng, int(rng.integers(0, 6)))
        c = float(rng.uniform(1.0, 8.0))
        got = gospa(x, y, c=c, p=p, alpha=alpha).distance
        assert got == pytest.approx(brute_gospa(x, y, c, p, alpha), rel=1e-9, abs=1e-9)


def test_gospa_alpha2_decomposition_matches_brute_force() -> None:
    rng = np.random.default_rng(11)
    for _ in range(40):
        x = random_set(rng, int(rng.integers(0, 5)), d=3)
        y = random_set(rng, int(rng.integers(0, 5)), d=3)
        c, p = float(rng.uniform(2.0, 9.0)), 2.0
        res = gospa(x, y, c=c, p=p, alpha=2.0)
        loc, miss, false = brute_gospa_alpha2_parts(x, y, c, p)
        assert res.localisation + res.missed + res.false == pytest.approx(res.distance**p)
        # the optimum may be tied between decompositions only on measure-zero draws
        assert res.localisation == pytest.approx(loc, abs=1e-9)
        assert res.missed == pytest.approx(miss)
        assert res.false == pytest.approx(false)
        assert res.n_missed == len(x) - res.truth_index.size
        assert res.n_false == len(y) - res.track_index.size
        if res.truth_index.size:
            d = np.linalg.norm(x[res.truth_index] - y[res.track_index], axis=1)
            assert np.all(d < c)
            assert np.sum(d**p) == pytest.approx(res.localisation)


def test_gospa_clustered_sets_match_dense_assignment() -> None:
    """Large connected components: the component split must equal one dense solve."""
    from scipy.optimize import linear_sum_assignment

    rng = np.random.default_rng(3)
    for _ in range(10):
        x = random_set(rng, 60, d=3, scale=3000.0)
        y = np.concatenate([x[:45] + rng.normal(0, 300.0, (45, 3)), random_set(rng, 20, 3, 3000)])
        c, p = 1000.0, 2.0
        dist = np.linalg.norm(x[:, None] - y[None], axis=2)
        cost = np.minimum(dist, c) ** p
        r, cc = linear_sum_assignment(cost)
        dense = (cost[r, cc].sum() + c**p / 2 * abs(len(x) - len(y))) ** 0.5
        assert gospa(x, y, c=c, p=p).distance == pytest.approx(dense, rel=1e-12)


def test_gospa_hand_computed() -> None:
    c, p = 10.0, 2.0
    assert gospa(np.empty((0, 3)), np.empty((0, 3)), c=c).distance == 0.0
    # all missed: three truths, no track -> sqrt(3 * c^2 / 2)
    res = gospa(np.zeros((3, 3)), np.empty((0, 3)), c=c, p=p)
    assert res.distance == pytest.approx(np.sqrt(150.0))
    assert (res.missed, res.false, res.n_missed, res.n_false) == (150.0, 0.0, 3, 0)
    # all false
    res = gospa(np.empty((0, 2)), np.ones((2, 2)), c=c, p=p)
    assert (res.missed, res.false, res.localisation) == (0.0, 100.0, 0.0)
    # one pair 3 m apart, one far track: loc 9, false 50
    res = gospa([[0.0, 0.0]], [[3.0, 0.0], [100.0, 0.0]], c=c, p=p)
    assert (res.localisation, res.missed, res.false) == (9.0, 0.0, 50.0)
    assert res.distance == pytest.approx(np.sqrt(59.0))
    # a pair at the cut-off or beyond is one missed plus one false
    res = gospa([[0.0, 0.0]], [[10.0, 0.0]], c=c, p=p)
    assert (res.localisation, res.missed, res.false) == (0.0, 50.0, 50.0)
    assert res.truth_index.size == 0
    # coincident points
    res = gospa([[1.0, 2.0, 3.0]], [[1.0, 2.0, 3.0]], c=c)
    assert res.distance == 0.0 and res.truth_index.tolist() == [0]


def test_gospa_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        gospa(np.zeros((2, 3)), np.zeros((2, 2)))
    with pytest.raises(ValueError):
        gospa(np.zeros((2, 3)), np.zeros((2, 3)), c=0.0)
    with pytest.raises(ValueError):
        gospa(np.zeros((2, 3)), np.zeros((2, 3)), alpha=3.0)
    with pytest.raises(ValueError):
        gospa(np.zeros(3), np.zeros((2, 3)))


@pytest.mark.parametrize("p", [1.0, 2.0])
def test_ospa_matches_brute_force(p: float) -> None:
    rng = np.random.default_rng(5)
    for _ in range(40):
        x = random_set(rng, int(rng.integers(0, 5)))
        y = random_set(rng, int(rng.integers(0, 6)))
        c = float(rng.uniform(1.0, 8.0))
        assert ospa(x, y, c=c, p=p) == pytest.approx(brute_ospa(x, y, c, p), abs=1e-9)


def test_ospa_hand_computed() -> None:
    assert ospa(np.empty((0, 2)), np.empty((0, 2)), c=5.0) == 0.0
    assert ospa(np.zeros((2, 2)), np.empty((0, 2)), c=5.0) == 5.0
    # one pair 3 apart plus one extra point: sqrt((9 + 25) / 2)
    assert ospa([[0.0, 0.0]], [[3.0, 0.0], [50.0, 0.0]], c=5.0) == pytest.approx(np.sqrt(17.0))


points = st.lists(
    st.tuples(
        st.floats(-20.0, 20.0, allow_nan=False, allow_subnormal=False),
        st.floats(-20.0, 20.0, allow_nan=False, allow_subnormal=False),
    ),
    min_size=0,
    max_size=5,
).map(lambda pts: np.array(pts, dtype=float).reshape(-1, 2))


@settings(max_examples=150, deadline=None)
@given(points, points, points, st.floats(0.5, 15.0), st.sampled_from([1.0, 2.0]))
def test_gospa_and_ospa_are_metrics(
    x: np.ndarray, y: np.ndarray, z: np.ndarray, c: float, p: float
) -> None:
    dxy, dyz, dxz = (gospa(a, b, c=c, p=p).distance for a, b in ((x, y), (y, z), (x, z)))
    assert dxz <= dxy + dyz + 1e-7
    assert gospa(y, x, c=c, p=p).distance == pytest.approx(dxy, abs=1e-9)
    assert gospa(x, x, c=c, p=p).distance == pytest.approx(0.0, abs=1e-9)
    oxy, oyz, oxz = (ospa(a, b, c=c, p=p) for a, b in ((x, y), (y, z), (x, z)))
    assert oxz <= oxy + oyz + 1e-7
    assert ospa(y, x, c=c, p=p) == pytest.approx(oxy, abs=1e-9)
    assert 0.0 <= oxy <= c + 1e-12


def random_spd(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    a = rng.normal(size=(n, k, k))
    return a @ np.swapaxes(a, 1, 2) + 0.5 * np.eye(k)


def test_nees_nis_equal_explicit_quadratic_form() -> None:
    rng = np.random.default_rng(0)
    P = random_spd(rng, 20, 6)
    e = rng.normal(size=(20, 6))
    expected = np.array([ei @ np.linalg.inv(Pi) @ ei for ei, Pi in zip(e, P, strict=True)])
    np.testing.assert_allclose(nees(e, P), expected, rtol=1e-10)
    np.testing.assert_allclose(nis(e[:, :3], P[:, :3, :3]), nees(e[:, :3], P[:, :3, :3]))
    with pytest.raises(ValueError):
        nees(e, P[:, :3, :3])


def test_chi2_bounds_scipy_and_bar_shalom_table() -> None:
    lo, hi = chi2_bounds(dof=3, n_runs=1, prob=0.95)
    assert (lo, hi) == pytest.approx((stats.chi2.ppf(0.025, 3), stats.chi2.ppf(0.975, 3)))
    # Bar-Shalom, Li & Kirubarajan (2001) §5.4.2: 2 states, 50 runs -> [1.5, 2.6]
    lo, hi = chi2_bounds(dof=2, n_runs=50, prob=0.95)
    assert lo == pytest.approx(1.48, abs=0.01) and hi == pytest.approx(2.59, abs=0.01)
    with pytest.raises(ValueError):
        chi2_bounds(0, 10)


def test_nees_of_consistent_gaussian_monte_carlo() -> None:
    """Errors drawn from their own covariance: averaged NEES inside the bounds ~95 % of trials."""
    rng = np.random.default_rng(42)
    k, n_runs, n_trials = 4, 30, 400
    P = random_spd(rng, n_trials * n_runs, k)
    e = np.einsum("nij,nj->ni", np.linalg.cholesky(P), rng.normal(size=(n_trials * n_runs, k)))
    values = nees(e, P)
    assert values.mean() == pytest.approx(k, rel=0.03)
    assert stats.kstest(values, stats.chi2(k).cdf).pvalue > 1e-3
    averaged = values.reshape(n_trials, n_runs).mean(axis=1)
    lo, hi = chi2_bounds(k, n_runs, 0.95)
    inside = np.mean((averaged >= lo) & (averaged <= hi))
    assert 0.92 <= inside <= 0.98
    # an over-confident filter (covariance 4x too small) fails
    assert np.mean(nees(e, P / 4.0).reshape(n_trials, n_runs).mean(axis=1) <= hi) < 0.01


def test_continuity_hand_built_sequence() -> None:
    # truth 1: track 10 at scans 0-2, gap at 3, track 10 again at 4 (gap, no break),
    #          gap at 5, track 11 at 6 (break), track 12 at 7 (switch).
    # truth 2: track 20 at 0-1, track 21 at 2-3 (switch), nothing after.
    # track 11 also follows truth 2 at scan 4 (after truth 2's track was lost): truth 2 gains
    # a break only if its track changed across a gap: 21 -> 11 after no gap (scan 3 -> 4).
    rows = [
        (0, 1, 10), (1, 1, 10), (2, 1, 10), (4, 1, 10), (6, 1, 11), (7, 1, 12),
        (0, 2, 20), (1, 2, 20), (2, 2, 21), (3, 2, 21), (4, 2, 11),
    ]  # fmt: skip
    t, truth, track = (np.array(col) for col in zip(*rows, strict=True))
    rng = np.random.default_rng(1)
    perm = rng.permutation(len(rows))  # input order must not matter
    res = track_breaks_and_switches(
        t[perm] * 1.0, truth[perm], track[perm], scan_time_s=np.arange(8.0)
    )
    assert res.truth_id.tolist() == [1, 2]
    assert res.n_gaps.tolist() == [2, 0]
    assert res.n_breaks.tolist() == [1, 0]
    assert res.n_switches.tolist() == [1, 2]
    assert res.n_tracks.tolist() == [3, 3]
    assert (res.total_breaks, res.total_switches, res.total_id_changes) == (1, 3, 4)
    np.testing.assert_allclose(res.truth_purity, [4 / 6, 2 / 5])
    assert res.track_id.tolist() == [10, 11, 12, 20, 21]
    np.testing.assert_allclose(res.track_purity, [1.0, 0.5, 1.0, 1.0, 1.0])
    assert res.mean_track_purity == pytest.approx(0.9)


def test_continuity_scan_grid_reveals_gaps_in_empty_scans() -> None:
    # scans 1 and 2 have no assigned pair at all: only the full grid reveals the gap
    t = np.array([0.0, 3.0])
    res_default = track_breaks_and_switches(t, [5, 5], [7, 8])
    assert (res_default.n_gaps[0], res_default.n_switches[0]) == (0, 1)
    res = track_breaks_and_switches(t, [5, 5], [7, 8], scan_time_s=[0.0, 1.0, 2.0, 3.0])
    assert (res.n_gaps[0], res.n_breaks[0], res.n_switches[0]) == (1, 1, 0)


def test_continuity_edge_cases() -> None:
    res = track_breaks_and_switches([], [], [])
    assert res.truth_id.size == 0 and res.total_id_changes == 0
    assert np.isnan(res.mean_track_purity)
    with pytest.raises(ValueError):  # truth assigned twice in one scan
        track_breaks_and_switches([0.0, 0.0], [1, 1], [2, 3])
    with pytest.raises(ValueError):  # track assigned twice in one scan
        track_breaks_and_switches([0.0, 0.0], [1, 2], [3, 3])
    with pytest.raises(ValueError):  # off the grid
        track_breaks_and_switches([0.5], [1], [2], scan_time_s=[0.0, 1.0])
