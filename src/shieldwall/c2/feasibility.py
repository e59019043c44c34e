"""Engagement feasibility (launch acceptability): can this interceptor, from this fire unit,
reach this track in time, inside its envelope and its radar's coverage?

Predicted intercept point (PIP). With the launch time ``t_L = max(now + reaction, next_launch)``
and ``p(t)`` the track's predicted position (constant velocity for air-breathing tracks; the
ballistic RK4 trajectory of ``threat_evaluation`` for ballistic tracks), the time of flight is
the earliest fixed point of::

    t_f = g(t_f) = T(|p(t_L + t_f) - p_unit|)

where ``T`` is ``weapons.kinematics.time_to_distance`` (the interceptor's flyout table, flown
along a straight line; beyond the maximum time of flight it is continued at the last speed so
that ``g`` stays finite). A coarse scan brackets the earliest root; inside the bracket the
fixed-point iteration is accelerated by Wegstein's method (``t <- w t + (1 - w) g(t)``,
``w = s / (s - 1)``, ``s`` the secant slope of ``g``) and safeguarded by bisection, so it also
converges where a fast closing target makes plain iteration oscillate (``|g'| > 1``). An
engagement is infeasible when no root is bracketed within the maximum time of flight, when the
iteration does not converge, or when any of these fail:
envelope for the track's estimated class exists, PIP slant range and height inside it, time of
flight <= ``max_time_of_flight_s``, intercept before the predicted impact, PIP inside the unit's
radar range and azimuth sector.

Kill probability estimate (notional, documented)::

    pk = pk_max (1 - L_r (r / r_max)^n) (1 - L_h (h / h_max)^n) / (1 + (sigma_pip / basket)^2)

with ``r``, ``h`` the PIP slant range and height, ``sigma_pip = sigma_pos sqrt(1 + (kappa tau)^2)``
the track uncertainty grown to the intercept (``tau`` from the track epoch), and ``basket`` the
handover basket: ``basket_fraction x seeker_range`` for seeker-homing rounds, else
``command_basket_lethal_radii x lethal_radius``.

Implementation. The search runs compiled (numba), one (track, unit, type) at a time, and skips
work that provably cannot change the answer: a pair whose predicted path stays farther from the
unit than its range limits over the whole time of flight is rejected before the search, and the
scan steps over scan times at which the interceptor's path length cannot yet have caught up with
the target's distance (the deficit shrinks at most at ``v_max + |v_target|``).
Ballistic tracks reuse the trajectory sampled by threat evaluation when the assessment carries
it (``ThreatAssessment.ballistic_trajectory``), so each cycle propagates them once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numba import njit

from shieldwall.c2.threat_evaluation import hermite_interpolate, propagate_ballistic
from shieldwall.c2.types import (
    BallisticTrajectory,
    Candidates,
    FireUnitTable,
    ThreatAssessment,
    TrackPicture,
)
from shieldwall.catalog.types import Interceptor
from shieldwall.core.physics import (
    PROFILE_COLUMNS,
    PROFILE_TAU,
    PROFILE_TB,
    PROFILE_TMAX,
    PROFILE_VMAX,
    PROFILE_VMIN,
    distance_boost_coast,
    floor_time_boost_coast,
    interpolate_hermite_position,
    speed_boost_coast,
    time_at_distance_boost_coast,
)
from shieldwall.core.types import THREAT_CLASSES, FloatArray, IntArray
from shieldwall.geo import WGS84_A_M, WGS84_B_M
from shieldwall.weapons import kinematics

_A = WGS84_A_M
_B = WGS84_B_M
N_SCAN = 48   # scan times bracketing the earliest root
TOL_S = 1e-6  # convergence of the fixed-point iteration (s)
MAX_ITER = 80
_PRUNE = True  # the exact short cuts (the tests compare with False)

# Columns of the per-type parameter table the kernels read: the speed profile in the columns
# ``core.physics`` names (filled from the Interceptor records, like ``_PKMAX`` and
# ``_BASKET``), then the flyout constants derived from them by ``_derive_type_table``.
_VMAX, _TB, _TAU, _VMIN, _TMAX = PROFILE_VMAX, PROFILE_TB, PROFILE_TAU, PROFILE_VMIN, PROFILE_TMAX
_PKMAX = PROFILE_COLUMNS          # pk_max
_BASKET = PROFILE_COLUMNS + 1     # handover basket (m)
_REACH = PROFILE_COLUMNS + 2      # path length flown in the maximum time of flight (m)
_VEND = PROFILE_COLUMNS + 3       # speed at the maximum time of flight (m/s)
_DBOOST = PROFILE_COLUMNS + 4     # path length of the boost (m)
_TFLOOR = PROFILE_COLUMNS + 5     # coast time to the minimum speed (s)
_DEXP = PROFILE_COLUMNS + 6       # path length of the decaying coast (m)
_N_PARAMS = PROFILE_COLUMNS + 7


def extended_time_to_distance(interceptor: Interceptor, distance_m: FloatArray) -> FloatArray:
    """``time_to_distance`` continued past the maximum time of flight at the final speed, so that
    the fixed-point map stays finite and continuous (s)."""
    d = np.asarray(distance_m, float)
    reach = kinematics.max_reach_m(interceptor)
    t_max = interceptor.max_time_of_flight_s
    v_end = float(kinematics.speed_at(interceptor, t_max))
    inside = kinematics.time_to_distance(interceptor, np.minimum(d, reach))
    inside = np.where(np.isfinite(inside), inside, t_max)
    return np.where(d <= reach, inside, t_max + (d - reach) / v_end)


# --------------------------------------------------------------------------- numba kernels
# The speed profile of ``core.physics`` read from a row of the type table, and the search.
@njit(cache=True, error_model="numpy", inline="always")
def _speed_at(t: float, tp: np.ndarray) -> float:  # pragma: no cover - compiled
    return speed_boost_coast(t, tp[_VMAX], tp[_TB], tp[_TAU], tp[_VMIN])


@njit(cache=True, error_model="numpy", inline="always")
def _distance_at(t: float, tp: np.ndarray) -> float:  # pragma: no cover - compiled
    return distance_boost_coast(t, tp[_VMAX], tp[_TB], tp[_TAU], tp[_VMIN], tp[_TFLOOR])


@njit(cache=True, error_model="numpy")
def _derive_type_table(tp: np.ndarray, n_scan: int
                       ) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """Fill the flyout constants of each row of ``tp`` (in place) and return the scan times
    ``(k, n_scan)`` (``np.linspace(0, t_max, n_scan)``) and the path length flown by each."""
    k = tp.shape[0]
    scan = np.empty((k, n_scan))
    dscan = np.empty((k, n_scan))
    for kk in range(k):
        row = tp[kk]
        vmax, tb, tau, vmin, t_max = row[_VMAX], row[_TB], row[_TAU], row[_VMIN], row[_TMAX]
        row[_TFLOOR] = floor_time_boost_coast(vmax, tau, vmin)
        row[_DBOOST] = 0.5 * vmax * tb
        row[_DEXP] = vmax * tau * (1.0 - math.exp(-row[_TFLOOR] / tau))
        row[_REACH] = _distance_at(t_max, row)
        row[_VEND] = _speed_at(t_max, row)
        step = t_max / (n_scan - 1) if n_scan > 1 else 0.0
        for s in range(n_scan):
            scan[kk, s] = s * step
        if n_scan > 1:
            scan[kk, n_scan - 1] = t_max
        for s in range(n_scan):
            dscan[kk, s] = _distance_at(scan[kk, s], row)
    return scan, dscan


@njit(cache=True, error_model="numpy", inline="always")
def _ext_time_to_distance(d: float, tp: np.ndarray) -> float:  # pragma: no cover - compiled
    """Scalar ``extended_time_to_distance`` (closed form of ``kinematics.time_to_distance``)."""
    t_max = tp[_TMAX]
    reach = tp[_REACH]
    if not d <= reach:
        return t_max + (d - reach) / tp[_VEND]
    t = time_at_distance_boost_coast(d, tp[_VMAX], tp[_TB], tp[_TAU], tp[_VMIN], tp[_TFLOOR],
                                     tp[_DBOOST], tp[_DEXP])
    if t <= t_max:
        return t
    return t_max  # past the table by rounding at the reach (or NaN): the last time


@njit(cache=True, error_model="numpy")
def _hermite_position(c: int, tau: float, gp: np.ndarray, gv: np.ndarray, dt: float
                      ) -> tuple[float, float, float]:  # pragma: no cover - compiled
    """Cubic Hermite interpolation of grid column c at ``tau`` (as ``hermite_interpolate``,
    clamped to the grid; ``core.physics.interpolate_hermite_position``)."""
    n = gp.shape[0] - 1
    if n == 0:
        return gp[0, c, 0], gp[0, c, 1], gp[0, c, 2]
    t = min(max(tau, 0.0), n * dt)
    i = min(int(t // dt), n - 1)
    s = (t - i * dt) / dt
    x = interpolate_hermite_position(s, dt, gp[i, c, 0], gv[i, c, 0], gp[i + 1, c, 0],
                                     gv[i + 1, c, 0])
    y = interpolate_hermite_position(s, dt, gp[i, c, 1], gv[i, c, 1], gp[i + 1, c, 1],
                                     gv[i + 1, c, 1])
    z = interpolate_hermite_position(s, dt, gp[i, c, 2], gv[i, c, 2], gp[i + 1, c, 2],
                                     gv[i + 1, c, 2])
    return x, y, z


@njit(cache=True, error_model="numpy", inline="always")
def _position(j: int, tau: float, pos0: np.ndarray, vel0: np.ndarray, column: np.ndarray,
              gp: np.ndarray, gv: np.ndarray, dt: float
              ) -> tuple[float, float, float]:  # pragma: no cover - compiled
    """Predicted position of track j at ``tau`` after the picture epoch: constant velocity, or
    cubic Hermite on the ballistic grid."""
    c = column[j]
    if c < 0:
        return (pos0[j, 0] + vel0[j, 0] * tau, pos0[j, 1] + vel0[j, 1] * tau,
                pos0[j, 2] + vel0[j, 2] * tau)
    return _hermite_position(c, tau, gp, gv, dt)


@njit(cache=True, error_model="numpy", inline="always")
def _distance(t: float, j: int, ux: float, uy: float, uz: float, t_l: float, epoch: float,
              pos0: np.ndarray, vel0: np.ndarray, column: np.ndarray, gp: np.ndarray,
              gv: np.ndarray, dt: float) -> float:  # pragma: no cover - compiled
    """``|p(t_L + t) - p_unit|``."""
    x, y, z = _position(j, (t_l + t) - epoch, pos0, vel0, column, gp, gv, dt)
    dx, dy, dz = x - ux, y - uy, z - uz
    return math.sqrt(dx * dx + dy * dy + dz * dz)


@njit(cache=True, error_model="numpy")
def _distance_lower_bound(j: int, ux: float, uy: float, uz: float, tau0: float, tau1: float,
                          pos0: np.ndarray, vel0: np.ndarray, column: np.ndarray,
                          gp: np.ndarray, gv: np.ndarray, dt: float
                          ) -> float:  # pragma: no cover - compiled
    """A lower bound of the distance from the unit to track j's predicted position over
    ``tau in [tau0, tau1]`` (exact for constant velocity: distance to a segment; for the
    ballistic grid, per interval ``max(d0, d1) - |p1 - p0| - 0.15 (|v0| + |v1|) dt``: the cubic
    Hermite interpolant strays at most ``|p1 - p0| + 4/27 (|v0| + |v1|) dt`` from a sample)."""
    c = column[j]
    if c < 0:
        vx, vy, vz = vel0[j, 0], vel0[j, 1], vel0[j, 2]
        wx = pos0[j, 0] + vx * tau0 - ux
        wy = pos0[j, 1] + vy * tau0 - uy
        wz = pos0[j, 2] + vz * tau0 - uz
        vv = vx * vx + vy * vy + vz * vz
        s = 0.0
        if vv > 0.0:
            s = min(max(-(wx * vx + wy * vy + wz * vz) / vv, 0.0), tau1 - tau0)
        wx, wy, wz = wx + vx * s, wy + vy * s, wz + vz * s
        return math.sqrt(wx * wx + wy * wy + wz * wz)
    n = gp.shape[0] - 1
    if n == 0:
        wx, wy, wz = gp[0, c, 0] - ux, gp[0, c, 1] - uy, gp[0, c, 2] - uz
        return math.sqrt(wx * wx + wy * wy + wz * wz)
    i0 = min(int(min(max(tau0, 0.0), n * dt) // dt), n - 1)
    i1 = min(int(min(max(tau1, 0.0), n * dt) // dt), n - 1)
    best = np.inf
    for i in range(i0, i1 + 1):
        ax, ay, az = gp[i, c, 0] - ux, gp[i, c, 1] - uy, gp[i, c, 2] - uz
        bx, by, bz = gp[i + 1, c, 0] - ux, gp[i + 1, c, 1] - uy, gp[i + 1, c, 2] - uz
        cx, cy, cz = bx - ax, by - ay, bz - az
        v0 = math.sqrt(gv[i, c, 0] ** 2 + gv[i, c, 1] ** 2 + gv[i, c, 2] ** 2)
        v1 = math.sqrt(gv[i + 1, c, 0] ** 2 + gv[i + 1, c, 1] ** 2 + gv[i + 1, c, 2] ** 2)
        slack = math.sqrt(cx * cx + cy * cy + cz * cz) + 0.15 * (v0 + v1) * dt
        d = max(math.sqrt(ax * ax + ay * ay + az * az),
                math.sqrt(bx * bx + by * by + bz * bz)) - slack
        best = min(best, d)
    return best


@njit(cache=True, error_model="numpy")
def _solve_one(j: int, ux: float, uy: float, uz: float, t_l: float, tp: np.ndarray,
               scan: np.ndarray, dscan: np.ndarray, tol: float, max_iter: int, epoch: float,
               pos0: np.ndarray, vel0: np.ndarray, column: np.ndarray, gp: np.ndarray,
               gv: np.ndarray, dt: float, skip: bool
               ) -> tuple[float, bool]:  # pragma: no cover - compiled
    """Earliest fixed point of g for one (track, unit) pair: ``(t_f, converged)`` (see
    ``solve_intercept_time``).

    The scan looks for the first scan time with ``h = t - g(t) >= 0``, i.e. with the path length
    flown ``D(t)`` at least the target's distance ``d(t)``. For a constant-velocity target the
    deficit ``d - D`` shrinks at most at ``v_max + |v|``, so scan times the deficit (less 1 m)
    cannot have closed by are skipped (with ``skip``): they would all give ``h < 0``.
    """
    c = column[j]
    v_close = np.inf
    if skip and c < 0:
        v_close = (tp[_VMAX] + math.sqrt(vel0[j, 0] ** 2 + vel0[j, 1] ** 2 + vel0[j, 2] ** 2)) * (
            1.0 + 1e-9)
    n_scan = scan.shape[0]
    first = -1
    s = 0
    while s < n_scan:
        d = _distance(scan[s], j, ux, uy, uz, t_l, epoch, pos0, vel0, column, gp, gv, dt)
        if scan[s] - _ext_time_to_distance(d, tp) >= 0.0:
            first = s
            break
        deficit = d - dscan[s] - 1.0
        t_next = scan[s] + deficit / v_close
        s += 1
        while s < n_scan and scan[s] < t_next:
            s += 1
    if first <= 0:  # no root, or the degenerate root at t = 0 (target on the unit)
        return np.inf, False
    lo, hi = scan[first - 1], scan[first]
    x0 = lo
    g0 = _ext_time_to_distance(
        _distance(x0, j, ux, uy, uz, t_l, epoch, pos0, vel0, column, gp, gv, dt), tp)
    x1 = min(max(g0, lo), hi)
    for _ in range(max_iter):
        g1 = _ext_time_to_distance(
            _distance(x1, j, ux, uy, uz, t_l, epoch, pos0, vel0, column, gp, gv, dt), tp)
        h1 = x1 - g1
        if abs(h1) < tol:
            if math.isfinite(g1):
                return g1, True
            return np.inf, False
        if h1 < 0.0:
            lo = max(lo, x1)
        elif h1 >= 0.0:
            hi = min(hi, x1)
        dx = x1 - x0
        slope = (g1 - g0) / dx if abs(dx) > 1e-12 else 0.0
        w = slope / (slope - 1.0) if abs(slope - 1.0) > 1e-9 else 0.0
        if not math.isfinite(w):
            w = 0.0
        x2 = w * x1 + (1.0 - w) * g1
        if not (x2 > lo and x2 < hi):
            x2 = 0.5 * (lo + hi)
        x0, g0, x1 = x1, g1, x2
    return np.inf, False


@njit(cache=True, error_model="numpy")
def _solve_pairs(slot: np.ndarray, unit_pos: np.ndarray, t_launch: np.ndarray, tp: np.ndarray,
                 scan: np.ndarray, dscan: np.ndarray, tol: float, max_iter: int, epoch: float,
                 pos0: np.ndarray, vel0: np.ndarray, column: np.ndarray, gp: np.ndarray,
                 gv: np.ndarray, dt: float):  # pragma: no cover - compiled
    q = slot.shape[0]
    tf = np.empty(q)
    pip = np.empty((q, 3))
    conv = np.zeros(q, np.bool_)
    for i in range(q):
        j = slot[i]
        t, ok = _solve_one(j, unit_pos[i, 0], unit_pos[i, 1], unit_pos[i, 2], t_launch[i], tp,
                           scan, dscan, tol, max_iter, epoch, pos0, vel0, column, gp, gv, dt,
                           True)
        tf[i], conv[i] = t, ok
        x, y, z = _position(j, (t_launch[i] + (t if ok else 0.0)) - epoch, pos0, vel0, column,
                            gp, gv, dt)
        pip[i, 0], pip[i, 1], pip[i, 2] = x, y, z
    return tf, pip, conv


@njit(cache=True, error_model="numpy")
def _candidates_kernel(track_class: np.ndarray, sigma_pos: np.ndarray, impact_abs: np.ndarray,
                       epoch: float, pos0: np.ndarray, vel0: np.ndarray, column: np.ndarray,
                       gp: np.ndarray, gv: np.ndarray, dt: float,
                       unit_pos: np.ndarray, rotation: np.ndarray, heading: np.ndarray,
                       half_width: np.ndarray, radar_range: np.ndarray,
                       t_launch_unit: np.ndarray, has_rounds: np.ndarray,
                       tp: np.ndarray, env: np.ndarray, scan: np.ndarray, dscan: np.ndarray,
                       range_loss: float, alt_loss: float, n_exp: float, kappa: float,
                       tol: float, max_iter: int, prune: bool):  # pragma: no cover - compiled
    """Every feasible (track, unit, type), in that lexicographic order: the search of
    ``solve_intercept_time``, the launch-acceptability tests and the Pk of the module docstring
    (``prune``: with the exact short cuts described there). Returns ``(int (c, 3): track, unit,
    type; float (c, 9): t_launch, t_intercept, time of flight, PIP x y z, slant range, PIP
    height, pk)``."""
    m = track_class.shape[0]
    n_units = unit_pos.shape[0]
    k = tp.shape[0]
    cap = m * n_units * k
    out_i = np.empty((cap, 3), np.int64)
    out_f = np.empty((cap, 9))
    c = 0
    # Ballistic tracks: the per-interval slack of ``_distance_lower_bound`` once per track, and
    # per (track, unit) the running minimum of the interval bounds from the launch onwards.
    n = gp.shape[0] - 1
    slack = np.empty((max(n, 1), gp.shape[1]))
    for b in range(gp.shape[1]):
        for i in range(n):
            cx = gp[i + 1, b, 0] - gp[i, b, 0]
            cy = gp[i + 1, b, 1] - gp[i, b, 1]
            cz = gp[i + 1, b, 2] - gp[i, b, 2]
            v0 = math.sqrt(gv[i, b, 0] ** 2 + gv[i, b, 1] ** 2 + gv[i, b, 2] ** 2)
            v1 = math.sqrt(gv[i + 1, b, 0] ** 2 + gv[i + 1, b, 1] ** 2 + gv[i + 1, b, 2] ** 2)
            slack[i, b] = math.sqrt(cx * cx + cy * cy + cz * cz) + 0.15 * (v0 + v1) * dt
    t_max_all = 0.0
    for kk in range(k):
        t_max_all = max(t_max_all, tp[kk, _TMAX])
    running = np.empty(max(n, 1))
    for j in range(m):
        ci = track_class[j]
        cb = column[j]
        for u in range(n_units):
            ux, uy, uz = unit_pos[u, 0], unit_pos[u, 1], unit_pos[u, 2]
            t_l = t_launch_unit[u]
            any_rounds = False
            for kk in range(k):
                any_rounds = any_rounds or has_rounds[u, kk]
            if not any_rounds:
                continue
            if cb >= 0 and n > 0:
                i0 = min(int(min(max(t_l - epoch, 0.0), n * dt) // dt), n - 1)
                i_end = min(int(min(max(t_l - epoch + t_max_all, 0.0), n * dt) // dt), n - 1)
                best = np.inf
                dx, dy, dz = gp[i0, cb, 0] - ux, gp[i0, cb, 1] - uy, gp[i0, cb, 2] - uz
                d0 = math.sqrt(dx * dx + dy * dy + dz * dz)
                for i in range(i0, i_end + 1):
                    dx = gp[i + 1, cb, 0] - ux
                    dy = gp[i + 1, cb, 1] - uy
                    dz = gp[i + 1, cb, 2] - uz
                    d1 = math.sqrt(dx * dx + dy * dy + dz * dz)
                    best = min(best, max(d0, d1) - slack[i, cb])
                    running[i] = best
                    d0 = d1
            for kk in range(k):
                if not has_rounds[u, kk]:
                    continue
                e_rmin, e_rmax = env[kk, ci, 0], env[kk, ci, 1]
                e_hmin, e_hmax = env[kk, ci, 2], env[kk, ci, 3]
                if math.isnan(e_rmin):
                    continue
                row = tp[kk]
                # The PIP lies on the track's predicted path within the time of flight: a path
                # that stays beyond the range limits (1 m margin) has no acceptable PIP.
                limit = min(e_rmax, radar_range[u])
                tau0 = t_l - epoch
                if cb >= 0 and n > 0:
                    i1 = min(int(min(max(tau0 + row[_TMAX], 0.0), n * dt) // dt), n - 1)
                    bound = running[i1]
                else:
                    bound = _distance_lower_bound(j, ux, uy, uz, tau0, tau0 + row[_TMAX], pos0,
                                                  vel0, column, gp, gv, dt)
                if prune and bound > limit + 1.0 + 1e-9 * limit:
                    continue
                tf, ok = _solve_one(j, ux, uy, uz, t_l, row, scan[kk], dscan[kk], tol,
                                    max_iter, epoch, pos0, vel0, column, gp, gv, dt, prune)
                if not ok or not tf <= row[_TMAX]:
                    continue
                t_i = t_l + tf
                if not t_i < impact_abs[j]:
                    continue
                px, py, pz = _position(j, t_i - epoch, pos0, vel0, column, gp, gv, dt)
                rx, ry, rz = px - ux, py - uy, pz - uz
                slant = math.sqrt(rx * rx + ry * ry + rz * rz)
                if not (slant >= e_rmin and slant <= e_rmax and slant <= radar_range[u]):
                    continue
                rr = math.sqrt(px * px + py * py + pz * pz)
                sn = pz / rr
                s2 = sn * sn
                alt = rr - _A * _B / math.sqrt(_B * _B * (1.0 - s2) + _A * _A * s2)
                if not (alt >= e_hmin and alt <= e_hmax):
                    continue
                hw = half_width[u]
                if not math.isinf(hw):
                    east = (rotation[u, 0, 0] * rx + rotation[u, 0, 1] * ry
                            + rotation[u, 0, 2] * rz)
                    north = (rotation[u, 1, 0] * rx + rotation[u, 1, 1] * ry
                             + rotation[u, 1, 2] * rz)
                    az = math.atan2(east, north)
                    off = abs((az - heading[u] + math.pi) % (2.0 * math.pi) - math.pi)
                    if not off <= hw:
                        continue
                sigma_pip = sigma_pos[j] * math.sqrt(1.0 + (kappa * (t_i - epoch)) ** 2)
                f_range = 1.0 - range_loss * min(max(slant / e_rmax, 0.0), 1.0) ** n_exp
                f_alt = 1.0 - alt_loss * min(max(alt / e_hmax, 0.0), 1.0) ** n_exp
                f_track = 1.0 / (1.0 + (sigma_pip / row[_BASKET]) ** 2)
                out_i[c, 0], out_i[c, 1], out_i[c, 2] = j, u, kk
                out_f[c, 0], out_f[c, 1], out_f[c, 2] = t_l, t_i, tf
                out_f[c, 3], out_f[c, 4], out_f[c, 5] = px, py, pz
                out_f[c, 6], out_f[c, 7] = slant, alt
                out_f[c, 8] = row[_PKMAX] * f_range * f_alt * f_track
                c += 1
    return out_i[:c], out_f[:c]


def _type_table(interceptors: Sequence[Interceptor], baskets: Sequence[float] | None = None,
                n_scan: int = N_SCAN) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The kernels' per-type parameters ``(k, P)``, scan times and path lengths ``(k, n_scan)``."""
    k = len(interceptors)
    tp = np.zeros((k, _N_PARAMS))
    for kk, i in enumerate(interceptors):
        tp[kk, _VMAX], tp[kk, _TB], tp[kk, _TAU] = i.max_speed_mps, i.burn_time_s, i.speed_decay_s
        tp[kk, _VMIN], tp[kk, _TMAX] = i.min_speed_mps, i.max_time_of_flight_s
        tp[kk, _PKMAX] = i.pk_max
        tp[kk, _BASKET] = 1.0 if baskets is None else baskets[kk]
    scan, dscan = _derive_type_table(tp, int(n_scan))
    return tp, scan, dscan


# --------------------------------------------------------------------------- target motion
@dataclass
class TargetMotion:
    """Predicted track positions at arbitrary times (constant velocity or ballistic grid).

    Built once per cycle by ``TargetMotion.build``; ``position(slot, t_abs)`` is vectorized over
    query pairs.
    """

    pos_ecef: FloatArray
    vel_ecef: FloatArray
    epoch_s: float
    ballistic_column: IntArray   # (m,) column in the grid, -1 for constant-velocity tracks
    grid_pos: FloatArray         # (n+1, nb, 3)
    grid_vel: FloatArray
    grid_dt_s: float

    @classmethod
    def build(cls, picture: TrackPicture, duration_s: float, dt_s: float = 1.0,
              rotating_earth: bool = True,
              trajectory: BallisticTrajectory | None = None) -> TargetMotion:
        """Motion of ``picture``'s tracks over ``duration_s`` from its epoch. A ``trajectory``
        of the same tracks (the threat evaluation's) is reused -- continued by RK4 from its last
        sample when shorter -- instead of propagating the ballistic tracks again; one that does
        not match the picture, step or Earth model is ignored."""
        pos = np.ascontiguousarray(np.asarray(picture.pos_ecef, float).reshape(-1, 3))
        vel = np.ascontiguousarray(np.asarray(picture.vel_ecef, float).reshape(-1, 3))
        ballistic = np.asarray(picture.ballistic, bool).reshape(-1)
        b = np.flatnonzero(ballistic)
        column = np.full(pos.shape[0], -1, np.int64)
        column[b] = np.arange(b.size)
        n = max(int(np.ceil(max(duration_s, 0.0) / dt_s)), 1)
        if not b.size:
            gp = gv = np.zeros((n + 1, 0, 3))
        elif trajectory is not None and trajectory.matches(picture, dt_s, rotating_earth):
            gp, gv = trajectory.pos_ecef, trajectory.vel_ecef
            have = gp.shape[0] - 1
            if have < n:
                ep, ev = propagate_ballistic(gp[-1], gv[-1], dt_s, n - have, rotating_earth)
                gp = np.concatenate([gp, ep[1:]])
                gv = np.concatenate([gv, ev[1:]])
            gp, gv = gp[: n + 1], gv[: n + 1]
        else:
            gp, gv = propagate_ballistic(pos[b], vel[b], dt_s, n, rotating_earth)
        return cls(pos, vel, float(picture.time_s), column, np.ascontiguousarray(gp),
                   np.ascontiguousarray(gv), dt_s)

    def position(self, slot: IntArray, t_abs_s: FloatArray) -> FloatArray:
        """Predicted ECEF positions ``(q, 3)`` of tracks ``slot (q,)`` at times ``t_abs_s (q,)``."""
        tau = np.asarray(t_abs_s, float) - self.epoch_s
        out = self.pos_ecef[slot] + self.vel_ecef[slot] * tau[:, None]
        col = self.ballistic_column[slot]
        b = col >= 0
        if b.any():
            out[b] = hermite_interpolate(self.grid_pos, self.grid_vel, self.grid_dt_s, col[b],
                                         tau[b])
        return out


def solve_intercept_time(interceptor: Interceptor, motion: TargetMotion, slot: IntArray,
                         unit_pos_ecef: FloatArray, t_launch_s: FloatArray,
                         tol_s: float = TOL_S, max_iter: int = MAX_ITER, n_scan: int = N_SCAN
                         ) -> tuple[FloatArray, FloatArray, np.ndarray]:
    """Earliest fixed point of ``t_f = T(|p(t_L + t_f) - p_unit|)`` for q (track, unit) pairs.

    slot : (q,) track rows; unit_pos_ecef : (q, 3); t_launch_s : (q,).
    Returns ``(t_f (q,), pip_ecef (q, 3), converged (q,) bool)``.

    Notes
    -----
    ``h(t) = t - g(t)`` is negative while the interceptor's reach is short of the target
    (``T`` is increasing). A scan of ``n_scan`` times over ``[0, max_time_of_flight]`` finds the
    first sign change, which brackets the earliest root (no root: not converged). Inside the
    bracket, Wegstein's accelerated fixed-point iteration runs; a step leaving the bracket is
    replaced by bisection and each new point shrinks the bracket by the sign of ``h``, so the
    iteration converges even when ``|g'| > 1`` (a target closing faster than the interceptor
    flies) or ``g`` is not monotone (a target passing by). Compiled, one pair at a time.
    """
    slot = np.ascontiguousarray(np.asarray(slot, np.int64).reshape(-1))
    q = slot.size
    unit = np.ascontiguousarray(np.broadcast_to(np.asarray(unit_pos_ecef, float), (q, 3)))
    t_l = np.ascontiguousarray(np.broadcast_to(np.asarray(t_launch_s, float), (q,)))
    tp, scan, dscan = _type_table([interceptor], n_scan=n_scan)
    return _solve_pairs(slot, unit, t_l, tp[0], scan[0], dscan[0], float(tol_s), int(max_iter),
                        float(motion.epoch_s), motion.pos_ecef, motion.vel_ecef,
                        np.asarray(motion.ballistic_column, np.int64), motion.grid_pos,
                        motion.grid_vel, float(motion.grid_dt_s))


@dataclass(frozen=True)
class EngagementFeasibility:
    """Launch-acceptability parameters (the Pk model is in the module docstring).

    Attributes
    ----------
    range_edge_loss, alt_edge_loss : float
        Fractional Pk loss at the envelope's maximum range / maximum height (L_r, L_h).
    edge_exponent : float
        Exponent n of the edge losses (Pk nearly flat inside, falling near the edges).
    velocity_sigma_rate_per_s : float
        kappa: velocity error taken as ``kappa x pos_sigma`` (1/s).
    basket_fraction : float
        Handover basket as a fraction of the seeker acquisition range.
    command_basket_lethal_radii : float
        Basket of command-guided rounds (no seeker) in lethal radii.
    ballistic_step_s : float
        Grid step of the ballistic target prediction (s).
    rotating_earth : bool
        Coriolis/centrifugal terms in the ballistic prediction.
    """

    range_edge_loss: float = 0.3
    alt_edge_loss: float = 0.2
    edge_exponent: float = 4.0
    velocity_sigma_rate_per_s: float = 0.1
    basket_fraction: float = 0.1
    command_basket_lethal_radii: float = 20.0
    ballistic_step_s: float = 1.0
    rotating_earth: bool = True

    def pk(self, interceptor: Interceptor, slant_range_m: FloatArray, pip_alt_m: FloatArray,
           max_range_m: FloatArray, max_alt_m: FloatArray, sigma_pip_m: FloatArray) -> FloatArray:
        """Single-shot Pk estimate (see the module docstring); arrays broadcast."""
        n = self.edge_exponent
        f_range = 1.0 - self.range_edge_loss * np.clip(slant_range_m / max_range_m, 0, 1) ** n
        f_alt = 1.0 - self.alt_edge_loss * np.clip(pip_alt_m / max_alt_m, 0, 1) ** n
        if interceptor.seeker_range_m > 0:
            basket = self.basket_fraction * interceptor.seeker_range_m
        else:
            basket = self.command_basket_lethal_radii * interceptor.lethal_radius_m
        f_track = 1.0 / (1.0 + (np.asarray(sigma_pip_m, float) / basket) ** 2)
        return interceptor.pk_max * f_range * f_alt * f_track

    def candidates(self, picture: TrackPicture, assessment: ThreatAssessment,
                   units: FireUnitTable, rounds: IntArray, interceptors: Sequence[Interceptor],
                   time_s: float, next_launch_s: FloatArray | None = None) -> Candidates:
        """All feasible (track, unit, interceptor type) engagements.

        Parameters
        ----------
        picture : TrackPicture (m tracks); assessment : its ThreatAssessment
        units : FireUnitTable (u units)
        rounds : (u, k) int
            Rounds on hand; pairs with no round of a type are not considered.
        interceptors : k Interceptor records (column order of ``rounds``)
        time_s : float
            Decision time.
        next_launch_s : (u,) float, optional
            Earliest next launch per unit (launch interval); default: no constraint.

        Returns
        -------
        Candidates, sorted by (track slot, unit, interceptor type).
        """
        m, n_units, k = len(picture), len(units), len(interceptors)
        rounds = np.asarray(rounds).reshape(n_units, k)
        names = tuple(i.name for i in interceptors)
        if not (m and n_units and k):
            return _empty_candidates(names, list(units.unit_id))
        reaction = np.asarray(units.reaction_time_s, float).reshape(-1)
        t_launch_unit = time_s + reaction
        if next_launch_s is not None:
            t_launch_unit = np.maximum(t_launch_unit, np.asarray(next_launch_s, float))
        tti = np.asarray(assessment.time_to_impact_s, float)
        impact_abs = np.where(np.isfinite(tti), assessment.time_s + tti, np.inf)
        horizon = (float(np.max(t_launch_unit)) - picture.time_s
                   + max(i.max_time_of_flight_s for i in interceptors) + 2.0)
        motion = TargetMotion.build(picture, horizon, self.ballistic_step_s, self.rotating_earth,
                                    getattr(assessment, "ballistic_trajectory", None))
        env = np.full((k, len(THREAT_CLASSES), 4), np.nan)
        baskets, cost = [], np.empty(k)
        for kk, interceptor in enumerate(interceptors):
            if interceptor.seeker_range_m > 0:
                baskets.append(self.basket_fraction * interceptor.seeker_range_m)
            else:
                baskets.append(self.command_basket_lethal_radii * interceptor.lethal_radius_m)
            for ci, c in enumerate(THREAT_CLASSES):
                envelope = interceptor.envelopes.get(c)
                if envelope is not None:
                    env[kk, ci] = (envelope.min_range_m, envelope.max_range_m,
                                   envelope.min_alt_m, envelope.max_alt_m)
            cost[kk] = interceptor.unit_cost_usd
        tp, scan, dscan = _type_table(interceptors, baskets)
        out_i, out_f = _candidates_kernel(
            _c_int(assessment.class_index), _c_float(picture.pos_sigma_m), impact_abs,
            float(motion.epoch_s), motion.pos_ecef, motion.vel_ecef, motion.ballistic_column,
            motion.grid_pos, motion.grid_vel, float(motion.grid_dt_s),
            np.ascontiguousarray(np.asarray(units.pos_ecef, float).reshape(-1, 3)),
            np.ascontiguousarray(np.asarray(units.rotation, float).reshape(-1, 3, 3)),
            _c_float(units.heading_rad), _c_float(units.sector_half_width_rad),
            _c_float(units.radar_range_m), _c_float(t_launch_unit),
            np.ascontiguousarray(rounds > 0), tp, env, scan, dscan,
            float(self.range_edge_loss), float(self.alt_edge_loss), float(self.edge_exponent),
            float(self.velocity_sigma_rate_per_s), TOL_S, MAX_ITER, _PRUNE)
        kind = out_i[:, 2].copy()
        return Candidates(
            track_slot=out_i[:, 0].copy(), unit=out_i[:, 1].copy(), interceptor_type=kind,
            t_launch_s=out_f[:, 0].copy(), t_intercept_s=out_f[:, 1].copy(),
            time_of_flight_s=out_f[:, 2].copy(), pip_ecef=out_f[:, 3:6].copy(),
            slant_range_m=out_f[:, 6].copy(), pip_alt_m=out_f[:, 7].copy(),
            pk=out_f[:, 8].copy(), cost_usd=cost[kind], interceptor_names=names,
            unit_ids=list(units.unit_id))


def _c_float(x: FloatArray) -> FloatArray:
    return np.ascontiguousarray(np.asarray(x, float).reshape(-1))


def _c_int(x: IntArray) -> IntArray:
    return np.ascontiguousarray(np.asarray(x, np.int64).reshape(-1))


def _empty_candidates(names: tuple[str, ...], unit_ids: list[str]) -> Candidates:
    i0, f0 = np.zeros(0, np.int64), np.zeros(0)
    return Candidates(track_slot=i0, unit=i0.copy(), interceptor_type=i0.copy(),
                      t_launch_s=f0, t_intercept_s=f0.copy(), time_of_flight_s=f0.copy(),
                      pip_ecef=np.zeros((0, 3)), slant_range_m=f0.copy(), pip_alt_m=f0.copy(),
                      pk=f0.copy(), cost_usd=f0.copy(), interceptor_names=names,
                      unit_ids=unit_ids)


def feasible_engagements(picture: TrackPicture, assessment: ThreatAssessment,
                         units: FireUnitTable, rounds: IntArray,
                         interceptors: Sequence[Interceptor], time_s: float,
                         next_launch_s: FloatArray | None = None,
                         model: EngagementFeasibility | None = None) -> Candidates:
    """Feasible engagements with ``model`` (default parameters when None); see
    ``EngagementFeasibility.candidates``."""
    return (model or EngagementFeasibility()).candidates(
        picture, assessment, units, rounds, interceptors, time_s, next_launch_s)
