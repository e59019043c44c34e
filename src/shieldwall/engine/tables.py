"""The run's outputs from its state: summary.json, scenario.json and the per-step tables."""

from __future__ import annotations

from typing import Any

import numpy as np

from shieldwall import __version__, geo
from shieldwall.core.types import FATES, THREAT_CLASSES, FloatArray
from shieldwall.engine.damage import asset_function
from shieldwall.engine.state import RunState
from shieldwall.engine.world import World
from shieldwall.sensors import Detections


def summarize(world: World, state: RunState) -> dict[str, Any]:
    """The run's summary.json (docs/formats.md)."""
    w = world
    fates = state.threats.fate
    assert all(fates), "every threat must end in a fate"
    by_class: dict[str, dict[str, int]] = {
        c.value: {f.value: 0 for f in FATES} for c in THREAT_CLASSES}
    by_type: dict[str, dict[str, int]] = {}
    for i, f in enumerate(fates):
        by_class[state.classes[i].value][f] += 1
        by_type.setdefault(state.type_names[i], {x.value: 0 for x in FATES})[f] += 1
    fired = {rec.name: int(state.fired[k]) for k, rec in enumerate(w.interceptors)}
    cost = float(sum(state.fired[k] * rec.unit_cost_usd
                     for k, rec in enumerate(w.interceptors)))
    raid_cost = float(state.threat_cost.sum())
    asset_damage = asset_damage_summary(w, state)
    value_lost = float(sum(d["value_lost"] for d in asset_damage.values()))
    summary: dict[str, Any] = {
        "scenario": w.scenario.name,
        "seed": state.seed,
        "replication": state.replication,
        "version": __version__,
        "perfect_information": state.perfect,
        "duration_s": float(w.time_s[-1]),
        "threats": len(fates),
        "fates": {f.value: int(sum(1 for x in fates if x == f.value)) for f in FATES},
        "fates_by_class": by_class,
        "fates_by_type": by_type,
        "interceptors_fired": fired,
        "interceptors_remaining": {rec.name: int(state.inventory.rounds[:, k].sum())
                                   for k, rec in enumerate(w.interceptors)},
        "interceptor_cost_usd": cost,
        "raid_cost_usd": raid_cost,
        "cost_exchange_ratio": cost / raid_cost if raid_cost > 0 else None,
        "asset_damage": asset_damage,
        "value_lost": value_lost,
        "value_total": float(w.assets.value.sum()),
        "engagements": len(state.engagements),
        "detections": int(state.n_detections),
        "tracks_confirmed": int(state.n_confirmed),
    }
    return summary

def asset_damage_summary(world: World, state: RunState) -> dict[str, dict[str, Any]]:
    """Per asset id: ``value``, ``value_lost`` (= ``function_lost x value``), ``hits``
    (warheads that destroyed or damaged at least one of its components), ``impacts`` (warheads
    that burst inside its footprint ``radius_m``), ``function_lost`` in [0, 1], ``template``
    (the component template used), ``destroyed`` (names of its destroyed components) and
    ``components`` (one entry per component: name, role, kind, group, state, position, radius,
    lethal-radius multiplier). docs/formats.md §4."""
    w = world
    comp = w.components
    state_c = state.component_state
    function = asset_function(comp, state_c)
    lat, lon, _ = geo.ecef2geodetic(comp.pos_ecef) if len(comp) else (np.zeros(0),) * 3
    lat, lon = np.atleast_1d(lat), np.atleast_1d(lon)
    out: dict[str, dict[str, Any]] = {}
    for j in range(len(w.assets)):
        idx = np.flatnonzero(comp.asset == j)
        value = float(w.assets.value[j])
        groups = comp.train_group[comp.train[idx]]
        out[w.assets.asset_id[j]] = {
            "value": value,
            "value_lost": value - float(state.asset_remaining[j]),
            "hits": int(state.asset_hits[j]),
            "impacts": int(state.asset_impacts[j]),
            "function_lost": float(1.0 - function[j]),
            "template": comp.template[j],
            "destroyed": [comp.name[c] for c in idx if state_c[c] == 0.0],
            "components": [
                {"name": comp.name[c], "role": comp.role[c],
                 "kind": "point" if comp.point[c] else "area",
                 "group": comp.group_name[g],
                 "state": float(state_c[c]), "destroyed": bool(state_c[c] == 0.0),
                 "lat_deg": float(lat[c]), "lon_deg": float(lon[c]),
                 "radius_m": float(comp.radius_m[c]),
                 "lethal_radius_multiplier": float(comp.multiplier[c])}
                for c, g in zip(idx, groups, strict=True)]}
    return out


def scenario_doc(world: World) -> dict[str, Any]:
    """The laydown the report draws (scenario.json)."""
    w = world
    s = w.scenario
    batteries = []
    for u, b in enumerate(s.batteries):
        site = w.sites[int(w.battery_site[u])]
        ks = np.flatnonzero(w.rounds0[u] > 0)
        reach = max((w.interceptors[k].envelopes[c].max_range_m
                     for k in ks for c in w.interceptors[k].envelopes), default=0.0)
        half = site.radar.sector_half_width_rad
        batteries.append({
            "id": b.id, "system": b.system, "lat_deg": b.lat_deg, "lon_deg": b.lon_deg,
            "heading_deg": b.radar_heading_deg, "radar_range_m": site.radar.max_range_m,
            "sector_half_width_deg": None if half is None else float(np.degrees(half)),
            "engagement_range_m": float(reach),
            "interceptors": {w.interceptors[k].name: int(w.rounds0[u, k]) for k in ks},
            "alt_m": float(b.alt_m),
            "antenna_height_m": float(site.radar.antenna_height_m)})
    sensors = []
    for sn in s.sensors:
        radar = getattr(w.catalog, sn.catalog_section)[sn.radar]  # a Radar or PassiveSensor
        half = radar.sector_half_width_rad
        sensors.append({"id": sn.id, "radar": sn.radar, "lat_deg": sn.lat_deg,
                        "lon_deg": sn.lon_deg, "heading_deg": sn.heading_deg,
                        "range_m": radar.max_range_m,
                        "sector_half_width_deg": None if half is None
                        else float(np.degrees(half)),
                        "alt_m": float(sn.alt_m),
                        "antenna_height_m": float(radar.antenna_height_m)})
    return {"name": s.name, "origin": {"lat_deg": s.origin.lat_deg,
                                       "lon_deg": s.origin.lon_deg},
            "duration_s": float(w.time_s[-1]),
            "assets": [{"id": a.id, "kind": str(a.kind), "lat_deg": a.lat_deg,
                        "lon_deg": a.lon_deg, "value": a.value, "radius_m": a.radius_m}
                       for a in s.assets],
            "batteries": batteries, "sensors": sensors}


def _geodetic_columns(p: FloatArray) -> dict[str, np.ndarray]:
    if p.shape[0] == 0:
        z = np.zeros(0)
        return {"lat_deg": z, "lon_deg": z, "alt_m": z}
    lat, lon, alt = geo.ecef2geodetic(p)
    return {"lat_deg": np.atleast_1d(lat), "lon_deg": np.atleast_1d(lon),
            "alt_m": np.atleast_1d(alt)}


def build_tables(world: World, run: RunState) -> dict[str, dict[str, Any]]:
    """Columns of truth, tracks, detections, interceptors and events (docs/internals.md)."""
    w = world
    tr = run.truth
    t = w.time_s
    alive = tr.in_flight & (t[:, None] < run.threats.kill_time[None, :])
    kk, ii = np.nonzero(alive)
    p = tr.pos_ecef[kk, ii]
    v = tr.vel_ecef[kk, ii]
    truth = {"time_s": t[kk], "threat_id": ii.astype(np.int64),
             "threat_type": [run.type_names[i] for i in ii],
             "threat_class": [run.classes[i].value for i in ii],
             **_geodetic_columns(p),
             "x_m": p[:, 0], "y_m": p[:, 1], "z_m": p[:, 2],
             "vx_mps": v[:, 0], "vy_mps": v[:, 1], "vz_mps": v[:, 2]}

    if run.rec_tracks:
        tt = {key: np.concatenate([r[key] for r in run.rec_tracks]) for key in run.rec_tracks[0]}
    else:
        tt = {"time_s": np.zeros(0), "track_id": np.zeros(0, np.int64), "x": np.zeros((0, 6)),
              "ballistic": np.zeros(0, bool), "truth_id": np.zeros(0, np.int64)}
    x = tt["x"]
    tracks = {"time_s": tt["time_s"], "track_id": tt["track_id"].astype(np.int64),
              "status": ["confirmed"] * len(tt["time_s"]),
              "class_estimate": np.where(tt["ballistic"], "ballistic", "air_breathing").tolist(),
              **_geodetic_columns(x[:, :3]),
              "x_m": x[:, 0], "y_m": x[:, 1], "z_m": x[:, 2],
              "vx_mps": x[:, 3], "vy_mps": x[:, 4], "vz_mps": x[:, 5],
              "truth_id": tt["truth_id"].astype(np.int64)}

    d = Detections.concat(run.rec_dets)
    detections = {"time_s": d.time_s, "sensor_id": d.sensor_id, "range_m": d.range_m,
                  "azimuth_rad": d.azimuth_rad, "elevation_rad": d.elevation_rad,
                  "range_rate_mps": d.range_rate_mps, "snr_db": d.snr_db,
                  "truth_id": d.truth_index}

    if run.rec_int:
        ri = {key: np.concatenate([r[key] for r in run.rec_int]) for key in run.rec_int[0]}
    else:
        ri = {"time_s": np.zeros(0), "interceptor_id": np.zeros(0, np.int64),
              "battery": np.zeros(0, np.int64), "type": np.zeros(0, np.int64),
              "pos": np.zeros((0, 3))}
    interceptors = {"time_s": ri["time_s"], "interceptor_id": ri["interceptor_id"],
                    "battery_id": [w.units.unit_id[b] for b in ri["battery"]],
                    "interceptor_type": [w.interceptors[k].name for k in ri["type"]],
                    **_geodetic_columns(ri["pos"])}

    ev = run.events
    order = np.argsort(np.array(ev.time_s), kind="stable")
    pe = np.array(ev.pos_ecef, float).reshape(-1, 3)[order]
    finite = np.isfinite(pe).all(axis=1)
    geo_cols = {"lat_deg": np.full(len(order), np.nan), "lon_deg": np.full(len(order), np.nan),
                "alt_m": np.full(len(order), np.nan)}
    if finite.any():
        g = _geodetic_columns(pe[finite])
        for key in geo_cols:
            geo_cols[key][finite] = g[key]

    def pick(col: list[Any]) -> list[Any]:
        return [col[i] for i in order]

    events = {"time_s": np.array(ev.time_s)[order], "kind": pick(ev.kind),
              "threat_id": np.array(ev.threat_id, np.int64)[order],
              "track_id": np.array(ev.track_id, np.int64)[order],
              "battery_id": pick(ev.battery_id),
              "interceptor_id": np.array(ev.interceptor_id, np.int64)[order],
              "interceptor_type": pick(ev.interceptor_type), **geo_cols,
              "value": np.array(ev.value, float)[order], "detail": pick(ev.detail)}
    return {"truth": truth, "tracks": tracks, "detections": detections,
            "interceptors": interceptors, "events": events}
