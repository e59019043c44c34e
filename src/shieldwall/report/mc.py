"""The Monte Carlo and sweep reports: self-contained offline HTML pages of a study directory
(``STUDYDIR/report.html``) and of a sweep directory (``SWEEPDIR/report.html``).

Everything is recomputed from the replication rows (``shieldwall.report.studydata``): means
with Student-t 95 % intervals, proportions with Wilson intervals, distributions, running means.
The numbers are embedded once as JSON (``<script type="application/json" id="mc-data">`` or
``id="sweep-data"``) and drawn by plotly.js, inlined once per page; no network is used. The
page's JavaScript sets ``document.body.dataset.ready = "1"`` when every chart is drawn.

Monte Carlo page: headline cards; plotly divs ``#mc-leakers`` (histogram and empirical CDF of
the leakers; ``#mc-leakers-by-class`` beside it), ``#mc-value-lost``, ``#mc-survival-map``
(P(asset survives) on the map of assets, batteries and coverage), ``#mc-expenditure``,
``#mc-cost-exchange`` and ``#mc-convergence``; tables of the same numbers.

Sweep page: ``#sweep-response`` (a metric with its 95 % interval against one swept axis, one
line per combination of the other axes; ``select#sweep-axis`` and ``select#sweep-metric``
choose them) and ``table#sweep-points`` with one study summary per point (row
``tr.point-summary``) linking to the point's own report.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np

from shieldwall.core.errors import InputError
from shieldwall.report.document import (
    BASE_CSS,
    CLASS_ORDER,
    NOTIONAL_BANNER,
    PERFECT_INFORMATION_LABEL,
    cell,
    fmt_usd,
    html_table,
    num_cell,
    write_text_atomic,
)
from shieldwall.report.page import json_script_tag, plotly_script_tag
from shieldwall.report.projection import LocalProjection
from shieldwall.report.studydata import (
    MAX_SCATTER_POINTS,
    REPLICATIONS_DIR,
    StudyData,
    SweepData,
    box_stats,
    convergence_n,
    histogram,
    integer_distribution,
    load_study,
    load_sweep,
    mean_ci,
    point_estimates,
    proportion_ci,
    running_mean_ci,
    running_proportion_ci,
    study_header,
    study_sites,
    value_label,
)
from shieldwall.report.svgmap import ASSET_KINDS, BATTERY_COLOUR, SENSOR_COLOUR

REPORT_NAME = "report.html"
#: Plotly marker symbol of each asset kind (the shapes of the SVG map).
ASSET_SYMBOLS = dict(zip(ASSET_KINDS, ("square", "triangle-up", "diamond", "triangle-down",
                                       "hexagon", "circle"), strict=True))
#: Metrics of the sweep response chart: key -> (label, estimate kind).
SWEEP_METRICS = {
    "leakers": "mean leakers",
    "value_lost": "mean value lost",
    "p_any_leaker": "P(any leaker)",
    "interceptors_fired": "mean interceptors fired",
    "interceptor_cost_usd": "mean interceptor cost (USD)",
    "cost_exchange_ratio": "mean cost-exchange ratio",
}

_MC_CSS = """
.chart{width:100%;height:430px}
.chart.tall{height:640px}
.chart.map{height:620px}
.ci{color:var(--muted);font-size:11.5px}
.controls{display:flex;flex-wrap:wrap;gap:6px 18px;margin:6px 0;color:var(--muted)}
.controls select{padding:3px 6px;border:1px solid var(--line);border-radius:5px}
#sweep-points td{white-space:nowrap}
.warn{background:#eef4ff;border:1px solid #8fb0e8;color:#173d7a;padding:7px 12px;
border-radius:6px;margin:8px 0}
"""


# ---------------------------------------------------------------------------- formatting
def _num(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float) and math.isfinite(float(value)):
        return float(value)
    return None


def fmt_sig(value: Any, usd: bool = False) -> str:
    """A short number: thousands separated, otherwise three significant digits."""
    v = _num(value)
    if v is None:
        return "n/a"
    if usd:
        return fmt_usd(v)
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.3g}"


def fmt_interval(lower: Any, upper: Any, usd: bool = False) -> str:
    if _num(lower) is None or _num(upper) is None:
        return "no interval"
    return f"[{fmt_sig(lower, usd)}, {fmt_sig(upper, usd)}]"


def _page(title: str, body: Sequence[str], data_id: str, data: Any, script: str) -> str:
    return ("<!DOCTYPE html>\n"
            '<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title>"
            f"<style>{BASE_CSS}{_MC_CSS}</style>{plotly_script_tag()}</head><body>"
            f"{''.join(body)}{json_script_tag(data_id, data)}<script>{script}</script>"
            "</body></html>\n")


def _banners(perfect_information: bool) -> str:
    out = f'<div class="banner" id="notional">{escape(NOTIONAL_BANNER)}</div>'
    if perfect_information:
        out += (f'<div class="pi" id="perfect-information">{escape(PERFECT_INFORMATION_LABEL)}'
                ": the battle manager saw the true threat states instead of tracks.</div>")
    return out


# ------------------------------------------------------------------------- the study data
def _survival(data: StudyData, sites: Mapping[str, Any]) -> list[dict[str, Any]]:
    """P(asset survives) = 1 - P(damaged) per asset, with its Wilson interval."""
    positions = {a["id"]: a for a in sites["assets"]}
    order = [str(a) for a in data.study.get("assets", [])] + list(positions)
    rows = []
    for aid in data.prefixed("damaged_", order):
        flags = data.columns[f"damaged_{aid}"]
        f = flags[np.isfinite(flags)]
        damaged = int((f > 0.5).sum())
        est = proportion_ci(int(f.size) - damaged, int(f.size))
        site = positions.get(aid, {})
        lost = data.column(f"value_lost_{aid}")
        rows.append({"id": aid, "kind": site.get("kind", "other"), "name": site.get("name"),
                     "value": _num(site.get("value")), "n": est.n, "damaged": damaged,
                     "survived": est.successes, "p_survive": est.estimate,
                     "lower": est.lower, "upper": est.upper,
                     "value_lost": None if lost is None else mean_ci(lost).as_dict()})
    return rows


def _ring(east_m: float, north_m: float, radius_m: float, heading_rad: float = 0.0,
          half_width_rad: float | None = None, steps: int = 72) -> dict[str, list[float]]:
    """A circle or a sector (wedge) about a point, as a closed polyline in km.

    Map angles are clockwise from up (north at the origin); the wedge spans
    ``heading +- half_width``.
    """
    if half_width_rad is None or half_width_rad >= math.pi - 1e-9:
        a = np.linspace(0.0, 2.0 * math.pi, steps + 1)
        e, n = east_m + radius_m * np.sin(a), north_m + radius_m * np.cos(a)
    else:
        a = np.linspace(heading_rad - half_width_rad, heading_rad + half_width_rad,
                        max(8, int(steps * half_width_rad / math.pi) + 1))
        e = np.concatenate([[east_m], east_m + radius_m * np.sin(a), [east_m]])
        n = np.concatenate([[north_m], north_m + radius_m * np.cos(a), [north_m]])
    return {"x": np.round(e / 1e3, 3).tolist(), "y": np.round(n / 1e3, 3).tolist()}



def _radar_ring(item: dict[str, Any], rec: dict[str, Any], east_m: float, north_m: float,
                north_rad: float, range_key: str, ring_key: str) -> None:
    """Add a radar's instrumented range (``<range_key minus _m>_km``) and its sector or circle
    (``item[ring_key]``) to a map item, when the record gives a range."""
    rng = _num(rec.get(range_key))
    if not rng:
        return
    half = _num(rec.get("sector_half_width_deg"))
    item[range_key[:-2] + "_km"] = rng / 1e3
    item[ring_key] = _ring(east_m, north_m, rng, math.radians(rec["heading_deg"]) + north_rad,
                           None if half is None else math.radians(half))

def _map_data(data: StudyData, sites: Mapping[str, Any]) -> dict[str, Any] | None:
    """Projected assets, batteries, sensors and coverage (km east/north of the origin)."""
    assets, batteries, sensors = sites["assets"], sites["batteries"], sites["sensors"]
    if not assets:
        return None
    origin = data.scenario.get("origin") or {}
    if _num(origin.get("lat_deg")) is not None and _num(origin.get("lon_deg")) is not None:
        lat0, lon0 = float(origin["lat_deg"]), float(origin["lon_deg"])
    else:
        pts = [*assets, *batteries]
        lat0 = float(np.mean([p["lat_deg"] for p in pts]))
        lon0 = float(np.mean([p["lon_deg"] for p in pts]))
    proj = LocalProjection(lat0, lon0)

    def place(recs: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
        if not recs:
            return np.zeros((0, 2)), np.zeros(0)
        lat = np.array([r["lat_deg"] for r in recs], float)
        lon = np.array([r["lon_deg"] for r in recs], float)
        return proj.project(lat, lon), proj.north_azimuth_rad(lat, lon)

    a_en, _ = place(assets)
    b_en, b_north = place(batteries)
    s_en, s_north = place(sensors)
    # Frame the defended area (assets and batteries); coverage may run past it (zoom out).
    radii = np.array([[r["radius_m"]] * 2 for r in assets])
    extent: list[np.ndarray] = [a_en - radii, a_en + radii, b_en]
    out_assets = []
    for rec, (e, n) in zip(assets, a_en, strict=True):
        out_assets.append({"id": rec["id"], "kind": rec["kind"], "name": rec.get("name"),
                           "east_km": round(float(e) / 1e3, 4),
                           "north_km": round(float(n) / 1e3, 4),
                           "radius_km": rec["radius_m"] / 1e3,
                           "footprint": _ring(float(e), float(n), rec["radius_m"], steps=36)})
    out_batteries = []
    for rec, (e, n), north in zip(batteries, b_en, b_north, strict=True):
        item: dict[str, Any] = {"id": rec["id"], "system": rec["system"],
                                "east_km": round(float(e) / 1e3, 4),
                                "north_km": round(float(n) / 1e3, 4)}
        reach = _num(rec.get("engagement_range_m"))
        if reach:
            item["engagement_range_km"] = reach / 1e3
            item["engagement"] = _ring(float(e), float(n), reach)
        _radar_ring(item, rec, float(e), float(n), float(north), "radar_range_m", "radar")
        out_batteries.append(item)
    out_sensors = []
    for rec, (e, n), north in zip(sensors, s_en, s_north, strict=True):
        item = {"id": rec["id"], "radar": rec["radar"], "east_km": round(float(e) / 1e3, 4),
                "north_km": round(float(n) / 1e3, 4)}
        _radar_ring(item, rec, float(e), float(n), float(north), "range_m", "coverage")
        out_sensors.append(item)
    box = np.concatenate([x.reshape(-1, 2) for x in extent], axis=0)
    lo, hi = box.min(axis=0), box.max(axis=0)
    centre, span = (lo + hi) / 2.0, np.maximum(hi - lo, 2e3) * 1.3
    return {"origin": {"lat_deg": lat0, "lon_deg": lon0}, "assets": out_assets,
            "batteries": out_batteries, "sensors": out_sensors,
            "x_range_km": ((centre[0] + np.array([-0.5, 0.5]) * span[0]) / 1e3).tolist(),
            "y_range_km": ((centre[1] + np.array([-0.5, 0.5]) * span[1]) / 1e3).tolist()}


def mc_page_data(data: StudyData) -> dict[str, Any]:
    """Everything the Monte Carlo page draws, computed from the replication rows."""
    cols = data.columns
    n = data.n
    header = study_header(data)
    notes = list(data.notes)
    if n == 1:
        notes.insert(0, "Only one replication: no confidence interval can be given for a "
                        "mean; run more replications.")

    def mean_of(name: str) -> dict[str, Any] | None:
        return mean_ci(cols[name]).as_dict() if name in cols else None

    any_leaker = None
    if "any_leaker" in cols:
        f = cols["any_leaker"][np.isfinite(cols["any_leaker"])]
        any_leaker = proportion_ci(int((f > 0.5).sum()), int(f.size)).as_dict()
    headline = {"leakers": mean_of("leakers"), "any_leaker": any_leaker,
                "value_lost": mean_of("value_lost"),
                "interceptors_fired": mean_of("interceptors_fired"),
                "interceptor_cost_usd": mean_of("interceptor_cost_usd"),
                "raid_cost_usd": mean_of("raid_cost_usd"),
                "cost_exchange_ratio": mean_of("cost_exchange_ratio")}

    classes = data.prefixed("leakers_", list(data.study.get("threat_classes", CLASS_ORDER)))
    leakers = integer_distribution(cols["leakers"]) if "leakers" in cols else None
    by_class = [{"class": c, **mean_ci(cols[f"leakers_{c}"]).as_dict(),
                 "distribution": integer_distribution(cols[f"leakers_{c}"])} for c in classes]

    sites = study_sites(data)
    survival = _survival(data, sites)

    types = data.prefixed("fired_")
    expenditure = [{"type": t, **mean_ci(cols[f"fired_{t}"]).as_dict(),
                    **box_stats(cols[f"fired_{t}"]),
                    "distribution": integer_distribution(cols[f"fired_{t}"])} for t in types]
    if not expenditure and "interceptors_fired" in cols:
        x = cols["interceptors_fired"]
        expenditure = [{"type": "all", **mean_ci(x).as_dict(), **box_stats(x),
                        "distribution": integer_distribution(x)}]

    cost: dict[str, Any] = {"ratio": None, "scatter": None}
    if "cost_exchange_ratio" in cols:
        cost["ratio"] = {**histogram(cols["cost_exchange_ratio"]),
                         "estimate": mean_ci(cols["cost_exchange_ratio"]).as_dict()}
    if "interceptor_cost_usd" in cols and "raid_cost_usd" in cols:
        m = min(n, MAX_SCATTER_POINTS)
        reps = cols.get("replication")
        cost["scatter"] = {
            "replication": (reps[:m] if reps is not None else np.arange(m)).tolist(),
            "interceptor_cost_usd": cols["interceptor_cost_usd"][:m].tolist(),
            "raid_cost_usd": cols["raid_cost_usd"][:m].tolist(), "shown": m, "n": n}

    checkpoints = convergence_n(n)
    convergence: dict[str, Any] = {}
    for name in ("leakers", "value_lost"):
        if name in cols:
            convergence[name] = running_mean_ci(cols[name], checkpoints)
    if "any_leaker" in cols:
        convergence["any_leaker"] = running_proportion_ci(cols["any_leaker"], checkpoints)

    return {"header": header, "n": n, "notes": notes, "headline": headline,
            "leakers": leakers, "leakers_by_class": by_class,
            "value_lost": histogram(cols["value_lost"]) if "value_lost" in cols else None,
            "survival": survival, "map": _map_data(data, sites),
            "expenditure": expenditure, "cost_exchange": cost, "convergence": convergence}


# ------------------------------------------------------------------------- the MC page
def _header_html(h: Mapping[str, Any], kind: str) -> str:
    req = h.get("replications_requested")
    n_text = f"{h['replications']:,} replications"
    if isinstance(req, int) and req != h["replications"]:
        n_text += f" (of {req:,} requested)"
    return (f'<h1 id="title">{escape(h["scenario"])}</h1>'
            f'<p class="meta">shieldwall {escape(kind)} &#183; <span id="replications" '
            f'data-value="{h["replications"]}">{escape(n_text)}</span> &#183; seed '
            f'<span id="seed">{escape(str(h.get("seed")))}</span> &#183; scenario hash '
            f'<code id="scenario-hash">{escape(str(h.get("scenario_hash")))}</code> &#183; '
            f'version {escape(str(h.get("version") or "?"))}</p>'
            + _banners(bool(h.get("perfect_information"))))


_CARDS = (
    ("leakers", "leakers (mean)", False),
    ("any_leaker", "P(any leaker)", False),
    ("value_lost", "value lost (mean)", False),
    ("interceptors_fired", "interceptors fired (mean)", False),
    ("interceptor_cost_usd", "interceptor cost (mean)", True),
    ("cost_exchange_ratio", "cost exchange, interceptor / raid (mean)", False),
)


def _cards_html(headline: Mapping[str, Any]) -> str:
    out = ['<div class="cards" id="key-figures">']
    for key, label, usd in _CARDS:
        est = headline.get(key)
        if est is None:
            value, text, ci = None, "n/a", "not recorded in this study"
        else:
            value = est.get("estimate", est.get("mean"))
            text = fmt_sig(value, usd)
            ci = ("95 % CI " + fmt_interval(est["lower"], est["upper"], usd)
                  if est["lower"] is not None else
                  "no interval (N = 1)" if est["n"] == 1 else "no interval")
            if est.get("n_undefined"):
                ci += f"; undefined in {est['n_undefined']} replications"
        lower = None if est is None else est["lower"]
        upper = None if est is None else est["upper"]
        out.append(f'<div class="card"><div class="num" data-key="{key}" '
                   f'data-value="{escape(json.dumps(value))}" '
                   f'data-lower="{escape(json.dumps(lower))}" '
                   f'data-upper="{escape(json.dumps(upper))}">{escape(text)}</div>'
                   f'<div class="lbl">{escape(label)}</div><div class="ci">{escape(ci)}</div>'
                   "</div>")
    out.append("</div>")
    return "".join(out)


def _estimate_cells(est: Mapping[str, Any] | None, usd: bool = False) -> str:
    if est is None:
        return "<td>n/a</td><td></td><td></td><td></td>"
    value = est.get("estimate", est.get("mean"))
    return (num_cell(value, fmt_sig(value, usd)) + num_cell(est["lower"],
                                                            fmt_sig(est["lower"], usd))
            + num_cell(est["upper"], fmt_sig(est["upper"], usd))
            + num_cell(est["n"], f"{est['n']:,}"))


def _estimates_table(page: Mapping[str, Any]) -> str:
    h = page["headline"]
    rows = []
    for key, label, usd in (("leakers", "leakers", False),
                            ("any_leaker", "P(any leaker)", False),
                            ("value_lost", "value lost", False),
                            ("interceptors_fired", "interceptors fired", False),
                            ("interceptor_cost_usd", "interceptor cost (USD)", True),
                            ("raid_cost_usd", "raid cost (USD)", True),
                            ("cost_exchange_ratio", "cost-exchange ratio", False)):
        rows.append(f'<tr data-key="{key}">{cell(label)}{_estimate_cells(h.get(key), usd)}'
                    "</tr>")
    for c in page["leakers_by_class"]:
        rows.append(f'<tr data-key="leakers_{escape(c["class"])}">'
                    f'{cell("  leakers, " + c["class"])}{_estimate_cells(c)}</tr>')
    return html_table("table-estimates", ["quantity", "estimate", "95 % CI low", "95 % CI high",
                                      "N"], rows)


def _survival_table(survival: Sequence[Mapping[str, Any]]) -> str:
    if not survival:
        return '<p class="note" id="table-survival">No asset damage columns in this study.</p>'
    rows = []
    for a in survival:
        lost = a.get("value_lost") or {}
        rows.append(f'<tr data-key="{escape(a["id"])}">{cell(a["id"])}'
                    f'{cell(str(a["kind"]).replace("_", " "))}'
                    + num_cell(a["value"], fmt_sig(a["value"]))
                    + num_cell(a["p_survive"], fmt_sig(a["p_survive"]))
                    + num_cell(a["lower"], fmt_sig(a["lower"]))
                    + num_cell(a["upper"], fmt_sig(a["upper"]))
                    + num_cell(a["damaged"], f"{a['damaged']:,} of {a['n']:,}")
                    + num_cell(lost.get("mean"), fmt_sig(lost.get("mean"))) + "</tr>")
    return html_table("table-survival", ["asset", "kind", "value", "P(survives)", "95 % CI low",
                                     "95 % CI high", "damaged in", "mean value lost"], rows,
                  numeric_from=2)


def _expenditure_table(expenditure: Sequence[Mapping[str, Any]]) -> str:
    if not expenditure:
        return ""
    rows = []
    for e in expenditure:
        rows.append(f'<tr data-key="{escape(e["type"])}">{cell(e["type"])}'
                    + _estimate_cells(e)
                    + "".join(num_cell(e[k], fmt_sig(e[k]))
                              for k in ("min", "q1", "median", "q3", "max")) + "</tr>")
    return html_table("table-expenditure", ["interceptor", "mean fired", "95 % CI low",
                                        "95 % CI high", "N", "min", "25 %", "median", "75 %",
                                        "max"], rows)


def render_mc_report(data: StudyData) -> str:
    """The whole HTML document of a loaded study (see ``write_mc_report``)."""
    page = mc_page_data(data)
    h = page["header"]
    notes = "".join(f'<div class="warn">{escape(t)}</div>' for t in page["notes"])
    body = [
        "<main>", _header_html(h, "Monte Carlo report"), notes,
        "<h2>Headline estimates</h2>", _cards_html(page["headline"]),
        '<p class="note">Means with Student-t 95 % confidence intervals, proportions with '
        "Wilson 95 % intervals, over the replications of the study.</p>",
        "<h2>Leakers</h2>",
        '<div class="chart" id="mc-leakers"></div>',
        "<h3>Leakers by threat class</h3>",
        '<div class="chart" id="mc-leakers-by-class"></div>',
        "<h2>Value lost</h2>", '<div class="chart" id="mc-value-lost"></div>',
        "<h2>Asset survival</h2>",
        '<div class="chart map" id="mc-survival-map"></div>',
        '<p class="note">P(asset survives) = share of replications in which no hit fell inside '
        "the asset's damage radius, with its Wilson 95 % interval. Azimuthal-equidistant "
        "projection about the scenario origin (km), north up.</p>",
        _survival_table(page["survival"]),
        "<h2>Interceptor expenditure</h2>", '<div class="chart" id="mc-expenditure"></div>',
        _expenditure_table(page["expenditure"]),
        "<h2>Cost exchange</h2>", '<div class="chart" id="mc-cost-exchange"></div>',
        "<h2>Convergence</h2>", '<div class="chart tall" id="mc-convergence"></div>',
        '<p class="note">Running estimate over the first N replications (in replication order) '
        "with its 95 % interval; the interval narrows like 1/&#8730;N.</p>",
        "<h2>All estimates</h2>", _estimates_table(page),
        f'<footer>Generated by shieldwall from the files of the study directory '
        f"({REPLICATIONS_DIR}, study.json, summary.json, scenario.json). All system and "
        "threat figures are notional, taken from open sources; they are not real performance "
        "data. For analysis and education only.</footer>",
        "</main>",
    ]
    return _page(f"{h['scenario']} \u2014 shieldwall Monte Carlo report", body, "mc-data",
                 page, _MC_JS)


def write_mc_report(studydir: str | Path) -> Path:
    """Write ``studydir/report.html`` (the Monte Carlo report) atomically; return its path.

    Raises ``InputError`` naming the file when the study directory, its replications dataset
    (or every row of it) is missing, or a JSON file is malformed; nothing is written then.
    """
    studydir = Path(studydir)
    html = render_mc_report(load_study(studydir))
    return write_text_atomic(studydir / REPORT_NAME, html)


# ------------------------------------------------------------------------------- sweeps
def _axis_numeric(values: Sequence[Any]) -> bool:
    return bool(values) and all(isinstance(v, int | float) and not isinstance(v, bool)
                                for v in values)


def sweep_page_data(sweep: SweepData) -> dict[str, Any]:
    """Per-point estimates and, per axis, the response curves (one per other-axes combination).

    ``curves[a]`` lists ``{"name", "points": [point ids in the order of axis a's values]}``.
    """
    axes: list[dict[str, Any]] = [
        {"path": str(a["path"]), "values": list(a["values"]),
         "labels": [value_label(v) for v in a["values"]],
         "numeric": _axis_numeric(a["values"])} for a in sweep.axes]
    points = []
    for p in sweep.points:
        k = int(p["point"])
        params = p.get("params") or {}
        labels = {ax["path"]: value_label(params.get(ax["path"])) for ax in axes}
        report = sweep.sweepdir / str(p.get("dir", "")) / REPORT_NAME
        href = (quote(Path(str(p["dir"])).as_posix() + "/" + REPORT_NAME)
                if p.get("dir") and report.exists() else None)
        points.append({"point": k, "params": params, "labels": labels,
                       "dir": p.get("dir"), "report": href,
                       "estimates": point_estimates(sweep.rows.get(k))})
    curves = []
    for ax in axes:
        others = [o for o in axes if o is not ax]
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for p in points:
            groups.setdefault(tuple(p["labels"][o["path"]] for o in others), []).append(p)
        series = []
        for key, members in groups.items():
            order = {lab: i for i, lab in enumerate(ax["labels"])}
            members = sorted(members, key=lambda q: order.get(q["labels"][ax["path"]], 1e9))
            name = ", ".join(f"{o['path']}={v}" for o, v in zip(others, key, strict=True))
            series.append({"name": name or "all points",
                           "points": [q["point"] for q in members]})
        curves.append(series)
    header = {"scenario": str(sweep.index.get("scenario") or sweep.sweepdir.name),
              "seed": sweep.index.get("seed"),
              "replications_per_point": sweep.index.get("replications_per_point"),
              "complete": bool(sweep.index.get("complete", False)),
              "n_points": len(points)}
    return {"header": header, "axes": axes, "points": points, "curves": curves,
            "metrics": SWEEP_METRICS, "notes": list(sweep.notes)}


def _points_table(page: Mapping[str, Any]) -> str:
    axes = page["axes"]
    head = ["point", *[a["path"] for a in axes], "N", "P(any leaker)", "95 % CI",
            "mean leakers", "95 % CI", "mean value lost", "95 % CI", "interceptors fired",
            "interceptor cost", "report"]
    rows = []
    for p in page["points"]:
        e = p["estimates"]
        cells = [cell(p["point"]), *[cell(p["labels"][a["path"]]) for a in axes],
                 num_cell(e["n"], f"{e['n']:,}")]
        for key, usd in (("p_any_leaker", False), ("leakers", False), ("value_lost", False)):
            est = e.get(key)
            value = None if est is None else est.get("estimate", est.get("mean"))
            cells.append(num_cell(value, fmt_sig(value, usd)))
            cells.append(cell("" if est is None else fmt_interval(est["lower"], est["upper"])))
        for key, usd in (("interceptors_fired", False), ("interceptor_cost_usd", True)):
            est = e.get(key)
            value = None if est is None else est["mean"]
            cells.append(num_cell(value, fmt_sig(value, usd)))
        link = (f'<a href="{escape(p["report"])}">point report</a>' if p["report"]
                else "no finished replication" if e["n"] == 0 else "")
        cells.append(f"<td>{link}</td>")
        rows.append(f'<tr class="point-summary" id="point-{p["point"]:04d}" '
                    f'data-point="{p["point"]}">{"".join(cells)}</tr>')
    return html_table("sweep-points", head, rows, numeric_from=len(axes) + 1)


def render_sweep_report(sweep: SweepData) -> str:
    """The whole HTML document of a loaded sweep (see ``write_sweep_report``)."""
    page = sweep_page_data(sweep)
    h = page["header"]
    axis_options = "".join(f'<option value="{i}">{escape(a["path"])}</option>'
                           for i, a in enumerate(page["axes"]))
    metric_options = "".join(f'<option value="{k}">{escape(v)}</option>'
                             for k, v in SWEEP_METRICS.items())
    axes_text = "; ".join(f"{a['path']} = {', '.join(a['labels'])}" for a in page["axes"])
    notes = [*page["notes"]]
    if not h["complete"]:
        notes.insert(0, "The sweep is not complete (sweep.json says so); points without "
                        "finished replications are left out of the curves.")
    body = [
        "<main>",
        f'<h1 id="title">{escape(h["scenario"])}</h1>',
        f'<p class="meta">shieldwall sweep report &#183; {h["n_points"]} points &#183; '
        f'{escape(str(h["replications_per_point"]))} replications per point &#183; seed '
        f'<span id="seed">{escape(str(h["seed"]))}</span> (common random numbers: every point '
        "shares it)</p>", _banners(False),
        "".join(f'<div class="warn">{escape(t)}</div>' for t in notes),
        f'<p class="meta" id="sweep-axes">Axes: {escape(axes_text)}</p>',
        "<h2>Response</h2>",
        '<div class="controls"><label>x axis <select id="sweep-axis">'
        f"{axis_options}</select></label><label>quantity <select id=\"sweep-metric\">"
        f"{metric_options}</select></label></div>",
        '<div class="chart" id="sweep-response"></div>',
        '<p class="note">Estimates with their 95 % intervals (Student t for means, Wilson for '
        "P(any leaker)); one line per combination of the other axes.</p>",
        "<h2>Points</h2>", '<div class="scroll">', _points_table(page), "</div>",
        "<footer>Generated by shieldwall from the files of the sweep directory (sweep.json, "
        "sweep.parquet, points/). All figures are notional, taken from open sources; they are "
        "not real performance data. For analysis and education only.</footer>",
        "</main>",
    ]
    return _page(f"{h['scenario']} \u2014 shieldwall sweep report", body, "sweep-data", page,
                 _SWEEP_JS)


def write_sweep_report(sweepdir: str | Path, point_reports: bool = True) -> Path:
    """Write ``sweepdir/report.html`` (and, by default, each point's Monte Carlo report).

    Parameters
    ----------
    sweepdir : a sweep directory of ``shieldwall sweep`` (``sweep.json`` required).
    point_reports : also write ``points/point-NNNN/report.html`` for every point with
        finished replications (the sweep page links to them).

    Returns
    -------
    The path of the sweep report. Raises ``InputError`` naming the file when ``sweep.json``
    is missing or malformed, or no point has a finished replication.
    """
    sweepdir = Path(sweepdir)
    sweep = load_sweep(sweepdir)
    if point_reports:
        for p in sweep.points:
            pdir = sweepdir / str(p.get("dir", ""))
            if p.get("dir") and (pdir / REPLICATIONS_DIR).exists():
                try:
                    write_mc_report(pdir)
                except InputError as err:
                    sweep.notes.append(f"No report for point {p['point']}: {err}")
    return write_text_atomic(sweepdir / REPORT_NAME, render_sweep_report(sweep))


# ------------------------------------------------------------------------ page scripts
_COMMON_JS = r"""
var CONFIG = {displaylogo: false, responsive: true};
var FONT = {family: 'system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif', size: 12};
function layoutWith(extra) {
  var base = {margin: {l: 64, r: 24, t: 36, b: 52}, font: FONT, hovermode: 'closest',
              legend: {orientation: 'h', y: -0.18}, paper_bgcolor: '#ffffff',
              plot_bgcolor: '#ffffff'};
  for (var k in extra) { base[k] = extra[k]; }
  return base;
}
function emptyLayout(text) {
  return layoutWith({xaxis: {visible: false}, yaxis: {visible: false},
    annotations: [{text: text, showarrow: false, xref: 'paper', yref: 'paper', x: 0.5,
                   y: 0.5, font: {size: 14, color: '#5b6675'}}]});
}
function fmt(v) {
  if (v === null || v === undefined) { return 'n/a'; }
  if (Math.abs(v) >= 1000) { return Math.round(v).toLocaleString('en-US'); }
  return Number(v.toPrecision(3)).toString();
}
function ci(lo, hi) {
  return (lo === null || hi === null) ? 'no interval' : '[' + fmt(lo) + ', ' + fmt(hi) + ']';
}
function errorBars(items, mean, lower, upper, colour) {
  return {type: 'data', symmetric: false, visible: true, color: colour || '#333333',
    thickness: 1.5,
    array: items.map(function(e){ return e[upper] === null ? 0 : e[upper] - e[mean]; }),
    arrayminus: items.map(function(e){ return e[lower] === null ? 0 : e[mean] - e[lower]; })};
}
"""

_MC_JS = _COMMON_JS + "var SYMBOLS = " + json.dumps(ASSET_SYMBOLS) + ";\n" + r"""
(function(){
  var D = JSON.parse(document.getElementById('mc-data').textContent);
  var jobs = [];
  function plot(id, traces, layout) {
    var el = document.getElementById(id);
    if (el) { jobs.push(Plotly.newPlot(el, traces, layout, CONFIG)); }
  }
  var N = D.n;

  // Leakers: probability of each count, and the empirical CDF.
  var L = D.leakers;
  if (L && L.n) {
    plot('mc-leakers', [
      {type: 'bar', name: 'P(leakers = k)', x: L.values,
       y: L.counts.map(function(c){ return c / L.n; }), customdata: L.counts,
       marker: {color: '#d62728'},
       hovertemplate: '%{x} leakers: %{customdata} of ' + L.n + ' (%{y:.3f})<extra></extra>'},
      {type: 'scatter', mode: 'lines+markers', name: 'P(leakers \u2264 k)', x: L.values,
       y: L.cdf, yaxis: 'y2', line: {shape: 'hv', color: '#1d232b'},
       hovertemplate: 'P(leakers \u2264 %{x}) = %{y:.3f}<extra></extra>'}],
      layoutWith({xaxis: {title: {text: 'leakers per raid'},
                          dtick: L.values.length > 30 ? null : 1},
        yaxis: {title: {text: 'share of replications'}, rangemode: 'tozero'},
        yaxis2: {title: {text: 'empirical CDF'}, overlaying: 'y', side: 'right',
                 range: [0, 1.02], tickmode: 'linear', tick0: 0, dtick: 0.2, showgrid: false},
        margin: {l: 64, r: 64, t: 36, b: 52}, bargap: 0.15}));
  } else {
    plot('mc-leakers', [], emptyLayout('No leakers column in this study.'));
  }
  var C = D.leakers_by_class;
  if (C && C.length) {
    plot('mc-leakers-by-class', [
      {type: 'bar', name: 'mean leakers', x: C.map(function(c){ return c['class']; }),
       y: C.map(function(c){ return c.mean; }), error_y: errorBars(C, 'mean', 'lower', 'upper'),
       marker: {color: '#e07b39'},
       text: C.map(function(c){ return ci(c.lower, c.upper); }), textposition: 'none',
       hovertemplate: '%{x}: mean %{y:.3g}, 95 % CI %{text}<extra></extra>'}],
      layoutWith({yaxis: {title: {text: 'mean leakers per raid'}, rangemode: 'tozero'},
                  xaxis: {title: {text: 'threat class'}}}));
  } else {
    plot('mc-leakers-by-class', [], emptyLayout('No per-class leaker columns in this study.'));
  }

  // Value lost: histogram and empirical CDF.
  var V = D.value_lost;
  if (V && V.n) {
    var centres = [], widths = [];
    for (var i = 0; i + 1 < V.edges.length; i++) {
      centres.push((V.edges[i] + V.edges[i + 1]) / 2); widths.push(V.edges[i + 1] - V.edges[i]);
    }
    plot('mc-value-lost', [
      {type: 'bar', name: 'share of replications', x: centres, width: widths,
       y: V.counts.map(function(c){ return c / V.n; }), customdata: V.counts,
       marker: {color: '#8c564b', line: {color: '#ffffff', width: 1}},
       hovertemplate: '%{x:.3g}: %{customdata} replications<extra></extra>'},
      {type: 'scatter', mode: 'lines', name: 'P(value lost \u2264 x)', x: V.ecdf.x,
       y: V.ecdf.p, yaxis: 'y2', line: {shape: 'hv', color: '#1d232b'},
       hovertemplate: 'P(value lost \u2264 %{x:.4g}) = %{y:.3f}<extra></extra>'}],
      layoutWith({xaxis: {title: {text: 'value lost per raid (asset value units)'}},
        yaxis: {title: {text: 'share of replications'}, rangemode: 'tozero'},
        yaxis2: {title: {text: 'empirical CDF'}, overlaying: 'y', side: 'right',
                 range: [0, 1.02], tickmode: 'linear', tick0: 0, dtick: 0.2, showgrid: false},
        margin: {l: 64, r: 64, t: 36, b: 52}, bargap: 0}));
  } else {
    plot('mc-value-lost', [], emptyLayout('No value_lost column in this study.'));
  }

  // Survival map.
  var S = D.survival, M = D.map;
  var byId = {};
  S.forEach(function(a){ byId[a.id] = a; });
  var SCALE = [[0, '#d62728'], [0.5, '#f2c12e'], [1, '#2a9d3f']];
  if (M && S.length) {
    var traces = [];
    M.sensors.forEach(function(s, i){
      if (s.coverage) { traces.push({type: 'scatter', mode: 'lines', x: s.coverage.x,
        y: s.coverage.y, fill: 'toself', fillcolor: 'rgba(123,63,158,0.04)',
        line: {color: 'rgba(123,63,158,0.5)', width: 1, dash: 'dot'},
        name: 'early-warning coverage', legendgroup: 'ew', showlegend: i === 0,
        hoverinfo: 'text', text: s.id + ': early warning ' + fmt(s.range_km) + ' km'}); }
    });
    M.batteries.forEach(function(b, i){
      if (b.radar) { traces.push({type: 'scatter', mode: 'lines', x: b.radar.x, y: b.radar.y,
        fill: 'toself', fillcolor: 'rgba(74,144,217,0.05)',
        line: {color: 'rgba(74,144,217,0.55)', width: 1}, name: 'battery radar coverage',
        legendgroup: 'radar', showlegend: i === 0, hoverinfo: 'text',
        text: b.id + ': radar ' + fmt(b.radar_range_km) + ' km'}); }
    });
    M.batteries.forEach(function(b, i){
      if (b.engagement) { traces.push({type: 'scatter', mode: 'lines', x: b.engagement.x,
        y: b.engagement.y, line: {color: '""" + BATTERY_COLOUR + r"""', width: 1.2,
        dash: 'dash'}, name: 'engagement range', legendgroup: 'eng', showlegend: i === 0,
        hoverinfo: 'text', text: b.id + ': engagement range ' + fmt(b.engagement_range_km) +
        ' km'}); }
    });
    M.assets.forEach(function(a, i){
      traces.push({type: 'scatter', mode: 'lines', x: a.footprint.x, y: a.footprint.y,
        line: {color: '#b08000', width: 0.8}, fill: 'toself',
        fillcolor: 'rgba(244,180,0,0.12)', name: 'asset footprint', legendgroup: 'foot',
        showlegend: i === 0, hoverinfo: 'skip'});
    });
    if (M.batteries.length) {
      traces.push({type: 'scatter', mode: 'markers+text', name: 'batteries',
        x: M.batteries.map(function(b){ return b.east_km; }),
        y: M.batteries.map(function(b){ return b.north_km; }),
        text: M.batteries.map(function(b){ return b.id; }), textposition: 'bottom right',
        textfont: {color: '""" + BATTERY_COLOUR + r"""', size: 10},
        marker: {color: '""" + BATTERY_COLOUR + r"""', size: 9,
                 line: {color: '#ffffff', width: 1}},
        hovertemplate: '%{text}<extra>battery</extra>'});
    }
    if (M.sensors.length) {
      traces.push({type: 'scatter', mode: 'markers+text', name: 'early-warning sensors',
        x: M.sensors.map(function(s){ return s.east_km; }),
        y: M.sensors.map(function(s){ return s.north_km; }),
        text: M.sensors.map(function(s){ return s.id; }), textposition: 'bottom right',
        textfont: {color: '""" + SENSOR_COLOUR + r"""', size: 10},
        marker: {color: '""" + SENSOR_COLOUR + r"""', size: 9, symbol: 'triangle-up'},
        hovertemplate: '%{text}<extra>early-warning sensor</extra>'});
    }
    var shown = M.assets.filter(function(a){ return byId[a.id]; });
    var hidden = M.assets.filter(function(a){ return !byId[a.id]; });
    if (hidden.length) {
      traces.push({type: 'scatter', mode: 'markers+text', name: 'asset (no damage column)',
        x: hidden.map(function(a){ return a.east_km; }),
        y: hidden.map(function(a){ return a.north_km; }),
        text: hidden.map(function(a){ return a.id; }), textposition: 'top center',
        marker: {color: '#bbbbbb', size: 12},
        hovertemplate: '%{text}: not recorded<extra></extra>'});
    }
    traces.push({type: 'scatter', mode: 'markers+text', name: 'assets: P(survives)',
      x: shown.map(function(a){ return a.east_km; }),
      y: shown.map(function(a){ return a.north_km; }),
      text: shown.map(function(a){ return a.id + ' ' + fmt(byId[a.id].p_survive); }),
      textposition: 'top center', textfont: {size: 11},
      customdata: shown.map(function(a){ var s = byId[a.id];
        return [a.id, s.kind.replace('_', ' '), s.p_survive, ci(s.lower, s.upper), s.damaged,
                s.n]; }),
      hovertemplate: '<b>%{customdata[0]}</b> (%{customdata[1]})<br>P(survives) ' +
        '%{customdata[2]:.3f}, 95 % CI %{customdata[3]}<br>damaged in %{customdata[4]} of ' +
        '%{customdata[5]} replications<extra></extra>',
      marker: {size: 17, line: {color: '#1d232b', width: 1},
        symbol: shown.map(function(a){ return SYMBOLS[a.kind] || 'circle'; }),
        color: shown.map(function(a){ return byId[a.id].p_survive; }), cmin: 0, cmax: 1,
        colorscale: SCALE, showscale: true,
        colorbar: {title: {text: 'P(survives)'}, thickness: 14, len: 0.8}}});
    plot('mc-survival-map', traces, layoutWith({
      xaxis: {title: {text: 'east (km)'}, range: M.x_range_km, zeroline: false},
      yaxis: {title: {text: 'north (km)'}, range: M.y_range_km, zeroline: false,
              scaleanchor: 'x', scaleratio: 1},
      legend: {orientation: 'h', y: -0.12}, margin: {l: 64, r: 24, t: 24, b: 40}}));
  } else if (S.length) {
    plot('mc-survival-map', [{type: 'scatter', mode: 'markers', name: 'P(survives)',
      y: S.map(function(a){ return a.id; }), x: S.map(function(a){ return a.p_survive; }),
      error_x: errorBars(S, 'p_survive', 'lower', 'upper'),
      text: S.map(function(a){ return ci(a.lower, a.upper); }),
      hovertemplate: '%{y}: P(survives) %{x:.3f}, 95 % CI %{text}<extra></extra>',
      marker: {size: 13, color: S.map(function(a){ return a.p_survive; }), cmin: 0, cmax: 1,
               colorscale: SCALE, showscale: true, colorbar: {title: {text: 'P(survives)'}}}}],
      layoutWith({xaxis: {title: {text: 'P(asset survives)'}, range: [-0.02, 1.02]},
        annotations: [{text: 'no asset positions (scenario.json missing)', showarrow: false,
                       xref: 'paper', yref: 'paper', x: 0, y: 1.08, xanchor: 'left'}]}));
  } else {
    plot('mc-survival-map', [], emptyLayout('No asset damage columns in this study.'));
  }

  // Interceptor expenditure: quartile boxes (whiskers min to max) and mean with its interval.
  var E = D.expenditure;
  if (E && E.length) {
    var names = E.map(function(e){ return e.type; });
    plot('mc-expenditure', [
      {type: 'box', name: 'distribution', x: names,
       q1: E.map(function(e){ return e.q1; }), median: E.map(function(e){ return e.median; }),
       q3: E.map(function(e){ return e.q3; }), lowerfence: E.map(function(e){ return e.min; }),
       upperfence: E.map(function(e){ return e.max; }), marker: {color: '#1f77d0'},
       fillcolor: 'rgba(31,119,208,0.15)', hoverinfo: 'y'},
      {type: 'scatter', mode: 'markers', name: 'mean, 95 % CI', x: names,
       y: E.map(function(e){ return e.mean; }), error_y: errorBars(E, 'mean', 'lower', 'upper'),
       marker: {symbol: 'diamond', size: 10, color: '#d62728'},
       text: E.map(function(e){ return ci(e.lower, e.upper); }),
       hovertemplate: '%{x}: mean %{y:.3g}, 95 % CI %{text}<extra></extra>'}],
      layoutWith({yaxis: {title: {text: 'interceptors fired per raid'}, rangemode: 'tozero'},
                  xaxis: {title: {text: 'interceptor (box: quartiles, whiskers: min to max)'}}}));
  } else {
    plot('mc-expenditure', [], emptyLayout('No interceptor columns in this study.'));
  }

  // Cost exchange: the ratio's distribution, and interceptor cost against raid cost.
  var X = D.cost_exchange, R = X.ratio, P = X.scatter, ct = [], notes = [];
  if (R && R.n) {
    var cc = [], cw = [];
    for (var j = 0; j + 1 < R.edges.length; j++) {
      cc.push((R.edges[j] + R.edges[j + 1]) / 2); cw.push(R.edges[j + 1] - R.edges[j]);
    }
    ct.push({type: 'bar', name: 'cost-exchange ratio', x: cc, width: cw,
      y: R.counts.map(function(c){ return c / R.n; }), customdata: R.counts,
      marker: {color: '#2a9d3f', line: {color: '#ffffff', width: 1}},
      hovertemplate: 'ratio %{x:.3g}: %{customdata} replications<extra></extra>'});
  }
  if (R && R.n_undefined) {
    notes.push(R.n_undefined + ' of ' + N + ' replications have no raid cost: ratio undefined');
  }
  if (R && !R.n) { notes.push('cost-exchange ratio undefined in every replication'); }
  if (P) {
    var maxc = 0;
    P.raid_cost_usd.concat(P.interceptor_cost_usd).forEach(function(v){
      if (v !== null && v > maxc) { maxc = v; } });
    ct.push({type: 'scatter', mode: 'markers', name: 'replications', xaxis: 'x2', yaxis: 'y2',
      x: P.raid_cost_usd, y: P.interceptor_cost_usd, customdata: P.replication,
      marker: {size: 6, color: 'rgba(31,119,208,0.55)'},
      hovertemplate: 'replication %{customdata}<br>raid $%{x:,.0f}<br>interceptors ' +
        '$%{y:,.0f}<extra></extra>'});
    ct.push({type: 'scatter', mode: 'lines', name: 'ratio 1 (equal cost)', xaxis: 'x2',
      yaxis: 'y2', x: [0, maxc || 1], y: [0, maxc || 1],
      line: {color: '#8c8c8c', dash: 'dot'}, hoverinfo: 'skip'});
    if (P.shown < P.n) { notes.push('scatter: first ' + P.shown + ' of ' + P.n + ' replications'); }
  }
  if (ct.length) {
    plot('mc-cost-exchange', ct, layoutWith({
      xaxis: {domain: [0, 0.44], title: {text: 'interceptor cost / raid cost'}},
      yaxis: {title: {text: 'share of replications'}, rangemode: 'tozero'},
      xaxis2: {domain: [0.56, 1], anchor: 'y2', title: {text: 'raid cost (USD)'},
               rangemode: 'tozero'},
      yaxis2: {anchor: 'x2', title: {text: 'interceptor cost (USD)'}, rangemode: 'tozero'},
      annotations: notes.length ? [{text: notes.join('; '), showarrow: false, xref: 'paper',
        yref: 'paper', x: 0, y: 1.07, xanchor: 'left', font: {color: '#5b6675'}}] : []}));
  } else {
    plot('mc-cost-exchange', [], emptyLayout('No cost columns in this study.'));
  }

  // Convergence: running estimate with its 95 % band, one panel per quantity.
  var G = D.convergence, panels = [['leakers', 'mean leakers'], ['value_lost', 'mean value lost'],
    ['any_leaker', 'P(any leaker)']].filter(function(p){ return G[p[0]] && G[p[0]].n.length; });
  if (panels.length) {
    var gt = [], lay = layoutWith({showlegend: false, margin: {l: 70, r: 24, t: 24, b: 52}});
    var gap = 0.06, h = (1 - gap * (panels.length - 1)) / panels.length;
    panels.forEach(function(p, k){
      var s = G[p[0]], ya = k === 0 ? 'y' : 'y' + (k + 1);
      var key = k === 0 ? 'yaxis' : 'yaxis' + (k + 1);
      var top = 1 - k * (h + gap);
      lay[key] = {domain: [top - h, top], title: {text: p[1]}, anchor: 'x'};
      gt.push({type: 'scatter', mode: 'lines', x: s.n, y: s.lower, yaxis: ya,
               line: {width: 0, color: 'rgba(31,119,208,0.3)'}, hoverinfo: 'skip'});
      gt.push({type: 'scatter', mode: 'lines', x: s.n, y: s.upper, yaxis: ya, fill: 'tonexty',
               fillcolor: 'rgba(31,119,208,0.18)', line: {width: 0, color: 'rgba(31,119,208,0.3)'},
               hoverinfo: 'skip'});
      gt.push({type: 'scatter', mode: s.n.length < 3 ? 'lines+markers' : 'lines', x: s.n,
               y: s.mean, yaxis: ya, name: p[1],
               line: {color: '#1f3b73', width: 1.6},
               customdata: s.n.map(function(_, i){ return ci(s.lower[i], s.upper[i]); }),
               hovertemplate: 'N = %{x}: %{y:.4g}, 95 % CI %{customdata}<extra>' + p[1] +
               '</extra>'});
    });
    lay.xaxis = {title: {text: 'replications N (in replication order)'},
                 anchor: panels.length === 1 ? 'y' : 'y' + panels.length};
    plot('mc-convergence', gt, lay);
  } else {
    plot('mc-convergence', [], emptyLayout('Nothing to show.'));
  }

  Promise.all(jobs).then(function(){ document.body.dataset.ready = '1'; });
})();
"""

_SWEEP_JS = _COMMON_JS + r"""
(function(){
  var D = JSON.parse(document.getElementById('sweep-data').textContent);
  var byPoint = {};
  D.points.forEach(function(p){ byPoint[p.point] = p; });
  var axisSel = document.getElementById('sweep-axis');
  var metricSel = document.getElementById('sweep-metric');
  var COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2',
                 '#7f7f7f', '#bcbd22', '#17becf'];
  function draw() {
    var a = parseInt(axisSel.value || '0', 10), metric = metricSel.value || 'leakers';
    var axis = D.axes[a];
    if (!axis) {
      return Plotly.react('sweep-response', [], emptyLayout('No swept axis.'), CONFIG);
    }
    var traces = D.curves[a].map(function(series, k){
      var pts = series.points.map(function(id){ return byPoint[id]; });
      var est = pts.map(function(p){
        var e = p.estimates[metric];
        if (!e) { return {value: null, lower: null, upper: null, n: p.estimates.n}; }
        var v = (e.estimate !== undefined) ? e.estimate : e.mean;
        return {value: v, lower: e.lower, upper: e.upper, n: e.n};
      });
      var x = pts.map(function(p){
        return axis.numeric ? p.params[axis.path] : p.labels[axis.path]; });
      return {type: 'scatter', mode: 'lines+markers', name: series.name, x: x,
        y: est.map(function(e){ return e.value; }),
        error_y: errorBars(est, 'value', 'lower', 'upper', COLOURS[k % COLOURS.length]),
        line: {color: COLOURS[k % COLOURS.length]}, marker: {size: 8},
        customdata: pts.map(function(p, i){
          return ['point ' + p.point, ci(est[i].lower, est[i].upper), est[i].n]; }),
        hovertemplate: '%{customdata[0]}: %{y:.4g}, 95 % CI %{customdata[1]}, N = ' +
          '%{customdata[2]}<extra>%{fullData.name}</extra>'};
    });
    var xaxis = {title: {text: axis.path}};
    if (!axis.numeric) {
      xaxis.type = 'category'; xaxis.categoryorder = 'array'; xaxis.categoryarray = axis.labels;
    } else if (axis.values.length <= 12) {
      xaxis.tickvals = axis.values;
    }
    var yaxis = {title: {text: D.metrics[metric]}, rangemode: 'tozero'};
    return Plotly.react('sweep-response', traces,
      layoutWith({xaxis: xaxis, yaxis: yaxis, showlegend: D.curves[a].length > 1}), CONFIG);
  }
  axisSel.addEventListener('change', draw);
  metricSel.addEventListener('change', draw);
  window.shieldwallSweep = {
    setAxis: function(i){ axisSel.value = String(i); return draw(); },
    setMetric: function(m){ metricSel.value = m; return draw(); }
  };
  Promise.resolve(draw()).then(function(){ document.body.dataset.ready = '1'; });
})();
"""
