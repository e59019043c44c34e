"""The model validation report (``validation.html``) drawn from ``validation.json`` alone.

One self-contained page (plotly.js and the data inlined, no network): a summary table of every
check (status, model, seconds), then one section per check -- the model, its model card, the
cited reference, the acceptance criterion, the measured metrics, and its figures with the
engine's curves solid and the reference's dashed. The layout follows the parts of a model's
verification record in MIL-STD-3022 (the model, the referent, the acceptance criterion, the
results). It reads plain data only: the report layer never imports a model.
"""

from __future__ import annotations

import html
from typing import Any

from shieldwall.report.page import json_script_tag, plotly_script_tag

_BADGE = {"pass": ("PASS", "#1a7f37"), "fail": ("FAIL", "#cf222e"),
          "error": ("ERROR", "#9a6700")}

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:0 auto;
max-width:1100px;padding:1.2rem;color:#1f2328}
h1{font-size:1.5rem;margin:.2rem 0}h2{font-size:1.15rem;margin:1.6rem 0 .3rem}
table{border-collapse:collapse;margin:.4rem 0}td,th{border:1px solid #d0d7de;padding:.25rem .5rem;
text-align:left;font-size:.9rem}th{background:#f6f8fa}
.badge{color:#fff;border-radius:4px;padding:.05rem .45rem;font-weight:600;font-size:.85rem}
.meta{color:#57606a;font-size:.9rem;margin:.15rem 0}.fig{width:100%;height:380px}
pre{background:#f6f8fa;padding:.5rem;overflow-x:auto;font-size:.8rem}
section{border-top:1px solid #d0d7de;margin-top:1rem}
"""

_SCRIPT = """
(() => {
  const doc = JSON.parse(document.getElementById('validation-data').textContent);
  doc.checks.forEach((c, ci) => {
    (c.figures || []).forEach((f, fi) => {
      const traces = f.series.map(s => ({
        x: s.x, y: s.y, name: s.label, type: 'scatter',
        mode: s.style === 'points' ? 'markers' : 'lines',
        line: s.reference ? {dash: 'dash', width: 2} : {width: 2},
        marker: {size: 6}
      }));
      const layout = {title: {text: f.title, font: {size: 14}},
        xaxis: {title: {text: f.x_label}, type: f.log_x ? 'log' : 'linear'},
        yaxis: {title: {text: f.y_label}, type: f.log_y ? 'log' : 'linear'},
        margin: {l: 60, r: 20, t: 40, b: 50}, legend: {orientation: 'h', y: -0.2}};
      Plotly.newPlot('fig-' + ci + '-' + fi, traces, layout,
                     {displaylogo: false, responsive: true});
    });
  });
  document.body.dataset.ready = '1';
})();
"""


def _badge(status: str) -> str:
    text, colour = _BADGE.get(status, (status.upper(), "#57606a"))
    return f'<span class="badge" style="background:{colour}">{text}</span>'


def _number(v: Any) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.4g}"
    return html.escape(str(v))


def render_validation(doc: dict[str, Any]) -> str:
    """The HTML page of a ``validation.json`` document."""
    e = html.escape
    counts = doc.get("counts", {})
    rows = []
    sections = []
    for ci, c in enumerate(doc.get("checks", [])):
        rows.append(f'<tr><td><a href="#check-{e(c["name"])}">{e(c["name"])}</a></td>'
                    f'<td>{e(c["model"])}</td><td>{_badge(c["status"])}</td>'
                    f'<td>{c["seconds"]:.2f}</td></tr>')
        metrics = "".join(f"<tr><td>{e(k)}</td><td>{_number(v)}</td></tr>"
                          for k, v in c.get("metrics", {}).items())
        figures = "".join(f'<div class="fig" id="fig-{ci}-{fi}"></div>'
                          for fi in range(len(c.get("figures", []))))
        error = f"<pre>{e(c['error'])}</pre>" if c.get("error") else ""
        notes = f'<p class="meta">{e(c["notes"])}</p>' if c.get("notes") else ""
        sections.append(
            f'<section id="check-{e(c["name"])}"><h2>{_badge(c["status"])} {e(c["title"])}</h2>'
            f'<p class="meta">check <code>{e(c["name"])}</code> of model '
            f'<code>{e(c["model"])}</code>; model card <code>{e(c["card"])}</code></p>'
            f'<p class="meta"><b>Reference:</b> {e(c["reference"])}</p>'
            f'<p class="meta"><b>Criterion:</b> {e(c.get("criterion", ""))}</p>'
            f"{notes}{error}"
            + (f"<table><tr><th>metric</th><th>value</th></tr>{metrics}</table>"
               if metrics else "")
            + f"{figures}</section>")
    summary = (f'{counts.get("pass", 0)} passed, {counts.get("fail", 0)} failed, '
               f'{counts.get("error", 0)} errors')
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>shieldwall model validation</title><style>{_CSS}</style></head><body>"
        f'<h1>shieldwall model validation</h1><p class="meta">shieldwall '
        f'{e(str(doc.get("shieldwall_version", "")))}, {e(str(doc.get("mode", "")))} checks: '
        f"<b>{summary}</b>. Each check runs one model of the engine against an independent "
        "reference; the model cards are in the repository's docs/models/.</p>"
        '<table><tr><th>check</th><th>model</th><th>status</th><th>seconds</th></tr>'
        f'{"".join(rows)}</table>{"".join(sections)}'
        f'{json_script_tag("validation-data", doc)}{plotly_script_tag()}'
        f"<script>{_SCRIPT}</script></body></html>")
