"""Input limits (issue 12): YAML bombs, non-finite numbers, run sizes and command-line numbers.

Every case is a user's mistake: exit 2 with one paragraph naming the file or flag and the field,
never a stall, a traceback or a MemoryError.
"""

from __future__ import annotations

import copy
import math
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from shieldwall.catalog import load_catalog
from shieldwall.catalog.loader import (
    MAX_YAML_BYTES,
    MAX_YAML_DEPTH,
    MAX_YAML_NODES,
    CatalogError,
    YamlLoader,
    parse_catalog_text,
)
from shieldwall.cli import app
from shieldwall.core.errors import InputError
from shieldwall.scenario import dump_scenario, format_path, load_scenario_text
from shieldwall.scenario.size import (
    BASE_BYTES,
    BASE_BYTES_UNRECORDED,
    DEFAULT_MAX_MEMORY_GB,
    ESTIMATE_FACTOR,
    estimate_run_size,
    n_steps,
)
from tiny_scenario import tiny_document

runner = CliRunner()

#: Hang guard only: the real times (milliseconds) are in benchmarks/RESULTS.md.
HANG_GUARD_S = 5.0


def _write(tmp_path: Path, doc: Any, name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc, sort_keys=False),
                    encoding="utf-8")
    return path


def _alias_bomb(levels: int, with_scenario_keys: bool = False) -> str:
    """The "billion laughs" document: each level repeats the previous one 9 times."""
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]")
    text = "\n".join(lines) + "\n"
    if with_scenario_keys:  # the bomb hidden in a real field
        text = text.replace("a0:", "name: x\ndescription: &a0", 1).replace("a0: &a0", "")
    return text


def _expanded_nodes(levels: int) -> int:
    # level 0: a list of 9 scalars (10 nodes); level i: a list of 9 copies of level i-1.
    size = 10
    for _ in range(1, levels):
        size = 1 + 9 * size
    return size


# ------------------------------------------------------------------------------ YAML bombs
@pytest.mark.parametrize("levels", [7, 9, 12])
def test_alias_bomb_is_refused_at_once(tmp_path: Path, levels: int) -> None:
    assert _expanded_nodes(levels) > MAX_YAML_NODES
    path = _write(tmp_path, _alias_bomb(levels), "bomb.yaml")
    t0 = time.perf_counter()
    result = runner.invoke(app, ["validate", str(path)])
    elapsed = time.perf_counter() - t0
    assert result.exit_code == 2, result.output
    assert elapsed < HANG_GUARD_S
    assert str(path) in result.stderr
    assert f"{MAX_YAML_NODES:,} nodes" in result.stderr and "input limit" in result.stderr
    assert "Traceback" not in result.output


def test_alias_bomb_in_a_scenario_field(tmp_path: Path) -> None:
    doc = yaml.safe_dump(tiny_document())
    bomb = _alias_bomb(9).replace("\n", "\n  ")
    text = doc.replace("name: tiny (test)", "name: tiny\nbomb:\n  " + bomb, 1)
    with pytest.raises(InputError, match="alias bomb") as err:
        load_scenario_text(text, name="bomb.yaml")
    assert err.value.file == "bomb.yaml" and err.value.line is not None


def test_anchors_within_the_limit_still_work() -> None:
    doc = tiny_document()
    wave = doc["raid"]["waves"][0]
    second = copy.deepcopy(wave)
    second["launch"] = wave["launch"]  # one object twice: the dumper writes &id001 / *id001
    doc["raid"]["waves"].append(second)
    text = yaml.safe_dump(doc, sort_keys=False)
    assert "&id001" in text and "*id001" in text
    scenario = load_scenario_text(text)
    first, again = scenario.raid.waves
    assert again.launch == first.launch
    assert first.launch.lat_deg == wave["launch"]["lat_deg"]


@pytest.mark.parametrize("opener", ["[", "{a: ", "- "])
def test_nesting_bomb_is_refused(tmp_path: Path, opener: str) -> None:
    depth = 5000
    if opener == "- ":  # block sequences: one more level per line
        body = "".join(" " * (2 * i) + "-\n" for i in range(200))
    else:
        closer = "]" if opener == "[" else "}"
        body = opener * depth + "1" + closer * depth
    path = _write(tmp_path, "name: x\ndescription: " + body + "\n"
                  if opener != "- " else "name: x\ndescription:\n" + body, "nest.yaml")
    t0 = time.perf_counter()
    result = runner.invoke(app, ["validate", str(path)])
    assert time.perf_counter() - t0 < HANG_GUARD_S
    assert result.exit_code == 2, result.output
    assert f"nesting deeper than {MAX_YAML_DEPTH} levels" in result.stderr
    assert str(path) in result.stderr and "line " in result.stderr
    assert not isinstance(result.exception, RecursionError)


def test_nesting_at_the_limit_is_read() -> None:
    depth = MAX_YAML_DEPTH - 1  # the top-level mapping is one level
    data = yaml.load("a: " + "[" * depth + "1" + "]" * depth, Loader=YamlLoader)
    node = data["a"]
    for _ in range(depth - 1):
        node = node[0]
    assert node == [1]
    with pytest.raises(yaml.YAMLError, match="nesting"):
        yaml.load("a: " + "[" * (depth + 1) + "1" + "]" * (depth + 1), Loader=YamlLoader)


def test_file_larger_than_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("name: x\ndescription: " + "y" * MAX_YAML_BYTES + "\n", encoding="utf-8")
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert str(path) in result.stderr and f"{MAX_YAML_BYTES:,} bytes" in result.stderr
    with pytest.raises(InputError, match="bytes"):
        load_scenario_text(path.read_text(encoding="utf-8"), name="big.yaml")


@pytest.mark.parametrize(("value", "words"), [
    ("2024-02-30", "day is out of range"),
    ("1" * 5000, "digits"),
])
def test_values_python_cannot_build(value: str, words: str) -> None:
    text = yaml.safe_dump(tiny_document()).replace("name: tiny (test)", f"name: {value}", 1)
    with pytest.raises(InputError, match=words) as err:
        load_scenario_text(text, name="v.yaml")
    assert err.value.file == "v.yaml"


def test_user_catalog_limits_and_finite_numbers() -> None:
    with pytest.raises(CatalogError, match="alias bomb"):
        parse_catalog_text(_alias_bomb(9))
    text = (Path(__file__).parent.parent / "src" / "shieldwall" / "catalog"
            / "catalog.yaml").read_text(encoding="utf-8")
    marker = "speed_mps: {value: 51,"
    assert marker in text
    for bad in (".nan", ".inf", "-.inf"):
        with pytest.raises(CatalogError, match="finite number"):
            parse_catalog_text(text.replace(marker, f"speed_mps: {{value: {bad},", 1))
    assert parse_catalog_text(text) == load_catalog()


# ------------------------------------------------------------------------- finite numbers
def _full_document() -> dict[str, Any]:
    """The tiny scenario with every optional float block present (reserves, aim points,
    route, sensors), resolved: every float field of the models appears in the file."""
    doc = tiny_document()
    doc["doctrine"] = {"reserve_fraction": {"pac3-mse": 0.25}}
    second = copy.deepcopy(doc["raid"]["waves"][0])
    second.pop("targets")
    second["aim_points"] = [{"lat_deg": 45.01, "lon_deg": -40.01}]
    second["route"] = [{"lat_deg": 45.3, "lon_deg": -38.0}]
    second["dispersion_m"] = 50.0
    doc["raid"]["waves"].append(second)
    doc["sensors"] = [{"id": "ew", "radar": "ew-radar", "lat_deg": 45.35, "lon_deg": -39.95,
                       "alt_m": 250.0, "heading_deg": 60.0}]
    return yaml.safe_load(dump_scenario(load_scenario_text(yaml.safe_dump(doc))))


def _float_paths(node: Any, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    if isinstance(node, dict):
        return [p for k, v in node.items() for p in _float_paths(v, (*path, k))]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in _float_paths(v, (*path, i))]
    return [path] if isinstance(node, float) else []


FULL = _full_document()
FLOAT_PATHS = _float_paths(FULL)


def test_the_property_covers_every_float_field() -> None:
    # Independent of the dump: every float-typed field name of the models' JSON Schema shows
    # up among the float leaves of the document.
    from shieldwall.scenario.models import Scenario

    schema = Scenario.model_json_schema()
    names = set()
    for model in [schema, *schema["$defs"].values()]:
        for name, prop in model.get("properties", {}).items():
            kinds = [prop, *prop.get("anyOf", []), *prop.get("prefixItems", []),
                     prop.get("additionalProperties") or {}]
            if any(isinstance(k, dict) and k.get("type") == "number" for k in kinds):
                names.add(name)
    leaves = {str(p[-1]) if isinstance(p[-1], str) else str(p[-2]) for p in FLOAT_PATHS}
    assert names - {"reserve_fraction"} <= leaves, names - leaves
    assert ("doctrine", "reserve_fraction", "pac3-mse") in FLOAT_PATHS
    assert len(FLOAT_PATHS) >= 30


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(FLOAT_PATHS),
       value=st.sampled_from([math.nan, math.inf, -math.inf]))
def test_any_non_finite_float_is_refused_with_its_path(path: tuple[str | int, ...],
                                                       value: float) -> None:
    doc = copy.deepcopy(FULL)
    node = doc
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    text = yaml.safe_dump(doc, sort_keys=False)
    with pytest.raises(InputError) as err:
        load_scenario_text(text, name="nan.yaml")
    assert err.value.field == format_path(path)
    assert "finite number" in err.value.message
    assert err.value.line is not None


@pytest.mark.parametrize(("mutate", "field"), [
    (lambda d: d["raid"]["waves"][0].__setitem__("launch_window_s", [math.nan, 0.0]),
     "raid.waves[0].launch_window_s[0]"),
    (lambda d: d["assets"][0].__setitem__("value", math.inf), "assets[0].value"),
    (lambda d: d["assets"][0].__setitem__("value", 1e300), "assets[0].value"),
    (lambda d: d.__setitem__("seed", 2**63), "seed"),
])
def test_validate_refuses_what_run_would_choke_on(tmp_path: Path, mutate: Any,
                                                  field: str) -> None:
    doc = tiny_document()
    mutate(doc)
    path = _write(tmp_path, doc)
    for command in (["validate", str(path)], ["run", str(path), "-o", str(tmp_path / "o")]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2, result.output
        assert f"field '{field}'" in result.stderr and str(path) in result.stderr
    assert not (tmp_path / "o").exists()


# ------------------------------------------------------------------------------- run size
def _huge_document(waves: int = 1000) -> dict[str, Any]:
    doc = tiny_document()
    doc["raid"]["waves"][0]["count"] = 100_000
    doc["raid"]["waves"] = [doc["raid"]["waves"][0]] * waves  # 10^8 threats at 1000 waves
    return doc


def test_estimate_counts_threats_and_steps() -> None:
    scenario = load_scenario_text(yaml.safe_dump(_huge_document()))
    est = estimate_run_size(scenario)
    assert est.threats == 10**8 == scenario.n_threats
    assert est.steps == n_steps(scenario) == int(150.0 / 2.5) + 1
    assert 0 < est.truth_samples <= est.threat_steps
    # At least the truth grid (two float64 3-vectors per threat and step).
    assert est.memory_bytes > 48 * est.threat_steps


def test_huge_raid_is_refused_by_validate_and_run(tmp_path: Path) -> None:
    path = _write(tmp_path, _huge_document())
    t0 = time.perf_counter()
    for command in (["validate", str(path)], ["run", str(path), "-o", str(tmp_path / "o")],
                    ["mc", str(path), "-n", "2", "-o", str(tmp_path / "m")]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2, result.output
        assert "100,000,000 threats" in result.stderr
        assert "--max-memory-gb" in result.stderr and str(path) in result.stderr
        assert f"limit of {DEFAULT_MAX_MEMORY_GB:.2g} GB" in result.stderr
    assert time.perf_counter() - t0 < 60
    assert not (tmp_path / "o").exists() and not (tmp_path / "m").exists()
    # The flag raises the limit: validate then reports the estimate.
    result = runner.invoke(app, ["validate", str(path), "--max-memory-gb", "1e6"])
    assert result.exit_code == 0, result.output
    assert "size of a run: 100,000,000 threats x 61 time steps" in result.stdout


def test_small_limit_refuses_a_small_run(tmp_path: Path) -> None:
    path = _write(tmp_path, tiny_document())
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 0 and "size of a run: 3 threats x 61 time steps" in result.stdout
    result = runner.invoke(app, ["run", str(path), "-o", str(tmp_path / "o"),
                                 "--max-memory-gb", "0.01"])
    assert result.exit_code == 2 and "--max-memory-gb 1" in result.stderr
    assert not (tmp_path / "o").exists()


# The peak is this process's own high-water mark (VmHWM). Not ru_maxrss: Linux keeps the
# maximum across execve, so a child of a large pytest process would report pytest's peak.
_PEAK_KB = """
def _peak_kb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
"""

_MEASURE = _PEAK_KB + """
import sys
from shieldwall.cli import app
try:
    app(sys.argv[1:], standalone_mode=False)
finally:
    print("MAXRSS_KB", _peak_kb())
"""


def _drone_document(count: int, duration_s: float, dt_s: float) -> dict[str, Any]:
    """Truth-heavy raid without defenses: the truth grid and truth table dominate."""
    doc = tiny_document("drones (test)")
    doc["duration_s"], doc["dt_s"] = duration_s, dt_s
    doc["batteries"], doc["sensors"] = [], []
    doc["raid"]["waves"] = [{
        "threat": "shahed-136", "count": count,
        "launch": {"lat_deg": 47.031, "lon_deg": -34.528, "radius_km": 15},
        "launch_window_s": [-9500, -7700], "route": [{"lat_deg": 45.977, "lon_deg": -39.346}],
        "targets": ["north-substation", "brannock-power", "aldmere-centre"]}]
    return doc


_REPLICATION = _PEAK_KB + """
import sys
from shieldwall.engine import simulate
from shieldwall.scenario import load_scenario
simulate(load_scenario(sys.argv[1]), record=False)
print("MAXRSS_KB", _peak_kb())
"""


@pytest.mark.slow
@pytest.mark.parametrize(("size", "recorded"), [("tiny", True), ("drones", True),
                                                ("drones", False)])
def test_memory_estimate_within_its_factor_of_a_measured_run(tmp_path: Path, size: str,
                                                             recorded: bool) -> None:
    drones = 1000 if recorded else 2000
    doc = tiny_document() if size == "tiny" else _drone_document(drones, 3600.0, 2.0)
    path = _write(tmp_path, doc)
    est = estimate_run_size(load_scenario_text(yaml.safe_dump(doc)), recorded=recorded)
    if size == "drones":  # the sized terms, not the interpreter, make most of the estimate
        assert est.memory_bytes > 1.5 * (BASE_BYTES if recorded else BASE_BYTES_UNRECORDED)
    args = ["run", str(path), "-o", str(tmp_path / "out")] if recorded else [str(path)]
    out = subprocess.run([sys.executable, "-c", _MEASURE if recorded else _REPLICATION, *args],
                         capture_output=True, text=True, check=True, timeout=600)
    measured = int(out.stdout.rsplit("MAXRSS_KB", 1)[1].split()[0]) * 1024
    assert measured / ESTIMATE_FACTOR <= est.memory_bytes <= measured * ESTIMATE_FACTOR, \
        (est.describe(), measured)


# ----------------------------------------------------------------------- sweep size
def test_sweep_of_ten_thousand_points_is_refused_fast(tmp_path: Path) -> None:
    path = _write(tmp_path, tiny_document())
    values = ",".join(f"{0.01 * i:.2f}" for i in range(100))
    costs = ",".join(str(1000 * (i + 1)) for i in range(100))
    t0 = time.perf_counter()
    result = runner.invoke(app, ["sweep", str(path), "--set", f"doctrine.min_pk={values}",
                                 "--set", f"doctrine.cost_per_value_usd={costs}",
                                 "-n", "1000", "-o", str(tmp_path / "s")])
    assert time.perf_counter() - t0 < 30  # refused before 10^4 points are validated
    assert result.exit_code == 2, result.output
    assert "10,000 points x 1,000 replications = 10,000,000 replications" in result.stderr
    assert "--max-replications 10000000" in result.stderr and "estimated ~" in result.stderr
    assert not (tmp_path / "s").exists()


def test_long_sweep_warns_with_count_and_time(tmp_path: Path) -> None:
    from shieldwall.analysis.sweep import WARN_SWEEP_SECONDS, check_sweep_size

    scenario = load_scenario_text(yaml.safe_dump(tiny_document()))
    per_rep = estimate_run_size(scenario, recorded=False).wall_time_s
    n = math.ceil(2 * WARN_SWEEP_SECONDS / per_rep)
    with pytest.raises(InputError, match="--max-replications"):
        check_sweep_size([scenario] * 2, n, "t.yaml", workers=1, max_replications=n)
    seconds = check_sweep_size([scenario], n, "t.yaml", workers=1, max_replications=n)
    assert seconds == pytest.approx(n * per_rep)
    quiet = check_sweep_size([scenario], 10, "t.yaml", workers=1)
    assert quiet < WARN_SWEEP_SECONDS


def test_long_sweep_warning_on_stderr(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from shieldwall.analysis.sweep import WARN_SWEEP_SECONDS, check_sweep_size

    scenario = load_scenario_text(yaml.safe_dump(tiny_document()))
    n = math.ceil(2 * WARN_SWEEP_SECONDS / estimate_run_size(scenario,
                                                               recorded=False).wall_time_s)
    check_sweep_size([scenario], n, "t.yaml", workers=1, max_replications=n)
    err = capsys.readouterr().err
    assert err.startswith("warning: a long sweep: 1 point x") and f"{n:,} replications" in err
    check_sweep_size([scenario], 10, "t.yaml", workers=1)
    assert capsys.readouterr().err == ""


# ------------------------------------------------------------------- command-line numbers
@pytest.mark.parametrize(("args", "flag"), [
    (["run", "{s}", "-o", "{o}", "--seed", "-1"], "--seed"),
    (["run", "{s}", "-o", "{o}", "--seed", str(2**63)], "--seed"),
    (["mc", "{s}", "-n", "2", "-o", "{o}", "--seed", "-1"], "--seed"),
    (["mc", "{s}", "-n", "0", "-o", "{o}"], "-n"),
    (["mc", "{s}", "-n", "-1", "-o", "{o}"], "-n"),
    (["mc", "{s}", "-n", "2", "-o", "{o}", "--workers", "0"], "--workers"),
    (["mc", "{s}", "-n", "2", "-o", "{o}", "--chunk-seconds", "nan"], "--chunk-seconds"),
    (["mc", "{s}", "-n", "2", "-o", "{o}", "--chunk-seconds", "-1"], "--chunk-seconds"),
    (["mc", "{s}", "-n", "2", "-o", "{o}", "--max-memory-gb", "inf"], "--max-memory-gb"),
    (["sweep", "{s}", "--set", "doctrine.min_pk=0.3", "-n", "1", "-o", "{o}", "--seed", "-5"],
     "--seed"),
    (["sweep", "{s}", "--set", "doctrine.min_pk=0.3", "-n", "0", "-o", "{o}"], "-n"),
    (["sweep", "{s}", "--set", "doctrine.min_pk=0.3", "-n", "-1", "-o", "{o}"], "-n"),
    (["sweep", "{s}", "--set", "doctrine.min_pk=0.3", "-n", "1", "-o", "{o}", "--workers",
      "0"], "--workers"),
    (["sweep", "{s}", "--set", "doctrine.min_pk=0.3", "-n", "1", "-o", "{o}",
      "--max-replications", "0"], "--max-replications"),
    (["validate", "{s}", "--max-memory-gb", "nan"], "--max-memory-gb"),
])
def test_bad_numbers_on_the_command_line(tmp_path: Path, args: list[str], flag: str) -> None:
    path = _write(tmp_path, tiny_document())
    out = tmp_path / "out"
    result = runner.invoke(app, [a.format(s=path, o=out) for a in args])
    assert result.exit_code == 2, result.output
    assert f"field '{flag}'" in result.stderr
    assert not out.exists()  # refused before anything is written


# ------------------------------------------------------- other YAML / JSON read from users
def test_sweep_values_are_read_within_the_limits() -> None:
    from shieldwall.analysis.sweep import parse_set

    assert parse_set("doctrine.min_pk=0.3,1e-1").values == (0.3, 0.1)
    nested = "[" * (MAX_YAML_DEPTH + 5) + "]" * (MAX_YAML_DEPTH + 5)
    with pytest.raises(InputError, match="nesting deeper") as err:
        parse_set(f"raid.waves[0].route={nested}")
    assert err.value.file == "--set" and err.value.field == "raid.waves[0].route"
    bomb = "[&a [1, 1, 1, 1, 1, 1, 1, 1, 1]" + "".join(
        f", &b{i} [{', '.join(['*a' if i == 0 else f'*b{i - 1}'] * 9)}]" for i in range(7)) + "]"
    with pytest.raises(InputError, match="alias bomb"):
        parse_set(f"raid.waves[0].route={bomb}")


def test_results_json_nested_too_deeply(tmp_path: Path) -> None:
    from shieldwall.report.data import _read_json
    from shieldwall.report.studydata import read_json

    path = tmp_path / "summary.json"
    path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    for reader in (_read_json, lambda p: read_json(p, required=True)):
        with pytest.raises(InputError, match="JSON") as err:
            reader(path)
        assert err.value.file == str(path)
