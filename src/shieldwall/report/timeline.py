"""What happened when, from the event log and the truth table: the report's time series.

- ``engagements(run)``: one record per engagement (``engagement_id`` of the events' detail)
  from its ``engage`` event to its outcome: ``kill`` if any of its rounds killed, ``miss``
  once every launched round missed or self-destructed, else ``pending`` (still flying, or
  never launched, when the run ended).
- ``inventory_series(run)``: interceptors left per battery, a step function that starts at the
  scenario.json load and drops by one at each ``launch`` event of the battery.
- ``threat_intervals(run)`` and ``inflight_series(run)``: each threat is in flight over the
  closed interval from its first to its last truth row (truth.parquet has one row per
  in-flight threat per step, so the count at a recorded step is that step's rows); a threat
  without truth rows (truth not recorded) from its ``threat_launch`` to its terminal event or
  the run's end. The number in flight per class is a step function.

A step function is ``(times_s, values)``: the value ``values[k]`` holds from ``times_s[k]``
until the next time (plotly's ``line.shape = "hv"``). Times of the in-flight series are
rounded to the millisecond outwards (starts down, ends up) so that a threat counts at every
instant of its closed interval.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shieldwall.core.types import FloatArray, IntArray
from shieldwall.core.vocabulary import EventKind
from shieldwall.report.data import RunData, parse_detail

OUTCOME_KINDS = (EventKind.INTERCEPT_KILL, EventKind.INTERCEPT_MISS, EventKind.SELF_DESTRUCT)
RESULTS = ("kill", "miss", "pending")
RESULT_COLOURS = {"kill": "#2a9d3f", "miss": "#d98a00", "pending": "#8a94a6"}
CLASS_ORDER = ("ballistic", "aeroballistic", "cruise", "drone", "decoy")
CLASS_COLOURS = {"ballistic": "#c0392b", "aeroballistic": "#8e44ad", "cruise": "#1f77b4",
                 "drone": "#e08e0b", "decoy": "#7f8c8d", "unknown": "#34495e"}


@dataclass
class Engagement:
    """One engagement: a battery firing ``rounds`` of one interceptor type at one track."""

    engagement_id: int
    battery_id: str = ""
    interceptor_type: str = ""
    threat_id: int = -1            # the engaged track's threat at the engage event
    track_id: int = -1
    start_s: float = math.nan      # engage event (first launch when it is missing)
    end_s: float = math.nan        # last outcome; the run's end while pending
    rounds: int = 0                # planned
    pk: float = math.nan           # single-shot Pk at the engage decision
    launch_s: list[float] = field(default_factory=list)
    interceptor_ids: list[int] = field(default_factory=list)
    outcomes: list[tuple[float, str, int, int]] = field(default_factory=list)
    # (time, kind, interceptor id, threat id at closest approach) per resolved round
    result: str = "pending"

    @property
    def kills(self) -> int:
        return sum(1 for o in self.outcomes if o[1] == EventKind.INTERCEPT_KILL)


def _engagement_of(kind: str, detail: Mapping[str, Any], interceptor_id: int,
                   launched_by: Mapping[int, int]) -> int | None:
    eid = detail.get("engagement_id")
    if isinstance(eid, int | float) and not isinstance(eid, bool):
        return int(eid)
    if kind != EventKind.ENGAGE and interceptor_id in launched_by:
        return launched_by[interceptor_id]
    return None


def engagements(run: RunData) -> list[Engagement]:
    """The engagements of the run, ordered by start time then id (see the module docstring)."""
    ev = run.events
    wanted = np.flatnonzero(np.isin(ev.kind,
                                    [EventKind.ENGAGE, EventKind.LAUNCH, *OUTCOME_KINDS]))
    order = wanted[np.argsort(ev.time_s[wanted], kind="stable")]
    found: dict[int, Engagement] = {}
    launched_by: dict[int, int] = {}
    for j in order:
        kind = str(ev.kind[j])
        detail = parse_detail(str(ev.detail[j]))
        iid = int(ev.interceptor_id[j])
        eid = _engagement_of(kind, detail, iid, launched_by)
        if eid is None:
            continue
        e = found.setdefault(eid, Engagement(eid))
        t = float(ev.time_s[j])
        if not e.battery_id:
            e.battery_id = str(ev.battery_id[j])
        if not e.interceptor_type:
            e.interceptor_type = str(ev.interceptor_type[j])
        if e.track_id < 0:
            e.track_id = int(ev.track_id[j])
        if kind == EventKind.ENGAGE:
            e.start_s = t
            e.threat_id = int(ev.threat_id[j])
            rounds = detail.get("rounds")
            if isinstance(rounds, int | float) and not isinstance(rounds, bool):
                e.rounds = int(rounds)
            pk = detail.get("pk")
            e.pk = float(pk) if isinstance(pk, int | float) else float(ev.value[j])
        elif kind == EventKind.LAUNCH:
            e.launch_s.append(t)
            if iid >= 0:
                e.interceptor_ids.append(iid)
                launched_by[iid] = eid
        else:
            e.outcomes.append((t, kind, iid, int(ev.threat_id[j])))
    duration = run_duration_s(run)
    for e in found.values():
        if math.isnan(e.start_s):
            times = e.launch_s or [o[0] for o in e.outcomes]
            e.start_s = min(times) if times else duration
        if e.rounds <= 0:
            e.rounds = len(e.launch_s)
        resolved = len(e.outcomes)
        if e.kills:
            e.result = "kill"
        elif e.launch_s and resolved >= len(e.launch_s):
            e.result = "miss"
        else:
            e.result = "pending"
        e.end_s = (max(o[0] for o in e.outcomes) if e.result != "pending"
                   else max(duration, e.start_s))
    return sorted(found.values(), key=lambda e: (e.start_s, e.engagement_id))


def run_duration_s(run: RunData) -> float:
    """The simulated duration: scenario.json ``duration_s``, else summary's, else the data's."""
    for doc in (run.scenario, run.summary):
        v = doc.get("duration_s")
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and v > 0:
            return float(v)
    times = [run.threats.time_s, run.interceptors.time_s, run.events.time_s]
    finite = [t[np.isfinite(t)] for t in times if t.size]
    top = max((float(t.max()) for t in finite if t.size), default=0.0)
    return max(top, 1.0)


def gantt_lanes(batteries: list[str], items: list[Engagement]) -> tuple[IntArray, list[int]]:
    """A lane per engagement so that no two bars of one battery overlap (greedy interval
    colouring in start order), and the number of lanes of each battery."""
    lanes = np.zeros(len(items), np.int64)
    ends: dict[str, list[float]] = {b: [] for b in batteries}
    for k, e in enumerate(items):
        row = ends.setdefault(e.battery_id, [])
        for lane, end in enumerate(row):
            if end < e.start_s:
                row[lane] = e.end_s
                lanes[k] = lane
                break
        else:
            row.append(e.end_s)
            lanes[k] = len(row) - 1
    return lanes, [max(len(ends.get(b, [])), 1) for b in batteries]


def battery_order(run: RunData, items: list[Engagement] | None = None) -> list[str]:
    """Batteries in scenario.json order, then any other battery named by the events."""
    names = [str(b.get("id")) for b in run.scenario.get("batteries") or []]
    for e in items or []:
        if e.battery_id and e.battery_id not in names:
            names.append(e.battery_id)
    return names


def initial_inventory(run: RunData) -> dict[str, dict[str, int]]:
    """Interceptors loaded per battery and type at the start (scenario.json)."""
    out: dict[str, dict[str, int]] = {}
    for b in run.scenario.get("batteries") or []:
        loads = b.get("interceptors") or {}
        out[str(b.get("id"))] = {str(k): int(v) for k, v in loads.items()
                                 if isinstance(v, int | float) and not isinstance(v, bool)}
    return out


def launch_times(run: RunData) -> dict[tuple[str, str], FloatArray]:
    """Sorted launch event times per (battery, interceptor type)."""
    ev = run.events
    sel = np.flatnonzero(ev.kind == EventKind.LAUNCH)
    out: dict[tuple[str, str], list[float]] = {}
    for j in sel:
        out.setdefault((str(ev.battery_id[j]), str(ev.interceptor_type[j])), []).append(
            float(ev.time_s[j]))
    return {k: np.sort(np.array(v)) for k, v in out.items()}


def inventory_series(run: RunData) -> dict[str, tuple[FloatArray, IntArray]]:
    """Interceptors left per battery (all types) as a step function over ``[0, duration]``."""
    duration = run_duration_s(run)
    loads = initial_inventory(run)
    launches = launch_times(run)
    out: dict[str, tuple[FloatArray, IntArray]] = {}
    for bat, types in loads.items():
        total = sum(types.values())
        times = np.sort(np.concatenate(
            [v for (b, _), v in launches.items() if b == bat] or [np.zeros(0)]))
        change, counts = np.unique(times, return_counts=True)
        left = total - np.cumsum(counts)
        x = np.concatenate([[0.0], change, [max(duration, float(change.max(initial=0.0)))]])
        y = np.concatenate([[total], left, [left[-1] if left.size else total]]).astype(np.int64)
        out[bat] = (x, y)
    return out


@dataclass(frozen=True)
class ThreatIntervals:
    """When each threat was in flight: ``start_s[i] <= t <= end_s[i]`` (closed)."""

    threat_id: IntArray
    threat_class: list[str]
    threat_type: list[str]
    start_s: FloatArray
    end_s: FloatArray


def threat_intervals(run: RunData) -> ThreatIntervals:
    """In-flight interval of every threat that has truth rows or a ``threat_launch`` event."""
    duration = run_duration_s(run)
    th = run.threats
    ids: list[int] = []
    classes: list[str] = []
    types: list[str] = []
    starts: list[float] = []
    ends: list[float] = []
    for i, tid in enumerate(th.ids.tolist()):
        a, b = th.offsets[i], th.offsets[i + 1]
        ids.append(tid)
        classes.append(th.labels.get("threat_class", [""] * th.count)[i] or "unknown")
        types.append(th.labels.get("threat_type", [""] * th.count)[i])
        starts.append(float(th.time_s[a]))
        ends.append(float(th.time_s[b - 1]))
    if th.count == 0:
        # No truth recorded: from the launch event to the terminal one (or the run's end).
        ev = run.events
        known = set()
        for j in np.flatnonzero(ev.kind == EventKind.THREAT_LAUNCH):
            tid = int(ev.threat_id[j])
            if tid < 0 or tid in known:
                continue
            known.add(tid)
            detail = parse_detail(str(ev.detail[j]))
            ids.append(tid)
            classes.append(str(detail.get("class") or "unknown"))
            types.append(str(detail.get("type") or ""))
            starts.append(float(ev.time_s[j]))
            ends.append(run.threat_end_s.get(tid, duration))
    return ThreatIntervals(np.array(ids, np.int64), classes, types,
                           np.array(starts, float), np.array(ends, float))


def floor_ms(t: FloatArray) -> FloatArray:
    """Times rounded down to the millisecond."""
    return np.floor(np.asarray(t, float) * 1000.0 + 1e-9) / 1000.0


def ceil_ms(t: FloatArray) -> FloatArray:
    """Times rounded up to the millisecond."""
    return np.ceil(np.asarray(t, float) * 1000.0 - 1e-9) / 1000.0


def inflight_series(run: RunData,
                    intervals: ThreatIntervals | None = None
                    ) -> dict[str, tuple[FloatArray, IntArray]]:
    """Threats in flight per class over ``[0, duration]`` as step functions.

    A threat counts from ``start`` (rounded down to the ms) until just after ``end``: it drops
    out at ``end`` rounded up to the ms plus 1 ms, so the count at any instant of its closed
    interval includes it.
    """
    iv = intervals or threat_intervals(run)
    duration = run_duration_s(run)
    out: dict[str, tuple[FloatArray, IntArray]] = {}
    present = [c for c in CLASS_ORDER if c in iv.threat_class]
    present += sorted(set(iv.threat_class) - set(present))
    cls = np.array(iv.threat_class, dtype=object)
    for c in present:
        sel = cls == c
        on = floor_ms(iv.start_s[sel])
        off = ceil_ms(iv.end_s[sel]) + 0.001
        at0 = int(np.count_nonzero((on <= 0.0) & (off > 0.0)))
        times = np.concatenate([on, off])
        steps = np.concatenate([np.ones(on.size, np.int64), -np.ones(off.size, np.int64)])
        inside = (times > 0.0) & (times <= duration)
        change, inverse = np.unique(times[inside], return_inverse=True)
        delta = np.bincount(inverse, weights=steps[inside], minlength=change.size)
        values = at0 + np.cumsum(delta).astype(np.int64)
        x = np.concatenate([[0.0], change, [duration]])
        y = np.concatenate([[at0], values, [values[-1] if values.size else at0]])
        out[c] = (np.round(x, 3), y.astype(np.int64))
    return out


def count_at(series: tuple[FloatArray, IntArray], t: float) -> int:
    """The value of a step function at time ``t`` (0 before its first time)."""
    x, y = series
    k = int(np.searchsorted(x, t, side="right")) - 1
    return int(y[k]) if k >= 0 else 0

