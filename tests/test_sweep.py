"""Parameter sweeps: path parsing, overrides validated like a scenario file, the sweep table.

References: each point's rows equal the rows of a Monte Carlo study of the scenario edited by
hand (the YAML document changed in the test, not through the sweep code); bad paths and values
give exit 2 with the path in the message.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from shieldwall.analysis.montecarlo import NONDETERMINISTIC_COLUMNS, monte_carlo
from shieldwall.analysis.sweep import parse_path, parse_set, run_sweep, set_path
from shieldwall.cli import app
from shieldwall.core.errors import InputError
from shieldwall.scenario import load_scenario_text
from tiny_scenario import tiny_document

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture()
def tiny_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny_document("tiny sweep (test)"), sort_keys=False))
    return path


def test_parse_path_and_set() -> None:
    assert parse_path("raid.waves.0.count") == ("raid", "waves", 0, "count")
    assert parse_path("raid.waves[0].count") == ("raid", "waves", 0, "count")
    assert parse_path("batteries[1].launchers[0].count") == ("batteries", 1, "launchers", 0,
                                                             "count")
    axis = parse_set("doctrine.salvo.ballistic=1,2, 3")
    assert axis.values == (1, 2, 3)
    axis = parse_set("raid.waves.0.launch_window_s=[0, 60],[0,120]")
    assert axis.values == ([0, 60], [0, 120])
    assert parse_set("doctrine.policy=shoot_shoot,shoot_look_shoot").values == (
        "shoot_shoot", "shoot_look_shoot")
    assert parse_set("doctrine.min_pk=0.5,true").values == (0.5, True)
    for bad in ("doctrine.salvo.ballistic", "=1,2", "a..b=1", "doctrine.min_pk=0.5,,0.6"):
        with pytest.raises(InputError):
            parse_set(bad)


def test_set_path_errors_name_the_path() -> None:
    doc: dict[str, Any] = {"raid": {"waves": [{"count": 1}]}, "name": "x"}
    set_path(doc, ("raid", "waves", 0, "count"), 5, "f")
    set_path(doc, ("doctrine", "salvo", "ballistic"), 3, "f")  # missing mappings created
    assert doc["raid"]["waves"][0]["count"] == 5
    assert doc["doctrine"] == {"salvo": {"ballistic": 3}}
    with pytest.raises(InputError, match="out of range") as err:
        set_path(doc, ("raid", "waves", 3, "count"), 1, "f")
    assert err.value.field == "raid.waves[3]"
    with pytest.raises(InputError, match="is a list"):
        set_path(doc, ("raid", "waves", "first"), 1, "f")
    with pytest.raises(InputError, match="is a value"):
        set_path(doc, ("name", "first"), 1, "f")


@pytest.mark.parametrize(("option", "field", "words"), [
    ("doctrine.salvo.balistic=1,2", "doctrine.salvo.balistic", "did you mean 'ballistic'"),
    ("raid.waves.4.count=1", "raid.waves[4]", "out of range"),
    ("doctrine.salvo.ballistic=1,0", "doctrine.salvo.ballistic", "greater than or equal"),
    ("batteries.0.system=patriott", "batteries[0].system", "patriot"),
])
def test_cli_bad_sweep_exits_2_naming_the_path(tiny_file: Path, tmp_path: Path, option: str,
                                               field: str, words: str) -> None:
    result = CliRunner().invoke(app, ["sweep", str(tiny_file), "--set", option, "-n", "2",
                                      "-o", str(tmp_path / "out"), "--workers", "1"])
    assert result.exit_code == 2, result.output
    assert field in result.output and words in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists(), "nothing runs before every point is valid"


def test_sweep_table_matches_hand_edited_studies(tiny_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    n = 3
    with ThreadPoolExecutor(2) as pool:
        res = run_sweep(tiny_file, ["raid.waves.0.count=2,4",
                                    "doctrine.salvo.ballistic=1,2"], n, out, seed=5,
                        executor=pool, progress=False)
        table = pq.read_table(out / "sweep.parquet")
        assert table.num_rows == 4 * n
        assert table.column_names[:3] == ["point", "raid.waves.0.count",
                                          "doctrine.salvo.ballistic"]
        index = json.loads((out / "sweep.json").read_text())
        assert index["complete"] and len(index["points"]) == 4
        assert [p["params"] for p in index["points"]] == [
            {"raid.waves.0.count": c, "doctrine.salvo.ballistic": s}
            for c in (2, 4) for s in (1, 2)]
        # Independent reference: the same point edited by hand and run as its own study.
        doc = tiny_document("tiny sweep (test)")
        doc["raid"]["waves"][0]["count"] = 4
        doc["doctrine"]["salvo"]["ballistic"] = 1
        ref = monte_carlo(load_scenario_text(yaml.safe_dump(doc)), n, seed=5, executor=pool,
                          progress=False).table
    point = table.filter(pc.equal(table.column("point"), 2))
    got = point.drop_columns(["point", "raid.waves.0.count", "doctrine.salvo.ballistic",
                              *NONDETERMINISTIC_COLUMNS])
    assert got.equals(ref.drop_columns(list(NONDETERMINISTIC_COLUMNS)))
    assert set(point.column("threats").to_pylist()) == {4}
    for k in range(4):
        summary = json.loads((out / "points" / f"point-{k:04d}" / "summary.json").read_text())
        assert summary["replications"] == n
    assert res.points[0]["p_any_leaker"]["n"] == n
    # The study seed is common to all points (common random numbers).
    assert set(table.column("seed").to_pylist()) == {5}


def test_cli_sweep_runs_and_refuses_to_overwrite(tiny_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    runner = CliRunner()
    args = ["sweep", str(tiny_file), "--set", "doctrine.policy=shoot_shoot,shoot_look_shoot",
            "-n", "2", "-o", str(out), "--workers", "1", "--seed", "3"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    table = pq.read_table(out / "sweep.parquet")
    assert table.column("doctrine.policy").to_pylist() == ["shoot_shoot"] * 2 + [
        "shoot_look_shoot"] * 2
    again = runner.invoke(app, args)
    assert again.exit_code == 2 and "--resume" in again.output
    resumed = runner.invoke(app, [*args, "--resume"])
    assert resumed.exit_code == 0, resumed.output
    # Resuming a finished sweep runs nothing new and rebuilds the same table.
    resumed_table = pq.read_table(out / "sweep.parquet")
    assert resumed_table.drop_columns(list(NONDETERMINISTIC_COLUMNS)).equals(
        table.drop_columns(list(NONDETERMINISTIC_COLUMNS)))
