"""The replay data and the charts of the run report, decoded from the page.

References, each computed here independently of the report code: geodesic polar coordinates
(geographiclib) of the truth.parquet points for the replay positions; the terminal events for
the fate colours; a direct count of launch events for the inventory; truth.parquet rows for
the threats in flight; the engage / launch / intercept events for the Gantt bars; the tangent
length over a 4/3 earth (Pythagoras) for the horizon rings; a textbook recursive top-down
time-ratio simplification for ``simplify_trajectories``; and a real engine run for the antenna
heights of scenario.json.
"""

from __future__ import annotations

import base64
import json
import math
import re
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from geographiclib.geodesic import Geodesic
from hypothesis import given, settings
from hypothesis import strategies as st

from shieldwall.report import FATE_COLOURS, simplify_trajectories, write_report
from synthetic_results import ORIGIN, make_results_dir

GEOD = Geodesic.WGS84
TERMINAL = {"intercept_kill": "intercepted", "leak": "leaked", "crash": "crashed",
            "expire": "expired"}
EARTH_MEAN_RADIUS_M = 6371008.8   # IUGG mean radius R1
K_REFRACTION = 4.0 / 3.0


# ----------------------------------------------------------------------------- helpers
def _json_script(html: str, element_id: str) -> Any:
    m = re.search(rf'<script type="application/json" id="{element_id}">(.*?)</script>', html,
                  flags=re.S)
    assert m, element_id
    return json.loads(m.group(1))


def _i32(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype="<i4").astype(np.int64)


def _page(outdir: Path) -> tuple[str, dict[str, Any], dict[str, Any]]:
    html = write_report(outdir).read_text(encoding="utf-8")
    return html, _json_script(html, "replay-data"), _json_script(html, "chart-data")


class Trails:
    """Decoded timed polylines of the replay (threats or interceptors)."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.off = _i32(doc["offsets"])
        self.x, self.y, self.t = _i32(doc["x"]), _i32(doc["y"]), _i32(doc["t"])

    def points(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        a, b = self.off[i], self.off[i + 1]
        return self.x[a:b], self.y[a:b], self.t[a:b]

    def at(self, i: int, t_s: float) -> np.ndarray | None:
        """Position at t, linear in time between kept points (as the page draws it)."""
        x, y, t = self.points(i)
        tms = t_s * 1000.0
        if t.size == 0 or tms < t[0]:
            return None
        j = int(np.searchsorted(t, tms, side="right")) - 1
        if j >= t.size - 1:
            return np.array([x[-1], y[-1]], float)
        u = (tms - t[j]) / (t[j + 1] - t[j]) if t[j + 1] > t[j] else 0.0
        return np.array([x[j] + u * (x[j + 1] - x[j]), y[j] + u * (y[j + 1] - y[j])])


def _geodesic_aeqd(lat: float, lon: float) -> np.ndarray:
    g = GEOD.Inverse(ORIGIN[0], ORIGIN[1], lat, lon)
    a = math.radians(g["azi1"])
    return np.array([g["s12"] * math.sin(a), g["s12"] * math.cos(a)])


def _events(outdir: Path) -> list[dict[str, Any]]:
    rows = pq.read_table(outdir / "events.parquet").to_pylist()
    for r in rows:
        r["d"] = json.loads(r["detail"]) if r["detail"] else {}
    return rows


def _write_events(outdir: Path, rows: list[dict[str, Any]]) -> None:
    rows = sorted(rows, key=lambda r: r["time_s"])
    cols = ["time_s", "kind", "threat_id", "track_id", "battery_id", "interceptor_id",
            "interceptor_type", "lat_deg", "lon_deg", "alt_m", "value", "detail"]
    pq.write_table(pa.table({c: [r[c] for r in rows] for c in cols}),
                   outdir / "events.parquet")


def _event(time_s: float, kind: str, detail: dict[str, Any] | None = None,
           **kw: Any) -> dict[str, Any]:
    row = dict(time_s=time_s, kind=kind, threat_id=-1, track_id=-1, battery_id="",
               interceptor_id=-1, interceptor_type="", lat_deg=float("nan"),
               lon_deg=float("nan"), alt_m=float("nan"), value=float("nan"),
               detail=json.dumps(detail) if detail else "")
    row.update(kw)
    return row


def _step_value(x: list[float], y: list[int], t: float) -> int:
    k = int(np.searchsorted(np.asarray(x), t, side="right")) - 1
    return int(y[k]) if k >= 0 else 0


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def rich(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The synthetic run with antenna heights for two of its three radars and the engagement
    cases the synthetic log lacks: two rounds (miss then kill), a round linked to its
    engagement only through its interceptor id (self_destruct), and an engagement still
    pending at the end."""
    outdir = tmp_path_factory.mktemp("rich")
    info = make_results_dir(outdir, n_threats=9, points_per_threat=60)
    scenario = info["scenario"]
    scenario["batteries"][0].update(alt_m=120.0, antenna_height_m=5.0)
    scenario["sensors"][0].update(alt_m=300.0, antenna_height_m=30.0)
    (outdir / "scenario.json").write_text(json.dumps(scenario), encoding="utf-8")
    rows = _events(outdir)
    kill4 = next(r for r in rows if r["kind"] == "intercept_kill" and r["threat_id"] == 4)
    t4 = kill4["time_s"]
    extra = [
        _event(t4 - 45, "launch", {"engagement_id": 4}, track_id=104, battery_id="pat-1",
               interceptor_id=950, interceptor_type="pac3-mse"),
        _event(t4 - 3, "intercept_miss", {"engagement_id": 4, "miss_m": 40.0, "pk": 0.85},
               threat_id=4, track_id=104, battery_id="pat-1", interceptor_id=950,
               interceptor_type="pac3-mse", lat_deg=45.1, lon_deg=10.1),
        _event(100.0, "engage", {"engagement_id": 900, "rounds": 2, "pk": 0.5,
                                 "reason": "two rounds"}, threat_id=1, track_id=101,
               battery_id="pat-1", interceptor_type="pac3-mse"),
        _event(105.0, "launch", {"engagement_id": 900}, track_id=101, battery_id="pat-1",
               interceptor_id=951, interceptor_type="pac3-mse"),
        _event(106.0, "launch", {"engagement_id": 900}, track_id=101, battery_id="pat-1",
               interceptor_id=952, interceptor_type="pac3-mse"),
        _event(130.0, "intercept_miss", {"engagement_id": 900, "miss_m": 80.0, "pk": 0.5},
               threat_id=1, track_id=101, battery_id="pat-1", interceptor_id=951,
               interceptor_type="pac3-mse", lat_deg=45.2, lon_deg=10.2),
        _event(140.0, "self_destruct", {"reason": 1}, track_id=101, battery_id="pat-1",
               interceptor_id=952, interceptor_type="pac3-mse"),
        _event(200.0, "engage", {"engagement_id": 901, "rounds": 1, "pk": 0.7},
               threat_id=2, track_id=102, battery_id="iris-1", interceptor_type="iris-t-slm"),
        _event(205.0, "launch", {"engagement_id": 901}, track_id=102, battery_id="iris-1",
               interceptor_id=953, interceptor_type="iris-t-slm"),
        _event(30.0, "track_confirmed", threat_id=3, track_id=103),
        _event(31.0, "track_confirmed", threat_id=3, track_id=113),
    ]
    _write_events(outdir, rows + extra)
    html, replay, charts = _page(outdir)
    return {"outdir": outdir, "info": info, "html": html, "replay": replay, "charts": charts,
            "scenario": scenario}


def _curved_truth(outdir: Path, n_threats: int, n_points: int, dt_s: float
                  ) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Overwrite truth.parquet with turning, accelerating, loitering tracks; return each
    threat's times and exact plane positions (geodesic distance and azimuth from the origin,
    so the reference needs no projection code)."""
    truth = pq.read_table(outdir / "truth.parquet").to_pylist()
    labels = {r["threat_id"]: (r["threat_type"], r["threat_class"]) for r in truth}
    cols: dict[str, list[Any]] = defaultdict(list)
    ref: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for i in range(n_threats):
        u = np.linspace(0.0, 1.0, n_points)
        # Loiter (no motion) over the middle fifth, speeding up before and after.
        w = np.clip(np.where(u < 0.4, u / 0.4 * 0.5, np.where(u < 0.6, 0.5,
                                                                0.5 + (u - 0.6) / 0.4 * 0.5)),
                    0, 1) ** 2
        dist = 120e3 - 90e3 * w + 4e3 * np.sin(9.0 * u)
        azim = 35.0 * i + 140.0 * w
        t = 40.0 * i + np.arange(n_points) * dt_s
        lat, lon = [], []
        for s, a in zip(dist, azim, strict=True):
            g = GEOD.Direct(ORIGIN[0], ORIGIN[1], float(a), float(s))
            lat.append(g["lat2"])
            lon.append(g["lon2"])
        ref[i] = (t, np.column_stack([dist * np.sin(np.radians(azim)),
                                      dist * np.cos(np.radians(azim))]))
        cols["time_s"] += t.tolist()
        cols["threat_id"] += [i] * n_points
        cols["threat_type"] += [labels[i][0]] * n_points
        cols["threat_class"] += [labels[i][1]] * n_points
        cols["lat_deg"] += lat
        cols["lon_deg"] += lon
        cols["alt_m"] += [300.0] * n_points
    pq.write_table(pa.table(dict(cols)), outdir / "truth.parquet")
    return ref


# ----------------------------------------------------------------------------- trajectories
def _tdtr_reference(x: np.ndarray, y: np.ndarray, t: np.ndarray, tol: float) -> np.ndarray:
    """Textbook recursive top-down time-ratio simplification (synchronized distance)."""
    keep = np.zeros(x.size, bool)
    if x.size == 0:
        return keep
    keep[0] = keep[-1] = True

    def rec(a: int, b: int) -> None:
        if b - a < 2:
            return
        best, best_d = -1, -1.0
        for k in range(a + 1, b):
            u = (t[k] - t[a]) / (t[b] - t[a]) if t[b] > t[a] else 0.0
            d = math.hypot(x[k] - x[a] - u * (x[b] - x[a]), y[k] - y[a] - u * (y[b] - y[a]))
            if d > best_d:
                best, best_d = k, d
        if best_d > tol:
            keep[best] = True
            rec(a, best)
            rec(best, b)

    rec(0, x.size - 1)
    return keep


@settings(max_examples=60, deadline=None)
@given(lengths=st.lists(st.integers(0, 40), min_size=1, max_size=6),
       seed=st.integers(0, 2**32 - 1), tol=st.floats(0.05, 3.0))
def test_simplify_trajectories_equals_recursive_reference(lengths: list[int], seed: int,
                                                          tol: float) -> None:
    rng = np.random.default_rng(seed)
    n = sum(lengths)
    x = np.cumsum(rng.normal(1.0, 1.0, n))
    y = np.cumsum(rng.normal(0.0, 1.0, n))
    t = np.cumsum(rng.choice([0.0, 0.5, 1.0, 3.0], n))    # repeated times and stops included
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    keep = simplify_trajectories(x, y, t, offsets, tol)
    expected = np.concatenate([_tdtr_reference(x[a:b], y[a:b], t[a:b], tol)
                               for a, b in zip(offsets[:-1], offsets[1:], strict=True)])
    np.testing.assert_array_equal(keep, expected)


def test_synchronized_distance_catches_speed_changes_on_a_straight_line() -> None:
    # A straight line travelled slowly then fast: plain RDP keeps the two ends only, but the
    # position at mid-time would then be wrong by a quarter of the line.
    t = np.arange(11.0)
    x = np.concatenate([np.linspace(0.0, 10.0, 6), np.linspace(30.0, 100.0, 5)])
    keep = simplify_trajectories(x, np.zeros(11), t, np.array([0, 11]), 0.5)
    kept = np.flatnonzero(keep)
    assert 5 in kept or 6 in kept
    interp = np.interp(t, t[kept], x[kept])
    assert np.abs(interp - x).max() <= 0.5


def test_replayed_positions_match_truth_within_tolerance(tmp_path: Path) -> None:
    outdir = tmp_path / "curved"
    make_results_dir(outdir, n_threats=5)
    ref = _curved_truth(outdir, n_threats=5, n_points=400, dt_s=1.5)
    _, doc, _ = _page(outdir)
    trails = Trails(doc["threats"])
    ids = doc["threats"]["id"]
    tol = doc["tolerance_m"]
    assert 5.0 < tol < 1000.0
    kept_total = 0
    for i, tid in enumerate(ids):
        t, en = ref[tid]
        speed = np.hypot(*np.diff(en, axis=0).T) / np.diff(t)
        # Rounding: whole metres at both ends of a segment, whole milliseconds in time.
        slack = 0.75 + 0.0005 * speed.max() + 0.05
        for k in range(t.size):
            p = trails.at(i, float(t[k]))
            assert p is not None
            assert np.linalg.norm(p - en[k]) <= tol + slack, (tid, t[k])
        x, y, tt = trails.points(i)
        kept_total += x.size
        # The kept points are recorded points (rounded): first and last in time.
        assert tt[0] == round(t[0] * 1000) and tt[-1] == round(t[-1] * 1000)
        assert np.linalg.norm(np.array([x[0], y[0]]) - en[0]) < 0.75 + 0.05
    assert kept_total < 0.5 * 5 * 400     # and it is a real simplification


# ----------------------------------------------------------------------------- the page data
def test_fate_colours_follow_the_terminal_events(rich: dict[str, Any]) -> None:
    doc = rich["replay"]
    fate_of: dict[int, str] = {}
    for r in sorted(_events(rich["outdir"]), key=lambda r: r["time_s"]):
        if r["kind"] in TERMINAL and r["threat_id"] >= 0:
            fate_of.setdefault(r["threat_id"], TERMINAL[r["kind"]])
    truth_ids = set(pq.read_table(rich["outdir"] / "truth.parquet").column("threat_id")
                    .to_pylist())
    th = doc["threats"]
    assert set(th["id"]) == truth_ids
    for tid, f in zip(th["id"], th["fate"], strict=True):
        fate = fate_of.get(tid, "unknown")
        assert doc["fates"][f] == fate
        assert doc["fate_colours"][f] == FATE_COLOURS[fate]
    assert {doc["fates"][f] for f in th["fate"]} == {"intercepted", "leaked", "crashed",
                                                     "expired"}


def test_threat_hover_data(rich: dict[str, Any]) -> None:
    doc = rich["replay"]
    th, eng = doc["threats"], doc["engagements"]
    k3 = th["id"].index(3)
    assert th["tracks"][k3] == [103, 113]
    assert _i32(th["tracked_ms"])[k3] == 30000
    # Every engagement is listed under the threat it engaged (and under those it hit).
    for m, (eid, tid) in enumerate(zip(eng["id"], eng["threat"], strict=True)):
        if tid >= 0:
            assert m in th["engagements"][th["id"].index(tid)], eid
    k1 = th["id"].index(1)
    listed = {eng["id"][m] for m in th["engagements"][k1]}
    assert listed == {900}
    m900 = eng["id"].index(900)
    assert doc["batteries"][eng["battery"][m900]]["id"] == "pat-1"
    assert doc["interceptor_types"][eng["type"][m900]] == "pac3-mse"
    assert eng["pk"][m900] == 0.5 and eng["launched"][m900] == 2
    assert doc["results"][eng["result"][m900]] == "miss"


def test_marks_and_flyouts_at_geodesic_positions(rich: dict[str, Any]) -> None:
    doc, info = rich["replay"], rich["info"]
    mk = doc["marks"]
    x, y, t = _i32(mk["x"]), _i32(mk["y"]), _i32(mk["t"])
    events = _events(rich["outdir"])
    expected = [r for r in events if r["kind"] in mk["kinds"] and not math.isnan(r["lat_deg"])]
    assert len(expected) == len(mk["kind"])
    got = sorted(zip(t.tolist(), [mk["kinds"][k] for k in mk["kind"]], mk["threat"],
                     x.tolist(), y.tolist(), strict=True))
    for r, (tm, kind, tid, gx, gy) in zip(sorted(expected, key=lambda r: (
            round(r["time_s"] * 1000), r["kind"], r["threat_id"])), got, strict=True):
        assert (tm, kind, tid) == (round(r["time_s"] * 1000), r["kind"], r["threat_id"])
        assert np.linalg.norm(np.array([gx, gy]) - _geodesic_aeqd(r["lat_deg"],
                                                                   r["lon_deg"])) < 0.8
    for tid, (lat, lon) in info["kill_points"].items():
        k = next(j for j in range(len(mk["kind"]))
                 if mk["threat"][j] == tid and mk["kinds"][mk["kind"][j]] == "intercept_kill")
        assert np.linalg.norm(np.array([x[k], y[k]]) - _geodesic_aeqd(lat, lon)) < 0.8

    # Flyouts start at their battery's site at the launch time, then follow the recorded path.
    fl = pq.read_table(rich["outdir"] / "interceptors.parquet").to_pylist()
    by_id: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in fl:
        by_id[r["interceptor_id"]].append(r)
    launch = {r["interceptor_id"]: r for r in events if r["kind"] == "launch"}
    ic = doc["interceptors"]
    trails = Trails(ic)
    assert sorted(ic["id"]) == sorted(by_id)
    sites = {b["id"]: b for b in rich["scenario"]["batteries"]}
    for i, iid in enumerate(ic["id"]):
        bx, by, bt = trails.points(i)
        bat = doc["batteries"][ic["battery"][i]]["id"]
        assert bat == launch[iid]["battery_id"]
        site = _geodesic_aeqd(sites[bat]["lat_deg"], sites[bat]["lon_deg"])
        assert np.linalg.norm(np.array([bx[0], by[0]]) - site) < 0.8
        assert bt[0] == round(launch[iid]["time_s"] * 1000)
        last = max(by_id[iid], key=lambda r: r["time_s"])
        assert bt[-1] == round(last["time_s"] * 1000)
        assert np.linalg.norm(np.array([bx[-1], by[-1]])
                              - _geodesic_aeqd(last["lat_deg"], last["lon_deg"])) < 0.8
        eid = launch[iid]["d"]["engagement_id"]
        engaged = next(r for r in events if r["kind"] == "engage"
                       and r["d"].get("engagement_id") == eid)
        assert ic["target"][i] == engaged["threat_id"]
        assert ic["result"][i] == "kill"


def _reference_engagements(events: list[dict[str, Any]], duration: float
                           ) -> dict[int, tuple[str, float, float, str]]:
    """engagement id -> (battery, start, end, result) straight from the events."""
    launched: dict[int, list[int]] = defaultdict(list)
    start: dict[int, float] = {}
    battery: dict[int, str] = {}
    for r in events:
        eid = r["d"].get("engagement_id")
        if r["kind"] == "engage":
            start[eid], battery[eid] = r["time_s"], r["battery_id"]
        elif r["kind"] == "launch":
            launched[eid].append(r["interceptor_id"])
    owner = {iid: eid for eid, ids in launched.items() for iid in ids}
    outcomes: dict[int, list[tuple[float, str]]] = defaultdict(list)
    for r in events:
        if r["kind"] in ("intercept_kill", "intercept_miss", "self_destruct"):
            eid = r["d"].get("engagement_id", owner.get(r["interceptor_id"]))
            if eid is not None:
                outcomes[eid].append((r["time_s"], r["kind"]))
    out = {}
    for eid, t0 in start.items():
        got = outcomes.get(eid, [])
        if any(k == "intercept_kill" for _, k in got):
            result = "kill"
        elif launched.get(eid) and len(got) >= len(launched[eid]):
            result = "miss"
        else:
            result = "pending"
        end = max(t for t, _ in got) if result != "pending" else duration
        out[eid] = (battery[eid], t0, end, result)
    return out


def test_gantt_bars_against_the_events(rich: dict[str, Any]) -> None:
    fig = rich["charts"]["gantt"]
    duration = rich["scenario"]["duration_s"]
    ref = _reference_engagements(_events(rich["outdir"]), duration)
    assert {ref[900][3], ref[901][3], ref[4][3]} == {"miss", "pending", "kill"}
    seen = {}
    min_width = 0.002 * duration
    for trace in fig["data"]:
        assert trace["type"] == "bar" and trace["orientation"] == "h"
        for base, width, y, eid, text in zip(trace["base"], trace["x"], trace["y"],
                                             trace["customdata"], trace["hovertext"],
                                             strict=True):
            bat, t0, t1, result = ref[eid]
            assert trace["name"] == result
            assert base == pytest.approx(t0, abs=1e-3)
            assert width == pytest.approx(max(t1 - t0, min_width), abs=1e-3)
            assert f"#{eid}: {bat}," in text
            seen[eid] = (bat, y, base, base + width)
    assert set(seen) == set(ref)
    # No two bars on one lane overlap, and a lane holds one battery's engagements only.
    lanes: dict[int, list[tuple[str, float, float]]] = defaultdict(list)
    for bat, y, a, b in seen.values():
        lanes[y].append((bat, a, b))
    for items in lanes.values():
        assert len({bat for bat, _, _ in items}) == 1
        items.sort(key=lambda v: v[1])
        for (_, _, b0), (_, a1, _) in zip(items, items[1:], strict=False):
            assert b0 < a1
    assert fig["layout"]["yaxis"]["ticktext"] == ["pat-1", "iris-1"]


def test_inventory_steps_down_at_each_launch(rich: dict[str, Any]) -> None:
    fig = rich["charts"]["inventory"]
    events = _events(rich["outdir"])
    duration = rich["scenario"]["duration_s"]
    loads = {b["id"]: sum(b["interceptors"].values()) for b in rich["scenario"]["batteries"]}
    traces = {tr["name"]: tr for tr in fig["data"]}
    assert set(traces) == set(loads)
    for bat, initial in loads.items():
        times = sorted(r["time_s"] for r in events
                       if r["kind"] == "launch" and r["battery_id"] == bat)
        assert times, bat
        tr = traces[bat]
        assert tr["line"]["shape"] == "hv"
        probes = [0.0, duration] + times + [t - 1e-3 for t in times] + [t + 1e-3 for t in times]
        for t in probes:
            assert _step_value(tr["x"], tr["y"], t) == initial - sum(1 for s in times if s <= t)
    # The hover data: launch times per type.
    for b in rich["replay"]["batteries"]:
        for itype, ms in b["launch_ms"].items():
            assert ms == sorted(round(r["time_s"] * 1000) for r in events
                                if r["kind"] == "launch" and r["battery_id"] == b["id"]
                                and r["interceptor_type"] == itype)


def test_threats_in_flight_match_truth_rows(rich: dict[str, Any]) -> None:
    truth = pq.read_table(rich["outdir"] / "truth.parquet").to_pylist()
    duration = rich["scenario"]["duration_s"]
    rows_at: dict[float, Counter[str]] = defaultdict(Counter)
    first: dict[int, float] = {}
    last: dict[int, float] = {}
    cls: dict[int, str] = {}
    for r in truth:
        rows_at[r["time_s"]][r["threat_class"]] += 1
        tid = r["threat_id"]
        first[tid] = min(first.get(tid, math.inf), r["time_s"])
        last[tid] = max(last.get(tid, -math.inf), r["time_s"])
        cls[tid] = r["threat_class"]
    traces = {tr["name"]: tr for tr in rich["charts"]["inflight"]["data"]}
    assert set(traces) == set(cls.values())
    times = sorted(t for t in rows_at if 0.0 <= t <= duration)
    probes = times + [(a + b) / 2 for a, b in zip(times, times[1:], strict=False)]
    for t in probes:
        for c, tr in traces.items():
            expected = (rows_at[t][c] if t in rows_at else
                        sum(1 for tid in first if cls[tid] == c and first[tid] <= t <= last[tid]))
            assert _step_value(tr["x"], tr["y"], t) == expected, (t, c)
    # The replay's in-flight intervals (visibleThreats in the page) are the same.
    th = rich["replay"]["threats"]
    start, end = _i32(th["start_ms"]), _i32(th["end_ms"])
    for k, tid in enumerate(th["id"]):
        assert start[k] == math.floor(first[tid] * 1000)
        assert end[k] == math.ceil(last[tid] * 1000)


def _arc_radius(el: ET.Element) -> float:
    if el.tag.endswith("circle"):
        return float(el.get("r"))
    m = re.search(r"A([-\d.]+) ([-\d.]+) ", el.get("d"))
    assert m
    return float(m.group(1))


def _tangent_m(h: float) -> float:
    """Line-of-sight distance to the horizon of a height h over the sphere of radius k R."""
    re_ = K_REFRACTION * EARTH_MEAN_RADIUS_M
    return math.sqrt((re_ + h) ** 2 - re_**2)


def test_horizon_rings_follow_the_four_thirds_earth(rich: dict[str, Any]) -> None:
    doc, html, sc = rich["replay"], rich["html"], rich["scenario"]
    cov = doc["coverage"]
    expected_sites = ([(b["id"], b.get("alt_m", 0.0) + b.get("antenna_height_m", 10.0),
                        b["radar_range_m"], "alt_m" in b) for b in sc["batteries"]]
                      + [(s["id"], s.get("alt_m", 0.0) + s.get("antenna_height_m", 10.0),
                          s["range_m"], "alt_m" in s) for s in sc["sensors"]])
    assert [(s["id"], s["antenna_alt_m"], s["range_m"], s["heights_known"])
            for s in cov["sites"]] == expected_sites
    assert cov["altitudes_m"] == [30, 100, 300, 1000, 3000, 10000]
    for k, (_, antenna, rng, _) in enumerate(expected_sites):
        for j, h in enumerate(cov["altitudes_m"]):
            horizon = _tangent_m(antenna) + _tangent_m(h)
            # The textbook form 4.12 km (sqrt(h_a) + sqrt(h_t)) agrees to 0.1 %.
            assert horizon == pytest.approx(4120.0 * (math.sqrt(antenna) + math.sqrt(h)),
                                            rel=1e-3)
            assert cov["range_m"][k][j] == pytest.approx(min(rng, horizon), abs=0.06)
        # Low fliers are seen late: far inside the instrumented range at 30 m.
        assert cov["range_m"][k][0] < 0.6 * rng
        assert cov["range_m"][k][0] < cov["range_m"][k][-1]

    # The drawn rings (both maps) at the default altitude.
    j = cov["altitudes_m"].index(cov["default_m"])
    svgs = re.findall(r"<svg\b.*?</svg>", re.sub(r"<script\b[^>]*>.*?</script>", "", html,
                                                 flags=re.S), flags=re.S)
    n = 0
    for block in svgs:
        root = ET.fromstring(block)
        view = "defended" if root.get("id") == "defended-map" else "theatre"
        scale = doc["views"][view]["scale"]
        for el in root.iter():
            if el.get("class") in ("hcov", "hcov-ew") and el.get("data-site") is not None:
                k = int(el.get("data-site"))
                assert el.get("data-site-id") == expected_sites[k][0]
                assert float(el.get("data-antenna-alt-m")) == expected_sites[k][1]
                assert float(el.get("data-range-m")) == expected_sites[k][2]
                assert float(el.get("data-scale")) == pytest.approx(scale, rel=1e-6)
                assert _arc_radius(el) == pytest.approx(cov["range_m"][k][j] * scale, abs=0.06)
                n += 1
    assert n == 2 * len(expected_sites)
    # The coverage table names the assumed height of the radar scenario.json left without.
    assert "taken as 0 m ground + 10 m mast" in html


def test_views_match_the_drawn_sites(rich: dict[str, Any]) -> None:
    doc, html = rich["replay"], rich["html"]
    svgs = re.findall(r"<svg\b.*?</svg>", re.sub(r"<script\b[^>]*>.*?</script>", "", html,
                                                 flags=re.S), flags=re.S)
    n = 0
    for block in svgs:
        root = ET.fromstring(block)
        view = doc["views"]["defended" if root.get("id").startswith("defended-") else "theatre"]
        for g in root.iter("g"):
            if g.get("class") != "battery":
                continue
            n += 1
            b = next(b for b in doc["batteries"] if b["id"] == g.get("data-battery-id"))
            c = next(g.iter("circle"))
            assert float(c.get("cx")) == pytest.approx(view["x0"] + view["scale"] * b["east_m"],
                                                       abs=0.1)
            assert float(c.get("cy")) == pytest.approx(view["y0"] - view["scale"] * b["north_m"],
                                                       abs=0.1)
    assert n == 2 * len(doc["batteries"])


# ----------------------------------------------------------------------------- a real run
@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from shieldwall.analysis.results import write_run_directory
    from shieldwall.engine import simulate
    from shieldwall.scenario import load_scenario

    result = simulate(load_scenario(Path(__file__).parent / "data" / "browser_raid.yaml"))
    outdir = tmp_path_factory.mktemp("real") / "run"
    write_run_directory(outdir, result.summary, result.scenario_doc, result.tables)
    return outdir


def test_engine_writes_antenna_heights(real_run: Path) -> None:
    from shieldwall.catalog import load_catalog

    cat = load_catalog()
    sc = json.loads((real_run / "scenario.json").read_text(encoding="utf-8"))
    for b in sc["batteries"]:
        radar = cat.radars[cat.systems[b["system"]].radar]
        assert b["antenna_height_m"] == radar.antenna_height_m
        assert b["alt_m"] == 0.0
    (s,) = sc["sensors"]
    assert s["antenna_height_m"] == cat.radars[s["radar"]].antenna_height_m == 30.0
    assert s["alt_m"] == 200.0      # tests/data/browser_raid.yaml


def test_real_run_replay(real_run: Path) -> None:
    _, doc, charts = _page(real_run)
    truth = pq.read_table(real_run / "truth.parquet").to_pylist()
    summary = json.loads((real_run / "summary.json").read_text(encoding="utf-8"))
    trails = Trails(doc["threats"])
    index = {tid: k for k, tid in enumerate(doc["threats"]["id"])}
    tol = doc["tolerance_m"]
    for r in truth[:: max(1, len(truth) // 1500)]:
        p = trails.at(index[r["threat_id"]], r["time_s"])
        assert p is not None
        # Rounding and up to 3 km/s x 0.5 ms; the projection is within cm of the geodesic.
        err = np.linalg.norm(p - _geodesic_aeqd_about(doc, r["lat_deg"], r["lon_deg"]))
        assert err <= tol + 0.75 + 1.5 + 0.1, r
    # Interceptors left at the end agree with the engine's own account.
    (trace,) = charts["inventory"]["data"]
    assert trace["y"][-1] == sum(summary["interceptors_remaining"].values())
    assert len(doc["interceptors"]["id"]) == sum(summary["interceptors_fired"].values())


def _geodesic_aeqd_about(doc: dict[str, Any], lat: float, lon: float) -> np.ndarray:
    o = doc["origin"]
    g = GEOD.Inverse(o["lat_deg"], o["lon_deg"], lat, lon)
    a = math.radians(g["azi1"])
    return np.array([g["s12"] * math.sin(a), g["s12"] * math.cos(a)])
