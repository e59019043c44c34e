"""Batched motion models of the IMM tracker: constant velocity, constant acceleration,
coordinated turn, ballistic (gravity and drag).

Every model predicts a batch of ``n`` states ``x (n, D)`` with covariances ``P (n, D, D)`` by
steps ``dt (n,)`` seconds and returns new arrays (``predict``). The state is
``[p (3), v (3)]`` (m, m/s) in a Cartesian frame, followed by ``a (3)`` (m/s^2) when ``D = 9``
(the constant-acceleration model). A model of dimension 6 used in a 9-dimensional tracker
(an IMM mixing CA with others) predicts the first six components and resets the acceleration
to zero mean with variance ``acceleration_std_mps2^2`` (the "augmented with a prior"
convention).

The frame (``frame``):

- ``"enu"``: a flat local frame, ``z`` up: gravity ``(0, 0, -g0)``, altitude ``z`` (plus
  ``alt0_m``), horizontal plane ``x, y`` (the §6.3 benchmark frame);
- ``"ecef"``: WGS84 ECEF: point-mass gravity ``-GM p/|p|^3``, optionally the Coriolis and
  centrifugal terms of the rotating frame, local vertical along ``p/|p|``, altitude above the
  ellipsoid (``kernels.approx_altitude_m``).

Process noise is continuous white noise of power spectral density ``q`` on each axis, in
physical units: ``q`` m^2/s^3 (acceleration noise; velocity random walk of ``sqrt(q t)`` m/s
after ``t`` s) for the velocity models, m^2/s^5 (jerk noise) for CA. Discretized
(Bar-Shalom, Li & Kirubarajan 2001, §6.2.2-6.2.3)::

    CV:  Q = q [[h^3/3, h^2/2], [h^2/2, h]] (x) I3
    CA:  Q = q [[h^5/20, h^4/8, h^3/6], [h^4/8, h^3/3, h^2/2], [h^3/6, h^2/2, h]] (x) I3

Coordinated turn with known normal acceleration ``a_n`` (Bar-Shalom 2001 §11.7.1; Li & Jilkov
2003 §4.2): the horizontal velocity turns at ``omega = a_n / |v_h|`` about the local vertical
``u`` (``a_n > 0`` turns left, counter-clockwise seen from above), the vertical velocity is
constant. With ``theta = omega h``, ``Pi = I - u u^T`` and ``[u]x`` the cross-product matrix::

    v+ = (cos theta Pi + sin theta [u]x Pi + u u^T) v
    p+ = p + (sin theta / omega Pi + (1 - cos theta) / omega [u]x Pi + h u u^T) v

which is linear in ``x`` for a given ``omega`` (the Jacobian treats ``omega`` as known, the
usual fixed-rate CT model of an IMM). Its ``Q`` is the CV one.

Ballistic (gravity + drag): ``dv/dt = g(p) - rho(alt) |v| v / (2 beta)`` with ballistic
coefficient ``beta = m / (C_D A)`` (kg/m^2; ``inf``: no drag) and the exponential atmosphere
``rho = 1.225 exp(-alt / 7200 m)``, integrated by velocity Verlet in sub-steps of at most
``max_step_s``; ``F = I + A h + A^2 h^2 / 2`` per sub-step with ``A`` the Jacobian of
``(v, dv/dt)`` at the start of the sub-step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from shieldwall.core.types import FloatArray
from shieldwall.geo import EARTH_GM_M3_S2, EARTH_OMEGA_RAD_S
from shieldwall.tracking.imm_kernels import ballistic_predict, ct_predict, propagate
from shieldwall.tracking.kernels import approx_altitude_m, local_up

STANDARD_GRAVITY_MPS2 = 9.80665
SEA_LEVEL_DENSITY_KG_M3 = 1.225
DENSITY_SCALE_HEIGHT_M = 7200.0
Frame = Literal["enu", "ecef"]
_EYE3 = np.eye(3)
_OMEGA = np.array([0.0, 0.0, EARTH_OMEGA_RAD_S])
_SKEW_OMEGA = np.array([[0.0, -EARTH_OMEGA_RAD_S, 0.0], [EARTH_OMEGA_RAD_S, 0.0, 0.0],
                        [0.0, 0.0, 0.0]])


class MotionModelLike(Protocol):
    """What the IMM tracker needs from a motion model (read-only: frozen models fit)."""

    @property
    def dim(self) -> int: ...

    def predict(self, x: FloatArray, P: FloatArray, dt_s: FloatArray
                ) -> tuple[FloatArray, FloatArray]: ...


def q_white_acceleration(dt_s: FloatArray, q: float | FloatArray, dim: int = 6) -> FloatArray:
    """CV process noise ``(n, dim, dim)`` (module docstring); ``|dt|`` for negative steps.

    With ``dim = 9`` the acceleration block is left zero (the caller sets its prior)."""
    h = np.abs(np.asarray(dt_s, float)).reshape(-1)
    qq = np.broadcast_to(np.asarray(q, float), h.shape)
    Q = np.zeros((h.size, dim, dim))
    i = np.arange(3)
    Q[:, i, i] = (qq * h**3 / 3.0)[:, None]
    Q[:, i, i + 3] = Q[:, i + 3, i] = (qq * h**2 / 2.0)[:, None]
    Q[:, i + 3, i + 3] = (qq * h)[:, None]
    return Q


def q_white_jerk(dt_s: FloatArray, q: float | FloatArray) -> FloatArray:
    """CA process noise ``(n, 9, 9)`` of white jerk with PSD ``q`` m^2/s^5."""
    h = np.abs(np.asarray(dt_s, float)).reshape(-1)
    qq = np.broadcast_to(np.asarray(q, float), h.shape)
    blocks = np.stack([
        np.stack([h**5 / 20.0, h**4 / 8.0, h**3 / 6.0], axis=-1),
        np.stack([h**4 / 8.0, h**3 / 3.0, h**2 / 2.0], axis=-1),
        np.stack([h**3 / 6.0, h**2 / 2.0, h], axis=-1)], axis=-2) * qq[:, None, None]
    return np.einsum("nab,ij->naibj", blocks, _EYE3).reshape(h.size, 9, 9)


def _propagate(F: FloatArray, P: FloatArray, Q: FloatArray) -> FloatArray:
    """``F P F^T + Q`` (symmetrized), compiled."""
    return propagate(np.ascontiguousarray(F), np.ascontiguousarray(P), np.ascontiguousarray(Q))


def _reset_acceleration(x: FloatArray, P: FloatArray, std: float) -> None:
    """Zero mean, ``std^2`` variance and no correlation for the acceleration of 9-d states."""
    if x.shape[1] == 9:
        x[:, 6:9] = 0.0
        P[:, 6:9, :] = 0.0
        P[:, :, 6:9] = 0.0
        i = np.arange(6, 9)
        P[:, i, i] = std**2


def up_vectors(pos: FloatArray, frame: Frame) -> FloatArray:
    """Unit local vertical ``(n, 3)`` at positions ``(n, 3)`` of the frame."""
    if frame == "enu":
        return np.broadcast_to(np.array([0.0, 0.0, 1.0]), pos.shape).copy()
    return local_up(pos)


def altitudes(pos: FloatArray, frame: Frame, alt0_m: float = 0.0) -> FloatArray:
    """Altitude (m) of positions ``(n, 3)`` of the frame."""
    if frame == "enu":
        return pos[:, 2] + alt0_m
    return approx_altitude_m(pos)


@dataclass(frozen=True)
class ConstantVelocity:
    """Nearly constant velocity, white acceleration noise of PSD ``q_m2_s3`` per axis."""

    q_m2_s3: float = 10.0
    acceleration_std_mps2: float = 5.0
    dim: int = 6

    def predict(self, x: FloatArray, P: FloatArray, dt_s: FloatArray
                ) -> tuple[FloatArray, FloatArray]:
        """Predict ``x (n, D)``, ``P (n, D, D)`` by ``dt_s (n,)``."""
        n, d = x.shape
        h = np.asarray(dt_s, float).reshape(-1)
        F = np.broadcast_to(np.eye(d), (n, d, d)).copy()
        i = np.arange(3)
        F[:, i, i + 3] = h[:, None]
        if d == 9:
            F[:, 6:9, :] = 0.0
        x_new = np.einsum("nij,nj->ni", F, x)
        P_new = _propagate(F, P, q_white_acceleration(h, self.q_m2_s3, d))
        _reset_acceleration(x_new, P_new, self.acceleration_std_mps2)
        return x_new, P_new


@dataclass(frozen=True)
class ConstantAcceleration:
    """Nearly constant acceleration (state dimension 9), white jerk of PSD ``q_m2_s5``."""

    q_m2_s5: float = 1.0
    dim: int = 9

    def predict(self, x: FloatArray, P: FloatArray, dt_s: FloatArray
                ) -> tuple[FloatArray, FloatArray]:
        """Predict 9-dimensional states ``x (n, 9)``, ``P (n, 9, 9)`` by ``dt_s (n,)``."""
        n, d = x.shape
        if d != 9:
            raise ValueError("ConstantAcceleration needs 9-dimensional states [p, v, a]")
        h = np.asarray(dt_s, float).reshape(-1)
        F = np.broadcast_to(np.eye(9), (n, 9, 9)).copy()
        i = np.arange(3)
        F[:, i, i + 3] = h[:, None]
        F[:, i + 3, i + 6] = h[:, None]
        F[:, i, i + 6] = (0.5 * h * h)[:, None]
        x_new = np.einsum("nij,nj->ni", F, x)
        return x_new, _propagate(F, P, q_white_jerk(h, self.q_m2_s5))


@dataclass(frozen=True)
class CoordinatedTurn:
    """Horizontal coordinated turn with normal acceleration ``normal_accel_mps2`` (> 0: left).

    ``min_speed_mps``: below this horizontal speed the turn rate is capped at
    ``normal_accel / min_speed`` (a hovering target does not spin).
    """

    normal_accel_mps2: float = 3.0 * STANDARD_GRAVITY_MPS2
    q_m2_s3: float = 10.0
    frame: Frame = "enu"
    min_speed_mps: float = 30.0
    acceleration_std_mps2: float = 5.0
    dim: int = 6

    def turn_rate(self, x: FloatArray) -> FloatArray:
        """Turn rate ``omega`` (rad/s, signed) of states ``(n, >=6)``."""
        u = up_vectors(x[:, 0:3], self.frame)
        v = x[:, 3:6]
        vh = v - np.einsum("ni,ni->n", v, u)[:, None] * u
        speed = np.maximum(np.linalg.norm(vh, axis=1), self.min_speed_mps)
        return self.normal_accel_mps2 / speed

    def predict(self, x: FloatArray, P: FloatArray, dt_s: FloatArray
                ) -> tuple[FloatArray, FloatArray]:
        """Predict ``x (n, D)``, ``P (n, D, D)`` by ``dt_s (n,)`` along the turn (compiled,
        ``imm_kernels.ct_predict``; the turn rate from ``turn_rate``)."""
        x = np.ascontiguousarray(x, dtype=float)
        return ct_predict(x, np.ascontiguousarray(P, dtype=float),
                          np.ascontiguousarray(dt_s, dtype=float).reshape(-1),
                          np.ascontiguousarray(self.turn_rate(x)), float(self.q_m2_s3),
                          self.frame == "ecef", float(self.acceleration_std_mps2))


@dataclass(frozen=True)
class Ballistic:
    """Free flight under gravity and drag (module docstring).

    ballistic_coefficient_kg_m2 : ``beta = m / (C_D A)``; ``inf`` for vacuum flight.
    rotating_frame : (``frame="ecef"``) add Coriolis and centrifugal terms.
    alt0_m : (``frame="enu"``) altitude of the frame origin, for the air density.
    """

    q_m2_s3: float = 100.0
    ballistic_coefficient_kg_m2: float = np.inf
    frame: Frame = "enu"
    rotating_frame: bool = False
    alt0_m: float = 0.0
    max_step_s: float = 2.0
    acceleration_std_mps2: float = 5.0
    dim: int = 6

    def acceleration(self, p: FloatArray, v: FloatArray) -> FloatArray:
        """``dv/dt`` ``(n, 3)`` at positions and velocities ``(n, 3)``."""
        if self.frame == "enu":
            a = np.zeros_like(p)
            a[:, 2] = -STANDARD_GRAVITY_MPS2
        else:
            r = np.linalg.norm(p, axis=1, keepdims=True)
            a = -EARTH_GM_M3_S2 * p / r**3
            if self.rotating_frame:
                a = a - 2.0 * np.cross(_OMEGA, v) - np.cross(_OMEGA, np.cross(_OMEGA, p))
        if np.isfinite(self.ballistic_coefficient_kg_m2):
            rho = self._density(p)
            speed = np.linalg.norm(v, axis=1, keepdims=True)
            a = a - (rho / (2.0 * self.ballistic_coefficient_kg_m2))[:, None] * speed * v
        return a

    def _density(self, p: FloatArray) -> FloatArray:
        alt = altitudes(p, self.frame, self.alt0_m)
        return SEA_LEVEL_DENSITY_KG_M3 * np.exp(-np.maximum(alt, -1000.0)
                                                / DENSITY_SCALE_HEIGHT_M)

    def _jacobian(self, p: FloatArray, v: FloatArray) -> FloatArray:
        """``A = d(v, dv/dt)/d(p, v)`` ``(n, 6, 6)``."""
        n = p.shape[0]
        A = np.zeros((n, 6, 6))
        A[:, 0:3, 3:6] = _EYE3
        if self.frame == "ecef":
            r = np.linalg.norm(p, axis=1)
            uvec = p / r[:, None]
            A[:, 3:6, 0:3] = (-EARTH_GM_M3_S2 / r**3)[:, None, None] * (
                _EYE3 - 3.0 * uvec[:, :, None] * uvec[:, None, :])
            if self.rotating_frame:
                A[:, 3:6, 0:3] -= _SKEW_OMEGA @ _SKEW_OMEGA
                A[:, 3:6, 3:6] = -2.0 * _SKEW_OMEGA
        if np.isfinite(self.ballistic_coefficient_kg_m2):
            k = self._density(p) / (2.0 * self.ballistic_coefficient_kg_m2)
            speed = np.maximum(np.linalg.norm(v, axis=1), 1e-9)
            dv = (speed[:, None, None] * _EYE3
                  + v[:, :, None] * v[:, None, :] / speed[:, None, None])
            A[:, 3:6, 3:6] -= k[:, None, None] * dv
            # d rho / d p = -rho / H * d alt / d p (alt along the local vertical)
            up = up_vectors(p, self.frame)
            drag = k[:, None] * speed[:, None] * v  # magnitude of -a_drag
            A[:, 3:6, 0:3] += (drag / DENSITY_SCALE_HEIGHT_M)[:, :, None] * up[:, None, :]
        return A

    def predict(self, x: FloatArray, P: FloatArray, dt_s: FloatArray
                ) -> tuple[FloatArray, FloatArray]:
        """Predict ``x (n, D)``, ``P (n, D, D)`` by ``dt_s (n,)`` (velocity Verlet sub-steps;
        compiled, ``imm_kernels.ballistic_predict``; ``acceleration`` and ``_jacobian`` are
        the same formulas in numpy, tested against it)."""
        beta = self.ballistic_coefficient_kg_m2
        drag_k = 0.0 if not np.isfinite(beta) else 1.0 / (2.0 * beta)
        return ballistic_predict(
            np.ascontiguousarray(x, dtype=float), np.ascontiguousarray(P, dtype=float),
            np.ascontiguousarray(dt_s, dtype=float).reshape(-1), float(self.q_m2_s3), drag_k,
            self.frame == "ecef", bool(self.rotating_frame), float(self.alt0_m),
            float(self.max_step_s), float(self.acceleration_std_mps2), EARTH_GM_M3_S2,
            EARTH_OMEGA_RAD_S, STANDARD_GRAVITY_MPS2, DENSITY_SCALE_HEIGHT_M,
            SEA_LEVEL_DENSITY_KG_M3)
