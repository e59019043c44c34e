"""`shieldwall report DIR`: it recognises a run, a Monte Carlo study and a sweep by their files,
rewrites the right page (and a run's exports), and refuses anything else with exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shieldwall.cli import app
from synthetic_results import make_results_dir
from test_mc_report import make_study


def _invoke(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(app, ["report", *args])
    return res.exit_code, res.output


def test_run_directory_gets_report_and_all_exports(tmp_path: Path) -> None:
    out = tmp_path / "run"
    make_results_dir(out, n_threats=6)
    code, text = _invoke(str(out))
    assert code == 0, text
    assert text.startswith("run report:")
    for name in ("report.html", "run.geojson", "run.kml", "run.czml"):
        assert (out / name).stat().st_size > 0, name
    geo = json.loads((out / "run.geojson").read_text())
    assert geo["type"] == "FeatureCollection"
    czml = json.loads((out / "run.czml").read_text())
    assert czml[0]["id"] == "document"
    # the run report, not a study page
    html = (out / "report.html").read_text()
    assert 'id="time-slider"' in html and 'id="mc-leakers"' not in html


def test_study_directory_gets_the_monte_carlo_page(tmp_path: Path) -> None:
    study = tmp_path / "study"
    make_study(study, n=12)
    code, text = _invoke(str(study))
    assert code == 0, text
    assert text.startswith("mc report:")
    html = (study / "report.html").read_text()
    assert 'id="mc-leakers"' in html and 'id="time-slider"' not in html
    assert not (study / "run.geojson").exists()


@pytest.mark.parametrize("setup, message", [
    (None, "no such results directory"),
    ("empty", "not a results directory"),
])
def test_not_a_results_directory_exits_2(tmp_path: Path, setup: str | None,
                                         message: str) -> None:
    target = tmp_path / "x"
    if setup == "empty":
        target.mkdir()
    code, text = _invoke(str(target))
    assert code == 2
    assert message in text and str(target) in text
    assert "Traceback" not in text


def test_corrupt_run_file_exits_2_naming_it(tmp_path: Path) -> None:
    out = tmp_path / "run"
    make_results_dir(out, n_threats=3)
    (out / "scenario.json").write_text("{not json")
    code, text = _invoke(str(out))
    assert code == 2 and "scenario.json" in text and "Traceback" not in text
    assert not (out / "report.html").exists()
