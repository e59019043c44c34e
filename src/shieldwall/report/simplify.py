"""Polyline decimation for the map: Ramer-Douglas-Peucker over many polylines at once.

A 1000-threat raid records one truth row per threat per step (millions of points); on a 900 px
map almost all of them are redundant. Ramer-Douglas-Peucker keeps the end points of each
polyline, then recursively keeps the interior point farthest from the chord of its segment while
that distance exceeds the tolerance, so the drawn line never departs from the recorded one by
more than ``tolerance``. Here every level of the recursion is one vectorized pass over the open
segments of *all* polylines together. ``simplify_trajectories`` is the same with the
time-synchronized distance, for the replay (the position interpolated in time stays close).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from shieldwall.core.types import BoolArray, FloatArray, IntArray


def _segment_distance(px: FloatArray, py: FloatArray, ax: FloatArray, ay: FloatArray,
                      bx: FloatArray, by: FloatArray) -> FloatArray:
    """Distance of points P from the segments AB (all arrays of one shape)."""
    dx, dy = bx - ax, by - ay
    len2 = dx * dx + dy * dy
    safe = np.where(len2 > 0.0, len2, 1.0)
    u = np.clip(((px - ax) * dx + (py - ay) * dy) / safe, 0.0, 1.0)
    u = np.where(len2 > 0.0, u, 0.0)
    return np.hypot(px - (ax + u * dx), py - (ay + u * dy))


def _top_down(n: int, offsets: IntArray, tolerance: float,
              distance: Callable[[IntArray, IntArray, IntArray], FloatArray]) -> BoolArray:
    """The top-down split loop shared by the spatial and the time-synchronized variants.

    ``distance(idx, a, b)`` gives the distance of the points ``idx`` from their segment's
    approximation between the kept points ``a`` and ``b`` (arrays of one shape).
    """
    offsets = np.asarray(offsets, np.int64)
    keep = np.zeros(n, dtype=bool)
    starts, stops = offsets[:-1], offsets[1:]
    nonempty = stops > starts
    keep[starts[nonempty]] = True
    keep[stops[nonempty] - 1] = True
    seg_a = starts[stops - starts >= 3]
    seg_b = stops[stops - starts >= 3] - 1
    while seg_a.size:
        interior = seg_b - seg_a - 1                     # >= 1 for every open segment
        first = np.concatenate([[0], np.cumsum(interior)[:-1]])
        owner = np.repeat(np.arange(seg_a.size), interior)
        idx = np.arange(int(interior.sum())) - first[owner] + seg_a[owner] + 1
        a, b = seg_a[owner], seg_b[owner]
        d = np.nan_to_num(distance(idx, a, b), nan=0.0)  # a non-finite point never splits
        dmax = np.maximum.reduceat(d, first)
        # The first point of each segment that attains its maximum.
        at_max = np.flatnonzero(d == dmax[owner])
        _, first_hit = np.unique(owner[at_max], return_index=True)
        split_at = idx[at_max[first_hit]]
        split = dmax > tolerance
        pivot = split_at[split]
        keep[pivot] = True
        new_a = np.concatenate([seg_a[split], pivot])
        new_b = np.concatenate([pivot, seg_b[split]])
        open_ = new_b - new_a >= 2
        seg_a, seg_b = new_a[open_], new_b[open_]
    return keep


def simplify_polylines(x: FloatArray, y: FloatArray, offsets: IntArray,
                       tolerance: float) -> BoolArray:
    """Which points of many concatenated polylines to keep (Ramer-Douglas-Peucker).

    Parameters
    ----------
    x, y : (n,) coordinates of all polylines, concatenated (any unit; pixels for the map).
    offsets : (k + 1,) start of each of the k polylines in ``x``; ``offsets[-1] == n``.
    tolerance : the largest distance (same unit as x, y) a dropped point may lie from the kept
        polyline.

    Returns
    -------
    (n,) bool: True for kept points. The first and last point of every polyline are kept.
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)

    def distance(idx: IntArray, a: IntArray, b: IntArray) -> FloatArray:
        return _segment_distance(x[idx], y[idx], x[a], y[a], x[b], y[b])

    return _top_down(x.size, offsets, tolerance, distance)


def simplify_trajectories(x: FloatArray, y: FloatArray, time_s: FloatArray, offsets: IntArray,
                          tolerance: float) -> BoolArray:
    """Which points of many timed polylines to keep so that replay stays within ``tolerance``.

    Top-down time-ratio simplification (Meratnia and de By, 2004): Ramer-Douglas-Peucker with
    the *synchronized* distance ``|P_k - (P_a + u (P_b - P_a))|``, ``u = (t_k - t_a) /
    (t_b - t_a)``, in place of the distance to the segment. A dropped point then lies within
    ``tolerance`` of the position linearly interpolated *in time* between the kept points
    around it, so a replay that interpolates the kept points at any recorded time is that
    close to the record (the synchronized distance is never less than the distance to the
    segment, so the drawn line is that close too).

    Parameters
    ----------
    x, y : (n,) concatenated coordinates; time_s : (n,) their times, non-decreasing inside each
        polyline; offsets : (k + 1,) polyline starts (see ``simplify_polylines``); tolerance :
        same unit as x and y.

    Returns
    -------
    (n,) bool mask of kept points; the first and last point of every polyline are kept.
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    t = np.asarray(time_s, float)

    def distance(idx: IntArray, a: IntArray, b: IntArray) -> FloatArray:
        span = t[b] - t[a]
        u = np.where(span > 0.0, (t[idx] - t[a]) / np.where(span > 0.0, span, 1.0), 0.0)
        return np.hypot(x[idx] - (x[a] + u * (x[b] - x[a])),
                        y[idx] - (y[a] + u * (y[b] - y[a])))

    return _top_down(x.size, offsets, tolerance, distance)


def thin_polylines(x: FloatArray, y: FloatArray, offsets: IntArray, cell: float) -> BoolArray:
    """A cheap pre-pass: drop points in the same ``cell``-sized grid square as the point before.

    Consecutive points inside one square of side ``cell`` add nothing visible when ``cell`` is a
    fraction of a pixel; this removes the bulk of densely sampled slow tracks (a drone moves a
    few tens of metres per step, a pixel is often a kilometre) before the recursive pass. The
    first and last point of each polyline are kept. The kept polyline departs from the original
    by at most ``cell * sqrt(2)``.

    Parameters
    ----------
    x, y : (n,) concatenated coordinates; offsets : (k + 1,) polyline starts (see
        ``simplify_polylines``); cell : grid spacing, same unit as x and y.

    Returns
    -------
    (n,) bool mask of kept points.
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    offsets = np.asarray(offsets, np.int64)
    n = x.size
    if n == 0:
        return np.zeros(0, dtype=bool)
    ix = np.floor(np.nan_to_num(x) / cell)
    iy = np.floor(np.nan_to_num(y) / cell)
    keep = np.ones(n, dtype=bool)
    keep[1:] = (ix[1:] != ix[:-1]) | (iy[1:] != iy[:-1])
    starts, stops = offsets[:-1], offsets[1:]
    nonempty = stops > starts
    keep[starts[nonempty]] = True
    keep[stops[nonempty] - 1] = True
    return keep
