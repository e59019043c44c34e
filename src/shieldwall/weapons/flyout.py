"""Interceptor flyout: guidance, kinematics and intercept resolution, batched over all
interceptors in flight (``InterceptorTable``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from shieldwall.catalog.types import Interceptor
from shieldwall.core.types import FloatArray, IntArray
from shieldwall.weapons.guidance import (
    G0_MPS2,
    axial_compensation,
    clip_norm,
    closest_approach,
    gravity_ecef,
    height_above_ellipsoid_m,
    perpendicular,
    pn_acceleration,
    turn_and_advance,
)
from shieldwall.weapons.kinematics import distance_profile, speed_profile
from shieldwall.weapons.table import InterceptorTable


class SelfDestructReason(IntEnum):
    """Why an interceptor ended without an intercept."""

    TIME_OF_FLIGHT = 1  # reached max_time_of_flight_s
    MIN_SPEED = 2       # speed fell below min_speed_mps
    GROUND = 3          # height fell below ``InterceptorTable.ground_alt_m``


@dataclass(frozen=True)
class TypeParameters:
    """The interceptor records as arrays ``(k,)`` (gathered per slot by ``type_index``)."""

    max_speed_mps: FloatArray
    burn_time_s: FloatArray
    speed_decay_s: FloatArray
    min_speed_mps: FloatArray
    max_time_of_flight_s: FloatArray
    max_accel_mps2: FloatArray
    navigation_ratio: FloatArray

    @classmethod
    def from_records(cls, interceptors: Sequence[Interceptor]) -> TypeParameters:
        def col(name: str) -> FloatArray:
            return np.array([float(getattr(rec, name)) for rec in interceptors], dtype=float)

        return cls(max_speed_mps=col("max_speed_mps"), burn_time_s=col("burn_time_s"),
                   speed_decay_s=col("speed_decay_s"), min_speed_mps=col("min_speed_mps"),
                   max_time_of_flight_s=col("max_time_of_flight_s"),
                   max_accel_mps2=col("max_accel_g") * G0_MPS2,
                   navigation_ratio=col("navigation_ratio"))


@dataclass(frozen=True)
class InterceptResults:
    """What ended in one ``FlyoutModel.step``: intercepts (closest approaches) first, then
    self-destructs. Intercept arrays have length ``m``, self-destruct arrays length ``q``.

    slot, interceptor_id, target_index : (m,) int64 (``target_index``: the seeker lock, -1 for a
        command-guided or unguided round; the miss is measured against the target state the
        caller passed for that slot)
    time_s : (m,) time of closest approach; miss_m : (m,) miss distance (m)
    pos_ecef : (m, 3) interceptor position at closest approach
    destroyed_slot, destroyed_interceptor_id, destroyed_reason : (q,) int64
        (``destroyed_reason`` holds ``SelfDestructReason`` values)
    destroyed_time_s : (q,) ; destroyed_pos_ecef : (q, 3)
    """

    slot: IntArray
    interceptor_id: IntArray
    time_s: FloatArray
    miss_m: FloatArray
    pos_ecef: FloatArray
    target_index: IntArray
    destroyed_slot: IntArray
    destroyed_interceptor_id: IntArray
    destroyed_time_s: FloatArray
    destroyed_reason: IntArray
    destroyed_pos_ecef: FloatArray

    @classmethod
    def empty(cls) -> InterceptResults:
        i, f, p = np.zeros(0, np.int64), np.zeros(0), np.zeros((0, 3))
        return cls(i, i, f, f, p, i, i, i, f, i, p)


@dataclass(frozen=True)
class FlyoutModel:
    """Interceptor flyout with proportional navigation and in-step intercept resolution.

    Kinematics (per interceptor, state at ``table.time_s``):

    - speed is imposed: ``|v| = v(t - t_launch)`` from ``kinematics.speed_profile``; the path
      length of an update is the exact ``distance_profile`` difference;
    - guidance turns the velocity: the PN command (``guidance.pn_acceleration``, the type's
      ``navigation_ratio``; with the axial-acceleration term ``guidance.axial_compensation``)
      passes through a first-order autopilot lag ``T`` (``a' = (a_c - a)/T``, integrated
      exactly for a command held over the update; ``T = 0``: ideal; state
      ``guidance_accel_ecef``); the airframe lateral acceleration is that plus the gravity
      feed-forward ``-g_perp``, limited to ``max_accel_g * g0`` (``accel_ecef``); the net
      turning acceleration is the airframe's plus ``g_perp`` (``g``: point-mass gravity; the
      component along the velocity is absorbed by the imposed speed profile). Below the limit
      gravity is thus fully compensated;
    - the target of the guidance law is the truth object the seeker has locked
      (``table.target_index >= 0`` and a finite target state) and otherwise the commanded point
      ``aim_ecef`` moving at ``aim_vel_ecef`` (command guidance to the PIP);
    - before ``guidance_start_s`` after launch (boost, attitude hold) and for unguided rounds
      (``max_accel_g == 0``: gun bursts, fired straight at their aim point, gravity drop taken
      as corrected by the fire control) the velocity does not turn.

    Each update flies a circular arc (``guidance.turn_and_advance``). The normal cost is one
    vectorized update per engine step; an interceptor whose time to go to its target
    (``range / closing speed``) is below ``endgame_time_factor`` steps is advanced in
    ``endgame_substeps`` sub-steps instead, so PN stays stable and the closest approach sees
    a short chord.

    Intercept resolution: over every (sub-)step of length ``h`` the relative motion is taken as
    the straight chord between its end states; the closest approach ``s* h``
    (``guidance.closest_approach``) resolves the interceptor when the range, closing at the
    start of the update (or at the end of the previous one), opens at its end. Interceptors
    without a finite target state are never resolved this way. Self-destruct: at
    ``max_time_of_flight_s`` exactly, below ``min_speed_mps`` or below
    ``table.ground_alt_m`` (time interpolated linearly in height).

    Parameters
    ----------
    guidance_start_s : time after launch before guidance acts (s)
    autopilot_time_constant_s : first-order flight-control lag T (s); 0 for an ideal airframe
    endgame_time_factor : sub-step when time to go < this many engine steps
    endgame_substeps : number of sub-steps of an endgame engine step
    axial_compensation : add the interceptor's own known axial acceleration (boost, drag) to
        the zero-effort miss (``guidance.axial_compensation``); without it a boosting round
        sees its own thrust as a target maneuver
    """

    guidance_start_s: float = 0.5
    autopilot_time_constant_s: float = 0.0
    endgame_time_factor: float = 4.0
    endgame_substeps: int = 50
    axial_compensation: bool = True

    def step(self, table: InterceptorTable, interceptors: Sequence[Interceptor],
             target_pos_ecef: FloatArray, target_vel_ecef: FloatArray, t0: float,
             dt: float, target_acc_ecef: FloatArray | None = None) -> InterceptResults:
        """Advance every active interceptor to ``t0 + dt`` and resolve what ends in the step.

        Parameters
        ----------
        table : the interceptors; updated in place (state, ``time_s``, ``accel_ecef``,
            ``was_closing``; resolved slots are deactivated, their ``pos_ecef``/``time_s`` set
            to the closest-approach or self-destruct point)
        interceptors : the records ``table.type_index`` points into
        target_pos_ecef, target_vel_ecef : (table.capacity, 3) truth state at ``t0`` of the
            object each slot is flying against (the locked threat; for an unlocked round the
            engaged threat), NaN when none. Moved at constant velocity within the step, or at
            constant acceleration when ``target_acc_ecef`` (cap, 3) is given.
        t0, dt : step start (s) and length (s). A slot whose state time is after ``t0``
            (launched inside the step) is advanced from its own time.
        target_acc_ecef : optional (cap, 3) target acceleration over the step (m/s^2)

        Returns
        -------
        InterceptResults of the interceptors resolved in this step.
        """
        slots = table.active_slots()
        t_end = t0 + dt
        start = np.maximum(table.time_s[slots], t0)
        slots = slots[start < t_end]
        if slots.size == 0:
            return InterceptResults.empty()
        start = np.maximum(table.time_s[slots], t0)
        par = TypeParameters.from_records(interceptors)
        k = table.type_index[slots]
        vmax, tb = par.max_speed_mps[k], par.burn_time_s[k]
        tau_s, vmin = par.speed_decay_s[k], par.min_speed_mps[k]
        tof, amax, nav = par.max_time_of_flight_s[k], par.max_accel_mps2[k], par.navigation_ratio[k]
        launch = table.launch_time_s[slots]
        ground_alt = table.ground_alt_m[slots]

        pos = table.pos_ecef[slots].copy()
        vel = table.vel_ecef[slots].copy()
        acc = table.accel_ecef[slots].copy()
        lagged = table.guidance_accel_ecef[slots].copy()
        closing_before = table.was_closing[slots].copy()
        tgt_p0 = np.asarray(target_pos_ecef, float)[slots]
        tgt_v = np.asarray(target_vel_ecef, float)[slots]
        has_target = np.isfinite(tgt_p0).all(axis=1) & np.isfinite(tgt_v).all(axis=1)
        tgt_p0 = np.where(has_target[:, None], tgt_p0, 0.0)
        tgt_v = np.where(has_target[:, None], tgt_v, 0.0)
        if target_acc_ecef is None:
            tgt_a = np.zeros_like(tgt_v)
        else:
            tgt_a = np.asarray(target_acc_ecef, float)[slots]
            tgt_a = np.where(has_target[:, None] & np.isfinite(tgt_a), tgt_a, 0.0)
        locked = has_target & (table.target_index[slots] >= 0)
        aim_p0, aim_v = table.aim_ecef[slots], table.aim_vel_ecef[slots]

        # Endgame selection from the state at the row's start time.
        since0 = (start - t0)[:, None]
        rel = tgt_p0 + tgt_v * since0 + 0.5 * tgt_a * since0**2 - pos
        rng = np.linalg.norm(rel, axis=1)
        vc = -np.einsum("ij,ij->i", rel, tgt_v + tgt_a * since0 - vel) / np.where(rng > 0, rng,
                                                                                    1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            t_go = np.where(has_target & (vc > 0), rng / vc, np.inf)
        remaining = t_end - start
        n_sub = np.where(t_go < self.endgame_time_factor * dt, self.endgame_substeps, 1)
        h_row = remaining / n_sub

        n = slots.size
        alive = np.ones(n, bool)
        now = start.copy()
        hit_rows: list[IntArray] = []
        hit_time: list[FloatArray] = []
        hit_miss: list[FloatArray] = []
        hit_pos: list[FloatArray] = []
        dead_rows: list[IntArray] = []
        dead_time: list[FloatArray] = []
        dead_reason: list[IntArray] = []
        dead_pos: list[FloatArray] = []

        for j in range(int(n_sub.max())):
            r = np.flatnonzero(alive & (j < n_sub))
            if r.size == 0:
                break
            t_row = now[r]
            age0 = t_row - launch[r]
            h = np.clip(np.minimum(h_row[r], tof[r] - age0), 0.0, None)
            since = (t_row - t0)[:, None]
            tp = tgt_p0[r] + tgt_v[r] * since + 0.5 * tgt_a[r] * since**2
            tv = tgt_v[r] + tgt_a[r] * since
            gp = np.where(locked[r, None], tp, aim_p0[r] + aim_v[r] * since)
            gv = np.where(locked[r, None], tv, aim_v[r])
            p0, v0 = pos[r], vel[r]
            speed0 = np.linalg.norm(v0, axis=1)
            u0 = v0 / np.where(speed0 > 0, speed0, 1.0)[:, None]

            guided = (amax[r] > 0) & (age0 >= self.guidance_start_s)
            g_perp = perpendicular(gravity_ecef(p0), u0)
            command = pn_acceleration(p0, v0, gp, gv, nav[r])
            age1 = age0 + h
            speed_start = speed_profile(age0, vmax[r], tb[r], tau_s[r], vmin[r])
            speed1 = speed_profile(age1, vmax[r], tb[r], tau_s[r], vmin[r])
            if self.axial_compensation:
                axial = (speed1 - speed_start) / np.where(h > 0, h, 1.0)
                command = command + axial_compensation(p0, u0, gp, axial, nav[r])
            if self.autopilot_time_constant_s > 0:
                decay = np.exp(-h / self.autopilot_time_constant_s)[:, None]
                command = command + (lagged[r] - command) * decay
            command = np.where(guided[:, None], perpendicular(command, u0), 0.0)
            airframe = clip_norm(command - g_perp, amax[r])
            airframe = np.where(guided[:, None], airframe, 0.0)
            net = np.where(guided[:, None], airframe + g_perp, 0.0)

            path = (distance_profile(age1, vmax[r], tb[r], tau_s[r], vmin[r])
                    - distance_profile(age0, vmax[r], tb[r], tau_s[r], vmin[r]))
            p1, u1 = turn_and_advance(p0, u0, net, path, h)
            v1 = u1 * speed1[:, None]

            # Closest approach on the chord of the relative motion.
            rel0 = tp - p0
            rel1 = tp + tv * h[:, None] + 0.5 * tgt_a[r] * (h**2)[:, None] - p1
            frac, miss = closest_approach(rel0, rel1)
            chord = rel1 - rel0
            closing_start = np.einsum("ij,ij->i", rel0, chord) < 0
            opening_end = np.einsum("ij,ij->i", rel1, chord) > 0
            hit = has_target[r] & (h > 0) & opening_end & (closing_start | closing_before[r])
            closing_before[r] = has_target[r] & ~opening_end

            pos[r], vel[r], acc[r], now[r] = p1, v1, airframe, t_row + h
            lagged[r] = command
            if hit.any():
                rows = r[hit]
                hit_rows.append(rows)
                hit_time.append(t_row[hit] + frac[hit] * h[hit])
                hit_miss.append(miss[hit])
                cpa = p0[hit] + frac[hit, None] * (p1[hit] - p0[hit])
                hit_pos.append(cpa)
                pos[rows] = cpa
                now[rows] = hit_time[-1]
                alive[rows] = False

            # Self-destructs (an intercept in the same update takes precedence).
            alt0 = height_above_ellipsoid_m(p0) - ground_alt[r]
            alt1 = height_above_ellipsoid_m(p1) - ground_alt[r]
            ground = ~hit & (alt1 < 0.0)
            timeout = ~hit & ~ground & (age1 >= tof[r] * (1.0 - 1e-12))
            slow = (~hit & ~ground & ~timeout & (age1 > tb[r])
                    & (speed1 < vmin[r] * (1.0 - 1e-12)))
            ended = ground | timeout | slow
            if ended.any():
                # Linear in height; a round already below ground ends at the update's start.
                frac_g = np.where(ground, np.clip(alt0, 0.0, None)
                                  / np.where(ground, np.clip(alt0, 0.0, None) - alt1, 1.0), 1.0)
                rows = r[ended]
                end_pos = p0[ended] + frac_g[ended, None] * (p1[ended] - p0[ended])
                dead_rows.append(rows)
                dead_time.append(t_row[ended] + frac_g[ended] * h[ended])
                dead_reason.append(np.select(
                    [ground[ended], timeout[ended]],
                    [int(SelfDestructReason.GROUND), int(SelfDestructReason.TIME_OF_FLIGHT)],
                    int(SelfDestructReason.MIN_SPEED)).astype(np.int64))
                dead_pos.append(end_pos)
                pos[rows] = end_pos
                now[rows] = dead_time[-1]
                alive[rows] = False

        table.pos_ecef[slots] = pos
        table.vel_ecef[slots] = vel
        table.accel_ecef[slots] = acc
        table.guidance_accel_ecef[slots] = lagged
        table.time_s[slots] = now
        table.was_closing[slots] = closing_before
        return self._results(table, slots, hit_rows, hit_time, hit_miss, hit_pos, dead_rows,
                             dead_time, dead_reason, dead_pos)

    @staticmethod
    def _results(table: InterceptorTable, slots: IntArray, hit_rows: list[IntArray],
                 hit_time: list[FloatArray], hit_miss: list[FloatArray],
                 hit_pos: list[FloatArray], dead_rows: list[IntArray],
                 dead_time: list[FloatArray], dead_reason: list[IntArray],
                 dead_pos: list[FloatArray]) -> InterceptResults:
        def cat(parts: list[np.ndarray], empty: np.ndarray) -> np.ndarray:
            return np.concatenate(parts) if parts else empty

        i0, f0, p0 = np.zeros(0, np.int64), np.zeros(0), np.zeros((0, 3))
        hr = cat(hit_rows, i0)
        dr = cat(dead_rows, i0)
        # Report in ascending slot order (independent of the sub-step the event fell in).
        ho, do = np.argsort(slots[hr], kind="stable"), np.argsort(slots[dr], kind="stable")
        hs, ds = slots[hr][ho], slots[dr][do]
        table.deactivate(np.concatenate([hs, ds]))
        return InterceptResults(
            slot=hs, interceptor_id=table.interceptor_id[hs].copy(),
            time_s=cat(hit_time, f0)[ho], miss_m=cat(hit_miss, f0)[ho],
            pos_ecef=cat(hit_pos, p0)[ho], target_index=table.target_index[hs].copy(),
            destroyed_slot=ds, destroyed_interceptor_id=table.interceptor_id[ds].copy(),
            destroyed_time_s=cat(dead_time, f0)[do], destroyed_reason=cat(dead_reason, i0)[do],
            destroyed_pos_ecef=cat(dead_pos, p0)[do])
