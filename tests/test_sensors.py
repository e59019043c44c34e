"""RadarSite / Detections / RadarDetector against independent references.

Geometry against pymap3d and geographiclib, horizon against the 4/3-earth formula, noise
against chi-square bounds, false alarms against the Poisson law, detection rates against the
binomial law, and the vectorized coverage against a per-target loop.
"""

from __future__ import annotations

import dataclasses
import pickle

import numpy as np
import pymap3d
import pytest
from geographiclib.geodesic import Geodesic
from scipy import stats

from shieldwall import geo
from shieldwall.catalog.types import Radar
from shieldwall.sensors import (
    Detections,
    RadarDetector,
    RadarSite,
    detection_range_m,
    wrap_pi,
)
from shieldwall.sensors.radar import coverage_mask, ecef2polar

LAT0, LON0, ALT0 = 50.0, 20.0, 120.0


def make_radar(**overrides: object) -> Radar:
    params: dict[str, object] = dict(
        name="test", label="test radar", role="surveillance", peak_power_w=1.0e6,
        antenna_gain_db=40.0, frequency_hz=3.0e9, bandwidth_hz=1.0e6, noise_figure_db=3.0,
        losses_db=6.0, pulses_integrated=16, pfa=1e-6, max_range_m=300e3, scan_period_s=5.0,
        sigma_range_m=20.0, sigma_azimuth_rad=0.002, sigma_elevation_rad=0.003,
        sigma_range_rate_mps=1.5, antenna_height_m=10.0)
    params.update(overrides)
    return Radar(**params)


def make_detector(heading_rad: float = 0.0, alt_m: float = ALT0, **overrides: object
                  ) -> RadarDetector:
    site = RadarSite(sensor_id=7, name="r7", radar=make_radar(**overrides), lat_deg=LAT0,
                     lon_deg=LON0, alt_m=alt_m, heading_rad=heading_rad)
    return RadarDetector(site)


def enu_points(detector: RadarDetector, enu: np.ndarray) -> np.ndarray:
    """ENU of the antenna -> ECEF through pymap3d (independent of geo's rotation)."""
    site = detector.site
    x, y, z = pymap3d.enu2ecef(enu[:, 0], enu[:, 1], enu[:, 2], site.lat_deg, site.lon_deg,
                               site.antenna_alt_m)
    return np.stack([x, y, z], axis=-1)


def scan(detector: RadarDetector, pos: np.ndarray, vel: np.ndarray | None = None,
         rcs: float = 1.0, swerling: int = 0, alive: np.ndarray | None = None, seed: int = 0,
         time_s: float = 12.5) -> Detections:
    n = pos.shape[0]
    return detector.detect(pos, np.zeros_like(pos) if vel is None else vel, np.full(n, rcs),
                           np.full(n, swerling), np.ones(n, bool) if alive is None else alive,
                           time_s, np.random.default_rng(seed))


# --------------------------------------------------------------------------- site, records


def test_site_frame() -> None:
    detector = make_detector()
    site = detector.site
    x, y, z = pymap3d.geodetic2ecef(LAT0, LON0, ALT0 + 10.0)
    np.testing.assert_allclose(site.origin_ecef, [x, y, z], atol=1e-6)
    np.testing.assert_allclose(site.rotation @ site.rotation.T, np.eye(3), atol=1e-14)
    with pytest.raises(dataclasses.FrozenInstanceError):
        site.lat_deg = 0.0  # type: ignore[misc]
    with pytest.raises(ValueError):
        site.origin_ecef[0] = 0.0
    clone = pickle.loads(pickle.dumps(detector))
    np.testing.assert_array_equal(clone.site.origin_ecef, site.origin_ecef)
    assert clone == detector


def test_detections_container() -> None:
    a = Detections(time_s=[1.0, 1.0], sensor_id=[3, 3], range_m=[1e3, 2e3],
                   azimuth_rad=[0.1, 0.2], elevation_rad=[0.0, 0.1],
                   range_rate_mps=[5.0, -5.0], snr_db=[10.0, 20.0], truth_index=[4, -1])
    empty = Detections.empty()
    assert len(empty) == 0 and len(a) == 2
    both = Detections.concat([a, empty, a])
    assert len(both) == 4 and both.truth_index.dtype == np.int64
    np.testing.assert_array_equal(both.range_m, [1e3, 2e3, 1e3, 2e3])
    picked = both.select(both.truth_index >= 0)
    np.testing.assert_array_equal(picked.snr_db, [10.0, 10.0])
    assert len(Detections.concat([])) == 0
    with pytest.raises(ValueError):
        Detections(time_s=[1.0], sensor_id=[3, 3], range_m=[1e3, 2e3], azimuth_rad=[0.1, 0.2],
                   elevation_rad=[0.0, 0.1], range_rate_mps=[5.0, -5.0], snr_db=[1.0, 2.0],
                   truth_index=[4, -1])


# --------------------------------------------------------------------------- geometry


def test_measurement_geometry_matches_pymap3d() -> None:
    detector = make_detector(sigma_range_m=1e-9, sigma_azimuth_rad=1e-12,
                             sigma_elevation_rad=1e-12, sigma_range_rate_mps=1e-9)
    rng = np.random.default_rng(5)
    enu = np.column_stack([rng.uniform(-150e3, 150e3, 300), rng.uniform(-150e3, 150e3, 300),
                           rng.uniform(3e3, 30e3, 300)])
    pos = enu_points(detector, enu)
    det = scan(detector, pos)
    assert len(det) == 300  # all high and close: Pd ~ 1, clear line of sight
    order = np.argsort(det.truth_index)
    az, el, rng_m = pymap3d.ecef2aer(pos[:, 0], pos[:, 1], pos[:, 2], LAT0, LON0, ALT0 + 10.0)
    az, el = np.radians(az), np.radians(el)
    np.testing.assert_allclose(det.range_m[order], rng_m, atol=1e-3)
    np.testing.assert_allclose(wrap_pi(det.azimuth_rad[order] - az), 0.0, atol=1e-9)
    np.testing.assert_allclose(det.elevation_rad[order], el, atol=1e-9)
    assert np.all((det.azimuth_rad >= 0) & (det.azimuth_rad < 2 * np.pi))
    np.testing.assert_array_equal(det.sensor_id, 7)
    np.testing.assert_array_equal(det.time_s, 12.5)


def test_azimuth_convention() -> None:
    detector = make_detector(sigma_azimuth_rad=1e-9)
    enu = np.array([[20e3, 0.0, 2e3], [0.0, 20e3, 2e3], [-20e3, 0.0, 2e3], [0.0, -20e3, 2e3]])
    det = scan(detector, enu_points(detector, enu))
    az = det.azimuth_rad[np.argsort(det.truth_index)]
    np.testing.assert_allclose(wrap_pi(az - np.array([np.pi / 2, 0.0, 1.5 * np.pi, np.pi])),
                               0.0, atol=1e-6)
    assert az[0] == pytest.approx(np.pi / 2, abs=1e-6)  # due east -> pi/2


def test_range_rate_matches_finite_difference() -> None:
    detector = make_detector(sigma_range_rate_mps=1e-9, sigma_range_m=1e-9)
    rng = np.random.default_rng(9)
    enu = np.column_stack([rng.uniform(-80e3, 80e3, 50), rng.uniform(-80e3, 80e3, 50),
                           rng.uniform(2e3, 20e3, 50)])
    pos = enu_points(detector, enu)
    vel = rng.normal(0.0, 300.0, (50, 3))
    det = scan(detector, pos, vel)
    order = np.argsort(det.truth_index)
    dt = 1e-3
    origin = detector.site.origin_ecef
    finite = (np.linalg.norm(pos + dt * vel - origin, axis=1)
              - np.linalg.norm(pos - dt * vel - origin, axis=1)) / (2 * dt)
    np.testing.assert_allclose(det.range_rate_mps[order], finite, atol=1e-4)
    # Moving straight away from the antenna at 100 m/s reads +100 m/s.
    radial = (pos[0] - origin) / np.linalg.norm(pos[0] - origin)
    away = scan(detector, pos[:1], 100.0 * radial[None])
    assert away.range_rate_mps[0] == pytest.approx(100.0, abs=1e-6)


# --------------------------------------------------------------------------- horizon


def test_horizon_formula() -> None:
    for hr, ht in [(10.0, 50.0), (10.0, 5000.0), (30.0, 10.0), (5.0, 20000.0)]:
        d_km = 4.12 * (np.sqrt(hr) + np.sqrt(ht))
        assert float(geo.radar_horizon_range_m(hr, ht)) / 1e3 == pytest.approx(d_km, rel=5e-3)


@pytest.mark.parametrize("target_alt_m", [50.0, 5000.0])
def test_detection_stops_at_radar_horizon(target_alt_m: float) -> None:
    # Huge power and instrumented range, wide elevation limits: only the horizon matters.
    detector = make_detector(alt_m=0.0, peak_power_w=1e9, max_range_m=2000e3,
                             min_elevation_rad=-0.3)
    horizon_m = float(geo.radar_horizon_range_m(10.0, target_alt_m))
    bearings = np.arange(0.0, 360.0, 30.0)
    points = []
    for factor in (0.97, 1.03):
        for bearing in bearings:
            d = Geodesic.WGS84.Direct(LAT0, LON0, bearing, factor * horizon_m)
            points.append(geo.geodetic2ecef(d["lat2"], d["lon2"], target_alt_m))
    pos = np.array(points)
    inside = np.arange(pos.shape[0]) < bearings.size
    for seed in range(3):
        det = scan(detector, pos, seed=seed)
        seen = np.zeros(pos.shape[0], bool)
        seen[det.truth_index[det.truth_index >= 0]] = True
        np.testing.assert_array_equal(seen, inside)


# --------------------------------------------------------------------------- noise


def test_measurement_noise_statistics() -> None:
    detector = make_detector()
    radar = detector.site.radar
    rng = np.random.default_rng(21)
    n = 4000
    enu = geo.aer2enu(rng.uniform(10e3, 150e3, n), rng.uniform(0, 2 * np.pi, n),
                      rng.uniform(0.05, 1.0, n))
    pos = enu_points(detector, enu)
    vel = rng.normal(0.0, 200.0, (n, 3))
    det = scan(detector, pos, vel, rcs=10.0, seed=4)
    assert len(det) == n
    truth = detector.polar(pos, vel)
    i = det.truth_index
    errors = {
        "range": (det.range_m - truth.range_m[i], radar.sigma_range_m),
        "azimuth": (wrap_pi(det.azimuth_rad - truth.azimuth_rad[i]), radar.sigma_azimuth_rad),
        "elevation": (det.elevation_rad - truth.elevation_rad[i], radar.sigma_elevation_rad),
        "range_rate": (det.range_rate_mps - truth.range_rate_mps[i],
                       radar.sigma_range_rate_mps),
    }
    low, high = stats.chi2.ppf([0.0005, 0.9995], n - 1)
    for name, (error, sigma) in errors.items():
        statistic = np.var(error, ddof=1) * (n - 1) / sigma**2
        assert low < statistic < high, name
        assert abs(np.mean(error)) < 4.0 * sigma / np.sqrt(n), name
        assert stats.kstest(error / sigma, "norm").pvalue > 1e-4, name


# --------------------------------------------------------------------------- coverage


def _looped_coverage(detector: RadarDetector, pos: np.ndarray, alive: np.ndarray) -> np.ndarray:
    """Per-target reference with pymap3d angles and scalar logic."""
    site, radar = detector.site, detector.site.radar
    out = np.zeros(pos.shape[0], bool)
    for k in range(pos.shape[0]):
        az_deg, el_deg, r = pymap3d.ecef2aer(*pos[k], site.lat_deg, site.lon_deg,
                                             site.antenna_alt_m)
        az, el = np.radians(az_deg), np.radians(el_deg)
        off = (az - site.heading_rad + np.pi) % (2 * np.pi) - np.pi
        half = radar.sector_half_width_rad
        out[k] = bool(alive[k] and detector.min_range_m <= r <= radar.max_range_m
                      and radar.min_elevation_rad <= el <= radar.max_elevation_rad
                      and (half is None or abs(off) <= half))
    return out


@pytest.mark.parametrize("heading_deg", [0.0, 100.0, 350.0])
def test_sector_elevation_and_alive_limits(heading_deg: float) -> None:
    detector = make_detector(heading_rad=np.radians(heading_deg), sector_half_width_rad=0.8,
                             min_elevation_rad=0.05, max_elevation_rad=0.6, max_range_m=120e3)
    rng = np.random.default_rng(int(heading_deg))
    n = 600
    enu = np.column_stack([rng.uniform(-150e3, 150e3, n), rng.uniform(-150e3, 150e3, n),
                           rng.uniform(1e3, 60e3, n)])
    pos = enu_points(detector, enu)
    alive = rng.random(n) < 0.8
    det = scan(detector, pos, rcs=1e3, alive=alive)  # Pd ~ 1 everywhere in range
    seen = np.zeros(n, bool)
    seen[det.truth_index] = True
    expected = _looped_coverage(detector, pos, alive)
    assert expected.sum() > 20 and (~expected).sum() > 20
    np.testing.assert_array_equal(seen, expected)
    assert np.all(alive[det.truth_index])
    np.testing.assert_array_equal(detector.visible(pos)[alive], expected[alive])


def test_dead_targets_never_detected() -> None:
    detector = make_detector()
    enu = np.array([[10e3, 10e3, 3e3]] * 50)
    pos = enu_points(detector, enu)
    for seed in range(5):
        det = scan(detector, pos, rcs=100.0, alive=np.zeros(50, bool), seed=seed)
        assert len(det) == 0
    assert len(scan(detector, pos[:0])) == 0  # no targets at all


# --------------------------------------------------------------------------- detection rate


@pytest.mark.parametrize("case", [0, 1, 3])
def test_detection_rate_at_half_pd_range(case: int) -> None:
    detector = make_detector()
    radar = detector.site.radar
    rcs = 0.05
    r50 = float(detection_range_m(radar, rcs, 0.5, case))
    assert 5e3 < r50 < radar.max_range_m
    n = 4000
    bearing = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
    elevation = 0.05  # well above the horizon at this range
    enu = r50 * np.column_stack([np.cos(elevation) * np.sin(bearing),
                                 np.cos(elevation) * np.cos(bearing),
                                 np.full(n, np.sin(elevation))])
    pos = enu_points(detector, enu)
    np.testing.assert_allclose(detector.detection_probability(pos, np.full(n, rcs),
                                                              np.full(n, case)), 0.5, atol=1e-6)
    det = scan(detector, pos, rcs=rcs, swerling=case, seed=case)
    fraction = np.sum(det.truth_index >= 0) / n
    assert abs(fraction - 0.5) < 5 * np.sqrt(0.25 / n)
    np.testing.assert_allclose(det.snr_db, det.snr_db[0], atol=1e-6)


# --------------------------------------------------------------------------- false alarms


def test_false_alarms_poisson_and_inside_coverage() -> None:
    detector = make_detector(heading_rad=np.radians(300.0), sector_half_width_rad=0.5,
                             false_alarms_per_scan=3.0, min_elevation_rad=-0.01,
                             max_elevation_rad=0.7)
    radar = detector.site.radar
    no_targets = np.zeros((0, 3))
    scans = [scan(detector, no_targets, seed=s) for s in range(3000)]
    counts = np.array([len(d) for d in scans])
    assert abs(counts.mean() - 3.0) < 5 * np.sqrt(3.0 / counts.size)
    assert abs(counts.var(ddof=1) / counts.mean() - 1.0) < 0.15  # Poisson dispersion
    observed = np.bincount(counts, minlength=12)[:12]
    expected = stats.poisson.pmf(np.arange(12), 3.0) * counts.size
    assert stats.chisquare(observed[:9], expected[:9] * observed[:9].sum() / expected[:9].sum()
                           ).pvalue > 1e-4
    fa = Detections.concat(scans)
    assert np.all(fa.truth_index == -1)
    assert np.all((fa.range_m >= detector.min_range_m) & (fa.range_m <= radar.max_range_m))
    assert np.all(np.abs(wrap_pi(fa.azimuth_rad - detector.site.heading_rad)) <= 0.5 + 1e-12)
    assert np.all((fa.elevation_rad >= -0.01) & (fa.elevation_rad <= 0.7))
    assert np.all(np.abs(fa.range_rate_mps) <= detector.false_alarm_max_range_rate_mps)
    assert np.all(np.isfinite(fa.snr_db))
    uniform = stats.uniform(detector.min_range_m, radar.max_range_m - detector.min_range_m)
    assert stats.kstest(fa.range_m, uniform.cdf).pvalue > 1e-4


def test_same_rng_same_detections_and_no_input_mutation() -> None:
    detector = make_detector(false_alarms_per_scan=5.0)
    rng = np.random.default_rng(2)
    n = 300
    enu = np.column_stack([rng.uniform(-250e3, 250e3, n), rng.uniform(-250e3, 250e3, n),
                           rng.uniform(0.0, 20e3, n)])
    pos = enu_points(detector, enu)
    vel = rng.normal(0, 200, (n, 3))
    rcs = np.full(n, 0.1)
    swerling = rng.integers(0, 5, n)
    alive = rng.random(n) < 0.9
    copies = [a.copy() for a in (pos, vel, rcs, swerling, alive)]
    runs = [detector.detect(pos, vel, rcs, swerling, alive, 3.0, np.random.default_rng(s))
            for s in (42, 42, 43)]
    for field in dataclasses.fields(Detections):
        np.testing.assert_array_equal(getattr(runs[0], field.name), getattr(runs[1], field.name))
    assert not (len(runs[0]) == len(runs[2])
                and np.array_equal(runs[0].range_m, runs[2].range_m))
    for before, after in zip(copies, (pos, vel, rcs, swerling, alive), strict=True):
        np.testing.assert_array_equal(before, after)
    # Target plots and false alarms are interleaved (order carries no truth).
    flags = runs[0].truth_index < 0
    assert 0 < flags.sum() < len(flags)


def test_truth_index_points_at_the_right_target() -> None:
    detector = make_detector(false_alarms_per_scan=2.0)
    rng = np.random.default_rng(8)
    n = 500
    enu = np.column_stack([rng.uniform(-200e3, 200e3, n), rng.uniform(-200e3, 200e3, n),
                           rng.uniform(1e3, 30e3, n)])
    pos = enu_points(detector, enu)
    det = scan(detector, pos, rcs=5.0, swerling=1, seed=3)
    real = det.select(det.truth_index >= 0)
    assert len(real) > 100
    measured = geo.aer2enu(real.range_m, real.azimuth_rad, real.elevation_rad)
    truth = geo.ecef2enu(pos[real.truth_index], detector.site.origin_ecef,
                         detector.site.rotation)
    miss = np.linalg.norm(measured - truth, axis=1)
    # 6 sigma of the cross-range error at the measured range plus the range error.
    radar = detector.site.radar
    bound = 6 * (radar.sigma_range_m + real.range_m * max(radar.sigma_azimuth_rad,
                                                          radar.sigma_elevation_rad))
    assert np.all(miss < bound)
    # The nearest target to every plot is the one it claims (targets are km apart).
    all_enu = geo.ecef2enu(pos, detector.site.origin_ecef, detector.site.rotation)
    nearest = np.argmin(np.linalg.norm(measured[:, None, :] - all_enu[None], axis=2), axis=1)
    assert np.mean(nearest == real.truth_index) > 0.95


@pytest.mark.parametrize("half_width", [None, 0.9])
def test_compiled_coverage_matches_array_functions(half_width: float | None) -> None:
    # The one-pass kernel of `detect`/`visible` against the documented array functions.
    detector = make_detector(heading_rad=1.0, sector_half_width_rad=half_width,
                             min_elevation_rad=-0.02, max_range_m=400e3)
    rng = np.random.default_rng(5)
    n = 3000
    enu = np.column_stack([rng.uniform(-450e3, 450e3, n), rng.uniform(-450e3, 450e3, n),
                           rng.uniform(-5e3, 30e3, n)])
    pos = enu_points(detector, enu)
    alive = rng.random(n) < 0.9
    site, radar = detector.site, detector.site.radar
    polar = ecef2polar(pos, np.zeros_like(pos), site.origin_ecef, site.rotation)
    limits = coverage_mask(polar.range_m, polar.azimuth_rad, polar.elevation_rad,
                           detector.min_range_m, radar.max_range_m, radar.min_elevation_rad,
                           radar.max_elevation_rad, site.heading_rad, half_width)
    expected = alive & limits & geo.line_of_sight_clear(site.origin_ecef, pos)
    rng_m, az, el, covered = detector._covered(pos, alive)
    assert expected.sum() > 100 and (limits & ~expected).sum() > 50  # horizon bites
    np.testing.assert_array_equal(covered, expected)
    np.testing.assert_allclose(rng_m, polar.range_m, rtol=1e-12)
    np.testing.assert_allclose(az, polar.azimuth_rad, atol=1e-12)
    np.testing.assert_allclose(el, polar.elevation_rad, atol=1e-12)
