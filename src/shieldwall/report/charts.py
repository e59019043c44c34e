"""The run report's plotly charts as plain figure dictionaries (``{"data", "layout"}``).

The page draws them with the inlined plotly.js (``Plotly.newPlot``); nothing here imports
plotly. The page draws the replay's time cursor over each chart itself (a plotly relayout per
tick of the replay would cost tens of milliseconds per chart).

- ``gantt_figure``: a horizontal bar per engagement from its start to its outcome, one trace
  per result (kill, miss, pending) so the legend filters them; bars of one battery are
  stacked in lanes so that none overlap; ``customdata`` holds the engagement id.
- ``inventory_figure``: interceptors left per battery, a step line per battery.
- ``inflight_figure``: threats in flight per class, stacked step areas (the top is the total).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from shieldwall.report.data import RunData
from shieldwall.report.timeline import (
    CLASS_COLOURS,
    RESULT_COLOURS,
    RESULTS,
    Engagement,
    ThreatIntervals,
    battery_order,
    gantt_lanes,
    inflight_series,
    inventory_series,
    run_duration_s,
)

FONT = {"family": 'system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif', "size": 12}
LANE_PX = 13
MIN_BAR_FRACTION = 0.002  # of the duration: an instant engagement is still a visible bar
_SIDE_LEGEND = {"orientation": "v", "x": 1.02, "xanchor": "left", "y": 1, "yanchor": "top",
                "font": {"size": 11}}


def _layout(title: str, x_title: str, y_title: str, duration: float, height: int,
            **extra: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "title": {"text": title, "font": {"size": 14}, "x": 0.01, "xanchor": "left"},
        "font": FONT, "height": height, "margin": {"l": 110, "r": 20, "t": 36, "b": 44},
        "xaxis": {"title": {"text": x_title}, "range": [0, duration], "zeroline": False},
        "yaxis": {"title": {"text": y_title}, "zeroline": False},
        "plot_bgcolor": "#f6f8fa", "paper_bgcolor": "#ffffff",
        "legend": {"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 1,
                   "xanchor": "right"},
        "shapes": [],
    }
    layout.update(extra)
    return layout


def _fmt_pk(pk: float) -> str:
    return "?" if pk != pk else f"{pk:.2f}"


def engagement_label(e: Engagement) -> str:
    """One line describing an engagement (the Gantt hover text)."""
    threat = f"threat {e.threat_id}" if e.threat_id >= 0 else "threat ?"
    track = f" (track {e.track_id})" if e.track_id >= 0 else ""
    when = (f" at {e.end_s:.1f} s" if e.result != "pending" else "")
    return (f"engagement #{e.engagement_id}: {e.battery_id}, {e.interceptor_type} "
            f"x{len(e.launch_s)}/{e.rounds} at {threat}{track}<br>Pk {_fmt_pk(e.pk)}, "
            f"engaged {e.start_s:.1f} s, {e.result}{when}")


def gantt_figure(run: RunData, items: list[Engagement]) -> dict[str, Any]:
    """The engagement timeline: a bar per engagement on its battery's lanes."""
    duration = run_duration_s(run)
    names = battery_order(run, items)
    lanes, n_lanes = gantt_lanes(names, items)
    first_row: dict[str, int] = {}
    row = 0
    for name, n in zip(names, n_lanes, strict=True):
        first_row[name] = row
        row += n + 1                       # one empty row between batteries
    min_width = MIN_BAR_FRACTION * duration
    data = []
    for result in RESULTS:
        sel = [k for k, e in enumerate(items) if e.result == result]
        data.append({
            "type": "bar", "orientation": "h", "name": result,
            "marker": {"color": RESULT_COLOURS[result], "line": {"width": 0}},
            "base": [round(items[k].start_s, 3) for k in sel],
            "x": [round(max(items[k].end_s - items[k].start_s, min_width), 3) for k in sel],
            "y": [first_row[items[k].battery_id] + int(lanes[k]) for k in sel],
            "width": 0.8,
            "customdata": [items[k].engagement_id for k in sel],
            "hovertext": [engagement_label(items[k]) for k in sel],
            "hoverinfo": "text",
        })
    centres = [first_row[n] + (k - 1) / 2.0 for n, k in zip(names, n_lanes, strict=True)]
    height = int(min(max(120 + LANE_PX * max(row, 1), 260), 760))
    separators = [{"type": "line", "xref": "paper", "yref": "y", "x0": 0, "x1": 1,
                   "y0": first_row[n] - 1, "y1": first_row[n] - 1,
                   "line": {"color": "#d8dee6", "width": 1}} for n in names[1:]]
    layout = _layout("Engagements per battery (bar: engaged to outcome)",
                     "simulation time (s)", "", duration, height, barmode="overlay",
                     bargap=0.1)
    # A range from high to low puts the first battery at the top.
    layout["yaxis"].update({"tickmode": "array", "tickvals": centres, "ticktext": names,
                            "showgrid": False, "range": [row - 0.5, -1.0]})
    layout["shapes"] += separators
    return {"data": data, "layout": layout}


def inventory_figure(run: RunData) -> dict[str, Any]:
    """Interceptors left per battery over time (steps down at each launch)."""
    duration = run_duration_s(run)
    data = []
    for bat, (x, y) in inventory_series(run).items():
        data.append({"type": "scatter", "mode": "lines", "name": bat,
                     "x": [round(float(v), 3) for v in x], "y": y.tolist(),
                     "line": {"shape": "hv", "width": 2},
                     "hovertemplate": f"{bat}: %{{y}} left at %{{x:.1f}} s<extra></extra>"})
    layout = _layout("Interceptors left per battery", "simulation time (s)", "interceptors",
                     duration, 320, hovermode="closest", legend=_SIDE_LEGEND)
    layout["yaxis"]["rangemode"] = "tozero"
    layout["margin"]["l"] = 64
    return {"data": data, "layout": layout}


def inflight_figure(run: RunData, intervals: ThreatIntervals) -> dict[str, Any]:
    """Threats in flight over time, stacked by class."""
    duration = run_duration_s(run)
    series = inflight_series(run, intervals)
    # Stacked traces must share their x: every class on the union of the change times.
    grid = np.unique(np.concatenate([x for x, _ in series.values()] or [np.zeros(1)]))
    data = []
    for cls, (x, y) in series.items():
        k = np.searchsorted(x, grid, side="right") - 1
        values = np.where(k >= 0, y[np.maximum(k, 0)], 0)
        data.append({"type": "scatter", "mode": "lines", "name": cls, "stackgroup": "flight",
                     "x": grid.tolist(), "y": values.tolist(),
                     "line": {"shape": "hv", "width": 1,
                              "color": CLASS_COLOURS.get(cls, CLASS_COLOURS["unknown"])},
                     "hovertemplate": f"{cls}: %{{y}} in flight at %{{x:.1f}} s<extra></extra>"})
    layout = _layout("Threats in flight, by class", "simulation time (s)", "threats",
                     duration, 320, hovermode="x unified", legend=_SIDE_LEGEND)
    layout["yaxis"]["rangemode"] = "tozero"
    layout["margin"]["l"] = 64
    return {"data": data, "layout": layout}
