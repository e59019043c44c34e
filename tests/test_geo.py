"""Geodesy against independent references: pymap3d round trips, geographiclib distances,
the 4/3-earth horizon formula, and the curvature drop d^2 / 2R."""

from __future__ import annotations

import numpy as np
import pymap3d
from geographiclib.geodesic import Geodesic
from hypothesis import given, settings
from hypothesis import strategies as st

from shieldwall import geo


@settings(max_examples=60, deadline=None)
@given(st.floats(-89.0, 89.0), st.floats(-179.9, 179.9), st.floats(-100.0, 100000.0))
def test_geodetic_ecef_round_trip(lat: float, lon: float, alt: float) -> None:
    p = geo.geodetic2ecef(lat, lon, alt)
    la, lo, al = geo.ecef2geodetic(p)
    assert abs(la - lat) < 1e-9 and abs(lo - lon) < 1e-9 and abs(al - alt) < 1e-5


def test_enu_matches_pymap3d() -> None:
    rng = np.random.default_rng(1)
    lat0, lon0, h0 = 45.0, -40.0, 120.0
    origin = geo.geodetic2ecef(lat0, lon0, h0)
    rot = geo.enu_rotation(lat0, lon0)
    lat = lat0 + rng.uniform(-3, 3, 50)
    lon = lon0 + rng.uniform(-3, 3, 50)
    alt = rng.uniform(0, 80000, 50)
    pts = geo.geodetic2ecef(lat, lon, alt)
    enu = geo.ecef2enu(pts, origin, rot)
    e, n, u = pymap3d.geodetic2enu(lat, lon, alt, lat0, lon0, h0)
    np.testing.assert_allclose(enu, np.stack([e, n, u], -1), atol=1e-6)
    np.testing.assert_allclose(geo.enu2ecef(enu, origin, rot), pts, atol=1e-6)
    rng_m, az, el = geo.enu2aer(enu)
    a2, e2, r2 = pymap3d.enu2aer(e, n, u, deg=False)
    np.testing.assert_allclose(rng_m, r2, rtol=1e-12)
    np.testing.assert_allclose(az, np.mod(a2, 2 * np.pi), atol=1e-12)
    np.testing.assert_allclose(el, e2, atol=1e-12)
    np.testing.assert_allclose(geo.aer2enu(rng_m, az, el), enu, atol=1e-6)


def test_azimuth_convention_clockwise_from_north() -> None:
    _, az_east, _ = geo.enu2aer(np.array([1000.0, 0.0, 0.0]))
    _, az_north, _ = geo.enu2aer(np.array([0.0, 1000.0, 0.0]))
    assert np.isclose(az_east, np.pi / 2) and np.isclose(az_north, 0.0)


def test_ground_distance_vs_geographiclib() -> None:
    for lat1, lon1, lat2, lon2 in [(45, -40, 47, -35), (10, 10, 10.5, 10.2), (60, 0, 55, 20)]:
        ref = Geodesic.WGS84.Inverse(lat1, lon1, lat2, lon2)["s12"]
        assert abs(geo.ground_distance_m(lat1, lon1, lat2, lon2) - ref) / ref < 5e-3


def test_radar_horizon_four_thirds_formula() -> None:
    # Skolnik's rule of thumb: d_km = 4.12 (sqrt(h_r) + sqrt(h_t)), heights in metres.
    for hr, ht in [(10.0, 50.0), (30.0, 5000.0), (5.0, 0.0)]:
        d = geo.radar_horizon_range_m(hr, ht) / 1000.0
        assert abs(d - 4.12 * (np.sqrt(hr) + np.sqrt(ht))) / d < 0.01


def test_curvature_drop_is_modelled() -> None:
    # A point 500 km away at zero height lies ~d^2/2R ~ 19.6 km below the local horizontal.
    lat0, lon0 = 45.0, -40.0
    origin = geo.geodetic2ecef(lat0, lon0, 0.0)
    rot = geo.enu_rotation(lat0, lon0)
    lat2, lon2, _ = pymap3d.aer2geodetic(90.0, 0.0, 1.0, lat0, lon0, 0.0)  # direction east
    g = Geodesic.WGS84.Direct(lat0, lon0, 90.0, 500e3)
    far = geo.geodetic2ecef(g["lat2"], g["lon2"], 0.0)
    up = geo.ecef2enu(far, origin, rot)[2]
    assert -21e3 < up < -18.5e3
    assert lat2 is not None


def test_line_of_sight_matches_horizon_range() -> None:
    lat0, lon0 = 45.0, -40.0
    hr, ht = 10.0, 50.0
    sensor = geo.geodetic2ecef(lat0, lon0, hr)
    d_h = float(geo.radar_horizon_range_m(hr, ht))
    dists = np.array([0.9, 0.98, 1.02, 1.1]) * d_h
    pts = []
    for d in dists:
        g = Geodesic.WGS84.Direct(lat0, lon0, 30.0, d)
        pts.append(geo.geodetic2ecef(g["lat2"], g["lon2"], ht))
    clear = geo.line_of_sight_clear(sensor, np.array(pts))
    assert clear.tolist() == [True, True, False, False]


def test_closed_form_geodetic_matches_pymap3d_iterative() -> None:
    rng = np.random.default_rng(3)
    lat = rng.uniform(-89.9, 89.9, 2000)
    lon = rng.uniform(-180, 180, 2000)
    alt = rng.uniform(-500, 2_000_000, 2000)
    x, y, z = pymap3d.geodetic2ecef(lat, lon, alt)
    la, lo, al = geo.ecef2geodetic(np.stack([x, y, z], -1))
    la2, lo2, al2 = pymap3d.ecef2geodetic(x, y, z)
    np.testing.assert_allclose(al, al2, atol=1e-3)
    np.testing.assert_allclose(la, la2, atol=1e-9)
    np.testing.assert_allclose(lo, lo2, atol=1e-9)
