"""Battle management: threat evaluation, engagement feasibility, doctrine-constrained WTA.

References: scipy ``solve_ivp`` for ballistic prediction, Monte Carlo for the hit probability,
brute-force scans of intercept times for the predicted intercept point, hand-computed gains.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp

from shieldwall import geo
from shieldwall.c2 import (
    AssetTable,
    Candidates,
    Doctrine,
    FireUnitTable,
    GreedyAssigner,
    ThreatAssessment,
    ThreatEvaluator,
    TrackPicture,
    ballistic_impact,
    evaluate_threats,
    feasibility,
    feasible_engagements,
    p_hit_circle,
)
from shieldwall.c2.feasibility import TargetMotion, solve_intercept_time
from shieldwall.c2.threat_evaluation import (
    CLASS_INDEX,
    hermite_interpolate,
    predict_ballistic,
    propagate_ballistic,
    rk4_step,
)
from shieldwall.catalog.types import Envelope, Interceptor
from shieldwall.core.types import ThreatClass
from shieldwall.weapons import kinematics

LAT, LON = 48.0, 35.0
ORIGIN = geo.geodetic2ecef(LAT, LON, 0.0)
ROT = geo.enu_rotation(LAT, LON)
BAL, AERO, CRU, DRO = (ThreatClass.BALLISTIC, ThreatClass.AEROBALLISTIC, ThreatClass.CRUISE,
                       ThreatClass.DRONE)


def ecef(e: float, n: float, u: float) -> np.ndarray:
    return geo.enu2ecef(np.array([e, n, u], float), ORIGIN, ROT)


def vel_ecef(ve: float, vn: float, vu: float) -> np.ndarray:
    return np.array([ve, vn, vu], float) @ ROT


def env(rmin: float, rmax: float, hmin: float, hmax: float) -> Envelope:
    return Envelope(min_range_m=rmin, max_range_m=rmax, min_alt_m=hmin, max_alt_m=hmax)


def interceptor(name: str, **kw: object) -> Interceptor:
    base: dict[str, object] = dict(
        name=name, label=name, kill_mechanism="hit_to_kill",
        envelopes={BAL: env(3e3, 40e3, 1e3, 25e3), AERO: env(3e3, 30e3, 1e3, 20e3),
                   CRU: env(3e3, 60e3, 30.0, 20e3), DRO: env(3e3, 60e3, 30.0, 20e3)},
        max_speed_mps=1700.0, burn_time_s=6.0, speed_decay_s=40.0, min_speed_mps=400.0,
        max_time_of_flight_s=90.0, max_accel_g=40.0, navigation_ratio=4.0,
        seeker_range_m=5000.0, lethal_radius_m=1.0, pk_max=0.9, unit_cost_usd=4e6)
    base.update(kw)
    return Interceptor(**base)  # type: ignore[arg-type]


PAC = interceptor("PAC-3 MSE")
NASAMS = interceptor(
    "AIM-120", envelopes={CRU: env(1e3, 30e3, 30.0, 15e3), DRO: env(1e3, 30e3, 30.0, 15e3)},
    max_speed_mps=1200.0, burn_time_s=4.0, speed_decay_s=30.0, min_speed_mps=300.0,
    max_time_of_flight_s=60.0, seeker_range_m=3000.0, pk_max=0.85, unit_cost_usd=1e6)


def picture(pos: list[np.ndarray], vel: list[np.ndarray], ballistic: list[bool],
            sigma: float | list[float] = 30.0, time_s: float = 0.0) -> TrackPicture:
    m = len(pos)
    return TrackPicture(track_id=np.arange(100, 100 + m), pos_ecef=np.array(pos, float),
                        vel_ecef=np.array(vel, float),
                        pos_sigma_m=np.broadcast_to(np.asarray(sigma, float), (m,)).copy(),
                        ballistic=np.array(ballistic, bool), time_s=time_s)


def ground(e: float, n: float) -> np.ndarray:
    """The point on the ellipsoid (height 0) below the local ENU point (e, n)."""
    lat, lon, _ = geo.ecef2geodetic(ecef(e, n, 0.0))
    return geo.geodetic2ecef(lat, lon, 0.0)


def assets(points_en: list[tuple[float, float]], value: float = 100.0,
           radius: float = 1000.0) -> AssetTable:
    a = len(points_en)
    return AssetTable(asset_id=[f"asset{i}" for i in range(a)], kind=["city"] * a,
                      pos_ecef=np.array([ground(e, n) for e, n in points_en]).reshape(-1, 3),
                      value=np.full(a, value), radius_m=np.full(a, radius))


def units(points_en: list[tuple[float, float]], heading: float = 0.0,
          half_width: float = np.inf, radar_range: float = 150e3,
          reaction: float = 5.0) -> FireUnitTable:
    u = len(points_en)
    pos = np.array([ground(e, n) for e, n in points_en])
    rot = []
    for p in pos:
        lat, lon, _ = geo.ecef2geodetic(p)
        rot.append(geo.enu_rotation(float(lat), float(lon)))
    return FireUnitTable(unit_id=[f"bty{i}" for i in range(u)], system=["patriot"] * u,
                         pos_ecef=pos, rotation=np.array(rot), heading_rad=np.full(u, heading),
                         sector_half_width_rad=np.full(u, half_width),
                         radar_range_m=np.full(u, radar_range),
                         reaction_time_s=np.full(u, reaction))


# ----------------------------------------------------------------------------- references
def reference_impact(pos: np.ndarray, vel: np.ndarray) -> tuple[np.ndarray, float]:
    """Independent: scipy RK45 of the rotating-frame point-mass equations, geodetic altitude
    from pymap3d as the stopping event."""
    w = np.array([0.0, 0.0, 7.2921150e-5])
    gm = 3.986004418e14

    def rhs(_t: float, y: np.ndarray) -> np.ndarray:
        r, v = y[:3], y[3:]
        a = -gm * r / np.linalg.norm(r) ** 3 - 2 * np.cross(w, v) - np.cross(w, np.cross(w, r))
        return np.concatenate([v, a])

    def ground(_t: float, y: np.ndarray) -> float:
        return float(geo.altitude_m(y[:3]))

    ground.terminal = True  # type: ignore[attr-defined]
    ground.direction = -1  # type: ignore[attr-defined]
    sol = solve_ivp(rhs, (0.0, 2000.0), np.concatenate([pos, vel]), events=ground,
                    rtol=1e-11, atol=1e-6, method="DOP853", dense_output=True)
    return sol.y_events[0][0][:3], float(sol.t_events[0][0])


# ----------------------------------------------------------------------------- threat evaluation
@pytest.mark.parametrize("state", [
    ((-150e3, 20e3, 60e3), (1500.0, -200.0, -1200.0)),    # descending
    ((-250e3, 0.0, 30e3), (1800.0, 300.0, 900.0)),         # still climbing to apogee
    ((0.0, 0.0, 10e3), (0.0, 0.0, -10.0)),                 # nearly vertical drop
])
def test_ballistic_impact_matches_solve_ivp(state: tuple) -> None:
    (e, n, u), (ve, vn, vu) = state
    p, v = ecef(e, n, u), vel_ecef(ve, vn, vu)
    ref_point, ref_t = reference_impact(p, v)
    impact, tgo = ballistic_impact(p[None], v[None], dt_s=1.0)
    assert np.linalg.norm(impact[0] - ref_point) < 20.0
    assert tgo[0] == pytest.approx(ref_t, abs=0.02)
    assert abs(geo.altitude_m(impact[0])) < 1.0


def test_evaluate_ballistic_track_picks_the_asset_near_impact() -> None:
    p, v = ecef(-150e3, 20e3, 60e3), vel_ecef(1500.0, -200.0, -1200.0)
    ref_point, ref_t = reference_impact(p, v)
    lat, lon, _ = geo.ecef2geodetic(ref_point)
    local = geo.enu_rotation(float(lat), float(lon))
    near = geo.enu2ecef(np.array([300.0, 0.0, 0.0]), ref_point, local)
    far = geo.enu2ecef(np.array([30e3, 0.0, -70.0]), ref_point, local)
    tab = AssetTable(asset_id=["near", "far"], kind=["city"] * 2, pos_ecef=np.array([near, far]),
                     value=np.array([100.0, 100.0]), radius_m=np.array([1000.0, 1000.0]))
    ev = ThreatEvaluator()
    a = ev.evaluate(picture([p], [v], [True], time_s=10.0), tab, time_s=12.0)
    assert a.asset_index[0] == 0 and a.class_estimate == [BAL]
    assert a.time_to_impact_s[0] == pytest.approx(ref_t - 2.0, abs=0.05)
    sigma = ev.impact_sigma_m(np.array([30.0]), np.array([ref_t]), np.array([CLASS_INDEX[BAL]]))
    assert a.sigma_m[0] == pytest.approx(sigma[0])
    assert a.p_hit_asset[0] == pytest.approx(float(p_hit_circle(300.0, sigma[0], 1000.0)),
                                             abs=0.01)
    assert a.value[0] == pytest.approx(100.0 * a.p_hit_asset[0])


def test_air_breathing_track_toward_asset_and_away() -> None:
    tab = assets([(0.0, 0.0), (0.0, 80e3)])
    pic = picture([ecef(-50e3, 0.0, 300.0), ecef(-50e3, 0.0, 300.0), ecef(-20e3, 80e3, 300.0)],
                  [vel_ecef(250.0, 0.0, 0.0), vel_ecef(-250.0, 0.0, 0.0),
                   vel_ecef(40.0, 0.0, 0.0)], [False, False, False])
    a = evaluate_threats(pic, tab, time_s=0.0)
    assert a.asset_index.tolist() == [0, -1, 1]
    assert a.class_estimate == [CRU, CRU, DRO]
    assert a.time_to_impact_s[0] == pytest.approx(50e3 / 250.0, rel=0.01)
    assert a.time_to_impact_s[2] == pytest.approx(20e3 / 40.0, rel=0.01)
    assert a.value[1] == 0.0 and np.isinf(a.time_to_impact_s[1])
    assert a.miss_distance_m[0] < 400.0   # straight at it (ENU 'east' bends slightly)
    # Hit probability is the Rice CDF at the predicted miss distance and sigma.
    assert a.p_hit_asset[0] == pytest.approx(
        float(p_hit_circle(a.miss_distance_m[0], a.sigma_m[0], 1000.0)))
    # A faster threat to the same asset is more urgent, and less uncertain.
    fast = evaluate_threats(picture([ecef(-50e3, 0.0, 300.0)], [vel_ecef(600.0, 0.0, 0.0)],
                                    [False]), tab, 0.0)
    assert fast.time_to_impact_s[0] < a.time_to_impact_s[0]
    assert fast.p_hit_asset[0] > a.p_hit_asset[0]


def test_air_breathing_closest_approach_offset_and_horizon() -> None:
    tab = assets([(0.0, 5e3)], radius=2000.0)
    # Passes 5 km south of the asset: miss 5 km at the foot point (0, 0).
    a = evaluate_threats(picture([ecef(-60e3, 0.0, 300.0)], [vel_ecef(200.0, 0.0, 0.0)],
                                 [False], sigma=1.0), tab, 0.0)
    assert a.asset_index[0] == 0
    assert a.miss_distance_m[0] == pytest.approx(5e3, rel=0.01)
    assert a.time_to_impact_s[0] == pytest.approx(300.0, rel=0.01)
    foot = geo.ecef2enu(a.predicted_impact_ecef[0], ORIGIN, ROT)
    assert np.hypot(foot[0], foot[1]) < 300.0
    # Beyond the horizon: not threatening (yet).
    far = ThreatEvaluator(horizon_s=200.0).evaluate(
        picture([ecef(-60e3, 0.0, 300.0)], [vel_ecef(200.0, 0.0, 0.0)], [False]), tab, 0.0)
    assert far.asset_index[0] == -1


def test_class_estimate_thresholds() -> None:
    pic = picture([ecef(0, 0, 30e3)] * 4,
                  [vel_ecef(0, 3000.0, -500.0), vel_ecef(0, 1800.0, -500.0),
                   vel_ecef(70.0, 0, 0), vel_ecef(250.0, 0, 0)], [True, True, False, False])
    assert ThreatEvaluator().evaluate(pic, assets([]), 0.0).class_estimate == [AERO, BAL, DRO,
                                                                                CRU]


def test_p_hit_circle_matches_monte_carlo() -> None:
    rng = np.random.default_rng(5)
    for miss, sigma, radius in [(0.0, 500.0, 700.0), (800.0, 300.0, 1000.0),
                                (2000.0, 600.0, 500.0)]:
        pts = rng.normal(0.0, sigma, (200_000, 2)) + np.array([miss, 0.0])
        mc = np.mean(np.hypot(pts[:, 0], pts[:, 1]) <= radius)
        assert float(p_hit_circle(miss, sigma, radius)) == pytest.approx(mc, abs=0.005)
    assert float(p_hit_circle(0.0, 500.0, 500.0)) == pytest.approx(1 - np.exp(-0.5))
    assert p_hit_circle(np.array([10.0, 20.0]), 0.0, 15.0).tolist() == [1.0, 0.0]


# ----------------------------------------------------------------------------- feasibility
def first_intercept_scan(interc: Interceptor, p0: np.ndarray, v0: np.ndarray,
                         unit: np.ndarray, t_launch: float, step: float = 0.002) -> float:
    """Brute force: the earliest time of flight at which the interceptor's path length reaches
    the constant-velocity target's distance (NaN if never within the max time of flight)."""
    t = np.arange(0.0, interc.max_time_of_flight_s + step, step)
    d = np.linalg.norm(p0 + v0 * (t_launch + t)[:, None] - unit, axis=1)
    reach = kinematics.distance_at(interc, t)
    hit = np.flatnonzero(reach >= d)
    return float(t[hit[0]]) if hit.size else np.nan


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rng_km=st.floats(5.0, 90.0), bearing=st.floats(0, 2 * np.pi), up=st.floats(50.0, 22e3),
       course=st.floats(0, 2 * np.pi), speed=st.floats(30.0, 320.0),
       heading=st.floats(0, 2 * np.pi), half_width=st.floats(0.2, 3.5),
       radar_km=st.floats(20.0, 120.0), reaction=st.floats(0.0, 10.0))
def test_feasibility_against_brute_force(rng_km: float, bearing: float, up: float,
                                         course: float, speed: float, heading: float,
                                         half_width: float, radar_km: float,
                                         reaction: float) -> None:
    p0 = ecef(rng_km * 1e3 * np.sin(bearing), rng_km * 1e3 * np.cos(bearing), up)
    v0 = vel_ecef(speed * np.sin(course), speed * np.cos(course), 0.0)
    hw = np.inf if half_width > np.pi else half_width
    fu = units([(0.0, 0.0)], heading=heading, half_width=hw, radar_range=radar_km * 1e3,
               reaction=reaction)
    pic = picture([p0], [v0], [False], time_s=0.0)
    # Make the track a cruise-class threat with a far-off impact time.
    a = ThreatAssessment(slot=np.array([0]), track_id=np.array([100]),
                         predicted_impact_ecef=np.full((1, 3), np.nan),
                         asset_index=np.array([0]), time_to_impact_s=np.array([1e4]),
                         p_hit_asset=np.array([1.0]), value=np.array([10.0]),
                         class_index=np.array([CLASS_INDEX[CRU]]),
                         miss_distance_m=np.zeros(1), sigma_m=np.ones(1), time_s=0.0)
    cand = feasible_engagements(pic, a, fu, np.array([[4, 4]]), (PAC, NASAMS), time_s=0.0)
    unit = fu.pos_ecef[0]
    for k, interc in enumerate((PAC, NASAMS)):
        tf_ref = first_intercept_scan(interc, p0, v0, unit, reaction)
        rows = np.flatnonzero(cand.interceptor_type == k)
        e = interc.envelopes[CRU]
        ref_ok = False
        if np.isfinite(tf_ref):
            pip = p0 + v0 * (reaction + tf_ref)
            enu = geo.ecef2enu(pip, unit, fu.rotation[0])
            rng_, az, _ = geo.enu2aer(enu)
            alt = geo.altitude_m(pip)
            off = abs((az - heading + np.pi) % (2 * np.pi) - np.pi)
            margins = [rng_ - e.min_range_m, e.max_range_m - rng_, alt - e.min_alt_m,
                       e.max_alt_m - alt, radar_km * 1e3 - rng_,
                       (np.inf if hw == np.inf else (hw - off) * rng_)]
            if min(margins) > 50.0:
                ref_ok = True
            elif min(margins) < -50.0:
                assert rows.size == 0, "accepted an engagement outside envelope/sector/range"
        if ref_ok:
            assert rows.size == 1, "missed a feasible engagement"
        for r in rows:
            tf = cand.time_of_flight_s[r]
            assert tf == pytest.approx(tf_ref, abs=0.01)
            # PIP consistency: on the target's predicted path and at the interceptor's reach.
            pip = cand.pip_ecef[r]
            assert np.linalg.norm(pip - (p0 + v0 * cand.t_intercept_s[r])) < 1e-6
            assert abs(np.linalg.norm(pip - unit) - kinematics.distance_at(interc, tf)) < 1.0
            assert cand.t_intercept_s[r] == pytest.approx(reaction + tf)
            # Accepted ones obey every constraint (exactly).
            enu = geo.ecef2enu(pip, unit, fu.rotation[0])
            rng_, az, _ = geo.enu2aer(enu)
            assert e.min_range_m <= rng_ <= min(e.max_range_m, radar_km * 1e3)
            assert e.min_alt_m - 1.0 <= geo.altitude_m(pip) <= e.max_alt_m + 1.0
            assert tf <= interc.max_time_of_flight_s
            if hw != np.inf:
                assert abs((az - heading + np.pi) % (2 * np.pi) - np.pi) <= hw + 1e-9
            assert 0.0 < cand.pk[r] <= interc.pk_max


def _cruise_assessment(pic: TrackPicture, cls: ThreatClass = CRU,
                       tti: float = 1e4) -> ThreatAssessment:
    m = len(pic)
    return ThreatAssessment(
        slot=np.arange(m), track_id=np.asarray(pic.track_id),
        predicted_impact_ecef=np.full((m, 3), np.nan), asset_index=np.zeros(m, np.int64),
        time_to_impact_s=np.full(m, tti), p_hit_asset=np.ones(m), value=np.full(m, 10.0),
        class_index=np.full(m, CLASS_INDEX[cls]), miss_distance_m=np.zeros(m),
        sigma_m=np.ones(m), time_s=pic.time_s)


def test_drone_too_far_or_too_high_is_infeasible() -> None:
    fu = units([(0.0, 0.0)])
    pic = picture([ecef(0.0, 20e3, 500.0), ecef(0.0, 100e3, 500.0), ecef(0.0, 10e3, 17e3)],
                  [vel_ecef(0, -50.0, 0)] * 3, [False] * 3)
    cand = feasible_engagements(pic, _cruise_assessment(pic, DRO), fu, np.array([[0, 8]]),
                                (PAC, NASAMS), 0.0)
    assert cand.track_slot.tolist() == [0]          # only the near, low drone
    assert cand.interceptor_names == ("PAC-3 MSE", "AIM-120")
    assert cand.interceptor_type.tolist() == [1]    # no PAC rounds: no PAC candidate


def test_cruise_missile_becomes_feasible_once_pip_inside_max_range() -> None:
    fu = units([(0.0, 0.0)], reaction=5.0)
    max_r = NASAMS.envelopes[CRU].max_range_m
    speed = 240.0
    ranges = np.arange(80e3, 20e3, -1e3)
    feasible, pip_range = [], []
    for r in ranges:
        p0, v0 = ecef(0.0, r, 100.0), vel_ecef(0.0, -speed, 0.0)
        pic = picture([p0], [v0], [False])
        cand = feasible_engagements(pic, _cruise_assessment(pic), fu, np.array([[0, 4]]),
                                    (PAC, NASAMS), 0.0)
        feasible.append(len(cand) == 1)
        tf = first_intercept_scan(NASAMS, p0, v0, fu.pos_ecef[0], 5.0)
        pip_range.append(np.linalg.norm(p0 + v0 * (5.0 + tf) - fu.pos_ecef[0])
                         if np.isfinite(tf) else np.inf)
    feasible_arr, pip_arr = np.array(feasible), np.array(pip_range)
    first = int(np.argmax(feasible_arr))
    assert 0 < first and feasible_arr[first:].all()       # infeasible far out, then feasible
    assert np.all(pip_arr[feasible_arr] <= max_r) and np.all(pip_arr[~feasible_arr] > max_r)


def test_ballistic_pip_and_impact_deadline() -> None:
    fu = units([(0.0, 0.0)], reaction=3.0)
    v = vel_ecef(1000.0, -100.0, -500.0)
    impact, _ = ballistic_impact(ecef(-45e3, 5e3, 30e3)[None], v[None])
    shift = geo.ecef2enu(impact[0], ORIGIN, ROT)
    p = ecef(-45e3 - shift[0], 5e3 - shift[1], 30e3)   # aimed at the origin
    tab = assets([(0.0, 0.0)])
    pic = picture([p], [v], [True], sigma=50.0)
    a = evaluate_threats(pic, tab, 0.0)
    assert a.asset_index[0] == 0
    cand = feasible_engagements(pic, a, fu, np.array([[4, 4]]), (PAC, NASAMS), 0.0)
    assert cand.interceptor_type.tolist() == [0]   # AIM-120 has no ballistic envelope
    # Independent PIP check: the solve_ivp trajectory at the intercept time.
    w, gm = np.array([0.0, 0.0, 7.2921150e-5]), 3.986004418e14

    def rhs(_t: float, y: np.ndarray) -> np.ndarray:
        r, vv = y[:3], y[3:]
        acc = -gm * r / np.linalg.norm(r) ** 3 - 2 * np.cross(w, vv) - np.cross(w, np.cross(w, r))
        return np.concatenate([vv, acc])

    sol = solve_ivp(rhs, (0.0, 200.0), np.concatenate([p, v]), rtol=1e-11, atol=1e-6,
                    method="DOP853", dense_output=True)
    ti = cand.t_intercept_s[0]
    assert np.linalg.norm(cand.pip_ecef[0] - sol.sol(ti)[:3]) < 5.0
    assert abs(np.linalg.norm(cand.pip_ecef[0] - fu.pos_ecef[0])
               - kinematics.distance_at(PAC, cand.time_of_flight_s[0])) < 1.0
    assert ti < a.time_to_impact_s[0]
    # Decide too late (after the impact would happen): nothing feasible.
    late = ThreatAssessment(**{**a.__dict__, "time_to_impact_s": np.array([10.0])})
    assert len(feasible_engagements(pic, late, fu, np.array([[4, 4]]), (PAC, NASAMS), 0.0)) == 0


def test_sector_excludes_threats_behind_the_battery() -> None:
    fu = units([(0.0, 0.0)], heading=0.0, half_width=np.radians(60))
    pic = picture([ecef(0.0, 25e3, 1000.0), ecef(0.0, -25e3, 1000.0)],
                  [vel_ecef(0, -200.0, 0), vel_ecef(0, 200.0, 0)], [False, False])
    cand = feasible_engagements(pic, _cruise_assessment(pic), fu, np.array([[4, 4]]),
                                (PAC, NASAMS), 0.0)
    assert set(cand.track_slot.tolist()) == {0}


def test_pk_falls_toward_the_envelope_edge_and_with_track_uncertainty() -> None:
    fu = units([(0.0, 0.0)], reaction=0.0)
    pic = picture([ecef(0.0, 10e3, 1000.0), ecef(0.0, 55e3, 1000.0), ecef(0.0, 10e3, 1000.0)],
                  [vel_ecef(0, -100.0, 0)] * 3, [False] * 3, sigma=[20.0, 20.0, 2000.0])
    cand = feasible_engagements(pic, _cruise_assessment(pic), fu, np.array([[4, 0]]),
                                (PAC, NASAMS), 0.0)
    pk = dict(zip(cand.track_slot.tolist(), cand.pk.tolist(), strict=True))
    assert pk[0] > pk[1] and pk[0] > pk[2] and pk[0] <= PAC.pk_max


# ----------------------------------------------------------------------------- doctrine / WTA
def assessment(values: list[float], classes: list[ThreatClass]) -> ThreatAssessment:
    m = len(values)
    return ThreatAssessment(
        slot=np.arange(m), track_id=np.arange(500, 500 + m),
        predicted_impact_ecef=np.zeros((m, 3)), asset_index=np.zeros(m, np.int64),
        time_to_impact_s=np.full(m, 120.0), p_hit_asset=np.ones(m), value=np.array(values),
        class_index=np.array([CLASS_INDEX[c] for c in classes]), miss_distance_m=np.zeros(m),
        sigma_m=np.ones(m), time_s=0.0)


def candidates(rows: list[tuple[int, int, int, float]],
               costs: tuple[float, ...] = (4e6, 1e6)) -> Candidates:
    """rows: (track, unit, type, pk)."""
    arr = np.array(rows, float).reshape(-1, 4)
    c = arr.shape[0]
    k = arr[:, 2].astype(np.int64)
    return Candidates(track_slot=arr[:, 0].astype(np.int64), unit=arr[:, 1].astype(np.int64),
                      interceptor_type=k, t_launch_s=np.full(c, 5.0),
                      t_intercept_s=np.full(c, 40.0), time_of_flight_s=np.full(c, 35.0),
                      pip_ecef=np.zeros((c, 3)), slant_range_m=np.full(c, 1e4),
                      pip_alt_m=np.full(c, 1e3), pk=arr[:, 3], cost_usd=np.array(costs)[k],
                      interceptor_names=("PAC-3 MSE", "AIM-120"), unit_ids=["bty0", "bty1"])


def test_salvo_sizes_min_pk_and_reasons() -> None:
    doc = Doctrine(salvo={BAL: 2, DRO: 1}, min_pk=0.5, cost_aware=False)
    a = assessment([50.0, 20.0, 30.0], [BAL, DRO, DRO])
    cand = candidates([(0, 0, 0, 0.8), (1, 0, 0, 0.7), (2, 0, 0, 0.4)])
    out = GreedyAssigner(doc).assign(cand, a, np.array([[10, 0], [0, 0]]), np.array([5, 5]),
                                     np.zeros(3, np.int64), 0.0)
    assert out.track_id.tolist() == [500, 501]     # by gain: 50*(1-0.04) then 20*0.7
    assert out.n_rounds.tolist() == [2, 1]
    assert out.expected_gain == pytest.approx([50 * (1 - 0.2**2), 20 * 0.7])
    assert out.kill_probability == pytest.approx([0.96, 0.7])
    assert out.rounds_after.tolist() == [[7, 0], [0, 0]]
    assert out.remaining_value == pytest.approx([50 * 0.04, 20 * 0.3, 30.0])
    assert len(out.reason) == 2 and all("PAC-3 MSE from bty0" in r for r in out.reason)
    assert out.unengaged_track_id.tolist() == [502]
    assert out.unengaged_code == ["below_min_pk"]
    # Salvo limited by the rounds left.
    out1 = GreedyAssigner(doc).assign(cand, a, np.array([[1, 0], [0, 0]]), np.array([5, 5]),
                                      np.zeros(3, np.int64), 0.0)
    assert out1.n_rounds.tolist() == [1] and out1.track_id.tolist() == [500]
    assert out1.unengaged_code == ["no_rounds_or_channels", "below_min_pk"]


def test_reserve_held_for_drones_released_for_ballistic() -> None:
    doc = Doctrine(salvo={BAL: 2, DRO: 1}, min_pk=0.1, cost_aware=False,
                   reserve_fraction={"PAC-3 MSE": 0.5})
    assigner = GreedyAssigner(doc)
    capacity = np.array([[4, 0], [0, 0]])      # reserve: ceil(0.5 * 4) = 2 rounds
    ch, one = np.array([4, 4]), np.zeros(1, np.int64)
    two_left = np.array([[2, 0], [0, 0]])
    single = candidates([(0, 0, 0, 0.8)])
    drone = assigner.assign(single, assessment([80.0], [DRO]), two_left, ch, one, 0.0,
                            capacity=capacity)
    assert len(drone) == 0 and drone.unengaged_code == ["reserve"]
    ballistic = assigner.assign(single, assessment([50.0], [BAL]), two_left, ch, one, 0.0,
                                capacity=capacity)
    assert ballistic.n_rounds.tolist() == [2]
    # Three rounds: the (more valuable) drone is served first but gets only the one round above
    # the reserve; the ballistic missile still gets its full salvo out of the reserve.
    both = assigner.assign(candidates([(0, 0, 0, 0.8), (1, 0, 0, 0.8)]),
                           assessment([80.0, 50.0], [DRO, BAL]), np.array([[3, 0], [0, 0]]), ch,
                           np.zeros(2, np.int64), 0.0, capacity=capacity)
    assert both.track_slot.tolist() == [0, 1] and both.n_rounds.tolist() == [1, 2]
    assert both.rounds_after[0, 0] == 0
    # A valuable drone releases the reserve.
    doc_v = Doctrine(salvo={BAL: 2, DRO: 1}, min_pk=0.1, cost_aware=False,
                     reserve_fraction={"PAC-3 MSE": 0.5}, reserve_release_value=60.0)
    out = GreedyAssigner(doc_v).assign(single, assessment([80.0], [DRO]), two_left, ch, one,
                                       0.0, capacity=capacity)
    assert out.track_slot.tolist() == [0]


def test_cost_aware_choice() -> None:
    a = assessment([5.0], [DRO])    # a cheap drone: 5 value units = 5 M$ at risk
    both = candidates([(0, 0, 0, 0.9), (0, 1, 1, 0.85)])
    rounds, ch, eng = np.array([[4, 0], [0, 4]]), np.array([2, 2]), np.zeros(1, np.int64)
    aware = GreedyAssigner(Doctrine(min_pk=0.3, cost_aware=True, cost_per_value_usd=1e6))
    out = aware.assign(both, a, rounds, ch, eng, 0.0)
    assert out.interceptor_type.tolist() == [1]     # AIM-120: 5*0.85-1 > 5*0.9-4
    assert out.expected_gain[0] == pytest.approx(5 * 0.85 - 1.0)
    assert "AIM-120 from bty1" in out.reason[0] and "chosen over PAC-3 MSE" in out.reason[0]
    blind = GreedyAssigner(Doctrine(min_pk=0.3, cost_aware=False))
    assert blind.assign(both, a, rounds, ch, eng, 0.0).interceptor_type.tolist() == [0]
    # Only the expensive one reaches: it is still used when the value justifies it ...
    only_pac = candidates([(0, 0, 0, 0.9)])
    out2 = aware.assign(only_pac, a, rounds, ch, eng, 0.0)
    assert out2.interceptor_type.tolist() == [0]
    assert "no alternative" in out2.reason[0]
    # ... and not when it does not.
    out3 = aware.assign(only_pac, assessment([3.0], [DRO]), rounds, ch, eng, 0.0)
    assert len(out3) == 0 and out3.unengaged_code == ["not_worth_cost"]


def test_shoot_look_shoot_vs_shoot_shoot_and_engagement_limit() -> None:
    a = assessment([50.0, 40.0], [CRU, CRU])
    cand = candidates([(0, 0, 0, 0.8), (1, 0, 0, 0.8)])
    rounds, ch = np.array([[8, 0], [0, 0]]), np.array([4, 4])
    engaged = np.array([1, 0])
    sls = GreedyAssigner(Doctrine(policy="shoot_look_shoot", cost_aware=False))
    out = sls.assign(cand, a, rounds, ch, engaged, 0.0)
    assert out.track_slot.tolist() == [1]
    assert out.unengaged_code == ["awaiting_kill_assessment"]
    ss = GreedyAssigner(Doctrine(policy="shoot_shoot", cost_aware=False))
    out2 = ss.assign(cand, a, rounds, ch, engaged, 0.0, prior_survival=np.array([0.2, 1.0]))
    assert out2.track_slot.tolist() == [1, 0]     # track 0's remaining value is 10 < 40
    limit = GreedyAssigner(Doctrine(policy="shoot_shoot", cost_aware=False,
                                    max_engagements_per_threat=2))
    out3 = limit.assign(cand, a, rounds, ch, engaged, 0.0, engagements_made=np.array([2, 0]))
    assert out3.track_slot.tolist() == [1] and out3.unengaged_code == ["max_engagements"]


def test_no_feasible_weapon_and_no_threat() -> None:
    a = assessment([50.0, 0.0, 30.0], [BAL, DRO, CRU])
    cand = candidates([(1, 0, 0, 0.9), (2, 0, 0, 0.9)])
    out = GreedyAssigner(Doctrine(cost_aware=False)).assign(
        cand, a, np.array([[1, 0], [0, 0]]), np.array([1, 0]), np.zeros(3, np.int64), 0.0)
    assert out.track_slot.tolist() == [2]
    assert dict(zip(out.unengaged_slot.tolist(), out.unengaged_code, strict=True)) == {
        0: "no_feasible_weapon", 1: "no_threat"}
    assert all(r.startswith("track ") for r in out.unengaged_reason)


def test_global_mmr_serves_the_largest_gain_first_with_one_channel() -> None:
    a = assessment([10.0, 60.0, 30.0], [CRU, CRU, CRU])
    cand = candidates([(0, 0, 0, 0.9), (1, 0, 0, 0.5), (2, 0, 0, 0.95)])
    out = GreedyAssigner(Doctrine(cost_aware=False)).assign(
        cand, a, np.array([[9, 0], [0, 0]]), np.array([1, 0]), np.zeros(3, np.int64), 0.0)
    assert out.track_slot.tolist() == [1]   # gains 9, 60*0.5 = 30, 30*0.95 = 28.5
    assert out.unengaged_code == ["no_rounds_or_channels"] * 2


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), policy=st.sampled_from(["shoot_look_shoot",
                                                                "shoot_shoot"]),
       cost_aware=st.booleans())
def test_assignment_invariants(seed: int, policy: str, cost_aware: bool) -> None:
    rng = np.random.default_rng(seed)
    m, n_units, k = int(rng.integers(1, 12)), int(rng.integers(1, 4)), 2
    classes = [list(ThreatClass)[i] for i in rng.integers(0, 4, m)]
    a = assessment(list(rng.uniform(0, 20, m)), classes)
    rows = [(j, u, kk, float(rng.uniform(0, 1))) for j in range(m) for u in range(n_units)
            for kk in range(k) if rng.random() < 0.6]
    cand = candidates(rows) if rows else candidates([])
    cand.unit_ids = [f"bty{i}" for i in range(n_units)]
    rounds = rng.integers(0, 5, (n_units, k))
    channels = rng.integers(0, 4, n_units)
    engaged = rng.integers(0, 2, m)
    doc = Doctrine(salvo={BAL: 2, AERO: 3, CRU: 1, DRO: 1}, policy=policy,  # type: ignore
                   min_pk=0.3, cost_aware=cost_aware, cost_per_value_usd=1e6,
                   reserve_fraction={"PAC-3 MSE": 0.25}, max_engagements_per_threat=2)
    rounds_in, channels_in = rounds.copy(), channels.copy()
    out = GreedyAssigner(doc).assign(cand, a, rounds, channels, engaged, 0.0)
    assert np.array_equal(rounds, rounds_in) and np.array_equal(channels, channels_in)
    used = np.zeros_like(rounds)
    np.add.at(used, (out.unit, out.interceptor_type), out.n_rounds)
    assert np.all(used <= rounds) and np.array_equal(out.rounds_after, rounds - used)
    assert np.all(np.bincount(out.unit, minlength=n_units) <= channels)
    assert len(set(out.track_slot.tolist())) == len(out)
    assert np.all(out.pk >= doc.min_pk) and np.all(out.expected_gain > 0)
    assert np.all(out.n_rounds >= 1)
    assert np.all(out.n_rounds <= [doc.salvo_for(classes[j]) for j in out.track_slot])
    if policy == "shoot_look_shoot":
        assert np.all(engaged[out.track_slot] == 0)
    assert len(out.reason) == len(out) and all(out.reason)
    # Every track is either engaged or explained.
    assert sorted(out.track_slot.tolist() + out.unengaged_slot.tolist()) == list(range(m))
    assert len(out.unengaged_reason) == out.unengaged_slot.size
    # The gain is the formula.
    cost = np.where(out.interceptor_type == 0, 4e6, 1e6) * out.n_rounds
    ref = a.value[out.track_slot] * (1 - (1 - out.pk) ** out.n_rounds) - (
        cost / 1e6 if cost_aware else 0.0)
    assert out.expected_gain == pytest.approx(ref)


def test_end_to_end_cycle() -> None:
    tab = assets([(0.0, 0.0), (5e3, 40e3)])
    fu = units([(2e3, 2e3), (4e3, 35e3)], reaction=4.0)
    # A ballistic missile aimed near asset 0 and a drone heading to asset 1.
    p_b, v_b = ecef(-40e3, 0.0, 30e3), vel_ecef(1000.0, 0.0, -700.0)
    impact, _ = ballistic_impact(p_b[None], v_b[None])
    shift = geo.ecef2enu(impact[0], ORIGIN, ROT)
    p_b = ecef(-40e3 - shift[0], -shift[1], 30e3)
    pic = picture([p_b, ecef(5e3, 60e3, 500.0)],
                  [v_b, vel_ecef(0.0, -50.0, 0.0)], [True, False])
    a = evaluate_threats(pic, tab, 0.0)
    assert a.asset_index.tolist() == [0, 1] and a.class_estimate == [BAL, DRO]
    rounds = np.array([[4, 0], [4, 6]])
    cand = feasible_engagements(pic, a, fu, rounds, (PAC, NASAMS), 0.0)
    doc = Doctrine(salvo={BAL: 2, DRO: 1}, min_pk=0.3, cost_per_value_usd=1e6)
    out = GreedyAssigner(doc).assign(cand, a, rounds, np.array([2, 2]), np.zeros(2, np.int64),
                                     0.0)
    got = dict(zip(out.track_slot.tolist(),
                   [cand.interceptor_names[t] for t in out.interceptor_type], strict=True))
    assert got[0] == "PAC-3 MSE"
    assert got.get(1) == "AIM-120"
    assert np.all(out.t_intercept_s < a.time_to_impact_s[out.track_slot])


def test_fast_closing_target_converges_where_plain_iteration_diverges() -> None:
    """A Mach-8 target closing head-on: |g'| = closing speed / interceptor speed > 1, so the plain
    fixed-point iteration oscillates outward; the accelerated one still finds the scan's root."""
    fu = units([(0.0, 0.0)], reaction=2.0)
    p0, v0 = ecef(0.0, 70e3, 15e3), vel_ecef(0.0, -2700.0, -400.0)
    pic = picture([p0], [v0], [False])
    cand = feasible_engagements(pic, _cruise_assessment(pic, AERO), fu, np.array([[4, 0]]),
                                (PAC, NASAMS), 0.0)
    tf_ref = first_intercept_scan(PAC, p0, v0, fu.pos_ecef[0], 2.0)
    assert len(cand) == 1 and cand.time_of_flight_s[0] == pytest.approx(tf_ref, abs=0.01)
    # Plain iteration started 0.1 s from the root is driven away from it.
    t = tf_ref + 0.1
    for _ in range(4):
        d = np.linalg.norm(p0 + v0 * (2.0 + t) - fu.pos_ecef[0])
        t = float(kinematics.time_to_distance(PAC, d))
    assert not abs(t - tf_ref) < 1.0


def test_feasibility_and_assignment_are_fast_for_a_large_raid() -> None:
    import time
    rng = np.random.default_rng(1)
    m = 300
    pos = [ecef(*rng.uniform(-80e3, 80e3, 2), rng.uniform(50, 5000)) for _ in range(m)]
    vel = [vel_ecef(*rng.uniform(-250, 250, 2), 0.0) for _ in range(m)]
    pic = picture(pos, vel, [False] * m)
    fu = units([tuple(rng.uniform(-30e3, 30e3, 2)) for _ in range(12)])
    tab = assets([tuple(rng.uniform(-30e3, 30e3, 2)) for _ in range(20)])
    start = time.perf_counter()
    a = evaluate_threats(pic, tab, 0.0)
    rounds = np.full((12, 2), 6)
    cand = feasible_engagements(pic, a, fu, rounds, (PAC, NASAMS), 0.0)
    out = GreedyAssigner(Doctrine(cost_per_value_usd=1e5)).assign(
        cand, a, rounds, np.full(12, 6), np.zeros(m, np.int64), 0.0)
    elapsed = time.perf_counter() - start
    assert len(cand) > 100 and len(out) > 10
    assert elapsed < 5.0


# ----------------------------------------------------------------------------- compiled kernels
def test_compiled_propagation_matches_the_numpy_rk4_reference() -> None:
    p = np.array([ecef(-150e3, 20e3, 60e3), ecef(0.0, 0.0, 10e3)])
    v = np.array([vel_ecef(1500.0, -200.0, -1200.0), vel_ecef(0.0, 0.0, -10.0)])
    for rotating in (True, False):
        grid_p, grid_v = propagate_ballistic(p, v, 0.5, 120, rotating)
        ref_p, ref_v = p.copy(), v.copy()
        for i in range(120):
            ref_p, ref_v = rk4_step(ref_p, ref_v, 0.5, rotating)
            assert np.abs(grid_p[i + 1] - ref_p).max() < 1e-6
        assert np.abs(grid_v[-1] - ref_v).max() < 1e-9
    # One propagation gives the impacts and the sampled trajectory (as long as asked for).
    impact, tgo, gp, gv = predict_ballistic(p, v, 1.0, 1800.0, True, min_grid_time_s=200.0)
    assert gp.shape == gv.shape and gp.shape[0] - 1 >= 200
    ref_gp, ref_gv = propagate_ballistic(p, v, 1.0, gp.shape[0] - 1, True)
    assert np.array_equal(gp, ref_gp) and np.array_equal(gv, ref_gv)
    impact1, tgo1 = ballistic_impact(p, v)
    assert np.array_equal(impact, impact1) and np.array_equal(tgo, tgo1)


def _mixed_raid(seed: int, n_ballistic: int = 3, n_air: int = 12
                ) -> tuple[TrackPicture, AssetTable, FireUnitTable]:
    rng = np.random.default_rng(seed)
    pos, vel = [], []
    for _ in range(n_ballistic):
        pos.append(ecef(rng.uniform(-70e3, -25e3), rng.uniform(-25e3, 25e3),
                        rng.uniform(15e3, 50e3)))
        vel.append(vel_ecef(rng.uniform(700.0, 1600.0), rng.uniform(-250.0, 250.0),
                            rng.uniform(-1000.0, -200.0)))
    for _ in range(n_air):
        e, n = rng.uniform(-90e3, 90e3, 2)
        speed = rng.uniform(30.0, 300.0)
        heading = np.arctan2(-e, -n) + rng.normal(0.0, 0.3)
        pos.append(ecef(e, n, rng.uniform(50.0, 4000.0)))
        vel.append(vel_ecef(speed * np.sin(heading), speed * np.cos(heading), 0.0))
    pic = picture(pos, vel, [True] * n_ballistic + [False] * n_air,
                  sigma=list(rng.uniform(10.0, 300.0, n_ballistic + n_air)), time_s=10.0)
    tab = assets([(0.0, 0.0), (10e3, 5e3), (-8e3, 12e3)])
    fu = units([(2e3, 2e3), (-5e3, 30e3), (20e3, -10e3), (-25e3, -5e3)], reaction=4.0,
               half_width=np.radians(70.0), heading=float(rng.uniform(0, 2 * np.pi)))
    fu.sector_half_width_rad[::2] = np.inf
    fu.radar_range_m[:] = rng.uniform(40e3, 120e3, len(fu))
    return pic, tab, fu


def _same_candidates(a: Candidates, b: Candidates) -> bool:
    return all(np.array_equal(getattr(a, f), getattr(b, f)) for f in (
        "track_slot", "unit", "interceptor_type", "t_launch_s", "t_intercept_s",
        "time_of_flight_s", "pip_ecef", "slant_range_m", "pip_alt_m", "pk", "cost_usd"))


def test_feasibility_reuses_the_threat_evaluation_trajectory() -> None:
    pic, tab, fu = _mixed_raid(3)
    a = evaluate_threats(pic, tab, 11.0)
    traj = a.ballistic_trajectory
    assert traj is not None and traj.matches(pic, 1.0, True)
    assert traj.rows.tolist() == [0, 1, 2] and traj.epoch_s == 10.0
    rounds = np.full((len(fu), 2), 4)
    reused = feasible_engagements(pic, a, fu, rounds, (PAC, NASAMS), 11.0)
    without = ThreatAssessment(**{**a.__dict__, "ballistic_trajectory": None})
    fresh = feasible_engagements(pic, without, fu, rounds, (PAC, NASAMS), 11.0)
    assert np.any(reused.track_slot < 3) and len(reused) > 5
    assert _same_candidates(reused, fresh)
    # A trajectory that is not of this picture is ignored.
    moved = TrackPicture(**{**pic.__dict__, "pos_ecef": pic.pos_ecef + 500.0})
    assert not traj.matches(moved, 1.0, True) and not traj.matches(pic, 0.5, True)
    assert _same_candidates(feasible_engagements(moved, a, fu, rounds, (PAC, NASAMS), 11.0),
                            feasible_engagements(moved, without, fu, rounds, (PAC, NASAMS),
                                                 11.0))
    # The public solver gives the candidates' times of flight and PIPs.
    motion = TargetMotion.build(pic, 300.0, trajectory=traj)
    tf, pip, ok = solve_intercept_time(PAC, motion, reused.track_slot[reused.interceptor_type == 0],
                                       fu.pos_ecef[reused.unit[reused.interceptor_type == 0]],
                                       reused.t_launch_s[reused.interceptor_type == 0])
    assert ok.all()
    assert np.allclose(tf, reused.time_of_flight_s[reused.interceptor_type == 0], rtol=0,
                       atol=1e-9)
    assert np.allclose(pip, reused.pip_ecef[reused.interceptor_type == 0], rtol=0, atol=1e-6)


@pytest.mark.parametrize("seed", range(6))
def test_feasibility_short_cuts_do_not_change_the_candidates(seed: int) -> None:
    """The range pre-check and the scan skipping only drop work that cannot matter."""
    pic, tab, fu = _mixed_raid(seed, n_ballistic=4, n_air=30)
    a = evaluate_threats(pic, tab, 10.5)
    rounds = np.random.default_rng(seed).integers(0, 3, (len(fu), 2))
    fast = feasible_engagements(pic, a, fu, rounds, (PAC, NASAMS), 10.5,
                                next_launch_s=np.full(len(fu), 12.0))
    try:
        feasibility._PRUNE = False
        slow = feasible_engagements(pic, a, fu, rounds, (PAC, NASAMS), 10.5,
                                    next_launch_s=np.full(len(fu), 12.0))
    finally:
        feasibility._PRUNE = True
    assert _same_candidates(fast, slow)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_distance_lower_bound_holds_on_the_interpolated_path(seed: int) -> None:
    rng = np.random.default_rng(seed)
    p0 = ecef(*rng.uniform(-60e3, 60e3, 2), rng.uniform(5e3, 80e3))[None]
    v0 = vel_ecef(*rng.uniform(-2500.0, 2500.0, 3))[None]
    dt = float(rng.choice([0.5, 1.0, 2.0]))
    gp, gv = propagate_ballistic(p0, v0, dt, 60)
    unit = ecef(*rng.uniform(-60e3, 60e3, 2), 0.0)
    tau0, tau1 = np.sort(rng.uniform(-5.0, 70.0 * dt, 2))
    for column in (np.array([0]), np.array([-1])):   # ballistic grid, constant velocity
        bound = feasibility._distance_lower_bound(0, *unit, tau0, tau1, p0, v0, column, gp, gv,
                                                  dt)
        tau = np.linspace(tau0, tau1, 4001)
        if column[0] == 0:
            path = hermite_interpolate(gp, gv, dt, np.zeros(tau.size, np.int64), tau)
        else:
            path = p0 + v0 * tau[:, None]
        assert bound <= np.linalg.norm(path - unit, axis=1).min() + 1e-6
