"""The Monte Carlo and sweep reports (``shieldwall.report.write_mc_report`` /
``write_sweep_report``).

References: every number embedded in a page is recomputed here from the rows the test wrote
(numpy ``bincount``/``histogram``/``percentile``, direct means over the first N rows, Student-t
intervals from ``scipy.stats.t.interval``, Wilson intervals from their closed form with the
standard library's normal quantile), or compared with what ``shieldwall.analysis`` wrote in
``summary.json`` for a real tiny study, and with ``geographiclib`` for the map positions.
The sweep curves are checked against a group-by of ``sweep.parquet``.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import statistics
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from geographiclib.geodesic import Geodesic
from scipy import stats

from shieldwall.core.errors import InputError
from shieldwall.report import write_mc_report, write_sweep_report
from shieldwall.report.page import plotly_js
from tiny_scenario import tiny_document

ROOT = Path(__file__).resolve().parent.parent
CLASSES = ("ballistic", "aeroballistic", "cruise", "drone", "decoy")
INTERCEPTORS = ("pac3-mse", "iris-t-slm")
ORIGIN = (45.0, 10.0)
GEOD = Geodesic.WGS84
Z95 = statistics.NormalDist().inv_cdf(0.975)
MC_DIVS = ("mc-leakers", "mc-value-lost", "mc-survival-map", "mc-expenditure",
           "mc-cost-exchange", "mc-convergence")


# ------------------------------------------------------------------------- references
def wilson(k: int, n: int) -> tuple[float, float]:
    """Wilson score interval, closed form (Wilson 1927), no continuity correction."""
    p = k / n
    denom = 1 + Z95**2 / n
    centre = (p + Z95**2 / (2 * n)) / denom
    half = Z95 / denom * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def t_interval(x: np.ndarray) -> tuple[float, float, float]:
    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    m = float(x.mean())
    lo, hi = stats.t.interval(0.95, x.size - 1, loc=m, scale=stats.sem(x))
    return m, float(lo), float(hi)


def page_data(html: str, element_id: str = "mc-data") -> dict[str, Any]:
    m = re.search(rf'<script type="application/json" id="{element_id}">(.*?)</script>', html,
                  re.S)
    assert m, f"no embedded #{element_id}"
    return json.loads(m.group(1))


VOID = {"meta", "br", "input", "img", "hr", "link", "area", "base", "col", "source", "wbr"}


class _Balanced(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.ids: list[str] = []
        self.attrs: list[tuple[str, str, str | None]] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.attrs += [(tag, k, v) for k, v in attrs]
        self.ids += [v for k, v in attrs if k == "id" and v]
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


def check_page(html: str, divs: tuple[str, ...]) -> _Balanced:
    """Well-formed, self-contained (plotly inlined once, nothing external), divs present."""
    assert html.startswith("<!DOCTYPE html>")
    assert html.count(plotly_js()) == 1, "plotly.js must be inlined exactly once"
    rest = html.replace(plotly_js(), "")
    parser = _Balanced()
    parser.feed(rest)
    parser.close()
    assert not parser.errors and not parser.stack, (parser.errors, parser.stack)
    assert len(parser.ids) == len(set(parser.ids)), "duplicate element ids"
    for div in divs:
        assert div in parser.ids
    assert "http://" not in rest and "https://" not in rest and "//cdn" not in rest
    assert "<link" not in rest and "@import" not in rest
    for tag, name, value in parser.attrs:
        if name in ("src", "href"):
            assert value and not re.match(r"^([a-z]+:)?//", value), (tag, name, value)
    assert 'document.body.dataset.ready = \'1\'' in rest
    return parser


# -------------------------------------------------------------------- synthetic studies
def _direct(azimuth_deg: float, distance_m: float) -> tuple[float, float]:
    g = GEOD.Direct(ORIGIN[0], ORIGIN[1], azimuth_deg, distance_m)
    return g["lat2"], g["lon2"]


def _assets() -> list[dict[str, Any]]:
    north = _direct(0.0, 30e3)
    east = _direct(100.0, 22e3)
    return [
        {"id": "capital", "kind": "city", "lat_deg": ORIGIN[0], "lon_deg": ORIGIN[1],
         "value": 100.0, "radius_m": 5000.0},
        {"id": "plant_n", "kind": "power_plant", "lat_deg": north[0], "lon_deg": north[1],
         "value": 40.0, "radius_m": 1500.0},
        {"id": "sub-e", "kind": "substation", "lat_deg": east[0], "lon_deg": east[1],
         "value": 15.0, "radius_m": 400.0},
    ]


def synthetic_rows(n: int, seed: int) -> dict[str, np.ndarray]:
    """Random replication columns shaped like ``replication_row`` (in replication order)."""
    rng = np.random.default_rng(seed)
    cols: dict[str, np.ndarray] = {"replication": np.arange(n), "seed": np.full(n, 11),
                                   "scenario_hash": np.array(["abcdef0123456789"] * n),
                                   "threats": np.full(n, 12)}
    by_class = rng.poisson([1.5, 0.2, 0.8, 2.0, 0.0], size=(n, len(CLASSES)))
    cols["leakers"] = by_class.sum(axis=1)
    cols["any_leaker"] = cols["leakers"] > 0
    for j, c in enumerate(CLASSES):
        cols[f"leakers_{c}"] = by_class[:, j]
    assets = _assets()
    damaged = rng.random((n, len(assets))) < np.array([0.6, 0.25, 0.0])
    lost = damaged * rng.gamma(2.0, [5.0, 2.0, 1.0], size=(n, len(assets)))
    cols["value_lost"] = lost.sum(axis=1)
    for j, a in enumerate(assets):
        cols[f"value_lost_{a['id']}"] = lost[:, j]
    for j, a in enumerate(assets):
        cols[f"damaged_{a['id']}"] = damaged[:, j]
    fired = rng.poisson([4.0, 9.0], size=(n, 2))
    cols["interceptors_fired"] = fired.sum(axis=1)
    for j, name in enumerate(INTERCEPTORS):
        cols[f"fired_{name}"] = fired[:, j]
    cols["interceptor_cost_usd"] = fired @ np.array([4.0e6, 4.3e5])
    cols["raid_cost_usd"] = np.where(rng.random(n) < 0.1, 0.0,
                                     rng.normal(3.0e7, 2.0e6, size=n))
    with np.errstate(divide="ignore", invalid="ignore"):
        cols["cost_exchange_ratio"] = np.where(cols["raid_cost_usd"] > 0,
                                               cols["interceptor_cost_usd"]
                                               / cols["raid_cost_usd"], np.nan)
    cols["engagements"] = fired.sum(axis=1) // 2
    cols["wall_time_s"] = rng.random(n)
    cols["cpu_time_s"] = rng.random(n)
    return cols


def _table(cols: dict[str, np.ndarray], idx: np.ndarray) -> pa.Table:
    return pa.table({k: pa.array(v[idx].tolist()) for k, v in cols.items()})


def make_study(path: Path, n: int, seed: int = 1, parts: int = 3, drop: tuple[str, ...] = (),
               study: bool = True, scenario: bool = True,
               hidden: bool = True) -> dict[str, np.ndarray]:
    """Write a study directory of ``n`` synthetic rows in shuffled part files.

    Hidden files (``.``- and ``_``-prefixed) with absurd rows sit beside the parts: a reader
    that does not skip them sees 999 leakers and duplicate replication indices.
    """
    cols = {k: v for k, v in synthetic_rows(n, seed).items()
            if not any(k == d or (d.endswith("_") and k.startswith(d)) for d in drop)}
    rep_dir = path / "replications.parquet"
    rep_dir.mkdir(parents=True)
    order = np.random.default_rng(seed + 1).permutation(n)
    for chunk in np.array_split(order, min(parts, n)):
        chunk = np.sort(chunk)
        pq.write_table(_table(cols, chunk),
                       rep_dir / f"part-{chunk[0]:010d}-{uuid.uuid4().hex[:12]}.parquet")
    if hidden:
        bad = {k: v.copy() for k, v in cols.items()}
        if "leakers" in bad:
            bad["leakers"] = np.full(n, 999)
        pq.write_table(_table(bad, np.arange(n)), rep_dir / ".part-0000000000-abc.parquet.tmp")
        pq.write_table(_table(bad, np.arange(n)), rep_dir / "_partial.parquet")
    if study:
        (path / "study.json").write_text(json.dumps({
            "format": "shieldwall-mc/1", "scenario": "Synthetic study", "seed": 11,
            "scenario_hash": "abcdef0123456789", "n_requested": n, "version": "0.0.test",
            "perfect_information": False, "assets": [a["id"] for a in _assets()],
            "threat_classes": list(CLASSES),
            "fates": ["intercepted", "leaked", "crashed", "expired"]}))
        (path / "summary.json").write_text(json.dumps({"replications": n}))
    if scenario:
        bat = _direct(60.0, 15e3)
        ew = _direct(300.0, 80e3)
        (path / "scenario.json").write_text(json.dumps({
            "name": "Synthetic study", "origin": {"lat_deg": ORIGIN[0], "lon_deg": ORIGIN[1]},
            "assets": _assets(),
            "batteries": [{"id": "pat-1", "system": "patriot", "lat_deg": bat[0],
                           "lon_deg": bat[1], "heading_deg": 90.0, "radar_range_m": 120e3,
                           "sector_half_width_deg": 60.0, "engagement_range_m": 70e3,
                           "interceptors": {"pac3-mse": 16}}],
            "sensors": [{"id": "ew-1", "radar": "ew-radar", "lat_deg": ew[0],
                         "lon_deg": ew[1], "heading_deg": 0.0, "range_m": 400e3,
                         "sector_half_width_deg": None}]}))
    return cols


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory
              ) -> tuple[dict[str, np.ndarray], str, dict[str, Any]]:
    path = tmp_path_factory.mktemp("mc") / "study"
    cols = make_study(path, 157, seed=3)
    out = write_mc_report(path)
    assert out == path / "report.html"
    html = out.read_text(encoding="utf-8")
    return cols, html, page_data(html)


# ------------------------------------------------------------------------ the MC page
def test_page_is_well_formed_self_contained_and_has_the_contract_divs(
        synthetic: tuple[dict[str, np.ndarray], str, dict[str, Any]]) -> None:
    _, html, data = synthetic
    check_page(html, MC_DIVS)
    assert "NOTIONAL" in html and 'id="scenario-hash">abcdef0123456789<' in html
    assert data["header"]["seed"] == 11 and data["header"]["replications"] == 157


def test_hidden_part_files_are_ignored(
        synthetic: tuple[dict[str, np.ndarray], str, dict[str, Any]]) -> None:
    cols, _, data = synthetic
    assert data["n"] == 157
    assert max(data["leakers"]["values"]) == int(cols["leakers"].max()) < 999


def test_leaker_histogram_cdf_and_classes(
        synthetic: tuple[dict[str, np.ndarray], str, dict[str, Any]]) -> None:
    cols, _, data = synthetic
    lk = data["leakers"]
    counts = np.bincount(cols["leakers"])
    assert lk["values"] == list(range(counts.size))
    assert lk["counts"] == counts.tolist()
    assert np.allclose(lk["cdf"], [np.mean(cols["leakers"] <= k) for k in lk["values"]])
    assert [c["class"] for c in data["leakers_by_class"]] == list(CLASSES)
    for c in data["leakers_by_class"]:
        x = cols[f"leakers_{c['class']}"]
        assert c["distribution"]["counts"] == np.bincount(x).tolist()
        if x.std() > 0:
            m, lo, hi = t_interval(x)
            assert (c["mean"], c["lower"], c["upper"]) == pytest.approx((m, lo, hi), rel=1e-12)
        else:  # the decoy class never leaks: a zero-width interval at 0
            assert c["mean"] == c["lower"] == c["upper"] == 0.0


def test_value_lost_histogram_and_ecdf(
        synthetic: tuple[dict[str, np.ndarray], str, dict[str, Any]]) -> None:
    cols, _, data = synthetic
    x = cols["value_lost"]
    v = data["value_lost"]
    edges = np.array(v["edges"])
    assert edges[0] == pytest.approx(x.min()) and edges[-1] == pytest.approx(x.max())
    assert np.all(np.diff(edges) > 0)
    assert v["counts"] == np.histogram(x, bins=edges)[0].tolist()
    assert sum(v["counts"]) == x.size
    ex, ep = np.array(v["ecdf"]["x"]), np.array(v["ecdf"]["p"])
    assert ex.tolist() == np.unique(x).tolist()
    assert np.allclose(ep, [(x <= t).mean() for t in ex])


def test_headline_estimates_and_cards(
        synthetic: tuple[dict[str, np.ndarray], str, dict[str, Any]]) -> None:
    cols, html, data = synthetic
    h = data["headline"]
    for key in ("leakers", "value_lost", "interceptors_fired", "interceptor_cost_usd",
                "cost_exchange_ratio"):
        m, lo, hi = t_interval(cols[key])
        assert (h[key]["mean"], h[key]["lower"], h[key]["upper"]) == pytest.approx(
            (m, lo, hi), rel=1e-12), key
    ratio = cols["cost_exchange_ratio"]
    assert h["cost_exchange_ratio"]["n_undefined"] == int(np.isnan(ratio).sum()) > 0
    k, n = int(cols["any_leaker"].sum()), cols["any_leaker"].size
    assert h["any_leaker"]["estimate"] == pytest.approx(k / n)
    assert (h["any_leaker"]["lower"], h["any_leaker"]["upper"]) == pytest.approx(wilson(k, n))
    for key in ("leakers", "any_leaker", "value_lost", "interceptor_cost_usd"):
        m = re.search(rf'data-key="{key}" data-value="([^"]*)" data-lower="([^"]*)" '
                      rf'data-upper="([^"]*)"', html)
        assert m, key
        est = h[key]
        assert [json.loads(g.replace("&quot;", '"')) for g in m.groups()] == [
            est.get("estimate", est.get("mean")), est["lower"], est["upper"]]


def test_survival_probabilities_wilson_bounds_and_map_positions(
        synthetic: tuple[dict[str, np.ndarray], str, dict[str, Any]]) -> None:
    cols, html, data = synthetic
    survival = {a["id"]: a for a in data["survival"]}
    assert list(survival) == [a["id"] for a in _assets()]
    for a in _assets():
        damaged = cols[f"damaged_{a['id']}"]
        s = survival[a["id"]]
        n, k = damaged.size, int((~damaged).sum())
        assert s["p_survive"] == pytest.approx(1.0 - damaged.mean())
        assert (s["lower"], s["upper"]) == pytest.approx(wilson(k, n), abs=1e-12)
        assert s["damaged"] == n - k and s["n"] == n
        row = re.search(rf'<tr data-key="{re.escape(a["id"])}">(.*?)</tr>',
                        html.split('id="table-survival"')[1], re.S)
        assert row and f'data-value="{s["p_survive"]}"' in row.group(1)
    assert survival["sub-e"]["p_survive"] == 1.0 and survival["sub-e"]["upper"] == 1.0
    # Positions: azimuthal equidistant about the origin, against geographiclib.
    for a in data["map"]["assets"]:
        src = next(x for x in _assets() if x["id"] == a["id"])
        g = GEOD.Inverse(ORIGIN[0], ORIGIN[1], src["lat_deg"], src["lon_deg"])
        assert math.hypot(a["east_km"], a["north_km"]) * 1e3 == pytest.approx(g["s12"],
                                                                              abs=1.0)
        if g["s12"] > 0:
            az = math.degrees(math.atan2(a["east_km"], a["north_km"]))
            assert az == pytest.approx(g["azi1"], abs=0.01)
    bat = data["map"]["batteries"][0]
    ring = np.hypot(np.array(bat["engagement"]["x"]) - bat["east_km"],
                    np.array(bat["engagement"]["y"]) - bat["north_km"])
    assert np.allclose(ring, 70.0, atol=2e-3)
    wedge = np.hypot(np.array(bat["radar"]["x"]) - bat["east_km"],
                     np.array(bat["radar"]["y"]) - bat["north_km"])
    assert wedge[0] == pytest.approx(0.0, abs=2e-3)
    assert np.allclose(wedge[1:-1], 120.0, atol=2e-3)
    # The sector spans heading 90 +- 60 degrees from local north, which on the map is turned
    # by the meridian convergence -(lon - lon0) sin(lat) (spherical approximation).
    lat_b, lon_b = _direct(60.0, 15e3)
    turn = -(lon_b - ORIGIN[1]) * math.sin(math.radians(lat_b))
    arc = np.degrees(np.arctan2(np.array(bat["radar"]["x"][1:-1]) - bat["east_km"],
                                np.array(bat["radar"]["y"][1:-1]) - bat["north_km"]))
    assert arc.min() == pytest.approx(30.0 + turn, abs=0.01)
    assert arc.max() == pytest.approx(150.0 + turn, abs=0.01)


def test_expenditure_distribution_and_means(
        synthetic: tuple[dict[str, np.ndarray], str, dict[str, Any]]) -> None:
    cols, _, data = synthetic
    assert [e["type"] for e in data["expenditure"]] == sorted(INTERCEPTORS)
    for e in data["expenditure"]:
        x = cols[f"fired_{e['type']}"]
        q1, med, q3 = np.percentile(x, [25, 50, 75])
        assert (e["q1"], e["median"], e["q3"], e["min"], e["max"]) == pytest.approx(
            (q1, med, q3, x.min(), x.max()))
        assert (e["mean"], e["lower"], e["upper"]) == pytest.approx(t_interval(x), rel=1e-12)
        assert e["distribution"]["counts"] == np.bincount(x).tolist()


def test_cost_exchange_distribution_and_scatter(
        synthetic: tuple[dict[str, np.ndarray], str, dict[str, Any]]) -> None:
    cols, _, data = synthetic
    r = data["cost_exchange"]["ratio"]
    ratio = cols["cost_exchange_ratio"]
    finite = ratio[np.isfinite(ratio)]
    assert r["n"] == finite.size and r["n_undefined"] == ratio.size - finite.size
    assert r["counts"] == np.histogram(finite, bins=np.array(r["edges"]))[0].tolist()
    sc = data["cost_exchange"]["scatter"]
    assert sc["replication"] == cols["replication"].tolist()
    assert np.allclose(sc["raid_cost_usd"], cols["raid_cost_usd"])
    assert np.allclose(sc["interceptor_cost_usd"], cols["interceptor_cost_usd"])


def _check_running(series: dict[str, Any], x: np.ndarray, proportion: bool) -> None:
    for i, m in enumerate(series["n"]):
        head = x[:m]
        assert series["mean"][i] == pytest.approx(head.mean(), rel=1e-9, abs=1e-12)
        if proportion:
            lo, hi = wilson(int(head.sum()), m)
        elif m < 2:
            assert series["lower"][i] is None and series["upper"][i] is None
            continue
        elif head.std() == 0:
            lo = hi = float(head.mean())
        else:
            _, lo, hi = t_interval(head)
        assert (series["lower"][i], series["upper"][i]) == pytest.approx((lo, hi), rel=1e-7,
                                                                         abs=1e-9)


def test_convergence_running_means_and_intervals(
        synthetic: tuple[dict[str, np.ndarray], str, dict[str, Any]]) -> None:
    cols, _, data = synthetic
    conv = data["convergence"]
    for key in ("leakers", "value_lost", "any_leaker"):
        assert conv[key]["n"] == list(range(1, 158))
        _check_running(conv[key], cols[key].astype(float), key == "any_leaker")
    h = data["headline"]
    assert conv["leakers"]["upper"][-1] == pytest.approx(h["leakers"]["upper"])
    assert conv["any_leaker"]["lower"][-1] == pytest.approx(h["any_leaker"]["lower"])


def test_convergence_is_subsampled_for_long_studies(tmp_path: Path) -> None:
    cols = make_study(tmp_path, 2600, seed=8, parts=4, hidden=False)
    data = page_data(write_mc_report(tmp_path).read_text(encoding="utf-8"))
    conv = data["convergence"]["value_lost"]
    ns = conv["n"]
    assert ns[0] == 1 and ns[-1] == 2600 and len(ns) <= 1000
    assert np.all(np.diff(ns) > 0)
    pick = slice(None, None, 37)
    _check_running({k: v[pick] for k, v in conv.items()}, cols["value_lost"], False)


def test_single_replication_has_no_interval_and_says_so(tmp_path: Path) -> None:
    make_study(tmp_path, 1, seed=4)
    html = write_mc_report(tmp_path).read_text(encoding="utf-8")
    check_page(html, MC_DIVS)
    data = page_data(html)
    assert data["n"] == 1
    assert data["headline"]["leakers"]["lower"] is None
    assert data["headline"]["leakers"]["upper"] is None
    assert "Only one replication" in html and "no interval (N = 1)" in html
    assert data["convergence"]["leakers"]["lower"] == [None]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "replications.parquet", "report.html", "scenario.json", "study.json", "summary.json"]


def test_older_study_without_optional_columns_and_files(tmp_path: Path) -> None:
    cols = make_study(tmp_path, 40, seed=5,
                      drop=("any_leaker", "damaged_", "fired_", "cost_exchange_ratio",
                            "raid_cost_usd", "leakers_"),
                      study=False, scenario=False)
    html = write_mc_report(tmp_path).read_text(encoding="utf-8")
    check_page(html, MC_DIVS)
    data = page_data(html)
    k = int((cols["leakers"] > 0).sum())
    assert data["headline"]["any_leaker"]["successes"] == k
    assert data["headline"]["cost_exchange_ratio"] is None
    assert data["survival"] == [] and data["map"] is None
    assert [e["type"] for e in data["expenditure"]] == ["all"]
    assert data["header"]["seed"] == 11 and data["header"]["scenario_hash"] == \
        "abcdef0123456789"
    assert "derived from the leakers column" in html


def test_nan_cost_exchange_everywhere(tmp_path: Path) -> None:
    make_study(tmp_path, 12, seed=6, hidden=False)
    rep = tmp_path / "replications.parquet"
    for part in rep.glob("part-*.parquet"):
        t = pq.read_table(part)
        i = t.column_names.index("cost_exchange_ratio")
        t = t.set_column(i, "cost_exchange_ratio", pa.array([math.nan] * t.num_rows))
        pq.write_table(t, part)
    html = write_mc_report(tmp_path).read_text(encoding="utf-8")
    data = page_data(html)
    est = data["headline"]["cost_exchange_ratio"]
    assert est["mean"] is None and est["n"] == 0 and est["n_undefined"] == 12
    assert data["cost_exchange"]["ratio"]["n_undefined"] == 12


def test_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        write_mc_report(tmp_path / "nope")
    assert "nope" in str(err.value)
    (tmp_path / "a").mkdir()
    with pytest.raises(InputError) as err:
        write_mc_report(tmp_path / "a")
    assert err.value.file == str(tmp_path / "a" / "replications.parquet")
    # Only a hidden (partial) part: no finished replication.
    make_study(tmp_path / "b", 5, parts=1)
    for part in (tmp_path / "b" / "replications.parquet").glob("part-*"):
        part.unlink()
    with pytest.raises(InputError) as err:
        write_mc_report(tmp_path / "b")
    assert err.value.file == str(tmp_path / "b" / "replications.parquet")
    assert "no finished replication" in err.value.message
    assert not (tmp_path / "b" / "report.html").exists()
    # A part that is not parquet.
    make_study(tmp_path / "c", 5, parts=1)
    bad = tmp_path / "c" / "replications.parquet" / "part-0000000099-bad.parquet"
    bad.write_bytes(b"not parquet at all")
    with pytest.raises(InputError) as err:
        write_mc_report(tmp_path / "c")
    assert err.value.file == str(bad)
    # Malformed study.json.
    make_study(tmp_path / "d", 5, parts=1)
    (tmp_path / "d" / "study.json").write_text("{not json")
    with pytest.raises(InputError) as err:
        write_mc_report(tmp_path / "d")
    assert err.value.file == str(tmp_path / "d" / "study.json")
    # A replication stored twice.
    make_study(tmp_path / "e", 5, parts=1, hidden=False)
    part = next((tmp_path / "e" / "replications.parquet").glob("part-*"))
    shutil.copy(part, part.with_name("part-0000000000-copy.parquet"))
    with pytest.raises(InputError, match="stored twice") as err:
        write_mc_report(tmp_path / "e")
    assert "replications.parquet" in err.value.file
    # A sweep directory without its index.
    with pytest.raises(InputError) as err:
        write_sweep_report(tmp_path / "a")
    assert err.value.file == str(tmp_path / "a" / "sweep.json")


def test_hostile_names_are_escaped(tmp_path: Path) -> None:
    make_study(tmp_path, 6, seed=2, hidden=False)
    study = json.loads((tmp_path / "study.json").read_text())
    study["scenario"] = "</script><script>alert(1)</script>"
    (tmp_path / "study.json").write_text(json.dumps(study))
    html = write_mc_report(tmp_path).read_text(encoding="utf-8")
    check_page(html, MC_DIVS)
    outside_data = re.sub(r'<script type="application/json".*?</script>', "", html, flags=re.S)
    assert "alert(1)" in outside_data and "<script>alert(1)" not in outside_data
    assert page_data(html)["header"]["scenario"] == study["scenario"]


# ------------------------------------------------------------------- real studies/sweeps


@pytest.fixture(scope="module")
def tiny_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tiny") / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny_document("tiny (report test)"), sort_keys=False))
    return path


@pytest.fixture(scope="module")
def threads() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(1) as ex:
        yield ex


def test_real_study_matches_its_summary_json(tiny_file: Path, threads: ThreadPoolExecutor,
                                             tmp_path: Path) -> None:
    from shieldwall.analysis.montecarlo import monte_carlo
    from shieldwall.catalog import load_catalog

    out = tmp_path / "study"
    monte_carlo(tiny_file, 6, seed=7, executor=threads, outdir=out, progress=False)
    html = write_mc_report(out).read_text(encoding="utf-8")
    check_page(html, MC_DIVS)
    data = page_data(html)
    summary = json.loads((out / "summary.json").read_text())
    means = summary["means"]
    for key in ("leakers", "value_lost", "interceptors_fired", "interceptor_cost_usd"):
        got = data["headline"][key]
        assert got["mean"] == pytest.approx(means[key]["mean"])
        for ours, theirs in zip((got["lower"], got["upper"]), means[key]["ci95"], strict=True):
            assert ours == pytest.approx(theirs) if theirs is not None else ours is None
    p = summary["proportions"]
    assert data["headline"]["any_leaker"]["estimate"] == p["any_leaker"]["estimate"]
    for s in data["survival"]:
        d = p["asset_damaged"][s["id"]]
        assert s["p_survive"] == pytest.approx(1.0 - d["estimate"])
        assert (s["lower"], s["upper"]) == pytest.approx((1 - d["ci95"][1], 1 - d["ci95"][0]))
    # scenario.json of a study is the scenario model: coverage comes from the catalog.
    cat = load_catalog()
    radar = cat.radars[cat.systems["patriot"].radar]
    bat = data["map"]["batteries"][0]
    assert bat["radar_range_km"] == pytest.approx(radar.max_range_m / 1e3)
    sc = json.loads((out / "scenario.json").read_text())
    loads = [g["interceptor"] for g in sc["batteries"][0].get("launchers") or []] or \
        [cat.systems["patriot"].interceptors[0]]
    reach = max(env.max_range_m for name in loads
                for env in cat.interceptors[name].envelopes.values())
    assert bat["engagement_range_km"] == pytest.approx(reach / 1e3)
    assert {a["id"] for a in data["map"]["assets"]} == {a["id"] for a in sc["assets"]}


@pytest.fixture(scope="module")
def sweep_dir(tiny_file: Path, threads: ThreadPoolExecutor,
              tmp_path_factory: pytest.TempPathFactory) -> Path:
    from shieldwall.analysis.sweep import run_sweep

    out = tmp_path_factory.mktemp("sweep") / "sweep"
    run_sweep(tiny_file, ["raid.waves.0.count=1,3", "doctrine.salvo.ballistic=1,2"], 3, out,
              seed=5, executor=threads, progress=False)
    write_sweep_report(out)
    return out


def test_sweep_curves_equal_a_groupby_of_sweep_parquet(sweep_dir: Path) -> None:
    html = (sweep_dir / "report.html").read_text(encoding="utf-8")
    parser = check_page(html, ("sweep-response", "sweep-points", "sweep-axis", "sweep-metric"))
    data = page_data(html, "sweep-data")
    table = pq.read_table(sweep_dir / "sweep.parquet")
    cols = {k: np.asarray(table.column(k).to_pylist()) for k in table.column_names}
    index = json.loads((sweep_dir / "sweep.json").read_text())
    points = {p["point"]: p for p in data["points"]}
    assert sorted(points) == sorted(np.unique(cols["point"]).tolist()) == [0, 1, 2, 3]
    for k, p in points.items():
        sel = cols["point"] == k
        assert p["params"] == index["points"][k]["params"]
        for path, value in p["params"].items():
            assert set(cols[path][sel].tolist()) == {value}
        est = p["estimates"]
        assert est["n"] == int(sel.sum()) == 3
        for key in ("leakers", "value_lost", "interceptor_cost_usd"):
            x = cols[key][sel].astype(float)
            assert est[key]["mean"] == pytest.approx(x.mean())
            if x.std() > 0:
                _, lo, hi = t_interval(x)
                assert (est[key]["lower"], est[key]["upper"]) == pytest.approx((lo, hi))
        flags = cols["any_leaker"][sel].astype(bool)
        assert est["p_any_leaker"]["estimate"] == pytest.approx(flags.mean())
        assert (est["p_any_leaker"]["lower"], est["p_any_leaker"]["upper"]) == pytest.approx(
            wilson(int(flags.sum()), flags.size))
    # Curves: for each axis, one line per value of the other axis, ordered along the axis.
    axes = [a["path"] for a in data["axes"]]
    assert axes == [a["path"] for a in index["axes"]]
    for a, path in enumerate(axes):
        other = axes[1 - a]
        curves = data["curves"][a]
        assert len(curves) == len(index["axes"][1 - a]["values"])
        for c in curves:
            members = [points[k]["params"] for k in c["points"]]
            assert len({m[other] for m in members}) == 1
            assert f"{other}={members[0][other]}" == c["name"]
            assert [m[path] for m in members] == index["axes"][a]["values"]
    # One summary row per point, linking to the point's own report (written too).
    rows = re.findall(r'<tr class="point-summary" id="point-(\d{4})" data-point="(\d+)">(.*?)'
                      r"</tr>", html, re.S)
    assert [int(r[1]) for r in rows] == [0, 1, 2, 3]
    for _, k, row in rows:
        href = re.search(r'href="([^"]+)"', row)
        assert href and href.group(1) == f"points/point-{int(k):04d}/report.html"
        point_html = (sweep_dir / href.group(1)).read_text(encoding="utf-8")
        check_page(point_html, MC_DIVS)
        assert page_data(point_html)["n"] == 3
    assert "sweep-points" in parser.ids


def test_sweep_without_table_reads_the_point_studies(sweep_dir: Path, tmp_path: Path) -> None:
    copy_dir = tmp_path / "sweep"
    shutil.copytree(sweep_dir, copy_dir)
    (copy_dir / "sweep.parquet").unlink()
    shutil.rmtree(copy_dir / "points" / "point-0003" / "replications.parquet")
    (copy_dir / "points" / "point-0003" / "report.html").unlink()
    html = write_sweep_report(copy_dir).read_text(encoding="utf-8")
    check_page(html, ("sweep-response",))
    data = page_data(html, "sweep-data")
    before = {p["point"]: p for p in page_data(
        (sweep_dir / "report.html").read_text(encoding="utf-8"), "sweep-data")["points"]}
    for p in data["points"]:
        if p["point"] == 3:
            assert p["estimates"] == {"n": 0} and p["report"] is None
        else:
            assert p["estimates"] == before[p["point"]]["estimates"]
    assert "Point 3 has no finished replication" in html


def test_sweep_over_categorical_and_list_values(tmp_path: Path) -> None:
    """A synthetic sweep over a list-valued and a string-valued axis, rows only in the table."""
    windows = [[0, 60], [0, 120]]
    policies = ["shoot_look_shoot", "shoot_shoot", "other"]
    points, tables = [], []
    for k, (w, pol) in enumerate([(w, p) for w in windows for p in policies]):
        params = {"raid.waves.0.launch_window_s": w, "doctrine.policy": pol}
        points.append({"point": k, "params": params, "dir": f"points/point-{k:04d}"})
        cols = synthetic_rows(7 + k, seed=20 + k)
        t = _table(cols, np.arange(7 + k))
        t = t.add_column(0, "doctrine.policy", pa.array([pol] * t.num_rows))
        t = t.add_column(0, "raid.waves.0.launch_window_s", pa.array([json.dumps(w)]
                                                                      * t.num_rows))
        tables.append(t.add_column(0, "point", pa.array([k] * t.num_rows, pa.int64())))
    (tmp_path / "sweep.json").write_text(json.dumps({
        "scenario": "categorical", "seed": 1, "replications_per_point": 7, "complete": True,
        "axes": [{"path": "raid.waves.0.launch_window_s", "values": windows},
                 {"path": "doctrine.policy", "values": policies}], "points": points}))
    pq.write_table(pa.concat_tables(tables), tmp_path / "sweep.parquet")
    html = write_sweep_report(tmp_path).read_text(encoding="utf-8")
    check_page(html, ("sweep-response", "sweep-points"))
    data = page_data(html, "sweep-data")
    assert [a["numeric"] for a in data["axes"]] == [False, False]
    assert data["axes"][0]["labels"] == ["[0, 60]", "[0, 120]"]
    for p in data["points"]:
        assert p["report"] is None and p["estimates"]["n"] == 7 + p["point"]
        rows = synthetic_rows(7 + p["point"], seed=20 + p["point"])
        assert p["estimates"]["leakers"]["mean"] == pytest.approx(rows["leakers"].mean())
    assert [c["points"] for c in data["curves"][1]] == [[0, 1, 2], [3, 4, 5]]
    assert [c["name"] for c in data["curves"][0]] == [
        f"doctrine.policy={p}" for p in policies]
