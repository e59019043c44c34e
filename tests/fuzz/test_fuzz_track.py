"""Fuzz: mutated detections CSV and SENSOR.yaml through ``shieldwall track``.

Invariant (tests/fuzz/fuzzkit.py): exit 2 with one paragraph naming the CSV or the SENSOR.yaml,
or exit 0 with the whole tracks CSV at -o (header, 8 finite numbers a row); exit 2 leaves
nothing at -o (the CSV is written atomically).
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from fuzzkit import Findings, fuzz_settings, invoke
from hypothesis import given
from hypothesis import strategies as st
from mutants import dump_yaml, mutated_document, mutated_yaml_bytes

from shieldwall.analysis.track_io import TRACK_COLUMNS

TRACK_BOUND_S = 20.0
# The first, valid case of each test also compiles the tracker's kernels when the numba cache
# is cold (a fresh checkout under load took over 20 s): it is the warm-up, with its own bound.
WARMUP_BOUND_S = 600.0
_counter = itertools.count()


def base_rows(with_rr: bool = True) -> list[list[str]]:
    """Two straight-flying targets seen for 12 scans of 1 s, plus a few false alarms: the
    columns of the docstring of ``read_detections_csv``."""
    rng = np.random.default_rng(12)
    rows = []
    for k in range(12):
        t = float(k)
        for p0, v in (((20e3, 30e3, 5e3), (-200.0, -50.0, 0.0)),
                      ((-15e3, 40e3, 8e3), (150.0, -220.0, -5.0))):
            p = np.add(p0, np.multiply(v, t))
            r = float(np.linalg.norm(p))
            rows.append([t, r, math.atan2(p[0], p[1]), math.asin(p[2] / r),
                         float(np.dot(p, v) / r)])
        for _ in range(rng.integers(0, 3)):
            rows.append([t, rng.uniform(1e3, 1.8e5), rng.uniform(-math.pi, math.pi),
                         rng.uniform(0, 0.5), rng.uniform(-500, 500)])
    return [[f"{v:.6f}" for v in (row if with_rr else row[:4])] for row in rows]


HEADER = ["time_s", "range_m", "azimuth_rad", "elevation_rad", "range_rate_mps"]
FIELD_VALUES = ["", " ", "nan", "NaN", "inf", "-inf", "Infinity", "1e308", "-1e308", "1e309",
                "-0.0", "0", "-5", "-1e-300", "abc", "1,5", " 12 ", "0x10", "1_000", "١٢",
                "9" * 400, "1e-320", "3.5e5", "1e12", "-1e12", '"7"', "'7'", "\t", "ﬁ"]
SENSOR_DOC = yaml.safe_load("""
sigma_range_m: 20.0
sigma_azimuth_rad: 0.002
sigma_elevation_rad: 0.002
sigma_range_rate_mps: 1.0
detection_probability: 0.9
clutter_per_scan: 20.0
max_range_m: 180000.0
scan_period_s: 1.0
min_range_m: 0.0
min_elevation_rad: 0.0
max_elevation_rad: 1.5707963
clutter_max_range_rate_mps: 500.0
tracker:
  association: gnn
  filter: ekf
  confirmation: score
  models: [cv, ct+, ct-]
  turn_accel_g: 3.0
  cv_q_m2_s3: 0.001
  maneuver_q_m2_s3: 30.0
  cv_sojourn_s: 60.0
  maneuver_sojourn_s: 5.0
  initial_velocity_std_mps: 300.0
""")


def _csv(header: list[str], rows: list[list[str]], sep: str = ",", eol: str = "\n") -> str:
    return eol.join(sep.join(r) for r in [header, *rows]) + eol


@st.composite
def mutated_csv(draw: st.DrawFn) -> bytes:
    """Field-, row-, column- and byte-level mutations of a valid detections CSV."""
    with_rr = draw(st.booleans())
    header = HEADER[:5 if with_rr else 4]
    rows = base_rows(with_rr)
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from([
            "field", "field", "field", "column_field", "drop_column", "dup_column",
            "extra_column", "rename_column", "reorder", "swap_rows", "dup_rows", "drop_rows",
            "short_row", "long_row", "header_only", "empty", "blank_lines", "many_rows",
            "same_time", "negative_range", "huge_gap", "whitespace_header", "quote"]))
        if op == "field" and any(rows):
            r = draw(st.sampled_from([i for i, row in enumerate(rows) if row]))
            c = draw(st.integers(0, len(rows[r]) - 1))
            rows[r][c] = draw(st.one_of(st.sampled_from(FIELD_VALUES),
                                        st.floats().map(repr), st.text(max_size=8)))
        elif op == "column_field" and rows:  # one bad value in every row of a column
            c = draw(st.integers(0, len(header) - 1))
            v = draw(st.sampled_from(FIELD_VALUES))
            for row in rows:
                if c < len(row):
                    row[c] = v
        elif op == "drop_column" and header:
            c = draw(st.integers(0, len(header) - 1))
            header = header[:c] + header[c + 1:]
            rows = [row[:c] + row[c + 1:] for row in rows]
        elif op == "dup_column" and header:
            c = draw(st.integers(0, len(header) - 1))
            header = [*header, header[c]]
            rows = [[*row, row[c]] if c < len(row) else row for row in rows]
        elif op == "extra_column":
            header = [*header, draw(st.sampled_from(["snr_db", "", "time_s ", "x"]))]
            rows = [[*row, "1.0"] for row in rows]
        elif op == "rename_column" and header:
            c = draw(st.integers(0, len(header) - 1))
            header[c] = draw(st.sampled_from([header[c].upper(), header[c] + "x", "",
                                              " " + header[c] + " "]))
        elif op == "reorder":
            perm = draw(st.permutations(range(len(header))))
            header = [header[i] for i in perm]
            rows = [[row[i] for i in perm if i < len(row)] for row in rows]
        elif op == "swap_rows" and len(rows) > 1:
            i, j = draw(st.integers(0, len(rows) - 1)), draw(st.integers(0, len(rows) - 1))
            rows[i], rows[j] = rows[j], rows[i]
        elif op == "dup_rows" and rows:
            rows = rows + rows
        elif op == "drop_rows":
            rows = rows[:draw(st.integers(0, len(rows)))]
        elif op == "short_row" and rows:
            rows[draw(st.integers(0, len(rows) - 1))] = rows[0][:2]
        elif op == "long_row" and rows:
            i = draw(st.integers(0, len(rows) - 1))
            rows[i] = [*rows[i], "1"]
        elif op == "header_only":
            rows = []
        elif op == "empty":
            return draw(st.sampled_from([b"", b"\n", b"\r\n", b"\xef\xbb\xbf", b",,,\n"]))
        elif op == "blank_lines":
            rows = [r for row in rows for r in (row, [""])]
        elif op == "many_rows" and rows:
            rows = (rows * draw(st.sampled_from([10, 100])))
            rows.sort(key=lambda row: float(row[0]) if row and _is_float(row[0]) else 0.0)
        elif op == "same_time":
            rows = [["0.0", *row[1:]] for row in rows]
        elif op == "negative_range" and rows:
            row = rows[draw(st.integers(0, len(rows) - 1))]
            if len(row) > 1:
                row[1] = draw(st.sampled_from(["-1.0", "0", "-0.0", "1e-300"]))
        elif op == "huge_gap" and rows:
            i = draw(st.integers(0, len(rows) - 1))
            big = draw(st.sampled_from(["1e6", "1e12", "1e300", "1.7e308"]))
            for row in rows[i:]:
                if row:
                    row[0] = big
        elif op == "whitespace_header":
            header = [f" {h}\t" for h in header]
        elif op == "quote" and rows and rows[0]:
            rows[0][0] = '"' + rows[0][0]
    sep = draw(st.sampled_from([",", ",", ",", ";", "\t"]))
    eol = draw(st.sampled_from(["\n", "\n", "\r\n", "\r"]))
    text = _csv(header, rows, sep, eol)
    enc = draw(st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-8-sig", "utf-16", "latin-1",
                                "bytes"]))
    if enc == "bytes":
        data = bytearray(text.encode())
        for _ in range(draw(st.integers(1, 6))):
            if data:
                data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        return bytes(data)
    if enc == "latin-1":
        return text.encode("latin-1", "replace") + "# é\n".encode("latin-1")
    return text.encode(enc, "surrogatepass")


def _is_float(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def _track_problems(code: int | None, out: Path) -> list[tuple[str, str]]:
    leftovers = [p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]
    if leftovers:
        return [("temporary files left next to -o", str(leftovers))]
    if code != 0:
        return [("tracks file written without exit 0", str(out))] if out.exists() else []
    if not out.is_file():
        return [("exit 0 without the tracks file", str(out))]
    lines = out.read_text(encoding="utf-8").splitlines()
    if not lines or lines[0] != ",".join(TRACK_COLUMNS):
        return [("tracks file without its header", repr(lines[:1]))]
    for k, line in enumerate(lines[1:], 2):
        parts = line.split(",")
        if len(parts) != len(TRACK_COLUMNS) or not all(_is_float(v) and math.isfinite(float(v))
                                                       for v in parts):
            return [("tracks file row is not 8 finite numbers", f"line {k}: {line[:200]}")]
    return []


def _run_track(findings: Findings, tmp: Path, csv_data: bytes, sensor_data: bytes | None,
               association: str, filter_: str, bound_s: float = TRACK_BOUND_S) -> None:
    case_dir = tmp / f"case-{next(_counter)}"
    case_dir.mkdir()
    det = case_dir / "detections.csv"
    det.write_bytes(csv_data)
    out = case_dir / "tracks.csv"
    args: list[Any] = ["track", det, "-o", out, "--association", association,
                       "--filter", filter_]
    files = [det]
    if sensor_data is not None:
        sensor = case_dir / "sensor.yaml"
        sensor.write_bytes(sensor_data)
        args += ["--sensor", sensor]
        files.append(sensor)
    outcome = invoke(args, bound_s)
    more = _track_problems(outcome.exit_code, out)
    reproducer = csv_data if sensor_data is None else sensor_data
    findings.check(outcome, files, reproducer, ".csv" if sensor_data is None else ".yaml", more,
                   association=association, filter=filter_)
    for p in case_dir.iterdir():
        p.unlink()
    case_dir.rmdir()


@pytest.mark.slow
def test_track_mutated_csv(tmp_path: Path) -> None:
    findings = Findings("track-csv")
    good = _csv(HEADER, base_rows()).encode()
    _run_track(findings, tmp_path, good, None, "gnn", "ekf", bound_s=WARMUP_BOUND_S)
    assert findings.outcomes == {"exit 0": 1} and not findings.items, findings.report()

    @fuzz_settings("track_csv")
    @given(data=mutated_csv(), association=st.sampled_from(["gnn", "jpda"]),
           filter_=st.sampled_from(["ekf", "ukf"]))
    def case(data: bytes, association: str, filter_: str) -> None:
        _run_track(findings, tmp_path, data, None, association, filter_)

    with findings.saved():
        case()
    findings.assert_none()


@pytest.mark.slow
def test_track_mutated_sensor(tmp_path: Path) -> None:
    findings = Findings("track-sensor")
    good_csv = _csv(HEADER, base_rows()).encode()
    _run_track(findings, tmp_path, good_csv, dump_yaml(SENSOR_DOC).encode(), "gnn", "ekf",
               bound_s=WARMUP_BOUND_S)
    assert findings.outcomes == {"exit 0": 1} and not findings.items, findings.report()
    sensor_text = dump_yaml(SENSOR_DOC)

    @fuzz_settings("track_sensor")
    @given(sensor=st.one_of(
        mutated_document(SENSOR_DOC).map(lambda d: dump_yaml(d).encode("utf-8")),
        mutated_yaml_bytes(sensor_text, top_key="tracker")),
        association=st.sampled_from(["gnn", "jpda"]), filter_=st.sampled_from(["ekf", "ukf"]))
    def case(sensor: bytes, association: str, filter_: str) -> None:
        _run_track(findings, tmp_path, good_csv, sensor, association, filter_)

    with findings.saved():
        case()
    findings.assert_none()
