"""Kinematic paths of air-breathing threats (cruise missiles, diving cruise missiles, drones).

Geometry
--------
The ground track is a chain of great-circle legs in *n-vector* space (the unit normal of the
ellipsoid, Gade 2010): launch -> route waypoints -> aim. Along leg j, with unit start normal
``A_j``, unit tangent ``T_j`` and angle ``phi`` travelled, ``U = cos(phi) A_j + sin(phi) T_j``.
A point at geodetic height ``h`` over the normal ``U`` has the closed form::

    p = N(U) (U_x, U_y, (1 - e^2) U_z) + h U,        N = a / sqrt(1 - e^2 U_z^2)

so the height above the WGS84 ellipsoid is exactly the profile ``h`` wherever the missile is:
the path follows the earth's curvature (a straight chord of 300 km would sag ~1.8 km below).
The ground coordinate ``x = R_mean * (angle along the track)`` (m) drives the height profile
``h(x)``, C1-continuous:

- climb (or, for air launch above cruise height, descent) over ``x_c``:
  ``h = h_c + (h_l - h_c) (1 + cos(pi x / x_c)) / 2`` with maximum slope ``tan(angle)``;
- cruise ``h = h_c``;
- terminal dive over the last ``y_d`` (distance to go ``y``, ``u = y / y_d``):
  ``h = h_a + (h_c - h_a) P(u)``, ``P(u) = k u + (3 - 2k) u^2 + (k - 2) u^3`` — the cubic with
  ``P(0) = 0``, ``P(1) = 1``, ``P'(1) = 0`` (enters level) and impact slope
  ``dh/dy = tan(gamma)``, i.e. ``k = y_d tan(gamma) / (h_c - h_a)``. ``k <= 3`` is a monotone
  dive (``k = 2``: ``u (2 - u)``); a low cruise missile asked to dive steeply gets ``k > 3``,
  a pop-up (peak ~ ``4k/27 (h_c - h_a)`` at ``u ~ 1/3``) before the dive.

Timing
------
The missile flies at constant speed ``v`` along the 3-D path. The arc length
``L(x) = int |dp/dx| dx`` is integrated by Simpson's rule on nodes dense in the climb and the
dive, and inverted with cubic Hermite interpolation (``dx/dL = 1/|dp/dx|`` at the nodes). The
velocity is ``v dp/dx / |dp/dx|`` (analytic derivative), so ``|vel| = v`` exactly and the
finite differences of the positions agree with it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shieldwall.core.physics import interpolate_hermite_position_array
from shieldwall.core.types import FloatArray, IntArray
from shieldwall.geo import EARTH_MEAN_RADIUS_M, WGS84_A_M, WGS84_B_M, ecef2geodetic

_E2 = 1.0 - (WGS84_B_M / WGS84_A_M) ** 2
_CLIMB_NODES = 48
_DIVE_NODES = 96
_CRUISE_SPACING_M = 2000.0
_TURN_NODES = 17


def ecef2nvector(pos_ecef: FloatArray) -> tuple[FloatArray, FloatArray]:
    """ECEF ``(..., 3)`` -> (n-vector ``(..., 3)``, geodetic height ``(...)``)."""
    lat, lon, alt = ecef2geodetic(pos_ecef)
    p, lam = np.radians(lat), np.radians(lon)
    return np.stack([np.cos(p) * np.cos(lam), np.cos(p) * np.sin(lam), np.sin(p)], -1), alt


def nvector2ecef(nvec: FloatArray, alt_m: FloatArray) -> FloatArray:
    """n-vector ``(..., 3)`` and geodetic height ``(...)`` -> ECEF ``(..., 3)`` (closed form)."""
    n = np.asarray(nvec, float)
    big_n = WGS84_A_M / np.sqrt(1.0 - _E2 * n[..., 2] ** 2)
    squeeze = np.stack([n[..., 0], n[..., 1], (1.0 - _E2) * n[..., 2]], -1)
    return big_n[..., None] * squeeze + np.asarray(alt_m, float)[..., None] * n


@dataclass
class PathSet:
    """Paths of m air-breathing threats (padded to the largest number of legs).

    Attributes
    ----------
    leg_start : (m, J, 3) unit n-vector at each leg start
    leg_tangent : (m, J, 3) unit tangent of each leg (zero on padding)
    leg_x0 : (m, J + 1) ground coordinate of each leg start (m); +inf on padding
    corner_halfwidth : (m, J + 1) half-length of the rounded turn at each leg start (m)
    total_x : (m,) ground length of the track (m)
    climb_x, dive_x : (m,) end of the climb and start of the dive (ground coordinate, m)
    dive_shape : (m,) the dive polynomial's ``k``
    launch_h, cruise_h, aim_h : (m,) heights of the profile (m above the ellipsoid)
    node_x, node_l, node_dxdl : (m, M) inversion table of the arc length
    total_length_m : (m,) 3-D path length (m)
    """

    leg_start: FloatArray
    leg_tangent: FloatArray
    leg_x0: FloatArray
    corner_halfwidth: FloatArray
    total_x: FloatArray
    climb_x: FloatArray
    dive_x: FloatArray
    dive_shape: FloatArray
    launch_h: FloatArray
    cruise_h: FloatArray
    aim_h: FloatArray
    node_x: FloatArray
    node_l: FloatArray
    node_dxdl: FloatArray
    total_length_m: FloatArray


def _profile(paths: PathSet, rows: IntArray, x: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Height and its derivative along the ground coordinate, at (rows, x)."""
    hl, hc, ha = paths.launch_h[rows], paths.cruise_h[rows], paths.aim_h[rows]
    xc, xd, xt = paths.climb_x[rows], paths.dive_x[rows], paths.total_x[rows]
    h = hc.copy()
    dh = np.zeros_like(hc)
    climb = x < xc
    if np.any(climb):
        xcs = np.where(climb, xc, 1.0)
        arg = np.pi * x / xcs
        h = np.where(climb, hc + (hl - hc) * 0.5 * (1.0 + np.cos(arg)), h)
        dh = np.where(climb, -(hl - hc) * 0.5 * np.pi / xcs * np.sin(arg), dh)
    dive = x > xd
    if np.any(dive):
        yd = np.where(dive, xt - xd, 1.0)
        k = paths.dive_shape[rows]
        u = np.clip((xt - x) / yd, 0.0, 1.0)
        poly = u * (k + (3.0 - 2.0 * k) * u + (k - 2.0) * u * u)
        dpoly = k + 2.0 * (3.0 - 2.0 * k) * u + 3.0 * (k - 2.0) * u * u
        h = np.where(dive, ha + (hc - ha) * poly, h)
        dh = np.where(dive, -(hc - ha) * dpoly / yd, dh)
    return h, dh


def _leg_point(paths: PathSet, rows: IntArray, leg: IntArray, x: FloatArray
               ) -> tuple[FloatArray, FloatArray]:
    """n-vector on (the extension of) great-circle leg ``leg`` at ground coordinate x, and
    its derivative along x."""
    a = paths.leg_start[rows, leg]
    t = paths.leg_tangent[rows, leg]
    phi = (x - paths.leg_x0[rows, leg]) / EARTH_MEAN_RADIUS_M
    c, s = np.cos(phi)[:, None], np.sin(phi)[:, None]
    return c * a + s * t, (-s * a + c * t) / EARTH_MEAN_RADIUS_M


def _track(paths: PathSet, rows: IntArray, x: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Ground-track n-vector ``U`` and ``dU/dx`` at (rows, x), corners rounded.

    Around the waypoint at the start of leg j (ground coordinate ``x_j``, half-width ``w_j``)
    the track is the normalized blend ``W = (1 - b) U_{j-1}(x) + b U_j(x)`` of the two legs'
    great circles (each extended past the waypoint), ``b`` = smoothstep over
    ``[x_j - w_j, x_j + w_j]``. Both circles pass through the waypoint at ``x_j``, so the blend
    does too (exactly), and the heading turns smoothly instead of jumping.
    """
    n_legs = paths.leg_x0.shape[1]
    x0 = paths.leg_x0[rows]  # (q, J + 1), last column +inf
    leg = np.clip(np.sum(x[:, None] >= x0, axis=1) - 1, 0, n_legs - 2)
    q = np.arange(len(rows))
    w_start = paths.corner_halfwidth[rows, leg]
    w_end = paths.corner_halfwidth[rows, leg + 1]
    in_start = (x - x0[q, leg]) < w_start
    in_end = (x0[q, leg + 1] - x) < w_end
    leg_a = np.where(in_start, leg - 1, leg)
    leg_b = np.where(in_end, leg + 1, leg)
    centre = np.where(in_start, x0[q, leg], np.where(in_end, x0[q, leg + 1], 0.0))
    width = np.where(in_start, w_start, np.where(in_end, w_end, 1.0))
    u, du = _leg_point(paths, rows, np.maximum(leg_a, 0), x)
    sel = np.flatnonzero(in_start | in_end)
    if sel.size == 0:
        return u, du
    u_a, du_a, xs = u[sel], du[sel], x[sel]
    u_b, du_b = _leg_point(paths, rows[sel], leg_b[sel], xs)
    z = np.clip((xs - centre[sel] + width[sel]) / (2.0 * width[sel]), 0.0, 1.0)
    b = (z * z * (3.0 - 2.0 * z))[:, None]
    db = (6.0 * z * (1.0 - z) / (2.0 * width[sel]))[:, None]
    w = (1.0 - b) * u_a + b * u_b
    dw = (1.0 - b) * du_a + b * du_b + db * (u_b - u_a)
    norm = np.linalg.norm(w, axis=1, keepdims=True)
    u[sel] = w / norm
    du[sel] = (dw - u[sel] * np.sum(u[sel] * dw, axis=1, keepdims=True)) / norm
    return u, du


def path_point(paths: PathSet, rows: IntArray, x: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Position ``(q, 3)`` ECEF and its derivative ``dp/dx`` ``(q, 3)`` at ground coordinate x."""
    u, du = _track(paths, rows, x)
    h, dh = _profile(paths, rows, x)
    w = 1.0 - _E2 * u[:, 2] ** 2
    big_n = WGS84_A_M / np.sqrt(w)
    dbig_n = WGS84_A_M * _E2 * u[:, 2] * du[:, 2] / w**1.5
    squeeze = u.copy()
    squeeze[:, 2] *= 1.0 - _E2
    dsqueeze = du.copy()
    dsqueeze[:, 2] *= 1.0 - _E2
    p = big_n[:, None] * squeeze + h[:, None] * u
    dp = dbig_n[:, None] * squeeze + big_n[:, None] * dsqueeze + dh[:, None] * u + h[:, None] * du
    return p, dp


def build_paths(
    launch_ecef: FloatArray,
    waypoints_ecef: list[FloatArray],
    aim_ecef: FloatArray,
    cruise_alt_m: FloatArray,
    climb_angle_rad: float,
    descent_angle_rad: float,
    dive_range_m: FloatArray,
    dive_angle_rad: float,
    speed_mps: FloatArray,
    max_turn_accel_mps2: float,
    max_turn_rate_rad_s: float,
) -> PathSet:
    """Build the tracks and height profiles of m threats.

    Parameters
    ----------
    launch_ecef, aim_ecef : (m, 3) ECEF; their geodetic heights are the profile's start and end
    waypoints_ecef : m arrays ``(k_i, 3)``; only their ground positions are used
    cruise_alt_m : (m,) cruise height above the ellipsoid
    climb_angle_rad, descent_angle_rad : steepest slope of the climb (launch below cruise
        height) or of the initial descent (air launch above it)
    dive_range_m : (m,) ground length of the terminal dive
    dive_angle_rad : impact angle of the dive
    speed_mps : (m,) flight speed; with the turn limits it sets the rounded turns at the
        waypoints: half-length ``w = 0.75 dpsi max(v^2 / a, v / omega)`` for a heading change
        ``dpsi`` (the smoothstep blend peaks at 1.5 times the mean turn rate), at most 45 % of
        either leg
    """
    m = launch_ecef.shape[0]
    n_l, h_l = ecef2nvector(launch_ecef)
    n_a, h_a = ecef2nvector(aim_ecef)
    n_pts = 2 + max((len(w) for w in waypoints_ecef), default=0)
    pts = np.empty((m, n_pts, 3))
    n_valid = np.empty(m, np.int64)
    for i, w in enumerate(waypoints_ecef):  # set-up only: ragged waypoint lists
        k = len(w)
        pts[i, 0] = n_l[i]
        if k:
            pts[i, 1:1 + k] = ecef2nvector(np.asarray(w, float))[0]
        pts[i, 1 + k:] = n_a[i]
        n_valid[i] = k + 2
    a, b = pts[:, :-1], pts[:, 1:]
    cosang = np.sum(a * b, axis=-1)
    sinang = np.linalg.norm(np.cross(a, b), axis=-1)
    ang = np.arctan2(sinang, cosang)
    real = ang > 1e-12
    tangent = np.where(real[..., None],
                       (b - cosang[..., None] * a) / np.where(real, sinang, 1.0)[..., None], 0.0)
    # Compact the real legs to the front (stable), padding gets x0 = +inf.
    order = np.argsort(~real, axis=1, kind="stable")
    a = np.take_along_axis(a, order[..., None], axis=1)
    tangent = np.take_along_axis(tangent, order[..., None], axis=1)
    ang = np.take_along_axis(ang, order, axis=1)
    real = np.take_along_axis(real, order, axis=1)
    lengths = EARTH_MEAN_RADIUS_M * ang
    x0 = np.cumsum(lengths, axis=1) - lengths
    x0 = np.where(real, x0, np.inf)
    x0[:, 0] = 0.0
    total = np.sum(lengths, axis=1)
    # Heading change at each leg start: end tangent of the previous leg vs this start tangent.
    end_tangent = -np.sin(ang)[..., None] * a + np.cos(ang)[..., None] * tangent
    cos_turn = np.sum(end_tangent[:, :-1] * tangent[:, 1:], axis=-1)
    turn = np.arccos(np.clip(cos_turn, -1.0, 1.0))
    v2 = np.asarray(speed_mps, float)[:, None] ** 2
    radius = np.maximum(v2 / max_turn_accel_mps2, np.sqrt(v2) / max_turn_rate_rad_s)
    half = np.minimum(0.75 * radius * turn,
                      0.45 * np.minimum(lengths[:, :-1], lengths[:, 1:]))
    half = np.where(real[:, 1:], half, 0.0)
    n_legs = a.shape[1]
    corner = np.zeros((m, n_legs + 1))
    corner[:, 1:n_legs] = half
    x0 = np.concatenate([x0, np.full((m, 1), np.inf)], axis=1)
    a = np.concatenate([a, a[:, -1:]], axis=1)
    tangent = np.concatenate([tangent, tangent[:, -1:]], axis=1)

    hc = np.asarray(cruise_alt_m, float)
    climb_angle = np.where(h_l <= hc, climb_angle_rad, descent_angle_rad)
    climb_x = 0.5 * np.pi * np.abs(hc - h_l) / np.tan(climb_angle)
    dive_x_len = np.asarray(dive_range_m, float).copy()
    scale = np.where(climb_x + dive_x_len > total,
                     total / np.maximum(climb_x + dive_x_len, 1e-9), 1.0)
    climb_x *= scale
    dive_x_len *= scale
    dive_x = total - dive_x_len
    drop = hc - h_a
    dive_shape = np.where(np.abs(drop) > 1e-6, dive_x_len * np.tan(dive_angle_rad)
                          / np.where(np.abs(drop) > 1e-6, drop, 1.0), 2.0)
    paths = PathSet(a, tangent, x0, corner, total, climb_x, dive_x, dive_shape, h_l, hc, h_a,
                    np.empty((m, 0)), np.empty((m, 0)), np.empty((m, 0)), np.empty(m))

    # Arc-length table: Simpson on nodes (dense in climb and dive), Hermite inversion.
    # Per-threat node counts (padding repeats the last node), so a threat's table does not
    # depend on which other threats share the batch.
    n_cruise = np.clip(np.ceil((dive_x - climb_x) / _CRUISE_SPACING_M), 8, 4000).astype(int)
    f = np.linspace(0.0, 1.0, _CLIMB_NODES, endpoint=False)
    g = np.minimum(np.arange(int(n_cruise.max(initial=8)))[None, :] / n_cruise[:, None], 1.0)
    d = np.linspace(0.0, 1.0, _DIVE_NODES)
    node_x = np.concatenate([climb_x[:, None] * f,
                             climb_x[:, None] + (dive_x - climb_x)[:, None] * g,
                             dive_x[:, None] + dive_x_len[:, None] * d], axis=1)
    # Dense nodes across each rounded turn (padding turns collapse onto x = 0).
    c = np.linspace(-1.0, 1.0, _TURN_NODES)
    x_corner = np.where(np.isfinite(x0[:, 1:n_legs]), x0[:, 1:n_legs], 0.0)
    turn_nodes = (x_corner[..., None] + half[..., None] * c).reshape(m, -1)
    node_x = np.sort(np.concatenate([node_x, np.clip(turn_nodes, 0.0, total[:, None])], axis=1),
                     axis=1)
    n_nodes = node_x.shape[1]
    mid_x = 0.5 * (node_x[:, 1:] + node_x[:, :-1])
    rows = np.repeat(np.arange(m), n_nodes)
    _, dp_nodes = path_point(paths, rows, node_x.ravel())
    speed_nodes = np.linalg.norm(dp_nodes, axis=1).reshape(m, n_nodes)
    rows_mid = np.repeat(np.arange(m), n_nodes - 1)
    _, dp_mid = path_point(paths, rows_mid, mid_x.ravel())
    speed_mid = np.linalg.norm(dp_mid, axis=1).reshape(m, n_nodes - 1)
    dl = np.diff(node_x, axis=1) / 6.0 * (speed_nodes[:, :-1] + 4 * speed_mid + speed_nodes[:, 1:])
    node_l = np.concatenate([np.zeros((m, 1)), np.cumsum(dl, axis=1)], axis=1)
    paths.node_x, paths.node_l, paths.node_dxdl = node_x, node_l, 1.0 / speed_nodes
    paths.total_length_m = node_l[:, -1]
    return paths


def x_at_length(paths: PathSet, rows: IntArray, length_m: FloatArray) -> FloatArray:
    """Ground coordinate x at 3-D path length ``length_m`` (cubic Hermite inversion)."""
    m, n_nodes = paths.node_l.shape
    span = float(np.max(paths.total_length_m, initial=0.0)) + 1e3
    flat = (paths.node_l + span * np.arange(m)[:, None]).ravel()
    q = np.clip(length_m, 0.0, paths.total_length_m[rows])
    idx = np.searchsorted(flat, q + span * rows, side="right") - 1 - rows * n_nodes
    idx = np.clip(idx, 0, n_nodes - 2)
    l0, l1 = paths.node_l[rows, idx], paths.node_l[rows, idx + 1]
    x0, x1 = paths.node_x[rows, idx], paths.node_x[rows, idx + 1]
    m0, m1 = paths.node_dxdl[rows, idx], paths.node_dxdl[rows, idx + 1]
    dl = l1 - l0
    pos = dl > 0
    s = np.where(pos, (q - l0) / np.where(pos, dl, 1.0), 0.0)
    return interpolate_hermite_position_array(s, dl, x0, m0, x1, m1)


def path_state(paths: PathSet, rows: IntArray, length_m: FloatArray,
               speed_mps: FloatArray) -> tuple[FloatArray, FloatArray]:
    """ECEF position and velocity ``(q, 3)`` after flying ``length_m`` at ``speed_mps``."""
    x = x_at_length(paths, rows, length_m)
    p, dp = path_point(paths, rows, x)
    vel = dp * (speed_mps / np.linalg.norm(dp, axis=1))[:, None]
    return p, vel
