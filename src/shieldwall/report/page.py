"""Pieces shared by every HTML page of ``shieldwall.report`` (the run report, the Monte Carlo and
sweep reports): the inlined plotly.js bundle and the JSON embedding of page data.

Every page is one self-contained file: plotly.js (the official "cartesian" partial bundle,
shipped in ``report/assets``, see PLOTLY_LICENSE.md; never a CDN) and the page data are
inlined, so the page works with the network disabled.
"""

from __future__ import annotations

import functools
import json
import math
from importlib import resources
from typing import Any

import numpy as np

from shieldwall.core.jsonutil import json_default

PLOTLY_ASSET = "plotly-cartesian.min.js"


@functools.cache
def plotly_js() -> str:
    """plotly.js 3.7 (cartesian partial bundle: scatter, bar, box, histogram...; 1.4 MB)."""
    return (resources.files("shieldwall.report") / "assets" / PLOTLY_ASSET).read_text(
        encoding="utf-8")


def plotly_script_tag() -> str:
    """A ``<script>`` element carrying plotly.js inline (the page needs no network)."""
    return "<script>" + plotly_js() + "</script>"


def json_script_tag(element_id: str, data: Any) -> str:
    """Embed ``data`` as ``<script type="application/json" id=...>`` for the page's JavaScript.

    ``</`` is escaped so no value can close the script element; NaN/inf become null.
    """
    text = json.dumps(_finite(data), default=json_default, separators=(",", ":"),
                      allow_nan=False)
    text = text.replace("</", "<\\/")
    return f'<script type="application/json" id="{element_id}">{text}</script>'


def _finite(obj: Any) -> Any:
    """A copy of ``obj`` with non-finite floats (numpy included) replaced by ``None``."""
    if isinstance(obj, float | np.floating):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind == "f" and not np.isfinite(obj).all():
            return [_finite(v) for v in obj.tolist()]
        return obj.tolist()
    return obj
