"""Ballistic flight against independent references (README, Validation): the Keplerian ellipse
(range equation and Kepler's equation), the flat-earth range formula, energy and Jacobi-constant
conservation, the shooting method's aim, and the curved-earth altitude gain."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shieldwall import geo
from shieldwall.threats import BallisticPhysics, aim_ballistic, propagate_ballistic

MU = geo.EARTH_GM_M3_S2
A = geo.WGS84_A_M  # on the equator the ellipsoid is a circle of radius a


def kepler_reference(v: float, gamma: float, r0: float = A) -> tuple[float, float, float]:
    """Free-flight range angle, time of flight and apogee radius of a burnout at radius r0,
    speed v, flight-path angle gamma, landing back at r0 (two-body, closed form)."""
    nu = v * v * r0 / MU
    c = np.cos(gamma)
    psi = 2.0 * np.arctan2(nu * np.sin(gamma) * c, 1.0 - nu * c * c)
    a = 1.0 / (2.0 / r0 - v * v / MU)
    e = np.sqrt(1.0 - nu * (2.0 - nu) * c * c)
    p = (r0 * v * c) ** 2 / MU
    theta0 = np.arccos((p / r0 - 1.0) / e)  # ascending branch, 0 < theta0 < pi
    ecc_anom = 2.0 * np.arctan(np.sqrt((1 - e) / (1 + e)) * np.tan(theta0 / 2))
    mean0 = ecc_anom - e * np.sin(ecc_anom)
    tof = 2.0 * (np.pi - mean0) * np.sqrt(a**3 / MU)  # symmetric about apoapsis
    return psi, tof, a * (1.0 + e)


def equatorial_burnout(v: float, gamma: float, lon_deg: float = 0.0) -> tuple[np.ndarray, ...]:
    lam = np.radians(lon_deg)
    up = np.array([np.cos(lam), np.sin(lam), 0.0])
    east = np.array([-np.sin(lam), np.cos(lam), 0.0])
    return A * up, v * (np.cos(gamma) * east + np.sin(gamma) * up)


@pytest.mark.parametrize("v,gamma_deg", [(2000.0, 35.0), (3000.0, 25.0), (1200.0, 60.0)])
def test_vacuum_range_and_time_of_flight_match_kepler(v: float, gamma_deg: float) -> None:
    gamma = np.radians(gamma_deg)
    r0, v0 = equatorial_burnout(v, gamma)
    fl = propagate_ballistic(r0[None], v0[None], BallisticPhysics.vacuum_nonrotating())
    psi, tof, r_apo = kepler_reference(v, gamma)
    end_lon = np.arctan2(fl.end_ecef[0, 1], fl.end_ecef[0, 0])
    assert abs(end_lon - psi) * A < 0.05  # metres of ground range (~1e-7 relative)
    assert abs(fl.end_time_s[0] - tof) < 1e-4
    assert abs(fl.end_ecef[0, 2]) < 1e-6
    assert abs(fl.apogee_height_m[0] - (r_apo - A)) < 1.0  # step-sampled maximum


def test_flat_earth_limit_for_short_range() -> None:
    v, gamma = 100.0, np.radians(45.0)
    r0, v0 = equatorial_burnout(v, gamma)
    fl = propagate_ballistic(r0[None], v0[None], BallisticPhysics.vacuum_nonrotating(0.05))
    g = MU / A**2
    flat_range = v * v * np.sin(2 * gamma) / g
    ground = np.arctan2(fl.end_ecef[0, 1], fl.end_ecef[0, 0]) * A
    assert ground == pytest.approx(flat_range, rel=5e-4)
    assert fl.end_time_s[0] == pytest.approx(2 * v * np.sin(gamma) / g, rel=5e-4)


@settings(max_examples=15, deadline=None)
@given(st.floats(500.0, 3500.0), st.floats(10.0, 80.0), st.floats(-60.0, 60.0),
       st.floats(0.0, 360.0))
def test_energy_conserved_without_drag(v: float, gamma_deg: float, lat: float,
                                       az_deg: float) -> None:
    r0 = geo.geodetic2ecef(lat, 20.0, 0.0)
    rot = geo.enu_rotation(lat, 20.0)
    g, az = np.radians(gamma_deg), np.radians(az_deg)
    v_enu = v * np.array([np.cos(g) * np.sin(az), np.cos(g) * np.cos(az), np.sin(g)])
    v0 = v_enu @ rot
    grid = np.arange(0.0, 2000.0, 0.5)
    # Non-rotating: specific energy v^2/2 - GM/r.
    fl = propagate_ballistic(r0[None], v0[None], BallisticPhysics.vacuum_nonrotating(),
                             time_s=grid)
    ok = np.isfinite(fl.pos_ecef[:, 0, 0])
    p, u = fl.pos_ecef[ok, 0], fl.vel_ecef[ok, 0]
    energy = 0.5 * np.sum(u * u, 1) - MU / np.linalg.norm(p, axis=1)
    assert np.ptp(energy) / abs(energy[0]) < 1e-6
    # Rotating frame, no J2/air: the Jacobi integral v^2/2 - GM/r - W^2 (x^2 + y^2)/2.
    phys = BallisticPhysics(j2=0.0, sea_level_density_kg_m3=0.0)
    fl = propagate_ballistic(r0[None], v0[None], phys, time_s=grid)
    ok = np.isfinite(fl.pos_ecef[:, 0, 0])
    p, u = fl.pos_ecef[ok, 0], fl.vel_ecef[ok, 0]
    w = phys.omega_rad_s
    jacobi = (0.5 * np.sum(u * u, 1) - MU / np.linalg.norm(p, axis=1)
              - 0.5 * w * w * (p[:, 0] ** 2 + p[:, 1] ** 2))
    assert np.ptp(jacobi) / abs(jacobi[0]) < 1e-6


def test_drag_loses_energy_and_range() -> None:
    r0, v0 = equatorial_burnout(2000.0, np.radians(40.0))
    vac = propagate_ballistic(r0[None], v0[None], BallisticPhysics.vacuum_nonrotating())
    phys = BallisticPhysics(j2=0.0, omega_rad_s=0.0)
    drag = propagate_ballistic(r0[None], v0[None], phys, ballistic_coefficient_kg_m2=5000.0)
    rng_vac = np.arctan2(vac.end_ecef[0, 1], vac.end_ecef[0, 0])
    rng_drag = np.arctan2(drag.end_ecef[0, 1], drag.end_ecef[0, 0])
    assert rng_drag < 0.95 * rng_vac
    assert np.linalg.norm(drag.end_vel_ecef[0]) < 0.9 * np.linalg.norm(vac.end_vel_ecef[0])


def _launch_aim(ranges_km: np.ndarray, bearings_deg: np.ndarray) -> tuple[np.ndarray, ...]:
    from shieldwall.threats.raid import destination_lat_lon

    lat0, lon0 = 48.0, 35.0
    lat, lon = destination_lat_lon(lat0, lon0, np.radians(bearings_deg), ranges_km * 1e3)
    n = len(ranges_km)
    launch = geo.geodetic2ecef(np.full(n, lat0), np.full(n, lon0), np.zeros(n))
    aim = geo.geodetic2ecef(lat, lon, np.zeros(n))
    return launch, aim


@pytest.mark.parametrize("physics,beta", [
    (BallisticPhysics.vacuum_nonrotating(), None),
    (BallisticPhysics(), np.array([4000.0, 8000.0, 1.2e4, 6000.0])),
])
def test_shooting_hits_aim_and_apogee(physics: BallisticPhysics, beta: np.ndarray | None) -> None:
    launch, aim = _launch_aim(np.array([450.0, 300.0, 120.0, 60.0]),
                              np.array([270.0, 10.0, 135.0, 200.0]))
    apogee = np.array([50e3, 35e3, 30e3, 20e3])
    sol = aim_ballistic(launch, np.zeros((4, 3)), aim, apogee, physics, boost_time_s=20.0,
                        ballistic_coefficient_kg_m2=beta)
    assert sol.converged.all()
    miss = np.linalg.norm(sol.flight.end_ecef - aim, axis=1)
    assert np.all(miss < 1.0)
    assert np.allclose(sol.flight.apogee_height_m, apogee, rtol=0.02)
    # The apogee reported is the real one: re-fly on a grid, measure with pymap3d.
    fl = propagate_ballistic(launch, sol.initial_vel_ecef, physics,
                             ballistic_coefficient_kg_m2=beta, ground_height_m=0.0,
                             thrust_accel_ecef=sol.thrust_accel_ecef, boost_time_s=20.0,
                             time_s=np.arange(0.0, 800.0, 0.25))
    alt = np.nanmax(geo.altitude_m(fl.pos_ecef), axis=0)
    assert np.allclose(alt, apogee, rtol=0.02)


def test_shooting_with_terminal_maneuver_still_hits() -> None:
    launch, aim = _launch_aim(np.array([350.0, 350.0]), np.array([300.0, 300.0]))
    man = np.array([0.0, 25.0 * 9.80665])
    sol = aim_ballistic(launch, np.zeros((2, 3)), aim, np.array([45e3, 45e3]),
                        BallisticPhysics(), ballistic_coefficient_kg_m2=np.full(2, 8000.0),
                        maneuver_accel_mps2=man, maneuver_alt_m=25e3, maneuver_phase=0.7)
    assert sol.converged.all()
    assert np.all(np.linalg.norm(sol.flight.end_ecef - aim, axis=1) < 1.0)
    grid = np.arange(0.0, 600.0, 0.5)
    fl = propagate_ballistic(launch, sol.initial_vel_ecef, BallisticPhysics(),
                             ballistic_coefficient_kg_m2=np.full(2, 8000.0),
                             thrust_accel_ecef=sol.thrust_accel_ecef, boost_time_s=20.0,
                             maneuver_accel_mps2=man, maneuver_alt_m=25e3, maneuver_phase=0.7,
                             time_s=grid)
    # The maneuvering missile really weaves: its lateral acceleration reaches several g
    # while the plain one stays near zero.
    acc = np.diff(fl.vel_ecef, axis=0) / 0.5
    v = fl.vel_ecef[:-1]
    side = np.cross(v, fl.pos_ecef[:-1])
    with np.errstate(invalid="ignore"):  # NaN samples after impact
        side /= np.linalg.norm(side, axis=2, keepdims=True)
    lateral = np.abs(np.sum(acc * side, axis=2))
    peak = np.nanmax(lateral, axis=0) / 9.80665
    assert peak[1] > 15.0 and peak[0] < 1.0


def test_missile_flies_over_a_curved_earth() -> None:
    """A 400 km shot: midcourse altitude (pymap3d) exceeds the flat-earth parabola's by the
    earth's drop and the lighter effective gravity; its apogee matches the Kepler ellipse."""
    gamma = np.radians(30.0)
    g = MU / A**2
    v = np.sqrt(g * 400e3 / np.sin(2 * gamma))  # flat-earth range 400 km
    r0, v0 = equatorial_burnout(v, gamma)
    t_mid = v * np.sin(gamma) / g  # flat-earth apex time
    grid = np.array([t_mid])
    fl = propagate_ballistic(r0[None], v0[None], BallisticPhysics.vacuum_nonrotating(),
                             time_s=grid)
    curved_alt = geo.altitude_m(fl.pos_ecef[0, 0])
    flat_alt = (v * np.sin(gamma)) ** 2 / (2 * g)
    drop = (200e3) ** 2 / (2 * A)
    assert curved_alt - flat_alt > drop  # ~3.1 km of drop plus the centrifugal relief
    assert fl.end_time_s[0] > 2 * t_mid
    _, _, r_apo = kepler_reference(v, gamma)
    assert fl.apogee_height_m[0] == pytest.approx(r_apo - A, abs=1.0)
    assert fl.apogee_height_m[0] - flat_alt > 3e3  # lighter effective gravity aloft
