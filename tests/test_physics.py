"""The shared physics kernels (``shieldwall.core.physics``) against independent references:
WGS84 normal gravity (Somigliana), the analytic rotating-frame terms, closed-form ODE solutions
(RK4 convergence order), exact cubics (Hermite), and the vectorized wrappers against the
scalar kernels."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit
from scipy import integrate

from shieldwall.core import physics as ph

A, B = ph.WGS84_A_M, ph.WGS84_B_M
GM, OMEGA = ph.EARTH_GM_M3_S2, ph.EARTH_OMEGA_RAD_S
J2C = ph.j2_coefficient()

# WGS84 normal gravity on the ellipsoid (NIMA TR8350.2, eq. 4-1 and table 3.4).
GAMMA_E, GAMMA_P = 9.7803253359, 9.8321849378


def somigliana(lat_rad: float) -> float:
    e2 = 1.0 - (B / A) ** 2
    k = B * GAMMA_P / (A * GAMMA_E) - 1.0
    s2 = math.sin(lat_rad) ** 2
    return GAMMA_E * (1.0 + k * s2) / math.sqrt(1.0 - e2 * s2)


def surface_point(lat_rad: float) -> np.ndarray:
    """ECEF point on the ellipsoid at geodetic latitude ``lat`` (longitude 0)."""
    e2 = 1.0 - (B / A) ** 2
    n = A / math.sqrt(1.0 - e2 * math.sin(lat_rad) ** 2)
    return np.array([n * math.cos(lat_rad), 0.0, n * (1.0 - e2) * math.sin(lat_rad)])


def gravity(p: np.ndarray, v: np.ndarray | None = None, j2c: float = J2C,
            omega: float = OMEGA, gm: float = GM) -> np.ndarray:
    v = np.zeros(3) if v is None else v
    return np.array(ph.accel_gravity_ecef(*map(float, p), *map(float, v), gm, j2c, omega))


# --------------------------------------------------------------------------- gravity
@pytest.mark.parametrize("lat_deg", [0.0, 30.0, 45.0, 60.0, 90.0])
def test_gravity_matches_somigliana_normal_gravity(lat_deg: float) -> None:
    """J2 plus the centrifugal term reproduce WGS84 normal gravity on the ellipsoid to the
    truncation of the zonal series (J4 and beyond: ~1e-4 m/s^2); point-mass gravity does not
    (errors up to 0.03 m/s^2), nor J2 without the rotation."""
    lat = math.radians(lat_deg)
    p = surface_point(lat)
    ref = somigliana(lat)
    assert abs(np.linalg.norm(gravity(p)) - ref) < 2e-4
    if lat_deg in (0.0, 60.0, 90.0):  # (the J2 term is small near P2(sin lat) = 0, 35 deg)
        assert abs(np.linalg.norm(gravity(p, j2c=0.0)) - ref) > 5e-3
    if lat_deg < 90.0:
        assert abs(np.linalg.norm(gravity(p, omega=0.0)) - ref) > 5e-3
    # Normal gravity is normal to the ellipsoid: the angle to the geodetic normal is tiny.
    normal = np.array([math.cos(lat), 0.0, math.sin(lat)])
    g = gravity(p)
    assert np.degrees(np.arccos(-g @ normal / np.linalg.norm(g))) < 2e-3


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-1.0, 1.0), min_size=6, max_size=6),
       st.floats(6.4e6, 4.2e7), st.floats(0.0, 8000.0))
def test_rotating_frame_terms_are_the_analytic_vectors(dirs: list[float], radius: float,
                                                      speed: float) -> None:
    """With gm = 0 the kernel is exactly ``-2 w x v - w x (w x r)`` (w = (0, 0, Omega))."""
    u = np.array(dirs[:3]) + np.array([1e-3, 0.0, 0.0])
    r = radius * u / np.linalg.norm(u)
    v = speed * np.array(dirs[3:])
    w = np.array([0.0, 0.0, OMEGA])
    ref = -2.0 * np.cross(w, v) - np.cross(w, np.cross(w, r))
    got = gravity(r, v, j2c=0.0, gm=0.0)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-15 * np.linalg.norm(ref) + 1e-300)


def test_point_mass_and_j2_terms_against_the_potential_gradient() -> None:
    """The acceleration is minus the gradient of ``U = -GM/r (1 - J2 (a/r)^2 P2(z/r))``
    (central differences), independently of the written-out J2 formula."""
    j2 = ph.EARTH_J2

    def potential(p: np.ndarray) -> float:
        r = float(np.linalg.norm(p))
        s = p[2] / r
        return -GM / r * (1.0 - j2 * (A / r) ** 2 * 0.5 * (3.0 * s * s - 1.0))

    rng = np.random.default_rng(3)
    for _ in range(20):
        d = rng.normal(size=3)
        p = rng.uniform(6.4e6, 2e7) * d / np.linalg.norm(d)
        h = 1.0
        grad = np.array([(potential(p + h * e) - potential(p - h * e)) / (2 * h)
                         for e in np.eye(3)])
        np.testing.assert_allclose(gravity(p, omega=0.0), -grad, rtol=1e-7)


# --------------------------------------------------------------------------- RK4
@njit(cache=False)
def _oscillator(x, y, z, vx, vy, vz, t, p):  # x'' = -k x per axis, plus a forcing in t
    k = p[0]
    return -k * x, -k * y, -k * z + math.cos(t)


_step_oscillator = ph.make_step_rk4(_oscillator)


def _oscillator_error(h: float, t_end: float = 10.0) -> float:
    k = 4.0
    x = (1.0, 0.0, 0.0, 0.0, 2.0, 0.0)
    n = round(t_end / h)
    for i in range(n):
        x = _step_oscillator(*x, i * h, h, (k,))
    t = n * h
    w = math.sqrt(k)
    # x: cos(w t); y: (2 / w) sin(w t); z from rest: (cos t - cos w t) / (w^2 - 1).
    ref = np.array([math.cos(w * t), 2.0 / w * math.sin(w * t),
                    (math.cos(t) - math.cos(w * t)) / (k - 1.0)])
    return float(np.max(np.abs(np.array(x[:3]) - ref)))


def test_rk4_is_fourth_order_on_a_forced_oscillator() -> None:
    errors = [_oscillator_error(h) for h in (0.1, 0.05, 0.025, 0.0125)]
    orders = [math.log2(e0 / e1) for e0, e1 in zip(errors, errors[1:], strict=False)]
    assert all(3.8 < q < 4.3 for q in orders), orders


def test_rk4_ballistic_keeps_a_circular_orbit_with_fourth_order_error() -> None:
    """Point mass, inertial frame: a circular orbit has the closed form of uniform rotation."""
    r0 = 7.0e6
    v0 = math.sqrt(GM / r0)
    period = 2 * math.pi * r0 / v0

    def error(n: int) -> float:
        h = period / 8 / n
        s = (r0, 0.0, 0.0, 0.0, v0, 0.0)
        for i in range(8 * n // 8):
            s = ph.step_rk4_ballistic(*s, i * h, h, (GM, 0.0, 0.0))
        ang = v0 / r0 * n * h
        return math.hypot(s[0] - r0 * math.cos(ang), s[1] - r0 * math.sin(ang))

    e = [error(n) for n in (20, 40, 80)]
    assert all(3.7 < math.log2(a / b) < 4.3 for a, b in zip(e, e[1:], strict=False)), e


def test_rk4_rotating_frame_sees_an_inertially_fixed_point_turn_backwards() -> None:
    """gm = 0: a point at rest in inertial space appears, in the frame rotating at Omega, on the
    circle ``Rz(-Omega t) r0`` with velocity ``-w x r`` (Coriolis and centrifugal together)."""
    r0 = np.array([6.9e6, 1.0e6, 2.0e6])
    w = np.array([0.0, 0.0, OMEGA])
    v0 = -np.cross(w, r0)
    s = (*r0, *v0)
    h, n = 5.0, 2000
    for i in range(n):
        s = ph.step_rk4_ballistic(*s, i * h, h, (0.0, 0.0, OMEGA))
    a = -OMEGA * n * h
    rot = np.array([[math.cos(a), -math.sin(a), 0.0], [math.sin(a), math.cos(a), 0.0],
                    [0.0, 0.0, 1.0]])
    ref = rot @ r0
    np.testing.assert_allclose(s[:3], ref, atol=1e-3)
    np.testing.assert_allclose(s[3:], -np.cross(w, ref), atol=1e-7)


def test_rk4_array_equals_the_compiled_step_bit_for_bit() -> None:
    rng = np.random.default_rng(7)
    d = rng.normal(size=(50, 3))
    pos = rng.uniform(6.4e6, 7.0e6, 50)[:, None] * d / np.linalg.norm(d, axis=1)[:, None]
    vel = rng.normal(0.0, 2000.0, (50, 3))
    h = rng.uniform(0.1, 5.0, 50)
    for j2c, omega in ((0.0, OMEGA), (J2C, OMEGA), (0.0, 0.0)):
        got_p, got_v = ph.step_rk4_array(
            lambda p, v, _t, j=j2c, o=omega: ph.accel_gravity_ecef_array(p, v, GM, j, o),
            pos, vel, 0.0, h)
        for i in range(50):
            ref = ph.step_rk4_ballistic(*pos[i], *vel[i], 0.0, h[i], (GM, j2c, omega))
            assert tuple(got_p[i]) + tuple(got_v[i]) == ref
        acc = ph.accel_gravity_ecef_array(pos, vel, GM, j2c, omega)
        for i in range(50):
            assert tuple(acc[i]) == ph.accel_gravity_ecef(*pos[i], *vel[i], GM, j2c, omega)


# --------------------------------------------------------------------------- Hermite
@settings(max_examples=80, deadline=None)
@given(st.lists(st.floats(-1e3, 1e3), min_size=4, max_size=4), st.floats(0.0, 1.0),
       st.floats(0.01, 100.0))
def test_hermite_is_exact_on_cubics(c: list[float], s: float, dt: float) -> None:
    def p(t: float) -> float:
        return c[0] + c[1] * t + c[2] * t**2 + c[3] * t**3

    def v(t: float) -> float:
        return c[1] + 2 * c[2] * t + 3 * c[3] * t**2

    t0 = 0.3 * dt
    pos, vel = ph.interpolate_hermite(s, dt, p(t0), v(t0), p(t0 + dt), v(t0 + dt))
    t = t0 + s * dt
    scale = sum(abs(x) for x in c) * (1.0 + 2.0 * dt) ** 3
    assert pos == pytest.approx(p(t), abs=1e-12 * scale)
    assert vel == pytest.approx(v(t), abs=1e-12 * scale / dt)
    assert ph.interpolate_hermite_position(s, dt, p(t0), v(t0), p(t0 + dt), v(t0 + dt)) == pos


def test_hermite_array_equals_the_kernel_bit_for_bit() -> None:
    rng = np.random.default_rng(11)
    s = rng.uniform(0.0, 1.0, 200)
    dt = rng.uniform(0.1, 10.0, 200)
    p0, v0, p1, v1 = rng.normal(0.0, 1e6, (4, 200))
    pa, va = ph.interpolate_hermite_array(s, dt, p0, v0, p1, v1)
    assert np.array_equal(ph.interpolate_hermite_position_array(s, dt, p0, v0, p1, v1), pa)
    for i in range(200):
        assert (pa[i], va[i]) == ph.interpolate_hermite(s[i], dt[i], p0[i], v0[i], p1[i], v1[i])


# --------------------------------------------------------------------------- speed profile
PROFILES = [(1700.0, 8.0, 40.0, 300.0), (1100.0, 4.0, 25.0, 250.0), (1200.0, 0.0, 30.0, 200.0),
            (600.0, 3.0, 20.0, 700.0)]  # the last: v_min above v_max (no decay floor)


@pytest.mark.parametrize("prof", PROFILES)
def test_speed_profile_distance_is_its_integral_and_inverts(prof: tuple[float, ...]) -> None:
    vmax, tb, tau, vmin = prof
    t_floor = ph.floor_time_boost_coast(vmax, tau, vmin)
    assert t_floor == (tau * math.log(vmax / vmin) if vmax > vmin else 0.0)
    d_boost = 0.5 * vmax * tb
    d_exp = vmax * tau * (1.0 - math.exp(-t_floor / tau))
    for t in (0.5, 3.0, 7.9, 8.0, 20.0, 60.0, 150.0):
        ref, _ = integrate.quad(lambda x: ph.speed_boost_coast(x, vmax, tb, tau, vmin), 0.0, t,
                                points=[tb, tb + t_floor], limit=200)
        d = ph.distance_boost_coast(t, vmax, tb, tau, vmin, t_floor)
        assert d == pytest.approx(ref, rel=1e-9, abs=1e-9)
        back = ph.time_at_distance_boost_coast(d, vmax, tb, tau, vmin, t_floor, d_boost, d_exp)
        assert back == pytest.approx(t, rel=1e-9, abs=1e-9)
    assert ph.speed_boost_coast(0.5 * tb, vmax, tb, tau, vmin) == pytest.approx(
        0.5 * vmax if tb > 0 else vmax)
    assert ph.speed_boost_coast(1e4, vmax, tb, tau, vmin) == max(vmin, vmax * math.exp(
        -(1e4 - tb) / tau))


@pytest.mark.parametrize("prof", PROFILES)
def test_speed_profile_arrays_equal_the_kernels(prof: tuple[float, ...]) -> None:
    vmax, tb, tau, vmin = prof
    t_floor = ph.floor_time_boost_coast(vmax, tau, vmin)
    t = np.concatenate([np.linspace(-1.0, 200.0, 301), [tb, tb + t_floor]])
    sp = ph.speed_boost_coast_array(t, vmax, tb, tau, vmin)
    dist = ph.distance_boost_coast_array(t, vmax, tb, tau, vmin)
    tt = ph.time_at_distance_boost_coast_array(dist, vmax, tb, tau, vmin)
    d_boost = 0.5 * vmax * tb
    d_exp = vmax * tau * (1.0 - math.exp(-t_floor / tau))
    for i, ti in enumerate(t):
        # numpy's and libm's exp/log may differ in the last bit.
        assert sp[i] == pytest.approx(ph.speed_boost_coast(ti, vmax, tb, tau, vmin), rel=4e-16)
        assert dist[i] == pytest.approx(
            ph.distance_boost_coast(ti, vmax, tb, tau, vmin, t_floor), rel=4e-16, abs=1e-12)
        assert tt[i] == pytest.approx(ph.time_at_distance_boost_coast(
            dist[i], vmax, tb, tau, vmin, t_floor, d_boost, d_exp), rel=1e-15, abs=1e-12)
