"""Threat evaluation: where each track is going, which asset it threatens, how likely and when.

Two kinds of prediction, chosen by the tracker's ballistic flag:

* **Ballistic tracks** are propagated as point masses in the (rotating) ECEF frame::

      a = -GM r / |r|^3 - 2 w x v - w x (w x r),        w = (0, 0, Omega_earth)

  (``core.physics.accel_gravity_ecef`` without its J2 term: the prediction model is simpler
  than the truth's, which adds J2, drag and the terminal weave; J2 alone moves the vacuum
  impact of a 300 km shot from 45 deg N by about 250 m, of a 600 km shot by about 500 m, of
  the order of the class guidance sigma below)
  with fixed-step RK4 until the height above the WGS84 ellipsoid crosses 0; the crossing is
  refined by Newton steps on partial RK4 steps. Drag and thrust are ignored, and a
  quasi-ballistic threat that manoeuvres in its terminal phase will not land where predicted:
  that is covered by a class-dependent guidance uncertainty, not modelled.
* **Air-breathing tracks** are extrapolated along the great circle of their current ground track
  at their current ground speed. For each asset the along-track angle of the foot of the
  perpendicular from the asset to that great circle gives the time of closest approach; an
  asset is a candidate when it is ahead of the track and the closest approach happens within the
  horizon. The cross-track distance at that point is the predicted miss distance.

Hit probability. The impact point is modelled as a circular 2-D Gaussian about the prediction
with per-axis standard deviation::

    sigma^2 = sigma_pos^2 (1 + (kappa t_go)^2) + (sigma_guid[c] + rate[c] t_go)^2

(track position error, velocity error ``kappa sigma_pos`` grown over the time to go, and a
class-dependent guidance/manoeuvre error growing with the time to go). The probability that the
impact lies within the asset radius ``R`` at predicted miss distance ``d`` is the Rice
distribution's CDF, ``P = 1 - Q_1(d / sigma, R / sigma)`` (Marcum Q); at ``d = 0`` it is the
Rayleigh ``1 - exp(-R^2 / 2 sigma^2)``. The asset threatened is the one with the largest
``value x P``; the value at risk is that product.

Implementation. The propagation and the great-circle geometry are compiled (numba, scalar code
per track; ``gravity_accel_ecef`` and ``rk4_step`` stay as the numpy reference). The ballistic
propagation that finds the impacts also samples the trajectories on the RK4 grid; the assessment
carries them (``ThreatAssessment.ballistic_trajectory``) for engagement feasibility to reuse.
The Rice CDF is skipped (taken as 0) for assets more than 12 sigmas beyond the circle.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from numba import njit
from scipy import special

from shieldwall.c2.types import AssetTable, BallisticTrajectory, ThreatAssessment, TrackPicture
from shieldwall.core.physics import (
    accel_gravity_ecef_array,
    interpolate_hermite_array,
    step_rk4_array,
    step_rk4_ballistic,
)
from shieldwall.core.types import THREAT_CLASSES, BoolArray, FloatArray, IntArray, ThreatClass
from shieldwall.geo import EARTH_GM_M3_S2, EARTH_OMEGA_RAD_S, WGS84_A_M, WGS84_B_M

CLASS_INDEX: dict[ThreatClass, int] = {c: i for i, c in enumerate(THREAT_CLASSES)}
# Hit probabilities of an asset more than this many sigmas beyond the predicted impact are taken
# as 0 (< 5e-32, far below any ``min_p_hit``) without evaluating the Rice CDF.
_NEGLIGIBLE_SIGMAS = 12.0
_GM = EARTH_GM_M3_S2
_W = EARTH_OMEGA_RAD_S
_A = WGS84_A_M
_B = WGS84_B_M


# --------------------------------------------------------------------------- numba kernels
# Scalar code, one track at a time: the same physics as the numpy reference functions below
# (``core.physics``: point-mass gravity, optionally in the rotating frame, and its RK4 step).
@njit(cache=True, error_model="numpy")
def _rk4(x: float, y: float, z: float, vx: float, vy: float, vz: float, h: float,
         rotating: bool) -> tuple[float, float, float, float, float, float]:  # pragma: no cover
    return step_rk4_ballistic(x, y, z, vx, vy, vz, 0.0, h, (_GM, 0.0, _W if rotating else 0.0))


@njit(cache=True, error_model="numpy")
def _height(x: float, y: float, z: float) -> float:  # pragma: no cover - compiled
    r = math.sqrt(x * x + y * y + z * z)
    s = z / r
    s2 = s * s
    return r - _A * _B / math.sqrt(_B * _B * (1.0 - s2) + _A * _A * s2)


@njit(cache=True, error_model="numpy")
def _ballistic_kernel(pos: np.ndarray, vel: np.ndarray, dt: float, n_impact: int, n_min: int,
                      find_impact: bool, rotating: bool
                      ):  # pragma: no cover - compiled
    """RK4 on ``t_i = i dt`` for each of m tracks. With ``find_impact``, the first ground
    crossing within ``n_impact`` steps is refined (Newton on the partial step, 4 iterations,
    from linear interpolation of the height). The grid returned has ``N + 1`` samples with ``N``
    the largest of ``n_min`` and the steps needed to find every impact (all tracks are continued
    to ``N``, underground if need be)."""
    m = pos.shape[0]
    cap = max(n_impact, n_min)
    gp = np.empty((cap + 1, m, 3))
    gv = np.empty((cap + 1, m, 3))
    impact = np.full((m, 3), np.nan)
    tgo = np.full(m, np.inf)
    reached = np.zeros(m, np.int64)
    for j in range(m):
        x, y, z = pos[j, 0], pos[j, 1], pos[j, 2]
        vx, vy, vz = vel[j, 0], vel[j, 1], vel[j, 2]
        gp[0, j, 0], gp[0, j, 1], gp[0, j, 2] = x, y, z
        gv[0, j, 0], gv[0, j, 1], gv[0, j, 2] = vx, vy, vz
        h0 = _height(x, y, z)
        found = not find_impact
        if not found and h0 <= 0.0:
            impact[j, 0], impact[j, 1], impact[j, 2] = x, y, z
            tgo[j] = 0.0
            found = True
        i = 0
        while i < n_min or (not found and i < n_impact):
            x1, y1, z1, vx1, vy1, vz1 = _rk4(x, y, z, vx, vy, vz, dt, rotating)
            h1 = _height(x1, y1, z1)
            if not found and h1 <= 0.0:
                tau = dt * h0 / (h0 - h1)
                for _newton in range(4):
                    xc, yc, zc, vxc, vyc, vzc = _rk4(x, y, z, vx, vy, vz, tau, rotating)
                    hc = _height(xc, yc, zc)
                    rate = ((vxc * xc + vyc * yc + vzc * zc)
                            / math.sqrt(xc * xc + yc * yc + zc * zc))
                    tau = tau - hc / (rate if rate < -1e-9 else -1e-9)
                    tau = min(max(tau, 0.0), dt)
                xc, yc, zc, vxc, vyc, vzc = _rk4(x, y, z, vx, vy, vz, tau, rotating)
                impact[j, 0], impact[j, 1], impact[j, 2] = xc, yc, zc
                tgo[j] = i * dt + tau
                found = True
            x, y, z, vx, vy, vz, h0 = x1, y1, z1, vx1, vy1, vz1, h1
            i += 1
            gp[i, j, 0], gp[i, j, 1], gp[i, j, 2] = x, y, z
            gv[i, j, 0], gv[i, j, 1], gv[i, j, 2] = vx, vy, vz
        reached[j] = i
    n = n_min
    for j in range(m):
        n = max(n, reached[j])
    for j in range(m):  # continue the tracks that stopped early to the common grid length
        x, y, z = gp[reached[j], j, 0], gp[reached[j], j, 1], gp[reached[j], j, 2]
        vx, vy, vz = gv[reached[j], j, 0], gv[reached[j], j, 1], gv[reached[j], j, 2]
        for i in range(reached[j], n):
            x, y, z, vx, vy, vz = _rk4(x, y, z, vx, vy, vz, dt, rotating)
            gp[i + 1, j, 0], gp[i + 1, j, 1], gp[i + 1, j, 2] = x, y, z
            gv[i + 1, j, 0], gv[i + 1, j, 1], gv[i + 1, j, 2] = vx, vy, vz
    return gp[: n + 1].copy(), gv[: n + 1].copy(), impact, tgo


@njit(cache=True, error_model="numpy")
def _air_kernel(pos: np.ndarray, vel: np.ndarray, sigma_pos: np.ndarray, class_index: np.ndarray,
                target: np.ndarray, horizon: float, kappa: float, base: np.ndarray,
                rate: np.ndarray):  # pragma: no cover - compiled
    """``great_circle_approach`` of m tracks to a targets plus the gate and the impact sigma
    (``impact_sigma_m`` at the time to the foot point, 0 when not ahead within the horizon).

    Returns ``time_s, cross_track_m, sigma_m (m, a)``, ``ahead (m, a)`` bool and
    ``foot_ecef (m, a, 3)``."""
    m, na = pos.shape[0], target.shape[0]
    time_s = np.empty((m, na))
    cross = np.empty((m, na))
    sigma = np.empty((m, na))
    ahead = np.empty((m, na), np.bool_)
    foot = np.empty((m, na, 3))
    for i in range(m):
        x, y, z = pos[i, 0], pos[i, 1], pos[i, 2]
        r = math.sqrt(x * x + y * y + z * z)
        px, py, pz = x / r, y / r, z / r
        vr = vel[i, 0] * px + vel[i, 1] * py + vel[i, 2] * pz
        hx, hy, hz = vel[i, 0] - vr * px, vel[i, 1] - vr * py, vel[i, 2] - vr * pz
        speed_h = math.sqrt(hx * hx + hy * hy + hz * hz)
        div = speed_h if speed_h > 0 else 1.0
        ex, ey, ez = hx / div, hy / div, hz / div
        nx, ny, nz = py * ez - pz * ey, pz * ex - px * ez, px * ey - py * ex
        sp2 = sigma_pos[i] * sigma_pos[i]
        b, g = base[class_index[i]], rate[class_index[i]]
        for a in range(na):
            ra = math.sqrt(target[a, 0] ** 2 + target[a, 1] ** 2 + target[a, 2] ** 2)
            ax, ay, az = target[a, 0] / ra, target[a, 1] / ra, target[a, 2] / ra
            theta = math.atan2(ex * ax + ey * ay + ez * az, px * ax + py * ay + pz * az)
            sn = min(max(nx * ax + ny * ay + nz * az, -1.0), 1.0)
            t = theta * r / speed_h if speed_h > 0 else np.inf
            time_s[i, a] = t
            cross[i, a] = abs(math.asin(sn)) * ra
            ok = t > 0.0 and t <= horizon
            ahead[i, a] = ok
            tgo = t if ok else 0.0
            sigma[i, a] = math.sqrt(sp2 * (1.0 + (kappa * tgo) ** 2) + (b + g * tgo) ** 2)
            c, s = math.cos(theta), math.sin(theta)
            foot[i, a, 0] = (c * px + s * ex) * ra
            foot[i, a, 1] = (c * py + s * ey) * ra
            foot[i, a, 2] = (c * pz + s * ez) * ra
    return time_s, cross, sigma, ahead, foot


# --------------------------------------------------------------------------- numpy reference
def gravity_accel_ecef(pos_ecef: FloatArray, vel_ecef: FloatArray,
                       rotating_earth: bool = True) -> FloatArray:
    """Acceleration of an unpowered point mass in ECEF, shape ``(..., 3)`` (m/s^2).

    ``a = -GM r/|r|^3`` plus, when ``rotating_earth``, the Coriolis ``-2 w x v`` and centrifugal
    ``-w x (w x r)`` terms of the rotating frame (``w = (0, 0, Omega)``):
    ``core.physics.accel_gravity_ecef_array`` without J2.
    """
    return accel_gravity_ecef_array(pos_ecef, vel_ecef, _GM, 0.0, _W if rotating_earth else 0.0)


def rk4_step(pos_ecef: FloatArray, vel_ecef: FloatArray, dt_s: FloatArray | float,
             rotating_earth: bool = True) -> tuple[FloatArray, FloatArray]:
    """One classical Runge-Kutta step of the ballistic equations; ``dt_s`` broadcasts as
    ``(...,)`` (per entity) or a scalar. Returns ``(pos, vel)`` of shape ``(..., 3)``.
    (Reference implementation, ``core.physics.step_rk4_array``; the propagators use the
    compiled kernel, with which it agrees to the last bit.)"""
    return step_rk4_array(lambda p, v, _t: gravity_accel_ecef(p, v, rotating_earth),
                          np.asarray(pos_ecef, float), np.asarray(vel_ecef, float), 0.0, dt_s)


def ellipsoid_height_m(pos_ecef: FloatArray) -> FloatArray:
    """Height above the WGS84 ellipsoid along the geocentric radius, ``(...)`` metres.

    ``h = |r| - a b / sqrt((b cos psi)^2 + (a sin psi)^2)`` with psi the geocentric latitude.
    Exact on the ellipsoid (h = 0) and within a few centimetres of the geodetic height below
    100 km altitude -- enough to locate ground crossings cheaply.
    """
    pos = np.asarray(pos_ecef, float)
    r = np.sqrt(np.einsum("...i,...i->...", pos, pos))
    sin_psi = pos[..., 2] / r
    cos2 = 1.0 - sin_psi**2
    radius = WGS84_A_M * WGS84_B_M / np.sqrt(WGS84_B_M**2 * cos2 + WGS84_A_M**2 * sin_psi**2)
    return r - radius


def _states(pos_ecef: FloatArray, vel_ecef: FloatArray) -> tuple[FloatArray, FloatArray]:
    pos = np.ascontiguousarray(np.asarray(pos_ecef, float).reshape(-1, 3))
    vel = np.ascontiguousarray(np.asarray(vel_ecef, float).reshape(-1, 3))
    return pos, vel


def propagate_ballistic(pos_ecef: FloatArray, vel_ecef: FloatArray, dt_s: float, n_steps: int,
                        rotating_earth: bool = True) -> tuple[FloatArray, FloatArray]:
    """Ballistic states on a uniform grid ``t_i = i dt`` (``i = 0..n_steps``).

    pos_ecef, vel_ecef : (m, 3). Returns ``(pos (n_steps+1, m, 3), vel (n_steps+1, m, 3))``.
    The trajectory is not stopped at the ground (consumers compare with the impact time).
    """
    shape = np.shape(pos_ecef)
    pos, vel = _states(pos_ecef, vel_ecef)
    n = max(int(n_steps), 0)
    gp, gv, _imp, _tgo = _ballistic_kernel(pos, vel, float(dt_s), 0, n, False,
                                           bool(rotating_earth))
    return gp.reshape((n + 1, *shape)), gv.reshape((n + 1, *shape))


def predict_ballistic(pos_ecef: FloatArray, vel_ecef: FloatArray, dt_s: float = 1.0,
                      max_time_s: float = 1800.0, rotating_earth: bool = True,
                      min_grid_time_s: float = 0.0
                      ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Ground impacts and the sampled trajectories, in one propagation.

    Returns ``(impact_ecef (m, 3), time_to_impact_s (m,), grid_pos (n+1, m, 3),
    grid_vel (n+1, m, 3))``: impacts as ``ballistic_impact``; the grid on ``t_i = i dt`` as
    ``propagate_ballistic`` with ``n`` the larger of ``ceil(min_grid_time_s / dt)`` and the
    steps needed to find every impact (at most ``ceil(max_time_s / dt)``).
    """
    pos, vel = _states(pos_ecef, vel_ecef)
    n_impact = int(np.ceil(max_time_s / dt_s))
    n_min = max(int(np.ceil(max(min_grid_time_s, 0.0) / dt_s)), 0)
    gp, gv, impact, tgo = _ballistic_kernel(pos, vel, float(dt_s), n_impact, n_min, True,
                                            bool(rotating_earth))
    return impact, tgo, gp, gv


def hermite_interpolate(pos_grid: FloatArray, vel_grid: FloatArray, dt_s: float,
                        column: IntArray, t_s: FloatArray) -> FloatArray:
    """Cubic Hermite interpolation of gridded states at per-query times.

    pos_grid, vel_grid : (n+1, m, 3) on ``t_i = i dt``; column : (q,) which entity; t_s : (q,)
    time since the grid start (clamped to the grid). Returns positions ``(q, 3)``
    (``core.physics.interpolate_hermite_array``).
    """
    n = pos_grid.shape[0] - 1
    t = np.clip(np.asarray(t_s, float), 0.0, n * dt_s)
    if n == 0:
        return pos_grid[0, column]
    i = np.minimum((t // dt_s).astype(np.int64), max(n - 1, 0))
    s = ((t - i * dt_s) / dt_s)[:, None]
    p, _v = interpolate_hermite_array(s, dt_s, pos_grid[i, column], vel_grid[i, column],
                                      pos_grid[i + 1, column], vel_grid[i + 1, column])
    return p


def ballistic_impact(pos_ecef: FloatArray, vel_ecef: FloatArray, dt_s: float = 1.0,
                     max_time_s: float = 1800.0,
                     rotating_earth: bool = True) -> tuple[FloatArray, FloatArray]:
    """Ground impact (height 0 above WGS84) of unpowered point masses.

    Parameters
    ----------
    pos_ecef, vel_ecef : (m, 3)
        States at t = 0 (ECEF m, m/s).
    dt_s : float
        RK4 step; the crossing inside the last step is refined to millimetres by Newton steps.
    max_time_s : float
        Give up after this time (no impact: NaN point, ``inf`` time).

    Returns
    -------
    impact_ecef : (m, 3)  (NaN when no impact within ``max_time_s``)
    time_to_impact_s : (m,)  (0 for points already at or below the ellipsoid)
    """
    impact, tgo, _gp, _gv = predict_ballistic(pos_ecef, vel_ecef, dt_s, max_time_s,
                                              rotating_earth)
    return impact, tgo


def p_hit_circle(miss_m: FloatArray, sigma_m: FloatArray, radius_m: FloatArray) -> FloatArray:
    """Probability that a circular 2-D Gaussian point (per-axis ``sigma``) centred ``miss`` away
    from a circle's centre falls inside the circle of ``radius`` (Rice CDF, broadcasts).

    ``P = 1 - Q_1(miss / sigma, radius / sigma)``; for ``sigma = 0`` the indicator
    ``miss <= radius``.
    """
    d, s, r = np.broadcast_arrays(np.asarray(miss_m, float), np.asarray(sigma_m, float),
                                  np.asarray(radius_m, float))
    shape = d.shape
    return _p_hit_flat(d.ravel(), s.ravel(), r.ravel()).reshape(shape)


def _p_hit_flat(d: FloatArray, s: FloatArray, r: FloatArray,
                negligible_sigmas: float = np.inf) -> FloatArray:
    """``p_hit_circle`` on equal-length 1-D arrays. The Rice CDF is the noncentral chi-square
    CDF with 2 degrees of freedom, ``F(x; b) = chndtr(x^2, 2, b^2)`` (what ``scipy.stats.rice``
    evaluates, without its per-call overhead).

    Where the circle lies more than ``negligible_sigmas`` sigmas beyond the centre
    (``(d - r) / s`` larger), 0 is returned without evaluating the CDF: the probability is at
    most the Rayleigh tail ``exp(-k^2 / 2)`` (5e-32 for k = 12).
    """
    out = (d <= r).astype(float)
    pos = s > 0
    if np.isfinite(negligible_sigmas):
        pos &= ~(d - r > negligible_sigmas * s)
    if pos.any():
        sp = s[pos]
        x, b = r[pos] / sp, d[pos] / sp
        with np.errstate(over="ignore", invalid="ignore"):
            out[pos] = np.where(x >= 0.0, special.chndtr(x * x, 2.0, b * b), 0.0)
    out[np.isnan(out)] = 0.0  # a CDF: NaN (undefined) counts as no hit
    return out


def great_circle_approach(pos_ecef: FloatArray, vel_ecef: FloatArray, target_ecef: FloatArray
                          ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Closest approach of each track's great-circle ground track to each target point.

    On the geocentric sphere: with ``p`` the track's unit radius, ``e`` its unit horizontal
    velocity and ``n = p x e``, a target at unit radius ``a`` has along-track angle
    ``theta = atan2(a.e, a.p)`` and cross-track angle ``delta = asin(a.n)``. The foot point is
    ``cos(theta) p + sin(theta) e``; the track reaches it after ``theta |r| / v_h``.

    pos_ecef, vel_ecef : (m, 3); target_ecef : (a, 3). Returns, each of shape ``(m, a)``:
    ``time_s`` (time to the foot point; negative behind; ``inf`` for a hovering track),
    ``cross_track_m`` (ground distance at closest approach on the sphere of the target's radius),
    ``foot_ecef (m, a, 3)`` (foot point at the target's radius) and ``theta`` (rad).
    """
    time_s, cross, p_hat, e_hat, theta, ra = _great_circle(pos_ecef, vel_ecef, target_ecef)
    foot_dir = np.cos(theta)[..., None] * p_hat[:, None, :] + np.sin(theta)[..., None] * e_hat[
        :, None, :]
    foot = foot_dir * ra[None, :, None]
    return time_s, cross, foot, theta


def _norm(v: FloatArray) -> FloatArray:
    """Euclidean norm over the last axis."""
    return np.sqrt(np.einsum("...i,...i->...", v, v))


def _great_circle(pos_ecef: FloatArray, vel_ecef: FloatArray, target_ecef: FloatArray
                  ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray,
                             FloatArray]:
    """``great_circle_approach`` without the foot points: ``(time_s, cross_track_m, p_hat,
    e_hat, theta, target_radius)``."""
    pos = np.asarray(pos_ecef, float).reshape(-1, 3)
    vel = np.asarray(vel_ecef, float).reshape(-1, 3)
    tgt = np.asarray(target_ecef, float).reshape(-1, 3)
    r = _norm(pos)
    p_hat = pos / r[:, None]
    v_h = vel - np.einsum("ij,ij->i", vel, p_hat)[:, None] * p_hat
    speed_h = _norm(v_h)
    e_hat = v_h / np.where(speed_h > 0, speed_h, 1.0)[:, None]
    px, py, pz = p_hat[:, 0], p_hat[:, 1], p_hat[:, 2]
    ex, ey, ez = e_hat[:, 0], e_hat[:, 1], e_hat[:, 2]
    n_hat = np.stack([py * ez - pz * ey, pz * ex - px * ez, px * ey - py * ex], axis=1)
    ra = _norm(tgt)
    a_hat = tgt / ra[:, None]
    x = p_hat @ a_hat.T
    y = e_hat @ a_hat.T
    z = n_hat @ a_hat.T
    theta = np.arctan2(y, x)
    delta = np.arcsin(np.clip(z, -1.0, 1.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        time_s = np.where(speed_h[:, None] > 0, theta * r[:, None] / speed_h[:, None], np.inf)
    cross = np.abs(delta) * ra[None, :]
    return time_s, cross, p_hat, e_hat, theta, ra


# --------------------------------------------------------------------------- component
def _default_guidance_sigma() -> dict[ThreatClass, float]:
    return {ThreatClass.BALLISTIC: 200.0, ThreatClass.AEROBALLISTIC: 300.0,
            ThreatClass.CRUISE: 100.0, ThreatClass.DRONE: 100.0, ThreatClass.DECOY: 100.0}


def _default_maneuver_rate() -> dict[ThreatClass, float]:
    return {ThreatClass.BALLISTIC: 2.0, ThreatClass.AEROBALLISTIC: 3.0,
            ThreatClass.CRUISE: 5.0, ThreatClass.DRONE: 5.0, ThreatClass.DECOY: 5.0}


@dataclass(frozen=True)
class ThreatEvaluator:
    """Threat evaluation parameters (see the module docstring for the model).

    Attributes
    ----------
    horizon_s : float
        Air-breathing tracks: closest approaches later than this are ignored (s).
    ballistic_step_s, ballistic_max_time_s : float
        RK4 step and the longest propagation of ballistic tracks (s).
    rotating_earth : bool
        Include Coriolis and centrifugal terms in the ballistic propagation (ECEF is rotating).
    velocity_sigma_rate_per_s : float
        kappa: velocity error taken as ``kappa x pos_sigma`` (1/s).
    guidance_sigma_m, maneuver_sigma_rate_mps : mapping ThreatClass -> float
        Class-dependent impact uncertainty: constant part (m) and growth with time to go (m/s).
    drone_max_speed_mps : float
        Air-breathing tracks slower than this are estimated DRONE, faster CRUISE.
    aeroballistic_min_speed_mps : float
        Ballistic tracks at least this fast are estimated AEROBALLISTIC, slower BALLISTIC.
    min_p_hit : float
        An asset whose hit probability is below this is not considered threatened.
    """

    horizon_s: float = 900.0
    ballistic_step_s: float = 1.0
    ballistic_max_time_s: float = 1800.0
    rotating_earth: bool = True
    velocity_sigma_rate_per_s: float = 0.1
    guidance_sigma_m: Mapping[ThreatClass, float] = field(default_factory=_default_guidance_sigma)
    maneuver_sigma_rate_mps: Mapping[ThreatClass, float] = field(
        default_factory=_default_maneuver_rate)
    drone_max_speed_mps: float = 80.0
    aeroballistic_min_speed_mps: float = 2600.0
    min_p_hit: float = 1e-4

    def classify(self, picture: TrackPicture) -> IntArray:
        """Class estimate per track as indices into ``THREAT_CLASSES`` (m,).

        Ballistic flag: AEROBALLISTIC when the speed is at least ``aeroballistic_min_speed_mps``,
        else BALLISTIC. Air-breathing: DRONE below ``drone_max_speed_mps``, else CRUISE. Decoys
        fly like drones, so they are estimated DRONE: kinematics cannot tell them apart.
        """
        return self._classify(np.asarray(picture.vel_ecef, float).reshape(-1, 3),
                              np.asarray(picture.ballistic, bool).reshape(-1))

    def _classify(self, vel_ecef: FloatArray, ballistic: BoolArray) -> IntArray:
        speed = _norm(vel_ecef)
        return np.where(
            ballistic,
            np.where(speed >= self.aeroballistic_min_speed_mps,
                     CLASS_INDEX[ThreatClass.AEROBALLISTIC], CLASS_INDEX[ThreatClass.BALLISTIC]),
            np.where(speed < self.drone_max_speed_mps, CLASS_INDEX[ThreatClass.DRONE],
                     CLASS_INDEX[ThreatClass.CRUISE])).astype(np.int64)

    def _class_tables(self) -> tuple[FloatArray, FloatArray]:
        """Guidance sigma and its growth rate per class index."""
        base = np.array([self.guidance_sigma_m.get(c, 0.0) for c in THREAT_CLASSES])
        rate = np.array([self.maneuver_sigma_rate_mps.get(c, 0.0) for c in THREAT_CLASSES])
        return base, rate

    def impact_sigma_m(self, pos_sigma_m: FloatArray, time_to_go_s: FloatArray,
                       class_index: IntArray) -> FloatArray:
        """Per-axis impact uncertainty (m), broadcasting ``(m,)`` or ``(m, a)`` times to go."""
        base, rate = self._class_tables()
        tgo = np.clip(np.where(np.isfinite(time_to_go_s), time_to_go_s, 0.0), 0.0, None)
        shape = (-1,) + (1,) * (np.ndim(tgo) - 1)
        sp = np.asarray(pos_sigma_m, float).reshape(shape)
        ci = np.asarray(class_index).reshape(shape)
        track2 = sp**2 * (1.0 + (self.velocity_sigma_rate_per_s * tgo) ** 2)
        return np.sqrt(track2 + (base[ci] + rate[ci] * tgo) ** 2)

    def evaluate(self, picture: TrackPicture, assets: AssetTable, time_s: float
                 ) -> ThreatAssessment:
        """Evaluate every track against every asset.

        Parameters
        ----------
        picture : TrackPicture with m tracks (states at ``picture.time_s``)
        assets : AssetTable with a assets
        time_s : float
            Evaluation time; times to impact are counted from it.

        Returns
        -------
        ThreatAssessment with rows aligned with ``picture``.
        """
        pos = np.asarray(picture.pos_ecef, float).reshape(-1, 3)
        vel = np.asarray(picture.vel_ecef, float).reshape(-1, 3)
        sigma_pos = np.asarray(picture.pos_sigma_m, float).reshape(-1)
        ballistic = np.asarray(picture.ballistic, bool).reshape(-1)
        m, n_assets = pos.shape[0], len(assets)
        asset_pos = np.asarray(assets.pos_ecef, float).reshape(-1, 3)
        asset_value = np.asarray(assets.value, float).reshape(-1)
        asset_radius = np.asarray(assets.radius_m, float).reshape(-1)
        offset = float(picture.time_s) - float(time_s)  # picture epoch relative to now

        class_index = self._classify(vel, ballistic)
        impact = np.full((m, 3), np.nan)
        tgo = np.full(m, np.inf)  # from the picture epoch
        asset_index = np.full(m, -1, np.int64)
        p_hit = np.zeros(m)
        miss = np.full(m, np.nan)
        sigma = np.full(m, np.nan)

        b = np.flatnonzero(ballistic)
        if b.size:
            imp_b, tgo_b, grid_pos, grid_vel = predict_ballistic(
                pos[b], vel[b], self.ballistic_step_s, self.ballistic_max_time_s,
                self.rotating_earth)
            impact[b], tgo[b] = imp_b, tgo_b
            sig_b = self.impact_sigma_m(sigma_pos[b], tgo_b, class_index[b])
            sigma[b] = sig_b
            if n_assets:
                d = _norm(imp_b[:, None, :] - asset_pos[None, :, :])
                d = np.where(np.isfinite(d), d, np.inf)
                dd, ss, rr = np.broadcast_arrays(d, sig_b[:, None], asset_radius[None, :])
                ph = _p_hit_flat(dd.ravel(), ss.ravel(), rr.ravel(),
                                 _NEGLIGIBLE_SIGMAS).reshape(d.shape)
                self._choose(b, ph, d, asset_value, asset_index, p_hit, miss)
        else:
            grid_pos = grid_vel = np.zeros((1, 0, 3))
        trajectory = BallisticTrajectory(
            rows=b.astype(np.int64), pos_ecef=grid_pos, vel_ecef=grid_vel,
            epoch_s=float(picture.time_s), dt_s=float(self.ballistic_step_s),
            rotating_earth=bool(self.rotating_earth))

        a = np.flatnonzero(~ballistic)
        if a.size and n_assets:
            base, rate = self._class_tables()
            t_ca, cross, sig_a, ahead, foot = _air_kernel(
                pos[a], vel[a], sigma_pos[a], class_index[a], np.ascontiguousarray(asset_pos),
                float(self.horizon_s), float(self.velocity_sigma_rate_per_s), base, rate)
            ph = np.zeros(ahead.shape)
            if ahead.any():
                ph[ahead] = _p_hit_flat(cross[ahead], sig_a[ahead],
                                        np.broadcast_to(asset_radius, ahead.shape)[ahead],
                                        _NEGLIGIBLE_SIGMAS)
            self._choose(a, ph, cross, asset_value, asset_index, p_hit, miss)
            hit = asset_index[a] >= 0
            rows, cols = a[hit], asset_index[a][hit]
            local = np.flatnonzero(hit)
            impact[rows] = foot[local, cols]
            tgo[rows] = t_ca[local, cols]
            sigma[rows] = sig_a[local, cols]

        value = np.zeros(m)
        has = asset_index >= 0
        value[has] = asset_value[asset_index[has]] * p_hit[has]
        return ThreatAssessment(
            slot=np.arange(m, dtype=np.int64),
            track_id=np.asarray(picture.track_id, np.int64).reshape(-1),
            predicted_impact_ecef=impact, asset_index=asset_index,
            time_to_impact_s=tgo + offset, p_hit_asset=p_hit, value=value,
            class_index=class_index, miss_distance_m=miss, sigma_m=sigma, time_s=float(time_s),
            ballistic_trajectory=trajectory)

    def _choose(self, rows: IntArray, p_hit_matrix: FloatArray, miss_matrix: FloatArray,
                asset_value: FloatArray, asset_index: IntArray, p_hit: FloatArray,
                miss: FloatArray) -> None:
        """Pick per row the asset of largest ``value x p_hit`` (in place on the outputs)."""
        threat = asset_value[None, :] * p_hit_matrix
        best = np.argmax(threat, axis=1)
        r = np.arange(rows.size)
        ok: BoolArray = p_hit_matrix[r, best] >= self.min_p_hit
        asset_index[rows] = np.where(ok, best, -1)
        p_hit[rows] = np.where(ok, p_hit_matrix[r, best], 0.0)
        miss[rows] = np.where(ok, miss_matrix[r, best], np.nan)


def evaluate_threats(picture: TrackPicture, assets: AssetTable, time_s: float,
                     evaluator: ThreatEvaluator | None = None) -> ThreatAssessment:
    """Evaluate threats with ``evaluator`` (default parameters when None); see
    ``ThreatEvaluator.evaluate``."""
    return (evaluator or ThreatEvaluator()).evaluate(picture, assets, time_s)
