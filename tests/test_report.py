"""The HTML report and the SVG map, on synthetic results directories.

References: geographiclib geodesics and pymap3d ENU for the projection, a textbook recursive
Ramer-Douglas-Peucker for the decimation, the summary.json values for the tables, and a
similarity fit of the drawn assets for the marker positions. The replay data of the page are
checked in test_report_replay.py.
"""

from __future__ import annotations

import base64
import json
import math
import os
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pymap3d
import pytest
from geographiclib.geodesic import Geodesic
from hypothesis import given, settings
from hypothesis import strategies as st

from shieldwall.core import outputs as core_outputs
from shieldwall.core.errors import InputError
from shieldwall.report import (
    FATE_COLOURS,
    LocalProjection,
    render_map_svg,
    simplify_polylines,
    thin_polylines,
    write_report,
)
from shieldwall.report import document as report_document
from shieldwall.report.page import plotly_js
from shieldwall.report.svgmap import sector_path
from synthetic_results import FATES, ORIGIN, _direct, make_results_dir

GEOD = Geodesic.WGS84


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], str]:
    outdir = tmp_path_factory.mktemp("run")
    info = make_results_dir(outdir)
    report = write_report(outdir)
    return outdir, info, report.read_text(encoding="utf-8")


# ----------------------------------------------------------------------------- helpers
class _BalancedChecker(HTMLParser):
    """Fails on a closing tag that does not match the open one (void elements excepted)."""

    VOID = {"meta", "link", "br", "hr", "img", "input", "col", "area", "base", "source",
            "wbr"}
    # SVG elements may self-close; HTMLParser reports them through handle_startendtag.

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.doctype = False

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl.lower() == "doctype html"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
        else:
            self.stack.pop()


def _without_scripts(html: str) -> str:
    """The page without its script elements (plotly.js itself contains SVG markup)."""
    return re.sub(r"<script\b[^>]*>.*?</script>", "", html, flags=re.S)


def _svg_blocks(html: str) -> list[str]:
    return re.findall(r"<svg\b.*?</svg>", _without_scripts(html), flags=re.S)


def _theatre_svg(html: str) -> ET.Element:
    """The theatre map of the report: its base and overlay SVG layers under one element."""
    both = ET.Element("layers")
    for block in _svg_blocks(html):
        root = ET.fromstring(block)
        if root.get("id") in ("map", "map-overlay"):
            both.append(root)
    assert len(both) == 2, "no theatre map"
    return both


def _table_rows(html: str, table_id: str) -> dict[str, list[tuple[str, str | None]]]:
    """Rows of a report table keyed by their data-key: list of (text, data-value) per cell."""
    m = re.search(rf'<table id="{table_id}">.*?</table>', html, flags=re.S)
    assert m, table_id
    root = ET.fromstring(m.group(0))
    rows = {}
    for tr in root.iter("tr"):
        key = tr.get("data-key")
        if key is not None:
            rows[key] = [("".join(td.itertext()), td.get("data-value")) for td in tr]
    return rows


def _translate(el: ET.Element) -> tuple[float, float]:
    m = re.fullmatch(r"translate\(([-\d.]+) ([-\d.]+)\)", el.get("transform", ""))
    assert m, el.get("transform")
    return float(m.group(1)), float(m.group(2))


def _geodesic_aeqd(lat: float, lon: float) -> np.ndarray:
    """Independent AEQD reference: geodesic distance and azimuth from the origin."""
    g = GEOD.Inverse(ORIGIN[0], ORIGIN[1], lat, lon)
    a = math.radians(g["azi1"])
    return np.array([g["s12"] * math.sin(a), g["s12"] * math.cos(a)])


# ----------------------------------------------------------------------------- projection
@settings(max_examples=60, deadline=None)
@given(lat0=st.floats(-80.0, 80.0), lon0=st.floats(-180.0, 180.0),
       azimuth=st.floats(0.0, 360.0), distance=st.floats(0.0, 500e3))
def test_projection_is_azimuthal_equidistant_against_geographiclib(
        lat0: float, lon0: float, azimuth: float, distance: float) -> None:
    g = GEOD.Direct(lat0, lon0, azimuth, distance)
    en = LocalProjection(lat0, lon0).project(g["lat2"], g["lon2"])[0]
    a = math.radians(g["azi1"])
    expected = np.array([distance * math.sin(a), distance * math.cos(a)])
    # Chord-to-arc on the local radius of curvature: error grows as d^3 (1.7 m at 500 km).
    tolerance = 0.02 + 2.5 * (distance / 500e3) ** 3
    assert np.linalg.norm(en - expected) < tolerance


def test_projection_against_pymap3d_enu_at_100_km() -> None:
    proj = LocalProjection(*ORIGIN)
    for azimuth in np.arange(0.0, 360.0, 30.0):
        lat, lon = _direct(*ORIGIN, azimuth, 100e3)
        e, n, _ = pymap3d.geodetic2enu(lat, lon, 0.0, ORIGIN[0], ORIGIN[1], 0.0)
        en = proj.project(lat, lon)[0]
        # ENU is the tangent plane: it shortens 100 km by s^3 / (6 R^2) ~ 4 m.
        assert np.linalg.norm(en - [e, n]) < 6.0
        assert math.atan2(en[0], en[1]) == pytest.approx(math.atan2(e, n), abs=1e-6)


def test_north_azimuth_matches_projected_meridian() -> None:
    proj = LocalProjection(*ORIGIN)
    site = _direct(*ORIGIN, 80.0, 150e3)
    ahead = _direct(site[0], site[1], 0.0, 5e3)  # 5 km due north along the meridian
    d = proj.project(ahead[0], ahead[1])[0] - proj.project(*site)[0]
    conv = float(proj.north_azimuth_rad(*site)[0])
    assert conv == pytest.approx(math.atan2(d[0], d[1]), abs=1e-4)
    # Meridians converge towards the pole: east of the origin, north leans left.
    assert conv < 0
    assert float(proj.north_azimuth_rad(*ORIGIN)[0]) == pytest.approx(0.0, abs=1e-9)


# ----------------------------------------------------------------------------- decimation
def _rdp_reference(x: np.ndarray, y: np.ndarray, tol: float) -> np.ndarray:
    """Textbook recursive Ramer-Douglas-Peucker with point-to-segment distance."""
    keep = np.zeros(x.size, bool)
    if x.size == 0:
        return keep
    keep[0] = keep[-1] = True

    def rec(a: int, b: int) -> None:
        if b - a < 2:
            return
        best, best_d = -1, -1.0
        ax, ay, bx, by = x[a], y[a], x[b], y[b]
        for k in range(a + 1, b):
            dx, dy = bx - ax, by - ay
            l2 = dx * dx + dy * dy
            u = 0.0 if l2 == 0 else min(1.0, max(0.0, ((x[k] - ax) * dx + (y[k] - ay) * dy) / l2))
            d = math.hypot(x[k] - ax - u * dx, y[k] - ay - u * dy)
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
def test_simplify_polylines_equals_recursive_reference(lengths: list[int], seed: int,
                                                       tol: float) -> None:
    rng = np.random.default_rng(seed)
    n = sum(lengths)
    x = np.cumsum(rng.normal(1.0, 1.0, n))
    y = np.cumsum(rng.normal(0.0, 1.0, n))
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    keep = simplify_polylines(x, y, offsets, tol)
    expected = np.concatenate([_rdp_reference(x[a:b], y[a:b], tol)
                               for a, b in zip(offsets[:-1], offsets[1:], strict=True)])
    np.testing.assert_array_equal(keep, expected)


def test_simplify_drops_collinear_points_and_bounds_the_error() -> None:
    t = np.linspace(0.0, 1.0, 500)
    line_x, line_y = 100 * t, 50 * t
    arc_x, arc_y = 100 * np.cos(3 * t), 100 * np.sin(3 * t)
    x = np.concatenate([line_x, arc_x])
    y = np.concatenate([line_y, arc_y])
    offsets = np.array([0, 500, 1000])
    keep = simplify_polylines(x, y, offsets, 0.25)
    assert keep[:500].sum() == 2
    # The sagitta of a chord over angle theta on radius R is R (1 - cos(theta / 2)) <= tol:
    # at least 3 / (2 acos(1 - 0.25 / 100)) segments are needed.
    n_min = math.ceil(3.0 / (2.0 * math.acos(1.0 - 0.25 / 100.0)))
    assert keep[500:].sum() >= n_min + 1
    kept = np.flatnonzero(keep[500:]) + 500
    # Every dropped point lies within the tolerance of its kept segment.
    for a, b in zip(kept[:-1], kept[1:], strict=True):
        for k in range(a + 1, b):
            p, q, r = np.array([x[k], y[k]]), np.array([x[a], y[a]]), np.array([x[b], y[b]])
            u = np.clip(np.dot(p - q, r - q) / np.dot(r - q, r - q), 0, 1)
            assert np.linalg.norm(p - (q + u * (r - q))) <= 0.25 + 1e-12


def test_thin_polylines_keeps_ends_and_one_point_per_cell() -> None:
    x = np.concatenate([np.linspace(0.0, 0.9, 10), np.linspace(5.0, 5.05, 4)])
    y = np.zeros(14)
    keep = thin_polylines(x, y, np.array([0, 10, 14]), 0.5)
    assert keep[[0, 9, 10, 13]].all()
    # First polyline: cells [0, 0.5) and [0.5, 1) -> start, first point of the second cell, end.
    assert keep[:10].sum() == 3


# ----------------------------------------------------------------------------- the HTML
def test_html_is_well_formed_and_svg_is_xml(small_run: tuple[Path, dict, str]) -> None:
    _, _, html = small_run
    checker = _BalancedChecker()
    checker.feed(html)
    checker.close()
    assert checker.doctype
    assert checker.errors == []
    assert checker.stack == []
    blocks = _svg_blocks(html)
    # Theatre and defended-area maps, each a base and an overlay around the replay canvas.
    ids = [ET.fromstring(b).get("id") for b in blocks]
    assert ids == ["map", "map-overlay", "defended-map", "defended-map-overlay"]


class _Elements(HTMLParser):
    """Every element's tag and attributes, by id."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.by_id: dict[str, tuple[str, dict[str, str | None]]] = {}
        self.all: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        d = dict(attrs)
        self.all.append((tag, d))
        if d.get("id"):
            self.by_id[str(d["id"])] = (tag, d)


def test_page_contract_elements(small_run: tuple[Path, dict, str]) -> None:
    _, info, html = small_run
    parser = _Elements()
    parser.feed(html)
    el = parser.by_id
    duration = info["scenario"]["duration_s"]
    assert el["map-panel"][0] in ("section", "div")
    tag, slider = el["time-slider"]
    assert tag == "input" and slider["type"] == "range"
    assert float(slider["min"]) == 0.0 and float(slider["max"]) == duration
    assert el["play"][0] == "button"
    assert el["coverage-altitude"][0] == "select"
    assert "hover-info" in el
    for chart in ("chart-gantt", "chart-inventory", "chart-inflight"):
        assert el[chart][0] == "div"
    assert el["table-engagements"][0] == "table"
    options = [float(a["value"]) for t, a in parser.all
               if t == "option" and a.get("value") is not None]
    assert {30.0, 100.0, 300.0, 1000.0, 3000.0, 10000.0} <= set(options)
    # Both the map and the replay's canvas sit inside the map panel.
    panel = html[html.index('id="map-panel"'):]
    assert panel.index("<canvas") < panel.index("</section>")
    assert 'window.shieldwallReport' in html and "dataset.ready" in html


def test_plotly_inlined_once(small_run: tuple[Path, dict, str]) -> None:
    _, _, html = small_run
    bundle = plotly_js()
    assert html.count(bundle) == 1
    assert html.count("<script") - html.count('<script type="application/json"') == 2
    # The page script cannot end its element early.
    script = report_document._asset("report.js")
    assert script in html
    assert "</script" not in script.lower() and "<!--" not in script


def test_html_references_nothing_external(small_run: tuple[Path, dict, str]) -> None:
    _, _, html = small_run
    # plotly.js is the package's own bundle (checked above); the rest, our script included,
    # names no URL at all.
    rest = html.replace(plotly_js(), "")
    assert "http://" not in rest and "https://" not in rest
    assert "//" not in _without_scripts(rest).replace("<!DOCTYPE", "")
    for m in re.finditer(r"\b(?:src|href|xlink:href|action)\s*=\s*[\"']([^\"']*)", rest):
        assert m.group(1).startswith("#"), m.group(0)
    for m in re.finditer(r"url\(([^)]*)\)", rest):
        assert m.group(1).startswith("#"), m.group(0)
    assert "@import" not in rest and "@font-face" not in rest
    assert not re.search(r"\bfetch\(|XMLHttpRequest|importScripts|new Worker", rest)


def test_one_polyline_per_threat_coloured_by_fate(small_run: tuple[Path, dict, str]) -> None:
    outdir, info, _ = small_run
    root = ET.fromstring(render_map_svg(outdir, 1100, 760))
    for el in root.iter():
        el.tag = el.tag.split("}")[-1]
    lines = [el for el in root.iter("polyline") if el.get("class") == "trk"]
    by_id = {int(el.get("data-threat-id")): el for el in lines}
    assert len(lines) == len(by_id) == len(info["fate_of"])
    for tid, fate in info["fate_of"].items():
        assert by_id[tid].get("stroke") == FATE_COLOURS[fate]
        assert len(by_id[tid].get("points").split()) >= 2
    assert {"intercepted", "leaked", "crashed", "expired"} <= set(info["fate_of"].values())


@pytest.mark.parametrize("where", ["report", "standalone"])
def test_markers_at_projected_positions(small_run: tuple[Path, dict, str], where: str) -> None:
    """Sites in the report's map and, in the standalone SVG, the markers and flyouts too."""
    outdir, info, html = small_run
    if where == "report":
        root = _theatre_svg(html)
    else:
        root = ET.fromstring(render_map_svg(outdir, 1100, 760))
        for el in root.iter():
            el.tag = el.tag.split("}")[-1]
    # Fit pixel = offset + scale * [east, -north] on the drawn assets and batteries...
    ref, px = [], []
    for g in root.iter("g"):
        if g.get("class") == "asset":
            rec = next(a for a in info["scenario"]["assets"] if a["id"] == g.get("data-asset-id"))
            c = next(g.iter("circle"))
            px.append([float(c.get("cx")), float(c.get("cy"))])
        elif g.get("class") == "battery":
            rec = next(b for b in info["scenario"]["batteries"]
                       if b["id"] == g.get("data-battery-id"))
            c = next(g.iter("circle"))
            px.append([float(c.get("cx")), float(c.get("cy"))])
        else:
            continue
        ref.append(_geodesic_aeqd(rec["lat_deg"], rec["lon_deg"]))
    ref_a, px_a = np.array(ref), np.array(px)
    design = np.column_stack([np.ones(len(ref)), ref_a[:, 0]])
    (x0, sx), *_ = np.linalg.lstsq(design, px_a[:, 0], rcond=None)
    design = np.column_stack([np.ones(len(ref)), -ref_a[:, 1]])
    (y0, sy), *_ = np.linalg.lstsq(design, px_a[:, 1], rcond=None)
    assert sx == pytest.approx(sy, rel=1e-3)  # equal scale on both axes, north up
    # ... agreeing with the scale bar ...
    bar = next(g for g in root.iter("g") if g.get("class") == "scale-bar")
    rects = list(bar.iter("rect"))[1:]
    bar_px = sum(float(r.get("width")) for r in rects)
    assert bar_px / float(bar.get("data-length-m")) == pytest.approx(sx, rel=2e-3)

    if where == "report":
        # The replay draws the markers on a canvas (test_report_replay.py); the static map has
        # the horizon-limited coverage instead, centred on the radars.
        n_rings = 0
        for el in root.iter():
            if el.get("class") in ("hcov", "hcov-ew") and el.get("data-site") is not None:
                rec = next(r for r in info["scenario"]["batteries"] + info["scenario"]["sensors"]
                           if r["id"] == el.get("data-site-id"))
                e, n = _geodesic_aeqd(rec["lat_deg"], rec["lon_deg"])
                assert float(el.get("data-cx")) == pytest.approx(x0 + sx * e, abs=0.15)
                assert float(el.get("data-cy")) == pytest.approx(y0 - sx * n, abs=0.15)
                assert float(el.get("data-scale")) == pytest.approx(sx, rel=2e-3)
                n_rings += 1
        assert n_rings == len(info["scenario"]["batteries"]) + len(info["scenario"]["sensors"])
        return

    # ... then every intercept and impact marker sits where the reference projection puts it.
    def expected(lat: float, lon: float) -> np.ndarray:
        e, n = _geodesic_aeqd(lat, lon)
        return np.array([x0 + sx * e, y0 - sx * n])

    kills = {int(g.get("data-threat-id")): _translate(g)
             for g in root.iter("g")
             if g.get("class") == "kill" and g.get("data-threat-id") is not None}
    assert set(kills) == set(info["kill_points"])
    for tid, (lat, lon) in info["kill_points"].items():
        assert np.linalg.norm(np.array(kills[tid]) - expected(lat, lon)) < 0.15
    leaks = {int(c.get("data-threat-id")): (float(c.get("cx")), float(c.get("cy")))
             for c in root.iter("circle")
             if c.get("class") == "leak" and c.get("data-threat-id") is not None}
    assert set(leaks) == set(info["leak_points"])
    for tid, (lat, lon) in info["leak_points"].items():
        assert np.linalg.norm(np.array(leaks[tid]) - expected(lat, lon)) < 0.15
    # Flyouts: one per interceptor with a recorded path, starting at its battery.
    flies = [p for p in root.iter("polyline") if p.get("class") == "fly"]
    assert len(flies) == len(info["kill_points"])


def test_summary_tables_equal_summary_json(small_run: tuple[Path, dict, str]) -> None:
    _, info, html = small_run
    s = info["summary"]
    rows = _table_rows(html, "table-fates-by-class")
    for cls, counts in s["fates_by_class"].items():
        cells = rows[cls]
        assert cells[0][0] == cls
        for k, fate in enumerate(FATES, start=1):
            assert int(cells[k][0].replace(",", "")) == counts[fate]
            assert json.loads(cells[k][1]) == counts[fate]
        assert int(cells[5][0]) == sum(counts.values())
    total = rows["total"]
    assert [int(c[0]) for c in total[1:5]] == [s["fates"][f] for f in FATES]
    assert int(total[5][0]) == s["threats"]
    rows = _table_rows(html, "table-fates-by-type")
    assert set(rows) == set(s["fates_by_type"])
    for name, counts in s["fates_by_type"].items():
        assert [int(c[0]) for c in rows[name][1:5]] == [counts[f] for f in FATES]

    rows = _table_rows(html, "table-interceptors")
    for name, n in s["interceptors_fired"].items():
        assert int(rows[name][1][0]) == n
    assert int(rows["total"][1][0]) == sum(s["interceptors_fired"].values())
    rows = _table_rows(html, "table-cost")
    for key in ("interceptor_cost_usd", "raid_cost_usd", "cost_exchange_ratio"):
        assert json.loads(rows[key][1][1]) == s[key]
    assert float(rows["interceptor_cost_usd"][1][0].strip("$").replace(",", "")) == \
        pytest.approx(s["interceptor_cost_usd"], abs=0.5)
    assert float(rows["raid_cost_usd"][1][0].strip("$").replace(",", "")) == s["raid_cost_usd"]
    assert float(rows["cost_exchange_ratio"][1][0]) == pytest.approx(
        s["cost_exchange_ratio"], abs=0.005)

    rows = _table_rows(html, "table-assets")
    for aid, d in s["asset_damage"].items():
        cells = rows[aid]
        assert json.loads(cells[2][1]) == d["value"]
        assert json.loads(cells[3][1]) == d["value_lost"]
        assert float(cells[3][0].replace(",", "")) == pytest.approx(d["value_lost"],
                                                                    abs=0.005 + 1e-9)
        assert int(cells[5][0]) == d["hits"]
    assert json.loads(rows["total"][3][1]) == s["value_lost"]
    assert json.loads(rows["total"][2][1]) == s["value_total"]

    # The key-figure cards carry the same values.
    cards = dict(re.findall(r'data-key="([^"]+)" data-value="([^"]*)"', html))
    for key in ("threats", "value_lost", "interceptor_cost_usd", "raid_cost_usd",
                "cost_exchange_ratio", "engagements", "detections", "tracks_confirmed"):
        assert json.loads(cards[key].replace("&quot;", '"')) == s[key]
    for fate in FATES:
        assert json.loads(cards[f"fates.{fate}"]) == s["fates"][fate]


def test_title_seed_banner_and_engagement_table(small_run: tuple[Path, dict, str]) -> None:
    _, info, html = small_run
    s = info["summary"]
    assert f'<h1 id="title">{s["scenario"]}</h1>' in html
    assert f'<span id="seed">{s["seed"]}</span>' in html
    assert "NOTIONAL \u2014 open-source figures, not real performance data" in html
    m = re.search(r'<table id="table-engagements">.*?</table>', html, flags=re.S)
    assert m
    table = ET.fromstring(m.group(0))
    body_rows = list(table.find("tbody"))
    kinds = [tr.get("data-kind") for tr in body_rows]
    n_kill = len(info["kill_points"])
    assert kinds.count("engage") == kinds.count("launch") == kinds.count("intercept_kill") \
        == n_kill
    assert kinds.count("intercept_miss") == len(info["leak_points"])
    engage = next(tr for tr in body_rows if tr.get("data-kind") == "engage")
    text = ["".join(td.itertext()) for td in engage]
    assert text[2] in ("pat-1", "iris-1")
    assert text[6].startswith("best gain for threat")
    assert "Pk 0.85" in text[5]
    # A launch row names the threat of its engagement (the event itself has only the track).
    for tr in body_rows:
        if tr.get("data-kind") == "launch":
            cells = ["".join(td.itertext()) for td in tr]
            tid = int(re.search(r"track 1(\d\d)", cells[4]).group(1))
            assert cells[4] == f"threat {tid}; track {100 + tid}"
    kill = next(tr for tr in body_rows if tr.get("data-kind") == "intercept_kill")
    assert ["".join(td.itertext()) for td in kill][5] == "KILL"
    times = [float(tr[0].get("data-value")) for tr in body_rows]
    assert times == sorted(times)
    # Every heading sorts; numeric columns sort on the cells' data-value.
    heads = list(table.find("thead").iter("th"))
    assert [th.get("data-sort") for th in heads] == ["num", "text", "text", "text", "num",
                                                     "text", "text"]
    for tr in body_rows:
        float(tr[0].get("data-value"))
        assert int(tr[4].get("data-value")) == int(tr.get("data-threat-id"))
        assert float(tr.get("data-t")) == float(tr[0].get("data-value"))


def test_perfect_information_label_only_when_set(tmp_path: Path) -> None:
    for flag in (False, True):
        outdir = tmp_path / f"pi-{flag}"
        make_results_dir(outdir, perfect_information=flag)
        html = write_report(outdir).read_text(encoding="utf-8")
        assert ("PERFECT INFORMATION (study mode)" in html) is flag
        assert ('id="perfect-information"' in html) is flag


def test_report_is_written_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    outdir = tmp_path / "run"
    make_results_dir(outdir)
    before = set(os.listdir(outdir))
    path = write_report(outdir)
    assert path == outdir / "report.html"
    assert set(os.listdir(outdir)) == before | {"report.html"}
    good = path.read_bytes()
    assert good.rstrip().endswith(b"</html>")

    # A failure at the rename leaves the previous report whole and no temporary file behind.
    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(core_outputs.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk on fire"):
        write_report(outdir)
    monkeypatch.undo()
    assert set(os.listdir(outdir)) == before | {"report.html"}
    assert path.read_bytes() == good

    # A failure while rendering (bad summary) writes nothing at all.
    (outdir / "summary.json").write_text("{not json", encoding="utf-8")
    path.unlink()
    with pytest.raises(InputError, match="summary.json"):
        write_report(outdir)
    assert set(os.listdir(outdir)) == before


def test_missing_tables_and_hostile_names(tmp_path: Path) -> None:
    outdir = tmp_path / "run"
    make_results_dir(outdir, name='Raid <script>alert("x")</script> & co')
    for name in ("truth", "interceptors", "events", "tracks", "detections"):
        (outdir / f"{name}.parquet").unlink()
    html = write_report(outdir).read_text(encoding="utf-8")
    assert "<script>alert" not in html
    assert "&lt;script&gt;" in html
    root = _theatre_svg(html)
    assert not [p for p in root.iter("polyline") if p.get("class") == "trk"]
    assert "No engagements in this run." in html


def test_render_map_svg_is_a_standalone_svg_document(tmp_path: Path) -> None:
    outdir = tmp_path / "run"
    info = make_results_dir(outdir)
    text = render_map_svg(outdir)
    root = ET.fromstring(text)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.tag == f"{ns}svg"
    assert (root.get("width"), root.get("height")) == ("900", "700")
    assert len(list(root.iter(f"{ns}polyline"))) >= len(info["fate_of"])
    assert [m.group(0) for m in re.finditer(r"https?://[^\"' ]+", text)] == [
        "http://www.w3.org/2000/svg"]  # the namespace name, not a resource
    legend = [t.text for t in root.iter(f"{ns}text")]
    assert "Legend" in legend and any("km" in (t or "") for t in legend)
    zoomed = ET.fromstring(render_map_svg(outdir, 640, 520, view="defended"))
    assert zoomed.get("width") == "640"
    with pytest.raises(ValueError, match="view"):
        render_map_svg(outdir, view="globe")


def test_sector_wedge_geometry() -> None:
    tag, attrs = sector_path(100.0, 100.0, 50.0, math.radians(90.0), math.radians(30.0))
    assert tag == "path"
    nums = [float(v) for v in re.findall(r"-?\d+\.?\d*", attrs)]
    # M cx cy L x0 y0 A r r 0 large sweep x1 y1 Z: from 60 to 120 deg clockwise from up.
    x0, y0, x1, y1 = nums[2], nums[3], nums[9], nums[10]
    assert (x0, y0) == pytest.approx((100 + 50 * math.sin(math.radians(60)),
                                      100 - 50 * math.cos(math.radians(60))), abs=0.06)
    assert (x1, y1) == pytest.approx((100 + 50 * math.sin(math.radians(120)),
                                      100 - 50 * math.cos(math.radians(120))), abs=0.06)
    assert nums[7] == 0 and nums[8] == 1  # small arc, clockwise
    assert sector_path(0, 0, 10, 0.0, math.radians(120))[1].count(" 0 1 1 ") == 1
    assert sector_path(0, 0, 10, 0.0, None)[0] == "circle"


def test_thousand_threat_report_stays_small(tmp_path: Path) -> None:
    """The size bar of issue 6: a 1000-threat raid's page under 20 MB (plotly.js is ~1.4 MB)."""
    outdir = tmp_path / "big"
    info = make_results_dir(outdir, n_threats=1000, points_per_threat=300)
    path = write_report(outdir)
    size = path.stat().st_size
    assert size < 20_000_000, size
    # Besides plotly.js, the page's own part stays small for straight-line tracks.
    assert size - len(plotly_js()) < 3_000_000, size
    html = path.read_text(encoding="utf-8")
    m = re.search(r'<script type="application/json" id="replay-data">(.*?)</script>', html,
                  flags=re.S)
    assert m
    doc = json.loads(m.group(1))
    assert len(doc["threats"]["id"]) == 1000
    fates = {doc["fates"][f] for f in doc["threats"]["fate"]}
    assert fates == set(FATES)
    # Tracks straight in lat/lon (nearly straight in the projection) of 300 points keep a few.
    offsets = np.frombuffer(base64.b64decode(doc["threats"]["offsets"]), "<i4")
    assert np.diff(offsets).max() <= 8
    assert len(info["fate_of"]) == 1000
