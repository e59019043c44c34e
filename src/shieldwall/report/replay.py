"""The replay data of the run report: everything the page's script draws on the map over time.

One JSON document (``replay_payload``) embedded in the page with
``page.json_script_tag("replay-data", ...)``. Positions are in the map projection
(``shieldwall.report.projection``: azimuthal equidistant about the scenario origin, metres
``[east, north]``), rounded to whole metres; times in whole milliseconds of simulation time.
Bulk point data are flat little-endian int32 arrays in base64 (``encode_int32``), decoded in
the page into ``Int32Array``s:

- ``threats``: per threat (in ``id`` order) its type, class, fate (indices into the top-level
  ``types``, ``classes``, ``fates`` lists), in-flight interval ``start_ms``/``end_ms`` (closed;
  ``timeline.threat_intervals``), first track confirmation ``tracked_ms`` (-1: never), track
  ids, engagement indices and the last hold reason; its ground track as ``offsets``
  (k + 1), ``x``, ``y``, ``t`` (points of threat i are ``offsets[i]:offsets[i + 1]``),
  simplified with ``simplify.simplify_trajectories`` so that the position interpolated
  linearly in time between kept points stays within ``tolerance_m`` of every recorded one.
- ``interceptors``: the same for the flyouts, each starting at its battery's site at its
  launch time, with the battery, type, engagement, target threat and result.
- ``marks``: intercepts (kill, miss), leaker impacts and crashes with their time and place.
- ``engagements``: ``timeline.engagements`` as parallel lists.
- ``batteries``, ``sensors``, ``assets``: sites, inventories and launch times per type,
  damage; ``coverage``: the radars' antenna heights and instrumented ranges, the altitude
  choices and the horizon-limited range of every site at each (``coverage.coverage_table``).
- ``views``: the pixel frame of each map view (``MapFrame``: ``x_px = x0 + scale * east``,
  ``y_px = y0 - scale * north``).
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from shieldwall import geo
from shieldwall.core.types import FloatArray, IntArray
from shieldwall.core.vocabulary import EventKind
from shieldwall.report.coverage import (
    ALTITUDE_LABELS,
    COVERAGE_ALTITUDES_M,
    DEFAULT_ANTENNA_HEIGHT_M,
    DEFAULT_COVERAGE_ALTITUDE_M,
    DEFAULT_SITE_ALT_M,
    coverage_sites,
    coverage_table,
)
from shieldwall.report.data import Polylines, RunData, parse_detail
from shieldwall.report.projection import LocalProjection, MapFrame
from shieldwall.report.simplify import simplify_trajectories
from shieldwall.report.svgmap import FATE_COLOURS, FATE_ORDER, MARK_KINDS
from shieldwall.report.timeline import (
    RESULTS,
    Engagement,
    ThreatIntervals,
    initial_inventory,
    launch_times,
    run_duration_s,
)

REPLAY_FORMAT = 1
REPLAY_TOLERANCE_PX = 0.35
FATES = (*FATE_ORDER, "unknown")
MAX_HOLD_REASON_CHARS = 200

#: The replay's result of an interceptor by the event that ended it.
OUTCOME_RESULT: dict[str, str] = {EventKind.INTERCEPT_KILL: "kill",
                                  EventKind.INTERCEPT_MISS: "miss"}


def encode_int32(values: Any) -> str:
    """Integers -> base64 of their little-endian int32 bytes (values must fit in int32)."""
    arr = np.asarray(values)
    if arr.size and (arr.min() < -(2**31) or arr.max() >= 2**31):
        raise ValueError("value out of the int32 range")
    return base64.b64encode(arr.astype("<i4").tobytes()).decode("ascii")


def decode_int32(text: str) -> IntArray:
    """Inverse of ``encode_int32``."""
    return np.frombuffer(base64.b64decode(text), dtype="<i4").astype(np.int64)


def to_ms(time_s: FloatArray | float) -> IntArray:
    """Seconds -> whole milliseconds (int64)."""
    return np.rint(np.asarray(time_s, float) * 1000.0).astype(np.int64)


def _frame_doc(frame: MapFrame, width_px: int, height_px: int) -> dict[str, float]:
    return {"scale": frame.scale_px_per_m, "x0": frame.x0_px, "y0": frame.y0_px,
            "left": frame.left_px, "top": frame.top_px, "width": frame.width_px,
            "height": frame.height_px, "svg_width": width_px, "svg_height": height_px}


def _index(names: Sequence[str], value: str) -> int:
    return names.index(value) if value in names else -1


def _simplified(en: FloatArray, time_s: FloatArray, offsets: IntArray,
                tolerance_m: float) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """Kept points of timed polylines: (offsets, x_m, y_m, t_ms) as integers."""
    if en.shape[0] == 0:
        z = np.zeros(0, np.int64)
        return np.asarray(offsets, np.int64), z, z, z
    keep = simplify_trajectories(en[:, 0], en[:, 1], time_s, offsets, tolerance_m)
    counts = np.concatenate([[0], np.cumsum(keep)])
    return (counts[np.asarray(offsets, np.int64)].astype(np.int64),
            np.rint(en[keep, 0]).astype(np.int64), np.rint(en[keep, 1]).astype(np.int64),
            to_ms(time_s[keep]))


def _points_doc(offsets: IntArray, x: IntArray, y: IntArray, t: IntArray) -> dict[str, str]:
    return {"offsets": encode_int32(offsets), "x": encode_int32(x), "y": encode_int32(y),
            "t": encode_int32(t)}


def _site_en(projection: LocalProjection, records: Sequence[Mapping[str, Any]]
             ) -> list[tuple[float, float] | None]:
    out: list[tuple[float, float] | None] = []
    for r in records:
        lat, lon = r.get("lat_deg"), r.get("lon_deg")
        if isinstance(lat, int | float) and isinstance(lon, int | float):
            e, n = projection.project(float(lat), float(lon))[0]
            out.append((round(float(e), 1), round(float(n), 1)))
        else:
            out.append(None)
    return out


def _threats_doc(run: RunData, projection: LocalProjection, intervals: ThreatIntervals,
                 items: Sequence[Engagement], tolerance_m: float, types: list[str],
                 classes: list[str]) -> dict[str, Any]:
    th = run.threats
    ev = run.events
    # The ground tracks (threats without truth rows get an empty polyline).
    index = {tid: k for k, tid in enumerate(intervals.threat_id.tolist())}
    n = len(index)
    counts = np.zeros(n, np.int64)
    rows: list[IntArray] = [np.zeros(0, np.int64)] * n
    for i, tid in enumerate(th.ids.tolist()):
        k = index[tid]
        rows[k] = np.arange(th.offsets[i], th.offsets[i + 1])
        counts[k] = rows[k].size
    order = np.concatenate(rows) if n else np.zeros(0, np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    en = projection.project(th.lat_deg[order], th.lon_deg[order])
    pts = _simplified(en, th.time_s[order], offsets, tolerance_m)

    tracked = np.full(n, -1, np.int64)
    tracks: list[list[int]] = [[] for _ in range(n)]
    hold = [""] * n
    for j in np.flatnonzero(np.isin(ev.kind, [EventKind.TRACK_CONFIRMED, EventKind.ENGAGE,
                                              EventKind.HOLD])):
        found = index.get(int(ev.threat_id[j]))
        if found is None:
            continue
        k = found
        trk = int(ev.track_id[j])
        if ev.kind[j] == EventKind.TRACK_CONFIRMED:
            t_ms = int(to_ms(ev.time_s[j]))
            tracked[k] = t_ms if tracked[k] < 0 else min(int(tracked[k]), t_ms)
        if trk >= 0 and trk not in tracks[k]:
            tracks[k].append(trk)
        if ev.kind[j] == EventKind.HOLD:
            reason = str(parse_detail(str(ev.detail[j])).get("reason") or "")
            hold[k] = reason[:MAX_HOLD_REASON_CHARS]
    engaged: list[list[int]] = [[] for _ in range(n)]
    for m, e in enumerate(items):
        for tid in {e.threat_id, *(o[3] for o in e.outcomes)}:
            hit = index.get(tid)
            if hit is not None:
                engaged[hit].append(m)
    fates = [run.threat_fate.get(tid, "unknown") for tid in intervals.threat_id.tolist()]
    fate_ms = [int(to_ms(run.threat_end_s[tid])) if tid in run.threat_end_s else None
               for tid in intervals.threat_id.tolist()]
    return {
        "id": intervals.threat_id.tolist(),
        "type": [_index(types, t) for t in intervals.threat_type],
        "class": [_index(classes, c) for c in intervals.threat_class],
        "fate": [FATES.index(f) if f in FATES else FATES.index("unknown") for f in fates],
        "fate_ms": fate_ms,
        "start_ms": encode_int32(np.floor(intervals.start_s * 1000.0 + 1e-6)),
        "end_ms": encode_int32(np.ceil(intervals.end_s * 1000.0 - 1e-6)),
        "tracked_ms": encode_int32(tracked),
        "tracks": tracks, "engagements": engaged, "hold": hold,
        **_points_doc(*pts),
    }


def _interceptors_doc(run: RunData, projection: LocalProjection, items: Sequence[Engagement],
                      tolerance_m: float, batteries: list[str], itypes: list[str],
                      bat_en: Mapping[str, tuple[float, float] | None]) -> dict[str, Any]:
    fl: Polylines = run.interceptors
    ev = run.events
    launch_t: dict[int, float] = {}
    for j in np.flatnonzero(ev.kind == EventKind.LAUNCH):
        iid = int(ev.interceptor_id[j])
        if iid >= 0 and iid not in launch_t:
            launch_t[iid] = float(ev.time_s[j])
    eng_of: dict[int, int] = {}
    target: dict[int, int] = {}
    result: dict[int, str] = {}
    for m, e in enumerate(items):
        for iid in e.interceptor_ids:
            eng_of[iid] = m
            target[iid] = e.threat_id
        for _, kind, iid, tid in e.outcomes:
            result[iid] = OUTCOME_RESULT.get(kind, "self-destruct")
            if tid >= 0:
                target[iid] = tid
    en = projection.project(fl.lat_deg, fl.lon_deg)
    xs: list[FloatArray] = []
    ts: list[FloatArray] = []
    counts = np.zeros(fl.count, np.int64)
    bats = fl.labels.get("battery_id", [""] * fl.count)
    kinds = fl.labels.get("interceptor_type", [""] * fl.count)
    for i, iid in enumerate(fl.ids.tolist()):
        a, b = fl.offsets[i], fl.offsets[i + 1]
        p, t = en[a:b], fl.time_s[a:b]
        site = bat_en.get(bats[i])
        t0 = launch_t.get(iid)
        if site is not None and t0 is not None and t0 <= t[0]:
            p = np.vstack([np.array(site)[None, :], p])
            t = np.concatenate([[t0], t])
        xs.append(p)
        ts.append(t)
        counts[i] = t.size
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    allp = np.concatenate(xs) if xs else np.zeros((0, 2))
    allt = np.concatenate(ts) if ts else np.zeros(0)
    pts = _simplified(allp, allt, offsets, tolerance_m)
    ids = fl.ids.tolist()
    return {
        "id": ids,
        "battery": [_index(batteries, b) for b in bats],
        "type": [_index(itypes, k) for k in kinds],
        "engagement": [eng_of.get(i, -1) for i in ids],
        "target": [target.get(i, -1) for i in ids],
        "result": [result.get(i, "") for i in ids],
        **_points_doc(*pts),
    }


def _marks_doc(run: RunData, projection: LocalProjection) -> dict[str, Any]:
    ev = run.events
    sel = (np.isfinite(ev.lat_deg) & np.isfinite(ev.lon_deg)
           & np.isin(ev.kind, list(MARK_KINDS)))
    marks = ev.select(sel)
    en = projection.project(marks.lat_deg, marks.lon_deg)
    return {
        "kinds": list(MARK_KINDS),
        "kind": [MARK_KINDS.index(str(k)) for k in marks.kind],
        "threat": marks.threat_id.tolist(),
        "interceptor": marks.interceptor_id.tolist(),
        "battery": [str(b) for b in marks.battery_id],
        "t": encode_int32(to_ms(marks.time_s)),
        "x": encode_int32(np.rint(en[:, 0]) if en.size else np.zeros(0)),
        "y": encode_int32(np.rint(en[:, 1]) if en.size else np.zeros(0)),
    }


def _engagements_doc(items: Sequence[Engagement], batteries: list[str],
                     itypes: list[str]) -> dict[str, Any]:
    return {
        "id": [e.engagement_id for e in items],
        "battery": [_index(batteries, e.battery_id) for e in items],
        "type": [_index(itypes, e.interceptor_type) for e in items],
        "threat": [e.threat_id for e in items],
        "track": [e.track_id for e in items],
        "start_s": [round(e.start_s, 3) for e in items],
        "end_s": [round(e.end_s, 3) for e in items],
        "rounds": [e.rounds for e in items],
        "launched": [len(e.launch_s) for e in items],
        "pk": [None if math.isnan(e.pk) else round(e.pk, 4) for e in items],
        "result": [RESULTS.index(e.result) for e in items],
    }


def replay_payload(run: RunData, views: Mapping[str, tuple[MapFrame, int, int]],
                   items: Sequence[Engagement], intervals: ThreatIntervals) -> dict[str, Any]:
    """The replay document of a loaded run (see the module docstring).

    Parameters
    ----------
    run : the results directory read by ``load_run``.
    views : per map view name, its frame and SVG size in pixels (``svgmap.map_frame``).
    items : ``timeline.engagements(run)``; intervals : ``timeline.threat_intervals(run)``.
    """
    projection = next(iter(views.values()))[0].projection
    scale = max(f.scale_px_per_m for f, _, _ in views.values())
    tolerance_m = REPLAY_TOLERANCE_PX / scale
    sc = run.scenario
    bat_recs = [b for b in sc.get("batteries") or [] if isinstance(b, Mapping)]
    sen_recs = [s for s in sc.get("sensors") or [] if isinstance(s, Mapping)]
    batteries = [str(b.get("id")) for b in bat_recs]
    for name in [e.battery_id for e in items] + list(run.interceptors.labels.get(
            "battery_id", [])):
        if name and name not in batteries:
            batteries.append(name)
    itypes: list[str] = []
    for b in bat_recs:
        itypes += [str(k) for k in (b.get("interceptors") or {}) if str(k) not in itypes]
    for name in [e.interceptor_type for e in items] + list(run.interceptors.labels.get(
            "interceptor_type", [])):
        if name and name not in itypes:
            itypes.append(name)
    types = sorted({t for t in intervals.threat_type})
    classes = sorted(set(intervals.threat_class))
    bat_site = _site_en(projection, bat_recs)
    bat_en = {batteries[k]: bat_site[k] for k in range(len(bat_recs))}
    sites = coverage_sites(sc)
    site_index = {(s.kind, s.site_id): k for k, s in enumerate(sites)}
    loads = initial_inventory(run)
    launches = launch_times(run)
    battery_docs = []
    for k, name in enumerate(batteries):
        rec = bat_recs[k] if k < len(bat_recs) else {}
        en = bat_site[k] if k < len(bat_site) else None
        battery_docs.append({
            "id": name, "system": str(rec.get("system", "")),
            "east_m": en[0] if en else None, "north_m": en[1] if en else None,
            "inventory": loads.get(name, {}),
            "launch_ms": {t: to_ms(v).tolist() for (b, t), v in launches.items() if b == name},
            "engagement_range_m": rec.get("engagement_range_m"),
            "radar_range_m": rec.get("radar_range_m"),
            "site": site_index.get(("battery", name), -1)})
    sensor_docs = []
    for rec, en in zip(sen_recs, _site_en(projection, sen_recs), strict=True):
        sid = str(rec.get("id"))
        sensor_docs.append({"id": sid, "radar": str(rec.get("radar", "")),
                            "east_m": en[0] if en else None, "north_m": en[1] if en else None,
                            "range_m": rec.get("range_m"),
                            "site": site_index.get(("sensor", sid), -1)})
    damage = run.summary.get("asset_damage") or {}
    asset_recs = [a for a in sc.get("assets") or [] if isinstance(a, Mapping)]
    asset_docs = []
    for rec, en in zip(asset_recs, _site_en(projection, asset_recs), strict=True):
        aid = str(rec.get("id"))
        d = damage.get(aid) or {}
        asset_docs.append({"id": aid, "kind": str(rec.get("kind", "")),
                           "east_m": en[0] if en else None, "north_m": en[1] if en else None,
                           "radius_m": rec.get("radius_m"),
                           "value": d.get("value", rec.get("value")),
                           "value_lost": d.get("value_lost"), "hits": d.get("hits")})
    return {
        "format": REPLAY_FORMAT,
        "duration_s": run_duration_s(run),
        "origin": {"lat_deg": projection.origin_lat_deg, "lon_deg": projection.origin_lon_deg},
        "tolerance_m": tolerance_m,
        "views": {name: _frame_doc(f, w, h) for name, (f, w, h) in views.items()},
        "fates": list(FATES), "fate_colours": [FATE_COLOURS[f] for f in FATES],
        "classes": classes, "types": types, "batteries": battery_docs,
        "interceptor_types": itypes, "results": list(RESULTS),
        "threats": _threats_doc(run, projection, intervals, items, tolerance_m, types, classes),
        "interceptors": _interceptors_doc(run, projection, items, tolerance_m, batteries,
                                          itypes, bat_en),
        "marks": _marks_doc(run, projection),
        "engagements": _engagements_doc(items, batteries, itypes),
        "sensors": sensor_docs, "assets": asset_docs,
        "coverage": {
            "altitudes_m": list(COVERAGE_ALTITUDES_M),
            "altitude_labels": [ALTITUDE_LABELS.get(h, f"{h:,} m") for h in
                                COVERAGE_ALTITUDES_M],
            "default_m": DEFAULT_COVERAGE_ALTITUDE_M,
            "k": geo.STANDARD_REFRACTION_K, "earth_radius_m": geo.EARTH_MEAN_RADIUS_M,
            "default_antenna_height_m": DEFAULT_ANTENNA_HEIGHT_M,
            "default_site_alt_m": DEFAULT_SITE_ALT_M,
            "sites": [{"id": s.site_id, "kind": s.kind, "antenna_alt_m": s.antenna_alt_m,
                       "range_m": s.range_m, "heights_known": s.heights_known}
                      for s in sites],
            "range_m": coverage_table(sites),
        },
    }
