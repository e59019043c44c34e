"""Regenerate the README picture from a results directory of the bundled scenario.

Usage: ``.venv/bin/python docs/make_figures.py out/capital_region`` (after ``make demo``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from shieldwall.report import render_map_svg


def main() -> None:
    outdir = Path(sys.argv[1] if len(sys.argv) > 1 else "out/capital_region")
    here = Path(__file__).resolve().parent
    (here / "capital_region_map.svg").write_text(
        render_map_svg(outdir, width_px=1000, height_px=720, view="theatre"), encoding="utf-8")
    (here / "capital_region_defended.svg").write_text(
        render_map_svg(outdir, width_px=1000, height_px=720, view="defended"), encoding="utf-8")


if __name__ == "__main__":
    main()
