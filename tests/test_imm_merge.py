"""The IMM tracker's duplicate-track merge (``imm._merge_drops``) against the rule written as
every pair at once (the implementation before the fuzz finding "10,000 identical detections",
benchmarks/RESULTS.md "Fuzz campaign"), and the finding itself: many coincident tracks merge
to one in bounded time and memory."""

from __future__ import annotations

import os
import resource
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial import cKDTree

from shieldwall.tracking import SensorFrame
from shieldwall.tracking.imm import ImmTracker, _merge_drops
from shieldwall.tracking.imm_kernels import close_pairs_chunk


@dataclass
class _Scan:
    time_s: np.ndarray
    sensor_id: np.ndarray
    range_m: np.ndarray
    azimuth_rad: np.ndarray
    elevation_rad: np.ndarray
    range_rate_mps: np.ndarray


def _all_pairs_drops(pos: np.ndarray, vel: np.ndarray, P3: np.ndarray, rank: np.ndarray,
                     radius: float, threshold: float, max_dv: float) -> np.ndarray | None:
    """The merge rule over every candidate pair at once (candidates from a k-d tree)."""
    if pos.shape[0] < 2 or not radius >= 0.0:
        return None
    pairs = np.array(sorted(cKDTree(pos).query_pairs(radius)), np.int64).reshape(-1, 2)
    if pairs.size == 0:
        return None
    a, b = pairs[:, 0], pairs[:, 1]
    dp = pos[a] - pos[b]
    S = P3[a] + P3[b]
    try:
        sol = np.linalg.solve(S, dp[:, :, None])[:, :, 0]
    except np.linalg.LinAlgError:
        sol = np.einsum("pij,pj->pi", np.linalg.pinv(S), dp)
    d2 = np.einsum("pi,pi->p", dp, sol)
    dv = np.linalg.norm(vel[a] - vel[b], axis=1)
    same = (d2 <= threshold) & (dv <= max_dv)
    if not same.any():
        return None
    a, b = a[same], b[same]
    loser = np.where(rank[a] >= rank[b], b, a)
    winner = np.where(rank[a] >= rank[b], a, b)
    return np.unique(loser[~np.isin(winner, loser)])


@st.composite
def _tracks(draw: st.DrawFn) -> tuple[np.ndarray, ...]:
    """A few tracks on a 3 x 3 x 3 grid of spacing ``step`` (many within the merge radius),
    some copied bitwise onto others (coincident groups), with ranks from a small set (ties)."""
    n = draw(st.integers(0, 14))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    step = draw(st.sampled_from([1.0, 30.0, 200.0]))
    pos = rng.integers(0, 3, (n, 3)) * step + 6.4e6
    vel = rng.integers(0, 3, (n, 3)) * 40.0
    sig = rng.choice([10.0, 60.0], n)
    P3 = np.eye(3)[None] * (sig**2)[:, None, None]
    rank = rng.choice([1e6, 2e6 + 3.0, 2e6 + 3.5], n)
    for _ in range(draw(st.integers(0, n))):  # bitwise copies
        i, j = rng.integers(0, n, 2)
        pos[j], vel[j], P3[j], rank[j] = pos[i], vel[i], P3[i], rank[i]
    if n and draw(st.booleans()):  # a NaN rank (the comparison is then False)
        rank[rng.integers(0, n)] = np.nan
    if n > 1 and draw(st.booleans()):  # a singular sum: the pinv path for every pair
        k = rng.integers(0, n)
        P3[k] = 0.0
        j = (k + 1) % n
        pos[j], vel[j], P3[j], rank[j] = pos[k], vel[k], P3[k], rank[k]
    return pos, vel, P3, rank


@settings(max_examples=300, deadline=None)
@given(tracks=_tracks(), radius=st.sampled_from([0.0, 50.0, 300.0, 1e4]),
       chunk=st.integers(1, 8))
def test_merge_drops_equal_the_all_pairs_rule(tracks: tuple[np.ndarray, ...], radius: float,
                                              chunk: int) -> None:
    pos, vel, P3, rank = tracks
    threshold, max_dv = 14.16, 50.0
    want = _all_pairs_drops(pos, vel, P3, rank, radius, threshold, max_dv)
    got = _merge_drops(pos, vel, P3, rank, radius, threshold, max_dv, chunk)
    if want is None:
        assert got is None
    else:
        assert got is not None
        np.testing.assert_array_equal(got, want)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 40), radius=st.floats(1.0, 5e3), cap=st.integers(1, 50),
       seed=st.integers(0, 2**32 - 1))
def test_close_pairs_chunks_are_the_kd_tree_pairs(n: int, radius: float, cap: int,
                                                  seed: int) -> None:
    rng = np.random.default_rng(seed)
    pos = rng.uniform(0.0, 1e4, (n, 3))
    if n > 4:
        pos[1] = pos[0]
        pos[3, 0] = pos[2, 0]
    order = np.argsort(pos[:, 0], kind="mergesort")
    got: list[tuple[int, int]] = []
    a, b = 0, 1
    while a < n:
        pairs, a, b = close_pairs_chunk(pos, order, radius, a, b, cap)
        assert len(pairs) <= cap
        got.extend(map(tuple, pairs.tolist()))
    want = cKDTree(pos).query_pairs(radius) if n else set()
    assert len(got) == len(want) and set(got) == want


@contextmanager
def _address_space_cap(extra_bytes: int) -> Iterator[None]:
    """RLIMIT_AS at the current size + ``extra_bytes`` (restored after): an unbounded
    allocation raises MemoryError here instead of the OOM killer ending the test run."""
    size = int(Path("/proc/self/statm").read_text().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = size + extra_bytes if hard == resource.RLIM_INFINITY else min(size + extra_bytes,
                                                                          hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _peak_rss_mb() -> float:
    with open("/proc/self/status") as fh:  # VmHWM: this process's own peak
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/self/status")
def test_ten_thousand_identical_detections_merge_to_one_track() -> None:
    """The fuzz finding: 10,000 identical detections in one scan made the merge list all
    ~5e7 pairs (a (49,995,000, 3, 3) array, MemoryError). Now every copy merges into the
    lowest-slot one (equal rank: the lower index wins) with no pair listed twice."""
    m = 10_000
    site = SensorFrame(origin_ecef=np.zeros(3), rotation=np.eye(3))
    det = _Scan(np.zeros(m), np.zeros(m, np.int64), np.full(m, 36400.5), np.full(m, 0.588),
                np.full(m, 0.1378), np.full(m, np.nan))
    tracker = ImmTracker()
    before = _peak_rss_mb()
    with _address_space_cap(2 << 30):
        out = tracker.update(tracker.new_table(), det, {0: site}, 0.0)
    grown = _peak_rss_mb() - before
    live = out.tracks.active()
    assert live.size == 1
    # every detection started a track; all but the lowest slot (equal rank: lower index
    # wins) were merged away in the same call
    started = out.log.track_id[out.log.initiated]
    slots = out.log.slot[out.log.initiated]
    assert started.size == m
    assert out.tracks.track_id[live[0]] == started[np.argmin(slots)]
    assert live[0] == slots.min()
    np.testing.assert_array_equal(np.sort(out.log.deleted_track_id),
                                  np.sort(started[started != started[np.argmin(slots)]]))
    assert grown < 300.0, f"peak RSS grew {grown:.0f} MB"
