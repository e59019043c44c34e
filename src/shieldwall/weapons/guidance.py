"""Pure array kernels of the flyout: proportional navigation, point-mass gravity, the turn of the
velocity vector, closest approach inside a step, and a cheap height above the ellipsoid.

All arrays are ``(n, 3)`` ECEF (m, m/s, m/s^2) or ``(n,)``; no objects, no randomness.

Proportional navigation (Zarchan, "Tactical and Strategic Missile Guidance", ch. 2, with the
3-D line-of-sight rate vector)::

    R = r_T - r_M,  V = v_T - v_M                 relative position and velocity
    Omega = R x V / |R|^2                         line-of-sight rate vector (rad/s)
    V_c = -R . V / |R|                            closing speed
    a_c = N V_c (Omega x u_M)                     u_M = v_M / |v_M|

``a_c`` is the true-PN magnitude ``N V_c |lambda_dot|`` applied normal to the interceptor's
velocity, the form of Zarchan's nonlinear engagement simulations (a missile whose speed is
imposed can only turn its velocity). It is zeroed when the range opens (``V_c <= 0``).
"""

from __future__ import annotations

import numpy as np

from shieldwall.core.physics import accel_gravity_ecef_array
from shieldwall.core.types import FloatArray
from shieldwall.geo import EARTH_GM_M3_S2, WGS84_A_M, WGS84_B_M

G0_MPS2 = 9.80665


def _dot(a: FloatArray, b: FloatArray) -> FloatArray:
    return np.einsum("ij,ij->i", a, b)


def pn_acceleration(pos_ecef: FloatArray, vel_ecef: FloatArray, target_pos_ecef: FloatArray,
                    target_vel_ecef: FloatArray, navigation_ratio: FloatArray) -> FloatArray:
    """Proportional-navigation lateral acceleration command ``(n, 3)`` (m/s^2), normal to the
    interceptor velocity (see the module docstring). ``navigation_ratio`` is ``(n,)`` or scalar.
    """
    rel = target_pos_ecef - pos_ecef
    rel_vel = target_vel_ecef - vel_ecef
    r2 = _dot(rel, rel)
    safe_r2 = np.where(r2 > 0.0, r2, 1.0)
    omega = np.cross(rel, rel_vel) / safe_r2[:, None]
    closing = -_dot(rel, rel_vel) / np.sqrt(safe_r2)
    speed = np.linalg.norm(vel_ecef, axis=1)
    u = vel_ecef / np.where(speed > 0.0, speed, 1.0)[:, None]
    gain = np.where(r2 > 0.0, navigation_ratio * np.maximum(closing, 0.0), 0.0)
    return gain[:, None] * np.cross(omega, u)


def axial_compensation(pos_ecef: FloatArray, unit_vel: FloatArray, target_pos_ecef: FloatArray,
                       axial_accel_mps2: FloatArray, navigation_ratio: FloatArray) -> FloatArray:
    """Own axial-acceleration term of the zero-effort-miss form of PN ``(n, 3)`` (m/s^2).

    PN is ``a = N ZEM_perp / t_go^2`` with ``ZEM = R + V t_go + a_rel t_go^2 / 2``; the
    ``R + V t_go`` part is ``pn_acceleration``. The interceptor's own known acceleration along
    its velocity, ``a_x u`` (boost thrust, drag decay of the imposed speed profile), enters
    ``a_rel`` as ``-a_x u``, adding (the augmented-PN form, Zarchan)::

        a_x_term = -(N / 2) a_x (u - (u . l) l)        l = R / |R|

    (its component along ``u`` is removed later with the rest of the command).
    """
    rel = target_pos_ecef - pos_ecef
    dist = np.linalg.norm(rel, axis=1)
    los = rel / np.where(dist > 0.0, dist, 1.0)[:, None]
    u_perp = unit_vel - _dot(unit_vel, los)[:, None] * los
    return (-0.5 * navigation_ratio * axial_accel_mps2)[:, None] * u_perp


def gravity_ecef(pos_ecef: FloatArray) -> FloatArray:
    """Point-mass gravity ``-GM r / |r|^3`` (m/s^2) at ECEF points ``(n, 3)``.

    The rotating-frame terms (Coriolis, centrifugal; < 0.2 % of g at interceptor speeds) and
    J2 are neglected: the flyout lasts seconds to a minute and its speed is imposed
    (``core.physics.accel_gravity_ecef_array`` with ``j2c = omega = 0``).
    """
    return accel_gravity_ecef_array(pos_ecef, pos_ecef, EARTH_GM_M3_S2, 0.0, 0.0)


def perpendicular(vec: FloatArray, unit: FloatArray) -> FloatArray:
    """The component of ``vec (n,3)`` normal to the unit vectors ``unit (n,3)``."""
    return vec - _dot(vec, unit)[:, None] * unit


def clip_norm(vec: FloatArray, max_norm: FloatArray) -> FloatArray:
    """Scale the rows of ``vec (n,3)`` whose norm exceeds ``max_norm (n,)`` down to it."""
    norm = np.linalg.norm(vec, axis=1)
    scale = np.where(norm > max_norm, max_norm / np.where(norm > 0.0, norm, 1.0), 1.0)
    return vec * scale[:, None]


def turn_and_advance(pos_ecef: FloatArray, unit_vel: FloatArray, lateral_accel: FloatArray,
                     path_length_m: FloatArray, h_s: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Fly an arc of constant turn rate: returns (new position ``(n,3)``, new unit velocity).

    With ``a`` the lateral acceleration (normal to the unit velocity ``u0``), ``L`` the path
    length flown in ``h`` and ``s = L / h`` the mean speed, the velocity turns at
    ``omega = |a| / s`` in the plane of ``(u0, n = a/|a|)`` through ``theta = omega h``::

        u1 = u0 cos(theta) + n sin(theta)
        r1 = r0 + L [ u0 sin(theta)/theta + n (1 - cos(theta))/theta ]

    (exact for a circular arc flown at any speed history of path length ``L``).
    """
    a_norm = np.linalg.norm(lateral_accel, axis=1)
    mean_speed = path_length_m / np.where(h_s > 0.0, h_s, 1.0)
    theta = np.where(mean_speed > 0.0, a_norm * h_s / np.where(mean_speed > 0, mean_speed, 1.0),
                     0.0)
    n = lateral_accel / np.where(a_norm > 0.0, a_norm, 1.0)[:, None]
    small = theta < 1e-4
    t_safe = np.where(small, 1.0, theta)
    sinc = np.where(small, 1.0 - theta**2 / 6.0, np.sin(t_safe) / t_safe)
    cosc = np.where(small, theta / 2.0 - theta**3 / 24.0, (1.0 - np.cos(t_safe)) / t_safe)
    new_unit = np.cos(theta)[:, None] * unit_vel + np.sin(theta)[:, None] * n
    new_pos = pos_ecef + path_length_m[:, None] * (sinc[:, None] * unit_vel + cosc[:, None] * n)
    return new_pos, new_unit


def closest_approach(rel_pos0: FloatArray, rel_pos1: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Closest approach over a step of straight-line relative motion.

    With ``r(s) = r0 + s d``, ``d = r1 - r0``, ``s in [0, 1]`` the fraction of the step::

        s* = clip(-r0 . d / |d|^2, 0, 1),   miss = |r0 + s* d|

    Returns ``(s*, miss_m)``, each ``(n,)``. Multiply ``s*`` by the step length for the time.
    """
    d = rel_pos1 - rel_pos0
    d2 = _dot(d, d)
    s = np.where(d2 > 0.0, -_dot(rel_pos0, d) / np.where(d2 > 0.0, d2, 1.0), 0.0)
    s = np.clip(s, 0.0, 1.0)
    miss = np.linalg.norm(rel_pos0 + s[:, None] * d, axis=1)
    return s, miss


def height_above_ellipsoid_m(pos_ecef: FloatArray) -> FloatArray:
    """Radial height above the WGS84 ellipsoid ``(n,)``: ``|r| - R_e(geocentric latitude)``.

    Differs from the geodetic height by ``h (1 - cos delta)`` with ``delta < 0.2 deg`` the
    angle between radial and normal (< 1e-5 relative): cheap enough for every step.
    """
    r = np.linalg.norm(pos_ecef, axis=1)
    sin_lat = pos_ecef[:, 2] / np.where(r > 0.0, r, 1.0)
    cos2 = 1.0 - sin_lat**2
    radius = WGS84_A_M * WGS84_B_M / np.sqrt((WGS84_B_M**2) * cos2 + (WGS84_A_M**2) * sin_lat**2)
    return r - radius
