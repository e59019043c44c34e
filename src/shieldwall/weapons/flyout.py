"""Interceptor flyout: guidance, kinematics and intercept resolution, batched over all
interceptors in flight (``InterceptorTable``)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

import numpy as np
from numba import njit

from shieldwall.catalog.types import Interceptor
from shieldwall.core.physics import (
    PROFILE_COLUMNS,
    PROFILE_TAU,
    PROFILE_TB,
    PROFILE_TMAX,
    PROFILE_VMAX,
    PROFILE_VMIN,
    accel_gravity_ecef,
    distance_boost_coast,
    floor_time_boost_coast,
    speed_boost_coast,
)
from shieldwall.core.types import FloatArray, IntArray
from shieldwall.geo import EARTH_GM_M3_S2, WGS84_A_M, WGS84_B_M
from shieldwall.weapons.guidance import G0_MPS2
from shieldwall.weapons.table import InterceptorTable

# Columns of the per-type table (``TypeParameters.as_array``): the speed profile first, in the
# columns ``core.physics`` names, then the guidance figures.
TYPE_AMAX = PROFILE_COLUMNS       # lateral acceleration limit (m/s^2)
TYPE_NAV = PROFILE_COLUMNS + 1    # PN navigation ratio
TYPE_COLUMNS = PROFILE_COLUMNS + 2


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

    def as_array(self) -> FloatArray:
        """``(k, TYPE_COLUMNS)``: the kernel's table, one row per type, columns named by
        ``core.physics.PROFILE_*`` (the speed profile) and ``TYPE_AMAX``, ``TYPE_NAV``."""
        table = np.zeros((self.max_speed_mps.shape[0], TYPE_COLUMNS))
        table[:, PROFILE_VMAX] = self.max_speed_mps
        table[:, PROFILE_TB] = self.burn_time_s
        table[:, PROFILE_TAU] = self.speed_decay_s
        table[:, PROFILE_VMIN] = self.min_speed_mps
        table[:, PROFILE_TMAX] = self.max_time_of_flight_s
        table[:, TYPE_AMAX] = self.max_accel_mps2
        table[:, TYPE_NAV] = self.navigation_ratio
        return table


# Type-parameter arrays by the identity of the record sequence (records are immutable; the
# records are kept with the entry so that their ids cannot be reused while it lives).
_TYPE_TABLE_CACHE: dict[tuple[int, ...], tuple[tuple[Interceptor, ...], FloatArray]] = {}
_TYPE_TABLE_CACHE_MAX = 64


def _type_table(interceptors: Sequence[Interceptor]) -> FloatArray:
    records = tuple(interceptors)
    key = tuple(map(id, records))
    hit = _TYPE_TABLE_CACHE.get(key)
    if hit is not None and all(a is b for a, b in zip(hit[0], records, strict=True)):
        return hit[1]
    if len(_TYPE_TABLE_CACHE) >= _TYPE_TABLE_CACHE_MAX:
        _TYPE_TABLE_CACHE.clear()
    table = np.ascontiguousarray(TypeParameters.from_records(records).as_array()
                                 if records else np.zeros((0, TYPE_COLUMNS)), dtype=np.float64)
    table.setflags(write=False)
    _TYPE_TABLE_CACHE[key] = (records, table)
    return table


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
    update per engine step (compiled: ``_step_kernel``); an interceptor whose time to go to
    its target (``range / closing speed``) is below ``endgame_time_factor`` steps is advanced in
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
        start = np.maximum(table.time_s[slots], t0)
        slots = slots[start < t0 + dt]
        if slots.size == 0:
            return InterceptResults.empty()
        par = _type_table(interceptors)
        tgt_p = np.ascontiguousarray(target_pos_ecef, dtype=np.float64)
        tgt_v = np.ascontiguousarray(target_vel_ecef, dtype=np.float64)
        tgt_a = (tgt_p if target_acc_ecef is None
                 else np.ascontiguousarray(target_acc_ecef, dtype=np.float64))
        n = slots.size
        event = np.empty(n, np.int64)
        event_time = np.empty(n)
        event_miss = np.empty(n)
        event_pos = np.empty((n, 3))
        _step_kernel(slots, float(t0), float(dt), par, table.type_index, table.launch_time_s,
                     table.ground_alt_m, table.target_index, table.aim_ecef,
                     table.aim_vel_ecef, tgt_p, tgt_v, tgt_a, target_acc_ecef is not None,
                     table.pos_ecef, table.vel_ecef, table.accel_ecef,
                     table.guidance_accel_ecef, table.time_s, table.was_closing,
                     float(self.guidance_start_s), float(self.autopilot_time_constant_s),
                     float(self.endgame_time_factor), int(self.endgame_substeps),
                     bool(self.axial_compensation), event, event_time, event_miss, event_pos)
        # Rows are in ascending slot order, so the results are too.
        hit = event == _EV_HIT
        dead = event > 0
        hs, ds = slots[hit], slots[dead]
        table.deactivate(np.concatenate([hs, ds]))
        return InterceptResults(
            slot=hs, interceptor_id=table.interceptor_id[hs].copy(), time_s=event_time[hit],
            miss_m=event_miss[hit], pos_ecef=event_pos[hit],
            target_index=table.target_index[hs].copy(), destroyed_slot=ds,
            destroyed_interceptor_id=table.interceptor_id[ds].copy(),
            destroyed_time_s=event_time[dead], destroyed_reason=event[dead],
            destroyed_pos_ecef=event_pos[dead])


# --------------------------------------------------------------------------- numba kernel
# Scalar form of ``FlyoutModel.step`` over the active slots: the same formulas as the array
# kernels of ``weapons.guidance`` and ``core.physics`` (one row at a time, explicit cross and
# dot products), so the per-row results equal the vectorized ones to round-off.
_EV_NONE, _EV_HIT = 0, -1   # event codes; > 0: a ``SelfDestructReason``


@njit(cache=True, error_model="numpy", inline="always")
def _height(x: float, y: float, z: float) -> float:  # pragma: no cover - compiled
    r = math.sqrt(x * x + y * y + z * z)
    sin_lat = z / (r if r > 0.0 else 1.0)
    cos2 = 1.0 - sin_lat**2
    radius = WGS84_A_M * WGS84_B_M / math.sqrt((WGS84_B_M**2) * cos2
                                               + (WGS84_A_M**2) * sin_lat**2)
    return r - radius


@njit(cache=True, error_model="numpy")
def _step_kernel(slots: np.ndarray, t0: float, dt: float, par: np.ndarray,
                 type_index: np.ndarray, launch_time: np.ndarray, ground_alt: np.ndarray,
                 target_index: np.ndarray, aim: np.ndarray, aim_vel: np.ndarray,
                 tgt_pos: np.ndarray, tgt_vel: np.ndarray, tgt_acc: np.ndarray,
                 use_acc: bool, pos: np.ndarray, vel: np.ndarray, acc: np.ndarray,
                 lagged: np.ndarray, time_s: np.ndarray, was_closing: np.ndarray,
                 guidance_start: float, lag_t: float, endgame_factor: float,
                 endgame_substeps: int, axial_on: bool, event: np.ndarray,
                 event_time: np.ndarray, event_miss: np.ndarray,
                 event_pos: np.ndarray) -> None:  # pragma: no cover - compiled
    """Advance the rows ``slots`` of the table arrays in place (see ``FlyoutModel.step``);
    per row ``i`` of ``slots`` write the event code, time, miss and position."""
    t_end = t0 + dt
    for i in range(slots.size):
        s = slots[i]
        event[i] = _EV_NONE
        k = type_index[s]
        vmax, tb, tau = par[k, PROFILE_VMAX], par[k, PROFILE_TB], par[k, PROFILE_TAU]
        vmin, tof = par[k, PROFILE_VMIN], par[k, PROFILE_TMAX]
        amax, nav = par[k, TYPE_AMAX], par[k, TYPE_NAV]
        t_floor = floor_time_boost_coast(vmax, tau, vmin)
        launch = launch_time[s]
        now = max(time_s[s], t0)
        # Target state at t0 (absent: zeros, never resolved).
        tpx, tpy, tpz = tgt_pos[s, 0], tgt_pos[s, 1], tgt_pos[s, 2]
        tvx, tvy, tvz = tgt_vel[s, 0], tgt_vel[s, 1], tgt_vel[s, 2]
        has_target = (math.isfinite(tpx) and math.isfinite(tpy) and math.isfinite(tpz)
                      and math.isfinite(tvx) and math.isfinite(tvy) and math.isfinite(tvz))
        tax = tay = taz = 0.0
        if not has_target:
            tpx = tpy = tpz = tvx = tvy = tvz = 0.0
        elif use_acc:
            tax = tgt_acc[s, 0] if math.isfinite(tgt_acc[s, 0]) else 0.0
            tay = tgt_acc[s, 1] if math.isfinite(tgt_acc[s, 1]) else 0.0
            taz = tgt_acc[s, 2] if math.isfinite(tgt_acc[s, 2]) else 0.0
        locked = has_target and target_index[s] >= 0
        px, py, pz = pos[s, 0], pos[s, 1], pos[s, 2]
        vx, vy, vz = vel[s, 0], vel[s, 1], vel[s, 2]
        ax, ay, az = acc[s, 0], acc[s, 1], acc[s, 2]
        lx, ly, lz = lagged[s, 0], lagged[s, 1], lagged[s, 2]
        closing_before = was_closing[s]

        # Endgame selection from the state at the row's start time.
        since = now - t0
        rx = tpx + tvx * since + 0.5 * tax * since**2 - px
        ry = tpy + tvy * since + 0.5 * tay * since**2 - py
        rz = tpz + tvz * since + 0.5 * taz * since**2 - pz
        rng = math.sqrt(rx * rx + ry * ry + rz * rz)
        vc = -(rx * (tvx + tax * since - vx) + ry * (tvy + tay * since - vy)
               + rz * (tvz + taz * since - vz)) / (rng if rng > 0 else 1.0)
        t_go = rng / vc if (has_target and vc > 0) else math.inf
        n_sub = endgame_substeps if t_go < endgame_factor * dt else 1
        h_row = (t_end - now) / n_sub

        for _ in range(n_sub):
            t_row = now
            age0 = t_row - launch
            h = max(min(h_row, tof - age0), 0.0)
            since = t_row - t0
            # Target and guidance point.
            tgx = tpx + tvx * since + 0.5 * tax * since**2
            tgy = tpy + tvy * since + 0.5 * tay * since**2
            tgz = tpz + tvz * since + 0.5 * taz * since**2
            tvsx, tvsy, tvsz = tvx + tax * since, tvy + tay * since, tvz + taz * since
            if locked:
                gpx, gpy, gpz, gvx, gvy, gvz = tgx, tgy, tgz, tvsx, tvsy, tvsz
            else:
                gvx, gvy, gvz = aim_vel[s, 0], aim_vel[s, 1], aim_vel[s, 2]
                gpx, gpy, gpz = aim[s, 0] + gvx * since, aim[s, 1] + gvy * since, \
                    aim[s, 2] + gvz * since
            p0x, p0y, p0z = px, py, pz
            speed0 = math.sqrt(vx * vx + vy * vy + vz * vz)
            inv = speed0 if speed0 > 0 else 1.0
            ux, uy, uz = vx / inv, vy / inv, vz / inv
            guided = amax > 0 and age0 >= guidance_start

            # Point-mass gravity and its part normal to the velocity.
            gx, gy, gz = accel_gravity_ecef(p0x, p0y, p0z, vx, vy, vz, EARTH_GM_M3_S2, 0.0, 0.0)
            gu = gx * ux + gy * uy + gz * uz
            gpx_, gpy_, gpz_ = gx - gu * ux, gy - gu * uy, gz - gu * uz

            # Proportional navigation (guidance.pn_acceleration).
            relx, rely, relz = gpx - p0x, gpy - p0y, gpz - p0z
            rvx, rvy, rvz = gvx - vx, gvy - vy, gvz - vz
            r2 = relx * relx + rely * rely + relz * relz
            safe_r2 = r2 if r2 > 0.0 else 1.0
            omx = (rely * rvz - relz * rvy) / safe_r2
            omy = (relz * rvx - relx * rvz) / safe_r2
            omz = (relx * rvy - rely * rvx) / safe_r2
            closing = -(relx * rvx + rely * rvy + relz * rvz) / math.sqrt(safe_r2)
            gain = nav * max(closing, 0.0) if r2 > 0.0 else 0.0
            cx = gain * (omy * uz - omz * uy)
            cy = gain * (omz * ux - omx * uz)
            cz = gain * (omx * uy - omy * ux)

            age1 = age0 + h
            speed_start = speed_boost_coast(age0, vmax, tb, tau, vmin)
            speed1 = speed_boost_coast(age1, vmax, tb, tau, vmin)
            if axial_on:  # guidance.axial_compensation
                axial = (speed1 - speed_start) / (h if h > 0 else 1.0)
                dist = math.sqrt(r2)
                dd = dist if dist > 0.0 else 1.0
                lox, loy, loz = relx / dd, rely / dd, relz / dd
                ul = ux * lox + uy * loy + uz * loz
                f = -0.5 * nav * axial
                cx += f * (ux - ul * lox)
                cy += f * (uy - ul * loy)
                cz += f * (uz - ul * loz)
            if lag_t > 0:
                decay = math.exp(-h / lag_t)
                cx = cx + (lx - cx) * decay
                cy = cy + (ly - cy) * decay
                cz = cz + (lz - cz) * decay
            if guided:
                cu = cx * ux + cy * uy + cz * uz
                cx, cy, cz = cx - cu * ux, cy - cu * uy, cz - cu * uz
                afx, afy, afz = cx - gpx_, cy - gpy_, cz - gpz_
                norm = math.sqrt(afx * afx + afy * afy + afz * afz)
                if norm > amax:
                    scale = amax / (norm if norm > 0.0 else 1.0)
                    afx, afy, afz = afx * scale, afy * scale, afz * scale
                nx, ny, nz = afx + gpx_, afy + gpy_, afz + gpz_
            else:
                cx = cy = cz = afx = afy = afz = nx = ny = nz = 0.0

            path = (distance_boost_coast(age1, vmax, tb, tau, vmin, t_floor)
                    - distance_boost_coast(age0, vmax, tb, tau, vmin, t_floor))
            # Circular arc (guidance.turn_and_advance).
            a_norm = math.sqrt(nx * nx + ny * ny + nz * nz)
            mean_speed = path / (h if h > 0.0 else 1.0)
            theta = a_norm * h / mean_speed if mean_speed > 0.0 else 0.0
            an = a_norm if a_norm > 0.0 else 1.0
            nx, ny, nz = nx / an, ny / an, nz / an
            if theta < 1e-4:
                sinc = 1.0 - theta**2 / 6.0
                cosc = theta / 2.0 - theta**3 / 24.0
            else:
                sinc = math.sin(theta) / theta
                cosc = (1.0 - math.cos(theta)) / theta
            ct, st = math.cos(theta), math.sin(theta)
            p1x = p0x + path * (sinc * ux + cosc * nx)
            p1y = p0y + path * (sinc * uy + cosc * ny)
            p1z = p0z + path * (sinc * uz + cosc * nz)
            vx = (ct * ux + st * nx) * speed1
            vy = (ct * uy + st * ny) * speed1
            vz = (ct * uz + st * nz) * speed1

            # Closest approach on the chord of the relative motion.
            r0x, r0y, r0z = tgx - p0x, tgy - p0y, tgz - p0z
            hh = 0.5 * h**2
            r1x = tgx + tvsx * h + tax * hh - p1x
            r1y = tgy + tvsy * h + tay * hh - p1y
            r1z = tgz + tvsz * h + taz * hh - p1z
            dx, dy, dz = r1x - r0x, r1y - r0y, r1z - r0z
            d2 = dx * dx + dy * dy + dz * dz
            r0d = r0x * dx + r0y * dy + r0z * dz
            frac = -r0d / d2 if d2 > 0.0 else 0.0
            frac = min(max(frac, 0.0), 1.0)
            mx, my, mz = r0x + frac * dx, r0y + frac * dy, r0z + frac * dz
            miss = math.sqrt(mx * mx + my * my + mz * mz)
            closing_start = r0d < 0
            opening_end = (r1x * dx + r1y * dy + r1z * dz) > 0
            hit = has_target and h > 0 and opening_end and (closing_start or closing_before)
            closing_before = has_target and not opening_end

            px, py, pz = p1x, p1y, p1z
            ax, ay, az = afx, afy, afz
            lx, ly, lz = cx, cy, cz
            now = t_row + h
            if hit:
                now = t_row + frac * h
                px = p0x + frac * (p1x - p0x)
                py = p0y + frac * (p1y - p0y)
                pz = p0z + frac * (p1z - p0z)
                event[i] = _EV_HIT
                event_miss[i] = miss
                break

            # Self-destructs (an intercept in the same update takes precedence).
            alt1 = _height(p1x, p1y, p1z) - ground_alt[s]
            reason = 0
            if alt1 < 0.0:
                reason = 3   # SelfDestructReason.GROUND
            elif age1 >= tof * (1.0 - 1e-12):
                reason = 1   # SelfDestructReason.TIME_OF_FLIGHT
            elif age1 > tb and speed1 < vmin * (1.0 - 1e-12):
                reason = 2   # SelfDestructReason.MIN_SPEED
            if reason > 0:
                frac_g = 1.0
                if reason == 3:
                    # Linear in height; a round already below ground ends at the start.
                    alt0 = max(_height(p0x, p0y, p0z) - ground_alt[s], 0.0)
                    frac_g = alt0 / (alt0 - alt1)
                now = t_row + frac_g * h
                px = p0x + frac_g * (p1x - p0x)
                py = p0y + frac_g * (p1y - p0y)
                pz = p0z + frac_g * (p1z - p0z)
                event[i] = reason
                break

        pos[s, 0], pos[s, 1], pos[s, 2] = px, py, pz
        vel[s, 0], vel[s, 1], vel[s, 2] = vx, vy, vz
        acc[s, 0], acc[s, 1], acc[s, 2] = ax, ay, az
        lagged[s, 0], lagged[s, 1], lagged[s, 2] = lx, ly, lz
        time_s[s] = now
        was_closing[s] = closing_before
        event_time[i] = now
        event_pos[i, 0], event_pos[i, 1], event_pos[i, 2] = px, py, pz
