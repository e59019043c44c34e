"""Shared physics kernels: WGS84 gravity in the rotating ECEF frame, RK4, cubic Hermite
interpolation and the interceptor speed profile, written once for every layer above.

Two tiers, as everywhere in shieldwall: scalar kernels compiled with numba (``@njit``, one
object at a time, tuples of floats in and out; called from the compiled loops of threats,
tracking, weapons and c2) and numpy-vectorized wrappers (``*_array``) for the callers that are
not compiled. A wrapper performs the same floating-point operations in the same order as its
kernel, so the two agree to the last bit (tested). No objects, no randomness, SI units.

Earth model (WGS84; NIMA TR8350.2, 3rd ed., tables 3.1-3.4)::

    a = 6378137 m, f = 1/298.257223563, GM = 3.986004418e14 m^3/s^2,
    Omega = 7.2921150e-5 rad/s, J2 = 1.08262668e-3  (C20 = -4.84166774985e-4, EGM96)

Gravity with the rotating-frame terms (acceleration of a point mass seen in ECEF)::

    a = -GM r/|r|^3                                           point mass
        - (3/2) J2 GM a^2 / r^5 [x (1 - 5 z^2/r^2),
                                 y (1 - 5 z^2/r^2),
                                 z (3 - 5 z^2/r^2)]           J2 (oblateness)
        - 2 w x v - w x (w x r),   w = (0, 0, Omega)          Coriolis, centrifugal

``j2c = (3/2) J2 GM a^2`` (``j2_coefficient``) and ``omega`` are arguments, so the same kernel
gives the Keplerian model (``j2c = 0``, ``omega = 0``), the point mass in the rotating frame
(``j2c = 0``: the battle manager's and the trackers' predictors) and the full model (the truth
of ballistic threats). A zero coefficient skips its term, so no rounding is added.

RK4 is the classical fourth-order Runge-Kutta step of ``r'' = a(r, r', t)`` written for a
position/velocity pair (stages ``k_i = (u_i, a_i)``, weights 1/6, 1/3, 1/3, 1/6);
``make_step_rk4`` builds it for any compiled acceleration.

numba's cache does not see edits of a function in another file: after changing a kernel
here, remove the stale caches (``find src -name '*.nb[ic]' -delete``) before measuring.

Cubic Hermite interpolation over a segment of length ``dt`` at ``s = (t - t0)/dt in [0, 1]``::

    p(s) = h00 p0 + h10 dt v0 + h01 p1 + h11 dt v1
    h00 = 2s^3 - 3s^2 + 1, h10 = s^3 - 2s^2 + s, h01 = -2s^3 + 3s^2, h11 = s^3 - s^2

(exact for cubic motion; its derivative divided by ``dt`` is the velocity).

Interceptor speed profile (public-data friendly, boost/sustain/coast)::

    v(t) = v_max t / t_b                                 0 <= t < t_b   (boost, linear)
    v(t) = max(v_min, v_max exp(-(t - t_b) / tau))       t >= t_b       (coast, drag decay)

with the path length ``D(t)`` its integral (closed form, ``t_floor = tau ln(v_max / v_min)``
the time the coast reaches ``v_min``) and ``time_at_distance_boost_coast`` its inverse.
Per-type parameter tables that carry this profile put it in the columns ``PROFILE_*``.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from shieldwall.core.types import FloatArray

try:  # numba is the fast path; without it the kernels run as plain Python (same numbers).
    from numba import njit
except ImportError:  # pragma: no cover - exercised only without numba
    def njit(*args: Any, **kwargs: Any) -> Any:  # type: ignore[no-redef]
        if args and callable(args[0]):
            return args[0]
        return lambda f: f

# --------------------------------------------------------------------------- WGS84 constants
WGS84_A_M = 6378137.0
WGS84_F = 1.0 / 298.257223563
WGS84_B_M = WGS84_A_M * (1.0 - WGS84_F)
EARTH_GM_M3_S2 = 3.986004418e14
EARTH_OMEGA_RAD_S = 7.2921150e-5
EARTH_J2 = 1.08262668e-3

# --------------------------------------------------------------------------- table layout
# Columns of the speed profile in a per-type parameter table (rows: interceptor types). Tables
# that carry more per-type figures (weapons.flyout, c2.feasibility) put theirs after
# ``PROFILE_COLUMNS``.
PROFILE_VMAX = 0    # v_max (m/s)
PROFILE_TB = 1      # t_b, boost (burn) time (s)
PROFILE_TAU = 2     # tau, coast decay time (s)
PROFILE_VMIN = 3    # v_min (m/s)
PROFILE_TMAX = 4    # maximum time of flight (s)
PROFILE_COLUMNS = 5



def j2_coefficient(j2: float = EARTH_J2, gm_m3_s2: float = EARTH_GM_M3_S2,
                   a_m: float = WGS84_A_M) -> float:
    """``j2c = (3/2) J2 GM a^2`` (m^5/s^2), the J2 argument of the gravity kernels."""
    return 1.5 * j2 * gm_m3_s2 * a_m * a_m


# --------------------------------------------------------------------------- gravity
@njit(cache=True, error_model="numpy")
def accel_gravity_ecef(x: float, y: float, z: float, vx: float, vy: float, vz: float,
                       gm: float, j2c: float, omega: float
                       ) -> tuple[float, float, float]:  # pragma: no cover - compiled
    """Acceleration (m/s^2, ECEF) of a point mass at ECEF position ``(x, y, z)`` (m) moving at
    ``(vx, vy, vz)`` (m/s, ECEF): point-mass gravity ``-gm r/|r|^3``, the J2 term (``j2c =
    (3/2) J2 GM a^2``; 0: none) and the Coriolis and centrifugal terms of the frame rotating
    at ``omega`` (rad/s) about z (0: inertial). See the module docstring."""
    r2 = x * x + y * y + z * z
    r = math.sqrt(r2)
    f = -gm / (r2 * r)
    ax = f * x
    ay = f * y
    az = f * z
    if j2c != 0.0:
        zr2 = z * z / r2
        g = -j2c / (r2 * r2 * r)
        ax += g * x * (1.0 - 5.0 * zr2)
        ay += g * y * (1.0 - 5.0 * zr2)
        az += g * z * (3.0 - 5.0 * zr2)
    if omega != 0.0:
        # -2 w x v - w x (w x r) with w = (0, 0, omega), written out (no z component).
        w2 = omega * omega
        ax += 2.0 * omega * vy + w2 * x
        ay += -2.0 * omega * vx + w2 * y
    return ax, ay, az


@njit(cache=True, error_model="numpy")
def accel_ballistic_ecef(x: float, y: float, z: float, vx: float, vy: float, vz: float,
                         t: float, params: tuple[float, float, float]
                         ) -> tuple[float, float, float]:  # pragma: no cover - compiled
    """``accel_gravity_ecef`` in the form ``step_rk4`` takes: ``params = (gm, j2c, omega)``
    (unpowered, drag-free flight; ``t`` is unused)."""
    return accel_gravity_ecef(x, y, z, vx, vy, vz, params[0], params[1], params[2])


def accel_gravity_ecef_array(pos_ecef: FloatArray, vel_ecef: FloatArray,
                             gm: float = EARTH_GM_M3_S2, j2c: float = 0.0,
                             omega: float = EARTH_OMEGA_RAD_S) -> FloatArray:
    """``accel_gravity_ecef`` over arrays: positions, velocities ``(..., 3)`` (ECEF m, m/s) ->
    accelerations ``(..., 3)`` (m/s^2); the same operations as the kernel."""
    p = np.asarray(pos_ecef, float)
    v = np.asarray(vel_ecef, float)
    x, y, z = p[..., 0], p[..., 1], p[..., 2]
    r2 = x * x + y * y + z * z
    r = np.sqrt(r2)
    f = -gm / (r2 * r)
    ax, ay, az = f * x, f * y, f * z
    if j2c != 0.0:
        zr2 = z * z / r2
        g = -j2c / (r2 * r2 * r)
        ax = ax + g * x * (1.0 - 5.0 * zr2)
        ay = ay + g * y * (1.0 - 5.0 * zr2)
        az = az + g * z * (3.0 - 5.0 * zr2)
    if omega != 0.0:
        w2 = omega * omega
        ax = ax + (2.0 * omega * v[..., 1] + w2 * x)
        ay = ay + (-2.0 * omega * v[..., 0] + w2 * y)
    return np.stack([ax, ay, az], axis=-1)


# --------------------------------------------------------------------------- RK4
def _source_key(func: Any) -> str:
    """A digest of a compiled function's Python code (bytecode and constants), so that a step
    built by ``make_step_rk4`` is recompiled, not loaded stale from numba's cache, when the
    acceleration it closes over is edited."""
    py = getattr(func, "py_func", func)
    code = py.__code__
    return hashlib.sha256(code.co_code + repr(code.co_consts).encode()).hexdigest()


def make_step_rk4(accel: Callable[..., tuple[float, float, float]]
                  ) -> Callable[..., tuple[float, float, float, float, float, float]]:
    """The classical RK4 step of ``r'' = accel(r, r', t, params)`` as a compiled function
    ``step(x, y, z, vx, vy, vz, t, h, params) -> (x, y, z, vx, vy, vz)`` (one step of ``h`` s
    from time ``t``; units of the inputs).

    ``accel`` is a compiled function ``(x, y, z, vx, vy, vz, t, params) -> (ax, ay, az)``
    (e.g. ``accel_ballistic_ecef``) and ``params`` whatever it takes (a tuple of floats). The
    step closes over ``accel`` (numba cannot cache a function that receives a compiled
    function as an argument when that function calls others), one step per acceleration
    model, built once at import.
    """
    key = _source_key(accel)

    @njit(cache=True, error_model="numpy")
    def step(x: float, y: float, z: float, vx: float, vy: float, vz: float, t: float,
             h: float, params: Any
             ) -> tuple[float, float, float, float, float, float]:  # pragma: no cover
        _ = key  # part of the cache key (see _source_key)
        a1x, a1y, a1z = accel(x, y, z, vx, vy, vz, t, params)
        h2 = 0.5 * h
        u2x, u2y, u2z = vx + h2 * a1x, vy + h2 * a1y, vz + h2 * a1z
        a2x, a2y, a2z = accel(x + h2 * vx, y + h2 * vy, z + h2 * vz, u2x, u2y, u2z, t + h2,
                              params)
        u3x, u3y, u3z = vx + h2 * a2x, vy + h2 * a2y, vz + h2 * a2z
        a3x, a3y, a3z = accel(x + h2 * u2x, y + h2 * u2y, z + h2 * u2z, u3x, u3y, u3z,
                              t + h2, params)
        u4x, u4y, u4z = vx + h * a3x, vy + h * a3y, vz + h * a3z
        a4x, a4y, a4z = accel(x + h * u3x, y + h * u3y, z + h * u3z, u4x, u4y, u4z, t + h,
                              params)
        w6 = h / 6.0
        return (x + w6 * (vx + 2.0 * u2x + 2.0 * u3x + u4x),
                y + w6 * (vy + 2.0 * u2y + 2.0 * u3y + u4y),
                z + w6 * (vz + 2.0 * u2z + 2.0 * u3z + u4z),
                vx + w6 * (a1x + 2.0 * a2x + 2.0 * a3x + a4x),
                vy + w6 * (a1y + 2.0 * a2y + 2.0 * a3y + a4y),
                vz + w6 * (a1z + 2.0 * a2z + 2.0 * a3z + a4z))

    return step  # type: ignore[no-any-return]


#: RK4 step of unpowered flight under ``accel_gravity_ecef``: ``step_rk4_ballistic(x, y, z,
#: vx, vy, vz, t, h, (gm, j2c, omega))``.
step_rk4_ballistic = make_step_rk4(accel_ballistic_ecef)


def step_rk4_array(accel: Callable[[FloatArray, FloatArray, FloatArray], FloatArray],
                   pos: FloatArray, vel: FloatArray, t: FloatArray | float,
                   h: FloatArray | float) -> tuple[FloatArray, FloatArray]:
    """``step_rk4`` over arrays: ``accel(pos (..., 3), vel (..., 3), t) -> (..., 3)``;
    ``h`` (s) a scalar or per entity ``(...)``. Returns ``(pos, vel)`` ``(..., 3)``."""
    p = np.asarray(pos, float)
    v = np.asarray(vel, float)
    hh = np.asarray(h, float)
    tt = np.asarray(t, float)
    hv = hh[..., None] if hh.ndim else hh
    h2 = 0.5 * hh
    h2v = h2[..., None] if hh.ndim else h2
    a1 = accel(p, v, tt)
    u2 = v + h2v * a1
    a2 = accel(p + h2v * v, u2, tt + h2)
    u3 = v + h2v * a2
    a3 = accel(p + h2v * u2, u3, tt + h2)
    u4 = v + hv * a3
    a4 = accel(p + hv * u3, u4, tt + hh)
    w6 = hh / 6.0
    w6v = w6[..., None] if hh.ndim else w6
    return (p + w6v * (v + 2.0 * u2 + 2.0 * u3 + u4),
            v + w6v * (a1 + 2.0 * a2 + 2.0 * a3 + a4))


# --------------------------------------------------------------------------- Hermite
@njit(cache=True, error_model="numpy")
def interpolate_hermite(s: float, dt: float, p0: float, v0: float, p1: float, v1: float
                        ) -> tuple[float, float]:  # pragma: no cover - compiled
    """Cubic Hermite position and velocity at ``s in [0, 1]`` of a segment of duration ``dt``
    (s) from ``(p0, v0)`` to ``(p1, v1)`` (one coordinate; m, m/s). See the module docstring."""
    s2 = s * s
    s3 = s2 * s
    h00 = 2.0 * s3 - 3.0 * s2 + 1.0
    h10 = s3 - 2.0 * s2 + s
    h01 = -2.0 * s3 + 3.0 * s2
    h11 = s3 - s2
    d00 = 6.0 * s2 - 6.0 * s
    d10 = 3.0 * s2 - 4.0 * s + 1.0
    d01 = -6.0 * s2 + 6.0 * s
    d11 = 3.0 * s2 - 2.0 * s
    p = h00 * p0 + h10 * dt * v0 + h01 * p1 + h11 * dt * v1
    v = (d00 * p0 + d10 * dt * v0 + d01 * p1 + d11 * dt * v1) / dt
    return p, v


@njit(cache=True, error_model="numpy")
def interpolate_hermite_position(s: float, dt: float, p0: float, v0: float, p1: float,
                                 v1: float) -> float:  # pragma: no cover - compiled
    """The position of ``interpolate_hermite`` alone (the same operations)."""
    s2 = s * s
    s3 = s2 * s
    h00 = 2.0 * s3 - 3.0 * s2 + 1.0
    h10 = s3 - 2.0 * s2 + s
    h01 = -2.0 * s3 + 3.0 * s2
    h11 = s3 - s2
    return h00 * p0 + h10 * dt * v0 + h01 * p1 + h11 * dt * v1


def interpolate_hermite_array(s: FloatArray, dt: FloatArray | float, p0: FloatArray,
                              v0: FloatArray, p1: FloatArray, v1: FloatArray
                              ) -> tuple[FloatArray, FloatArray]:
    """``interpolate_hermite`` over arrays (all broadcast; ``s`` and ``dt`` usually
    ``(..., 1)`` against states ``(..., 3)``): ``(position, velocity)``."""
    s = np.asarray(s, float)
    dt = np.asarray(dt, float)
    s2 = s * s
    s3 = s2 * s
    h00 = 2.0 * s3 - 3.0 * s2 + 1.0
    h10 = s3 - 2.0 * s2 + s
    h01 = -2.0 * s3 + 3.0 * s2
    h11 = s3 - s2
    d00 = 6.0 * s2 - 6.0 * s
    d10 = 3.0 * s2 - 4.0 * s + 1.0
    d01 = -6.0 * s2 + 6.0 * s
    d11 = 3.0 * s2 - 2.0 * s
    p = h00 * p0 + h10 * dt * v0 + h01 * p1 + h11 * dt * v1
    v = (d00 * p0 + d10 * dt * v0 + d01 * p1 + d11 * dt * v1) / dt
    return p, v


def interpolate_hermite_position_array(s: FloatArray, dt: FloatArray | float, p0: FloatArray,
                                       v0: FloatArray, p1: FloatArray,
                                       v1: FloatArray) -> FloatArray:
    """The position of ``interpolate_hermite_array`` alone (the same operations)."""
    s = np.asarray(s, float)
    dt = np.asarray(dt, float)
    s2 = s * s
    s3 = s2 * s
    return np.asarray((2.0 * s3 - 3.0 * s2 + 1.0) * p0 + (s3 - 2.0 * s2 + s) * dt * v0
                      + (-2.0 * s3 + 3.0 * s2) * p1 + (s3 - s2) * dt * v1, float)


# --------------------------------------------------------------------------- speed profile
@njit(cache=True, error_model="numpy")
def speed_boost_coast(t: float, vmax: float, tb: float, tau: float,
                      vmin: float) -> float:  # pragma: no cover - compiled
    """Speed (m/s) at ``t`` (s) after launch of the boost/coast profile (module docstring)."""
    if t < tb:
        return vmax * max(t, 0.0) / tb if tb > 0 else vmax
    return max(vmin, vmax * math.exp(-max(t - tb, 0.0) / tau))


@njit(cache=True, error_model="numpy")
def floor_time_boost_coast(vmax: float, tau: float, vmin: float) -> float:  # pragma: no cover
    """Coast time (s) after which the profile's speed stays at ``vmin``: ``tau ln(vmax/vmin)``
    (0 when ``vmax <= vmin``)."""
    return tau * math.log(max(vmax / vmin, 1.0)) if vmax > vmin else 0.0


@njit(cache=True, error_model="numpy")
def distance_boost_coast(t: float, vmax: float, tb: float, tau: float, vmin: float,
                         t_floor: float) -> float:  # pragma: no cover - compiled
    """Path length (m) flown by ``t`` (s): the integral of ``speed_boost_coast``; ``t_floor``
    from ``floor_time_boost_coast``."""
    t = max(t, 0.0)
    boost_d = 0.5 * vmax * min(t, tb) ** 2 / tb if tb > 0 else 0.0
    tc = max(t - tb, 0.0)
    exp_d = vmax * tau * (1.0 - math.exp(-min(tc, t_floor) / tau))
    return boost_d + exp_d + vmin * max(tc - t_floor, 0.0)


@njit(cache=True, error_model="numpy")
def time_at_distance_boost_coast(d: float, vmax: float, tb: float, tau: float, vmin: float,
                                 t_floor: float, d_boost: float,
                                 d_exp: float) -> float:  # pragma: no cover - compiled
    """Inverse of ``distance_boost_coast``: the time (s) the path length reaches ``d`` (m)
    (piecewise closed form; NaN where the coast cannot reach it). ``d_boost = vmax tb / 2``
    and ``d_exp = vmax tau (1 - exp(-t_floor / tau))`` are the boost and decaying-coast
    lengths."""
    if d <= d_boost:
        return math.sqrt(2.0 * max(d, 0.0) * tb / vmax) if tb > 0 else 0.0
    if d <= d_boost + d_exp:
        arg = 1.0 - (d - d_boost) / (vmax * tau)
        return tb - tau * math.log(arg) if arg > 0 else np.nan
    return tb + t_floor + (d - d_boost - d_exp) / vmin


def speed_boost_coast_array(t_s: FloatArray | float, max_speed_mps: FloatArray | float,
                            burn_time_s: FloatArray | float, speed_decay_s: FloatArray | float,
                            min_speed_mps: FloatArray | float) -> FloatArray:
    """``speed_boost_coast`` over arrays (all arguments broadcast), m/s."""
    t = np.asarray(t_s, float)
    vmax = np.asarray(max_speed_mps, float)
    tb = np.asarray(burn_time_s, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        boost = np.where(tb > 0, vmax * np.clip(t, 0.0, None) / np.where(tb > 0, tb, 1.0), vmax)
    coast = np.maximum(min_speed_mps, vmax * np.exp(-np.clip(t - tb, 0.0, None) / speed_decay_s))
    return np.where(t < tb, boost, coast)


def distance_boost_coast_array(t_s: FloatArray | float, max_speed_mps: FloatArray | float,
                               burn_time_s: FloatArray | float,
                               speed_decay_s: FloatArray | float,
                               min_speed_mps: FloatArray | float) -> FloatArray:
    """``distance_boost_coast`` over arrays (all arguments broadcast), m."""
    t = np.clip(np.asarray(t_s, float), 0.0, None)
    vmax = np.asarray(max_speed_mps, float)
    tb = np.asarray(burn_time_s, float)
    tau = np.asarray(speed_decay_s, float)
    vmin = np.asarray(min_speed_mps, float)
    boost_d = np.where(tb > 0, 0.5 * vmax * np.minimum(t, tb) ** 2 / np.where(tb > 0, tb, 1.0),
                       0.0)
    t_floor = np.where(vmax > vmin, tau * np.log(np.maximum(vmax / vmin, 1.0)), 0.0)
    tc = np.clip(t - tb, 0.0, None)
    tc_exp = np.minimum(tc, t_floor)
    exp_d = vmax * tau * (1.0 - np.exp(-tc_exp / tau))
    floor_d = vmin * np.clip(tc - t_floor, 0.0, None)
    return boost_d + exp_d + floor_d


def time_at_distance_boost_coast_array(distance_m: FloatArray | float, max_speed_mps: float,
                                       burn_time_s: float, speed_decay_s: float,
                                       min_speed_mps: float) -> FloatArray:
    """``time_at_distance_boost_coast`` over an array of distances for one profile (s)."""
    d = np.asarray(distance_m, float)
    vmax, tb, tau, vmin = max_speed_mps, burn_time_s, speed_decay_s, min_speed_mps
    d_boost = 0.5 * vmax * tb
    t_floor = tau * np.log(vmax / vmin) if vmax > vmin else 0.0
    d_exp = vmax * tau * (1.0 - np.exp(-t_floor / tau))
    with np.errstate(divide="ignore", invalid="ignore"):
        t_boost = np.sqrt(2.0 * np.clip(d, 0, None) * tb / vmax) if tb > 0 else np.zeros_like(d)
        arg = 1.0 - (d - d_boost) / (vmax * tau)
        t_exp = tb - tau * np.log(np.where(arg > 0, arg, np.nan))
        t_lin = tb + t_floor + (d - d_boost - d_exp) / vmin
    return np.asarray(np.where(d <= d_boost, t_boost,
                               np.where(d <= d_boost + d_exp, t_exp, t_lin)), float)
