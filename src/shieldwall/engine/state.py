"""The mutable state of one run: structure-of-arrays tables with stable integer ids.

Everything that changes during a run lives in one ``RunState`` (picklable: numpy arrays, the
track tables, the event log, the random generators), so a run can be checkpointed mid-way and
two runs in one process share nothing. The components (``engine.factory``) hold parameters
only.

Tables
------
``ThreatState``      per threat index (fixed n): killed, fates, launch logged.
``TrackLedger``      per track id seen by the engine (sorted ids, looked up by binary search):
                     the truth object feeding it (evaluation only), engagements in flight and
                     made, hold code, assessed-dead-until.
``EngagementTable``  per engagement id (= row): track, unit, type, rounds, progress, status.
``PendingLaunches``  rounds decided but not yet launched (time, engagement, PIP).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shieldwall.core.types import Fate, FloatArray, IntArray, ThreatClass
from shieldwall.engine.events import EventLog
from shieldwall.sensors import Detections
from shieldwall.weapons import FireUnitInventory, InterceptorTable

#: Engagement status codes.
FLIGHT, KA_PENDING, DONE = 0, 1, 2


def _grow(a: np.ndarray, n: int) -> np.ndarray:
    if n <= a.shape[0]:
        return a
    new = np.empty((max(n, 2 * a.shape[0], 16), *a.shape[1:]), a.dtype)
    new[: a.shape[0]] = a
    return new


@dataclass
class ThreatState:
    """Per threat (index = threat id): what the run has decided about it so far."""

    killed: np.ndarray
    kill_time: FloatArray
    fate: list[str]
    fate_time: FloatArray
    done: np.ndarray
    launch_logged: np.ndarray

    @classmethod
    def new(cls, n: int) -> ThreatState:
        return cls(killed=np.zeros(n, bool), kill_time=np.full(n, np.inf), fate=[""] * n,
                   fate_time=np.full(n, np.nan), done=np.zeros(n, bool),
                   launch_logged=np.zeros(n, bool))


@dataclass
class TrackLedger:
    """Per track id: the engine's bookkeeping of tracks (ids kept sorted; rows by search).

    ``truth`` is evaluation only (which truth object fed the track); the battle manager never
    reads it. ``hold`` is an index into ``core.vocabulary.HOLD_CODES`` (-1: never held).
    """

    track_id: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    truth: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    in_flight: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    made: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    hold: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    dead_until_s: FloatArray = field(default_factory=lambda: np.zeros(0))

    _DEFAULTS = {"truth": -1, "in_flight": 0, "made": 0, "hold": -1, "dead_until_s": -np.inf}

    def rows(self, ids: IntArray, create: bool = False) -> IntArray:
        """Rows of ``ids`` (-1 where unknown, unless ``create`` adds them with defaults)."""
        ids = np.asarray(ids, np.int64).reshape(-1)
        pos = np.searchsorted(self.track_id, ids)
        found = (pos < self.track_id.size) & (
            self.track_id[np.minimum(pos, max(self.track_id.size - 1, 0))] == ids
            if self.track_id.size else np.zeros(ids.size, bool))
        if create and not found.all():
            new = np.unique(ids[~found])
            at = np.searchsorted(self.track_id, new)
            self.track_id = np.insert(self.track_id, at, new)
            for name, default in self._DEFAULTS.items():
                col = getattr(self, name)
                setattr(self, name, np.insert(col, at, np.full(new.size, default, col.dtype)))
            return self.rows(ids)
        return np.where(found, pos, -1)

    def get(self, name: str, ids: IntArray) -> np.ndarray:
        """Column ``name`` at ``ids`` (its default where the id is unknown)."""
        r = self.rows(ids)
        col = getattr(self, name)
        out = np.full(r.size, self._DEFAULTS[name], col.dtype)
        out[r >= 0] = col[r[r >= 0]]
        return out

    def get1(self, name: str, track_id: int) -> Any:
        return self.get(name, np.array([track_id]))[0].item()

    def set(self, name: str, ids: IntArray, values: Any) -> None:
        r = self.rows(ids, create=True)
        getattr(self, name)[r] = values


@dataclass
class EngagementTable:
    """Engagements, one row each; the row is the engagement id."""

    n: int = 0
    track_id: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    unit: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    itype: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    n_rounds: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    t_decision: FloatArray = field(default_factory=lambda: np.zeros(0))
    launched: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    resolved: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    n_killed: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    last_resolved_s: FloatArray = field(default_factory=lambda: np.zeros(0))
    ka_time_s: FloatArray = field(default_factory=lambda: np.zeros(0))
    #: Order in which engagements became due for kill assessment (-1: not yet).
    ka_order: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    status: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    n_ka: int = 0

    _COLUMNS = ("track_id", "unit", "itype", "n_rounds", "t_decision", "launched", "resolved",
                "n_killed", "last_resolved_s", "ka_time_s", "ka_order", "status")

    def add(self, track_id: int, unit: int, itype: int, n_rounds: int, t_decision: float) -> int:
        e = self.n
        for name in self._COLUMNS:
            setattr(self, name, _grow(getattr(self, name), e + 1))
        values = {"track_id": track_id, "unit": unit, "itype": itype, "n_rounds": n_rounds,
                  "t_decision": t_decision, "launched": 0, "resolved": 0, "n_killed": 0,
                  "last_resolved_s": -np.inf, "ka_time_s": np.inf, "ka_order": -1,
                  "status": FLIGHT}
        for name, v in values.items():
            getattr(self, name)[e] = v
        self.n = e + 1
        return e

    def __len__(self) -> int:
        return self.n


@dataclass
class PendingLaunches:
    """Rounds decided and not yet launched."""

    n: int = 0
    time_s: FloatArray = field(default_factory=lambda: np.zeros(0))
    engagement: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    pip_ecef: FloatArray = field(default_factory=lambda: np.zeros((0, 3)))
    t_intercept_s: FloatArray = field(default_factory=lambda: np.zeros(0))

    def add(self, time_s: FloatArray, engagement: int, pip: FloatArray, t_int: float) -> None:
        k = np.asarray(time_s, float).size
        m = self.n + k
        self.time_s = _grow(self.time_s, m)
        self.engagement = _grow(self.engagement, m)
        self.pip_ecef = _grow(self.pip_ecef, m)
        self.t_intercept_s = _grow(self.t_intercept_s, m)
        self.time_s[self.n:m] = time_s
        self.engagement[self.n:m] = engagement
        self.pip_ecef[self.n:m] = pip
        self.t_intercept_s[self.n:m] = t_int
        self.n = m

    def pop_before(self, t_s: float) -> tuple[FloatArray, IntArray, FloatArray, FloatArray]:
        """Remove and return the rows with ``time_s < t_s``, ordered by (time, engagement)."""
        t = self.time_s[: self.n]
        due = t < t_s
        idx = np.flatnonzero(due)
        idx = idx[np.lexsort((self.engagement[idx], t[idx]))]
        out = (self.time_s[idx].copy(), self.engagement[idx].copy(), self.pip_ecef[idx].copy(),
               self.t_intercept_s[idx].copy())
        keep = np.flatnonzero(~due)
        for name in ("time_s", "engagement", "pip_ecef", "t_intercept_s"):
            col = getattr(self, name)
            col[: keep.size] = col[keep]
        self.n = keep.size
        return out

    def engagements(self) -> IntArray:
        return self.engagement[: self.n].copy()

    def clear(self) -> None:
        self.n = 0


@dataclass
class NodeState:
    """One battle-management node: its track table, the sensors it hears, the units it
    commands (``integrated``: one node; ``autonomous``: one per battery)."""

    tracks: Any
    sensors: IntArray
    units: IntArray


@dataclass
class RunState:
    """The mutable state of one run (see ``engine.state``); picklable."""

    seed: int
    replication: int
    perfect: bool
    record: bool
    rng_sites: list[np.random.Generator]
    rng_kill: np.random.Generator
    rng_ka: np.random.Generator
    plan: Any
    truth: Any
    type_names: list[str]
    classes: list[ThreatClass]
    lethal_radius: FloatArray
    threat_cost: FloatArray
    threats: ThreatState
    scan_period: FloatArray
    next_scan: FloatArray
    nodes: list[NodeState]
    unit_node: IntArray
    inventory: FireUnitInventory
    table: InterceptorTable
    gun_types: np.ndarray
    ledger: TrackLedger
    engagements: EngagementTable
    pending: PendingLaunches
    fired: IntArray
    asset_remaining: FloatArray
    asset_hits: IntArray
    events: EventLog
    rec_tracks: list[dict[str, np.ndarray]]
    rec_dets: list[Detections]
    rec_int: list[dict[str, np.ndarray]]
    #: damage (engine.damage): its random stream, the (k,) component states (1 intact,
    #: 0 destroyed) and per asset the warheads that burst inside its footprint
    rng_damage: np.random.Generator = field(default_factory=lambda: np.random.default_rng(0))
    component_state: FloatArray = field(default_factory=lambda: np.zeros(0))
    asset_impacts: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    n_detections: int = 0
    n_confirmed: int = 0
    next_bm: float = 0.0
    step_index: int = 0
    finished: bool = False


def set_fate(st: RunState, i: int, fate: Fate, t: float) -> None:
    """Threat ``i`` ends as ``fate`` at ``t`` (exactly once)."""
    th = st.threats
    if th.fate[i]:
        raise AssertionError(f"threat {i} already ended as {th.fate[i]}")
    th.fate[i] = fate.value
    th.fate_time[i] = t
    th.done[i] = True
