"""Raid generation and truth trajectories: reproducibility, dispersion and reliability
statistics, the flight profiles over a curved earth (pymap3d altitudes, geographiclib
distances), continuity and the in-flight invariants."""

from __future__ import annotations

import time

import numpy as np
import pytest
from geographiclib.geodesic import Geodesic
from hypothesis import given, settings
from hypothesis import strategies as st

from shieldwall import geo
from shieldwall.catalog.types import ThreatType
from shieldwall.core.types import ThreatClass
from shieldwall.threats import ThreatPlan, TrajectoryModel, WaveSpec, fly, generate_raid
from shieldwall.threats.raid import destination_lat_lon


def _type(**kw: object) -> ThreatType:
    base: dict[str, object] = dict(label="notional", rcs_m2=0.1, warhead_kg=400.0,
                                   lethal_radius_m=50.0, cep_m=10.0, reliability=1.0,
                                   unit_cost_usd=1e6)
    base.update(kw)
    return ThreatType(**base)  # type: ignore[arg-type]


TYPES = {
    "srbm": _type(name="srbm", threat_class=ThreatClass.BALLISTIC, profile="quasi_ballistic",
                  max_range_m=500e3, speed_mps=2100.0, apogee_alt_m=50e3,
                  terminal_maneuver_g=20.0, terminal_maneuver_alt_m=20e3,
                  ballistic_coefficient_kg_m2=8000.0, reliability=0.9),
    "albm": _type(name="albm", threat_class=ThreatClass.AEROBALLISTIC, profile="aeroballistic",
                  max_range_m=1000e3, speed_mps=3000.0, launch_alt_m=12e3,
                  launch_speed_mps=550.0, apogee_alt_m=80e3, ballistic_coefficient_kg_m2=1.2e4),
    "alcm": _type(name="alcm", threat_class=ThreatClass.CRUISE, profile="cruise",
                  max_range_m=2500e3, speed_mps=200.0, cruise_alt_m=60.0, launch_alt_m=9000.0),
    "slcm": _type(name="slcm", threat_class=ThreatClass.CRUISE, profile="cruise",
                  max_range_m=1500e3, speed_mps=250.0, cruise_alt_m=50.0),
    "asm": _type(name="asm", threat_class=ThreatClass.CRUISE, profile="dive_cruise",
                 max_range_m=600e3, speed_mps=1000.0, cruise_alt_m=22e3, launch_alt_m=10e3,
                 dive_range_m=40e3),
    "owa": _type(name="owa", threat_class=ThreatClass.DRONE, profile="drone",
                 max_range_m=2000e3, speed_mps=50.0, cruise_alt_m=1500.0, rcs_m2=0.5,
                 cep_m=15.0, reliability=0.8),
    "decoy": _type(name="decoy", threat_class=ThreatClass.DECOY, profile="drone",
                   max_range_m=600e3, speed_mps=45.0, cruise_alt_m=1000.0, warhead_kg=0.0,
                   lethal_radius_m=0.0, reliability=0.85),
}
ASSETS = geo.geodetic2ecef(np.array([50.45, 50.40, 50.50]), np.array([30.52, 30.60, 30.40]),
                           np.array([0.0, 0.0, 0.0]))
GEOD = Geodesic.WGS84


def _waves() -> list[WaveSpec]:
    return [
        WaveSpec("srbm", 6, 50.3, 34.5, 20e3, -100.0, 300.0, (0, 1, 2)),
        WaveSpec("albm", 3, 52.0, 37.0, 50e3, 0.0, 200.0, (0,)),
        WaveSpec("alcm", 5, 53.0, 36.0, 50e3, -1000.0, 600.0, (1, 2),
                 route_lat_lon=((52.0, 33.0), (51.0, 31.5))),
        WaveSpec("asm", 3, 50.0, 35.0, 20e3, 0.0, 200.0, (0,)),
        WaveSpec("owa", 12, 48.5, 33.0, 30e3, -3000.0, 1000.0, (0, 1, 2),
                 route_lat_lon=((49.5, 32.0),)),
        WaveSpec("decoy", 6, 48.5, 33.0, 30e3, 0.0, 1000.0, (),
                 aim_points_lat_lon=((50.3, 30.3),)),
    ]


def _single(type_name: str, launch_lat_lon: tuple[float, float], aim_lat_lon: tuple[float, float],
            route: tuple[tuple[float, float], ...] = (), launch_time: float = 0.0,
            fails_at: float = np.nan, seed: int = 0) -> ThreatPlan:
    t = TYPES[type_name]
    launch = geo.geodetic2ecef(*launch_lat_lon, t.launch_alt_m).reshape(1, 3)
    aim = geo.geodetic2ecef(*aim_lat_lon, 0.0).reshape(1, 3)
    wps = (geo.geodetic2ecef(np.array([r[0] for r in route]), np.array([r[1] for r in route]),
                             np.full(len(route), t.cruise_alt_m)).reshape(-1, 3))
    return ThreatPlan(
        threat_id=np.array([0]), type_name=[type_name], threat_class=[t.threat_class],
        launch_time_s=np.array([launch_time]), launch_ecef=launch, aim_ecef=aim,
        aim_asset=np.array([-1]), waypoints_ecef=[wps], fails_at_fraction=np.array([fails_at]),
        maneuver_seed=np.array([seed]), wave=np.array([0]))


# ---------------------------------------------------------------------------------------------
# generate_raid


def test_same_rng_same_plan_bit_identical() -> None:
    a = generate_raid(_waves(), TYPES, ASSETS, np.random.default_rng(7))
    b = generate_raid(_waves(), TYPES, ASSETS, np.random.default_rng(7))
    c = generate_raid(_waves(), TYPES, ASSETS, np.random.default_rng(8))
    for name in ("threat_id", "launch_time_s", "launch_ecef", "aim_ecef", "aim_asset",
                 "fails_at_fraction", "maneuver_seed", "wave"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert a.type_name == b.type_name and a.threat_class == b.threat_class
    assert all(np.array_equal(x, y) for x, y in zip(a.waypoints_ecef, b.waypoints_ecef,
                                                    strict=True))
    assert not np.array_equal(a.launch_time_s, c.launch_time_s)
    np.testing.assert_array_equal(a.threat_id, np.arange(len(a)))


def test_launch_window_disc_and_round_robin() -> None:
    waves = [WaveSpec("owa", 400, 48.5, 33.0, 30e3, -500.0, 250.0, (2, 0),
                      route_lat_lon=((49.5, 32.0),)),
             WaveSpec("alcm", 50, 53.0, 36.0, 10e3, 10.0, 20.0, (1,))]
    plan = generate_raid(waves, TYPES, ASSETS, np.random.default_rng(3))
    w0 = plan.wave == 0
    t = plan.launch_time_s
    assert np.all((t[w0] >= -500.0) & (t[w0] <= 250.0)) and np.ptp(t[w0]) > 600.0
    assert np.all((t[~w0] >= 10.0) & (t[~w0] <= 20.0))
    lat, lon, alt = geo.ecef2geodetic(plan.launch_ecef)
    dist = np.array([GEOD.Inverse(48.5, 33.0, la, lo)["s12"] for la, lo in
                     zip(lat[w0], lon[w0], strict=True)])
    assert dist.max() <= 30e3 * 1.005 and dist.max() > 27e3
    # Uniform in the disc: half the points inside radius R / sqrt(2).
    assert np.mean(dist < 30e3 / np.sqrt(2)) == pytest.approx(0.5, abs=0.08)
    assert np.allclose(alt[w0], 0.0, atol=1e-6) and np.allclose(alt[~w0], 9000.0, atol=1e-6)
    np.testing.assert_array_equal(plan.aim_asset[w0][:4], [2, 0, 2, 0])
    np.testing.assert_array_equal(plan.aim_asset[~w0], 1)
    wp_alt = geo.altitude_m(plan.waypoints_ecef[0])
    assert np.allclose(wp_alt, 1500.0, atol=1e-6)


def test_dispersion_median_miss_is_the_cep() -> None:
    waves = [WaveSpec("owa", 4000, 48.5, 33.0, 0.0, 0.0, 0.0, (0,), aim_dispersion_m=25.0)]
    plan = generate_raid(waves, TYPES, ASSETS, np.random.default_rng(11))
    lat0, lon0, _ = geo.ecef2geodetic(ASSETS[0])
    lat, lon, alt = geo.ecef2geodetic(plan.aim_ecef)
    miss = np.array([GEOD.Inverse(float(lat0), float(lon0), la, lo)["s12"]
                     for la, lo in zip(lat, lon, strict=True)])
    cep = 15.0 + 25.0
    assert np.median(miss) == pytest.approx(cep, rel=0.05)
    # Rayleigh: 93.75 % inside 2 CEP (P = 1 - 2^-(r/CEP)^2).
    assert np.mean(miss < 2 * cep) == pytest.approx(1 - 2.0**-4, abs=0.015)
    assert np.allclose(alt, 0.0, atol=1e-6)


def test_reliability_rate() -> None:
    waves = [WaveSpec("owa", 5000, 48.5, 33.0, 0.0, 0.0, 0.0, (0,))]
    plan = generate_raid(waves, TYPES, ASSETS, np.random.default_rng(5))
    fails = np.isfinite(plan.fails_at_fraction)
    p = 1 - TYPES["owa"].reliability
    assert abs(fails.mean() - p) < 4 * np.sqrt(p * (1 - p) / 5000)
    f = plan.fails_at_fraction[fails]
    assert f.min() > 0.05 and f.max() < 0.95


def test_bad_wave_is_an_input_error() -> None:
    from shieldwall.core.errors import InputError

    with pytest.raises(InputError, match="unknown threat type"):
        generate_raid([WaveSpec("nope", 1, 0.0, 0.0, aim_assets=(0,))], TYPES, ASSETS,
                      np.random.default_rng(0))
    with pytest.raises(InputError, match="out of range"):
        generate_raid([WaveSpec("owa", 1, 0.0, 0.0, aim_assets=(9,))], TYPES, ASSETS,
                      np.random.default_rng(0))


# ---------------------------------------------------------------------------------------------
# fly: profiles


def test_cruise_follows_the_curved_earth_through_its_waypoints() -> None:
    # Launch, two waypoints about 300 km apart on the same meridian, then the aim.
    route = ((48.0, 33.0), (50.7, 33.0))
    plan = _single("slcm", (47.5, 33.5), (50.9, 31.0), route)
    grid = np.arange(0.0, 3000.0, 0.5)
    tr = fly(plan, TYPES, grid)
    assert tr.reaches_aim[0]
    fl = tr.in_flight[:, 0]
    p, v = tr.pos_ecef[fl, 0], tr.vel_ecef[fl, 0]
    lat, lon, alt = geo.ecef2geodetic(p)
    # On the 300 km leg (well clear of the climb, turns and dive) the height is 50 m.
    leg = (lat > 48.1) & (lat < 50.6)
    assert leg.sum() > 1000
    assert np.max(np.abs(alt[leg] - 50.0)) < 1.0
    # A straight chord between the leg's ends would sag ~1.77 km below the path.
    ends = geo.geodetic2ecef(np.array([48.0, 50.7]), np.array([33.0, 33.0]), 50.0)
    chord_mid_alt = geo.altitude_m(0.5 * (ends[0] + ends[1]))
    assert chord_mid_alt < 50.0 - 1500.0
    # Speed: |v| and finite differences of the positions.
    assert np.allclose(np.linalg.norm(v, axis=1), 250.0, rtol=1e-9)
    fd = np.linalg.norm(np.diff(p, axis=0), axis=1) / 0.5
    assert np.allclose(fd, 250.0, rtol=5e-3)
    # Passes within 1 m of each waypoint (fine grid around the closest coarse sample).
    for wp in plan.waypoints_ecef[0]:
        k = np.argmin(np.linalg.norm(tr.pos_ecef[:, 0] - wp, axis=1))
        fine = np.arange(grid[k] - 1.0, grid[k] + 1.0, 1e-3)
        pf = fly(plan, TYPES, fine).pos_ecef[:, 0]
        assert np.min(np.linalg.norm(pf - wp, axis=1)) < 1.0
    # Ends at the aim; the last sample is one step away from it.
    assert np.linalg.norm(tr.end_ecef[0] - plan.aim_ecef[0]) < 1e-3
    assert np.linalg.norm(p[-1] - plan.aim_ecef[0]) <= 250.0 * 0.5 + 1e-6
    # Total time = 3-D path length / speed, path length >= the geodesic distance.
    gd = GEOD.Inverse(47.5, 33.5, 48.0, 33.0)["s12"] + GEOD.Inverse(48.0, 33.0, 50.7, 33.0)[
        "s12"] + GEOD.Inverse(50.7, 33.0, 50.9, 31.0)["s12"]
    assert tr.end_time_s[0] * 250.0 == pytest.approx(gd, rel=0.01)
    # The terminal dive pops up, then hits steeply.
    last = alt[-40:]
    assert last.max() > 200.0
    v_up = np.sum(v[-1] * p[-1], axis=0) / np.linalg.norm(p[-1])
    assert v_up < -0.5 * 250.0


def test_air_launched_cruise_descends_to_cruise_height() -> None:
    plan = _single("alcm", (53.0, 36.0), (50.4, 30.6))
    tr = fly(plan, TYPES, np.arange(0.0, 4000.0, 1.0))
    alt = geo.altitude_m(tr.pos_ecef[tr.in_flight[:, 0], 0])
    assert alt[0] == pytest.approx(9000.0, abs=1.0)
    assert np.all(np.diff(alt[:600]) <= 1e-6)  # monotone descent first
    assert np.median(alt) == pytest.approx(60.0, abs=1.0)


def test_kh22_class_dive() -> None:
    plan = _single("asm", (50.0, 35.0), (50.45, 30.52))
    tr = fly(plan, TYPES, np.arange(0.0, 700.0, 0.5))
    fl = tr.in_flight[:, 0]
    p, v = tr.pos_ecef[fl, 0], tr.vel_ecef[fl, 0]
    lat, lon, alt = geo.ecef2geodetic(p)
    assert alt[0] == pytest.approx(10e3, abs=1.0)
    togo = np.array([GEOD.Inverse(la, lo, 50.45, 30.52)["s12"] for la, lo in
                     zip(lat, lon, strict=True)])
    reached = np.arange(len(alt)) >= np.argmax(alt > 22e3 - 1.0)  # climb over
    cruise = (togo > 45e3) & reached
    assert cruise.sum() > 100 and np.max(np.abs(alt[cruise] - 22e3)) < 1.0
    # The dive starts ~dive_range_m before the target and ends on it.
    diving = alt < 22e3 - 1.0
    start = togo[diving & (togo < 100e3)].max()
    assert 38.5e3 < start <= 40.1e3
    assert np.allclose(np.linalg.norm(v, axis=1), 1000.0)
    assert np.linalg.norm(tr.end_ecef[0] - plan.aim_ecef[0]) < 1e-3 and tr.reaches_aim[0]


def test_kinzhal_class_is_hypersonic_and_hits() -> None:
    plan = _single("albm", (52.0, 37.0), (50.45, 30.52))
    model = TrajectoryModel()
    tr = model.fly(plan, TYPES, np.arange(0.0, 900.0, 0.5))
    fl = tr.in_flight[:, 0]
    alt = geo.altitude_m(tr.pos_ecef[fl, 0])
    speed = np.linalg.norm(tr.vel_ecef[fl, 0], axis=1)
    assert alt[0] == pytest.approx(12e3, abs=1.0) and speed[0] == pytest.approx(550.0, abs=1.0)
    rng_m = GEOD.Inverse(52.0, 37.0, 50.45, 30.52)["s12"]
    want = model.apogee_target_m(TYPES["albm"], np.array(12e3), np.array(rng_m))
    assert alt.max() == pytest.approx(float(want), rel=0.02)
    mach5 = 5 * 295.0  # speed of sound in the stratosphere
    k_apo = np.argmax(alt)
    k_20km = k_apo + np.argmax(alt[k_apo:] < 20e3)  # descending through 20 km
    assert speed[k_apo] > mach5 and speed[k_20km] > mach5
    assert speed[-1] > 2.5 * 340.0  # still supersonic at impact despite the dense air
    assert np.linalg.norm(tr.end_ecef[0] - plan.aim_ecef[0]) < 1.0 and tr.reaches_aim[0]


def test_quasi_ballistic_lands_on_aim_with_maneuver() -> None:
    plan = _single("srbm", (50.3, 34.5), (50.45, 30.52), seed=12345)
    tr = fly(plan, TYPES, np.arange(0.0, 600.0, 0.5))
    assert tr.reaches_aim[0]
    assert np.linalg.norm(tr.end_ecef[0] - plan.aim_ecef[0]) < 5.0
    alt = geo.altitude_m(tr.pos_ecef[tr.in_flight[:, 0], 0])
    rng_m = GEOD.Inverse(50.3, 34.5, 50.45, 30.52)["s12"]
    want = TrajectoryModel().apogee_target_m(TYPES["srbm"], np.array(0.0), np.array(rng_m))
    assert alt.max() == pytest.approx(float(want), rel=0.02)


def test_failure_crashes_short_and_continuously() -> None:
    for name, route in (("srbm", ()), ("owa", ((49.5, 32.0),)), ("asm", ())):
        launch = {"srbm": (50.3, 34.5), "owa": (48.5, 33.0), "asm": (50.0, 35.0)}[name]
        ok = _single(name, launch, (50.45, 30.52), route)
        bad = _single(name, launch, (50.45, 30.52), route, fails_at=0.5)
        grid = np.arange(0.0, 9000.0, 0.5)
        t_ok, t_bad = fly(ok, TYPES, grid), fly(bad, TYPES, grid)
        assert not t_bad.reaches_aim[0] and t_ok.reaches_aim[0]
        if name != "srbm":  # a tumbling ballistic missile may fall for longer than it flew
            assert t_bad.end_time_s[0] < t_ok.end_time_s[0]
        assert geo.altitude_m(t_bad.end_ecef[0]) == pytest.approx(0.0, abs=1.0)
        assert np.linalg.norm(t_bad.end_ecef[0] - bad.aim_ecef[0]) > 1e3
        fl = t_bad.in_flight[:, 0]
        p = t_bad.pos_ecef[fl, 0]
        step = np.linalg.norm(np.diff(p, axis=0), axis=1)
        vmax = np.linalg.norm(t_bad.vel_ecef[fl, 0], axis=1).max()
        assert step.max() <= vmax * 0.5 * 1.02
        # Identical to the reliable flight until the failure.
        t_fail = 0.5 * t_ok.end_time_s[0]
        before = grid < t_fail - 1.0
        np.testing.assert_allclose(t_bad.pos_ecef[before, 0], t_ok.pos_ecef[before, 0],
                                   atol=1e-6)


# ---------------------------------------------------------------------------------------------
# fly: engine contract


@pytest.fixture(scope="module")
def raid() -> tuple[ThreatPlan, np.ndarray, object]:
    plan = generate_raid(_waves(), TYPES, ASSETS, np.random.default_rng(2))
    grid = np.arange(0.0, 2400.0, 0.5)
    return plan, grid, fly(plan, TYPES, grid)


def test_contract_shapes_and_outside_flight_values(raid: tuple) -> None:
    plan, grid, tr = raid
    n, n_t = len(plan), grid.size
    assert tr.pos_ecef.shape == (n_t, n, 3) and tr.vel_ecef.shape == (n_t, n, 3)
    assert tr.in_flight.shape == (n_t, n) and tr.pos_ecef.dtype == np.float64
    assert np.isfinite(tr.pos_ecef).all() and np.isfinite(tr.vel_ecef).all()
    before = grid[:, None] < plan.launch_time_s[None]
    after = grid[:, None] >= tr.end_time_s[None]
    np.testing.assert_array_equal(tr.in_flight, ~before & ~after)
    idx = np.nonzero(before)
    np.testing.assert_array_equal(tr.pos_ecef[idx], plan.launch_ecef[idx[1]])
    idx = np.nonzero(after)
    np.testing.assert_array_equal(tr.pos_ecef[idx], tr.end_ecef[idx[1]])
    assert np.all(tr.vel_ecef[~tr.in_flight] == 0.0)
    np.testing.assert_array_equal(tr.rcs_m2, [TYPES[t].rcs_m2 for t in plan.type_name])
    ok = tr.reaches_aim
    assert np.all(np.linalg.norm(tr.end_ecef[ok] - plan.aim_ecef[ok], axis=1) < 5.0)
    assert np.all(np.isfinite(plan.fails_at_fraction) == ~ok)


def test_velocity_is_the_derivative_of_position(raid: tuple) -> None:
    plan, grid, tr = raid
    both = tr.in_flight[1:] & tr.in_flight[:-1]
    fd = np.diff(tr.pos_ecef, axis=0) / 0.5
    mean_v = 0.5 * (tr.vel_ecef[1:] + tr.vel_ecef[:-1])
    speed = np.linalg.norm(mean_v, axis=2)
    err = np.linalg.norm(fd - mean_v, axis=2) / np.maximum(speed, 1.0)
    assert np.max(err[both]) < 0.015
    assert np.median(err[both]) < 1e-3


def test_already_in_flight_at_grid_start(raid: tuple) -> None:
    plan, grid, tr = raid
    early = np.arange(-3000.0, 300.0, 0.5)
    tr2 = fly(plan, TYPES, early)
    common = np.isin(early, grid)
    k = np.nonzero(np.isin(grid, early))[0]
    np.testing.assert_allclose(tr2.pos_ecef[common], tr.pos_ecef[k], rtol=0, atol=1e-6)
    np.testing.assert_array_equal(tr2.in_flight[common], tr.in_flight[k])
    assert tr.in_flight[0].sum() > 0 and np.any(plan.launch_time_s < 0)


def test_subset_flies_like_the_whole_raid(raid: tuple) -> None:
    plan, grid, tr = raid
    pick = np.array([0, 7, 12, 20, len(plan) - 1])
    sub = fly(plan.subset(pick), TYPES, grid)
    np.testing.assert_allclose(sub.pos_ecef, tr.pos_ecef[:, pick], rtol=0, atol=1e-6)
    np.testing.assert_array_equal(sub.end_time_s, tr.end_time_s[pick])


@settings(max_examples=20, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(sorted(TYPES)), st.integers(0, 3),
                          st.floats(-2000.0, 500.0), st.floats(0.0, 800.0),
                          st.floats(20e3, 400e3), st.floats(0.0, 360.0)),
                min_size=1, max_size=4),
       st.integers(0, 2**31 - 1))
def test_flight_invariants(waves: list, seed: int) -> None:
    specs = []
    for name, count, start, width, dist, bearing in waves:
        lat0, lon0 = destination_lat_lon(50.45, 30.52, np.radians(bearing), dist)
        specs.append(WaveSpec(name, count, float(lat0), float(lon0), 10e3, start,
                              start + width, (0, 1)))
    plan = generate_raid(specs, TYPES, ASSETS, np.random.default_rng(seed))
    grid = np.arange(0.0, 1000.0, 2.0)
    tr = fly(plan, TYPES, grid)
    assert np.all(tr.end_time_s >= plan.launch_time_s)
    # One contiguous block of True per threat (or none).
    edges = np.diff(tr.in_flight.astype(np.int8), axis=0)
    assert np.all(np.sum(edges == 1, axis=0) <= 1) and np.all(np.sum(edges == -1, axis=0) <= 1)
    starts = np.argmax(edges == 1, axis=0)
    stops = np.argmax(edges == -1, axis=0)
    has_both = (edges == 1).any(axis=0) & (edges == -1).any(axis=0)
    assert np.all(starts[has_both] < stops[has_both])
    assert np.isfinite(tr.pos_ecef[tr.in_flight]).all()
    assert np.isfinite(tr.vel_ecef[tr.in_flight]).all()
    alt = geo.altitude_m(tr.pos_ecef[tr.in_flight])
    assert np.all(alt > -5.0)


@pytest.mark.slow
def test_performance_90_threats_5400_steps() -> None:
    plan = generate_raid(_waves() * 3, TYPES, ASSETS, np.random.default_rng(4))
    plan = plan.subset(np.arange(90))
    grid = np.arange(5400) * 0.5
    fly(plan.subset(np.arange(3)), TYPES, grid)  # JIT warm-up
    t0 = time.perf_counter()
    fly(plan, TYPES, grid)
    assert time.perf_counter() - t0 < 3.0  # goal 1.5 s; margin for loaded CI machines
