"""The multi-target tracker on simulated scenes (own truth and radar generators; no sensors)."""

from __future__ import annotations

import pickle
from dataclasses import dataclass, fields

import numpy as np
import pytest

from shieldwall import geo
from shieldwall.catalog.types import Radar
from shieldwall.tracking import (
    CONFIRMED,
    KinematicClassifier,
    MotionModel,
    SensorFrame,
    Tracker,
    TrackTable,
    class_estimate,
    polar_to_state,
)

LAT0, LON0 = 50.0, 10.0
SITE = SensorFrame.at(LAT0, LON0, 10.0, sigma_range_m=20.0, sigma_azimuth_rad=1e-3,
                      sigma_elevation_rad=1e-3, sigma_range_rate_mps=1.0, max_range_m=150e3)
R0, O0 = SITE.rotation, SITE.origin_ecef


@dataclass
class Dets:
    """Stand-in for sensors.Detections (the tracker must not read truth_index)."""

    time_s: np.ndarray
    sensor_id: np.ndarray
    range_m: np.ndarray
    azimuth_rad: np.ndarray
    elevation_rad: np.ndarray
    range_rate_mps: np.ndarray
    truth_index: np.ndarray

    @staticmethod
    def concat(parts: list[Dets]) -> Dets:
        return Dets(*[np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Dets)])


def empty_dets() -> Dets:
    return Dets(np.zeros(0), np.zeros(0, np.int64), *[np.zeros(0)] * 4, np.zeros(0, np.int64))


def measure(pos: np.ndarray, vel: np.ndarray, site: SensorFrame, sensor_id: int, t: float,
            rng: np.random.Generator, pd: float = 1.0, clutter: float = 0.0,
            with_rr: bool = True) -> Dets:
    """Noisy polar detections of ECEF truth ``pos (n, 3)``, plus Poisson clutter uniform in
    range 5-100 km, azimuth, elevation 0-0.3 rad (truth index -1)."""
    d = (pos - site.origin_ecef) @ site.rotation.T
    w = vel @ site.rotation.T
    r = np.linalg.norm(d, axis=1)
    az = np.arctan2(d[:, 0], d[:, 1])
    el = np.arctan2(d[:, 2], np.hypot(d[:, 0], d[:, 1]))
    rr = np.einsum("ni,ni->n", d, w) / r
    n = r.size
    keep = (rng.random(n) < pd) & (r <= site.max_range_m)
    noise = rng.standard_normal((n, 4)) * [site.sigma_range_m, site.sigma_azimuth_rad,
                                           site.sigma_elevation_rad, site.sigma_range_rate_mps]
    cols = [r + noise[:, 0], az + noise[:, 1], el + noise[:, 2], rr + noise[:, 3]]
    cols = [c[keep] for c in cols]
    idx = np.arange(n)[keep]
    nc = rng.poisson(clutter) if clutter > 0 else 0
    if nc:
        extra = [rng.uniform(5e3, 100e3, nc), rng.uniform(0, 2 * np.pi, nc),
                 rng.uniform(0, 0.3, nc), rng.uniform(-300, 300, nc)]
        cols = [np.concatenate([a, b]) for a, b in zip(cols, extra, strict=True)]
        idx = np.concatenate([idx, np.full(nc, -1)])
    m = idx.size
    rr_col = cols[3] if with_rr else np.full(m, np.nan)
    return Dets(np.full(m, float(t)), np.full(m, sensor_id, np.int64), cols[0],
                np.mod(cols[1], 2 * np.pi), cols[2], rr_col, idx.astype(np.int64))


def enu_truth(pos_enu: np.ndarray, vel_enu: np.ndarray, t: float) -> tuple[np.ndarray, ...]:
    """Straight-line targets given in the radar's ENU frame -> ECEF position, velocity."""
    return (pos_enu + vel_enu * t) @ R0 + O0, vel_enu @ R0


def confirmed_near(table: TrackTable, pos: np.ndarray, radius_m: float) -> np.ndarray:
    """For each truth position, the ids of confirmed tracks within ``radius_m``."""
    c = table.confirmed()
    dist = np.linalg.norm(table.x[c, None, :3] - pos[None], axis=2)
    return [table.track_id[c[dist[:, j] < radius_m]] for j in range(pos.shape[0])]


# ---- the track table ---------------------------------------------------------------------------

def test_table_grows_by_doubling_and_never_reuses_ids() -> None:
    tracker = Tracker()
    table = tracker.new_table(2)
    rng = np.random.default_rng(0)
    pos = (rng.uniform(-50e3, 50e3, (9, 3)) * [1, 1, 0] + [0, 0, 4e3]) @ R0 + O0
    out = tracker.update(table, measure(pos, np.zeros_like(pos), SITE, 0, 0.0, rng),
                         {0: SITE}, 0.0)
    assert out.tracks.capacity == 16          # 2 -> 4 -> 8 -> 16
    assert table.capacity == 2                # the input is not touched
    np.testing.assert_array_equal(np.sort(out.tracks.track_id[out.tracks.active()]),
                                  np.arange(9))
    assert out.log.initiated.all() and out.log.detection_index.size == 9
    # scans without detections delete the tentatives; new ids continue from next_id
    t2 = out.tracks
    for k in range(1, 4):
        t2 = tracker.update(t2, empty_dets(), {0: SITE}, float(k), scanned_sensor_ids=[0]).tracks
    assert t2.active().size == 0
    again = tracker.update(t2, measure(pos[:3], np.zeros((3, 3)), SITE, 0, 5.0, rng),
                           {0: SITE}, 5.0).tracks
    assert set(again.track_id[again.active()]) == {9, 10, 11}
    assert again.capacity == 16


def test_table_pickle_copy_and_predict_state_do_not_alias() -> None:
    tracker = Tracker()
    rng = np.random.default_rng(1)
    pos, vel = enu_truth(np.array([[1e4, 3e4, 3e3]]), np.array([[100.0, 0, 0]]), 0.0)
    table = tracker.update(tracker.new_table(), measure(pos, vel, SITE, 0, 0.0, rng),
                           {0: SITE}, 0.0).tracks
    clone = pickle.loads(pickle.dumps(table))
    for f in fields(TrackTable):
        a, b = getattr(table, f.name), getattr(clone, f.name)
        assert (np.array_equal(a, b, equal_nan=True) if isinstance(a, np.ndarray) else a == b)
    snapshot = table.copy()
    x, P = table.predict_state(table.active(), 10.0)
    # CV prediction (unclassified track): x + v dt, P grows
    s = table.active()[0]
    np.testing.assert_allclose(x[0, :3], table.x[s, :3] + 10.0 * table.x[s, 3:], atol=1e-6)
    assert np.trace(P[0]) > np.trace(table.P[s])
    np.testing.assert_array_equal(table.x, snapshot.x)
    np.testing.assert_array_equal(table.P, snapshot.P)
    snapshot.x[:] = 0.0
    assert np.any(table.x != 0.0)


# ---- scenes ------------------------------------------------------------------------------------

def run_scene(tracker: Tracker, sites: dict[int, SensorFrame], truth_fn, n_scans: int,
              rng: np.random.Generator, pd: float = 1.0, clutter: float = 0.0,
              dt: float = 1.0):
    """Run the tracker; return the final table and per-scan (table, log, detections)."""
    table = tracker.new_table(8)
    history = []
    for k in range(n_scans):
        t = k * dt
        pos, vel = truth_fn(t)
        dets = Dets.concat([measure(pos, vel, site, sid, t, rng, pd, clutter)
                            for sid, site in sites.items()])
        out = tracker.update(table, dets, sites, t, scanned_sensor_ids=list(sites))
        table = out.tracks
        history.append((table, out.log, dets))
    return table, history


def test_two_radars_fuse_into_one_track_with_smaller_covariance() -> None:
    site_b = SensorFrame.at(50.3, 10.4, 10.0, sigma_range_m=20.0, sigma_azimuth_rad=1e-3,
                            sigma_elevation_rad=1e-3, max_range_m=150e3)
    p0, v0 = np.array([[15e3, 20e3, 5e3]]), np.array([[150.0, 100.0, 0.0]])

    def truth(t: float):
        return enu_truth(p0, v0, t)

    rng = np.random.default_rng(4)
    both, hist = run_scene(Tracker(), {0: SITE, 1: site_b}, truth, 20, rng)
    single, _ = run_scene(Tracker(), {0: SITE}, truth, 20, np.random.default_rng(4))
    assert both.next_id == 1                          # only one track was ever started
    (slot,) = both.confirmed()
    assert both.sensors_mask[slot] == 0b11
    assert both.hits[slot] == 40
    # each scan: one update per radar, in sensor order
    np.testing.assert_array_equal(hist[-1][1].sensor_id, [0, 1])
    (s1,) = single.confirmed()
    tr_both = np.trace(both.P[slot, :3, :3])
    tr_one = np.trace(single.P[s1, :3, :3])
    assert tr_both < 0.6 * tr_one
    pos, _ = truth(19.0)
    assert np.linalg.norm(both.x[slot, :3] - pos[0]) < 3 * np.sqrt(tr_both)


def crossing_truth(t: float):
    # two targets crossing at 60 degrees at (0, 40 km, 3 km) at t = 30 s
    speed = 250.0
    ang = np.radians([60.0, 120.0])
    v = np.column_stack([speed * np.cos(ang), speed * np.sin(ang), np.zeros(2)])
    p_cross = np.array([0.0, 40e3, 3e3])
    return enu_truth(p_cross - 30.0 * v, v, t)


def test_crossing_targets_keep_ids_confirm_fast_and_are_deleted() -> None:
    tracker = Tracker()
    rng = np.random.default_rng(7)
    table, hist = run_scene(tracker, {0: SITE}, crossing_truth, 60, rng, pd=0.95)
    # confirmed within the M-of-N window: after at most N = 4 scans
    first_confirm = min(k for k, (_, log, _) in enumerate(hist) if log.confirmed_track_id.size)
    assert first_confirm <= tracker.confirm_window - 1
    assert table.confirmed().size == 2 and table.next_id == 2
    # id purity: which track each target's detections updated (truth joined outside the tracker)
    owner: dict[int, list[int]] = {0: [], 1: []}
    for _, log, dets in hist[5:]:
        for tid, row in zip(log.track_id, log.detection_index, strict=True):
            owner[int(dets.truth_index[row])].append(int(tid))
    for target, ids in owner.items():
        values, counts = np.unique(ids, return_counts=True)
        assert counts.max() / counts.sum() >= 0.9, (target, values, counts)
    assert np.unique([np.bincount(owner[0]).argmax(), np.bincount(owner[1]).argmax()]).size == 2
    # targets disappear: the radar keeps scanning, the tracks coast and are deleted
    deleted_at = {}
    for k in range(60, 70):
        out = tracker.update(table, empty_dets(), {0: SITE}, float(k), scanned_sensor_ids=[0])
        table = out.tracks
        for tid in out.log.deleted_track_id:
            deleted_at[int(tid)] = k
    assert table.active().size == 0
    assert max(deleted_at.values()) <= 60 + tracker.delete_misses


def test_no_miss_counted_outside_coverage() -> None:
    near = SensorFrame.at(LAT0, LON0, 10.0, sigma_range_m=20.0, sigma_azimuth_rad=1e-3,
                          sigma_elevation_rad=1e-3, max_range_m=10e3)
    tracker = Tracker()
    rng = np.random.default_rng(3)
    table, _ = run_scene(tracker, {0: SITE}, lambda t: enu_truth(
        np.array([[0.0, 40e3, 3e3]]), np.array([[0.0, 100.0, 0.0]]), t), 6, rng)
    (slot,) = table.confirmed()
    misses = table.misses[slot]
    # the short-range radar scans repeatedly: the track is beyond its range, no miss counted
    for k in range(6, 20):
        table = tracker.update(table, empty_dets(), {0: SITE, 1: near}, float(k),
                               scanned_sensor_ids=[1]).tracks
    assert table.status[slot] == CONFIRMED and table.misses[slot] == misses
    # ... but a covering radar's empty scans do count (coverage callable overrides the rule)
    table = tracker.update(table, empty_dets(), {0: SITE}, 20.0, scanned_sensor_ids=[0],
                           coverage=lambda sid, pos: np.ones(len(pos), bool)).tracks
    assert table.misses[slot] == misses + 1


@dataclass(frozen=True)
class SiteWithRadar:
    """Shaped like sensors.RadarSite: frame on the object, figures on its catalog record."""

    origin_ecef: np.ndarray
    rotation: np.ndarray
    heading_rad: float
    radar: Radar


def test_site_with_catalog_radar_record_and_sector_coverage() -> None:
    radar = Radar(name="test", label="test", role="fire_control", peak_power_w=1e5,
                  antenna_gain_db=40.0, frequency_hz=5e9, bandwidth_hz=1e6, noise_figure_db=3.0,
                  losses_db=5.0, max_range_m=100e3, sector_half_width_rad=np.radians(45.0),
                  scan_period_s=1.0, sigma_range_m=20.0, sigma_azimuth_rad=1e-3,
                  sigma_elevation_rad=1e-3)
    north = SiteWithRadar(O0, R0, 0.0, radar)
    east = SiteWithRadar(O0, R0, np.pi / 2, radar)
    tracker = Tracker()
    # the target flies in the north sector, is tracked there, then only the east-looking
    # radar scans: the target is outside its sector, so the track does not miss
    rng = np.random.default_rng(8)
    table = tracker.new_table()
    for k in range(6):
        pos, vel = enu_truth(np.array([[0.0, 30e3, 3e3]]), np.array([[0.0, 100.0, 0.0]]), k)
        dets = measure(pos, vel, SITE, 0, float(k), rng)  # SITE: same place and noise
        table = tracker.update(table, dets, {0: north}, float(k)).tracks
    (slot,) = table.confirmed()
    for k in range(6, 12):
        table = tracker.update(table, empty_dets(), {1: east}, float(k),
                               scanned_sensor_ids=[1]).tracks
    assert table.misses[slot] == 0
    for k in range(12, 12 + tracker.delete_misses):
        table = tracker.update(table, empty_dets(), {0: north}, float(k),
                               scanned_sensor_ids=[0]).tracks
    assert table.status[slot] == 0   # deleted after K misses of the covering radar


@pytest.mark.parametrize("seed", [11, 12])
def test_clutter_few_false_tracks_and_all_targets_confirmed(seed: int) -> None:
    p0 = np.array([[-20e3, 30e3, 2e3], [10e3, 50e3, 6e3], [30e3, -20e3, 1e3]])
    v0 = np.array([[200.0, 0.0, 0.0], [0.0, -250.0, 10.0], [-150.0, 150.0, 0.0]])
    rng = np.random.default_rng(seed)
    tracker = Tracker()
    table, hist = run_scene(tracker, {0: SITE}, lambda t: enu_truth(p0, v0, t), 40, rng,
                            pd=0.9, clutter=5.0)
    pos, _ = enu_truth(p0, v0, 39.0)
    near = confirmed_near(table, pos, 500.0)
    assert all(len(ids) == 1 for ids in near), near
    # confirmed tracks that follow no target, at every scan
    false_counts = []
    for k, (tab, _, _) in enumerate(hist):
        pk, _ = enu_truth(p0, v0, float(k))
        c = tab.confirmed()
        dist = np.linalg.norm(tab.x[c, None, :3] - pk[None], axis=2).min(axis=1)
        false_counts.append(int(np.sum(dist > 2_000.0)))
    assert max(false_counts) <= 1
    assert np.mean(false_counts) <= 0.1
    # clutter did start tentative tracks, which were dropped
    assert table.next_id > 20


# ---- classification and gravity ----------------------------------------------------------------

def ballistic_truth(duration_s: float, dt: float = 0.01):
    """Free fall (point-mass gravity, RK4) from 80 km at 2 km/s, 40 degrees below horizontal,
    starting 120 km north of the radar and flying south."""
    pos = geo.geodetic2ecef(LAT0 + 120e3 / 111e3, LON0, 80e3)
    rot = geo.enu_rotation(LAT0 + 120e3 / 111e3, LON0)
    g = np.radians(40.0)
    vel = rot.T @ np.array([0.0, -2000.0 * np.cos(g), -2000.0 * np.sin(g)])

    def acc(p):
        return -geo.EARTH_GM_M3_S2 * p / np.linalg.norm(p) ** 3

    out = []
    s = np.concatenate([pos, vel])
    steps_per_s = int(round(1.0 / dt))
    for k in range(int(duration_s) * steps_per_s + 1):
        if k % steps_per_s == 0:
            out.append(s.copy())
        p, v = s[:3], s[3:]
        k1 = np.concatenate([v, acc(p)])
        k2 = np.concatenate([v + 0.5 * dt * k1[3:], acc(p + 0.5 * dt * k1[:3])])
        k3 = np.concatenate([v + 0.5 * dt * k2[3:], acc(p + 0.5 * dt * k2[:3])])
        k4 = np.concatenate([v + dt * k3[3:], acc(p + dt * k3[:3])])
        s = s + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return np.array(out)


EW_SITE = SensorFrame.at(LAT0, LON0, 10.0, sigma_range_m=30.0, sigma_azimuth_rad=1e-3,
                         sigma_elevation_rad=1e-3, max_range_m=600e3)


def track_ballistic(tracker: Tracker, truth: np.ndarray, seed: int):
    rng = np.random.default_rng(seed)
    table = tracker.new_table()
    errors = []
    for k, s in enumerate(truth):
        d = measure(s[None, :3], s[None, 3:], EW_SITE, 0, float(k), rng)
        table = tracker.update(table, d, {0: EW_SITE}, float(k)).tracks
        c = table.active()
        errors.append(np.linalg.norm(table.x[c, :3] - s[:3], axis=1).min())
    return table, np.array(errors)


def test_ballistic_and_cruise_targets_are_classified() -> None:
    truth = ballistic_truth(30.0)
    assert geo.altitude_m(truth[-1, :3]) > 5e3
    tracker = Tracker()
    table, _ = track_ballistic(tracker, truth, 5)
    (slot,) = table.confirmed()
    assert class_estimate(table, [slot]) == ["ballistic"]
    assert table.max_alt_m[slot] > 75e3
    # a 250 m/s cruise target at 100 m, 20 km from the radar
    cruise_pos = geo.ecef2enu(geo.geodetic2ecef(LAT0 + 20e3 / 111e3, LON0, 100.0), O0, R0)
    table, _ = run_scene(Tracker(), {0: SITE}, lambda t: enu_truth(
        cruise_pos[None], np.array([[250.0, 0.0, 0.0]]), t), 20, np.random.default_rng(6))
    (slot,) = table.confirmed()
    assert class_estimate(table, [slot]) == ["air_breathing"]
    assert table.class_ballistic_score[slot] < 0
    assert abs(np.linalg.norm(table.x[slot, 3:]) - 250.0) < 25.0
    assert 230.0 < table.max_speed_mps[slot] < 400.0  # early two-point estimates are noisy
    assert class_estimate(Tracker().new_table(2), [0]) == ["unknown"]


def test_gravity_aware_prediction_reduces_error_on_ballistic_target() -> None:
    truth = ballistic_truth(30.0)
    with_g = Tracker(motion=MotionModel(ballistic_process_noise_m2_s3=20.0, gravity=True))
    without = Tracker(motion=MotionModel(ballistic_process_noise_m2_s3=20.0, gravity=False))
    rms = []
    for tracker in (with_g, without):
        per_seed = [track_ballistic(tracker, truth, seed)[1][10:] for seed in range(3)]
        rms.append(np.sqrt(np.mean(np.concatenate(per_seed) ** 2)))
    assert rms[0] < 0.7 * rms[1], rms


# ---- determinism and purity --------------------------------------------------------------------

def test_same_inputs_same_outputs_and_inputs_not_mutated() -> None:
    tracker = Tracker()
    rng = np.random.default_rng(21)
    table, hist = run_scene(tracker, {0: SITE}, crossing_truth, 12, rng, pd=0.9, clutter=5.0)
    prev_table = hist[-2][0]
    dets = hist[-1][2]
    before_t = prev_table.copy()
    before_d = {f.name: getattr(dets, f.name).copy() for f in fields(Dets)}
    out1 = tracker.update(prev_table, dets, {0: SITE}, 11.0, scanned_sensor_ids=[0])
    out2 = tracker.update(prev_table, dets, {0: SITE}, 11.0, scanned_sensor_ids=[0])
    for f in fields(TrackTable):
        a, b, c = (getattr(t, f.name) for t in (out1.tracks, out2.tracks, before_t))
        if isinstance(a, np.ndarray):
            assert np.array_equal(a, b, equal_nan=True)
            assert np.array_equal(getattr(prev_table, f.name), c, equal_nan=True)
    for f in fields(out1.log):
        assert np.array_equal(getattr(out1.log, f.name), getattr(out2.log, f.name),
                              equal_nan=True)
    for name, arr in before_d.items():
        assert np.array_equal(getattr(dets, name), arr, equal_nan=True)
    # the last scan of the run reproduces too
    for f in fields(TrackTable):
        a = getattr(out1.tracks, f.name)
        if isinstance(a, np.ndarray):
            assert np.array_equal(a, getattr(table, f.name), equal_nan=True)


def test_tracker_ignores_truth_index() -> None:
    tracker = Tracker()
    rng = np.random.default_rng(2)
    pos, vel = crossing_truth(0.0)
    dets = measure(pos, vel, SITE, 0, 0.0, rng, clutter=3.0)
    scrambled = Dets(**{f.name: getattr(dets, f.name) for f in fields(Dets)})
    scrambled.truth_index = np.full_like(dets.truth_index, 12345)
    a = tracker.update(tracker.new_table(), dets, {0: SITE}, 0.0)
    b = tracker.update(tracker.new_table(), scrambled, {0: SITE}, 0.0)
    np.testing.assert_array_equal(a.tracks.x, b.tracks.x)
    np.testing.assert_array_equal(a.log.detection_index, b.log.detection_index)


def test_scan_of_100_tracks_by_100_detections_is_fast() -> None:
    """Guard against per-track Python loops (target ~2 ms; the bound is loose for busy CI)."""
    import time

    rng = np.random.default_rng(0)
    n = 100
    p0 = rng.uniform(-60e3, 60e3, (n, 3)) * [1, 1, 0] + [0, 0, 5e3]
    v0 = rng.uniform(-200, 200, (n, 3)) * [1, 1, 0]
    tracker = Tracker()
    table = tracker.new_table(8)
    for k in range(6):
        pos, vel = enu_truth(p0, v0, float(k))
        table = tracker.update(table, measure(pos, vel, SITE, 0, float(k), rng), {0: SITE},
                               float(k)).tracks
    assert table.confirmed().size >= 95
    pos, vel = enu_truth(p0, v0, 6.0)
    dets = measure(pos, vel, SITE, 0, 6.0, rng)
    times = []
    for _ in range(15):
        t0 = time.perf_counter()
        tracker.update(table, dets, {0: SITE}, 6.0)
        times.append(time.perf_counter() - t0)
    assert min(times) < 0.025


def test_inplace_update_gives_the_same_results() -> None:
    rng = np.random.default_rng(31)
    sites = {0: SITE, 3: SensorFrame.at(50.2, 10.3, 10.0, sigma_range_m=20.0,
                                        sigma_azimuth_rad=1e-3, sigma_elevation_rad=1e-3,
                                        max_range_m=150e3)}
    tracker = Tracker()
    a, b = tracker.new_table(4), tracker.new_table(4)
    for k in range(15):
        pos, vel = crossing_truth(float(k))
        dets = Dets.concat([measure(pos, vel, s, sid, float(k), rng, 0.9, 4.0)
                            for sid, s in sites.items()])
        out_a = tracker.update(a, dets, sites, float(k), scanned_sensor_ids=list(sites))
        out_b = tracker.update(b, dets, sites, float(k), scanned_sensor_ids=list(sites),
                               inplace=True)
        assert out_b.tracks is b and out_a.tracks is not a
        a = out_a.tracks
        for f in fields(TrackTable):
            va, vb = getattr(a, f.name), getattr(b, f.name)
            assert (np.array_equal(va, vb, equal_nan=True) if isinstance(va, np.ndarray)
                    else va == vb)
        for f in fields(out_a.log):
            assert np.array_equal(getattr(out_a.log, f.name), getattr(out_b.log, f.name),
                                  equal_nan=True)
    assert a.confirmed().size >= 2


class PlainMotion(MotionModel):
    """A subclass: the tracker predicts through its ``predict`` (the numpy kernels)."""


class PlainClassifier(KinematicClassifier):
    """A subclass: the tracker accumulates evidence through its ``accumulate``."""


def test_compiled_scan_loop_matches_the_numpy_motion_and_classifier() -> None:
    truth = ballistic_truth(25.0)
    runs = []
    for tracker in (Tracker(), Tracker(motion=PlainMotion(), classifier=PlainClassifier())):
        rng = np.random.default_rng(32)
        table = tracker.new_table(4)
        logs = []
        for k, s in enumerate(truth):
            dets = Dets.concat([measure(s[None, :3], s[None, 3:], EW_SITE, 0, float(k), rng,
                                        clutter=3.0),
                                measure(s[None, :3], s[None, 3:], SITE, 1, float(k), rng,
                                        clutter=2.0)])
            out = tracker.update(table, dets, {0: EW_SITE, 1: SITE}, float(k),
                                 scanned_sensor_ids=[0, 1])
            table = out.tracks
            logs.append(out.log)
        runs.append((table, logs))
    (ta, la), (tb, lb) = runs
    for a, b in zip(la, lb, strict=True):
        for f in fields(a):
            va, vb = getattr(a, f.name), getattr(b, f.name)
            if f.name == "nis":
                np.testing.assert_allclose(va, vb, rtol=1e-7)
            else:
                np.testing.assert_array_equal(va, vb)
    live = ta.active()
    np.testing.assert_array_equal(live, tb.active())
    np.testing.assert_array_equal(ta.track_id, tb.track_id)
    np.testing.assert_allclose(ta.x[live], tb.x[live], rtol=1e-12, atol=1e-6)
    np.testing.assert_allclose(ta.P[live], tb.P[live], rtol=1e-7, atol=1e-6)
    np.testing.assert_allclose(ta.class_ballistic_score[live], tb.class_ballistic_score[live])
    (slot,) = ta.confirmed()
    assert class_estimate(ta, [slot]) == ["ballistic"]


def test_initiation_and_coverage_calls() -> None:
    rng = np.random.default_rng(33)
    pos, vel = crossing_truth(0.0)
    dets = measure(pos, vel, SITE, 0, 0.0, rng)
    tracker = Tracker()
    out = tracker.update(tracker.new_table(), dets, {0: SITE}, 0.0)
    slots = out.log.slot
    x0, P0 = polar_to_state(dets.range_m, dets.azimuth_rad, dets.elevation_rad,
                            dets.range_rate_mps, np.array([20.0, 1e-3, 1e-3]), 1.0,
                            tracker.initial_velocity_std_mps, O0, R0)
    np.testing.assert_allclose(out.tracks.x[slots], x0, rtol=1e-12, atol=1e-6)
    np.testing.assert_allclose(out.tracks.P[slots], P0, rtol=1e-9, atol=1e-9)
    # the coverage callable sees the tracks the scan did not update, and only those
    seen: list[int] = []

    def coverage(sensor_id: int, p: np.ndarray) -> np.ndarray:
        seen.append(len(p))
        return np.ones(len(p), bool)

    table = out.tracks
    pos, vel = crossing_truth(1.0)
    table = tracker.update(table, measure(pos, vel, SITE, 0, 1.0, rng), {0: SITE}, 1.0,
                           coverage=coverage).tracks
    assert seen == []                      # both tracks updated: no call
    pos, vel = crossing_truth(2.0)
    out = tracker.update(table, measure(pos[:1], vel[:1], SITE, 0, 2.0, rng), {0: SITE}, 2.0,
                         coverage=coverage)
    assert not out.log.initiated.any() and out.log.track_id.size == 1
    assert seen == [1] and out.tracks.misses[out.tracks.active()].tolist() == [0, 1]
