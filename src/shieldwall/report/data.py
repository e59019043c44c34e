"""Reading a results directory (docs/internals.md "Results directory") for the report.

The report reads only these files, never the engine: ``summary.json`` and ``scenario.json``
are required; the parquet tables are optional (a run without recording still gets a summary
report, with an empty map of threats).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from shieldwall.core.errors import InputError
from shieldwall.core.outputs import read_json_file
from shieldwall.core.types import Fate, FloatArray, IntArray
from shieldwall.core.vocabulary import EventKind

FATE_OF_EVENT: dict[str, str] = {EventKind.INTERCEPT_KILL: Fate.INTERCEPTED,
                                 EventKind.LEAK: Fate.LEAKED, EventKind.CRASH: Fate.CRASHED,
                                 EventKind.EXPIRE: Fate.EXPIRED}
ENGAGEMENT_KINDS: tuple[str, ...] = (EventKind.ENGAGE, EventKind.LAUNCH,
                                     EventKind.INTERCEPT_KILL, EventKind.INTERCEPT_MISS)


@dataclass(frozen=True)
class Polylines:
    """Many polylines concatenated: points of polyline i are ``offsets[i]:offsets[i + 1]``.

    ``ids (k,)`` identify the polylines (threat or interceptor ids, ascending); ``lat_deg``,
    ``lon_deg``, ``time_s`` have one entry per point, in time order inside each polyline;
    ``labels[column]`` holds, per polyline, that column's value on its first row (the threat
    type and class, or the battery and interceptor type).
    """

    ids: IntArray
    offsets: IntArray
    time_s: FloatArray
    lat_deg: FloatArray
    lon_deg: FloatArray
    alt_m: FloatArray         # metres above the ellipsoid; NaN where the table lacks it
    labels: dict[str, list[str]]

    @property
    def count(self) -> int:
        return int(self.ids.size)


@dataclass(frozen=True)
class EventTable:
    """The events of ``events.parquet`` (columns as in docs/internals.md), as arrays."""

    time_s: FloatArray
    kind: np.ndarray          # (m,) object array of str
    threat_id: IntArray
    track_id: IntArray
    battery_id: np.ndarray    # (m,) object array of str
    interceptor_id: IntArray
    interceptor_type: np.ndarray
    lat_deg: FloatArray
    lon_deg: FloatArray
    alt_m: FloatArray
    value: FloatArray
    detail: np.ndarray        # (m,) object array of str (JSON text or "")

    def __len__(self) -> int:
        return int(self.time_s.size)

    def select(self, mask: np.ndarray) -> EventTable:
        return EventTable(**{k: getattr(self, k)[mask] for k in self.__dataclass_fields__})


@dataclass(frozen=True)
class RunData:
    """Everything the report draws, read from one results directory."""

    outdir: Path
    summary: dict[str, Any]
    scenario: dict[str, Any]
    threats: Polylines            # ground tracks from truth.parquet
    interceptors: Polylines       # flyouts from interceptors.parquet
    events: EventTable
    threat_fate: dict[int, str]   # threat id -> fate (from the terminal events)
    threat_end_s: dict[int, float]


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise InputError(str(path), "missing: a results directory of 'shieldwall run' holds "
                                    "summary.json and scenario.json (docs/internals.md)")
    doc = read_json_file(path, "this file of the results directory")
    if not isinstance(doc, dict):
        raise InputError(str(path), "expected a JSON object at the top level")
    return doc


def _read_table(path: Path, columns: list[str]) -> pa.Table | None:
    """The wanted columns that a parquet file has, or None if the file is absent; a corrupt
    file raises ``InputError`` naming it."""
    if not path.is_file():
        return None
    try:
        schema = pq.read_schema(path)
        present = [c for c in columns if c in schema.names]
        return pq.read_table(path, columns=present)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(str(path), f"not a readable parquet table ({exc})") from exc


def _floats(table: pa.Table, name: str, default: float = np.nan) -> FloatArray:
    if name not in table.column_names:
        return np.full(table.num_rows, default)
    return np.asarray(table.column(name).to_numpy(zero_copy_only=False), dtype=np.float64)


def _ints(table: pa.Table, name: str) -> IntArray:
    if name not in table.column_names:
        return np.full(table.num_rows, -1, dtype=np.int64)
    col = table.column(name).fill_null(-1)
    return np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.int64)


def _strings(table: pa.Table, name: str) -> np.ndarray:
    if name not in table.column_names:
        return np.full(table.num_rows, "", dtype=object)
    values = table.column(name).to_pylist()
    return np.array(["" if v is None else str(v) for v in values], dtype=object)


def _polylines(table: pa.Table | None, id_column: str, label_columns: list[str]) -> Polylines:
    """Group rows by id, sort by time, drop rows without a finite position."""
    empty = Polylines(np.zeros(0, np.int64), np.zeros(1, np.int64), np.zeros(0), np.zeros(0),
                      np.zeros(0), np.zeros(0), {c: [] for c in label_columns})
    if table is None or table.num_rows == 0 or id_column not in table.column_names:
        return empty
    ids = _ints(table, id_column)
    time_s = _floats(table, "time_s", 0.0)
    lat = _floats(table, "lat_deg")
    lon = _floats(table, "lon_deg")
    ok = np.isfinite(lat) & np.isfinite(lon) & (ids >= 0)
    rows = np.flatnonzero(ok)
    if rows.size == 0:
        return empty
    order = rows[np.lexsort((time_s[rows], ids[rows]))]
    sorted_ids = ids[order]
    unique_ids, first = np.unique(sorted_ids, return_index=True)
    offsets = np.append(first, sorted_ids.size).astype(np.int64)
    labels: dict[str, list[str]] = {}
    first_rows = pa.array(order[first])
    for c in label_columns:
        if c in table.column_names:
            labels[c] = ["" if v is None else str(v)
                         for v in table.column(c).take(first_rows).to_pylist()]
        else:
            labels[c] = [""] * unique_ids.size
    return Polylines(unique_ids.astype(np.int64), offsets, time_s[order], lat[order],
                     lon[order], _floats(table, "alt_m")[order], labels)


def _events(table: pa.Table | None) -> EventTable:
    if table is None:
        table = pa.table({"time_s": pa.array([], pa.float64())})
    return EventTable(
        time_s=_floats(table, "time_s", 0.0), kind=_strings(table, "kind"),
        threat_id=_ints(table, "threat_id"), track_id=_ints(table, "track_id"),
        battery_id=_strings(table, "battery_id"), interceptor_id=_ints(table, "interceptor_id"),
        interceptor_type=_strings(table, "interceptor_type"), lat_deg=_floats(table, "lat_deg"),
        lon_deg=_floats(table, "lon_deg"), alt_m=_floats(table, "alt_m"),
        value=_floats(table, "value"),
        detail=_strings(table, "detail"))


def threat_fates(events: EventTable) -> tuple[dict[int, str], dict[int, float]]:
    """Fate and end time of each threat from its terminal event (intercept_kill, leak, ...)."""
    fate: dict[int, str] = {}
    end: dict[int, float] = {}
    terminal = np.isin(events.kind, list(FATE_OF_EVENT)) & (events.threat_id >= 0)
    for i in np.flatnonzero(terminal):
        tid = int(events.threat_id[i])
        if tid not in fate:  # the first terminal event wins; the engine logs exactly one
            fate[tid] = FATE_OF_EVENT[str(events.kind[i])]
            end[tid] = float(events.time_s[i])
    return fate, end


def load_run(outdir: Path) -> RunData:
    """Read a results directory for the report (raises ``InputError`` on a missing summary)."""
    outdir = Path(outdir)
    summary = _read_json(outdir / "summary.json")
    scenario = _read_json(outdir / "scenario.json")
    truth = _read_table(outdir / "truth.parquet",
                        ["time_s", "threat_id", "threat_type", "threat_class", "lat_deg",
                         "lon_deg", "alt_m"])
    flyouts = _read_table(outdir / "interceptors.parquet",
                          ["time_s", "interceptor_id", "battery_id", "interceptor_type",
                           "lat_deg", "lon_deg", "alt_m"])
    events = _events(_read_table(outdir / "events.parquet",
                                 ["time_s", "kind", "threat_id", "track_id", "battery_id",
                                  "interceptor_id", "interceptor_type", "lat_deg", "lon_deg",
                                  "alt_m", "value", "detail"]))
    events_file = str(outdir / "events.parquet")
    for text in set(events.detail.tolist()):
        parse_detail(str(text), events_file)  # a hand-edited detail: InputError naming it
    fate, end = threat_fates(events)
    return RunData(outdir=outdir, summary=summary, scenario=scenario,
                   threats=_polylines(truth, "threat_id", ["threat_type", "threat_class"]),
                   interceptors=_polylines(flyouts, "interceptor_id",
                                           ["battery_id", "interceptor_type"]),
                   events=events, threat_fate=fate, threat_end_s=end)


#: Longest ``detail`` text of an event read as JSON (shieldwall writes ~100 characters).
MAX_DETAIL_CHARS = 65536


def parse_detail(text: str, source: str = "events.parquet") -> dict[str, Any]:
    """The ``detail`` JSON of an event as a dict ({} when empty; {"text": ...} if not JSON).

    A detail no shieldwall run writes (over ``MAX_DETAIL_CHARS``, nested too deeply, a number
    of 4300 digits: a hand-edited table) is an ``InputError`` naming ``source``."""
    if not text:
        return {}
    if len(text) > MAX_DETAIL_CHARS:
        raise InputError(source, f"an event's detail is {len(text)} characters long; "
                                 f"shieldwall writes short JSON objects (at most "
                                 f"{MAX_DETAIL_CHARS})", field="detail")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        return {"text": text}
    except (RecursionError, ValueError, MemoryError) as err:
        what = "nested too deeply" if isinstance(err, RecursionError) else \
            str(err).split(":")[0] or type(err).__name__
        raise InputError(source, f"an event's detail cannot be read as JSON ({what}); "
                                 "shieldwall writes flat JSON objects", field="detail") from None
    return doc if isinstance(doc, dict) else {"text": str(doc)}
