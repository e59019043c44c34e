"""The validation report (``shieldwall models -o``) in a real headless browser: offline, no
console error, a badge per check and every figure drawn."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from browser import assert_not_blank, plotly_points, screenshot
from shieldwall.cli import app

pytest_plugins = ["browser"]
pytestmark = pytest.mark.browser


def test_validation_report_draws_every_figure_offline(tmp_path: Path, open_page: Any) -> None:
    out = tmp_path / "val"
    result = CliRunner().invoke(app, ["models", "--only", "radar_horizon", "--only",
                                      "pd_vs_snr", "-o", str(out)])
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "validation.json").read_text(encoding="utf-8"))
    loaded = open_page(out / "validation.html")
    loaded.assert_clean()
    page = loaded.page
    for ci, check in enumerate(doc["checks"]):
        assert page.locator(f"#check-{check['name']} .badge").first.inner_text() == "PASS"
        for fi in range(len(check["figures"])):
            element = f"fig-{ci}-{fi}"
            assert plotly_points(page, element) > 0, element
            assert_not_blank(screenshot(page, f"#{element}"), element, min_colours=8,
                             min_foreground=0.01)
    loaded.assert_clean()
