"""The Monte Carlo and sweep reports in a real headless browser (issue 6, page contract).

A tiny real study (3 replications of tests/data/browser_raid.yaml) and a tiny real sweep (two
points, 2 replications each) are written with ``shieldwall.analysis`` and their reports opened
in Chromium with the network disabled: no request, no console error, every plotly div drawn.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from browser import (
    assert_not_blank,
    plotly_points,
    screenshot,
)

# The fixtures `browser` (session Chromium) and `open_page` (offline page factory).
pytest_plugins = ["browser"]
pytestmark = pytest.mark.browser

SCENARIO = Path(__file__).resolve().parent / "data" / "browser_raid.yaml"
MC_CHARTS = ("mc-leakers", "mc-value-lost", "mc-expenditure", "mc-cost-exchange",
             "mc-convergence", "mc-survival-map")
SWEEP_AXIS = "doctrine.salvo.ballistic=1,2"


@pytest.fixture(scope="module")
def study_dir(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real 3-replication study with its report (``browser`` first: skip before work)."""
    from shieldwall.analysis.montecarlo import monte_carlo
    from shieldwall.report import write_mc_report

    out = tmp_path_factory.mktemp("browser-mc") / "study"
    with ThreadPoolExecutor(1) as pool:  # no process start-up: the study is 3 short runs
        monte_carlo(SCENARIO, n=3, outdir=out, executor=pool, progress=False)
    write_mc_report(out)
    return out


@pytest.fixture(scope="module")
def sweep_dir(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real two-point sweep, 2 replications per point, with its reports."""
    from shieldwall.analysis.sweep import run_sweep
    from shieldwall.report import write_sweep_report

    out = tmp_path_factory.mktemp("browser-sweep") / "sweep"
    with ThreadPoolExecutor(1) as pool:
        run_sweep(SCENARIO, [SWEEP_AXIS], n=2, outdir=out, executor=pool, progress=False)
    write_sweep_report(out)
    return out


def check_plotly(page: Any, element_id: str) -> None:
    assert page.locator(f"#{element_id}").count() == 1, f"#{element_id} missing"
    assert plotly_points(page, element_id) > 0, f"#{element_id}: no plotly data"
    assert_not_blank(screenshot(page, f"#{element_id}"), f"#{element_id}", min_colours=8,
                     min_foreground=0.01)


def test_mc_report_loads_offline_and_every_chart_draws(study_dir: Path,
                                                       open_page: Any) -> None:
    loaded = open_page(study_dir / "report.html")
    loaded.assert_clean()
    for chart in MC_CHARTS:
        check_plotly(loaded.page, chart)
    # The page states the study it summarizes: its scenario and number of replications.
    summary = json.loads((study_dir / "summary.json").read_text(encoding="utf-8"))
    assert summary["replications"] == 3
    assert summary["scenario"] in loaded.page.inner_text("h1")
    assert "3 replications" in loaded.page.inner_text("body")
    loaded.assert_clean()


def test_sweep_report_loads_offline_and_draws(sweep_dir: Path, open_page: Any) -> None:
    loaded = open_page(sweep_dir / "report.html")
    loaded.assert_clean()
    check_plotly(loaded.page, "sweep-response")
    index = json.loads((sweep_dir / "sweep.json").read_text(encoding="utf-8"))
    # One study summary per point, naming the swept value.
    rows = loaded.page.locator("table#sweep-points tr.point-summary")
    assert rows.count() == len(index["points"]) == 2
    for k, point in enumerate(index["points"]):
        row_text = rows.nth(k).inner_text()
        for value in point["params"].values():
            assert str(value) in row_text, (row_text, point)
        # Its link leads to the point's own Monte Carlo report, a local file.
        href = rows.nth(k).locator("a").get_attribute("href")
        assert href is not None and not href.startswith(("http:", "https:"))
        assert (sweep_dir / href).resolve() == (sweep_dir / point["dir"] / "report.html")
        assert (sweep_dir / href).is_file()
    # Every other plotly div of the page (the per-point summaries) draws too.
    others = loaded.page.evaluate(
        "() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(e => e.id)")
    for element_id in others:
        if element_id and element_id != "sweep-response":
            check_plotly(loaded.page, element_id)
    loaded.assert_clean()
