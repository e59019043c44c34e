"""Headless-browser harness for the HTML reports (issue 6, the page contract of the reports).

A test module activates the fixtures with ``pytest_plugins = ["browser"]``:

- ``browser`` (session): one Playwright Chromium, the system's Debian ``chromium`` (or the
  executable named by ``$SHIELDWALL_CHROMIUM``) launched with ``--no-sandbox``. Without a
  browser the tests are skipped with the reason, unless ``$SHIELDWALL_REQUIRE_BROWSER=1``
  (set by ``.ci/run``), where a missing browser fails them.
- ``open_page`` (function): ``open_page(path) -> Loaded``, a fresh page with the network
  disabled (``context.set_offline(True)`` and a route that aborts, and records, every request
  that is not ``file://``), console errors and uncaught page errors collected, loaded and
  waited for ``body[data-ready="1"]``.

Pixel helpers: ``decode_png`` (Pillow when installed, else a small zlib PNG decoder) and
``image_stats`` / ``assert_not_blank`` / ``changed_fraction`` to tell a drawn region from an
empty one.

PYTEST_DONT_REWRITE: the helpers word their own assertion messages (and the module is imported
by the test modules before pytest registers it as their plugin).
"""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

REQUIRE_ENV = "SHIELDWALL_REQUIRE_BROWSER"
CHROMIUM_ENV = "SHIELDWALL_CHROMIUM"
VIEWPORT = {"width": 1280, "height": 900}
READY_SELECTOR = 'body[data-ready="1"]'
READY_TIMEOUT_MS = 30_000
# Schemes that never touch the network: the page itself, inline data and object URLs.
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")

# Records, inside the page, when body[data-ready] turns "1" (ms since navigation start).
READY_PROBE = """
(() => {
  window.__readyAtMs = null;
  const check = () => {
    if (window.__readyAtMs === null && document.body && document.body.dataset.ready === '1') {
      window.__readyAtMs = performance.now();
    }
  };
  new MutationObserver(check).observe(document, {subtree: true, childList: true,
    attributes: true, attributeFilter: ['data-ready']});
})();
"""


def browser_required() -> bool:
    """True where a missing browser must fail the tests (CI) rather than skip them."""
    return os.environ.get(REQUIRE_ENV, "") not in ("", "0", "false", "no")


def chromium_executable() -> str | None:
    """``$SHIELDWALL_CHROMIUM`` or the ``chromium`` on PATH (Debian's package), else None."""
    explicit = os.environ.get(CHROMIUM_ENV)
    if explicit:
        return explicit if Path(explicit).exists() else shutil.which(explicit)
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _unavailable(reason: str) -> None:
    if browser_required():
        pytest.fail(f"{reason} (${REQUIRE_ENV} is set: the browser tests must run)",
                    pytrace=False)
    pytest.skip(reason)


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the whole session."""
    exe = chromium_executable()
    if exe is None:
        _unavailable("no chromium browser: install Debian's 'chromium' or set "
                     f"${CHROMIUM_ENV} to the browser executable")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the 'playwright' Python package is not installed (pip install -e '.[dev]')")
    manager = sync_playwright().start()
    try:
        try:
            instance = manager.chromium.launch(executable_path=exe, args=["--no-sandbox"])
        except Exception as exc:  # noqa: BLE001 -- any launch failure means "no browser"
            _unavailable(f"chromium at {exe} did not start: {exc}")
        yield instance
        instance.close()
    finally:
        manager.stop()


@dataclass
class Loaded:
    """A report page opened offline, with what it logged and what it tried to fetch."""

    page: Any
    context: Any
    path: Path
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)   # non-file requests aborted by the route
    requests: list[str] = field(default_factory=list)  # every request the page made
    ready_ms: float | None = None                      # navigation start -> data-ready
    metrics: dict[str, float] = field(default_factory=dict)  # CDP Performance.getMetrics

    def errors(self) -> list[str]:
        return [f"console: {m}" for m in self.console_errors] + \
               [f"pageerror: {m}" for m in self.page_errors]

    def network_requests(self) -> list[str]:
        """Requests that are not local (file:, data:, blob:): must be empty offline."""
        return sorted({u for u in self.requests + self.blocked
                       if not u.startswith(LOCAL_SCHEMES)})

    def assert_clean(self) -> None:
        assert not self.network_requests(), f"the page fetched {self.network_requests()}"
        assert not self.errors(), "\n".join(self.errors())


def new_offline_context(browser: Any, viewport: dict[str, int] | None = None) -> Any:
    """A browser context with the network off: set_offline plus an aborting route."""
    context = browser.new_context(viewport=viewport or VIEWPORT)
    context.set_offline(True)
    return context


def load(browser: Any, path: Path, viewport: dict[str, int] | None = None,
         timeout_ms: int = READY_TIMEOUT_MS, cpu_metrics: bool = False) -> Loaded:
    """Open ``path`` offline, wait for ``body[data-ready="1"]`` and return the page.

    ``cpu_metrics``: also read Chromium's own counters (CDP ``Performance.getMetrics``:
    ``TaskDuration``, ``ScriptDuration``... in seconds of renderer main-thread time, which
    other processes on the machine inflate far less than the wall-clock ``ready_ms``).
    """
    context = new_offline_context(browser, viewport)
    page = context.new_page()
    loaded = Loaded(page=page, context=context, path=Path(path))
    cdp = None
    if cpu_metrics:
        cdp = context.new_cdp_session(page)
        cdp.send("Performance.enable")

    def route(r: Any) -> None:
        url = r.request.url
        if url.startswith("file:"):
            r.continue_()
        else:
            loaded.blocked.append(url)
            r.abort()

    context.route("**/*", route)
    page.on("request", lambda req: loaded.requests.append(req.url))
    page.on("console", lambda msg: loaded.console_errors.append(msg.text)
            if msg.type == "error" else None)
    page.on("pageerror", lambda exc: loaded.page_errors.append(str(exc)))
    page.add_init_script(READY_PROBE)
    page.goto(Path(path).resolve().as_uri(), wait_until="load", timeout=timeout_ms)
    wait_ready(page, timeout_ms)
    loaded.ready_ms = page.evaluate("window.__readyAtMs")
    if cdp is not None:
        loaded.metrics = {m["name"]: float(m["value"])
                          for m in cdp.send("Performance.getMetrics")["metrics"]}
        cdp.detach()
    return loaded


def wait_ready(page: Any, timeout_ms: int = READY_TIMEOUT_MS) -> None:
    """Wait until the page's JavaScript has set ``document.body.dataset.ready = "1"``."""
    page.wait_for_selector(READY_SELECTOR, state="attached", timeout=timeout_ms)


@pytest.fixture
def open_page(browser: Any) -> Iterator[Callable[..., Loaded]]:
    """Factory of offline report pages; every context is closed after the test."""
    opened: list[Loaded] = []

    def factory(path: Path, viewport: dict[str, int] | None = None) -> Loaded:
        loaded = load(browser, path, viewport)
        opened.append(loaded)
        return loaded

    yield factory
    for loaded in opened:
        loaded.context.close()


# ----------------------------------------------------------------------------- pixels
def decode_png(data: bytes) -> np.ndarray:
    """PNG bytes -> uint8 array H x W x 3 (RGB), decoded by Pillow."""
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


@dataclass(frozen=True)
class ImageStats:
    """How much is drawn in a screenshot."""

    width: int
    height: int
    distinct_colours: int
    background: tuple[int, int, int]  # the most frequent colour
    foreground_fraction: float        # share of pixels that differ from the background


def image_stats(img: np.ndarray) -> ImageStats:
    flat = img.reshape(-1, img.shape[2]).astype(np.uint32)
    keys = (flat[:, 0] << 16) | (flat[:, 1] << 8) | flat[:, 2]
    values, counts = np.unique(keys, return_counts=True)
    bg = int(values[np.argmax(counts)])
    return ImageStats(width=img.shape[1], height=img.shape[0], distinct_colours=values.size,
                      background=((bg >> 16) & 255, (bg >> 8) & 255, bg & 255),
                      foreground_fraction=float(np.mean(keys != bg)))


def screenshot(page: Any, selector: str) -> np.ndarray:
    """RGB pixels of the element matched by ``selector`` (scrolled into view)."""
    element = page.locator(selector).first
    element.scroll_into_view_if_needed()
    return decode_png(element.screenshot(animations="disabled"))


def assert_not_blank(img: np.ndarray, what: str, min_colours: int = 8,
                     min_foreground: float = 0.01, min_size: int = 50) -> ImageStats:
    """Fail unless the region has a size, several colours and enough non-background pixels."""
    stats = image_stats(img)
    assert stats.width >= min_size and stats.height >= min_size, f"{what}: tiny {stats}"
    assert stats.distinct_colours >= min_colours, f"{what}: looks blank, {stats}"
    assert stats.foreground_fraction >= min_foreground, f"{what}: looks blank, {stats}"
    return stats


def changed_fraction(a: np.ndarray, b: np.ndarray) -> float:
    """Share of pixels that differ between two screenshots of the same region."""
    if a.shape != b.shape:
        return 1.0
    return float(np.mean(np.any(a != b, axis=2)))


PLOTLY_TRACE_POINTS = """
(id) => {
  const el = document.getElementById(id);
  if (!el || !el.data) return -1;
  let n = 0;
  for (const tr of el.data) {
    for (const key of ['x', 'y', 'z', 'lat', 'lon', 'values', 'r']) {
      const v = tr[key];
      if (v && typeof v.length === 'number') { n = Math.max(n, v.length); }
    }
  }
  return n;
}
"""


def plotly_points(page: Any, element_id: str) -> int:
    """Largest number of data points in one trace of the plotly div (-1: not a plotly div)."""
    return int(page.evaluate(PLOTLY_TRACE_POINTS, element_id))
