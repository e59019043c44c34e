"""A hand-edited results directory's JSON is exit 2 naming the file (docs/formats.md §1):
nested too deeply (RecursionError), not UTF-8, a 5000-digit number, larger than a results file
can be, or an event detail nobody wrote; never a traceback (exit 1)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from shieldwall.cli import app
from shieldwall.core.errors import InputError
from shieldwall.core.outputs import (
    MARKER,
    MAX_MARKER_BYTES,
    check_output_dir,
    read_json_file,
    read_marker,
)
from shieldwall.report.data import load_run, parse_detail

DEEP = "[" * 100_000 + "]" * 100_000

BAD_TEXTS = {
    "deep": DEEP.encode(),
    "not utf-8": b'{"kind": "run\xff"}',
    "digits": b'{"kind": "run", "x": ' + b"9" * 5000 + b"}",
    "truncated": b'{"kind": "ru',
}


@pytest.mark.parametrize("name", sorted(BAD_TEXTS))
def test_a_bad_marker_is_an_input_error_naming_it(tmp_path: Path, name: str) -> None:
    (tmp_path / MARKER).write_bytes(BAD_TEXTS[name])
    (tmp_path / "summary.json").write_text("{}")
    with pytest.raises(InputError) as info:
        read_marker(tmp_path)
    assert str(tmp_path / MARKER) in str(info.value)
    with pytest.raises(InputError):
        check_output_dir(tmp_path, "run", overwrite=True)


def test_an_oversized_marker_is_refused_before_it_is_read(tmp_path: Path) -> None:
    (tmp_path / MARKER).write_text(json.dumps({"kind": "run", "pad": "x" * MAX_MARKER_BYTES}))
    with pytest.raises(InputError, match="bytes, more than"):
        read_marker(tmp_path)


def test_read_json_file_reads_what_shieldwall_writes(tmp_path: Path) -> None:
    doc = {"kind": "mc", "files": ["a", "b"], "n": [1, 2.5, None]}
    (tmp_path / "x.json").write_text(json.dumps(doc))
    assert read_json_file(tmp_path / "x.json", "x") == doc


@pytest.mark.parametrize("text", ["[" * 50_000 + "]" * 50_000, "[" + "9" * 5000 + "]",
                                  "x" * 70_000])
def test_a_bad_event_detail_names_the_table(text: str) -> None:
    with pytest.raises(InputError) as info:
        parse_detail(text, "out/events.parquet")
    assert "out/events.parquet" in str(info.value) and "detail" in str(info.value)


def test_ordinary_details_still_parse() -> None:
    assert parse_detail('{"reason": "x", "pk": 0.5}') == {"reason": "x", "pk": 0.5}
    assert parse_detail("free text") == {"text": "free text"}
    assert parse_detail("") == {}


def _minimal_run(outdir: Path, summary: bytes, detail: str = "{}") -> None:
    outdir.mkdir()
    (outdir / "summary.json").write_bytes(summary)
    (outdir / "scenario.json").write_text("{}")
    pq.write_table(pa.table({"time_s": [0.0], "kind": ["launch"], "threat_id": [0],
                             "detail": [detail]}), outdir / "events.parquet")


def test_load_run_names_the_hand_edited_file(tmp_path: Path) -> None:
    _minimal_run(tmp_path / "a", DEEP.encode())
    with pytest.raises(InputError, match="nested too deeply") as info:
        load_run(tmp_path / "a")
    assert str(tmp_path / "a" / "summary.json") in str(info.value)
    _minimal_run(tmp_path / "b", b"{}", detail=DEEP)
    with pytest.raises(InputError) as info:
        load_run(tmp_path / "b")
    assert str(tmp_path / "b" / "events.parquet") in str(info.value)


def test_report_of_a_hand_edited_directory_exits_2(tmp_path: Path) -> None:
    _minimal_run(tmp_path / "r", DEEP.encode())
    (tmp_path / "r" / MARKER).write_text('{"kind": "run"}')
    result = CliRunner().invoke(app, ["report", str(tmp_path / "r")])
    assert result.exit_code == 2, result.output
    assert "summary.json" in result.output and "Traceback" not in result.output
    (tmp_path / "r" / MARKER).write_bytes(DEEP.encode())
    result = CliRunner().invoke(app, ["report", str(tmp_path / "r")])
    assert result.exit_code == 2, result.output
    assert MARKER in result.output
