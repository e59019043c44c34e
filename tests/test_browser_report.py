"""The HTML reports in a real headless browser (issue 6, the page contract of the reports).

A small but real run (tests/data/browser_raid.yaml: drones, cruise and ballistic missiles
against one asset, one battery, one radar, EKF tracker) and a tiny Monte Carlo study and sweep
of it are written, then opened in Chromium with the network disabled. References: truth.parquet
read with pyarrow for the number of threats in flight, the page's own pixels for "something is
drawn", the table's cells for the sort order.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from browser import (
    Loaded,
    assert_not_blank,
    changed_fraction,
    load,
    plotly_points,
    screenshot,
)

# The fixtures `browser` (session Chromium) and `open_page` (offline page factory).
pytest_plugins = ["browser"]
pytestmark = pytest.mark.browser

SCENARIO = Path(__file__).resolve().parent / "data" / "browser_raid.yaml"
RUN_CHARTS = ("#chart-gantt", "#chart-inventory", "#chart-inflight")
MC_CHARTS = ("#mc-leakers", "#mc-value-lost", "#mc-expenditure", "#mc-cost-exchange",
             "#mc-convergence", "#mc-survival-map")
EDGE_MARGIN_S = 2.0  # test times keep this far from any threat's first or last truth row


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def real_run(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real run of the small scenario, written as ``shieldwall run`` writes it (after the
    browser started: without one the tests skip before simulating)."""
    from shieldwall.analysis.results import write_run_directory
    from shieldwall.engine import simulate
    from shieldwall.report import write_report
    from shieldwall.scenario import load_scenario

    outdir = tmp_path_factory.mktemp("browser") / "run"
    result = simulate(load_scenario(SCENARIO))
    write_run_directory(outdir, result.summary, result.scenario_doc, result.tables,
                        finalize=write_report)
    return outdir


@pytest.fixture(scope="module")
def report(browser: Any, real_run: Path) -> Iterator[Loaded]:
    """The run report opened once for the module (each test sets the state it needs)."""
    loaded = load(browser, real_run / "report.html")
    yield loaded
    loaded.context.close()


@pytest.fixture(scope="module")
def flight_windows(real_run: Path) -> dict[int, tuple[float, float, str]]:
    """Per threat id: first and last time in truth.parquet and the threat class."""
    table = pq.read_table(real_run / "truth.parquet",
                          columns=["time_s", "threat_id", "threat_class"])
    t = table.column("time_s").to_numpy()
    ids = table.column("threat_id").to_numpy()
    cls = np.asarray(table.column("threat_class").to_pylist(), dtype=object)
    out = {}
    for i in np.unique(ids):
        m = ids == i
        out[int(i)] = (float(t[m].min()), float(t[m].max()), str(cls[m][0]))
    return out


def in_flight(windows: dict[int, tuple[float, float, str]], t: float) -> int:
    return sum(1 for a, b, _ in windows.values() if a <= t <= b)


def event_times(rundir: Path) -> np.ndarray:
    """Times of every event (launches, intercepts, leaks...) of the run."""
    return pq.read_table(rundir / "events.parquet", columns=["time_s"]).column(
        "time_s").to_numpy()


def clear_times(windows: dict[int, tuple[float, float, str]], duration: float,
                events: np.ndarray, step: float = 1.0) -> list[float]:
    """Whole seconds of the run at least EDGE_MARGIN_S from every threat's first or last truth
    row and from every event (a report may end a flight at its fate event)."""
    edges = np.concatenate([[e for a, b, _ in windows.values() for e in (a, b)], events])
    grid = np.arange(0.0, duration + 1e-9, step)
    ok = np.min(np.abs(grid[:, None] - edges[None, :]), axis=1) >= EDGE_MARGIN_S
    return [float(x) for x in grid[ok]]


def next_frames(page: Any, n: int = 2) -> None:
    """Let the page draw: wait for ``n`` animation frames."""
    page.evaluate("(n) => new Promise(r => { const f = k => k ? requestAnimationFrame("
                  "() => f(k - 1)) : r(); f(n); })", n)


def report_state(page: Any) -> dict[str, Any]:
    return page.evaluate("() => ({time: window.shieldwallReport.time, "
                         "duration: window.shieldwallReport.duration_s, "
                         "visible: window.shieldwallReport.visibleThreats()})")


def set_slider(page: Any, t: float) -> None:
    page.eval_on_selector("input#time-slider", "(el, v) => { el.value = String(v); "
                          "el.dispatchEvent(new Event('input', {bubbles: true})); }", t)
    next_frames(page)


def set_time_api(page: Any, t: float) -> None:
    page.evaluate("(t) => window.shieldwallReport.setTime(t)", t)
    next_frames(page)


# ----------------------------------------------------------------------------- run report
def test_run_report_loads_offline_and_draws(report: Loaded) -> None:
    loaded = report
    loaded.assert_clean()
    page = loaded.page
    # Nothing but the file itself was requested (the route aborts anything else).
    assert all(u.startswith(("file:", "data:", "blob:")) for u in loaded.requests), \
        loaded.requests
    map_stats = assert_not_blank(screenshot(page, "#map-panel"), "#map-panel",
                                 min_colours=16, min_foreground=0.02)
    assert map_stats.width >= 300 and map_stats.height >= 200
    for chart in RUN_CHARTS:
        assert plotly_points(page, chart[1:]) > 0, f"{chart}: no plotly data"
        assert_not_blank(screenshot(page, chart), chart, min_colours=8, min_foreground=0.01)


def test_time_slider_and_api_agree_with_truth(
        real_run: Path, report: Loaded,
        flight_windows: dict[int, tuple[float, float, str]]) -> None:
    loaded = report
    page = loaded.page
    summary = json.loads((real_run / "summary.json").read_text(encoding="utf-8"))
    duration = float(page.evaluate("window.shieldwallReport.duration_s"))
    assert duration == pytest.approx(float(summary["duration_s"]))
    slider = page.locator("input#time-slider")
    assert slider.get_attribute("type") == "range"
    assert float(slider.get_attribute("min")) == 0.0
    assert float(slider.get_attribute("max")) == pytest.approx(duration)

    times = clear_times(flight_windows, duration, event_times(real_run))
    counts = {t: in_flight(flight_windows, t) for t in times}
    # A quiet time, the busiest time, and one in between with another count.
    busiest = max(times, key=lambda t: (counts[t], -t))
    quiet = min(times, key=lambda t: (counts[t], t))
    middle = next((t for t in times if counts[t] not in (counts[busiest], counts[quiet])),
                  None)
    assert counts[busiest] >= 3 and middle is not None, counts
    shots = {}
    for t in (busiest, quiet, middle):
        set_slider(page, t)
        state = report_state(page)
        assert state["time"] == pytest.approx(t, abs=0.51)
        assert state["visible"] == in_flight(flight_windows, state["time"]), (t, state)
        shots[t] = screenshot(page, "#map-panel")
    assert changed_fraction(shots[busiest], shots[quiet]) > 0.0005
    assert changed_fraction(shots[middle], shots[busiest]) > 0.0005

    # The same through window.shieldwallReport.setTime: the slider follows, the map is the same.
    for t in (quiet, busiest):
        set_time_api(page, t)
        state = report_state(page)
        assert state["time"] == pytest.approx(t, abs=0.51)
        assert state["visible"] == counts[t]
        assert float(slider.input_value()) == pytest.approx(t, abs=0.51)
    assert changed_fraction(screenshot(page, "#map-panel"), shots[busiest]) < 0.001
    loaded.assert_clean()


def test_play_advances_time(real_run: Path, report: Loaded) -> None:
    loaded = report
    page = loaded.page
    set_time_api(page, 10.0)
    t0 = report_state(page)["time"]
    before = screenshot(page, "#map-panel")
    page.click("button#play")
    page.wait_for_function(f"window.shieldwallReport.time > {t0} + 1", timeout=5000)
    t1 = report_state(page)["time"]
    slider_value = float(page.locator("input#time-slider").input_value())
    page.click("button#play")  # pause again
    assert t1 > t0
    assert slider_value > t0
    next_frames(page)
    assert changed_fraction(screenshot(page, "#map-panel"), before) > 0.0
    loaded.assert_clean()


def test_coverage_altitude_changes_the_coverage(real_run: Path, report: Loaded) -> None:
    loaded = report
    page = loaded.page
    select = page.locator("select#coverage-altitude")
    values = [float(v) for v in select.evaluate(
        "el => Array.from(el.options).map(o => o.value)")]
    assert len(values) >= 2 and all(math.isfinite(v) and v >= 0 for v in values)
    low, high = min(values), max(values)
    low_text = next(v for v in select.evaluate("el => Array.from(el.options).map(o => o.value)")
                    if float(v) == low)
    high_text = next(v for v in select.evaluate("el => Array.from(el.options).map(o => o.value)")
                     if float(v) == high)
    set_time_api(page, 0.0)
    select.select_option(low_text)
    next_frames(page)
    at_low = screenshot(page, "#map-panel")
    select.select_option(high_text)
    next_frames(page)
    at_high = screenshot(page, "#map-panel")
    # A low flier is seen much closer to the radars than a high one: the drawing must change.
    assert changed_fraction(at_low, at_high) > 0.001
    # The API gives the same drawing as the select; back to the low altitude restores it.
    page.evaluate("(m) => window.shieldwallReport.setCoverageAltitude(m)", low)
    next_frames(page)
    assert changed_fraction(screenshot(page, "#map-panel"), at_low) < 0.001
    assert float(select.input_value()) == low
    loaded.assert_clean()


def test_table_sorts_on_header_click(real_run: Path, report: Loaded) -> None:
    loaded = report
    page = loaded.page
    table = page.locator("table#table-engagements")
    headers = table.locator("th[data-sort]")
    assert headers.count() >= 2
    n_rows = table.locator("tbody tr").count()
    engage_rows = pq.read_table(real_run / "events.parquet", columns=["kind"]).column(
        "kind").to_pylist()
    assert n_rows >= 3 and n_rows >= engage_rows.count("engage")
    checked = 0
    for h in range(headers.count()):
        header = headers.nth(h)
        label = header.inner_text()
        column = int(header.evaluate("th => th.cellIndex"))
        numeric = header.get_attribute("data-sort") == "num"
        header.click()
        first = column_values(page, column, numeric)
        header.click()
        second = column_values(page, column, numeric)
        assert len(first) == len(second) == n_rows
        assert is_sorted(first) or is_sorted(first[::-1]), (label, first)
        assert is_sorted(second) or is_sorted(second[::-1]), (label, second)
        if len(set(first)) > 1:
            # The two clicks give the two directions.
            assert is_sorted(first) != is_sorted(second), (label, first, second)
            checked += 1
    assert checked >= 2
    loaded.assert_clean()


NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def column_values(page: Any, column: int, numeric: bool) -> list[Any]:
    """The column's cells in the table's current row order: numbers from ``data-value`` (else
    the leading number of the text; none sorts first), or lower-case text."""
    cells = page.evaluate(
        "(c) => Array.from(document.querySelectorAll('table#table-engagements tbody tr'))"
        ".map(r => { const td = r.cells[c]; return td ? [td.getAttribute('data-value'), "
        "td.textContent.trim()] : [null, '']; })", column)
    if not numeric:
        return [text.lower() for _, text in cells]
    values = []
    for raw, text in cells:
        m = NUMBER.match((raw if raw is not None else text).replace(",", "").strip())
        values.append(float(m.group(0)) if m else -math.inf)
    return values


def is_sorted(values: list[Any]) -> bool:
    return all(a <= b for a, b in zip(values, values[1:], strict=False))


def test_hover_shows_the_threat_and_its_class(
        real_run: Path, report: Loaded,
        flight_windows: dict[int, tuple[float, float, str]]) -> None:
    """Hover where the map changed between two instants: #hover-info names a threat with the
    class truth.parquet gives it."""
    loaded = report
    page = loaded.page
    duration = float(page.evaluate("window.shieldwallReport.duration_s"))
    times = clear_times(flight_windows, duration, event_times(real_run))
    # Two instants 3 s apart with the same threats in flight: only their heads moved.
    pairs = [(t, t + 3.0) for t in times if t + 3.0 in times and in_flight(flight_windows, t) > 0
             and all((a <= t) == (a <= t + 3.0) and (b >= t) == (b >= t + 3.0)
                     for a, b, _ in flight_windows.values())]
    assert pairs
    t0, t1 = pairs[len(pairs) // 2]
    set_time_api(page, t0)
    before = screenshot(page, "#map-panel")
    set_time_api(page, t1)
    after = screenshot(page, "#map-panel")
    box = page.locator("#map-panel").bounding_box()
    changed = np.argwhere(np.any(before != after, axis=2))
    assert changed.size, "moving the time did not change the map"
    hover = page.locator("#hover-info")
    rng = np.random.default_rng(0)
    found = None
    for y, x in changed[rng.permutation(len(changed))[:40]]:
        page.mouse.move(box["x"] + x + 0.5, box["y"] + y + 0.5)
        next_frames(page)
        if hover.is_visible() and re.search(r"Threat \d+", hover.inner_text()):
            found = hover.inner_text()
            break
    assert found is not None, "no threat under the pointer where the map moved"
    threat_id = int(re.search(r"Threat (\d+)", found).group(1))
    a, b, cls = flight_windows[threat_id]
    assert a <= t1, (threat_id, a, t1)  # drawn only once it has appeared
    assert cls in found, (cls, found)
    page.mouse.move(0, 0)  # leave the map: the tooltip goes away
    next_frames(page)
    assert not hover.is_visible()
    loaded.assert_clean()
