"""Point-mass ballistic flight over the rotating WGS84 earth, and the shooting method that aims it.

Equations of motion (integrated directly in ECEF, i.e. in the frame rotating with the earth)::

    r'' = g(r) + a_drag + a_thrust + a_maneuver - 2 w x r' - w x (w x r)

- ``g(r) = -GM r / |r|^3`` plus the J2 term
  ``-(3/2) J2 GM a^2 / r^5 [x (1 - 5 z^2/r^2), y (1 - 5 z^2/r^2), z (3 - 5 z^2/r^2)]``;
- ``a_drag = -rho(h) |v| v / (2 beta)`` with ``v`` the ECEF velocity (the atmosphere turns with
  the earth, so the ECEF velocity *is* the air-relative velocity), an exponential atmosphere
  ``rho = rho0 exp(-h / H)`` and the ballistic coefficient ``beta = m / (Cd A)`` (kg/m^2);
- ``a_thrust``: a constant acceleration along a fixed ECEF direction during the boost
  (``0 <= tau < t_boost``; the integrator steps land exactly on the burnout instant);
- ``a_maneuver``: a terminal weave perpendicular to the velocity and horizontal
  (along ``v x r``), ``A s(h) s(v_down) sin(2 pi tau / P + phase)``, on when descending below
  the maneuver altitude, faded in by smoothsteps over ``ramp_m`` of height and 100 m/s of
  sink rate (so the acceleration is continuous in the state and the shooting stays smooth);
- Coriolis ``-2 w x v`` and centrifugal ``-w x (w x r)`` terms with ``w = (0, 0, Omega)``.
  Because the integration frame is ECEF, impact points and aim points are compared in ECEF
  directly: the aim holds on the rotating earth.

The height used inside the kernel is the radial height above the ellipsoid,
``h = |r| - a b / sqrt(b^2 cos^2 phi_c + a^2 sin^2 phi_c)`` (``phi_c`` geocentric latitude),
which differs from the geodetic height by less than 1 m below 100 km and is exact on the
ellipsoid (so impacts on the ground are exact).

Integration is classical fixed-step RK4 (``step_s``), one threat at a time inside a numba
kernel (a plain-Python fallback runs when numba is missing, slowly). States between steps are
cubic-Hermite interpolated from the two end states (positions and velocities), which is how
the impact instant (a root of ``h(t) - h_ground``, regula falsi) and the samples on the engine's
time grid are found. Positions are therefore exactly continuous and the velocities are the
derivative of the positions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from shieldwall.core.physics import (
    EARTH_GM_M3_S2,
    EARTH_J2,
    EARTH_OMEGA_RAD_S,
    WGS84_A_M,
    WGS84_B_M,
    accel_gravity_ecef,
    interpolate_hermite,
    j2_coefficient,
    make_step_rk4,
)
from shieldwall.core.types import FloatArray, IntArray

try:  # numba is the fast path; the pure-Python fallback gives the same numbers, slowly.
    from numba import njit
except ImportError:  # pragma: no cover - exercised only without numba
    def njit(*args, **kwargs):  # type: ignore[no-redef]
        if args and callable(args[0]):
            return args[0]
        return lambda f: f

SEA_LEVEL_DENSITY_KG_M3 = 1.225
SCALE_HEIGHT_M = 7200.0
STANDARD_GRAVITY_MPS2 = 9.80665
_DESCENT_RAMP_MPS = 100.0  # the weave fades in with the sink rate (smooth in the state)

_A = WGS84_A_M
_B = WGS84_B_M
_E2 = 1.0 - (WGS84_B_M / WGS84_A_M) ** 2


@dataclass(frozen=True)
class BallisticPhysics:
    """Physics switches and numerics of the point-mass model.

    Parameters
    ----------
    gm_m3_s2 : earth gravitational parameter GM (m^3/s^2)
    j2 : second zonal harmonic (0: point-mass gravity)
    omega_rad_s : earth rotation rate (0: non-rotating earth, no Coriolis/centrifugal terms)
    sea_level_density_kg_m3 : rho0 of the exponential atmosphere (0: vacuum)
    scale_height_m : H of the exponential atmosphere
    step_s : fixed RK4 step (s)
    max_flight_time_s : integration stops here if the ground was not reached
    """

    gm_m3_s2: float = EARTH_GM_M3_S2
    j2: float = EARTH_J2
    omega_rad_s: float = EARTH_OMEGA_RAD_S
    sea_level_density_kg_m3: float = SEA_LEVEL_DENSITY_KG_M3
    scale_height_m: float = SCALE_HEIGHT_M
    step_s: float = 0.5
    max_flight_time_s: float = 7200.0

    @classmethod
    def vacuum_nonrotating(cls, step_s: float = 0.5) -> BallisticPhysics:
        """Keplerian physics: point-mass gravity only (no J2, no rotation, no air)."""
        return cls(j2=0.0, omega_rad_s=0.0, sea_level_density_kg_m3=0.0, step_s=step_s)


@dataclass
class BallisticFlight:
    """Result of ``propagate_ballistic`` for m objects.

    Attributes
    ----------
    end_time_s : (m,) absolute time the ground (``ground_height_m``) is reached; NaN if not
        reached within ``max_flight_time_s``
    end_ecef : (m, 3) impact point (ECEF, m); last state if not reached
    end_vel_ecef : (m, 3) velocity at impact (ECEF, m/s)
    apogee_height_m : (m,) highest radial height above the ellipsoid reached
    pos_ecef, vel_ecef : (T, m, 3) states on the requested time grid (``None`` without grid);
        only samples with launch <= t < end_time are written, the others are NaN
    """

    end_time_s: FloatArray
    end_ecef: FloatArray
    end_vel_ecef: FloatArray
    apogee_height_m: FloatArray
    pos_ecef: FloatArray | None = None
    vel_ecef: FloatArray | None = None


# ---------------------------------------------------------------------------------------------
# numba kernels (scalar code, one object at a time)


@njit(cache=True)
def _radial_height(x: float, y: float, z: float) -> float:
    r2 = x * x + y * y + z * z
    r = math.sqrt(r2)
    s2 = z * z / r2
    c2 = 1.0 - s2
    return r - _A * _B / math.sqrt(_B * _B * c2 + _A * _A * s2)


@njit(cache=True)
def _accel(x, y, z, vx, vy, vz, tau, prm):  # pragma: no cover - compiled
    """Acceleration of the threat model (module docstring) in ``core.physics.step_rk4``'s form:
    ``prm = (tax, tay, taz, kdrag, man_a, man_alt, man_w, man_phase, man_ramp, mu, j2c, omega,
    inv_scale_h)``."""
    (tax, tay, taz, kdrag, man_a, man_alt, man_w, man_phase, man_ramp, mu, j2c, omega,
     inv_scale_h) = prm
    ax, ay, az = accel_gravity_ecef(x, y, z, vx, vy, vz, mu, j2c, omega)
    if kdrag != 0.0 or man_a != 0.0:
        r2 = x * x + y * y + z * z
        r = math.sqrt(r2)
        s2 = z * z / r2
        h = r - _A * _B / math.sqrt(_B * _B * (1.0 - s2) + _A * _A * s2)
        if kdrag != 0.0:
            speed = math.sqrt(vx * vx + vy * vy + vz * vz)
            d = kdrag * math.exp(-h * inv_scale_h) * speed
            ax -= d * vx
            ay -= d * vy
            az -= d * vz
        v_down = -(x * vx + y * vy + z * vz) / r
        if man_a != 0.0 and h < man_alt and v_down > 0.0:
            u = (man_alt - h) / man_ramp
            if u > 1.0:
                u = 1.0
            w = v_down / _DESCENT_RAMP_MPS
            if w > 1.0:
                w = 1.0
            amp = u * u * (3.0 - 2.0 * u) * w * w * (3.0 - 2.0 * w)
            nx = vy * z - vz * y
            ny = vz * x - vx * z
            nz = vx * y - vy * x
            nn = math.sqrt(nx * nx + ny * ny + nz * nz)
            if nn > 0.0:
                s = man_a * amp * math.sin(man_w * tau + man_phase) / nn
                ax += s * nx
                ay += s * ny
                az += s * nz
    return ax + tax, ay + tay, az + taz


_hermite = interpolate_hermite
_rk4 = make_step_rk4(_accel)


@njit(cache=True)
def _fly_ballistic_kernel(r0, v0, launch_t, thrust_acc, boost_t, kdrag, kdrag_fail, fail_t,
                          man_a, man_alt, man_phase, ground_h,
                          mu, j2c, omega, inv_scale_h, man_w, man_ramp, step, t_max,
                          grid, k_first, cols, pos_out, vel_out,
                          out_t, out_r, out_v, out_apogee):  # pragma: no cover - compiled
    m = r0.shape[0]
    n_grid = grid.shape[0]
    for i in range(m):
        x, y, z = r0[i, 0], r0[i, 1], r0[i, 2]
        vx, vy, vz = v0[i, 0], v0[i, 1], v0[i, 2]
        tau = 0.0
        g0 = _radial_height(x, y, z) - ground_h[i]
        apogee = g0 + ground_h[i]
        armed = g0 > 1.0
        k = k_first[i]
        c = cols[i]
        out_t[i] = np.nan
        while tau < t_max:
            dt = step
            thrust = tau < boost_t[i]
            if thrust and tau + dt > boost_t[i]:
                dt = boost_t[i] - tau
            failed = tau >= fail_t[i]
            if (not failed) and tau + dt > fail_t[i]:
                dt = fail_t[i] - tau
            if dt < 1e-9:
                dt = 1e-9
            if thrust and not failed:
                tax, tay, taz = thrust_acc[i, 0], thrust_acc[i, 1], thrust_acc[i, 2]
            else:
                tax, tay, taz = 0.0, 0.0, 0.0
            kd = kdrag_fail[i] if failed else kdrag[i]
            ma = 0.0 if (failed or thrust) else man_a[i]
            ma_alt = man_alt[i]
            ph = man_phase[i]
            prm = (tax, tay, taz, kd, ma, ma_alt, man_w, ph, man_ramp, mu, j2c, omega,
                   inv_scale_h)
            nx, ny, nz, nvx, nvy, nvz = _rk4(x, y, z, vx, vy, vz, tau, dt, prm)
            g1 = _radial_height(nx, ny, nz) - ground_h[i]
            if g1 + ground_h[i] > apogee:
                apogee = g1 + ground_h[i]
            if (not armed) and g1 > 1.0:
                armed = True
            ended = armed and g1 <= 0.0
            s_end = 1.0
            if ended:
                # Illinois regula falsi for the ground crossing on the Hermite arc.
                sa, ga, sb, gb = 0.0, g0, 1.0, g1
                side = 0
                for _ in range(60):
                    if ga == gb:
                        break
                    s = (sa * gb - sb * ga) / (gb - ga)
                    px, _vx = _hermite(s, dt, x, vx, nx, nvx)
                    py, _vy = _hermite(s, dt, y, vy, ny, nvy)
                    pz, _vz = _hermite(s, dt, z, vz, nz, nvz)
                    gs = _radial_height(px, py, pz) - ground_h[i]
                    if abs(gs) < 1e-6 or sb - sa < 1e-13:
                        sb = s
                        break
                    if gs > 0.0:
                        sa, ga = s, gs
                        if side == 1:
                            gb *= 0.5
                        side = 1
                    else:
                        sb, gb = s, gs
                        if side == -1:
                            ga *= 0.5
                        side = -1
                s_end = sb
            ta = launch_t[i] + tau
            tb = launch_t[i] + (tau + s_end * dt) if ended else launch_t[i] + (tau + dt)
            while k < n_grid and grid[k] < tb:
                s = (grid[k] - ta) / dt
                px, qx = _hermite(s, dt, x, vx, nx, nvx)
                py, qy = _hermite(s, dt, y, vy, ny, nvy)
                pz, qz = _hermite(s, dt, z, vz, nz, nvz)
                pos_out[k, c, 0] = px
                pos_out[k, c, 1] = py
                pos_out[k, c, 2] = pz
                vel_out[k, c, 0] = qx
                vel_out[k, c, 1] = qy
                vel_out[k, c, 2] = qz
                k += 1
            if ended:
                px, qx = _hermite(s_end, dt, x, vx, nx, nvx)
                py, qy = _hermite(s_end, dt, y, vy, ny, nvy)
                pz, qz = _hermite(s_end, dt, z, vz, nz, nvz)
                out_t[i] = tb
                out_r[i, 0], out_r[i, 1], out_r[i, 2] = px, py, pz
                out_v[i, 0], out_v[i, 1], out_v[i, 2] = qx, qy, qz
                break
            tau += dt
            x, y, z, vx, vy, vz = nx, ny, nz, nvx, nvy, nvz
            g0 = g1
        if not (out_t[i] == out_t[i]):  # never reached the ground
            out_r[i, 0], out_r[i, 1], out_r[i, 2] = x, y, z
            out_v[i, 0], out_v[i, 1], out_v[i, 2] = vx, vy, vz
        out_apogee[i] = apogee


# ---------------------------------------------------------------------------------------------
# array-level wrappers


def radial_height_m(pos_ecef: FloatArray) -> FloatArray:
    """Radial height above the WGS84 ellipsoid of ECEF points ``(..., 3)`` (see module doc)."""
    p = np.asarray(pos_ecef, float)
    r2 = np.sum(p * p, axis=-1)
    s2 = p[..., 2] ** 2 / r2
    return np.sqrt(r2) - _A * _B / np.sqrt(_B * _B * (1.0 - s2) + _A * _A * s2)


def maneuver_phase_rad(maneuver_seed: IntArray) -> FloatArray:
    """Deterministic weave phase in [0, 2 pi) from a threat's maneuver seed (golden-ratio hash)."""
    seed = np.asarray(maneuver_seed, np.int64).astype(np.float64)
    return 2.0 * np.pi * np.mod(seed * 0.6180339887498949, 1.0)


def _per(value: FloatArray | float | None, m: int, default: float) -> FloatArray:
    if value is None:
        return np.full(m, default)
    return np.broadcast_to(np.asarray(value, float), (m,)).astype(float).copy()


def propagate_ballistic(
    pos_ecef: FloatArray,
    vel_ecef: FloatArray,
    physics: BallisticPhysics,
    *,
    launch_time_s: FloatArray | float = 0.0,
    ballistic_coefficient_kg_m2: FloatArray | float | None = None,
    ground_height_m: FloatArray | float = 0.0,
    thrust_accel_ecef: FloatArray | None = None,
    boost_time_s: FloatArray | float = 0.0,
    fail_time_s: FloatArray | float | None = None,
    failure_drag_factor: float = 25.0,
    maneuver_accel_mps2: FloatArray | float = 0.0,
    maneuver_alt_m: FloatArray | float = 0.0,
    maneuver_phase: FloatArray | float = 0.0,
    maneuver_period_s: float = 8.0,
    maneuver_ramp_m: float = 2000.0,
    time_s: FloatArray | None = None,
    pos_out: FloatArray | None = None,
    vel_out: FloatArray | None = None,
    columns: IntArray | None = None,
) -> BallisticFlight:
    """Integrate m objects from an initial ECEF state until they reach the ground.

    Parameters
    ----------
    pos_ecef, vel_ecef : (m, 3) state at ``launch_time_s`` (ECEF m, m/s)
    physics : gravity / rotation / atmosphere switches and the RK4 step
    launch_time_s : (m,) absolute time of the initial state (s)
    ballistic_coefficient_kg_m2 : (m,) beta = m/(Cd A); ``None``: no drag
    ground_height_m : (m,) radial height of the ground surface that ends the flight
    thrust_accel_ecef : (m, 3) constant thrust acceleration (m/s^2) for ``boost_time_s``
    fail_time_s : (m,) time after launch at which the object fails: thrust and maneuver stop
        and drag rises by ``failure_drag_factor`` (tumbling); ``None``/inf: never
    maneuver_accel_mps2, maneuver_alt_m, maneuver_phase : terminal weave (see module doc)
    time_s : (T,) optional increasing time grid to sample the flight on
    pos_out, vel_out, columns : optional preallocated (T, N, 3) outputs and the column of each
        object (for writing into a larger table in place)

    Returns
    -------
    BallisticFlight
    """
    r0 = np.ascontiguousarray(np.atleast_2d(np.asarray(pos_ecef, float)))
    v0 = np.ascontiguousarray(np.atleast_2d(np.asarray(vel_ecef, float)))
    m = r0.shape[0]
    launch = _per(launch_time_s, m, 0.0)
    rho0 = physics.sea_level_density_kg_m3
    if ballistic_coefficient_kg_m2 is None or rho0 == 0.0:
        kdrag = np.zeros(m)
    else:
        kdrag = rho0 / (2.0 * _per(ballistic_coefficient_kg_m2, m, 1.0))
    kdrag_fail = kdrag * failure_drag_factor
    thrust = (np.zeros((m, 3)) if thrust_accel_ecef is None
              else np.ascontiguousarray(np.broadcast_to(thrust_accel_ecef, (m, 3)), float))
    boost = _per(boost_time_s, m, 0.0)
    fail = _per(fail_time_s, m, np.inf)
    fail = np.where(np.isfinite(fail), fail, np.inf)
    man_a = _per(maneuver_accel_mps2, m, 0.0)
    man_alt = _per(maneuver_alt_m, m, 0.0)
    man_phase = _per(maneuver_phase, m, 0.0)
    ground = _per(ground_height_m, m, 0.0)
    j2c = j2_coefficient(physics.j2, physics.gm_m3_s2, _A)
    if time_s is None:
        grid = np.zeros(0)
        k_first = np.zeros(m, np.int64)
    else:
        grid = np.ascontiguousarray(np.asarray(time_s, float))
        k_first = np.searchsorted(grid, launch, side="left").astype(np.int64)
    n_grid = grid.shape[0]
    own_output = pos_out is None
    if own_output:
        if n_grid:
            pos_out = np.full((n_grid, m, 3), np.nan)
            vel_out = np.full((n_grid, m, 3), np.nan)
        else:
            pos_out = np.zeros((1, 1, 3))
            vel_out = np.zeros((1, 1, 3))
        columns = np.arange(m, dtype=np.int64)
    assert pos_out is not None and vel_out is not None
    cols = (np.arange(m, dtype=np.int64) if columns is None
            else np.asarray(columns, np.int64))
    out_t = np.empty(m)
    out_r = np.empty((m, 3))
    out_v = np.empty((m, 3))
    out_apogee = np.empty(m)
    _fly_ballistic_kernel(
        r0, v0, launch, thrust, boost, kdrag, kdrag_fail, fail, man_a, man_alt, man_phase,
        ground, float(physics.gm_m3_s2), float(j2c), float(physics.omega_rad_s),
        1.0 / physics.scale_height_m, 2.0 * np.pi / maneuver_period_s, float(maneuver_ramp_m),
        float(physics.step_s), float(physics.max_flight_time_s),
        grid, k_first, cols, pos_out, vel_out, out_t, out_r, out_v, out_apogee)
    flight = BallisticFlight(out_t, out_r, out_v, out_apogee)
    if own_output and n_grid:
        flight.pos_ecef, flight.vel_ecef = pos_out, vel_out
    return flight


def enu_basis(lat_deg: FloatArray, lon_deg: FloatArray) -> FloatArray:
    """Per-point ECEF->ENU rotations ``(m, 3, 3)`` (rows east, north, up; see geo.enu_rotation)."""
    p, lam = np.radians(lat_deg), np.radians(lon_deg)
    sp, cp, sl, cl = np.sin(p), np.cos(p), np.sin(lam), np.cos(lam)
    zero = np.zeros_like(sp)
    return np.stack([np.stack([-sl, cl, zero], -1),
                     np.stack([-sp * cl, -sp * sl, cp], -1),
                     np.stack([cp * cl, cp * sl, sp], -1)], axis=-2)


@dataclass
class BallisticAim:
    """Solution of ``aim_ballistic`` for m missiles.

    Attributes
    ----------
    thrust_accel_ecef : (m, 3) constant boost acceleration (or, with zero boost time, the
        impulsive velocity increment) that flies the missile to its aim point
    flight : the converged ``BallisticFlight`` (impact point, time, apogee)
    converged : (m,) bool, impact within tolerance of the aim and apogee within 0.5 %
    iterations : number of Newton iterations used
    """

    thrust_accel_ecef: FloatArray
    initial_vel_ecef: FloatArray
    flight: BallisticFlight
    converged: np.ndarray
    iterations: int


def aim_ballistic(
    launch_ecef: FloatArray,
    launch_vel_ecef: FloatArray,
    aim_ecef: FloatArray,
    apogee_height_m: FloatArray,
    physics: BallisticPhysics,
    *,
    boost_time_s: float = 20.0,
    ballistic_coefficient_kg_m2: FloatArray | None = None,
    maneuver_accel_mps2: FloatArray | float = 0.0,
    maneuver_alt_m: FloatArray | float = 0.0,
    maneuver_phase: FloatArray | float = 0.0,
    maneuver_period_s: float = 8.0,
    maneuver_ramp_m: float = 2000.0,
    tolerance_m: float = 0.5,
    max_iterations: int = 30,
) -> BallisticAim:
    """Vectorized shooting method: the boost that reaches the apogee and lands on the aim point.

    Unknowns per missile ``q = (dv, elevation, azimuth)``: ideal velocity increment of the boost
    (m/s) and the direction of the constant thrust in the launch point's ENU frame. The boost
    acceleration is ``dv / t_boost`` along that direction (impulsive when ``t_boost = 0``).
    Residuals: east and north miss at the aim (aim ENU frame, m) and apogee error (m).
    Newton's method with a forward-difference Jacobian, all missiles at once (one kernel call
    for the 4 m trial flights), each step limited and halved while it does not reduce the
    residual. The initial guess is the flat-earth vacuum parabola through the apogee.
    The terminal maneuver (deterministic given its phase) is flown inside the shooting, so the
    aim holds with it.
    """
    r0 = np.atleast_2d(np.asarray(launch_ecef, float))
    vl = np.atleast_2d(np.asarray(launch_vel_ecef, float))
    aim = np.atleast_2d(np.asarray(aim_ecef, float))
    m = r0.shape[0]
    target = _per(apogee_height_m, m, 0.0)
    beta = None if ballistic_coefficient_kg_m2 is None else _per(ballistic_coefficient_kg_m2, m, 1)
    man_a = _per(maneuver_accel_mps2, m, 0.0)
    man_alt = _per(maneuver_alt_m, m, 0.0)
    man_ph = _per(maneuver_phase, m, 0.0)
    ground = radial_height_m(aim)
    from shieldwall.geo import ecef2geodetic  # local: keep kernel import light

    lat_l, lon_l, _ = ecef2geodetic(r0)
    lat_a, lon_a, _ = ecef2geodetic(aim)
    rot_l = enu_basis(lat_l, lon_l)
    rot_a = enu_basis(lat_a, lon_a)
    g0 = physics.gm_m3_s2 / _A**2
    # Flat-earth vacuum guess: burnout at the launch point with the apogee over the launch
    # height, then add the gravity loss of the boost.
    d_enu = np.einsum("mij,mj->mi", rot_l, aim - r0)
    ground_range = np.hypot(d_enu[:, 0], d_enu[:, 1])
    h0 = radial_height_m(r0)
    rise = np.maximum(target - h0, 100.0)
    fall = np.maximum(target - ground, 100.0)
    vz = np.sqrt(2 * g0 * rise)
    t_f = vz / g0 + np.sqrt(2 * fall / g0)
    vh = ground_range / t_f
    az = np.arctan2(d_enu[:, 0], d_enu[:, 1])
    vl_enu = np.einsum("mij,mj->mi", rot_l, vl)
    want = np.stack([vh * np.sin(az), vh * np.cos(az), vz + g0 * boost_time_s], -1) - vl_enu
    dv = np.linalg.norm(want, axis=1)
    q = np.stack([dv, np.arcsin(want[:, 2] / dv), np.arctan2(want[:, 0], want[:, 1])], -1)

    def thrust_of(qq: FloatArray, rot: FloatArray) -> FloatArray:
        ce = np.cos(qq[:, 1])
        u_enu = np.stack([ce * np.sin(qq[:, 2]), ce * np.cos(qq[:, 2]), np.sin(qq[:, 1])], -1)
        u = np.einsum("mji,mj->mi", rot, u_enu)
        scale = qq[:, 0] / boost_time_s if boost_time_s > 0 else qq[:, 0]
        return u * scale[:, None]

    def run(qq: FloatArray, idx: IntArray) -> tuple[FloatArray, BallisticFlight]:
        k = len(idx)
        acc = thrust_of(qq, rot_l[idx])
        if boost_time_s > 0:
            v_init, thr = vl[idx], acc
        else:
            v_init, thr = vl[idx] + acc, np.zeros((k, 3))
        fl = propagate_ballistic(
            r0[idx], v_init, physics,
            ballistic_coefficient_kg_m2=None if beta is None else beta[idx],
            ground_height_m=ground[idx], thrust_accel_ecef=thr, boost_time_s=boost_time_s,
            maneuver_accel_mps2=man_a[idx], maneuver_alt_m=man_alt[idx],
            maneuver_phase=man_ph[idx], maneuver_period_s=maneuver_period_s,
            maneuver_ramp_m=maneuver_ramp_m)
        miss = np.einsum("mij,mj->mi", rot_a[idx], fl.end_ecef - aim[idx])
        end_ok = np.isfinite(fl.end_time_s)
        res = np.stack([miss[:, 0], miss[:, 1], fl.apogee_height_m - target[idx]], -1)
        res[~end_ok] = 1e9
        return res, fl

    all_idx = np.arange(m)
    res, flight = run(q, all_idx)
    steps = np.array([1e-2, 1e-5, 1e-5])

    def done_mask(r: FloatArray) -> np.ndarray:
        return (np.hypot(r[:, 0], r[:, 1]) < tolerance_m) & (
            np.abs(r[:, 2]) < np.maximum(5e-3 * target, 1.0))

    def merit(r: FloatArray) -> FloatArray:
        return np.hypot(np.hypot(r[:, 0], r[:, 1]), 10.0 * r[:, 2])

    it = 0
    for it in range(1, max_iterations + 1):  # noqa: B007
        active = np.flatnonzero(~done_mask(res))
        if active.size == 0:
            break
        qa, ra = q[active], res[active]
        k = active.size
        trial = np.repeat(qa[None], 3, axis=0)
        for j in range(3):
            trial[j, :, j] += steps[j]
        r_trial, _ = run(trial.reshape(-1, 3), np.tile(active, 3))
        jac = (r_trial.reshape(3, k, 3) - ra[None]) / steps[:, None, None]  # (j, m, res)
        jac = np.transpose(jac, (1, 2, 0))  # (m, res, unknown)
        ok = np.isfinite(jac).all(axis=(1, 2)) & (np.abs(np.linalg.det(jac)) > 1e-30)
        jac[~ok] = np.eye(3)
        dq = -np.linalg.solve(jac, ra[..., None])[..., 0]
        dq[~ok] = 0.0
        dq[~ok, 0] = 0.05 * qa[~ok, 0]
        # Limit the step: 20 % of the speed, 0.15 rad of angle.
        lim = np.maximum.reduce([np.abs(dq[:, 0]) / (0.2 * qa[:, 0]),
                                 np.abs(dq[:, 1]) / 0.15, np.abs(dq[:, 2]) / 0.15,
                                 np.ones(k)])
        dq /= lim[:, None]
        lam = np.ones(k)
        best_q, best_r = qa.copy(), ra.copy()
        pending = np.arange(k)
        base_merit = merit(ra)
        for _ in range(6):
            qn = qa[pending] + lam[pending, None] * dq[pending]
            rn, _ = run(qn, active[pending])
            better = merit(rn) < base_merit[pending]
            accepted = pending[better]
            best_q[accepted], best_r[accepted] = qn[better], rn[better]
            pending = pending[~better]
            if pending.size == 0:
                break
            lam[pending] *= 0.5
        q[active], res[active] = best_q, best_r
    converged = done_mask(res)
    # Final flight for every missile (the converged one is what the truth flies).
    res, flight = run(q, all_idx)
    acc = thrust_of(q, rot_l)
    if boost_time_s > 0:
        v_init, thr = vl.copy(), acc
    else:
        v_init, thr = vl + acc, np.zeros((m, 3))
    return BallisticAim(thr, v_init, flight, converged, it)
