"""The report of one run: a self-contained offline HTML page and an SVG map.

Reads only the files of a results directory (docs/internals.md "Results directory"); never
imports the engine or the models.

- ``write_report(outdir) -> Path`` writes ``outdir/report.html`` atomically.
- ``render_map_svg(outdir, width_px=900, height_px=700) -> str`` returns the map alone as a
  standalone SVG document (the README picture).
- ``write_mc_report(studydir) -> Path`` / ``write_sweep_report(sweepdir) -> Path`` write the
  Monte Carlo report of a study directory and the sweep report (with every point's report).
- ``write_exports(outdir) -> list[Path]`` writes ``run.geojson``, ``run.kml`` (Google Earth)
  and ``run.czml`` (Cesium) with time, atomically.
"""

from shieldwall.report.data import RunData, load_run
from shieldwall.report.document import render_report, write_report, write_text_atomic
from shieldwall.report.exports import write_exports
from shieldwall.report.mc import write_mc_report, write_sweep_report
from shieldwall.report.projection import LocalProjection, MapFrame, geodetic2aeqd_m
from shieldwall.report.simplify import simplify_polylines, simplify_trajectories, thin_polylines
from shieldwall.report.svgmap import FATE_COLOURS, map_frame, map_svg, render_map_svg

__all__ = [
    "FATE_COLOURS",
    "LocalProjection",
    "MapFrame",
    "RunData",
    "geodetic2aeqd_m",
    "load_run",
    "map_frame",
    "map_svg",
    "render_map_svg",
    "render_report",
    "simplify_polylines",
    "simplify_trajectories",
    "thin_polylines",
    "write_exports",
    "write_mc_report",
    "write_report",
    "write_sweep_report",
    "write_text_atomic",
]
