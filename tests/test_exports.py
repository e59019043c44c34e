"""GeoJSON, KML and CZML exports of a run (shieldwall.report.exports), on synthetic results.

References: the official GeoJSON JSON Schema (tests/data/geojson, see SOURCE.md) for the
GeoJSON structure, RFC 7946 rules checked here (closed counter-clockwise rings, position
order), truth.parquet / events.parquet read directly with pyarrow for every exported position,
pymap3d's ENU (not shieldwall.geo) for the decimation bound, geographiclib geodesics for the
coverage rings, and Python's datetime for the UTC times.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pymap3d
import pytest
from geographiclib.geodesic import Geodesic
from hypothesis import given, settings
from hypothesis import strategies as st

from shieldwall.core.errors import InputError
from shieldwall.report import write_exports
from shieldwall.report.exports import (
    DEFAULT_EPOCH_UTC,
    DEFAULT_TOLERANCE_M,
    czml_document,
    geojson_document,
    kml_document,
    load_export_run,
    sector_ring,
)
from synthetic_results import ORIGIN, make_results_dir

GEOD = Geodesic.WGS84
DATA = Path(__file__).resolve().parent / "data" / "geojson"
KML = "{http://www.opengis.net/kml/2.2}"
GX = "{http://www.google.com/kml/ext/2.2}"
START = "2025-03-01T06:30:00+02:00"           # -> 04:30:00Z
START_UTC = datetime(2025, 3, 1, 4, 30, tzinfo=UTC)
DEG_TOL = 1.1e-6 / 2                           # coordinates are written to 1e-6 degree
ALT_TOL = 0.051                                # altitudes to 0.1 m


# ----------------------------------------------------------------------------- fixtures
def _give_altitudes(outdir: Path) -> None:
    """Replace the synthetic constant altitudes by arcs (so the 3-D export is exercised)."""
    truth = pq.read_table(outdir / "truth.parquet").to_pydict()
    tid = np.asarray(truth["threat_id"])
    t = np.asarray(truth["time_s"], float)
    alt = np.zeros(t.size)
    for i in np.unique(tid):
        m = tid == i
        frac = (t[m] - t[m].min()) / max(np.ptp(t[m]), 1.0)
        peak = 1000.0 + 700.0 * (i % 12)
        alt[m] = 150.0 + peak * np.sin(np.pi * frac) + 20.0 * np.sin(9 * frac)
    truth["alt_m"] = alt.tolist()
    pq.write_table(pa.table(truth), outdir / "truth.parquet")
    fly = pq.read_table(outdir / "interceptors.parquet").to_pydict()
    fid = np.asarray(fly["interceptor_id"])
    falt = np.zeros(fid.size)
    for i in np.unique(fid):
        m = fid == i
        falt[m] = np.linspace(300.0, 5000.0, int(m.sum()))
    fly["alt_m"] = falt.tolist()
    pq.write_table(pa.table(fly), outdir / "interceptors.parquet")


def _set_scenario(outdir: Path, **changes: Any) -> None:
    path = outdir / "scenario.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc.update(changes)
    path.write_text(json.dumps(doc), encoding="utf-8")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    outdir = tmp_path_factory.mktemp("exports")
    info = make_results_dir(outdir, n_threats=12, points_per_threat=90)
    _give_altitudes(outdir)
    _set_scenario(outdir, start_time_utc=START)
    paths = write_exports(outdir)
    assert [p.name for p in paths] == ["run.geojson", "run.kml", "run.czml"]
    return outdir, info


@pytest.fixture(scope="module")
def truth(run_dir: tuple[Path, dict[str, Any]]) -> dict[int, dict[str, np.ndarray]]:
    """truth.parquet per threat, sorted by time (read directly, not through the report)."""
    d = pq.read_table(run_dir[0] / "truth.parquet").to_pydict()
    out: dict[int, dict[str, np.ndarray]] = {}
    tid = np.asarray(d["threat_id"])
    for i in np.unique(tid):
        m = tid == i
        order = np.argsort(np.asarray(d["time_s"])[m])
        out[int(i)] = {k: np.asarray(d[k], float)[m][order]
                       for k in ("time_s", "lat_deg", "lon_deg", "alt_m")}
    return out


@pytest.fixture(scope="module")
def flyouts(run_dir: tuple[Path, dict[str, Any]]) -> dict[int, dict[str, np.ndarray]]:
    d = pq.read_table(run_dir[0] / "interceptors.parquet").to_pydict()
    out: dict[int, dict[str, np.ndarray]] = {}
    iid = np.asarray(d["interceptor_id"])
    for i in np.unique(iid):
        m = iid == i
        order = np.argsort(np.asarray(d["time_s"])[m])
        out[int(i)] = {k: np.asarray(d[k], float)[m][order]
                       for k in ("time_s", "lat_deg", "lon_deg", "alt_m")}
    return out


@pytest.fixture(scope="module")
def geojson(run_dir: tuple[Path, dict[str, Any]]) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((run_dir[0] / "run.geojson").read_text(encoding="utf-8"))
    return doc


@pytest.fixture(scope="module")
def kml_root(run_dir: tuple[Path, dict[str, Any]]) -> ET.Element:
    return ET.parse(run_dir[0] / "run.kml").getroot()


@pytest.fixture(scope="module")
def czml(run_dir: tuple[Path, dict[str, Any]]) -> list[dict[str, Any]]:
    doc: list[dict[str, Any]] = json.loads((run_dir[0] / "run.czml").read_text(encoding="utf-8"))
    return doc


# ----------------------------------------------------------------------------- helpers
def _utc(text: str) -> datetime:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", text), text
    return datetime.fromisoformat(text)


def _sim_s(text: str) -> float:
    return (_utc(text) - START_UTC).total_seconds()


def _interval(text: str) -> tuple[float, float]:
    a, b = text.split("/")
    return _sim_s(a), _sim_s(b)


def _check_samples(ref: dict[str, np.ndarray], t: np.ndarray, lon: np.ndarray,
                   lat: np.ndarray, alt: np.ndarray, tolerance_m: float | None) -> None:
    """Exported samples are truth rows (same time, same values); replay stays within the bound.

    The bound: every recorded point lies within ``tolerance_m`` per east/north/up axis (ENU at
    the scenario origin, by pymap3d) of the position interpolated linearly in time between the
    exported samples.
    """
    assert np.all(np.diff(t) > 0)
    k = np.searchsorted(ref["time_s"], t - 5e-4)
    assert np.all(k < ref["time_s"].size)
    np.testing.assert_allclose(t, ref["time_s"][k], atol=5e-4, rtol=0)
    np.testing.assert_allclose(lon, ref["lon_deg"][k], atol=DEG_TOL, rtol=0)
    np.testing.assert_allclose(lat, ref["lat_deg"][k], atol=DEG_TOL, rtol=0)
    np.testing.assert_allclose(alt, ref["alt_m"][k], atol=ALT_TOL, rtol=0)
    assert k[0] == 0 and k[-1] == ref["time_s"].size - 1      # endpoints kept
    if tolerance_m is None:
        assert t.size == ref["time_s"].size
        return
    lat0, lon0 = ORIGIN
    rec = np.column_stack(pymap3d.geodetic2enu(ref["lat_deg"], ref["lon_deg"], ref["alt_m"],
                                               lat0, lon0, 0.0))
    kept = np.column_stack(pymap3d.geodetic2enu(lat, lon, alt, lat0, lon0, 0.0))
    for axis in range(3):
        replay = np.interp(ref["time_s"], t, kept[:, axis])
        assert np.max(np.abs(replay - rec[:, axis])) <= tolerance_m + 0.2


def _shoelace(ring: np.ndarray) -> float:
    x, y = ring[:, 0], ring[:, 1]
    return 0.5 * float(np.sum(x[:-1] * y[1:] - x[1:] * y[:-1]))


def _events(outdir: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = pq.read_table(outdir / "events.parquet").to_pylist()
    return rows


# ----------------------------------------------------------------------------- files
def test_files_written_atomically(run_dir: tuple[Path, dict[str, Any]]) -> None:
    outdir, _ = run_dir
    names = sorted(os.listdir(outdir))
    assert {"run.geojson", "run.kml", "run.czml"} <= set(names)
    assert not [n for n in names if n.endswith(".tmp")]
    for name in ("run.geojson", "run.czml"):
        json.loads((outdir / name).read_text(encoding="utf-8"), parse_constant=pytest.fail)


def test_formats_subset(tmp_path: Path) -> None:
    make_results_dir(tmp_path, n_threats=3, points_per_threat=10)
    paths = write_exports(tmp_path, formats=("czml",))
    assert [p.name for p in paths] == ["run.czml"]
    assert not (tmp_path / "run.kml").exists()


# ----------------------------------------------------------------------------- GeoJSON
def test_vendored_schema_is_the_official_file() -> None:
    raw = (DATA / "FeatureCollection.json").read_bytes()
    stated = re.search(r"SHA-256 of the file: `([0-9a-f]{64})`",
                       (DATA / "SOURCE.md").read_text(encoding="utf-8"))
    assert stated and hashlib.sha256(raw).hexdigest() == stated.group(1)
    schema = json.loads(raw)
    assert schema["$id"] == "https://geojson.org/schema/FeatureCollection.json"


def test_geojson_validates_against_official_schema(geojson: dict[str, Any]) -> None:
    schema = json.loads((DATA / "FeatureCollection.json").read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)
    errors = list(validator.iter_errors(geojson))
    assert not errors, errors[0].message
    # The schema is not vacuous here: a broken document fails it.
    broken = {**geojson, "features": [{**geojson["features"][0], "geometry": {
        "type": "LineString", "coordinates": [[1.0, 2.0]]}}]}
    assert list(validator.iter_errors(broken))


def test_geojson_rfc7946_rules(geojson: dict[str, Any]) -> None:
    assert geojson["type"] == "FeatureCollection"
    assert "crs" not in geojson                                  # RFC 7946 4: WGS84 only
    layers = Counter(f["properties"]["layer"] for f in geojson["features"])
    assert {"asset", "asset_footprint", "battery", "sensor", "coverage", "threat",
            "interceptor", "event"} <= set(layers)
    for f in geojson["features"]:
        g = f["geometry"]
        positions = {"Point": lambda c: [c], "LineString": lambda c: c,
                     "Polygon": lambda c: [p for ring in c for p in ring]}[g["type"]](
            g["coordinates"])
        for p in positions:
            assert len(p) in (2, 3)
            assert -180.0 <= p[0] <= 180.0 and -90.0 <= p[1] <= 90.0
            # lon, lat order: every synthetic site and track is near 45 N, 10 E
            assert abs(p[1] - 45.0) < 5.0 and abs(p[0] - 10.0) < 8.0
        if g["type"] == "Polygon":
            for ring in g["coordinates"]:
                assert len(ring) >= 4 and ring[0] == ring[-1]       # closed
            assert _shoelace(np.asarray(g["coordinates"][0])) > 0  # exterior counter-clockwise
        if g["type"] == "LineString":
            times = f["properties"]["times"]
            assert len(times) == len(g["coordinates"])
            secs = [_sim_s(t) for t in times]
            assert all(b > a for a, b in zip(secs, secs[1:], strict=False))
            assert f["properties"]["start_time"] == times[0]
            assert f["properties"]["end_time"] == times[-1]
            assert all(len(p) == 3 for p in g["coordinates"])
    assert len({f["id"] for f in geojson["features"]}) == len(geojson["features"])


def test_geojson_threats_equal_truth(geojson: dict[str, Any],
                                     truth: dict[int, dict[str, np.ndarray]],
                                     run_dir: tuple[Path, dict[str, Any]]) -> None:
    _, info = run_dir
    threats = [f for f in geojson["features"] if f["properties"]["layer"] == "threat"]
    assert sorted(f["properties"]["threat_id"] for f in threats) == sorted(truth)
    total = 0
    for f in threats:
        p = f["properties"]
        tid = p["threat_id"]
        c = np.asarray(f["geometry"]["coordinates"])
        t = np.array([_sim_s(s) for s in p["times"]])
        _check_samples(truth[tid], t, c[:, 0], c[:, 1], c[:, 2], DEFAULT_TOLERANCE_M)
        assert p["fate"] == info["fate_of"][tid]
        assert p["points_recorded"] == truth[tid]["time_s"].size
        total += c.shape[0]
    recorded = sum(v["time_s"].size for v in truth.values())
    assert total < recorded / 2          # decimation does something on these arcs


def test_geojson_flyouts_equal_record(geojson: dict[str, Any],
                                      flyouts: dict[int, dict[str, np.ndarray]]) -> None:
    fly = [f for f in geojson["features"] if f["properties"]["layer"] == "interceptor"]
    assert sorted(f["properties"]["interceptor_id"] for f in fly) == sorted(flyouts)
    for f in fly:
        c = np.asarray(f["geometry"]["coordinates"])
        t = np.array([_sim_s(s) for s in f["properties"]["times"]])
        _check_samples(flyouts[f["properties"]["interceptor_id"]], t, c[:, 0], c[:, 1], c[:, 2],
                       DEFAULT_TOLERANCE_M)
        assert f["properties"]["outcome"] == "kill"


def test_geojson_events_and_sites(geojson: dict[str, Any],
                                  run_dir: tuple[Path, dict[str, Any]],
                                  truth: dict[int, dict[str, np.ndarray]]) -> None:
    outdir, info = run_dir
    feats = geojson["features"]
    events = [f for f in feats if f["properties"]["layer"] == "event"]
    log = _events(outdir)
    kills = [f for f in events if f["properties"]["kind"] == "intercept_kill"]
    assert len(kills) == len(info["kill_points"]) > 0
    for f in kills:
        p = f["properties"]
        lon, lat, alt = f["geometry"]["coordinates"]
        assert (lat, lon) == pytest.approx(info["kill_points"][p["threat_id"]], abs=DEG_TOL)
        ref = truth[p["threat_id"]]
        # No altitude in the log: the threat's truth altitude at the event time.
        assert alt == pytest.approx(np.interp(_sim_s(p["time"]), ref["time_s"], ref["alt_m"]),
                                    abs=ALT_TOL)
        row = next(e for e in log if e["kind"] == "intercept_kill"
                   and e["threat_id"] == p["threat_id"])
        detail = json.loads(row["detail"])
        assert p["pk"] == pytest.approx(detail["pk"])
        assert p["battery_id"] == row["battery_id"]
        assert p["interceptor_id"] == row["interceptor_id"]
        assert _sim_s(p["time"]) == pytest.approx(row["time_s"], abs=5e-4)
    leaks = [f for f in events if f["properties"]["kind"] == "leak"]
    assert len(leaks) == len(info["leak_points"]) > 0
    for f in leaks:
        lon, lat, _ = f["geometry"]["coordinates"]
        assert (lat, lon) == pytest.approx(info["leak_points"][f["properties"]["threat_id"]],
                                           abs=DEG_TOL)
    misses = [f for f in events if f["properties"]["kind"] == "intercept_miss"]
    assert len(misses) == sum(e["kind"] == "intercept_miss" for e in log) > 0
    assert all(f["properties"]["label"] == "miss" for f in misses)
    crashes = [f for f in events if f["properties"]["kind"] == "crash"]
    assert len(crashes) == sum(e["kind"] == "crash" for e in log) > 0

    scen = info["scenario"]
    assets = {f["properties"]["id"]: f for f in feats if f["properties"]["layer"] == "asset"}
    for a in scen["assets"]:
        f = assets[a["id"]]
        assert f["geometry"]["coordinates"][:2] == pytest.approx([a["lon_deg"], a["lat_deg"]],
                                                                 abs=DEG_TOL)
        assert f["properties"]["value"] == a["value"]
        assert f["properties"]["damage_radius_m"] == a["radius_m"]
        assert f["properties"]["kind"] == a["kind"]
    batteries = {f["properties"]["id"]: f for f in feats
                 if f["properties"]["layer"] == "battery"}
    launches = Counter((e["battery_id"], e["interceptor_type"]) for e in log
                       if e["kind"] == "launch")
    for b in scen["batteries"]:
        p = batteries[b["id"]]["properties"]
        assert p["system"] == b["system"]
        for name, count in b["interceptors"].items():
            fired = launches[(b["id"], name)]
            assert p["inventory"][name] == {"initial": count, "fired": fired,
                                            "left": count - fired}


def test_coverage_rings_are_geodesic(geojson: dict[str, Any],
                                     run_dir: tuple[Path, dict[str, Any]]) -> None:
    scen = run_dir[1]["scenario"]
    sites = {**{("battery", b["id"]): b for b in scen["batteries"]},
             **{("sensor", s["id"]): s for s in scen["sensors"]},
             **{("asset", a["id"]): a for a in scen["assets"]}}
    areas = [f for f in geojson["features"] if f["geometry"]["type"] == "Polygon"]
    # 2 batteries x (radar + engagement) + 1 sensor + 2 asset footprints
    assert len(areas) == 7
    for f in areas:
        p = f["properties"]
        owner = {"radar_coverage": "battery", "engagement_zone": "battery",
                 "sensor_coverage": "sensor", "asset_footprint": "asset"}[p["kind"]]
        site = sites[(owner, p["site_id"])]
        want = {"radar_coverage": "radar_range_m", "engagement_zone": "engagement_range_m",
                "sensor_coverage": "range_m", "asset_footprint": "radius_m"}[p["kind"]]
        assert p["range_m"] == site[want]
        half = site.get("sector_half_width_deg") if p["kind"] in (
            "radar_coverage", "sensor_coverage") else None
        ring = f["geometry"]["coordinates"][0]
        on_arc = 0
        for lon, lat in ring:
            g = GEOD.Inverse(site["lat_deg"], site["lon_deg"], lat, lon)
            if g["s12"] < 1.0:
                assert half is not None          # only a wedge has its apex on the ring
                continue
            on_arc += 1
            assert g["s12"] == pytest.approx(site[want], abs=0.5)
            if half is not None:
                off = (g["azi1"] - site["heading_deg"] + 180.0) % 360.0 - 180.0
                assert abs(off) <= half + 1e-4
        assert on_arc >= 20


@settings(max_examples=40, deadline=None)
@given(lat=st.floats(-70, 70), lon=st.floats(-160, 160), rng=st.floats(500, 600e3),
       heading=st.floats(0, 360), half=st.one_of(st.none(), st.floats(1, 179.5)))
def test_sector_ring_properties(lat: float, lon: float, rng: float, heading: float,
                                half: float | None) -> None:
    ring = sector_ring(lat, lon, rng, heading, half)
    assert ring.shape[0] >= 4 and np.array_equal(ring[0], ring[-1])
    assert _shoelace(ring) > 0
    g = GEOD.Inverse(lat, lon, ring[len(ring) // 2, 1], ring[len(ring) // 2, 0])
    assert g["s12"] == pytest.approx(rng, abs=0.5)


# ----------------------------------------------------------------------------- time
def test_epoch_from_scenario(geojson: dict[str, Any], czml: list[dict[str, Any]]) -> None:
    assert _utc(geojson["epoch"]) == START_UTC
    assert _utc(czml[0]["clock"]["currentTime"]) == START_UTC


def test_default_epoch(tmp_path: Path) -> None:
    make_results_dir(tmp_path, n_threats=2, points_per_threat=10)
    doc = geojson_document(load_export_run(tmp_path))
    epoch = datetime.fromisoformat(DEFAULT_EPOCH_UTC)
    assert _utc(doc["epoch"]) == epoch == datetime(2026, 1, 1, tzinfo=UTC)
    threat = next(f for f in doc["features"] if f["properties"]["layer"] == "threat")
    tid = threat["properties"]["threat_id"]
    # synthetic threat i starts at 10 i seconds
    assert _utc(threat["properties"]["start_time"]) == epoch + timedelta(seconds=10.0 * tid)


# ----------------------------------------------------------------------------- KML
def test_kml_structure(run_dir: tuple[Path, dict[str, Any]], kml_root: ET.Element) -> None:
    text = (run_dir[0] / "run.kml").read_text(encoding="utf-8")
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert 'xmlns="http://www.opengis.net/kml/2.2"' in text
    assert 'xmlns:gx="http://www.google.com/kml/ext/2.2"' in text
    assert kml_root.tag == f"{KML}kml"
    doc = kml_root.find(f"{KML}Document")
    assert doc is not None
    folders = [f.findtext(f"{KML}name") for f in doc.findall(f"{KML}Folder")]
    assert folders == ["Assets", "Batteries", "Sensors", "Coverage", "Threats",
                       "Interceptors", "Events"]
    styles = {s.get("id") for s in doc.findall(f"{KML}Style")}
    for url in doc.iter(f"{KML}styleUrl"):
        assert url.text and url.text[1:] in styles
    for coords in doc.iter(f"{KML}coordinates"):
        for tup in (coords.text or "").split():
            lon, lat = (float(v) for v in tup.split(",")[:2])
            assert abs(lat - 45.0) < 5.0 and abs(lon - 10.0) < 8.0


def test_kml_tracks_equal_truth(kml_root: ET.Element, truth: dict[int, dict[str, np.ndarray]],
                                flyouts: dict[int, dict[str, np.ndarray]]) -> None:
    doc = kml_root.find(f"{KML}Document")
    assert doc is not None
    seen: dict[str, set[int]] = {"Threats": set(), "Interceptors": set()}
    for folder in doc.findall(f"{KML}Folder"):
        name = folder.findtext(f"{KML}name")
        if name not in seen:
            continue
        for pm in folder.findall(f"{KML}Placemark"):
            data = {d.get("name"): d.findtext(f"{KML}value")
                    for d in pm.iter(f"{KML}Data")}
            key = "threat_id" if name == "Threats" else "interceptor_id"
            ident = int(data[key] or -1)
            seen[name].add(ident)
            track = pm.find(f"{GX}Track")
            assert track is not None
            assert track.findtext(f"{KML}altitudeMode") == "absolute"
            whens = [w.text or "" for w in track.findall(f"{KML}when")]
            coords = np.array([[float(v) for v in (c.text or "").split()]
                               for c in track.findall(f"{GX}coord")])
            assert len(whens) == coords.shape[0] >= 2
            t = np.array([_sim_s(w) for w in whens])
            ref = truth[ident] if name == "Threats" else flyouts[ident]
            _check_samples(ref, t, coords[:, 0], coords[:, 1], coords[:, 2],
                           DEFAULT_TOLERANCE_M)
    assert seen["Threats"] == set(truth) and seen["Interceptors"] == set(flyouts)


def test_kml_events_have_timestamps(kml_root: ET.Element,
                                    run_dir: tuple[Path, dict[str, Any]]) -> None:
    doc = kml_root.find(f"{KML}Document")
    assert doc is not None
    events = next(f for f in doc.findall(f"{KML}Folder") if f.findtext(f"{KML}name") == "Events")
    log = [e for e in _events(run_dir[0]) if e["kind"] in (
        "intercept_kill", "intercept_miss", "leak", "crash", "self_destruct")]
    placemarks = events.findall(f"{KML}Placemark")
    assert len(placemarks) == len(log)
    times = sorted(_sim_s(pm.findtext(f"{KML}TimeStamp/{KML}when") or "") for pm in placemarks)
    assert times == pytest.approx(sorted(e["time_s"] for e in log), abs=5e-4)
    for pm in placemarks:
        assert pm.find(f"{KML}Point/{KML}coordinates") is not None


# ----------------------------------------------------------------------------- CZML
def test_czml_document_packet_and_ids(czml: list[dict[str, Any]]) -> None:
    first = czml[0]
    assert first["id"] == "document" and first["version"] == "1.0"
    clock = first["clock"]
    assert {"interval", "currentTime", "multiplier", "range", "step"} <= set(clock)
    assert clock["range"] == "LOOP_STOP" and clock["step"] == "SYSTEM_CLOCK_MULTIPLIER"
    start, end = _interval(clock["interval"])
    assert start == 0.0 and end >= 1800.0
    ids = [p["id"] for p in czml]
    assert len(ids) == len(set(ids))
    assert all(p.get("parent") in ids for p in czml if "parent" in p)
    assert not any(p["id"] == "document" for p in czml[1:])
    labels = {p["id"].split("/")[0] for p in czml if "label" in p}
    assert {"asset", "battery"} <= labels


def test_czml_positions_equal_truth(czml: list[dict[str, Any]],
                                    truth: dict[int, dict[str, np.ndarray]],
                                    flyouts: dict[int, dict[str, np.ndarray]]) -> None:
    moving: dict[str, set[int]] = {"threat": set(), "interceptor": set()}
    for p in czml[1:]:
        pos = p.get("position")
        if pos is None:
            continue
        samples = pos["cartographicDegrees"]
        if "epoch" not in pos:
            assert len(samples) == 3                      # static [lon, lat, h]
            if "availability" in p:
                _interval(p["availability"])
            continue
        kind, ident = p["id"].split("/")
        assert len(samples) % 4 == 0 and len(samples) >= 8
        s = np.asarray(samples).reshape(-1, 4)
        t = (_utc(pos["epoch"]) - START_UTC).total_seconds() + s[:, 0]
        a, b = _interval(p["availability"])
        assert a - 1e-3 <= t[0] and t[-1] <= b + 1e-3
        ref = truth[int(ident)] if kind == "threat" else flyouts[int(ident)]
        _check_samples(ref, t, s[:, 1], s[:, 2], s[:, 3], DEFAULT_TOLERANCE_M)
        assert p["path"]["leadTime"] == 0
        moving[kind].add(int(ident))
    assert moving["threat"] == set(truth) and moving["interceptor"] == set(flyouts)


def test_czml_events_available_from_their_time(czml: list[dict[str, Any]],
                                               run_dir: tuple[Path, dict[str, Any]]) -> None:
    info = run_dir[1]
    kills = [p for p in czml if p["id"].endswith("/intercept_kill")]
    assert len(kills) == len(info["kill_points"])
    for p in kills:
        a, b = _interval(p["availability"])
        assert a <= b
        lon, lat, _ = p["position"]["cartographicDegrees"]
        tid = int(p["name"].split()[-1])
        assert (lat, lon) == pytest.approx(info["kill_points"][tid], abs=DEG_TOL)


# ----------------------------------------------------------------------------- cross-checks
def test_formats_agree_and_no_decimation_keeps_all(run_dir: tuple[Path, dict[str, Any]],
                                                   truth: dict[int, dict[str, np.ndarray]]
                                                   ) -> None:
    ex = load_export_run(run_dir[0], tolerance_m=None)
    gj = geojson_document(ex)
    for f in gj["features"]:
        if f["properties"]["layer"] == "threat":
            tid = f["properties"]["threat_id"]
            c = np.asarray(f["geometry"]["coordinates"])
            t = np.array([_sim_s(s) for s in f["properties"]["times"]])
            _check_samples(truth[tid], t, c[:, 0], c[:, 1], c[:, 2], None)
    root = ET.fromstring(kml_document(ex))
    n_kml = sum(len(tr.findall(f"{GX}coord")) for tr in root.iter(f"{GX}Track"))
    n_czml = sum(len(p["position"]["cartographicDegrees"]) // 4 for p in czml_document(ex)
                 if "position" in p and "epoch" in p["position"])
    n_geojson = sum(len(f["geometry"]["coordinates"]) for f in gj["features"]
                    if f["properties"]["layer"] in ("threat", "interceptor"))
    assert n_kml == n_czml == n_geojson == ex.threats.recorded.sum() + \
        ex.interceptors.recorded.sum()


def test_decimation_shrinks_a_dense_raid(tmp_path: Path) -> None:
    make_results_dir(tmp_path, n_threats=120, points_per_threat=300)
    _give_altitudes(tmp_path)
    full = load_export_run(tmp_path, tolerance_m=None)
    small = load_export_run(tmp_path)
    assert small.threats.time_s.size < full.threats.time_s.size / 5
    size_full = len(json.dumps(czml_document(full), separators=(",", ":")))
    size_small = len(json.dumps(czml_document(small), separators=(",", ":")))
    assert size_small < size_full / 3


def test_run_without_tables(tmp_path: Path) -> None:
    make_results_dir(tmp_path, n_threats=2, points_per_threat=10)
    for name in ("truth.parquet", "interceptors.parquet", "events.parquet"):
        (tmp_path / name).unlink()
    write_exports(tmp_path)
    doc = json.loads((tmp_path / "run.geojson").read_text(encoding="utf-8"))
    assert not [f for f in doc["features"] if f["properties"]["layer"] == "threat"]
    ET.parse(tmp_path / "run.kml")
    assert json.loads((tmp_path / "run.czml").read_text(encoding="utf-8"))[0]["id"] == "document"


# ----------------------------------------------------------------------------- bad input
def _no_exports(outdir: Path) -> bool:
    return not any((outdir / n).exists() for n in ("run.geojson", "run.kml", "run.czml"))


def test_missing_summary(tmp_path: Path) -> None:
    make_results_dir(tmp_path, n_threats=2, points_per_threat=10)
    (tmp_path / "summary.json").unlink()
    with pytest.raises(InputError, match="summary.json"):
        write_exports(tmp_path)
    assert _no_exports(tmp_path)


@pytest.mark.parametrize("name", ["truth.parquet", "interceptors.parquet", "events.parquet"])
def test_corrupt_table(tmp_path: Path, name: str) -> None:
    make_results_dir(tmp_path, n_threats=2, points_per_threat=10)
    (tmp_path / name).write_bytes(b"PAR1 this is not a parquet file")
    with pytest.raises(InputError, match=re.escape(name)):
        write_exports(tmp_path)
    assert _no_exports(tmp_path)


def test_corrupt_scenario(tmp_path: Path) -> None:
    make_results_dir(tmp_path, n_threats=2, points_per_threat=10)
    (tmp_path / "scenario.json").write_text('{"name": "x", "assets": [', encoding="utf-8")
    with pytest.raises(InputError, match="scenario.json"):
        write_exports(tmp_path)


@pytest.mark.parametrize(("change", "field"), [
    ({"start_time_utc": "yesterday at noon"}, "start_time_utc"),
    ({"start_time_utc": 1700000000}, "start_time_utc"),
    ({"assets": [{"id": "a", "lat_deg": "45N", "lon_deg": 10.0}]}, "assets[0].lat_deg"),
    ({"batteries": [{"id": "b", "lat_deg": 45.0, "lon_deg": 10.0, "radar_range_m": "far"}]},
     "batteries[0].radar_range_m"),
])
def test_bad_scenario_fields(tmp_path: Path, change: dict[str, Any], field: str) -> None:
    make_results_dir(tmp_path, n_threats=2, points_per_threat=10)
    _set_scenario(tmp_path, **change)
    with pytest.raises(InputError) as err:
        write_exports(tmp_path)
    assert "scenario.json" in str(err.value) and err.value.field == field
    assert _no_exports(tmp_path)


def test_unknown_format(tmp_path: Path) -> None:
    make_results_dir(tmp_path, n_threats=2, points_per_threat=10)
    with pytest.raises(InputError, match="shapefile"):
        write_exports(tmp_path, formats=("geojson", "shapefile"))
    assert _no_exports(tmp_path)


def test_math_sanity_of_helpers() -> None:
    # 2 degree steps: a circle ring has 180 distinct vertices plus the closing one
    assert sector_ring(45.0, 10.0, 1e4).shape == (181, 2)
    assert math.isclose(abs(_shoelace(np.array([[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]))), 1.0)
