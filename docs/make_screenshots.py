"""Screenshots of the HTML reports for the README, taken in headless Chromium (offline).

Usage: ``.venv/bin/python docs/make_screenshots.py [RUNDIR] [STUDYDIR] [--make]``, by default
``out/capital_region`` (``shieldwall run examples/capital_region.yaml -o out/capital_region``)
and ``out/capital_region_mc`` (``shieldwall mc examples/capital_region.yaml -n 12 -o
out/capital_region_mc``); ``--make`` runs whichever is missing first. Writes

- ``docs/report_map.png``: the replay map of the run report mid-raid (the median time of the
  engagement decisions, from events.parquet);
- ``docs/report_timeline.png``: the engagement Gantt chart and the interceptor inventory;
- ``docs/mc_report.png``: the top of the Monte Carlo report (key figures, leakers, value lost).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SCENARIO = ROOT / "examples" / "capital_region.yaml"
VIEWPORT = {"width": 1280, "height": 900}
MC_REPLICATIONS = 12


def mid_raid_time(rundir: Path) -> float:
    """The middle of the fighting: the median time of the engagement decisions, rounded to
    10 s (threats launched before the scenario start are all "in flight" at t = 0, far out)."""
    events = pq.read_table(rundir / "events.parquet", columns=["time_s", "kind"])
    kind = np.asarray(events.column("kind").to_pylist(), dtype=object)
    t = events.column("time_s").to_numpy()[kind == "engage"]
    if t.size == 0:
        t = events.column("time_s").to_numpy()
    return float(np.round(np.median(t) / 10.0) * 10.0)


def page_box(page: Any, selectors: list[str], pad: float = 8.0) -> dict[str, float]:
    """The union of the elements' boxes in page coordinates (for a full-page clip)."""
    box = page.evaluate("""(sels) => {
      let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
      for (const s of sels) {
        const r = document.querySelector(s).getBoundingClientRect();
        x0 = Math.min(x0, r.left + scrollX); y0 = Math.min(y0, r.top + scrollY);
        x1 = Math.max(x1, r.right + scrollX); y1 = Math.max(y1, r.bottom + scrollY);
      }
      return {x: x0, y: y0, width: x1 - x0, height: y1 - y0};
    }""", selectors)
    return {"x": max(0.0, box["x"] - pad), "y": max(0.0, box["y"] - pad),
            "width": box["width"] + 2 * pad, "height": box["height"] + 2 * pad}


def make_inputs(rundir: Path, studydir: Path) -> None:
    exe = str(Path(sys.executable).with_name("shieldwall"))
    if not (rundir / "report.html").exists():
        subprocess.run([exe, "run", str(SCENARIO), "-o", str(rundir)], check=True)
    if not (studydir / "summary.json").exists():
        subprocess.run([exe, "mc", str(SCENARIO), "-n", str(MC_REPLICATIONS), "-o",
                        str(studydir)], check=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("rundir", nargs="?", type=Path, default=ROOT / "out" / "capital_region")
    ap.add_argument("studydir", nargs="?", type=Path,
                    default=ROOT / "out" / "capital_region_mc")
    ap.add_argument("--make", action="store_true", help="run the scenario / study if missing")
    args = ap.parse_args()
    if args.make:
        make_inputs(args.rundir, args.studydir)

    sys.path.insert(0, str(ROOT / "tests"))
    from playwright.sync_api import sync_playwright

    from browser import chromium_executable, load, wait_ready
    from shieldwall.report import write_mc_report, write_report

    write_report(args.rundir)  # the current page code, whatever wrote the run
    write_mc_report(args.studydir)
    exe = chromium_executable()
    if exe is None:
        raise SystemExit("no chromium: install Debian's 'chromium' or set $SHIELDWALL_CHROMIUM")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=["--no-sandbox"])
        run = load(browser, args.rundir / "report.html", VIEWPORT)
        page = run.page
        t = mid_raid_time(args.rundir)
        page.evaluate("(t) => window.shieldwallReport.setTime(t)", t)
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => "
                      "requestAnimationFrame(r)))")
        page.locator("#map-panel").screenshot(path=str(DOCS / "report_map.png"))
        page.screenshot(path=str(DOCS / "report_timeline.png"), full_page=True,
                        clip=page_box(page, ["#chart-gantt", "#chart-inventory"]))
        study = load(browser, args.studydir / "report.html", VIEWPORT)
        wait_ready(study.page)
        study.page.screenshot(path=str(DOCS / "mc_report.png"), full_page=True,
                              clip=page_box(study.page, ["h1", "#mc-leakers",
                                                         "#mc-value-lost"]))
        problems = run.errors() + study.errors() + run.network_requests() + \
            study.network_requests()
        browser.close()
    for name in ("report_map.png", "report_timeline.png", "mc_report.png"):
        print(f"wrote docs/{name} ({(DOCS / name).stat().st_size / 1e3:.0f} kB)")
    print(f"map at t = {t:.0f} s")
    if problems:
        raise SystemExit("page problems: " + "; ".join(problems))


if __name__ == "__main__":
    main()
