"""The structure-of-arrays table of interceptors in flight (run state, picklable).

One row ("slot") per interceptor; the table is preallocated and doubles its capacity when full,
so a launch never appends per entity. Inactive slots are reused by later launches; the
``interceptor_id`` is stable and never reused. All positions/velocities are ECEF float64.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from shieldwall.catalog.types import Interceptor
from shieldwall.core.types import BoolArray, FloatArray, IntArray
from shieldwall.geo import WGS84_A_M, WGS84_B_M
from shieldwall.weapons.guidance import height_above_ellipsoid_m
from shieldwall.weapons.kinematics import speed_at

#: Field name -> (trailing shape, dtype, fill value) of every per-slot array of the table.
_FIELDS: dict[str, tuple[tuple[int, ...], type, object]] = {
    "interceptor_id": ((), np.int64, -1),
    "active": ((), np.bool_, False),
    "type_index": ((), np.int64, -1),
    "battery_index": ((), np.int64, -1),
    "track_id": ((), np.int64, -1),
    "target_index": ((), np.int64, -1),
    "engagement_id": ((), np.int64, -1),
    "pos_ecef": ((3,), np.float64, np.nan),
    "vel_ecef": ((3,), np.float64, np.nan),
    "accel_ecef": ((3,), np.float64, 0.0),
    "guidance_accel_ecef": ((3,), np.float64, 0.0),
    "time_s": ((), np.float64, np.nan),
    "launch_time_s": ((), np.float64, np.nan),
    "planned_intercept_s": ((), np.float64, np.nan),
    "aim_ecef": ((3,), np.float64, np.nan),
    "aim_vel_ecef": ((3,), np.float64, 0.0),
    "was_closing": ((), np.bool_, False),
    "ground_alt_m": ((), np.float64, 0.0),
}


def geodetic_up(pos_ecef: FloatArray) -> FloatArray:
    """Unit normal to the WGS84 ellipsoid ("local up") at ECEF points ``(n, 3)``.

    Uses the ellipsoid gradient ``(x/a^2, y/a^2, z/b^2)``, exact on the surface and within
    ~1e-5 rad of the geodetic normal for heights of tens of km.
    """
    p = np.asarray(pos_ecef, float)
    g = p / np.array([WGS84_A_M**2, WGS84_A_M**2, WGS84_B_M**2])
    return g / np.linalg.norm(g, axis=-1, keepdims=True)


def lofted_direction(from_ecef: FloatArray, to_ecef: FloatArray, loft_rad: FloatArray,
                     max_elevation_rad: float = np.radians(89.0)) -> FloatArray:
    """Unit launch direction ``(n, 3)``: the line of sight raised by ``loft_rad`` in elevation.

    The elevation ``e`` of the line of sight above the local horizontal (geodetic up at the
    launcher) becomes ``min(e + loft, max_elevation)``; the azimuth is kept.
    """
    los = np.asarray(to_ecef, float) - np.asarray(from_ecef, float)
    los = los / np.linalg.norm(los, axis=-1, keepdims=True)
    up = geodetic_up(from_ecef)
    sin_e = np.sum(los * up, axis=-1)
    horiz = los - sin_e[:, None] * up
    h_norm = np.linalg.norm(horiz, axis=-1)
    # Straight up (no horizontal direction): keep the line of sight.
    vertical = h_norm < 1e-12
    h_unit = horiz / np.where(vertical, 1.0, h_norm)[:, None]
    elev = np.minimum(np.arctan2(sin_e, h_norm) + loft_rad, max_elevation_rad)
    out = np.cos(elev)[:, None] * h_unit + np.sin(elev)[:, None] * up
    return np.where(vertical[:, None], los, out)


@dataclass
class InterceptorTable:
    """Interceptors in flight, one numpy array per field (ECEF, SI).

    Attributes (``cap`` = capacity)
    ----------
    interceptor_id : (cap,) int64, stable id (-1: never used)
    active : (cap,) bool, in flight
    type_index : (cap,) index into the caller's tuple of ``Interceptor`` records
    battery_index : (cap,) fire unit that launched it
    track_id : (cap,) the track it was fired at
    target_index : (cap,) truth threat index the seeker has locked, -1 none
    engagement_id : (cap,) the engagement (salvo) it belongs to
    pos_ecef, vel_ecef : (cap, 3) state at ``time_s``
    accel_ecef : (cap, 3) airframe lateral acceleration of the last update (m/s^2, after
        gravity compensation and the limit)
    guidance_accel_ecef : (cap, 3) guidance acceleration achieved through the first-order
        autopilot lag (its state; m/s^2)
    time_s : (cap,) time of the stored state (s from scenario start)
    launch_time_s, planned_intercept_s : (cap,)
    aim_ecef : (cap, 3) commanded point (predicted intercept point), set by the engine
    aim_vel_ecef : (cap, 3) velocity of the commanded point (0: a fixed PIP; the track
        velocity for command guidance against the track)
    was_closing : (cap,) range to the target was closing at the end of the last update
    ground_alt_m : (cap,) height above the ellipsoid below which the round has hit the ground:
        ``min(0, launcher height) - 1 m`` (no terrain model; flat ground at the launcher)
    """

    capacity: int = 64
    next_id: int = 0
    interceptor_id: IntArray = field(init=False)
    active: BoolArray = field(init=False)
    type_index: IntArray = field(init=False)
    battery_index: IntArray = field(init=False)
    track_id: IntArray = field(init=False)
    target_index: IntArray = field(init=False)
    engagement_id: IntArray = field(init=False)
    pos_ecef: FloatArray = field(init=False)
    vel_ecef: FloatArray = field(init=False)
    accel_ecef: FloatArray = field(init=False)
    guidance_accel_ecef: FloatArray = field(init=False)
    time_s: FloatArray = field(init=False)
    launch_time_s: FloatArray = field(init=False)
    planned_intercept_s: FloatArray = field(init=False)
    aim_ecef: FloatArray = field(init=False)
    aim_vel_ecef: FloatArray = field(init=False)
    was_closing: BoolArray = field(init=False)
    ground_alt_m: FloatArray = field(init=False)

    def __post_init__(self) -> None:
        if self.capacity < 1:
            raise ValueError("capacity must be >= 1")
        for name, (shape, dtype, fill) in _FIELDS.items():
            setattr(self, name, np.full((self.capacity, *shape), fill, dtype=dtype))

    # ------------------------------------------------------------------ queries
    def active_slots(self) -> IntArray:
        """Slots of the interceptors in flight, ascending."""
        return np.flatnonzero(self.active).astype(np.int64)

    def __len__(self) -> int:
        return int(np.count_nonzero(self.active))

    # ------------------------------------------------------------------ mutation
    def _grow(self, needed: int) -> None:
        new_cap = self.capacity
        while new_cap < needed:
            new_cap *= 2
        if new_cap == self.capacity:
            return
        for name, (shape, dtype, fill) in _FIELDS.items():
            old = getattr(self, name)
            new: np.ndarray = np.full((new_cap, *shape), fill, dtype=dtype)
            new[: self.capacity] = old
            setattr(self, name, new)
        self.capacity = new_cap

    def launch(
        self,
        time_s: FloatArray | float,
        launcher_ecef: FloatArray,
        aim_ecef: FloatArray,
        type_index: IntArray,
        interceptors: Sequence[Interceptor],
        battery_index: IntArray | int = -1,
        track_id: IntArray | int = -1,
        engagement_id: IntArray | int = -1,
        planned_intercept_s: FloatArray | float = np.nan,
        loft_rad: FloatArray | float = 0.05,
        initial_speed_mps: float = 1.0,
        aim_vel_ecef: FloatArray | None = None,
    ) -> IntArray:
        """Put a batch of ``n`` interceptors in flight; returns their slots ``(n,)``.

        Each starts at its launcher (``launcher_ecef (n,3)``) at ``time_s`` with velocity along
        the line of sight to ``aim_ecef (n,3)`` raised by ``loft_rad`` (guided types only:
        unguided rounds, ``max_accel_g == 0``, are fired straight at the aim point) and speed
        ``max(initial_speed_mps, v(0))`` of the type's profile (the stored speed only carries
        the direction: ``FlyoutModel`` imposes v(t) from the first update on).
        """
        launcher = np.atleast_2d(np.asarray(launcher_ecef, float))
        aim = np.atleast_2d(np.asarray(aim_ecef, float))
        n = max(launcher.shape[0], aim.shape[0])
        launcher = np.broadcast_to(launcher, (n, 3))
        aim = np.broadcast_to(aim, (n, 3))
        types = np.broadcast_to(np.asarray(type_index, np.int64), (n,))
        if n == 0:
            return np.zeros(0, np.int64)
        if types.min() < 0 or types.max() >= len(interceptors):
            raise IndexError("type_index out of range of the interceptor records")
        free = np.flatnonzero(~self.active)
        if free.size < n:
            self._grow(self.capacity + n - free.size)
            free = np.flatnonzero(~self.active)
        slots = free[:n].astype(np.int64)

        guided = np.array([interceptors[k].max_accel_g > 0 for k in range(len(interceptors))])
        v0 = np.array([max(initial_speed_mps, float(speed_at(rec, 0.0)))
                       for rec in interceptors])
        loft = np.where(guided[types], np.broadcast_to(np.asarray(loft_rad, float), (n,)), 0.0)
        direction = lofted_direction(launcher, aim, loft)

        t = np.broadcast_to(np.asarray(time_s, float), (n,))
        self.interceptor_id[slots] = np.arange(self.next_id, self.next_id + n)
        self.next_id += n
        self.active[slots] = True
        self.type_index[slots] = types
        self.battery_index[slots] = battery_index
        self.track_id[slots] = track_id
        self.target_index[slots] = -1
        self.engagement_id[slots] = engagement_id
        self.pos_ecef[slots] = launcher
        self.vel_ecef[slots] = direction * v0[types][:, None]
        self.accel_ecef[slots] = 0.0
        self.guidance_accel_ecef[slots] = 0.0
        self.time_s[slots] = t
        self.launch_time_s[slots] = t
        self.planned_intercept_s[slots] = planned_intercept_s
        self.aim_ecef[slots] = aim
        self.aim_vel_ecef[slots] = 0.0 if aim_vel_ecef is None else aim_vel_ecef
        self.was_closing[slots] = False
        self.ground_alt_m[slots] = np.minimum(height_above_ellipsoid_m(launcher), 0.0) - 1.0
        return slots

    def deactivate(self, slots: IntArray) -> None:
        """Take interceptors out of flight. The slot's state is kept (for logging) until a later
        ``launch`` reuses it; its ``interceptor_id`` is never reused."""
        self.active[np.asarray(slots, np.int64)] = False

    def take(self, slots: IntArray) -> InterceptorTable:
        """A new table holding copies of the rows ``slots`` (in that order, at slots 0..n-1),
        ids kept; e.g. to step a subset or to check the batched step row by row."""
        s = np.asarray(slots, np.int64)
        out = InterceptorTable(capacity=max(1, s.size), next_id=self.next_id)
        for name in _FIELDS:
            getattr(out, name)[: s.size] = getattr(self, name)[s]
        return out
