"""The self-contained offline HTML report of one run (``report.html`` in the results directory).

One file, no external resource of any kind (no CDN, web font, tile or link): the CSS, plotly.js
(``page.plotly_script_tag``, once), the page script (``assets/report.js``), the data and the
map are all inside. The page:

- ``#map-panel``: the replay map. The static base is inline SVG (``svgmap.map_svg`` with
  ``interactive=True``: grid, assets, batteries, sensors, instrumented and horizon-limited
  radar coverage, legend); under it a ``<canvas>`` draws, at the time of ``input#time-slider``
  (``button#play`` replays the raid), the threat trails coloured by fate, their current
  positions, the interceptor flyouts and the intercept, impact and crash markers, from the
  replay document (``replay.replay_payload``). ``select#coverage-altitude`` redraws the radar
  coverage for another target altitude (``coverage``); ``#hover-info`` describes what is under
  the pointer. Two views: the theatre and the defended area.
- plotly charts ``#chart-gantt``, ``#chart-inventory``, ``#chart-inflight`` (``charts``).
- tables: key figures, fates by class and type, interceptors and cost, value lost per asset,
  radar coverage at the chosen altitude, and ``table#table-engagements`` (every engagement
  event with its reasons, filterable, sortable on ``th[data-sort]``).
- ``window.shieldwallReport = {setTime(t_s), time, duration_s, visibleThreats(),
  setCoverageAltitude(m)}``; ``document.body.dataset.ready = "1"`` once all is drawn.

It reads only the files of the results directory (docs/internals.md), never the engine. The
file is written atomically: to a temporary file in the same directory, then ``os.replace``d
over ``report.html``, so a reader never sees a partial report.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

import numpy as np

from shieldwall.core.outputs import write_text_atomic
from shieldwall.core.vocabulary import EventKind
from shieldwall.report.charts import gantt_figure, inflight_figure, inventory_figure
from shieldwall.report.coverage import (
    ALTITUDE_LABELS,
    COVERAGE_ALTITUDES_M,
    DEFAULT_ANTENNA_HEIGHT_M,
    DEFAULT_COVERAGE_ALTITUDE_M,
    DEFAULT_SITE_ALT_M,
    coverage_range_m,
    coverage_sites,
    horizon_range_m,
)
from shieldwall.report.data import ENGAGEMENT_KINDS, RunData, load_run, parse_detail
from shieldwall.report.page import json_script_tag, plotly_script_tag
from shieldwall.report.replay import replay_payload
from shieldwall.report.svgmap import FATE_COLOURS, FATE_ORDER, map_frame, replay_map_svgs
from shieldwall.report.timeline import (
    Engagement,
    ThreatIntervals,
    engagements,
    run_duration_s,
    threat_intervals,
)

REPORT_NAME = "report.html"
MAX_ENGAGEMENT_ROWS = 10000
LONG_TABLE_ROWS = 300  # past this the table is laid out only once scrolled near (CSS)
MAP_WIDTH_PX = 1100
MAP_HEIGHT_PX = 760
PLAY_SPEEDS = (1, 5, 10, 30, 60, 120, 300)
DEFAULT_PLAY_SPEED = 30
ENGAGEMENT_TABLE_KINDS = (*ENGAGEMENT_KINDS, EventKind.SELF_DESTRUCT)
CLASS_ORDER = ("ballistic", "aeroballistic", "cruise", "drone", "decoy")
NOTIONAL_BANNER = "NOTIONAL \u2014 open-source figures, not real performance data"
PERFECT_INFORMATION_LABEL = "PERFECT INFORMATION (study mode)"



# The style shared with the Monte Carlo and sweep pages (``mc.py`` imports it); the run
# report adds ``assets/report.css``.
BASE_CSS = """
:root{--fg:#1d232b;--muted:#5b6675;--line:#d8dee6;--bg:#ffffff;--panel:#f6f8fa}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);
font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1180px;margin:0 auto;padding:18px 22px 40px}
h1{font-size:24px;margin:4px 0 2px}
h3{font-size:14.5px;margin:14px 0 6px;color:#33404f}
h2{font-size:17px;margin:26px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
.meta{color:var(--muted);margin:0 0 10px}
.banner{background:#fff4d6;border:1px solid #e3b341;color:#6b4b00;padding:7px 12px;
border-radius:6px;font-weight:600;margin:8px 0}
.pi{background:#fde2e1;border:1px solid #d1242f;color:#82071e;padding:7px 12px;
border-radius:6px;font-weight:700;margin:8px 0}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:8px 0}
.card{background:var(--panel);border:1px solid var(--line);border-radius:8px;padding:8px 12px;
min-width:128px}
.card .num{font-size:20px;font-weight:650;font-variant-numeric:tabular-nums}
.card .lbl{color:var(--muted);font-size:12px}
table{border-collapse:collapse;margin:6px 0 4px;font-variant-numeric:tabular-nums}
th,td{border-bottom:1px solid var(--line);padding:4px 10px;text-align:left;vertical-align:top}
th{background:var(--panel);font-weight:600}
td.n,th.n{text-align:right}
tr.total td{font-weight:650;border-top:2px solid #aab4c0}
.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px}
.layers{display:flex;flex-wrap:wrap;gap:4px 14px;margin:4px 0 8px;color:var(--muted)}
.layers label{cursor:pointer}
.mapbox{overflow-x:auto}
.mapbox svg{max-width:100%;height:auto;border:1px solid var(--line);border-radius:6px}
.grid2{display:flex;flex-wrap:wrap;gap:8px 40px}
.scroll{max-height:520px;overflow:auto;border:1px solid var(--line);border-radius:6px}
.scroll table{margin:0;width:100%}
.scroll th{position:sticky;top:0}
.kill{color:#135f25;font-weight:650}
.miss{color:#8a5a00}
.note{color:var(--muted);font-size:12.5px}
input[type=search]{padding:4px 8px;border:1px solid var(--line);border-radius:5px;width:260px}
footer{color:var(--muted);font-size:12px;margin-top:30px;border-top:1px solid var(--line);
padding-top:8px}
"""


@functools.cache
def _asset(name: str) -> str:
    """A file of ``shieldwall/report/assets`` (the page's script and style sheet)."""
    return (importlib.resources.files("shieldwall.report") / "assets" / name).read_text(
        encoding="utf-8")


_LAYERS = (
    ("layer-tracks", "threat tracks"), ("layer-intercepts", "intercepts"),
    ("layer-misses", "misses"), ("layer-impacts", "leaker impacts"),
    ("layer-crashes", "crashes"), ("layer-flyouts", "interceptor flyouts"),
    ("layer-horizon", "coverage at target altitude"),
    ("layer-coverage", "battery instrumented and engagement range"),
    ("layer-ew", "early-warning instrumented range"),
    ("layer-batteries", "batteries and sensors"), ("layer-assets", "assets"),
    ("layer-grid", "km grid"),
)


# ---------------------------------------------------------------- formatting helpers
def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float) and math.isfinite(float(value)):
        return float(value)
    return None


def fmt_count(value: Any) -> str:
    v = _number(value)
    return "n/a" if v is None else f"{v:,.0f}"


def fmt_value(value: Any) -> str:
    v = _number(value)
    if v is None:
        return "n/a"
    return f"{v:,.0f}" if v == round(v) else f"{v:,.2f}"


def fmt_usd(value: Any) -> str:
    v = _number(value)
    return "n/a" if v is None else f"${v:,.0f}"


def fmt_ratio(value: Any) -> str:
    v = _number(value)
    return "n/a" if v is None else f"{v:,.2f}"


def num_cell(value: Any, text: str, tag: str = "td") -> str:
    """A right-aligned numeric cell carrying the exact JSON value in ``data-value``."""
    return f'<{tag} class="n" data-value="{escape(json.dumps(value))}">{escape(text)}</{tag}>'


def cell(text: Any, tag: str = "td") -> str:
    return f"<{tag}>{escape(str(text))}</{tag}>"


def html_table(table_id: str, header: Sequence[str], rows: Iterable[str],
           numeric_from: int = 1, sort: Sequence[str] | None = None) -> str:
    """A table; ``sort`` gives each column's ``data-sort`` ("num" or "text") to sort on click."""
    def th(i: int, h: str) -> str:
        cls = ' class="n"' if i >= numeric_from else ""
        key = f' data-sort="{sort[i]}" title="sort"' if sort else ""
        return f"<th{cls}{key}>{escape(h)}</th>"

    head = "".join(th(i, h) for i, h in enumerate(header))
    return (f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}'
            "</tbody></table>")


def _ordered(keys: Iterable[str], preferred: Sequence[str]) -> list[str]:
    keys = list(keys)
    return [k for k in preferred if k in keys] + sorted(k for k in keys if k not in preferred)


# ---------------------------------------------------------------- sections
def _header(s: Mapping[str, Any]) -> str:
    name = str(s.get("scenario", "scenario"))
    parts = [f'<h1 id="title">{escape(name)}</h1>',
             f'<p class="meta">shieldwall run report &#183; seed <span id="seed">'
             f'{escape(str(s.get("seed", "")))}</span> &#183; version '
             f'{escape(str(s.get("version", "")))} &#183; duration '
             f'{fmt_value(s.get("duration_s"))} s</p>',
             f'<div class="banner" id="notional">{escape(NOTIONAL_BANNER)}</div>']
    if s.get("perfect_information"):
        parts.append(f'<div class="pi" id="perfect-information">'
                     f"{escape(PERFECT_INFORMATION_LABEL)}: the battle manager saw the true "
                     "threat states instead of tracks.</div>")
    return "".join(parts)


def _cards(s: Mapping[str, Any]) -> str:
    fates = s.get("fates") or {}
    fired = s.get("interceptors_fired") or {}
    total_fired = int(sum(v for v in fired.values() if _number(v) is not None))
    value_lost, value_total = _number(s.get("value_lost")), _number(s.get("value_total"))
    share = (f" ({100 * value_lost / value_total:.1f} % of {fmt_value(value_total)})"
             if value_lost is not None and value_total else "")
    cards = [
        ("threats", s.get("threats"), fmt_count(s.get("threats")), "threats"),
        *[(f"fates.{f}", fates.get(f, 0), fmt_count(fates.get(f, 0)), f) for f in FATE_ORDER],
        ("value_lost", s.get("value_lost"), fmt_value(s.get("value_lost")), "value lost" + share),
        ("interceptors_fired_total", total_fired, fmt_count(total_fired), "interceptors fired"),
        ("interceptor_cost_usd", s.get("interceptor_cost_usd"),
         fmt_usd(s.get("interceptor_cost_usd")), "interceptor cost"),
        ("raid_cost_usd", s.get("raid_cost_usd"), fmt_usd(s.get("raid_cost_usd")), "raid cost"),
        ("cost_exchange_ratio", s.get("cost_exchange_ratio"),
         fmt_ratio(s.get("cost_exchange_ratio")), "cost exchange (defense / raid)"),
        ("engagements", s.get("engagements"), fmt_count(s.get("engagements")), "engagements"),
        ("detections", s.get("detections"), fmt_count(s.get("detections")), "detections"),
        ("tracks_confirmed", s.get("tracks_confirmed"), fmt_count(s.get("tracks_confirmed")),
         "tracks confirmed"),
    ]
    out = ['<div class="cards" id="key-figures">']
    for key, value, text, label in cards:
        out.append(f'<div class="card"><div class="num" data-key="{escape(key)}" '
                   f'data-value="{escape(json.dumps(value))}">{escape(text)}</div>'
                   f'<div class="lbl">{escape(label)}</div></div>')
    out.append("</div>")
    return "".join(out)


def _fate_table(table_id: str, first_column: str, by: Mapping[str, Mapping[str, Any]],
                order: Sequence[str], totals: Mapping[str, Any] | None,
                total_threats: Any) -> str:
    header = [first_column, *FATE_ORDER, "total"]
    rows = []
    for key in _ordered(by.keys(), order):
        counts = by[key] or {}
        total = sum(int(counts.get(f, 0) or 0) for f in FATE_ORDER)
        rows.append(f'<tr data-key="{escape(key)}">{cell(key)}'
                    + "".join(num_cell(counts.get(f, 0), fmt_count(counts.get(f, 0)))
                              for f in FATE_ORDER)
                    + num_cell(total, fmt_count(total)) + "</tr>")
    if totals is not None:
        rows.append('<tr class="total" data-key="total"><td>all</td>'
                    + "".join(num_cell(totals.get(f, 0), fmt_count(totals.get(f, 0)))
                              for f in FATE_ORDER)
                    + num_cell(total_threats, fmt_count(total_threats)) + "</tr>")
    table = html_table(table_id, header, rows)
    swatches = " ".join(f'<span class="swatch" style="background:{FATE_COLOURS[f]}"></span>{f}'
                        for f in FATE_ORDER)
    return table + f'<p class="note">Map colours: {swatches}</p>'


def _interceptor_table(s: Mapping[str, Any]) -> str:
    fired = s.get("interceptors_fired") or {}
    remaining = s.get("interceptors_remaining") or {}
    header = ["interceptor", "fired"] + (["remaining"] if remaining else [])
    rows = []
    for name in sorted(fired):
        row = f'<tr data-key="{escape(name)}">{cell(name)}'
        row += num_cell(fired[name], fmt_count(fired[name]))
        if remaining:
            row += num_cell(remaining.get(name), fmt_count(remaining.get(name)))
        rows.append(row + "</tr>")
    total = int(sum(v for v in fired.values() if _number(v) is not None))
    rows.append('<tr class="total" data-key="total"><td>all</td>'
                + num_cell(total, fmt_count(total)) + ("<td></td>" if remaining else "")
                + "</tr>")
    cost_rows = [
        f'<tr data-key="interceptor_cost_usd"><td>interceptor cost</td>'
        f'{num_cell(s.get("interceptor_cost_usd"), fmt_usd(s.get("interceptor_cost_usd")))}'
        "</tr>",
        f'<tr data-key="raid_cost_usd"><td>raid cost (threats launched)</td>'
        f'{num_cell(s.get("raid_cost_usd"), fmt_usd(s.get("raid_cost_usd")))}</tr>',
        f'<tr data-key="cost_exchange_ratio"><td>cost exchange ratio (interceptor / raid)</td>'
        f'{num_cell(s.get("cost_exchange_ratio"), fmt_ratio(s.get("cost_exchange_ratio")))}'
        "</tr>",
    ]
    return ('<div class="grid2"><div>' + html_table("table-interceptors", header, rows)
            + "</div><div>" + html_table("table-cost", ["cost", "value"], cost_rows)
            + "</div></div>")


def _asset_table(s: Mapping[str, Any], scenario: Mapping[str, Any]) -> str:
    damage = s.get("asset_damage") or {}
    kinds = {str(a.get("id")): str(a.get("kind", "")) for a in scenario.get("assets", [])}
    order = [str(a.get("id")) for a in scenario.get("assets", [])]
    rows = []
    for aid in _ordered(damage.keys(), order):
        d = damage[aid] or {}
        value, lost = _number(d.get("value")), _number(d.get("value_lost"))
        share = 100 * lost / value if value and lost is not None else 0.0
        rows.append(f'<tr data-key="{escape(aid)}">{cell(aid)}{cell(kinds.get(aid, ""))}'
                    + num_cell(d.get("value"), fmt_value(d.get("value")))
                    + num_cell(d.get("value_lost"), fmt_value(d.get("value_lost")))
                    + num_cell(round(share, 3), f"{share:.1f} %")
                    + num_cell(d.get("hits", 0), fmt_count(d.get("hits", 0))) + "</tr>")
    total, lost = _number(s.get("value_total")), _number(s.get("value_lost"))
    share = 100 * lost / total if total and lost is not None else 0.0
    rows.append('<tr class="total" data-key="total"><td>all</td><td></td>'
                + num_cell(s.get("value_total"), fmt_value(s.get("value_total")))
                + num_cell(s.get("value_lost"), fmt_value(s.get("value_lost")))
                + num_cell(round(share, 3), f"{share:.1f} %") + "<td></td></tr>")
    return html_table("table-assets", ["asset", "kind", "value", "value lost", "lost", "hits"],
                  rows, numeric_from=2)


def _engagement_result(kind: str, d: Mapping[str, Any]) -> tuple[str, str, str]:
    """(result text, css class, detail text) of one engagement-related event."""
    def num(key: str, spec: str) -> str:
        v = _number(d.get(key))
        return "?" if v is None else format(v, spec)

    if kind == EventKind.ENGAGE:
        rounds = d.get("rounds")
        result = f"engaged: {rounds} round{'s' if rounds != 1 else ''}, Pk {num('pk', '.2f')}"
        detail = str(d.get("reason", "")) or _detail_text(d)
        return result, "", detail
    if kind == EventKind.LAUNCH:
        eid = d.get("engagement_id")
        return "launched", "", f"engagement #{eid}" if eid is not None else _detail_text(d)
    if kind == EventKind.SELF_DESTRUCT:
        eid = d.get("engagement_id")
        return ("self-destructed", "miss",
                f"engagement #{eid}" if eid is not None else _detail_text(d))
    if kind in (EventKind.INTERCEPT_KILL, EventKind.INTERCEPT_MISS):
        text = f"miss distance {num('miss_m', '.1f')} m, Pk {num('pk', '.2f')}"
        if kind == EventKind.INTERCEPT_KILL:
            return "KILL", "kill", text
        return "missed", "miss", text
    return kind, "", _detail_text(d)


def _detail_text(d: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in d.items())


def _engagement_table(run: RunData) -> str:
    ev = run.events
    mask = np.isin(ev.kind, list(ENGAGEMENT_TABLE_KINDS))
    sel = ev.select(mask)
    n = len(sel)
    details = [parse_detail(str(text)) for text in sel.detail]
    # A launch is logged against its engagement; name the threat of that engagement.
    threat_of_engagement = {d.get("engagement_id"): int(sel.threat_id[j])
                            for j, d in enumerate(details)
                            if sel.kind[j] == EventKind.ENGAGE and int(sel.threat_id[j]) >= 0}
    rows = []
    for j in range(min(n, MAX_ENGAGEMENT_ROWS)):
        kind = str(sel.kind[j])
        d = details[j]
        result, css, detail = _engagement_result(kind, d)
        tid, trk, iid = int(sel.threat_id[j]), int(sel.track_id[j]), int(sel.interceptor_id[j])
        if tid < 0 and d.get("engagement_id") is not None:
            tid = threat_of_engagement.get(d["engagement_id"], -1)
        threat = "; ".join(p for p in (f"threat {tid}" if tid >= 0 else "",
                                       f"track {trk}" if trk >= 0 else "") if p) or "\u2014"
        itype = str(sel.interceptor_type[j])
        interceptor = f"{itype} #{iid}" if iid >= 0 else itype
        t = round(float(sel.time_s[j]), 3)
        rows.append(f'<tr data-kind="{escape(kind)}" data-t="{t}" data-threat-id="{tid}">'
                    + num_cell(t, f"{sel.time_s[j]:.1f}")
                    + cell(kind) + cell(sel.battery_id[j]) + cell(interceptor)
                    + f'<td data-value="{tid}">{escape(threat)}</td>'
                    + (f'<td class="{css}">{escape(result)}</td>' if css else cell(result))
                    + cell(detail) + "</tr>")
    note = ""
    if n > MAX_ENGAGEMENT_ROWS:
        note = (f'<p class="note">Showing the first {MAX_ENGAGEMENT_ROWS:,} of {n:,} events; '
                "the full log is events.parquet.</p>")
    if n == 0:
        note = '<p class="note">No engagements in this run.</p>'
    table = html_table("table-engagements", ["time (s)", "event", "battery", "interceptor",
                                         "threat / track", "result", "detail"], rows,
                   numeric_from=99,
                   sort=("num", "text", "text", "text", "num", "text", "text"))
    return (f'<p><input type="search" id="engagement-filter" placeholder="filter rows" '
            f'aria-label="filter engagement rows"> <span class="note">{n:,} events; click a '
            "column heading to sort, a row to replay that moment</span></p>"
            f'{note}<div class="scroll{" long" if n > LONG_TABLE_ROWS else ""}" '
            f'id="engagements-box">{table}</div>')


def _coverage_table(run: RunData) -> str:
    """Each radar's reach against a target at the default altitude (the page updates it)."""
    sites = coverage_sites(run.scenario)
    h = DEFAULT_COVERAGE_ALTITUDE_M
    rows = []
    for k, c in enumerate(sites):
        horizon = horizon_range_m(c.antenna_alt_m, h)
        reach = coverage_range_m(c, h)
        flag = "" if c.heights_known else " *"
        rows.append(f'<tr data-key="{escape(c.site_id)}" data-site="{k}">{cell(c.site_id)}'
                    + cell(c.kind)
                    + num_cell(round(c.antenna_alt_m, 2), f"{c.antenna_alt_m:,.0f} m{flag}")
                    + num_cell(round(c.range_m, 1), f"{c.range_m / 1e3:,.0f} km")
                    + num_cell(round(horizon, 1), f"{horizon / 1e3:,.1f} km")
                    + num_cell(round(reach, 1), f"{reach / 1e3:,.1f} km") + "</tr>")
    if not rows:
        return '<p class="note">No radar in this scenario.</p>'
    note = ""
    if not all(c.heights_known for c in sites):
        note = (f'<p class="note">* scenario.json gives no antenna height for this radar: '
                f"taken as {DEFAULT_SITE_ALT_M:g} m ground + {DEFAULT_ANTENNA_HEIGHT_M:g} m mast."
                "</p>")
    return (html_table("table-coverage", ["radar", "kind", "antenna height", "instrumented range",
                                      "horizon range", "sees the target at"], rows,
                   numeric_from=2)
            + '<p class="note">Horizon range over a smooth 4/3 earth: sqrt(2kRh<sub>a</sub>) + '
            "sqrt(2kRh<sub>t</sub>), about 4.12 km &#215; (&#8730;h<sub>a</sub> + "
            "&#8730;h<sub>t</sub>) with heights in metres; a radar sees a target no further than "
            "the smaller of that and its instrumented range. Terrain masking is not drawn.</p>"
            + note)


def _strip_titles(svg: str) -> str:
    """The interactive map shows its details in ``#hover-info``, not as native tooltips."""
    return re.sub(r"<title>.*?</title>", "", svg, flags=re.S)


def _map_panel(run: RunData, items: list[Engagement],
               intervals: ThreatIntervals) -> tuple[str, dict[str, Any]]:
    """The replay map's HTML and the replay document."""
    duration = run_duration_s(run)
    views = {v: (map_frame(run, MAP_WIDTH_PX, MAP_HEIGHT_PX, v), MAP_WIDTH_PX, MAP_HEIGHT_PX)
             for v in ("theatre", "defended")}
    payload = replay_payload(run, views, items, intervals)
    layer_boxes = "".join(
        f'<label><input type="checkbox" checked data-layer="{lid}"> {escape(label)}</label>'
        for lid, label in _LAYERS)
    speeds = "".join(f'<option value="{v}"{" selected" if v == DEFAULT_PLAY_SPEED else ""}>'
                     f"{v}&#215;</option>" for v in PLAY_SPEEDS)
    altitudes = "".join(
        f'<option value="{h}"{" selected" if h == DEFAULT_COVERAGE_ALTITUDE_M else ""}>'
        f"{escape(ALTITUDE_LABELS.get(h, f'{h:,} m'))}</option>" for h in COVERAGE_ALTITUDES_M)
    stages = []
    for view, prefix, label in (("theatre", "", "Theatre"),
                                ("defended", "defended-", "Defended area")):
        base, overlay = replay_map_svgs(run, MAP_WIDTH_PX, MAP_HEIGHT_PX, view=view,
                                        id_prefix=prefix, frame=views[view][0])
        hidden = " hidden" if view != "theatre" else ""
        stages.append(f'<div class="stage" id="stage-{view}" data-view="{view}"{hidden} '
                      f'aria-label="{label} map">{_strip_titles(base)}'
                      '<canvas class="replay" aria-hidden="true"></canvas>'
                      f"{_strip_titles(overlay)}</div>")
    html = (
        '<section id="map-panel">'
        '<div class="toolbar">'
        '<button type="button" id="play" aria-pressed="false">&#9654; Play</button>'
        f'<label>speed <select id="play-speed">{speeds}</select></label>'
        f'<input type="range" id="time-slider" min="0" max="{duration:g}" step="0.1" '
        f'value="{duration:g}" aria-label="simulation time in seconds">'
        f'<output id="clock">t = {duration:.1f} s</output></div>'
        '<div class="toolbar">'
        '<span class="views">view <label><input type="radio" name="map-view" value="theatre" '
        'checked> theatre</label> <label><input type="radio" name="map-view" '
        'value="defended"> defended area</label></span>'
        f'<label>radar coverage against a target at <select id="coverage-altitude">{altitudes}'
        "</select></label>"
        '<label><input type="checkbox" id="show-finished" checked> finished tracks</label>'
        '<span id="live-counts" class="note"></span></div>'
        f'<div class="layers" id="layer-toggles">{layer_boxes}</div>'
        + "".join(stages)
        + '<div id="hover-info" role="status" hidden></div>'
        '<p class="note">Azimuthal-equidistant projection about the scenario origin, north up. '
        "Trails are coloured by the threat's fate; a hollow dot is a threat no track has "
        "confirmed yet. Hover for details, click a threat to keep it highlighted.</p>"
        "</section>")
    return html, payload


def _charts(run: RunData, items: list[Engagement],
            intervals: ThreatIntervals) -> tuple[str, dict[str, Any]]:
    figures = {"gantt": gantt_figure(run, items), "inventory": inventory_figure(run),
               "inflight": inflight_figure(run, intervals)}
    def chart(chart_id: str) -> str:
        return (f'<div class="chart-box"><div id="{chart_id}" class="chart"></div>'
                '<div class="time-cursor" hidden></div></div>')

    html = (chart("chart-gantt") + '<div class="grid2 charts">' + chart("chart-inventory")
            + chart("chart-inflight") + "</div>"
            + '<p class="note">The red line is the replay time; click a bar or a point to '
            "replay that moment.</p>")
    return html, figures


def render_report(run: RunData) -> str:
    """The whole HTML document of a loaded run (see ``write_report``)."""
    s = run.summary
    name = str(s.get("scenario", run.scenario.get("name", "scenario")))
    items = engagements(run)
    intervals = threat_intervals(run)
    map_html, payload = _map_panel(run, items, intervals)
    charts_html, figures = _charts(run, items, intervals)
    body = [
        "<main>", _header(s),
        "<h2>Summary</h2>", _cards(s),
        "<h2>Map and replay</h2>", map_html,
        "<h2>Timeline</h2>", charts_html,
        "<h2>Radar coverage against the chosen target altitude</h2>", _coverage_table(run),
        "<h2>Threats by class and fate</h2>",
        _fate_table("table-fates-by-class", "class", s.get("fates_by_class") or {},
                    CLASS_ORDER, s.get("fates") or {}, s.get("threats")),
    ]
    if s.get("fates_by_type"):
        body += ["<h2>Threats by type and fate</h2>",
                 _fate_table("table-fates-by-type", "type", s["fates_by_type"], (), None, None)]
    body += [
        "<h2>Interceptors fired and cost</h2>", _interceptor_table(s),
        "<h2>Value lost per asset</h2>", _asset_table(s, run.scenario),
        "<h2>Engagements</h2>", _engagement_table(run),
        f'<footer>Generated by shieldwall {escape(str(s.get("version", "")))} from the files of '
        "the results directory (summary.json, scenario.json, truth, interceptors and events "
        "tables). All system and threat figures are notional, taken from open sources; they "
        "are not real performance data. For analysis and education only.</footer>",
        "</main>",
    ]
    return ("<!DOCTYPE html>\n"
            '<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(name)} \u2014 shieldwall report</title>"
            f"<style>{BASE_CSS}{_asset('report.css')}</style></head><body>{''.join(body)}"
            f"{json_script_tag('replay-data', payload)}"
            f"{json_script_tag('chart-data', figures)}"
            f"{plotly_script_tag()}"
            f"<script>{_asset('report.js')}</script></body></html>\n")


def write_report(outdir: Path) -> Path:
    """Write ``outdir/report.html`` from the results files in ``outdir`` and return its path.

    Parameters
    ----------
    outdir : a results directory of ``shieldwall run`` (docs/internals.md "Results directory");
        ``summary.json`` and ``scenario.json`` are required, the parquet tables optional.

    Returns
    -------
    The path of the report. Raises ``shieldwall.core.InputError`` when a required file is
    missing or not valid JSON (nothing is written then).
    """
    outdir = Path(outdir)
    html = render_report(load_run(outdir))
    return write_text_atomic(outdir / REPORT_NAME, html)
