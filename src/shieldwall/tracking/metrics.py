"""Tracking performance metrics: GOSPA, OSPA, NEES / NIS with chi-square bounds, continuity.

Pure functions over numpy arrays (no I/O, no randomness), used by the tracking benchmark
(``benchmarks/bench_tracking.py``) and by the filter-consistency tests (README, Validation).

Units: positions in metres (any consistent unit works: the distances come out in the unit of
the positions). The base metric of the set distances is the Euclidean norm over the last axis.

References
----------
- D. Schuhmacher, B.-T. Vo, B.-N. Vo, "A consistent metric for performance evaluation of
  multi-object filters", IEEE Trans. Signal Processing 56(8), 2008 (OSPA).
- A. S. Rahmathullah, Á. F. García-Fernández, L. Svensson, "Generalized optimal
  sub-pattern assignment metric", FUSION 2017 (GOSPA).
- Y. Bar-Shalom, X. R. Li, T. Kirubarajan, *Estimation with Applications to Tracking and
  Navigation*, Wiley 2001, §5.4 (NEES / NIS consistency tests).
- K. Bernardin, R. Stiefelhagen, "Evaluating multiple object tracking performance: the
  CLEAR MOT metrics", EURASIP J. Image and Video Processing, 2008 (identity switches);
  Y. Li, C. Huang, R. Nevatia, "Learning to associate: HybridBoosted multi-target tracker
  for crowded scene", CVPR 2009 (fragmentations).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

__all__ = [
    "ContinuityResult",
    "GospaResult",
    "chi2_bounds",
    "gospa",
    "nees",
    "nis",
    "ospa",
    "track_breaks_and_switches",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class GospaResult:
    """GOSPA distance between a truth set and a track set, with its decomposition.

    Attributes
    ----------
    distance : float
        The GOSPA distance, metres: ``(localisation + missed + false) ** (1 / p)``.
    localisation : float
        Sum of ``d(x, y) ** p`` over the assigned pairs, m**p. For ``alpha == 2`` only pairs
        closer than the cut-off ``c`` count as assigned; for other ``alpha`` every pair of the
        optimal assignment does and a pair at or beyond ``c`` contributes ``c ** p``.
    missed : float
        ``c ** p / alpha`` times the number of unassigned truths, m**p.
    false : float
        ``c ** p / alpha`` times the number of unassigned tracks, m**p.
    truth_index, track_index : ndarray of int, shape (k,)
        The assigned pairs (row indices into ``truth_pos`` and ``track_pos``), sorted by
        truth index. For ``alpha == 2``: exactly the pairs with distance below ``c``.
    n_missed, n_false : int
        Numbers of unassigned truths and unassigned tracks.
    """

    distance: float
    localisation: float
    missed: float
    false: float
    truth_index: IntArray
    track_index: IntArray
    n_missed: int
    n_false: int


def _as_points(points: ArrayLike, name: str) -> FloatArray:
    arr = np.asarray(points, dtype=np.float64)
    if arr.ndim == 1 and arr.size == 0:
        arr = arr.reshape(0, 1)
    if arr.ndim != 2:
        raise ValueError(f"{name} must have shape (n, d), got {arr.shape}")
    return arr


def _check_params(c: float, p: float) -> None:
    if not c > 0.0:
        raise ValueError(f"cut-off c must be > 0, got {c}")
    if not p >= 1.0:
        raise ValueError(f"order p must be >= 1, got {p}")


def _pairwise_distance(x: FloatArray, y: FloatArray) -> FloatArray:
    """Euclidean distances, shape (len(x), len(y))."""
    diff = x[:, None, :] - y[None, :, :]
    return np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))


def _gospa_alpha2_pairs(
    x: FloatArray, y: FloatArray, c: float, p: float
) -> tuple[IntArray, IntArray, FloatArray]:
    """Optimal partial assignment for GOSPA with alpha = 2, pairs closer than ``c`` only.

    With alpha = 2 a pair at distance ``d >= c`` costs ``c**p``, the same as leaving both
    unassigned (``c**p / 2`` each), so only pairs with ``d < c`` matter and the problem
    splits into the connected components of the bipartite "closer than c" graph. Each
    component is solved exactly with ``linear_sum_assignment`` on ``min(d, c) ** p``; in
    well-separated scenes most components are a single pair, handled without a solver call.
    """
    n, m = len(x), len(y)
    empty = np.empty(0, dtype=np.int64)
    if n == 0 or m == 0:
        return empty, empty, np.empty(0)
    pairs = cKDTree(x).sparse_distance_matrix(cKDTree(y), max_distance=c, output_type="ndarray")
    keep = pairs["v"] < c
    rows = pairs["i"][keep].astype(np.int64)
    cols = pairs["j"][keep].astype(np.int64)
    dist = pairs["v"][keep].astype(np.float64)
    if rows.size == 0:
        return empty, empty, np.empty(0)
    graph = coo_matrix((np.ones(rows.size), (rows, n + cols)), shape=(n + m, n + m))
    _, label = connected_components(graph, directed=False)
    edge_label = label[rows]
    order = np.argsort(edge_label, kind="stable")
    rows, cols, dist, edge_label = rows[order], cols[order], dist[order], edge_label[order]
    starts = np.flatnonzero(np.r_[True, edge_label[1:] != edge_label[:-1]])
    counts = np.diff(np.r_[starts, rows.size])
    single = starts[counts == 1]  # a component that is one edge: that pair is assigned
    out_rows = [rows[single]]
    out_cols = [cols[single]]
    out_dist = [dist[single]]
    for start, count in zip(starts[counts > 1], counts[counts > 1], strict=True):
        part = slice(start, start + count)
        r, cc, dd = rows[part], cols[part], dist[part]
        ur, ri = np.unique(r, return_inverse=True)
        uc, ci = np.unique(cc, return_inverse=True)
        cost = np.full((ur.size, uc.size), c**p)
        cost[ri, ci] = dd**p
        sol_r, sol_c = linear_sum_assignment(cost)
        dmat = np.full((ur.size, uc.size), np.inf)
        dmat[ri, ci] = dd
        d_sel = dmat[sol_r, sol_c]
        ok = d_sel < c
        out_rows.append(ur[sol_r[ok]])
        out_cols.append(uc[sol_c[ok]])
        out_dist.append(d_sel[ok])
    all_rows = np.concatenate(out_rows)
    all_cols = np.concatenate(out_cols)
    all_dist = np.concatenate(out_dist)
    order = np.argsort(all_rows, kind="stable")
    return all_rows[order], all_cols[order], all_dist[order]


def gospa(
    truth_pos: ArrayLike,
    track_pos: ArrayLike,
    c: float = 1000.0,
    p: float = 2.0,
    alpha: float = 2.0,
) -> GospaResult:
    r"""Generalized optimal sub-pattern assignment (GOSPA) distance.

    For a truth set :math:`X = \{x_1..x_n\}` and a track set :math:`Y = \{y_1..y_m\}`,
    with :math:`d^{(c)}(x, y) = \min(\lVert x - y \rVert, c)` and, without loss of
    generality, :math:`n \le m`,

    .. math::
        d_p^{(c, \alpha)}(X, Y) = \Big( \min_{\pi \in \Pi_m} \sum_{i=1}^{n}
            d^{(c)}(x_i, y_{\pi(i)})^p + \frac{c^p}{\alpha} (m - n) \Big)^{1/p}

    (Rahmathullah, García-Fernández & Svensson 2017). For ``alpha = 2`` this equals the
    assignment form: the minimum over partial assignments of the sum of ``d ** p`` over
    the assigned pairs plus ``c ** p / 2`` per unassigned truth (*missed*) and per
    unassigned track (*false*); pairs at or beyond ``c`` are never worth assigning. That
    decomposition is returned in :class:`GospaResult`.

    Parameters
    ----------
    truth_pos : array_like, shape (n, d)
        True positions (metres, any frame shared with ``track_pos``). ``n`` may be 0.
    track_pos : array_like, shape (m, d)
        Estimated positions, same frame and unit. ``m`` may be 0.
    c : float
        Cut-off distance, metres (> 0).
    p : float
        Order (>= 1).
    alpha : float
        Cardinality-mismatch parameter in (0, 2]; 2 gives the missed/false decomposition.

    Returns
    -------
    GospaResult
        The distance (metres) and its localisation / missed / false terms (m**p).
    """
    x = _as_points(truth_pos, "truth_pos")
    y = _as_points(track_pos, "track_pos")
    _check_params(c, p)
    if not 0.0 < alpha <= 2.0:
        raise ValueError(f"alpha must be in (0, 2], got {alpha}")
    n, m = len(x), len(y)
    if n and m and x.shape[1] != y.shape[1]:
        raise ValueError(f"dimension mismatch: truth {x.shape[1]}, tracks {y.shape[1]}")
    unit = c**p / alpha
    if alpha == 2.0:
        rows, cols, dist = _gospa_alpha2_pairs(x, y, c, p)
        localisation = float(np.sum(dist**p))
    elif n and m:
        cost = np.minimum(_pairwise_distance(x, y), c) ** p
        rows, cols = linear_sum_assignment(cost)
        rows, cols = rows.astype(np.int64), cols.astype(np.int64)
        localisation = float(cost[rows, cols].sum())
    else:
        rows = cols = np.empty(0, dtype=np.int64)
        localisation = 0.0
    n_missed = n - rows.size
    n_false = m - cols.size
    missed = unit * n_missed
    false = unit * n_false
    return GospaResult(
        distance=float((localisation + missed + false) ** (1.0 / p)),
        localisation=localisation,
        missed=float(missed),
        false=float(false),
        truth_index=rows,
        track_index=cols,
        n_missed=int(n_missed),
        n_false=int(n_false),
    )


def ospa(truth_pos: ArrayLike, track_pos: ArrayLike, c: float = 1000.0, p: float = 2.0) -> float:
    r"""Optimal sub-pattern assignment (OSPA) distance (Schuhmacher, Vo & Vo 2008).

    With :math:`n = |X| \le m = |Y|` (swap otherwise) and :math:`d^{(c)} = \min(d, c)`:

    .. math::
        \bar d_p^{(c)}(X, Y) = \Big( \frac{1}{m} \Big( \min_{\pi \in \Pi_m}
            \sum_{i=1}^{n} d^{(c)}(x_i, y_{\pi(i)})^p + c^p (m - n) \Big) \Big)^{1/p},

    0 when both sets are empty and ``c`` when exactly one is.

    Parameters
    ----------
    truth_pos : array_like, shape (n, d)
        First set of points (metres).
    track_pos : array_like, shape (m, d)
        Second set, same frame and unit.
    c : float
        Cut-off distance, metres (> 0).
    p : float
        Order (>= 1).

    Returns
    -------
    float
        The OSPA distance in metres, in ``[0, c]``.
    """
    x = _as_points(truth_pos, "truth_pos")
    y = _as_points(track_pos, "track_pos")
    _check_params(c, p)
    n, m = len(x), len(y)
    if n == 0 and m == 0:
        return 0.0
    if n == 0 or m == 0:
        return float(c)
    cost = np.minimum(_pairwise_distance(x, y), c) ** p
    rows, cols = linear_sum_assignment(cost)
    big = max(n, m)
    total = cost[rows, cols].sum() + c**p * (big - min(n, m))
    return float((total / big) ** (1.0 / p))


def _quadratic_form(err: ArrayLike, cov: ArrayLike, name: str) -> FloatArray:
    e = np.asarray(err, dtype=np.float64)
    P = np.asarray(cov, dtype=np.float64)
    if e.ndim != 2 or P.ndim != 3 or P.shape != (e.shape[0], e.shape[1], e.shape[1]):
        raise ValueError(f"{name}: need err (n, k) and cov (n, k, k), got {e.shape}, {P.shape}")
    # Solve instead of inverting: e^T P^{-1} e with P symmetric positive definite.
    sol = np.linalg.solve(P, e[..., None])[..., 0]
    return np.einsum("nk,nk->n", e, sol)


def nees(x_err: ArrayLike, P: ArrayLike) -> FloatArray:
    r"""Normalized estimation error squared, :math:`\epsilon = \tilde x^T P^{-1} \tilde x`.

    Parameters
    ----------
    x_err : array_like, shape (n, k)
        Estimation errors :math:`\tilde x = x - \hat x` (state units, e.g. m and m/s).
    P : array_like, shape (n, k, k)
        The filter's error covariances of the estimates (units squared).

    Returns
    -------
    ndarray, shape (n,)
        NEES of each estimate; chi-square with ``k`` degrees of freedom when the filter is
        consistent (Bar-Shalom, Li & Kirubarajan 2001, §5.4.2).
    """
    return _quadratic_form(x_err, P, "nees")


def nis(nu: ArrayLike, S: ArrayLike) -> FloatArray:
    r"""Normalized innovation squared, :math:`\epsilon_\nu = \nu^T S^{-1} \nu`.

    Parameters
    ----------
    nu : array_like, shape (n, k)
        Innovations (measurement minus predicted measurement, measurement units; wrap
        angles before calling).
    S : array_like, shape (n, k, k)
        Innovation covariances.

    Returns
    -------
    ndarray, shape (n,)
        NIS of each innovation; chi-square with ``k`` degrees of freedom when consistent.
    """
    return _quadratic_form(nu, S, "nis")


def chi2_bounds(dof: int, n_runs: int, prob: float = 0.95) -> tuple[float, float]:
    r"""Two-sided acceptance interval of the NEES (or NIS) averaged over ``n_runs`` runs.

    If each of ``n_runs`` independent runs gives :math:`\epsilon_i \sim \chi^2_{k}`, then
    :math:`n \bar\epsilon = \sum_i \epsilon_i \sim \chi^2_{n k}`, so the averaged NEES lies
    in :math:`[\chi^2_{nk}((1-q)/2), \chi^2_{nk}((1+q)/2)] / n` with probability ``q``
    (Bar-Shalom, Li & Kirubarajan 2001, §5.4.2, eq. 5.4.2-6).

    Parameters
    ----------
    dof : int
        Degrees of freedom ``k`` of one NEES (the state or measurement dimension).
    n_runs : int
        Number of independent values averaged (Monte Carlo runs).
    prob : float
        Probability ``q`` of the interval, in (0, 1).

    Returns
    -------
    (float, float)
        Lower and upper bounds of the averaged NEES.
    """
    if dof < 1 or n_runs < 1:
        raise ValueError(f"dof and n_runs must be >= 1, got {dof}, {n_runs}")
    if not 0.0 < prob < 1.0:
        raise ValueError(f"prob must be in (0, 1), got {prob}")
    from scipy.stats import chi2  # lazy: scipy.stats takes about a second to import

    total = dof * n_runs
    lo, hi = chi2.ppf([(1.0 - prob) / 2.0, (1.0 + prob) / 2.0], total)
    return float(lo / n_runs), float(hi / n_runs)


@dataclass(frozen=True)
class ContinuityResult:
    """Track continuity per truth and purity per track; see :func:`track_breaks_and_switches`.

    Attributes
    ----------
    truth_id : ndarray of int, shape (u,)
        Truths that were assigned at least once, ascending.
    n_breaks : ndarray of int, shape (u,)
        Track breaks per truth: re-acquisitions after a gap by a *different* track.
    n_switches : ndarray of int, shape (u,)
        Identity switches per truth: the track changed between consecutive scans (no gap).
    n_gaps : ndarray of int, shape (u,)
        Interruptions per truth (tracked, then untracked for >= 1 scan, then tracked again,
        whatever the track): the CLEAR-MOT "fragmentations".
    n_tracks : ndarray of int, shape (u,)
        Distinct tracks ever assigned to the truth.
    truth_purity : ndarray of float, shape (u,)
        Fraction of the truth's assigned scans covered by its most frequent track.
    track_id : ndarray of int, shape (v,)
        Tracks that were assigned at least once, ascending.
    track_purity : ndarray of float, shape (v,)
        Fraction of the track's assigned scans spent on its most frequent truth.
    """

    truth_id: IntArray
    n_breaks: IntArray
    n_switches: IntArray
    n_gaps: IntArray
    n_tracks: IntArray
    truth_purity: FloatArray
    track_id: IntArray
    track_purity: FloatArray

    @property
    def total_breaks(self) -> int:
        """Track breaks summed over truths."""
        return int(self.n_breaks.sum())

    @property
    def total_switches(self) -> int:
        """Identity switches summed over truths."""
        return int(self.n_switches.sum())

    @property
    def total_id_changes(self) -> int:
        """Breaks plus switches: every change of a truth's track (CLEAR-MOT IDSW)."""
        return self.total_breaks + self.total_switches

    @property
    def mean_track_purity(self) -> float:
        """Mean of ``track_purity`` over tracks (NaN with no tracks)."""
        return float(self.track_purity.mean()) if self.track_purity.size else float("nan")

    @property
    def mean_truth_purity(self) -> float:
        """Mean of ``truth_purity`` over truths (NaN with no truths)."""
        return float(self.truth_purity.mean()) if self.truth_purity.size else float("nan")


def _purity(owner: IntArray, other: IntArray) -> tuple[IntArray, FloatArray]:
    """For each owner id, the share of its rows taken by its most frequent ``other`` id."""
    if owner.size == 0:
        return np.empty(0, dtype=np.int64), np.empty(0)
    pairs, pair_count = np.unique(np.stack([owner, other], axis=1), axis=0, return_counts=True)
    ids, inverse = np.unique(pairs[:, 0], return_inverse=True)
    rows_per_owner = np.zeros(ids.size, dtype=np.int64)
    np.add.at(rows_per_owner, inverse, pair_count)
    best = np.zeros(ids.size, dtype=np.int64)
    np.maximum.at(best, inverse, pair_count)
    return ids.astype(np.int64), best / rows_per_owner


def track_breaks_and_switches(
    time_s: ArrayLike,
    truth_id: ArrayLike,
    track_id: ArrayLike,
    scan_time_s: ArrayLike | None = None,
) -> ContinuityResult:
    """Track continuity from a per-scan assignment of truths to tracks.

    Each row is one assigned (truth, track) pair at one scan, e.g. the pairs GOSPA assigns
    within its cut-off (:attr:`GospaResult.truth_index`). A truth and a track appear at
    most once per scan. Scans are indexed on the grid ``scan_time_s`` (default: the
    distinct values of ``time_s``). For each truth, take its assigned scans in time order
    and compare each with the previous one:

    - a **gap** is a jump of more than one scan on the grid (the truth was untracked in
      between) — counted whatever the tracks on either side (CLEAR-MOT fragmentation);
    - a **break** is a gap after which the track differs from the one before the gap
      (the truth lost its track and was picked up by a new one);
    - a **switch** is a change of track between consecutive scans, without a gap.

    ``breaks + switches`` is the number of changes of the truth's track, the CLEAR-MOT
    identity-switch count (Bernardin & Stiefelhagen 2008: a mismatch whenever the track
    matched to a truth differs from its last match). A gap after which the same track resumes
    (e.g. the track strayed beyond the cut-off for a scan) is a gap but neither a break
    nor a switch. Purity: a track's purity is the share of its assigned scans on its most
    frequent truth; a truth's purity the share of its assigned scans covered by its most
    frequent track.

    Parameters
    ----------
    time_s : array_like, shape (r,)
        Scan time of each assigned pair, seconds.
    truth_id : array_like of int, shape (r,)
        Truth of each pair.
    track_id : array_like of int, shape (r,)
        Track of each pair.
    scan_time_s : array_like, shape (s,), optional
        All scan times (sorted). Needed if some scans have no assigned pair at all, else
        a gap spanning them would be missed. Every ``time_s`` must be on this grid.

    Returns
    -------
    ContinuityResult
        Per-truth counts and per-track purity.

    Raises
    ------
    ValueError
        On shape mismatch, a time off the grid, or a truth or track assigned twice in a scan.
    """
    t = np.asarray(time_s, dtype=np.float64)
    truth = np.asarray(truth_id, dtype=np.int64)
    track = np.asarray(track_id, dtype=np.int64)
    if not (t.ndim == truth.ndim == track.ndim == 1 and t.size == truth.size == track.size):
        raise ValueError("time_s, truth_id and track_id must be 1-D of equal length")
    grid = np.unique(t) if scan_time_s is None else np.asarray(scan_time_s, dtype=np.float64)
    scan = np.searchsorted(grid, t)
    if t.size and (np.any(scan >= grid.size) or np.any(grid[np.minimum(scan, grid.size - 1)] != t)):
        raise ValueError("every time_s must be one of scan_time_s")
    for ids, name in ((truth, "truth"), (track, "track")):
        key = np.stack([scan, ids], axis=1)
        if t.size and np.unique(key, axis=0).shape[0] != t.size:
            raise ValueError(f"a {name} is assigned more than once in a scan")

    order = np.lexsort((scan, truth))
    truth_s, track_s, scan_s = truth[order], track[order], scan[order]
    same_truth = truth_s[1:] == truth_s[:-1]
    gap = same_truth & (np.diff(scan_s) > 1)
    changed = same_truth & (track_s[1:] != track_s[:-1])
    brk = gap & changed
    sw = changed & ~gap

    ids = np.unique(truth_s)
    # counts per truth: event at position i (between rows i and i+1) belongs to truth_s[i+1]
    seg = np.searchsorted(ids, truth_s[1:]) if truth_s.size else np.empty(0, dtype=np.int64)
    n_breaks = np.bincount(seg, weights=brk, minlength=ids.size).astype(np.int64)
    n_switches = np.bincount(seg, weights=sw, minlength=ids.size).astype(np.int64)
    n_gaps = np.bincount(seg, weights=gap, minlength=ids.size).astype(np.int64)
    pair_keys = (
        np.unique(np.stack([truth_s, track_s], axis=1), axis=0)
        if truth_s.size
        else (np.empty((0, 2), dtype=np.int64))
    )
    n_tracks = np.bincount(np.searchsorted(ids, pair_keys[:, 0]), minlength=ids.size).astype(
        np.int64
    )
    _, truth_purity = _purity(truth, track)
    track_ids, track_purity = _purity(track, truth)
    return ContinuityResult(
        truth_id=ids.astype(np.int64),
        n_breaks=n_breaks,
        n_switches=n_switches,
        n_gaps=n_gaps,
        n_tracks=n_tracks,
        truth_purity=truth_purity,
        track_id=track_ids,
        track_purity=track_purity,
    )
