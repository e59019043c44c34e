"""Launcher inventories of the fire units: rounds per interceptor type, launch interval, fire
channels and (optional) reload, as structure-of-arrays over units ``u`` and types ``k``."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from shieldwall.core.errors import ShieldwallError
from shieldwall.core.types import BoolArray, FloatArray, IntArray


class InventoryError(ShieldwallError):
    """A fire request the inventory cannot honour (no rounds, no channel, launcher not ready)."""


def _i64(x: IntArray | int, n: int) -> IntArray:
    return np.broadcast_to(np.asarray(x, np.int64), (n,)).copy()


@dataclass
class FireUnitInventory:
    """Rounds and launch timing of ``u`` fire units over ``k`` interceptor types (run state).

    Attributes
    ----------
    rounds : (u, k) int64, rounds ready on the launchers (never negative)
    fire_channels : (u,) int64, simultaneous guided engagements a unit can support
    channels_busy : (u,) int64, engagements in progress (one per ``fire`` request)
    launch_interval_s : (u,) default time between two launches of one unit (s)
    next_launch_s : (u,) earliest time of the unit's next launch (s)
    reload_time_s : (u,) time to reload an emptied launcher (s); 0 (default) = no reload
    capacity : (u, k) launcher load a reload refills to (the initial ``rounds``)
    spare : (u, k) rounds available for reloading (default none)
    reload_due_s : (u,) completion time of a pending reload (inf: none)

    A salvo of ``n`` rounds fired at ``t`` launches its rounds at ``t + j * interval``
    (``j = 0..n-1``); several requests to one unit in one ``fire`` call are queued back to back
    in the order given.
    """

    rounds: IntArray
    fire_channels: IntArray
    launch_interval_s: FloatArray
    reload_time_s: FloatArray = field(default_factory=lambda: np.zeros(0))
    spare: IntArray = field(default_factory=lambda: np.zeros((0, 0), np.int64))
    channels_busy: IntArray = field(init=False)
    next_launch_s: FloatArray = field(init=False)
    capacity: IntArray = field(init=False)
    reload_due_s: FloatArray = field(init=False)

    def __post_init__(self) -> None:
        self.rounds = np.array(self.rounds, dtype=np.int64, ndmin=2)
        if (self.rounds < 0).any():
            raise InventoryError("initial rounds must be >= 0")
        u, k = self.rounds.shape
        self.fire_channels = _i64(self.fire_channels, u)
        self.launch_interval_s = np.broadcast_to(
            np.asarray(self.launch_interval_s, float), (u,)).copy()
        reload_time = np.asarray(self.reload_time_s, float)
        self.reload_time_s = np.broadcast_to(reload_time if reload_time.size else 0.0,
                                             (u,)).copy()
        spare = np.asarray(self.spare, np.int64)
        self.spare = np.broadcast_to(spare if spare.size else 0, (u, k)).copy()
        if (self.spare < 0).any():
            raise InventoryError("spare rounds must be >= 0")
        self.channels_busy = np.zeros(u, np.int64)
        self.next_launch_s = np.full(u, -np.inf)
        self.capacity = self.rounds.copy()
        self.reload_due_s = np.full(u, np.inf)

    @property
    def n_units(self) -> int:
        return int(self.rounds.shape[0])

    def _requests(self, u: IntArray | int, k: IntArray | int,
                  n: IntArray | int) -> tuple[IntArray, IntArray, IntArray]:
        size = max(np.size(u), np.size(k), np.size(n))
        return _i64(u, size), _i64(k, size), _i64(n, size)

    def can_fire(self, u: IntArray | int, k: IntArray | int, n: IntArray | int,
                 t: float) -> BoolArray:
        """Each request on its own: ``n >= 1`` rounds of type ``k`` ready on unit ``u``, a free
        fire channel, and the launcher ready (``t >= next_launch_s[u]``). Returns ``(r,)``."""
        uu, kk, nn = self._requests(u, k, n)
        return ((nn >= 1) & (self.rounds[uu, kk] >= nn)
                & (self.channels_busy[uu] < self.fire_channels[uu])
                & (t >= self.next_launch_s[uu]))

    def fire(self, u: IntArray | int, k: IntArray | int, n: IntArray | int, t: float,
             launch_interval: FloatArray | float | None = None) -> FloatArray:
        """Fire a batch of ``r`` requests at time ``t``; returns the first launch time ``(r,)``.

        Each request takes ``n`` rounds of type ``k`` and one fire channel of unit ``u``.
        Raises ``InventoryError`` (changing nothing) if the batch as a whole would take rounds
        below zero or channels above ``fire_channels``, or a unit is not ready at ``t``.
        """
        uu, kk, nn = self._requests(u, k, n)
        r = uu.size
        if r == 0:
            return np.zeros(0)
        if (nn < 1).any():
            raise InventoryError("a fire request must take at least one round")
        if (uu < 0).any() or (uu >= self.n_units).any() or (kk < 0).any() or (
                kk >= self.rounds.shape[1]).any():
            raise InventoryError("fire request for an unknown unit or interceptor type")
        need = np.zeros_like(self.rounds)
        np.add.at(need, (uu, kk), nn)
        if (need > self.rounds).any():
            bad = np.argwhere(need > self.rounds)[0]
            raise InventoryError(f"unit {bad[0]} has {self.rounds[bad[0], bad[1]]} rounds of "
                                 f"type {bad[1]}, {need[bad[0], bad[1]]} requested")
        channels = np.bincount(uu, minlength=self.n_units)
        if (self.channels_busy + channels > self.fire_channels).any():
            bad_u = int(np.argmax(self.channels_busy + channels > self.fire_channels))
            raise InventoryError(f"unit {bad_u} has no free fire channel")
        if (t < self.next_launch_s[uu]).any():
            bad_u = int(uu[np.argmax(t < self.next_launch_s[uu])])
            raise InventoryError(f"unit {bad_u} cannot launch before "
                                 f"{self.next_launch_s[bad_u]:.3f} s (requested {t:.3f} s)")
        interval = (self.launch_interval_s[uu] if launch_interval is None
                    else np.broadcast_to(np.asarray(launch_interval, float), (r,)))
        if (interval < 0).any():
            raise InventoryError("launch interval must be >= 0")

        # Queue the requests of one unit back to back: an exclusive cumulative sum per unit.
        order = np.argsort(uu, kind="stable")
        duration = (nn * interval)[order]
        cum = np.cumsum(duration)
        su = uu[order]
        group_start = np.flatnonzero(np.r_[True, su[1:] != su[:-1]])
        group_of = np.repeat(np.arange(group_start.size), np.diff(np.r_[group_start, r]))
        offset_before_group = np.r_[0.0, cum][group_start][group_of]
        first_sorted = t + (cum - duration) - offset_before_group
        first = np.empty(r)
        first[order] = first_sorted
        unit_end = np.full(self.n_units, -np.inf)
        np.maximum.at(unit_end, uu, first + nn * interval)

        self.rounds -= need
        self.channels_busy += channels
        fired = np.isfinite(unit_end)
        self.next_launch_s[fired] = unit_end[fired]
        # An emptied launcher with spares starts a reload once the unit's launches are done.
        empty = ((self.rounds == 0) & (self.spare > 0) & (need > 0)).any(axis=1)
        start_reload = fired & empty & (self.reload_time_s > 0) & ~np.isfinite(self.reload_due_s)
        self.reload_due_s[start_reload] = (unit_end[start_reload]
                                           + self.reload_time_s[start_reload])
        return first

    def release_channel(self, u: IntArray | int) -> None:
        """Free one fire channel per entry of ``u`` (an engagement ended). Raises
        ``InventoryError`` (changing nothing) if a unit would go below zero busy channels."""
        uu = np.atleast_1d(np.asarray(u, np.int64))
        count = np.bincount(uu, minlength=self.n_units)
        if (self.channels_busy - count < 0).any():
            raise InventoryError("releasing a fire channel that is not busy")
        self.channels_busy -= count

    def reload(self, t: float) -> IntArray:
        """Complete the reloads due by ``t``: each launcher type is refilled toward ``capacity``
        from ``spare``. Returns the reloaded units."""
        due = np.flatnonzero(self.reload_due_s <= t)
        if due.size:
            move = np.minimum(self.capacity[due] - self.rounds[due], self.spare[due])
            move = np.clip(move, 0, None)
            self.rounds[due] += move
            self.spare[due] -= move
            self.reload_due_s[due] = np.inf
        return due.astype(np.int64)
