"""The map of one run as SVG: defended assets, batteries and their coverage, early-warning
sensors, threat ground tracks coloured by fate, interceptor flyouts, intercept and impact points.

Drawn in the azimuthal-equidistant projection about the scenario origin
(``shieldwall.report.projection``), north up, with a kilometre grid, a scale bar, a north arrow
and a legend. Every element is in one ``<g class="layer-...">`` group so the HTML report can
toggle layers; hover text is SVG ``<title>``. Polylines are decimated (``simplify``) to a
fraction of a pixel, so a 1000-threat raid stays a few hundred kilobytes. No external resource
is referenced.

``map_svg`` draws everything (the standalone picture); ``replay_map_svgs`` draws the static
layers of the HTML report's replay map as two SVGs, a base under the page's canvas (grid,
instrumented and horizon-limited radar coverage) and an overlay above it (sites, legend),
while the canvas draws threats, flyouts and markers at the replay time. ``map_frame`` is the
pixel frame both use.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

import numpy as np

from shieldwall.core.types import FATES, Fate, FloatArray
from shieldwall.core.vocabulary import EventKind
from shieldwall.report.coverage import (
    DEFAULT_COVERAGE_ALTITUDE_M,
    CoverageSite,
    coverage_range_m,
    coverage_sites,
)
from shieldwall.report.data import EventTable, Polylines, RunData, load_run
from shieldwall.report.projection import LocalProjection, MapFrame
from shieldwall.report.simplify import simplify_polylines, thin_polylines

FATE_COLOURS: dict[str, str] = {
    Fate.INTERCEPTED: "#2a9d3f",
    Fate.LEAKED: "#d62728",
    Fate.CRASHED: "#8c8c8c",
    Fate.EXPIRED: "#f08c00",
    "unknown": "#6b4fa0",  # a threat with no end event (a truncated log)
}
FATE_ORDER: tuple[str, ...] = FATES
ASSET_KINDS = ("city", "power_plant", "substation", "military", "industrial", "other")
BATTERY_COLOUR = "#0b4f8a"
FLYOUT_COLOUR = "#1f77d0"
SENSOR_COLOUR = "#7b3f9e"
KILL_COLOUR = "#135f25"
LEGEND_WIDTH_PX = 200.0
MARGIN_PX = 10.0
DECIMATION_TOLERANCE_PX = 0.35
MIN_WIDTH_PX = 400
MIN_HEIGHT_PX = 480
VIEWS = ("theatre", "defended")
MARK_KINDS = (EventKind.INTERCEPT_KILL, EventKind.INTERCEPT_MISS, EventKind.LEAK, EventKind.CRASH)
EXTENT_SAMPLE_POINTS = 200_000

_STYLE = """
text{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;fill:#222}
.grid line{stroke:#d5dbe3;stroke-width:.6}
.grid text{font-size:9px;fill:#7a8694}
.trk{fill:none;stroke-width:1.1;stroke-opacity:.75;stroke-linejoin:round}
.fly{fill:none;stroke:#1f77d0;stroke-width:.8;stroke-opacity:.75}
.rcov{fill:#4a90d9;fill-opacity:.04;stroke:#4a90d9;stroke-opacity:.5;stroke-width:.7}
.ecov{fill:none;stroke:#0b4f8a;stroke-width:.9;stroke-dasharray:5 3;stroke-opacity:.8}
.ewcov{fill:#7b3f9e;fill-opacity:.03;stroke:#7b3f9e;stroke-opacity:.45;stroke-width:.7;
stroke-dasharray:2 3}
.rcov-i{fill:none;stroke:#4a90d9;stroke-opacity:.6;stroke-width:.8;stroke-dasharray:1.5 3}
.ewcov-i{fill:none;stroke:#7b3f9e;stroke-opacity:.5;stroke-width:.8;stroke-dasharray:1.5 3}
.hcov{fill:#4a90d9;fill-opacity:.045;stroke:#2a6fb8;stroke-opacity:.8;stroke-width:1}
.hcov-ew{fill:#7b3f9e;fill-opacity:.035;stroke:#7b3f9e;stroke-opacity:.7;stroke-width:1}
.afoot{fill:#f4b400;fill-opacity:.12;stroke:#b08000;stroke-width:.7}
.asym{stroke:#fff;stroke-width:.8}
.lbl{font-size:10px}
.kill path{stroke:#135f25;stroke-width:1.7;fill:none}
.miss path{stroke:#666;stroke-width:.9;fill:none}
.leak{fill:#d62728;stroke:#5a0000;stroke-width:.8}
.crash{fill:#8c8c8c;stroke:#444;stroke-width:.5}
.bat{fill:#0b4f8a;stroke:#fff;stroke-width:1.2}
.ews{fill:#7b3f9e;stroke:#fff;stroke-width:1}
.legend text{font-size:10.5px}
.legend .h{font-size:12px;font-weight:600}
"""


def _f(v: float) -> str:
    """A pixel coordinate with one decimal (0.1 px is far below what the eye resolves)."""
    return f"{v:.1f}"


def _points(xy: FloatArray) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)


def _title(text: str) -> str:
    return f"<title>{escape(text)}</title>"


def nice_step(span: float, target_count: float) -> float:
    """A 1-2-5 x 10^k step so that ``span / step`` is close to ``target_count``."""
    raw = max(span, 1e-9) / max(target_count, 1.0)
    power = 10.0 ** math.floor(math.log10(raw))
    for m in (1.0, 2.0, 5.0, 10.0):
        if raw <= m * power:
            return m * power
    return 10.0 * power


def _asset_symbol(kind: str, x: float, y: float, r: float = 5.5) -> str:
    """The path of an asset symbol by kind (square city, triangle plant, ...)."""
    if kind == "city":
        return f"M{_f(x - r)} {_f(y - r)}h{_f(2 * r)}v{_f(2 * r)}h{_f(-2 * r)}Z"
    if kind == "power_plant":
        return f"M{_f(x)} {_f(y - 1.2 * r)}L{_f(x + 1.1 * r)} {_f(y + r)}L{_f(x - 1.1 * r)} " \
               f"{_f(y + r)}Z"
    if kind == "substation":
        return f"M{_f(x)} {_f(y - 1.3 * r)}L{_f(x + 1.3 * r)} {_f(y)}L{_f(x)} {_f(y + 1.3 * r)}" \
               f"L{_f(x - 1.3 * r)} {_f(y)}Z"
    if kind == "military":
        return f"M{_f(x)} {_f(y + 1.2 * r)}L{_f(x + 1.1 * r)} {_f(y - r)}L{_f(x - 1.1 * r)} " \
               f"{_f(y - r)}Z"
    if kind == "industrial":
        pts = [(x + r * math.cos(a), y + r * math.sin(a))
               for a in np.linspace(0.0, 2 * math.pi, 7)[:-1]]
        return "M" + "L".join(f"{_f(px)} {_f(py)}" for px, py in pts) + "Z"
    # other: a circle drawn as two arcs
    return f"M{_f(x - r)} {_f(y)}a{_f(r)} {_f(r)} 0 1 0 {_f(2 * r)} 0a{_f(r)} {_f(r)} 0 1 0 " \
           f"{_f(-2 * r)} 0Z"


def _asset_fill(lost_fraction: float) -> str:
    """Dark blue when intact, shading to red with the fraction of value lost."""
    t = float(np.clip(lost_fraction, 0.0, 1.0))
    intact, lost = np.array([0x1f, 0x3b, 0x73]), np.array([0xd6, 0x27, 0x28])
    r, g, b = (intact + t * (lost - intact)).round().astype(int)
    return f"#{r:02x}{g:02x}{b:02x}"


def sector_path(cx: float, cy: float, radius_px: float, centre_azimuth_rad: float,
                half_width_rad: float | None) -> tuple[str, str]:
    """An SVG element for a radar's coverage: ("circle", attrs) or ("path", attrs).

    Azimuths are map angles clockwise from up; the wedge spans ``centre +- half_width``.
    """
    if half_width_rad is None or half_width_rad >= math.pi - 1e-9:
        return "circle", f'cx="{_f(cx)}" cy="{_f(cy)}" r="{_f(radius_px)}"'
    a0 = centre_azimuth_rad - half_width_rad
    a1 = centre_azimuth_rad + half_width_rad
    x0, y0 = cx + radius_px * math.sin(a0), cy - radius_px * math.cos(a0)
    x1, y1 = cx + radius_px * math.sin(a1), cy - radius_px * math.cos(a1)
    large = 1 if 2.0 * half_width_rad > math.pi else 0
    d = (f"M{_f(cx)} {_f(cy)}L{_f(x0)} {_f(y0)}A{_f(radius_px)} {_f(radius_px)} 0 {large} 1 "
         f"{_f(x1)} {_f(y1)}Z")
    return "path", f'd="{d}"'


@dataclass(frozen=True)
class _Sites:
    """Projected positions of a list of scenario records (assets, batteries or sensors)."""

    records: list[dict[str, Any]]
    east_north_m: FloatArray


def _sites(projection: LocalProjection, records: Sequence[dict[str, Any]]) -> _Sites:
    recs = [r for r in records
            if isinstance(r.get("lat_deg"), int | float) and isinstance(r.get("lon_deg"),
                                                                       int | float)]
    lat = np.array([r["lat_deg"] for r in recs], float)
    lon = np.array([r["lon_deg"] for r in recs], float)
    return _Sites(recs, projection.project(lat, lon) if recs else np.zeros((0, 2)))


def _origin(run: RunData) -> tuple[float, float]:
    origin = run.scenario.get("origin") or {}
    if "lat_deg" in origin and "lon_deg" in origin:
        return float(origin["lat_deg"]), float(origin["lon_deg"])
    sites = [*run.scenario.get("assets", []), *run.scenario.get("batteries", [])]
    if sites:
        return (float(np.mean([s["lat_deg"] for s in sites])),
                float(np.mean([s["lon_deg"] for s in sites])))
    if run.threats.count:
        return float(run.threats.lat_deg[0]), float(run.threats.lon_deg[0])
    return 0.0, 0.0


def _decimated(frame: MapFrame, lines: Polylines) -> tuple[FloatArray, np.ndarray]:
    """Pixel coordinates of all polylines, and the kept-point offsets after decimation."""
    if lines.count == 0:
        return np.zeros((0, 2)), np.zeros(1, np.int64)
    px = frame.geodetic_to_pixels(lines.lat_deg, lines.lon_deg)
    keep = thin_polylines(px[:, 0], px[:, 1], lines.offsets, DECIMATION_TOLERANCE_PX / 2)
    sub = px[keep]
    # Offsets of the thinned polylines: kept points before each original start.
    counts = np.concatenate([[0], np.cumsum(keep)])
    sub_offsets = counts[lines.offsets]
    keep2 = simplify_polylines(sub[:, 0], sub[:, 1], sub_offsets, DECIMATION_TOLERANCE_PX / 2)
    counts2 = np.concatenate([[0], np.cumsum(keep2)])
    return sub[keep2], counts2[sub_offsets]


def _layer(id_prefix: str, name: str, extra_class: str = "") -> str:
    """The opening tag of a layer group: prefixed id, and the layer name as a class."""
    cls = f"{name} {extra_class}".strip()
    return f'<g id="{id_prefix}{name}" class="{cls}">'


class _Svg:
    """A tiny string builder (list of parts) for the SVG document."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def add(self, *text: str) -> None:
        self.parts.extend(text)

    def extend(self, items: Iterable[str]) -> None:
        self.parts.extend(items)

    def text(self) -> str:
        return "".join(self.parts)


def _marks(run: RunData) -> EventTable:
    """The events drawn as map markers: intercepts (kill, miss), leaker impacts, crashes."""
    ev = run.events
    has_pos = np.isfinite(ev.lat_deg) & np.isfinite(ev.lon_deg)
    return ev.select(has_pos & np.isin(ev.kind, list(MARK_KINDS)))


def _project_sample(projection: LocalProjection, lines: Polylines,
                    max_points: int = EXTENT_SAMPLE_POINTS) -> FloatArray:
    """Projected points of polylines for the map extent: all of them up to ``max_points``,
    else every k-th point plus each polyline's ends (a million-point raid frames the same)."""
    n = lines.lat_deg.size
    if n <= max_points:
        return projection.project(lines.lat_deg, lines.lon_deg)
    ends = np.concatenate([lines.offsets[:-1], lines.offsets[1:] - 1])
    rows = np.unique(np.concatenate([np.arange(0, n, -(-n // max_points)), ends]))
    return projection.project(lines.lat_deg[rows], lines.lon_deg[rows])


def map_frame(run: RunData, width_px: int = 900, height_px: int = 700,
              view: str = "theatre") -> MapFrame:
    """The pixel frame of the map (``map_svg``'s picture of the same size and view).

    ``"theatre"`` frames everything drawn (threat tracks from their launch points, assets,
    engagement ranges, sensors, interceptor flyouts, markers); ``"defended"`` frames the
    batteries and the defended assets only.
    """
    if view not in VIEWS:
        raise ValueError(f"view must be one of {VIEWS}, not {view!r}")
    width_px = max(int(width_px), MIN_WIDTH_PX)
    height_px = max(int(height_px), MIN_HEIGHT_PX)
    projection = LocalProjection(*_origin(run))
    sc = run.scenario
    assets = _sites(projection, sc.get("assets", []))
    batteries = _sites(projection, sc.get("batteries", []))
    sensors = _sites(projection, sc.get("sensors", []))
    # Extent: everything drawn except the (possibly huge) radar coverage, or the defended area.
    padded: tuple[tuple[_Sites, str], ...]
    if view == "theatre":
        marks = _marks(run)
        extent = [_project_sample(projection, run.threats),
                  _project_sample(projection, run.interceptors),
                  projection.project(marks.lat_deg, marks.lon_deg), sensors.east_north_m]
        padded = ((assets, "radius_m"), (batteries, "engagement_range_m"))
        pad = 0.05
    else:
        extent = [batteries.east_north_m]
        padded = ((assets, "radius_m"),)
        pad = 0.12
    for sites, key in padded:
        if sites.records:
            r = np.array([float(s.get(key) or 0.0) for s in sites.records])[:, None]
            extent += [sites.east_north_m - r, sites.east_north_m + r]
    map_w = width_px - LEGEND_WIDTH_PX - 2 * MARGIN_PX
    map_h = height_px - 2 * MARGIN_PX
    return MapFrame.fit(projection, np.concatenate(extent, axis=0), MARGIN_PX, MARGIN_PX,
                        map_w, map_h, pad_fraction=pad)


def map_svg(run: RunData, width_px: int = 900, height_px: int = 700,
            standalone: bool = True, view: str = "theatre", id_prefix: str = "") -> str:
    """The map of a loaded run as an SVG string.

    Parameters
    ----------
    run : the results directory read by ``load_run``.
    width_px, height_px : size of the picture in pixels (a legend panel of 200 px sits on the
        right of the map).
    standalone : True adds the SVG namespace declaration (an ``.svg`` file); False leaves it out
        for inline use in HTML5, where the namespace is implied.
    view : ``"theatre"`` frames everything drawn (threat tracks from their launch points,
        assets, engagement ranges, sensors); ``"defended"`` frames the defended assets and the
        batteries only (tracks are clipped at the frame).
    id_prefix : prefix of the element ids (two maps in one HTML page need distinct ids); each
        layer group also carries its unprefixed id as a class, e.g. ``class="layer-tracks"``.
    """
    return _map_documents(run, width_px, height_px, standalone, view, id_prefix)[0]


def replay_map_svgs(run: RunData, width_px: int = 1100, height_px: int = 760,
                    view: str = "theatre", id_prefix: str = "",
                    coverage_altitude_m: float = DEFAULT_COVERAGE_ALTITUDE_M,
                    frame: MapFrame | None = None) -> tuple[str, str]:
    """The two inline SVG layers of the HTML report's replay map, around its canvas.

    The base (``id="{id_prefix}map"``): background, km grid, instrumented radar and engagement
    ranges and a ``layer-horizon`` group of horizon-limited coverage at ``coverage_altitude_m``
    (``shieldwall.report.coverage``) whose elements carry, as ``data-*`` attributes, what the
    page needs to redraw them for another altitude. The overlay (``id="{id_prefix}map-overlay"``,
    drawn above the canvas that replays threats, flyouts and markers): assets, batteries,
    sensors, scale bar, north arrow and legend. Same frame as ``map_svg`` of that size and view
    (``frame``, when given, must be ``map_frame(run, width_px, height_px, view)``).
    """
    base, overlay = _map_documents(run, width_px, height_px, False, view, id_prefix,
                                   interactive=True, coverage_altitude_m=coverage_altitude_m,
                                   frame=frame)
    return base, overlay


def _map_documents(run: RunData, width_px: int, height_px: int, standalone: bool, view: str,
                   id_prefix: str, interactive: bool = False,
                   coverage_altitude_m: float = DEFAULT_COVERAGE_ALTITUDE_M,
                   frame: MapFrame | None = None) -> list[str]:
    """``map_svg``'s document, or the replay map's base and overlay (``interactive``)."""
    if view not in VIEWS:
        raise ValueError(f"view must be one of {VIEWS}, not {view!r}")
    width_px = max(int(width_px), MIN_WIDTH_PX)
    height_px = max(int(height_px), MIN_HEIGHT_PX)
    frame = frame or map_frame(run, width_px, height_px, view)
    projection = frame.projection
    sc = run.scenario
    assets = _sites(projection, sc.get("assets", []))
    batteries = _sites(projection, sc.get("batteries", []))
    sensors = _sites(projection, sc.get("sensors", []))
    marks = _marks(run)
    marks_en = projection.project(marks.lat_deg, marks.lon_deg)
    map_w, map_h = frame.width_px, frame.height_px
    s = frame.scale_px_per_m

    svg = _Svg()
    ns = ' xmlns="http://www.w3.org/2000/svg"' if standalone else ""
    name = str(sc.get("name") or run.summary.get("scenario") or "scenario")
    mode = " map-interactive" if interactive else ""
    svg.add(f'<svg{ns} id="{id_prefix}map" class="map map-{view}{mode}" '
            f'viewBox="0 0 {width_px} {height_px}" width="{width_px}" height="{height_px}" '
            'role="img" '
            f'aria-label="{escape("Map of the run " + name)}">',
            f"<style>{_STYLE}</style>",
            f'<defs><clipPath id="{id_prefix}map-clip"><rect x="{_f(frame.left_px)}" '
            f'y="{_f(frame.top_px)}" width="{_f(map_w)}" height="{_f(map_h)}"/></clipPath></defs>',
            f'<rect x="0" y="0" width="{width_px}" height="{height_px}" fill="#ffffff"/>',
            f'<rect x="{_f(frame.left_px)}" y="{_f(frame.top_px)}" width="{_f(map_w)}" '
            f'height="{_f(map_h)}" fill="#f6f8fa" stroke="#c9d1d9"/>',
            f'<g clip-path="url(#{id_prefix}map-clip)">')
    grid_km = _grid(svg, frame, id_prefix)

    # Early-warning coverage, then battery radar and engagement coverage.
    svg.add(_layer(id_prefix, "layer-ew"))
    _coverage(svg, frame, sensors, "range_m", "ewcov-i" if interactive else "ewcov",
              "early-warning coverage (instrumented range)")
    svg.add("</g>", _layer(id_prefix, "layer-coverage"))
    _coverage(svg, frame, batteries, "radar_range_m", "rcov-i" if interactive else "rcov",
              "radar coverage (instrumented range)")
    for rec, (x, y) in zip(batteries.records, frame.to_pixels(batteries.east_north_m),
                           strict=True):
        reach = float(rec.get("engagement_range_m") or 0.0)
        if reach > 0:
            tip = _title(f"{rec.get('id')}: engagement range {reach / 1e3:.0f} km")
            svg.add(f'<circle class="ecov" cx="{_f(x)}" cy="{_f(y)}" r="{_f(reach * s)}">'
                    f"{tip}</circle>")
    svg.add("</g>")
    documents: list[str] = []
    if interactive:
        svg.add(_layer(id_prefix, "layer-horizon"))
        _horizon(svg, frame, coverage_sites(sc), coverage_altitude_m)
        svg.add("</g></g></svg>")
        documents.append(svg.text())
        svg = _Svg()
        clip = f"{id_prefix}map-overlay-clip"
        svg.add(f'<svg id="{id_prefix}map-overlay" class="map-overlay" '
                f'viewBox="0 0 {width_px} {height_px}" width="{width_px}" height="{height_px}" '
                'aria-hidden="true">',
                f'<defs><clipPath id="{clip}"><rect x="{_f(frame.left_px)}" '
                f'y="{_f(frame.top_px)}" width="{_f(map_w)}" height="{_f(map_h)}"/></clipPath>'
                "</defs>",
                f'<rect x="{_f(frame.left_px)}" y="{_f(frame.top_px)}" width="{_f(map_w)}" '
                f'height="{_f(map_h)}" fill="none" stroke="#c9d1d9"/>',
                f'<g clip-path="url(#{clip})">')

    # Defended assets.
    damage = run.summary.get("asset_damage") or {}
    svg.add(_layer(id_prefix, "layer-assets"))
    for rec, (x, y) in zip(assets.records, frame.to_pixels(assets.east_north_m), strict=True):
        aid = str(rec.get("id", ""))
        kind = str(rec.get("kind", "other"))
        radius = float(rec.get("radius_m") or 0.0)
        d = damage.get(aid) or {}
        value = float(d.get("value", rec.get("value", 0.0)) or 0.0)
        lost = float(d.get("value_lost", 0.0) or 0.0)
        tip = (f"{aid} ({kind.replace('_', ' ')}): value {value:,.0f}, lost {lost:,.1f}"
               f" ({100 * lost / value if value > 0 else 0:.0f} %), hits {d.get('hits', 0)}")
        svg.add(f'<g class="asset" data-asset-id="{escape(aid)}">{_title(tip)}')
        if radius > 0:
            svg.add(f'<circle class="afoot" cx="{_f(x)}" cy="{_f(y)}" '
                    f'r="{_f(max(radius * s, 1.0))}"/>')
        fill = _asset_fill(lost / value if value > 0 else 0.0)
        svg.add(f'<path class="asym" fill="{fill}" d="{_asset_symbol(kind, x, y)}"/>',
                f'<text class="lbl" x="{_f(x + 8)}" y="{_f(y - 6)}">{escape(aid)}</text></g>')
    svg.add("</g>")

    if not interactive:
        _tracks(svg, run, frame, batteries, id_prefix)

    # Batteries and early-warning sensors.
    svg.add(_layer(id_prefix, "layer-batteries"))
    for rec, (x, y) in zip(batteries.records, frame.to_pixels(batteries.east_north_m),
                           strict=True):
        loads = ", ".join(f"{k} x{v}" for k, v in (rec.get("interceptors") or {}).items())
        tip = f"{rec.get('id')} ({rec.get('system')}): {loads}"
        svg.add(f'<g class="battery" data-battery-id="{escape(str(rec.get("id")))}">'
                f'{_title(tip)}<circle class="bat" cx="{_f(x)}" cy="{_f(y)}" r="4.5"/>'
                f'<text class="lbl" x="{_f(x + 7)}" y="{_f(y + 12)}" fill="{BATTERY_COLOUR}">'
                f'{escape(str(rec.get("id")))}</text></g>')
    for rec, (x, y) in zip(sensors.records, frame.to_pixels(sensors.east_north_m), strict=True):
        tip = _title(f"{rec.get('id')}: early warning ({rec.get('radar')})")
        svg.add(f'<g class="sensor" data-sensor-id="{escape(str(rec.get("id")))}">{tip}'
                f'<path class="ews" d="M{_f(x)} {_f(y - 6)}L{_f(x + 5.5)} {_f(y + 4)}'
                f'L{_f(x - 5.5)} {_f(y + 4)}Z"/>'
                f'<text class="lbl" x="{_f(x + 7)}" y="{_f(y + 4)}" fill="{SENSOR_COLOUR}">'
                f'{escape(str(rec.get("id")))}</text></g>')
    svg.add("</g>")

    if not interactive:
        _markers(svg, frame, marks, marks_en, id_prefix)
    svg.add("</g>")  # end of the clipped map

    _scale_bar(svg, frame)
    _north_arrow(svg, frame)
    _legend(svg, run, frame, width_px, height_px, grid_km, projection, interactive)
    svg.add("</svg>")
    documents.append(svg.text())
    return documents


def _tracks(svg: _Svg, run: RunData, frame: MapFrame, batteries: _Sites,
            id_prefix: str) -> None:
    """Threat ground tracks coloured by fate, then interceptor flyouts (static map only)."""
    svg.add(_layer(id_prefix, "layer-tracks"))
    xy, offsets = _decimated(frame, run.threats)
    types = run.threats.labels.get("threat_type", [])
    classes = run.threats.labels.get("threat_class", [])
    for i, tid in enumerate(run.threats.ids):
        fate = run.threat_fate.get(int(tid), "unknown")
        end = run.threat_end_s.get(int(tid))
        when = f" at t = {end:.1f} s" if end is not None else ""
        tip = f"threat {tid}: {types[i]} ({classes[i]}), {fate}{when}"
        svg.add(f'<polyline class="trk" data-threat-id="{tid}" data-fate="{fate}" '
                f'stroke="{FATE_COLOURS.get(fate, FATE_COLOURS["unknown"])}" '
                f'points="{_points(xy[offsets[i]:offsets[i + 1]])}">{_title(tip)}</polyline>')
    svg.add("</g>")

    # Interceptor flyouts (from the launching battery's site when it is known).
    svg.add(_layer(id_prefix, "layer-flyouts"))
    bat_px = {str(r.get("id")): p for r, p in
              zip(batteries.records, frame.to_pixels(batteries.east_north_m), strict=True)}
    xy, offsets = _decimated(frame, run.interceptors)
    bats = run.interceptors.labels.get("battery_id", [])
    kinds = run.interceptors.labels.get("interceptor_type", [])
    for i, iid in enumerate(run.interceptors.ids):
        pts = xy[offsets[i]:offsets[i + 1]]
        if bats[i] in bat_px:
            pts = np.vstack([bat_px[bats[i]][None, :], pts])
        svg.add(f'<polyline class="fly" data-interceptor-id="{iid}" points="{_points(pts)}">'
                f'{_title(f"interceptor {iid}: {kinds[i]} from {bats[i]}")}</polyline>')
    svg.add("</g>")


def _markers(svg: _Svg, frame: MapFrame, marks: EventTable, marks_en: FloatArray,
             id_prefix: str) -> None:
    """Intercept (kill, miss), leaker impact and crash markers (static map only)."""
    px = frame.to_pixels(marks_en)
    layers: dict[str, list[str]] = {EventKind.INTERCEPT_MISS: [], EventKind.INTERCEPT_KILL: [],
                                    EventKind.CRASH: [], EventKind.LEAK: []}
    for j in range(len(marks)):
        kind = str(marks.kind[j])
        x, y = px[j]
        t = marks.time_s[j]
        tid = int(marks.threat_id[j])
        if kind in (EventKind.INTERCEPT_KILL, EventKind.INTERCEPT_MISS):
            size = 4.0 if kind == EventKind.INTERCEPT_KILL else 3.0
            cls = "kill" if kind == EventKind.INTERCEPT_KILL else "miss"
            tip = (f"{'kill' if cls == 'kill' else 'miss'}: threat {tid} by "
                   f"{marks.interceptor_type[j]} #{marks.interceptor_id[j]} from "
                   f"{marks.battery_id[j]} at t = {t:.1f} s")
            layers[kind].append(
                f'<g class="{cls}" data-threat-id="{tid}" transform="translate({_f(x)} {_f(y)})">'
                f'<path d="M{-size:g} {-size:g}L{size:g} {size:g}M{-size:g} {size:g}'
                f'L{size:g} {-size:g}"/>{_title(tip)}</g>')
        else:
            cls, radius_px = ("leak", 3.5) if kind == EventKind.LEAK else ("crash", 2.2)
            tip = f"{'impact (leaker)' if kind == 'leak' else 'crash'}: threat {tid} at " \
                  f"t = {t:.1f} s"
            layers[kind].append(f'<circle class="{cls}" data-threat-id="{tid}" cx="{_f(x)}" '
                                f'cy="{_f(y)}" r="{radius_px}">{_title(tip)}</circle>')
    for layer_id, kind in (("layer-misses", EventKind.INTERCEPT_MISS),
                           ("layer-crashes", EventKind.CRASH), ("layer-impacts", EventKind.LEAK),
                           ("layer-intercepts", EventKind.INTERCEPT_KILL)):
        svg.add(_layer(id_prefix, layer_id))
        svg.extend(layers[kind])
        svg.add("</g>")


def _coverage(svg: _Svg, frame: MapFrame, sites: _Sites, range_key: str, css_class: str,
              label: str) -> None:
    """Radar coverage of each site: a wedge of its sector (or a full circle) of its range.

    The sector centre ``heading_deg`` is clockwise from local true north, turned by the
    meridian convergence at the site to a map angle.
    """
    if not sites.records:
        return
    north = frame.projection.north_azimuth_rad(
        np.array([r["lat_deg"] for r in sites.records], float),
        np.array([r["lon_deg"] for r in sites.records], float))
    pixels = frame.to_pixels(sites.east_north_m)
    for rec, (x, y), n_az in zip(sites.records, pixels, north, strict=True):
        rng = float(rec.get(range_key) or 0.0)
        if rng <= 0:
            continue
        half = rec.get("sector_half_width_deg")
        heading = math.radians(float(rec.get("heading_deg") or 0.0)) + float(n_az)
        tag, attrs = sector_path(x, y, rng * frame.scale_px_per_m, heading,
                                 None if half is None else math.radians(float(half)))
        tip = _title(f"{rec.get('id')}: {label} {rng / 1e3:.0f} km")
        svg.add(f'<{tag} class="{css_class}" {attrs}>{tip}</{tag}>')


def _horizon(svg: _Svg, frame: MapFrame, sites: Sequence[CoverageSite],
             altitude_m: float) -> None:
    """Horizon-limited coverage of every radar for a target at ``altitude_m``.

    One wedge (or circle) per site of radius ``coverage.coverage_range_m``. Each element
    carries its centre (px), map azimuth and half width (rad), instrumented range and antenna
    height (m) and the frame scale (px/m) as ``data-*`` attributes, so the page's script
    redraws it for another altitude with the same formula.
    """
    if not sites:
        return
    lat = np.array([c.lat_deg for c in sites])
    lon = np.array([c.lon_deg for c in sites])
    pixels = frame.geodetic_to_pixels(lat, lon)
    north = frame.projection.north_azimuth_rad(lat, lon)
    scale = frame.scale_px_per_m
    for k, (site, (x, y), n_az) in enumerate(zip(sites, pixels, north, strict=True)):
        if site.range_m <= 0:
            continue
        reach = coverage_range_m(site, altitude_m)
        heading = math.radians(site.heading_deg) + float(n_az)
        half = (None if site.sector_half_width_deg is None
                else math.radians(site.sector_half_width_deg))
        tag, attrs = sector_path(x, y, reach * scale, heading, half)
        cls = "hcov" if site.kind == "battery" else "hcov-ew"
        tip = (f"{site.site_id}: sees a target at {altitude_m:g} m out to {reach / 1e3:.0f} km "
               f"(antenna {site.antenna_alt_m:g} m; instrumented {site.range_m / 1e3:.0f} km)")
        svg.add(f'<{tag} class="{cls}" {attrs} data-site="{k}" data-site-id="'
                f'{escape(site.site_id)}" data-cx="{x:.2f}" data-cy="{y:.2f}" '
                f'data-heading-rad="{heading:.6f}" data-half-rad="'
                f'{"" if half is None else f"{half:.6f}"}" data-range-m="{site.range_m:g}" '
                f'data-antenna-alt-m="{site.antenna_alt_m:g}" data-scale="{scale:.9g}">'
                f"{_title(tip)}</{tag}>")


def _grid(svg: _Svg, frame: MapFrame, id_prefix: str) -> float:
    """Kilometre grid lines with labels; returns the grid step in km."""
    lo, hi = frame.visible_east_north_m()
    step = nice_step(float(max(hi - lo)), 8.0)
    svg.add(_layer(id_prefix, "layer-grid", "grid"))
    for e in np.arange(math.ceil(lo[0] / step), math.floor(hi[0] / step) + 1) * step:
        x = frame.to_pixels(np.array([[e, 0.0]]))[0, 0]
        svg.add(f'<line x1="{_f(x)}" y1="{_f(frame.top_px)}" x2="{_f(x)}" '
                f'y2="{_f(frame.top_px + frame.height_px)}"/>',
                f'<text x="{_f(x + 2)}" y="{_f(frame.top_px + frame.height_px - 3)}">'
                f"{e / 1e3:g}</text>")
    for n in np.arange(math.ceil(lo[1] / step), math.floor(hi[1] / step) + 1) * step:
        y = frame.to_pixels(np.array([[0.0, n]]))[0, 1]
        svg.add(f'<line x1="{_f(frame.left_px)}" y1="{_f(y)}" '
                f'x2="{_f(frame.left_px + frame.width_px)}" y2="{_f(y)}"/>',
                f'<text x="{_f(frame.left_px + 2)}" y="{_f(y - 2)}">{n / 1e3:g}</text>')
    svg.add("</g>")
    return step / 1e3


def _scale_bar(svg: _Svg, frame: MapFrame) -> None:
    length_m = nice_step(frame.width_px / frame.scale_px_per_m, 5.0)
    length_px = length_m * frame.scale_px_per_m
    x0 = frame.left_px + 34.0
    y0 = frame.top_px + frame.height_px - 22.0
    half = length_px / 2
    svg.add(f'<g class="scale-bar" data-length-m="{length_m:g}">',
            f'<rect x="{_f(x0 - 4)}" y="{_f(y0 - 15)}" width="{_f(length_px + 8)}" height="24" '
            'fill="#ffffff" fill-opacity=".8"/>',
            f'<rect x="{_f(x0)}" y="{_f(y0)}" width="{_f(half)}" height="4" fill="#222"/>',
            f'<rect x="{_f(x0 + half)}" y="{_f(y0)}" width="{_f(half)}" height="4" '
            'fill="#fff" stroke="#222" stroke-width=".8"/>',
            f'<text x="{_f(x0)}" y="{_f(y0 - 4)}" font-size="10">0</text>',
            f'<text x="{_f(x0 + length_px)}" y="{_f(y0 - 4)}" font-size="10" '
            f'text-anchor="end">{length_m / 1e3:g} km</text></g>')


def _north_arrow(svg: _Svg, frame: MapFrame) -> None:
    x = frame.left_px + frame.width_px - 24.0
    y = frame.top_px + 16.0
    svg.add('<g class="north-arrow">',
            f'<path d="M{_f(x)} {_f(y)}l7 22l-7 -6l-7 6Z" fill="#222"/>',
            f'<text x="{_f(x)}" y="{_f(y + 34)}" font-size="11" font-weight="600" '
            'text-anchor="middle">N</text></g>')


def _legend(svg: _Svg, run: RunData, frame: MapFrame, width_px: int, height_px: int,
            grid_km: float, projection: LocalProjection, interactive: bool = False) -> None:
    x0 = width_px - LEGEND_WIDTH_PX + 4.0
    y = MARGIN_PX + 14.0
    line = 15.0
    svg.add(f'<g class="legend"><text class="h" x="{_f(x0)}" y="{_f(y)}">Legend'
            "</text>")
    y += line + 2

    def row(symbol: str, label: str) -> None:
        nonlocal y
        svg.add(symbol.format(x=x0, xm=x0 + 10, y=y - 4, xe=x0 + 20),
                f'<text x="{_f(x0 + 28)}" y="{_f(y)}">{escape(label)}</text>')
        y += line

    for fate in FATE_ORDER:
        row(f'<line x1="{{x}}" y1="{{y}}" x2="{{xe}}" y2="{{y}}" stroke="{FATE_COLOURS[fate]}" '
            'stroke-width="2"/>', f"threat track: {fate}")
    if interactive:
        row('<circle cx="{xm}" cy="{y}" r="3.2" fill="#444"/>', "threat now (tracked)")
        row('<circle cx="{xm}" cy="{y}" r="3" fill="#fff" stroke="#444" stroke-width="1.4"/>',
            "threat now (not yet tracked)")
    row('<g class="kill" transform="translate({xm} {y})"><path d="M-4 -4L4 4M-4 4L4 -4"/></g>',
        "intercept (kill)")
    row('<g class="miss" transform="translate({xm} {y})"><path d="M-3 -3L3 3M-3 3L3 -3"/></g>',
        "intercept attempt (miss)")
    row('<circle class="leak" cx="{xm}" cy="{y}" r="3.5"/>', "leaker impact")
    row('<circle class="crash" cx="{xm}" cy="{y}" r="2.2"/>', "crash (fell short)")
    row('<line x1="{x}" y1="{y}" x2="{xe}" y2="{y}" class="fly" stroke-width="1.2"/>',
        "interceptor flyout")
    row('<circle class="bat" cx="{xm}" cy="{y}" r="4.5"/>', "battery")
    if interactive:
        row('<path class="hcov" d="M{xm} {y}m-9 0a9 6 0 1 0 18 0a9 6 0 1 0 -18 0Z"/>',
            "radar sees target altitude")
        row('<line x1="{x}" y1="{y}" x2="{xe}" y2="{y}" class="rcov-i"/>',
            "radar instrumented range")
    else:
        row('<path class="rcov" d="M{xm} {y}m-9 0a9 6 0 1 0 18 0a9 6 0 1 0 -18 0Z"/>',
            "battery radar coverage")
    row('<line x1="{x}" y1="{y}" x2="{xe}" y2="{y}" class="ecov"/>', "engagement range")
    row('<path class="ews" d="M{xm} {y}m0 -6l5.5 10h-11Z"/>', "early-warning sensor")
    y += 4
    svg.add(f'<text class="h" x="{_f(x0)}" y="{_f(y)}">Defended assets</text>')
    y += line
    for kind in ASSET_KINDS:
        row(f'<path class="asym" fill="{_asset_fill(0.0)}" d="{{sym}}"/>'.replace(
            "{sym}", _asset_symbol(kind, x0 + 10, y - 4, 4.5)), kind.replace("_", " "))
    row('<circle class="afoot" cx="{xm}" cy="{y}" r="6"/>', "asset footprint (radius)")
    row(f'<path class="asym" fill="{_asset_fill(1.0)}" d="M{{x}} {{y}}m5 -5h10v10h-10Z"/>',
        "red: value lost")
    y += 6
    origin = f"{projection.origin_lat_deg:.3f}, {projection.origin_lon_deg:.3f}"
    notes = [f"Grid {grid_km:g} km; azimuthal-", f"equidistant about {origin}",
             f"Scenario: {run.summary.get('scenario', run.scenario.get('name', ''))}",
             f"Seed: {run.summary.get('seed', '')}"]
    if run.summary.get("perfect_information"):
        notes.append("PERFECT INFORMATION (study mode)")
    notes += ["NOTIONAL: open-source figures,", "not real performance data"]
    for note in notes:
        svg.add(f'<text x="{_f(x0)}" y="{_f(min(y, height_px - 4.0))}" font-size="10" '
                f'fill="#444">{escape(note)}</text>')
        y += 13.0
    svg.add("</g>")


def render_map_svg(outdir: Path, width_px: int = 900, height_px: int = 700,
                   view: str = "theatre") -> str:
    """The map of the run in ``outdir`` as a standalone SVG document (the README picture).

    Parameters
    ----------
    outdir : a results directory of ``shieldwall run`` (docs/internals.md).
    width_px, height_px : picture size in pixels (at least 400 x 480; a 200 px legend panel
        is on the right).
    view : ``"theatre"`` (the whole raid) or ``"defended"`` (the defended area, zoomed).

    Returns
    -------
    The SVG text (UTF-8 safe, with the SVG namespace; no external references).
    """
    return map_svg(load_run(Path(outdir)), width_px, height_px, standalone=True, view=view)
