"""The self-contained offline HTML report of one run (``report.html`` in the results directory).

One file, no external resource of any kind (no CDN, web font, tile or link): the CSS, the
vanilla JavaScript (layer toggles, a filter for the engagement table) and the map (inline SVG,
``shieldwall.report.svgmap``) are all inside. It reads only the files of the results directory
(docs/internals.md), never the engine. The file is written atomically: to a temporary file in
the same directory, then ``os.replace``d over ``report.html``, so a reader never sees a partial
report.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

import numpy as np

from shieldwall.report.data import ENGAGEMENT_KINDS, RunData, load_run, parse_detail
from shieldwall.report.svgmap import FATE_COLOURS, FATE_ORDER, map_svg

REPORT_NAME = "report.html"
MAX_ENGAGEMENT_ROWS = 3000
CLASS_ORDER = ("ballistic", "aeroballistic", "cruise", "drone", "decoy")
NOTIONAL_BANNER = "NOTIONAL \u2014 open-source figures, not real performance data"
PERFECT_INFORMATION_LABEL = "PERFECT INFORMATION (study mode)"

_CSS = """
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

_JS = """
(function(){
  document.querySelectorAll('input[data-layer]').forEach(function(box){
    box.addEventListener('change', function(){
      var name = box.getAttribute('data-layer');
      document.querySelectorAll('g.' + name).forEach(function(g){
        g.style.display = box.checked ? '' : 'none';
      });
    });
  });
  var filter = document.getElementById('engagement-filter');
  var table = document.getElementById('table-engagements');
  if (filter && table) {
    filter.addEventListener('input', function(){
      var q = filter.value.toLowerCase();
      table.querySelectorAll('tbody tr').forEach(function(row){
        row.style.display = row.textContent.toLowerCase().indexOf(q) === -1 ? 'none' : '';
      });
    });
  }
})();
"""

_LAYERS = (
    ("layer-tracks", "threat tracks"), ("layer-intercepts", "intercepts"),
    ("layer-misses", "misses"), ("layer-impacts", "leaker impacts"),
    ("layer-crashes", "crashes"), ("layer-flyouts", "interceptor flyouts"),
    ("layer-coverage", "battery coverage"), ("layer-ew", "early-warning coverage"),
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


def _num_cell(value: Any, text: str, tag: str = "td") -> str:
    """A right-aligned numeric cell carrying the exact JSON value in ``data-value``."""
    return f'<{tag} class="n" data-value="{escape(json.dumps(value))}">{escape(text)}</{tag}>'


def _cell(text: Any, tag: str = "td") -> str:
    return f"<{tag}>{escape(str(text))}</{tag}>"


def _table(table_id: str, header: Sequence[str], rows: Iterable[str],
           numeric_from: int = 1) -> str:
    head = "".join(
        f'<th class="n">{escape(h)}</th>' if i >= numeric_from else f"<th>{escape(h)}</th>"
        for i, h in enumerate(header))
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
        rows.append(f'<tr data-key="{escape(key)}">{_cell(key)}'
                    + "".join(_num_cell(counts.get(f, 0), fmt_count(counts.get(f, 0)))
                              for f in FATE_ORDER)
                    + _num_cell(total, fmt_count(total)) + "</tr>")
    if totals is not None:
        rows.append('<tr class="total" data-key="total"><td>all</td>'
                    + "".join(_num_cell(totals.get(f, 0), fmt_count(totals.get(f, 0)))
                              for f in FATE_ORDER)
                    + _num_cell(total_threats, fmt_count(total_threats)) + "</tr>")
    table = _table(table_id, header, rows)
    swatches = " ".join(f'<span class="swatch" style="background:{FATE_COLOURS[f]}"></span>{f}'
                        for f in FATE_ORDER)
    return table + f'<p class="note">Map colours: {swatches}</p>'


def _interceptor_table(s: Mapping[str, Any]) -> str:
    fired = s.get("interceptors_fired") or {}
    remaining = s.get("interceptors_remaining") or {}
    header = ["interceptor", "fired"] + (["remaining"] if remaining else [])
    rows = []
    for name in sorted(fired):
        row = f'<tr data-key="{escape(name)}">{_cell(name)}'
        row += _num_cell(fired[name], fmt_count(fired[name]))
        if remaining:
            row += _num_cell(remaining.get(name), fmt_count(remaining.get(name)))
        rows.append(row + "</tr>")
    total = int(sum(v for v in fired.values() if _number(v) is not None))
    rows.append('<tr class="total" data-key="total"><td>all</td>'
                + _num_cell(total, fmt_count(total)) + ("<td></td>" if remaining else "")
                + "</tr>")
    cost_rows = [
        f'<tr data-key="interceptor_cost_usd"><td>interceptor cost</td>'
        f'{_num_cell(s.get("interceptor_cost_usd"), fmt_usd(s.get("interceptor_cost_usd")))}'
        "</tr>",
        f'<tr data-key="raid_cost_usd"><td>raid cost (threats launched)</td>'
        f'{_num_cell(s.get("raid_cost_usd"), fmt_usd(s.get("raid_cost_usd")))}</tr>',
        f'<tr data-key="cost_exchange_ratio"><td>cost exchange ratio (interceptor / raid)</td>'
        f'{_num_cell(s.get("cost_exchange_ratio"), fmt_ratio(s.get("cost_exchange_ratio")))}'
        "</tr>",
    ]
    return ('<div class="grid2"><div>' + _table("table-interceptors", header, rows)
            + "</div><div>" + _table("table-cost", ["cost", "value"], cost_rows)
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
        rows.append(f'<tr data-key="{escape(aid)}">{_cell(aid)}{_cell(kinds.get(aid, ""))}'
                    + _num_cell(d.get("value"), fmt_value(d.get("value")))
                    + _num_cell(d.get("value_lost"), fmt_value(d.get("value_lost")))
                    + _num_cell(round(share, 3), f"{share:.1f} %")
                    + _num_cell(d.get("hits", 0), fmt_count(d.get("hits", 0))) + "</tr>")
    total, lost = _number(s.get("value_total")), _number(s.get("value_lost"))
    share = 100 * lost / total if total and lost is not None else 0.0
    rows.append('<tr class="total" data-key="total"><td>all</td><td></td>'
                + _num_cell(s.get("value_total"), fmt_value(s.get("value_total")))
                + _num_cell(s.get("value_lost"), fmt_value(s.get("value_lost")))
                + _num_cell(round(share, 3), f"{share:.1f} %") + "<td></td></tr>")
    return _table("table-assets", ["asset", "kind", "value", "value lost", "lost", "hits"],
                  rows, numeric_from=2)


def _engagement_result(kind: str, d: Mapping[str, Any]) -> tuple[str, str, str]:
    """(result text, css class, detail text) of one engagement-related event."""
    def num(key: str, spec: str) -> str:
        v = _number(d.get(key))
        return "?" if v is None else format(v, spec)

    if kind == "engage":
        rounds = d.get("rounds")
        result = f"engaged: {rounds} round{'s' if rounds != 1 else ''}, Pk {num('pk', '.2f')}"
        detail = str(d.get("reason", "")) or _detail_text(d)
        return result, "", detail
    if kind == "launch":
        eid = d.get("engagement_id")
        return "launched", "", f"engagement #{eid}" if eid is not None else _detail_text(d)
    if kind in ("intercept_kill", "intercept_miss"):
        text = f"miss distance {num('miss_m', '.1f')} m, Pk {num('pk', '.2f')}"
        if kind == "intercept_kill":
            return "KILL", "kill", text
        return "missed", "miss", text
    return kind, "", _detail_text(d)


def _detail_text(d: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in d.items())


def _engagement_table(run: RunData) -> str:
    ev = run.events
    mask = np.isin(ev.kind, list(ENGAGEMENT_KINDS))
    sel = ev.select(mask)
    n = len(sel)
    details = [parse_detail(str(text)) for text in sel.detail]
    # A launch is logged against its engagement; name the threat of that engagement.
    threat_of_engagement = {d.get("engagement_id"): int(sel.threat_id[j])
                            for j, d in enumerate(details)
                            if sel.kind[j] == "engage" and int(sel.threat_id[j]) >= 0}
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
        rows.append(f'<tr data-kind="{escape(kind)}">'
                    + _num_cell(round(float(sel.time_s[j]), 3), f"{sel.time_s[j]:.1f}")
                    + _cell(kind) + _cell(sel.battery_id[j]) + _cell(interceptor)
                    + _cell(threat)
                    + (f'<td class="{css}">{escape(result)}</td>' if css else _cell(result))
                    + _cell(detail) + "</tr>")
    note = ""
    if n > MAX_ENGAGEMENT_ROWS:
        note = (f'<p class="note">Showing the first {MAX_ENGAGEMENT_ROWS:,} of {n:,} events; '
                "the full log is events.parquet.</p>")
    if n == 0:
        return '<p class="note" id="table-engagements">No engagements in this run.</p>'
    table = _table("table-engagements", ["time (s)", "event", "battery", "interceptor",
                                         "threat / track", "result", "detail"], rows,
                   numeric_from=99)
    return (f'<p><input type="search" id="engagement-filter" placeholder="filter rows" '
            f'aria-label="filter engagement rows"> <span class="note">{n:,} events</span></p>'
            f'{note}<div class="scroll">{table}</div>')


def render_report(run: RunData) -> str:
    """The whole HTML document of a loaded run (see ``write_report``)."""
    s = run.summary
    name = str(s.get("scenario", run.scenario.get("name", "scenario")))
    layer_boxes = "".join(
        f'<label><input type="checkbox" checked data-layer="{lid}"> {escape(label)}</label>'
        for lid, label in _LAYERS)
    body = [
        "<main>", _header(s),
        "<h2>Summary</h2>", _cards(s),
        "<h2>Map</h2>",
        f'<div class="layers" id="layer-toggles">{layer_boxes}</div>',
        '<h3>Theatre</h3><div class="mapbox">'
        f'{map_svg(run, 1100, 760, standalone=False, view="theatre")}</div>',
        '<h3>Defended area</h3><div class="mapbox">'
        f'{map_svg(run, 1100, 760, standalone=False, view="defended", id_prefix="defended-")}'
        "</div>",
        '<p class="note">Azimuthal-equidistant projection about the scenario origin, north up; '
        "hover an element for details. The layer switches act on both maps.</p>",
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
            f"<style>{_CSS}</style></head><body>{''.join(body)}"
            f"<script>{_JS}</script></body></html>\n")


def write_text_atomic(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file in the same directory.

    ``os.replace`` is atomic on POSIX and Windows within one file system, so ``path`` is either
    the old file or the complete new one; the temporary file is removed on any failure.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


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
