"""Seeker acquisition: the interceptor's own sensor locks a truth object.

This is the physical seeker, so it reads truth; the battle manager never does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from shieldwall.catalog.types import Interceptor
from shieldwall.core.types import BoolArray, FloatArray, IntArray
from shieldwall.weapons.table import InterceptorTable


def acquire_targets(int_pos: FloatArray, int_vel: FloatArray, aim_pos: FloatArray,
                    truth_pos: FloatArray, truth_alive: BoolArray,
                    seeker_range_m: FloatArray | float,
                    fov_half_angle_rad: FloatArray | float) -> IntArray:
    """Lock for each of ``n`` interceptors the alive truth object nearest its commanded point.

    Object ``j`` is visible to interceptor ``i`` when it is alive, within ``seeker_range_m[i]``
    of the interceptor and inside the cone of half-angle ``fov_half_angle_rad[i]`` about the
    interceptor's velocity (``angle(r_j - r_i, v_i) <= fov``). Among the visible objects the one
    nearest ``aim_pos[i]`` is locked.

    Parameters
    ----------
    int_pos, int_vel, aim_pos : (n, 3) ECEF ; truth_pos : (m, 3) ECEF ; truth_alive : (m,)
    seeker_range_m, fov_half_angle_rad : (n,) or scalar (m, rad)

    Returns
    -------
    (n,) int64 truth index, -1 when nothing is visible. Cost O(n m) memory and time.
    """
    p = np.asarray(int_pos, float).reshape(-1, 3)
    v = np.asarray(int_vel, float).reshape(-1, 3)
    aim = np.asarray(aim_pos, float).reshape(-1, 3)
    truth = np.asarray(truth_pos, float).reshape(-1, 3)
    n, m = p.shape[0], truth.shape[0]
    if n == 0 or m == 0:
        return np.full(n, -1, np.int64)
    rng_max = np.broadcast_to(np.asarray(seeker_range_m, float), (n,))
    fov = np.broadcast_to(np.asarray(fov_half_angle_rad, float), (n,))
    los = truth[None, :, :] - p[:, None, :]                        # (n, m, 3)
    dist = np.linalg.norm(los, axis=2)
    speed = np.linalg.norm(v, axis=1)
    cos_angle = np.einsum("nmk,nk->nm", los, v) / np.maximum(
        dist * speed[:, None], np.finfo(float).tiny)
    visible = (np.asarray(truth_alive, bool)[None, :] & np.isfinite(dist)
               & (dist <= rng_max[:, None]) & (cos_angle >= np.cos(fov)[:, None]))
    to_aim = np.linalg.norm(truth[None, :, :] - aim[:, None, :], axis=2)
    score = np.where(visible, to_aim, np.inf)
    best = np.argmin(score, axis=1)
    return np.where(np.isfinite(score[np.arange(n), best]), best, -1).astype(np.int64)


@dataclass(frozen=True)
class SeekerModel:
    """Applies ``acquire_targets`` to the unlocked, active interceptors of a table.

    Parameters
    ----------
    fov_half_angle_rad : seeker field-of-view half-angle about the velocity (rad)
    """

    fov_half_angle_rad: float = np.radians(30.0)

    def acquire(self, table: InterceptorTable, interceptors: Sequence[Interceptor],
                truth_pos_ecef: FloatArray, truth_alive: BoolArray) -> IntArray:
        """Lock targets for unlocked interceptors with a seeker (``seeker_range_m > 0``);
        updates ``table.target_index`` in place and returns the newly locked slots."""
        seeker_range = np.array([rec.seeker_range_m for rec in interceptors], float)
        slots = table.active_slots()
        slots = slots[(table.target_index[slots] < 0)
                      & (seeker_range[table.type_index[slots]] > 0)]
        if slots.size == 0:
            return slots
        found = acquire_targets(table.pos_ecef[slots], table.vel_ecef[slots],
                                table.aim_ecef[slots], truth_pos_ecef, truth_alive,
                                seeker_range[table.type_index[slots]], self.fov_half_angle_rad)
        table.target_index[slots] = found
        return slots[found >= 0]
