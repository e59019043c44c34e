"""A synthetic but complete results directory (docs/internals.md "Results directory").

Shared by the report, export and browser tests: threats fly straight (in lat/lon) towards two
assets, with every fate, engagements, flyouts and the summary.json that matches them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from geographiclib.geodesic import Geodesic

ORIGIN = (45.0, 10.0)
FATES = ("intercepted", "leaked", "crashed", "expired")
CLASSES = ("ballistic", "drone", "cruise", "drone", "decoy")
TYPES = {"ballistic": "iskander-m", "drone": "shahed-136", "cruise": "kh-101",
         "decoy": "gerbera"}
GEOD = Geodesic.WGS84


# ----------------------------------------------------------------------------- fixtures
def _direct(lat: float, lon: float, azimuth_deg: float, distance_m: float) -> tuple[float, float]:
    g = GEOD.Direct(lat, lon, azimuth_deg, distance_m)
    return g["lat2"], g["lon2"]


def make_results_dir(path: Path, n_threats: int = 5, points_per_threat: int = 60,
                     perfect_information: bool = False, name: str = "Synthetic test raid",
                     n_flyout_points: int = 12) -> dict[str, Any]:
    """Write a small but complete results directory; return what the tests need to know."""
    path.mkdir(parents=True, exist_ok=True)
    lat0, lon0 = ORIGIN
    north_asset = _direct(lat0, lon0, 0.0, 30e3)
    assets = [
        {"id": "capital", "kind": "city", "lat_deg": lat0, "lon_deg": lon0, "value": 100.0,
         "radius_m": 5000.0},
        {"id": "plant-n", "kind": "power_plant", "lat_deg": north_asset[0],
         "lon_deg": north_asset[1], "value": 40.0, "radius_m": 1500.0},
    ]
    bat_a = _direct(lat0, lon0, 90.0, 20e3)
    bat_b = _direct(lat0, lon0, 200.0, 25e3)
    ew = _direct(lat0, lon0, 300.0, 60e3)
    scenario = {
        "name": name, "origin": {"lat_deg": lat0, "lon_deg": lon0}, "duration_s": 1800.0,
        "assets": assets,
        "batteries": [
            {"id": "pat-1", "system": "patriot", "lat_deg": bat_a[0], "lon_deg": bat_a[1],
             "heading_deg": 60.0, "radar_range_m": 120e3, "sector_half_width_deg": 60.0,
             "engagement_range_m": 70e3, "interceptors": {"pac3-mse": 16}},
            {"id": "iris-1", "system": "iris-t-slm", "lat_deg": bat_b[0], "lon_deg": bat_b[1],
             "heading_deg": 0.0, "radar_range_m": 250e3, "sector_half_width_deg": None,
             "engagement_range_m": 40e3, "interceptors": {"iris-t-slm": 8}},
        ],
        "sensors": [{"id": "ew-west", "radar": "ew-radar", "lat_deg": ew[0], "lon_deg": ew[1],
                     "heading_deg": 45.0, "range_m": 400e3, "sector_half_width_deg": 60.0}],
    }

    # Threats fly straight (in lat/lon) from 150 km out towards the two assets.
    truth_cols: dict[str, list[Any]] = {k: [] for k in (
        "time_s", "threat_id", "threat_type", "threat_class", "lat_deg", "lon_deg", "alt_m")}
    events: list[dict[str, Any]] = []
    fate_of: dict[int, str] = {}
    class_of: dict[int, str] = {}
    kill_points: dict[int, tuple[float, float]] = {}
    leak_points: dict[int, tuple[float, float]] = {}
    flyouts: dict[str, list[Any]] = {k: [] for k in (
        "time_s", "interceptor_id", "battery_id", "interceptor_type", "lat_deg", "lon_deg",
        "alt_m")}
    iid = 0
    for i in range(n_threats):
        fate = FATES[i % 4]
        cls = CLASSES[i % len(CLASSES)]
        fate_of[i], class_of[i] = fate, cls
        target = assets[i % 2]
        start = _direct(target["lat_deg"], target["lon_deg"], (20.0 + 37.0 * i) % 360, 150e3)
        end_fraction = {"intercepted": 0.7, "leaked": 1.0, "crashed": 0.4, "expired": 0.9}[fate]
        f = np.linspace(0.0, end_fraction, points_per_threat)
        lat = start[0] + f * (target["lat_deg"] - start[0])
        lon = start[1] + f * (target["lon_deg"] - start[1])
        t = 10.0 * i + np.arange(points_per_threat) * 5.0
        truth_cols["time_s"] += t.tolist()
        truth_cols["threat_id"] += [i] * points_per_threat
        truth_cols["threat_type"] += [TYPES[cls]] * points_per_threat
        truth_cols["threat_class"] += [cls] * points_per_threat
        truth_cols["lat_deg"] += lat.tolist()
        truth_cols["lon_deg"] += lon.tolist()
        truth_cols["alt_m"] += [500.0] * points_per_threat
        end = (float(lat[-1]), float(lon[-1]))
        t_end = float(t[-1])
        events.append(dict(time_s=float(t[0]), kind="threat_launch", threat_id=i,
                           detail=json.dumps({"type": TYPES[cls]})))
        if fate == "intercepted":
            bat = scenario["batteries"][i % 2]
            itype = next(iter(bat["interceptors"]))
            events.append(dict(time_s=t_end - 60, kind="engage", threat_id=i, track_id=100 + i,
                               battery_id=bat["id"], interceptor_type=itype,
                               detail=json.dumps({"rounds": 2, "pk": 0.85, "engagement_id": i,
                                                  "reason": f"best gain for threat {i}"})))
            events.append(dict(time_s=t_end - 50, kind="launch", track_id=100 + i,
                               battery_id=bat["id"], interceptor_id=iid,
                               interceptor_type=itype,
                               lat_deg=bat["lat_deg"], lon_deg=bat["lon_deg"],
                               detail=json.dumps({"engagement_id": i})))
            fl = np.linspace(0.0, 1.0, n_flyout_points)[1:]
            flyouts["time_s"] += (t_end - 50 + fl * 50).tolist()
            flyouts["interceptor_id"] += [iid] * fl.size
            flyouts["battery_id"] += [bat["id"]] * fl.size
            flyouts["interceptor_type"] += [itype] * fl.size
            flyouts["lat_deg"] += (bat["lat_deg"] + fl * (end[0] - bat["lat_deg"])).tolist()
            flyouts["lon_deg"] += (bat["lon_deg"] + fl * (end[1] - bat["lon_deg"])).tolist()
            flyouts["alt_m"] += [3000.0] * fl.size
            events.append(dict(time_s=t_end, kind="intercept_kill", threat_id=i,
                               track_id=100 + i, battery_id=bat["id"], interceptor_id=iid,
                               interceptor_type=itype, lat_deg=end[0], lon_deg=end[1],
                               value=0.85, detail=json.dumps({"miss_m": 1.5, "pk": 0.85,
                                                              "engagement_id": i})))
            kill_points[i] = end
            iid += 1
        elif fate == "leaked":
            miss = _direct(end[0], end[1], 45.0, 8e3)
            events.append(dict(time_s=t_end - 5, kind="intercept_miss", threat_id=i,
                               track_id=100 + i, battery_id="pat-1", interceptor_id=iid,
                               interceptor_type="pac3-mse", lat_deg=miss[0], lon_deg=miss[1],
                               value=0.1, detail=json.dumps({"miss_m": 35.0, "pk": 0.1})))
            iid += 1
            events.append(dict(time_s=t_end, kind="leak", threat_id=i, lat_deg=end[0],
                               lon_deg=end[1], detail=json.dumps({"aim_asset": i % 2})))
            leak_points[i] = end
        elif fate == "crashed":
            events.append(dict(time_s=t_end, kind="crash", threat_id=i, lat_deg=end[0],
                               lon_deg=end[1]))
        else:
            events.append(dict(time_s=1800.0, kind="expire", threat_id=i))
    events.sort(key=lambda e: e["time_s"])
    ev_cols: dict[str, list[Any]] = {k: [] for k in (
        "time_s", "kind", "threat_id", "track_id", "battery_id", "interceptor_id",
        "interceptor_type", "lat_deg", "lon_deg", "alt_m", "value", "detail")}
    defaults = dict(threat_id=-1, track_id=-1, battery_id="", interceptor_id=-1,
                    interceptor_type="", lat_deg=float("nan"), lon_deg=float("nan"),
                    alt_m=float("nan"), value=float("nan"), detail="")
    for e in events:
        for k in ev_cols:
            ev_cols[k].append(e.get(k, defaults.get(k)))

    pq.write_table(pa.table(truth_cols), path / "truth.parquet")
    pq.write_table(pa.table(ev_cols), path / "events.parquet")
    pq.write_table(pa.table(flyouts), path / "interceptors.parquet")
    pq.write_table(pa.table({"time_s": [1.0], "track_id": [100], "status": ["confirmed"],
                             "class_estimate": ["ballistic"], "lat_deg": [lat0],
                             "lon_deg": [lon0], "alt_m": [1e3], "x_m": [0.0], "y_m": [0.0],
                             "z_m": [0.0], "vx_mps": [0.0], "vy_mps": [0.0], "vz_mps": [0.0],
                             "truth_id": [0]}), path / "tracks.parquet")
    pq.write_table(pa.table({"time_s": [1.0], "sensor_id": [0], "range_m": [1e5],
                             "azimuth_rad": [0.1], "elevation_rad": [0.01],
                             "range_rate_mps": [-200.0], "snr_db": [17.0], "truth_id": [0]}),
                   path / "detections.parquet")

    fates = {f: sum(1 for v in fate_of.values() if v == f) for f in FATES}
    by_class: dict[str, dict[str, int]] = {}
    by_type: dict[str, dict[str, int]] = {}
    for i, f in fate_of.items():
        by_class.setdefault(class_of[i], dict.fromkeys(FATES, 0))[f] += 1
        by_type.setdefault(TYPES[class_of[i]], dict.fromkeys(FATES, 0))[f] += 1
    summary = {
        "scenario": name, "seed": 20240917, "version": "0.1.0",
        "perfect_information": perfect_information, "duration_s": 1800.0,
        "threats": n_threats, "fates": fates, "fates_by_class": by_class,
        "fates_by_type": by_type, "interceptors_fired": {"pac3-mse": 7, "iris-t-slm": 3},
        "interceptor_cost_usd": 29_400_000.5, "raid_cost_usd": 12_345_678.0,
        "cost_exchange_ratio": 29_400_000.5 / 12_345_678.0,
        "asset_damage": {"capital": {"value": 100.0, "value_lost": 12.375, "hits": 2},
                         "plant-n": {"value": 40.0, "value_lost": 0.0, "hits": 0}},
        "value_lost": 12.375, "value_total": 140.0, "engagements": iid, "detections": 4321,
        "tracks_confirmed": 17,
    }
    (path / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    (path / "scenario.json").write_text(json.dumps(scenario, indent=2), encoding="utf-8")
    return {"summary": summary, "scenario": scenario, "fate_of": fate_of,
            "kill_points": kill_points, "leak_points": leak_points}
