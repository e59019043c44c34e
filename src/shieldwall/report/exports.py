"""Exports of one run for GIS tools and 3-D globes: GeoJSON, KML with time, CZML.

``write_exports(outdir)`` writes, next to the results (docs/internals.md "Results directory"):

- ``run.geojson``: an RFC 7946 FeatureCollection (WGS84, ``[lon, lat, alt]``). Trajectories are
  3-D LineStrings whose ``times`` property holds one ISO 8601 UTC time per vertex (plus
  ``start_time``/``end_time``); points carry ``time``; polygons are closed counter-clockwise
  rings. Every feature has a ``layer`` property (asset, asset_footprint, battery, sensor,
  coverage, threat, interceptor, event).
- ``run.kml``: KML 2.2 for Google Earth: styles per fate, folders Assets, Batteries, Sensors,
  Coverage, Threats, Interceptors, Events; trajectories as ``gx:Track`` (``when`` +
  ``gx:coord``, altitude absolute) so the time slider replays them; events as Placemarks with a
  ``TimeStamp``.
- ``run.czml``: CZML for Cesium: a document packet with the clock, then one packet per entity;
  moving entities have time-tagged ``cartographicDegrees`` samples (seconds from the packet's
  ``epoch``), an ``availability`` interval and a trailing ``path``.

Content: defended assets (value, kind, damage radius), batteries (system, inventory initial /
fired / left) and sensors with their radar coverage (sector wedge or circle of the instrumented
range; batteries also their engagement range), threat trajectories coloured by fate, interceptor
flyouts, intercept points (kill or miss, Pk, battery, interceptor), leaker impact points,
crashes and interceptor self-destructs.

Time: the results hold seconds from scenario start. The absolute UTC time of second 0 is
``scenario.json`` ``start_time_utc`` (ISO 8601; without a UTC offset it is taken as UTC) when
present, else the fixed notional epoch ``DEFAULT_EPOCH_UTC`` (2026-01-01T00:00:00Z). Times are
written to the millisecond, ``YYYY-MM-DDTHH:MM:SS.sssZ``.

Size: trajectories are decimated so that replay stays close to the record. For each of the
three axes of the local east-north-up frame at the scenario origin, Ramer-Douglas-Peucker
(``shieldwall.report.simplify.simplify_polylines``) runs on ``(t * TIME_SCALE_MPS, axis)`` with
tolerance ``tolerance_m / 2``; with the time axis scaled far beyond any speed, the distance RDP
measures is the time-synchronous one, ``|x_k - interp_t(x_a, x_b)|``. The union of the three
masks is kept, which leaves every recorded point within ``tolerance_m`` per axis of the position
interpolated linearly in time between the kept ones (each of the three masks bounds the error
of its axis by ``tolerance_m / 2``, and refining a kept set at most doubles that bound). The
first and last point of every trajectory are kept and kept times stay strictly increasing.

Coverage rings are geodesic: ``pymap3d.vincenty.vreckon`` (Vincenty's direct problem on
WGS84) every ``RING_STEP_DEG`` of azimuth. Reads only the results files, never the engine.
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
from pymap3d.vincenty import vreckon

from shieldwall import geo
from shieldwall.core.errors import InputError
from shieldwall.core.types import FATES as CORE_FATES
from shieldwall.core.types import Fate, FloatArray, IntArray
from shieldwall.core.vocabulary import EventKind
from shieldwall.report.data import (
    Polylines,
    RunData,
    load_run,
    parse_detail,
)
from shieldwall.report.document import NOTIONAL_BANNER, write_text_atomic
from shieldwall.report.simplify import simplify_polylines
from shieldwall.report.svgmap import (
    BATTERY_COLOUR,
    FATE_COLOURS,
    FLYOUT_COLOUR,
    KILL_COLOUR,
    SENSOR_COLOUR,
)

EXPORT_FORMATS = ("geojson", "kml", "czml")
EXPORT_NAMES = {"geojson": "run.geojson", "kml": "run.kml", "czml": "run.czml"}
START_TIME_KEY = "start_time_utc"
DEFAULT_EPOCH_UTC = "2026-01-01T00:00:00Z"
DEFAULT_TOLERANCE_M = 25.0
TIME_SCALE_MPS = 1.0e6       # time axis scale of the decimation: far above any speed
RING_STEP_DEG = 2.0
DEG_DECIMALS = 6             # 0.11 m of latitude
ALT_DECIMALS = 1
TIME_DECIMALS = 3
KML_NS = "http://www.opengis.net/kml/2.2"
GX_NS = "http://www.google.com/kml/ext/2.2"
EVENT_KINDS: tuple[str, ...] = (EventKind.INTERCEPT_KILL, EventKind.INTERCEPT_MISS,
                                EventKind.SELF_DESTRUCT, EventKind.LEAK, EventKind.CRASH)
EVENT_LABELS: dict[str, str] = {
    EventKind.INTERCEPT_KILL: "kill", EventKind.INTERCEPT_MISS: "miss",
    EventKind.SELF_DESTRUCT: "self-destruct", EventKind.LEAK: "impact (leaker)",
    EventKind.CRASH: "crash"}
EVENT_COLOURS: dict[str, str] = {
    EventKind.INTERCEPT_KILL: KILL_COLOUR, EventKind.INTERCEPT_MISS: "#666666",
    EventKind.SELF_DESTRUCT: "#9aa4b0", EventKind.LEAK: FATE_COLOURS[Fate.LEAKED],
    EventKind.CRASH: FATE_COLOURS[Fate.CRASHED]}
ASSET_COLOUR = "#f4b400"
COVERAGE_COLOURS = {"radar_coverage": "#4a90d9", "engagement_zone": BATTERY_COLOUR,
                    "sensor_coverage": SENSOR_COLOUR, "asset_footprint": "#b08000"}
FATES: tuple[str, ...] = (*CORE_FATES, "unknown")  # unknown: no end event in the log


# ----------------------------------------------------------------------------- prepared data
@dataclass(frozen=True)
class Trajectories:
    """Decimated 3-D polylines: points of polyline i are ``offsets[i]:offsets[i + 1]``.

    ``time_s`` strictly increasing inside each polyline; ``alt_m`` metres above the WGS84
    ellipsoid (0 where the results lack it); ``recorded[i]`` the number of points before
    decimation; ``labels`` as in ``shieldwall.report.data.Polylines``.
    """

    ids: IntArray
    offsets: IntArray
    time_s: FloatArray
    lat_deg: FloatArray
    lon_deg: FloatArray
    alt_m: FloatArray
    recorded: IntArray
    labels: dict[str, list[str]]

    @property
    def count(self) -> int:
        return int(self.ids.size)

    def span(self, i: int) -> slice:
        return slice(int(self.offsets[i]), int(self.offsets[i + 1]))


@dataclass(frozen=True)
class Area:
    """A closed counter-clockwise ring (``ring`` (m, 2) ``[lon, lat]``, first == last)."""

    kind: str                 # radar_coverage, engagement_zone, sensor_coverage, asset_footprint
    site_id: str
    range_m: float
    heading_deg: float
    half_width_deg: float | None
    ring: FloatArray


@dataclass(frozen=True)
class EventPoint:
    """One event drawn as a point (intercept, miss, self-destruct, leaker impact, crash)."""

    kind: str
    time_s: float
    lat_deg: float
    lon_deg: float
    alt_m: float
    threat_id: int
    battery_id: str
    interceptor_id: int
    interceptor_type: str
    detail: dict[str, Any]

    @property
    def pk(self) -> float | None:
        v = self.detail.get("pk")
        return float(v) if isinstance(v, int | float) and math.isfinite(v) else None


@dataclass(frozen=True)
class ExportRun:
    """Everything the three exports write, prepared once from a results directory."""

    run: RunData
    name: str
    epoch: np.datetime64            # UTC time of simulation second 0, millisecond unit
    start_s: float                  # the clock interval, seconds
    end_s: float
    threats: Trajectories
    interceptors: Trajectories
    assets: list[dict[str, Any]]
    batteries: list[dict[str, Any]]
    sensors: list[dict[str, Any]]
    areas: list[Area]
    events: list[EventPoint]
    inventory: dict[str, dict[str, dict[str, int]]]   # battery -> type -> initial/fired/left
    interceptor_outcome: dict[int, str]                # kill, miss, self-destruct
    interceptor_threat: dict[int, int]
    tolerance_m: float | None

    def iso(self, time_s: FloatArray | float) -> list[str]:
        """ISO 8601 UTC strings (millisecond) of simulation times."""
        return iso_times(self.epoch, np.atleast_1d(np.asarray(time_s, float)))

    @property
    def epoch_iso(self) -> str:
        return self.iso(0.0)[0]

    @property
    def interval(self) -> str:
        a, b = self.iso(np.array([self.start_s, self.end_s]))
        return f"{a}/{b}"

    def fate(self, threat_id: int) -> str:
        return self.run.threat_fate.get(int(threat_id), "unknown")


def iso_times(epoch: np.datetime64, time_s: FloatArray) -> list[str]:
    """``epoch + time_s`` as ISO 8601 UTC strings to the millisecond (``...T..:..:..sssZ``)."""
    ms = np.rint(np.asarray(time_s, float) * 1000.0).astype(np.int64)
    stamps = epoch.astype("datetime64[ms]") + ms.astype("timedelta64[ms]")
    return [str(s) for s in np.datetime_as_string(stamps, unit="ms", timezone="UTC")]


def parse_epoch(value: Any, file: str) -> np.datetime64:
    """UTC ``datetime64[ms]`` of an ISO 8601 text (``Z`` or an offset; none means UTC)."""
    if not isinstance(value, str):
        raise InputError(file, "expected an ISO 8601 UTC date-time text such as "
                               f"'{DEFAULT_EPOCH_UTC}'", field=START_TIME_KEY)
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise InputError(file, f"'{value}' is not an ISO 8601 date-time (e.g. "
                               f"'{DEFAULT_EPOCH_UTC}')", field=START_TIME_KEY) from exc
    if when.tzinfo is not None:
        when = when.astimezone(UTC).replace(tzinfo=None)
    return np.datetime64(when, "ms")


def _number(rec: Mapping[str, Any], key: str, file: str, field: str,
            default: float | None = None) -> float | None:
    value = rec.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(file, f"expected a finite number, got {value!r}", field=field)
    return float(value)


def _sites(scenario: Mapping[str, Any], key: str, file: str) -> list[dict[str, Any]]:
    """The records of ``scenario[key]`` with checked coordinates (InputError otherwise)."""
    records = scenario.get(key) or []
    if not isinstance(records, list):
        raise InputError(file, "expected a list", field=key)
    out = []
    for i, rec in enumerate(records):
        where = f"{key}[{i}]"
        if not isinstance(rec, dict):
            raise InputError(file, "expected an object", field=where)
        lat = _number(rec, "lat_deg", file, f"{where}.lat_deg")
        lon = _number(rec, "lon_deg", file, f"{where}.lon_deg")
        if lat is None or lon is None or not -90.0 <= lat <= 90.0:
            raise InputError(file, "expected lat_deg in [-90, 90] and lon_deg", field=where)
        for name in ("alt_m", "radius_m", "range_m", "radar_range_m", "engagement_range_m",
                     "heading_deg", "sector_half_width_deg", "value"):
            _number(rec, name, file, f"{where}.{name}")
        out.append({**rec, "id": str(rec.get("id", f"{key}-{i}"))})
    return out


def _decimate(lines: Polylines, alt_m: FloatArray, origin: tuple[float, float],
              tolerance_m: float | None) -> Trajectories:
    """Strictly increasing times, altitude attached, time-synchronous decimation (module doc)."""
    n = lines.time_s.size
    alt = np.nan_to_num(np.asarray(alt_m, float), nan=0.0, posinf=0.0, neginf=0.0)
    starts = np.zeros(n, dtype=bool)
    starts[lines.offsets[:-1][lines.offsets[:-1] < n]] = True
    keep = np.ones(n, dtype=bool)
    keep[1:] = (lines.time_s[1:] > lines.time_s[:-1]) | starts[1:]
    counts = np.concatenate([[0], np.cumsum(keep)])
    offsets = counts[lines.offsets]
    time_s, lat, lon, alt = (a[keep] for a in (lines.time_s, lines.lat_deg, lines.lon_deg, alt))
    if tolerance_m is not None and tolerance_m > 0 and time_s.size:
        o_ecef = geo.geodetic2ecef(origin[0], origin[1], 0.0)
        enu = geo.ecef2enu(geo.geodetic2ecef(lat, lon, alt), o_ecef,
                           geo.enu_rotation(*origin))
        scaled_t = time_s * TIME_SCALE_MPS
        mask = np.zeros(time_s.size, dtype=bool)
        for axis in range(3):
            mask |= simplify_polylines(scaled_t, enu[:, axis], offsets, tolerance_m / 2.0)
        counts = np.concatenate([[0], np.cumsum(mask)])
        offsets = counts[offsets]
        time_s, lat, lon, alt = (a[mask] for a in (time_s, lat, lon, alt))
    return Trajectories(ids=lines.ids, offsets=offsets.astype(np.int64), time_s=time_s,
                        lat_deg=lat, lon_deg=lon, alt_m=alt,
                        recorded=np.diff(lines.offsets).astype(np.int64), labels=lines.labels)


def sector_ring(lat_deg: float, lon_deg: float, range_m: float, heading_deg: float = 0.0,
                half_width_deg: float | None = None,
                step_deg: float = RING_STEP_DEG) -> FloatArray:
    """Closed counter-clockwise ring ``(m, 2)`` ``[lon, lat]`` of a geodesic circle or wedge.

    Vertices at geodesic distance ``range_m`` from the site (Vincenty's direct problem), every
    ``step_deg`` of azimuth (clockwise from true north); a wedge of ``heading +- half_width``
    has the site as its apex. ``half_width_deg`` None or >= 180 gives the full circle.
    """
    full = half_width_deg is None or half_width_deg >= 180.0 - 1e-9
    if half_width_deg is None or full:
        az = np.linspace(0.0, 360.0, max(int(math.ceil(360.0 / step_deg)), 8) + 1)[:-1]
    else:
        width = 2.0 * float(half_width_deg)
        az = heading_deg - float(half_width_deg) + np.linspace(
            0.0, width, max(int(math.ceil(width / step_deg)), 2) + 1)
    lat, lon = vreckon(lat_deg, lon_deg, range_m, np.mod(az, 360.0))
    lon = (np.asarray(lon, float) + 180.0) % 360.0 - 180.0
    pts = np.column_stack([lon, np.asarray(lat, float)])
    if not full:
        pts = np.vstack([[[lon_deg, lat_deg]], pts])
    pts = np.round(pts, DEG_DECIMALS)
    x, y = pts[:, 0], pts[:, 1]
    signed_area = 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))
    if signed_area < 0:      # clockwise (azimuths turn clockwise): reverse to the right-hand rule
        pts = pts[::-1]
    return np.vstack([pts, pts[:1]])


def _areas(ex_assets: list[dict[str, Any]], batteries: list[dict[str, Any]],
           sensors: list[dict[str, Any]]) -> list[Area]:
    areas: list[Area] = []

    def add(kind: str, rec: Mapping[str, Any], range_m: Any, sectored: bool) -> None:
        if not isinstance(range_m, int | float) or range_m <= 0:
            return
        heading = float(rec.get("heading_deg") or 0.0)
        half = rec.get("sector_half_width_deg") if sectored else None
        half = None if half is None else float(half)
        ring = sector_ring(float(rec["lat_deg"]), float(rec["lon_deg"]), float(range_m),
                           heading, half)
        areas.append(Area(kind, str(rec["id"]), float(range_m), heading, half, ring))

    for rec in ex_assets:
        add("asset_footprint", rec, rec.get("radius_m"), False)
    for rec in batteries:
        add("radar_coverage", rec, rec.get("radar_range_m"), True)
        add("engagement_zone", rec, rec.get("engagement_range_m"), False)
    for rec in sensors:
        add("sensor_coverage", rec, rec.get("range_m"), True)
    return areas


def _origin(run: RunData, sites: Sequence[Mapping[str, Any]]) -> tuple[float, float]:
    origin = run.scenario.get("origin") or {}
    if isinstance(origin, dict) and all(isinstance(origin.get(k), int | float)
                                        for k in ("lat_deg", "lon_deg")):
        return float(origin["lat_deg"]), float(origin["lon_deg"])
    if sites:
        return (float(np.mean([s["lat_deg"] for s in sites])),
                float(np.mean([s["lon_deg"] for s in sites])))
    if run.threats.count:
        return float(run.threats.lat_deg[0]), float(run.threats.lon_deg[0])
    return 0.0, 0.0


def _events(run: RunData) -> list[EventPoint]:
    """Point events, positions completed from the threat's truth where the log lacks them."""
    ev = run.events
    alt_all = ev.alt_m
    threats = run.threats
    t_alt = threats.alt_m
    where = {int(t): i for i, t in enumerate(threats.ids)}
    out: list[EventPoint] = []
    for k in np.flatnonzero(np.isin(ev.kind, EVENT_KINDS)):
        kind = str(ev.kind[k])
        tid = int(ev.threat_id[k])
        t = float(ev.time_s[k])
        lat, lon, alt = float(ev.lat_deg[k]), float(ev.lon_deg[k]), float(alt_all[k])
        i = where.get(tid)
        if i is not None:
            s = slice(int(threats.offsets[i]), int(threats.offsets[i + 1]))
            ts = threats.time_s[s]
            if not (math.isfinite(lat) and math.isfinite(lon)) \
                    and kind != EventKind.SELF_DESTRUCT:
                lat, lon = float(threats.lat_deg[s][-1]), float(threats.lon_deg[s][-1])
            if not math.isfinite(alt):
                alt = float(np.interp(t, ts, np.nan_to_num(t_alt[s])))
        if not (math.isfinite(lat) and math.isfinite(lon)):
            continue
        out.append(EventPoint(kind, t, lat, lon, alt if math.isfinite(alt) else 0.0, tid,
                              str(ev.battery_id[k]), int(ev.interceptor_id[k]),
                              str(ev.interceptor_type[k]), parse_detail(str(ev.detail[k]))))
    return out


def _inventory(run: RunData, batteries: list[dict[str, Any]]) -> dict[str, dict[str, dict[str,
                                                                                        int]]]:
    fired: dict[tuple[str, str], int] = {}
    ev = run.events
    for k in np.flatnonzero(ev.kind == EventKind.LAUNCH):
        key = (str(ev.battery_id[k]), str(ev.interceptor_type[k]))
        fired[key] = fired.get(key, 0) + 1
    out: dict[str, dict[str, dict[str, int]]] = {}
    for rec in batteries:
        bid = str(rec["id"])
        initial = rec.get("interceptors") or {}
        types = list(initial) + sorted({t for b, t in fired if b == bid} - set(initial))
        out[bid] = {}
        for name in types:
            n0 = int(initial.get(name, 0) or 0)
            n = fired.get((bid, name), 0)
            out[bid][name] = {"initial": n0, "fired": n, "left": max(n0 - n, 0)}
    return out


def prepare_export(run: RunData, tolerance_m: float | None = DEFAULT_TOLERANCE_M) -> ExportRun:
    """Read the altitudes, decimate, and gather what the exports write (see the module doc).

    ``tolerance_m`` None or 0 keeps every recorded point. Raises ``InputError`` naming the file
    and field on a malformed scenario.json or start time, or an unreadable parquet table.
    """
    scen_file = str(run.outdir / "scenario.json")
    epoch_text = run.scenario.get(START_TIME_KEY, DEFAULT_EPOCH_UTC)
    epoch = parse_epoch(epoch_text, scen_file if START_TIME_KEY in run.scenario else "<default>")
    assets = _sites(run.scenario, "assets", scen_file)
    batteries = _sites(run.scenario, "batteries", scen_file)
    sensors = _sites(run.scenario, "sensors", scen_file)
    origin = _origin(run, [*assets, *batteries, *sensors])
    threats = _decimate(run.threats, run.threats.alt_m, origin, tolerance_m)
    interceptors = _decimate(run.interceptors, run.interceptors.alt_m, origin, tolerance_m)
    events = _events(run)
    outcome: dict[int, str] = {}
    target: dict[int, int] = {}
    for e in events:
        if e.interceptor_id >= 0 and e.kind in (EventKind.INTERCEPT_KILL,
                                                EventKind.INTERCEPT_MISS,
                                                EventKind.SELF_DESTRUCT):
            outcome.setdefault(e.interceptor_id, EVENT_LABELS[e.kind])
            if e.threat_id >= 0:
                target.setdefault(e.interceptor_id, e.threat_id)
    duration = run.scenario.get("duration_s", run.summary.get("duration_s"))
    times = [0.0, float(duration) if isinstance(duration, int | float) else 0.0]
    for tr in (threats, interceptors):
        if tr.time_s.size:
            times.append(float(tr.time_s.max()))
    name = str(run.scenario.get("name") or run.summary.get("scenario") or run.outdir.name)
    return ExportRun(run=run, name=name, epoch=epoch, start_s=0.0, end_s=max(times),
                     threats=threats, interceptors=interceptors, assets=assets,
                     batteries=batteries, sensors=sensors,
                     areas=_areas(assets, batteries, sensors), events=events,
                     inventory=_inventory(run, batteries), interceptor_outcome=outcome,
                     interceptor_threat=target, tolerance_m=tolerance_m)


def _prepared(run: RunData | ExportRun, tolerance_m: float | None) -> ExportRun:
    return run if isinstance(run, ExportRun) else prepare_export(run, tolerance_m)


# ----------------------------------------------------------------------------- shared text
def _r(value: float, decimals: int) -> float:
    return float(np.round(value, decimals))


def _hex_rgb(colour: str) -> tuple[int, int, int]:
    c = colour.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def _rgba(colour: str, alpha: int = 255) -> list[int]:
    return [*_hex_rgb(colour), alpha]


def _kml_colour(colour: str, alpha: int = 255) -> str:
    r, g, b = _hex_rgb(colour)
    return f"{alpha:02x}{b:02x}{g:02x}{r:02x}"   # KML is aabbggrr


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".") if math.isfinite(value) else "-"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_fmt(v)}" for k, v in value.items())
    return str(value)


def _html(title: str, rows: Iterable[tuple[str, Any]]) -> str:
    """A small HTML table for the description balloons (values escaped)."""
    body = "".join(f"<tr><th>{escape(k)}</th><td>{escape(_fmt(v))}</td></tr>"
                   for k, v in rows if v is not None and v != "")
    return (f"<h3>{escape(title)}</h3><table>{body}</table>"
            f"<p><i>{escape(NOTIONAL_BANNER)}</i></p>")


def _asset_props(ex: ExportRun, rec: Mapping[str, Any]) -> dict[str, Any]:
    dmg = (ex.run.summary.get("asset_damage") or {}).get(rec["id"]) or {}
    return {"id": rec["id"], "kind": str(rec.get("kind", "other")),
            "value": rec.get("value"), "damage_radius_m": rec.get("radius_m"),
            "value_lost": dmg.get("value_lost"), "hits": dmg.get("hits")}


def _battery_props(ex: ExportRun, rec: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": rec["id"], "system": str(rec.get("system", "")),
            "heading_deg": rec.get("heading_deg"),
            "sector_half_width_deg": rec.get("sector_half_width_deg"),
            "radar_range_m": rec.get("radar_range_m"),
            "engagement_range_m": rec.get("engagement_range_m"),
            "inventory": ex.inventory.get(rec["id"], {})}


def _sensor_props(rec: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": rec["id"], "radar": str(rec.get("radar", "")),
            "heading_deg": rec.get("heading_deg"),
            "sector_half_width_deg": rec.get("sector_half_width_deg"),
            "range_m": rec.get("range_m")}


def _threat_props(ex: ExportRun, i: int) -> dict[str, Any]:
    tid = int(ex.threats.ids[i])
    end = ex.run.threat_end_s.get(tid)
    return {"threat_id": tid, "threat_type": ex.threats.labels["threat_type"][i],
            "threat_class": ex.threats.labels["threat_class"][i], "fate": ex.fate(tid),
            "fate_time": None if end is None else ex.iso(end)[0],
            "points_recorded": int(ex.threats.recorded[i])}


def _interceptor_props(ex: ExportRun, i: int) -> dict[str, Any]:
    iid = int(ex.interceptors.ids[i])
    return {"interceptor_id": iid, "battery_id": ex.interceptors.labels["battery_id"][i],
            "interceptor_type": ex.interceptors.labels["interceptor_type"][i],
            "outcome": ex.interceptor_outcome.get(iid, "unknown"),
            "threat_id": ex.interceptor_threat.get(iid),
            "points_recorded": int(ex.interceptors.recorded[i])}


def _event_props(ex: ExportRun, e: EventPoint) -> dict[str, Any]:
    props: dict[str, Any] = {"kind": e.kind, "label": EVENT_LABELS[e.kind],
                             "time": ex.iso(e.time_s)[0], "time_s": _r(e.time_s, 3),
                             "threat_id": e.threat_id if e.threat_id >= 0 else None}
    if e.kind in (EventKind.INTERCEPT_KILL, EventKind.INTERCEPT_MISS,
                  EventKind.SELF_DESTRUCT):
        props.update(battery_id=e.battery_id, interceptor_id=e.interceptor_id,
                     interceptor_type=e.interceptor_type, pk=e.pk)
        miss = e.detail.get("miss_m")
        props["miss_m"] = float(miss) if isinstance(miss, int | float) else None
        props["engagement_id"] = e.detail.get("engagement_id")
    if e.threat_id >= 0:
        props["fate"] = ex.fate(e.threat_id)
    return {k: v for k, v in props.items() if v is not None}


def _point(lon: float, lat: float, alt: float | None) -> list[float]:
    p = [_r(lon, DEG_DECIMALS), _r(lat, DEG_DECIMALS)]
    return p if alt is None else [*p, _r(alt, ALT_DECIMALS)]


def _site_alt(rec: Mapping[str, Any]) -> float | None:
    alt = rec.get("alt_m")
    return float(alt) if isinstance(alt, int | float) else None


def _line_coords(tr: Trajectories, s: slice) -> list[list[float]]:
    return np.column_stack([np.round(tr.lon_deg[s], DEG_DECIMALS),
                            np.round(tr.lat_deg[s], DEG_DECIMALS),
                            np.round(tr.alt_m[s], ALT_DECIMALS)]).tolist()


def _area_title(a: Area) -> str:
    what = {"radar_coverage": "radar coverage", "engagement_zone": "engagement range",
            "sensor_coverage": "sensor coverage", "asset_footprint": "damage radius"}[a.kind]
    return f"{a.site_id}: {what} {a.range_m / 1e3:,.1f} km"


# ----------------------------------------------------------------------------- GeoJSON
def geojson_document(run: RunData | ExportRun,
                     tolerance_m: float | None = DEFAULT_TOLERANCE_M) -> dict[str, Any]:
    """The run as an RFC 7946 GeoJSON FeatureCollection (see the module docstring)."""
    ex = _prepared(run, tolerance_m)
    features: list[dict[str, Any]] = []

    def feature(fid: str, geometry: dict[str, Any], props: dict[str, Any]) -> None:
        features.append({"type": "Feature", "id": fid, "geometry": geometry,
                         "properties": props})

    for rec in ex.assets:
        feature(f"asset/{rec['id']}",
                {"type": "Point", "coordinates": _point(rec["lon_deg"], rec["lat_deg"],
                                                        _site_alt(rec))},
                {"layer": "asset", **_asset_props(ex, rec), "marker-color": ASSET_COLOUR})
    for rec in ex.batteries:
        feature(f"battery/{rec['id']}",
                {"type": "Point", "coordinates": _point(rec["lon_deg"], rec["lat_deg"],
                                                        _site_alt(rec))},
                {"layer": "battery", **_battery_props(ex, rec), "marker-color": BATTERY_COLOUR})
    for rec in ex.sensors:
        feature(f"sensor/{rec['id']}",
                {"type": "Point", "coordinates": _point(rec["lon_deg"], rec["lat_deg"],
                                                        _site_alt(rec))},
                {"layer": "sensor", **_sensor_props(rec), "marker-color": SENSOR_COLOUR})
    for a in ex.areas:
        layer = "asset_footprint" if a.kind == "asset_footprint" else "coverage"
        feature(f"{a.kind}/{a.site_id}", {"type": "Polygon", "coordinates": [a.ring.tolist()]},
                {"layer": layer, "kind": a.kind, "site_id": a.site_id, "range_m": a.range_m,
                 "heading_deg": a.heading_deg, "sector_half_width_deg": a.half_width_deg,
                 "title": _area_title(a), "stroke": COVERAGE_COLOURS[a.kind],
                 "fill": COVERAGE_COLOURS[a.kind], "fill-opacity": 0.08})
    for layer, tr, props_of in (("threat", ex.threats, _threat_props),
                                ("interceptor", ex.interceptors, _interceptor_props)):
        for i in range(tr.count):
            s = tr.span(i)
            times = ex.iso(tr.time_s[s])
            coords = _line_coords(tr, s)
            geometry = ({"type": "LineString", "coordinates": coords} if len(coords) >= 2
                        else {"type": "Point", "coordinates": coords[0]})
            props = props_of(ex, i)
            colour = (FATE_COLOURS.get(props["fate"], FATE_COLOURS["unknown"])
                      if layer == "threat" else FLYOUT_COLOUR)
            feature(f"{layer}/{int(tr.ids[i])}", geometry,
                    {"layer": layer, **props, "start_time": times[0], "end_time": times[-1],
                     "times": times, "stroke": colour})
    for n, e in enumerate(ex.events):
        feature(f"event/{n}/{e.kind}", {"type": "Point",
                                        "coordinates": _point(e.lon_deg, e.lat_deg, e.alt_m)},
                {"layer": "event", **_event_props(ex, e),
                 "marker-color": EVENT_COLOURS[e.kind]})
    return {"type": "FeatureCollection", "name": ex.name, "epoch": ex.epoch_iso,
            "start_time": ex.iso(ex.start_s)[0], "end_time": ex.iso(ex.end_s)[0],
            "decimation_tolerance_m": ex.tolerance_m, "notional": NOTIONAL_BANNER,
            "features": features}


# ----------------------------------------------------------------------------- KML
def _k(tag: str) -> str:
    return f"{{{KML_NS}}}{tag}"


def _sub(parent: ET.Element, tag: str, text: Any = None, ns: str = KML_NS) -> ET.Element:
    el = ET.SubElement(parent, f"{{{ns}}}{tag}")
    if text is not None:
        el.text = str(text)
    return el


def _kml_style(doc: ET.Element, style_id: str, colour: str, icon_scale: float = 0.8,
               line_width: float = 2.0, poly_alpha: int | None = None) -> None:
    style = _sub(doc, "Style")
    style.set("id", style_id)
    icon = _sub(style, "IconStyle")
    _sub(icon, "color", _kml_colour(colour))
    _sub(icon, "scale", icon_scale)
    line = _sub(style, "LineStyle")
    _sub(line, "color", _kml_colour(colour))
    _sub(line, "width", line_width)
    if poly_alpha is not None:
        poly = _sub(style, "PolyStyle")
        _sub(poly, "color", _kml_colour(colour, poly_alpha))


def _kml_placemark(folder: ET.Element, name: str, style: str, description: str,
                   data: Mapping[str, Any], when: str | None = None) -> ET.Element:
    pm = _sub(folder, "Placemark")
    _sub(pm, "name", name)
    _sub(pm, "description", description)
    if when is not None:
        _sub(_sub(pm, "TimeStamp"), "when", when)
    _sub(pm, "styleUrl", f"#{style}")
    ext = _sub(pm, "ExtendedData")
    for key, value in data.items():
        if value is None:
            continue
        d = _sub(ext, "Data")
        d.set("name", key)
        _sub(d, "value", json.dumps(value) if isinstance(value, dict | list) else value)
    return pm


def _kml_point(pm: ET.Element, lon: float, lat: float, alt: float | None) -> None:
    point = _sub(pm, "Point")
    _sub(point, "altitudeMode", "absolute" if alt is not None else "clampToGround")
    text = f"{lon:.{DEG_DECIMALS}f},{lat:.{DEG_DECIMALS}f}"
    _sub(point, "coordinates", text if alt is None else f"{text},{alt:.{ALT_DECIMALS}f}")


def kml_document(run: RunData | ExportRun,
                 tolerance_m: float | None = DEFAULT_TOLERANCE_M) -> str:
    """The run as a KML 2.2 document (UTF-8 text; see the module docstring)."""
    ex = _prepared(run, tolerance_m)
    ET.register_namespace("", KML_NS)
    ET.register_namespace("gx", GX_NS)
    root = ET.Element(_k("kml"))
    doc = _sub(root, "Document")
    _sub(doc, "name", ex.name)
    _sub(doc, "open", 1)
    _sub(doc, "description",
         f"{NOTIONAL_BANNER}. Simulation second 0 = {ex.epoch_iso}. Trajectories decimated to "
         f"{ex.tolerance_m} m per axis.")
    for fate in FATES:
        _kml_style(doc, f"threat-{fate}", FATE_COLOURS[fate], 0.5, 1.5)
    _kml_style(doc, "interceptor", FLYOUT_COLOUR, 0.4, 1.2)
    _kml_style(doc, "asset", ASSET_COLOUR, 1.0)
    _kml_style(doc, "battery", BATTERY_COLOUR, 1.0)
    _kml_style(doc, "sensor", SENSOR_COLOUR, 1.0)
    for kind, colour in COVERAGE_COLOURS.items():
        _kml_style(doc, kind, colour, 0.0, 1.2, poly_alpha=40)
    for kind, colour in EVENT_COLOURS.items():
        _kml_style(doc, f"event-{kind}", colour, 0.7)
    folders = {name: _sub(doc, "Folder") for name in
               ("Assets", "Batteries", "Sensors", "Coverage", "Threats", "Interceptors",
                "Events")}
    for name, folder in folders.items():
        _sub(folder, "name", name)

    for rec in ex.assets:
        props = _asset_props(ex, rec)
        pm = _kml_placemark(folders["Assets"], rec["id"], "asset",
                            _html(f"asset {rec['id']}", props.items()), props)
        _kml_point(pm, rec["lon_deg"], rec["lat_deg"], _site_alt(rec))
    for rec in ex.batteries:
        props = _battery_props(ex, rec)
        pm = _kml_placemark(folders["Batteries"], rec["id"], "battery",
                            _html(f"battery {rec['id']}", props.items()), props)
        _kml_point(pm, rec["lon_deg"], rec["lat_deg"], _site_alt(rec))
    for rec in ex.sensors:
        props = _sensor_props(rec)
        pm = _kml_placemark(folders["Sensors"], rec["id"], "sensor",
                            _html(f"sensor {rec['id']}", props.items()), props)
        _kml_point(pm, rec["lon_deg"], rec["lat_deg"], _site_alt(rec))
    for a in ex.areas:
        folder = folders["Assets" if a.kind == "asset_footprint" else "Coverage"]
        data = {"kind": a.kind, "site_id": a.site_id, "range_m": a.range_m,
                "heading_deg": a.heading_deg, "sector_half_width_deg": a.half_width_deg}
        pm = _kml_placemark(folder, _area_title(a), a.kind, _html(_area_title(a), data.items()),
                            data)
        poly = _sub(pm, "Polygon")
        _sub(poly, "tessellate", 1)
        _sub(poly, "altitudeMode", "clampToGround")
        ring = _sub(_sub(poly, "outerBoundaryIs"), "LinearRing")
        _sub(ring, "coordinates", " ".join(f"{x:.{DEG_DECIMALS}f},{y:.{DEG_DECIMALS}f}"
                                           for x, y in a.ring))

    for folder_name, tr, props_of in (("Threats", ex.threats, _threat_props),
                                      ("Interceptors", ex.interceptors, _interceptor_props)):
        for i in range(tr.count):
            s = tr.span(i)
            props = props_of(ex, i)
            times = ex.iso(tr.time_s[s])
            props = {**props, "start_time": times[0], "end_time": times[-1]}
            if folder_name == "Threats":
                title = (f"threat {props['threat_id']} ({props['threat_type']}, "
                         f"{props['threat_class']}): {props['fate']}")
                style = f"threat-{props['fate'] if props['fate'] in FATES else 'unknown'}"
            else:
                title = (f"interceptor {props['interceptor_id']} ({props['interceptor_type']}"
                         f" from {props['battery_id']}): {props['outcome']}")
                style = "interceptor"
            # Short description: the fields are in ExtendedData (shown in the balloon).
            pm = _kml_placemark(folders[folder_name], title, style, title, props)
            track = _sub(pm, "Track", ns=GX_NS)
            _sub(track, "altitudeMode", "absolute")
            for t in times:
                _sub(track, "when", t)
            for lon, lat, alt in zip(tr.lon_deg[s], tr.lat_deg[s], tr.alt_m[s], strict=True):
                _sub(track, "coord", f"{lon:.{DEG_DECIMALS}f} {lat:.{DEG_DECIMALS}f} "
                                     f"{alt:.{ALT_DECIMALS}f}", ns=GX_NS)
    for e in ex.events:
        props = _event_props(ex, e)
        title = f"{EVENT_LABELS[e.kind]}" + (f": threat {e.threat_id}" if e.threat_id >= 0
                                             else f": interceptor {e.interceptor_id}")
        pm = _kml_placemark(folders["Events"], title, f"event-{e.kind}", title, props,
                            when=props["time"])
        _kml_point(pm, e.lon_deg, e.lat_deg, e.alt_m)
    ET.indent(root, space=" ")
    body = ET.tostring(root, encoding="unicode", xml_declaration=False)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


# ----------------------------------------------------------------------------- CZML
def _czml_samples(tr: Trajectories, s: slice) -> list[float]:
    return np.column_stack([np.round(tr.time_s[s], TIME_DECIMALS),
                            np.round(tr.lon_deg[s], DEG_DECIMALS),
                            np.round(tr.lat_deg[s], DEG_DECIMALS),
                            np.round(tr.alt_m[s], ALT_DECIMALS)]).ravel().tolist()


def _czml_static(rec: Mapping[str, Any], alt: float | None) -> dict[str, Any]:
    return {"cartographicDegrees": _point(rec["lon_deg"], rec["lat_deg"], alt or 0.0)}


def _czml_label(text: str, colour: str) -> dict[str, Any]:
    return {"text": text, "font": "12px sans-serif", "fillColor": {"rgba": _rgba(colour)},
            "outlineColor": {"rgba": [255, 255, 255, 255]}, "outlineWidth": 2,
            "style": "FILL_AND_OUTLINE", "horizontalOrigin": "LEFT",
            "verticalOrigin": "CENTER", "pixelOffset": {"cartesian2": [8, 0]},
            "distanceDisplayCondition": {"distanceDisplayCondition": [0, 2.0e6]}}


def czml_document(run: RunData | ExportRun,
                  tolerance_m: float | None = DEFAULT_TOLERANCE_M) -> list[dict[str, Any]]:
    """The run as CZML packets (document packet first; see the module docstring)."""
    ex = _prepared(run, tolerance_m)
    epoch = ex.epoch_iso
    duration = max(ex.end_s - ex.start_s, 1.0)
    packets: list[dict[str, Any]] = [{
        "id": "document", "name": ex.name, "version": "1.0",
        "description": f"{NOTIONAL_BANNER}. Simulation second 0 = {epoch}.",
        "clock": {"interval": ex.interval, "currentTime": ex.iso(ex.start_s)[0],
                  "multiplier": max(1, round(duration / 120.0)), "range": "LOOP_STOP",
                  "step": "SYSTEM_CLOCK_MULTIPLIER"}}]
    for gid, gname in (("assets", "Assets"), ("batteries", "Batteries"), ("sensors", "Sensors"),
                       ("coverage", "Coverage"), ("threats", "Threats"),
                       ("interceptors", "Interceptors"), ("events", "Events")):
        packets.append({"id": gid, "name": gname})

    for rec in ex.assets:
        props = _asset_props(ex, rec)
        packet: dict[str, Any] = {
            "id": f"asset/{rec['id']}", "name": rec["id"], "parent": "assets",
            "description": _html(f"asset {rec['id']}", props.items()),
            "position": _czml_static(rec, _site_alt(rec)),
            "point": {"color": {"rgba": _rgba(ASSET_COLOUR)}, "pixelSize": 10,
                      "outlineColor": {"rgba": [0, 0, 0, 255]}, "outlineWidth": 1},
            "label": _czml_label(rec["id"], "#6b4b00")}
        radius = rec.get("radius_m")
        if isinstance(radius, int | float) and radius > 0:
            packet["ellipse"] = {"semiMajorAxis": float(radius), "semiMinorAxis": float(radius),
                                 "height": 0, "material": {"solidColor": {"color": {
                                     "rgba": _rgba(ASSET_COLOUR, 60)}}},
                                 "outline": True, "outlineColor": {"rgba": _rgba("#b08000")}}
        packets.append(packet)
    for group, records, colour in (("batteries", ex.batteries, BATTERY_COLOUR),
                                   ("sensors", ex.sensors, SENSOR_COLOUR)):
        for rec in records:
            props = (_battery_props(ex, rec) if group == "batteries" else _sensor_props(rec))
            kind = "battery" if group == "batteries" else "sensor"
            packets.append({
                "id": f"{kind}/{rec['id']}", "name": rec["id"], "parent": group,
                "description": _html(f"{kind} {rec['id']}", props.items()),
                "position": _czml_static(rec, _site_alt(rec)),
                "point": {"color": {"rgba": _rgba(colour)}, "pixelSize": 9,
                          "outlineColor": {"rgba": [255, 255, 255, 255]}, "outlineWidth": 2},
                "label": _czml_label(rec["id"], colour)})
    for a in ex.areas:
        if a.kind == "asset_footprint":
            continue   # drawn as the asset's ellipse
        colour = COVERAGE_COLOURS[a.kind]
        flat = np.column_stack([a.ring[:-1], np.zeros(len(a.ring) - 1)]).ravel().tolist()
        packets.append({
            "id": f"{a.kind}/{a.site_id}", "name": _area_title(a), "parent": "coverage",
            "description": _html(_area_title(a), [("range_m", a.range_m),
                                                  ("heading_deg", a.heading_deg),
                                                  ("sector_half_width_deg", a.half_width_deg)]),
            "polygon": {"positions": {"cartographicDegrees": flat}, "height": 0,
                        "material": {"solidColor": {"color": {"rgba": _rgba(colour, 30)}}},
                        "outline": True, "outlineColor": {"rgba": _rgba(colour, 200)}}})

    for kind, tr, props_of in (("threat", ex.threats, _threat_props),
                               ("interceptor", ex.interceptors, _interceptor_props)):
        for i in range(tr.count):
            s = tr.span(i)
            props = props_of(ex, i)
            if kind == "threat":
                colour = FATE_COLOURS.get(props["fate"], FATE_COLOURS["unknown"])
                title = (f"threat {props['threat_id']} ({props['threat_type']}, "
                         f"{props['threat_class']}): {props['fate']}")
            else:
                colour = FLYOUT_COLOUR
                title = (f"interceptor {props['interceptor_id']} ({props['interceptor_type']}"
                         f" from {props['battery_id']}): {props['outcome']}")
            t0, t1 = float(tr.time_s[s][0]), float(tr.time_s[s][-1])
            first, last = ex.iso(np.array([t0, t1]))
            packets.append({
                "id": f"{kind}/{int(tr.ids[i])}", "name": title, "parent": f"{kind}s",
                "availability": f"{first}/{last}",
                "description": _html(title, [*props.items(), ("start_time", first),
                                             ("end_time", last)]),
                "position": {"epoch": epoch, "interpolationAlgorithm": "LINEAR",
                             "interpolationDegree": 1,
                             "cartographicDegrees": _czml_samples(tr, s)},
                "point": {"color": {"rgba": _rgba(colour)},
                          "pixelSize": 6 if kind == "threat" else 4,
                          "outlineColor": {"rgba": [0, 0, 0, 160]}, "outlineWidth": 1},
                "path": {"material": {"solidColor": {"color": {"rgba": _rgba(colour, 200)}}},
                         "width": 1.5 if kind == "threat" else 1.0, "leadTime": 0,
                         "trailTime": duration + max(t1 - t0, 0.0), "resolution": 5}})
    for n, e in enumerate(ex.events):
        props = _event_props(ex, e)
        title = f"{EVENT_LABELS[e.kind]}" + (f": threat {e.threat_id}" if e.threat_id >= 0
                                             else f": interceptor {e.interceptor_id}")
        start = props["time"]
        end = ex.iso(max(ex.end_s, e.time_s))[0]
        packets.append({
            "id": f"event/{n}/{e.kind}", "name": title, "parent": "events",
            "availability": f"{start}/{end}",
            "description": _html(title, props.items()),
            "position": {"cartographicDegrees": _point(e.lon_deg, e.lat_deg, e.alt_m)},
            "point": {"color": {"rgba": _rgba(EVENT_COLOURS[e.kind])},
                      "pixelSize": 9 if e.kind in (EventKind.INTERCEPT_KILL, EventKind.LEAK)
                      else 6,
                      "outlineColor": {"rgba": [255, 255, 255, 255]}, "outlineWidth": 1}})
    return packets


# ----------------------------------------------------------------------------- writing
def load_export_run(outdir: Path,
                    tolerance_m: float | None = DEFAULT_TOLERANCE_M) -> ExportRun:
    """Read a results directory and prepare the exports (``InputError`` names a bad file)."""
    return prepare_export(load_run(Path(outdir)), tolerance_m)


def render_exports(outdir: Path, formats: Sequence[str] = EXPORT_FORMATS,
                   tolerance_m: float | None = DEFAULT_TOLERANCE_M) -> dict[str, str]:
    """The export documents of a results directory, ``{file name: text}``, nothing written
    (``InputError`` naming the file on a missing or corrupt input, or an unknown format)."""
    outdir = Path(outdir)
    unknown = [f for f in formats if f not in EXPORT_NAMES]
    if unknown:
        raise InputError("<formats>", f"unknown export format(s) {unknown}; expected any of "
                                      f"{list(EXPORT_FORMATS)}")
    ex = load_export_run(outdir, tolerance_m)
    texts: dict[str, str] = {}
    for fmt in dict.fromkeys(formats):
        if fmt == "geojson":
            text = json.dumps(geojson_document(ex), separators=(",", ":"),
                              allow_nan=False) + "\n"
        elif fmt == "kml":
            text = kml_document(ex)
        else:
            text = json.dumps(czml_document(ex), separators=(",", ":"),
                              allow_nan=False) + "\n"
        texts[EXPORT_NAMES[fmt]] = text
    return texts


def write_exports(outdir: Path, formats: Sequence[str] = EXPORT_FORMATS,
                  tolerance_m: float | None = DEFAULT_TOLERANCE_M) -> list[Path]:
    """Write ``run.geojson``, ``run.kml`` and ``run.czml`` (those in ``formats``) atomically.

    Parameters
    ----------
    outdir : a results directory of ``shieldwall run`` (summary.json and scenario.json
        required; the parquet tables optional).
    formats : any of ``"geojson"``, ``"kml"``, ``"czml"``.
    tolerance_m : decimation tolerance per east/north/up axis (None: every recorded point).

    Returns
    -------
    The written paths, in the order of ``formats``. Raises ``InputError`` naming the file on a
    missing or corrupt input (nothing is written then) or an unknown format.
    """
    outdir = Path(outdir)
    texts = render_exports(outdir, formats, tolerance_m)
    return [write_text_atomic(outdir / name, text) for name, text in texts.items()]
