"""The command line: validate / schema / catalog, and bad input -> one paragraph, exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shieldwall.catalog import load_catalog
from shieldwall.cli import app

runner = CliRunner()


def _line_containing(text: str, fragment: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if fragment in line)


def _write_variant(tmp_path: Path, example: Path, old: str, new: str) -> tuple[Path, str]:
    text = example.read_text(encoding="utf-8")
    assert old in text
    text = text.replace(old, new, 1)
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    return path, text


def test_validate_example_ok(example_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(example_path)])
    assert result.exit_code == 0, result.output
    ok, size = result.stdout.strip().splitlines()
    assert ok == "OK: Capital region (notional): 6 assets, 6 batteries, 84 threats in 7 waves"
    assert size.startswith("size of a run: 84 threats x 5,401 time steps")  # 2700 s at 0.5 s


@pytest.mark.parametrize(
    ("old", "new", "field", "fragment", "words"),
    [
        # misspelled field
        ("      count: 8\n", "      cuont: 8\n", "raid.waves[0].cuont", "cuont: 8",
         "unknown field 'cuont'"),
        # negative count
        ("      count: 4\n", "      count: -4\n", "raid.waves[1].count", "count: -4",
         "greater than or equal to 1"),
        # unknown system
        ("    system: patriot\n", "    system: patriot-x\n", "batteries[0].system",
         "system: patriot-x", "unknown system 'patriot-x'"),
        # position outside the allowed range (3000 km from the origin)
        ("lat_deg: 45.350, lon_deg: -39.950", "lat_deg: 75.350, lon_deg: -39.950",
         "sensors[0].lat_deg", "lat_deg: 75.350", "within 3000 km"),
        # position outside [-90, 90]
        ("lat_deg: 45.150, lon_deg: -39.820", "lat_deg: 95.150, lon_deg: -39.820",
         "assets[1].lat_deg", "lat_deg: 95.150", "less than or equal to 90"),
        # aim point that is no asset
        ("targets: [brannock-power, corran-power]", "targets: [brannock-power, corran-pwr]",
         "raid.waves[1].targets[1]", "corran-pwr", "aim point 'corran-pwr' is no asset"),
        # interceptor the system cannot load
        ("{interceptor: pac2-gem-t, count: 2}", "{interceptor: amraam, count: 2}",
         "batteries[0].launchers[1].interceptor", "interceptor: amraam", "cannot be loaded"),
        # launch window start after end
        ("launch_window_s: [300, 600]", "launch_window_s: [600, 300]",
         "raid.waves[1].launch_window_s", "launch_window_s: [600, 300]", "after its end"),
    ],
)
def test_bad_input_exits_2_with_file_field_and_line(tmp_path: Path, example_path: Path,
                                                   old: str, new: str, field: str,
                                                   fragment: str, words: str) -> None:
    path, text = _write_variant(tmp_path, example_path, old, new)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert result.stdout == ""
    message = result.stderr.strip()
    assert "\n" not in message and "Traceback" not in message
    line = _line_containing(text, fragment)
    assert message.startswith(f"error: {path}, line {line}, field '{field}': ")
    assert words in message


def test_malformed_yaml_exits_2(tmp_path: Path, example_path: Path) -> None:
    path, text = _write_variant(tmp_path, example_path, "  waves:\n", "  waves: [\n")
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {path}, line ")
    assert "malformed YAML" in result.stderr
    line = int(result.stderr.split("line ")[1].split(":")[0].split(",")[0])
    assert line > _line_containing(text, "waves: [")  # the parser notices after the bracket


def test_missing_file_exits_2(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    result = runner.invoke(app, ["validate", str(missing)])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: {missing}: file not found"


def test_main_entry_point_prints_no_traceback(tmp_path: Path, example_path: Path) -> None:
    path, _ = _write_variant(tmp_path, example_path, "      count: 8\n", "      count: 0\n")
    proc = subprocess.run([sys.executable, "-m", "shieldwall.cli", "validate", str(path)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "field 'raid.waves[0].count'" in proc.stderr


def test_schema_is_json_with_properties(tmp_path: Path) -> None:
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert {"name", "origin", "assets", "batteries", "raid"} <= set(schema["properties"])
    out = tmp_path / "schema.json"
    result = runner.invoke(app, ["schema", "-o", str(out)])
    assert result.exit_code == 0
    assert json.loads(out.read_text()) == schema


def test_catalog_lists_every_system() -> None:
    catalog = load_catalog()
    result = runner.invoke(app, ["catalog"])
    assert result.exit_code == 0
    for name in (*catalog.systems, *catalog.threats, *catalog.radars, *catalog.interceptors):
        assert name in result.stdout, name
    assert "NOTIONAL" in result.stdout
    result = runner.invoke(app, ["catalog", "--json"])
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    systems = {r["name"] for r in rows if r["kind"] == "system"}
    assert systems == set(catalog.systems)
    assert all(r["source"] for r in rows)
