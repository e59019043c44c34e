"""`shieldwall run` end to end on the bundled scenario: the results directory of
docs/formats.md §4, the printed summary, and clean failures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from shieldwall.cli import app

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "capital_region.yaml"
REQUIRED = {"scenario", "seed", "threats", "fates", "fates_by_class", "interceptors_fired",
            "interceptor_cost_usd", "asset_damage", "value_lost", "perfect_information",
            "version"}


@pytest.fixture(scope="module")
def bundled_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("run") / "capital"
    res = CliRunner().invoke(app, ["run", str(EXAMPLE), "-o", str(out), "--seed", "42"])
    assert res.exit_code == 0, res.output
    return out, res.output


def test_results_directory_is_complete(bundled_run: tuple[Path, str]) -> None:
    out, _ = bundled_run
    for name in ("summary.json", "events.parquet", "truth.parquet", "tracks.parquet",
                 "detections.parquet", "interceptors.parquet", "scenario.json", "report.html",
                 "run.geojson", "run.kml", "run.czml"):
        assert (out / name).is_file(), name
    summary = json.loads((out / "summary.json").read_text())
    assert REQUIRED <= set(summary)
    assert summary["threats"] == 84 and summary["seed"] == 42
    assert sum(summary["fates"].values()) == 84
    ev = pq.read_table(out / "events.parquet").to_pydict()
    assert ev["kind"].count("threat_launch") == 84
    truth = pq.read_table(out / "truth.parquet")
    # Every threat still flying at t = 0 has truth rows; those that fell short before the
    # scenario started (launched at negative times) have none.
    gone_before_start = {t for k, t, ts in zip(ev["kind"], ev["threat_id"], ev["time_s"],
                                               strict=True) if k == "crash" and ts < 0}
    assert set(truth.column("threat_id").to_pylist()) == set(range(84)) - gone_before_start
    # No partial directories are left next to the results.
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]


def test_bundled_raid_is_defended(bundled_run: tuple[Path, str]) -> None:
    out, printed = bundled_run
    summary = json.loads((out / "summary.json").read_text())
    assert summary["fates"]["intercepted"] >= 20
    assert summary["engagements"] > 0 and summary["tracks_confirmed"] > 0
    assert "intercepted" in printed and "value lost" in printed


def test_run_bad_input_exits_2_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(EXAMPLE.read_text().replace("count: 8", "count: -8"))
    proc = subprocess.run([sys.executable, "-m", "shieldwall.cli", "run", str(bad), "-o",
                           str(tmp_path / "o")], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "count" in proc.stderr
    assert not (tmp_path / "o").exists()
