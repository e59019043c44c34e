"""The smallest inputs of the fuzz campaigns' findings, kept as fixed cases (benchmarks/RESULTS.md
"Fuzz campaign"): each must now exit 2 with one paragraph naming the file, or exit 0."""

from __future__ import annotations

from pathlib import Path

import pytest
from fuzzkit import exit_problems, invoke

GOOD_CSV = (b"time_s,range_m,azimuth_rad,elevation_rad\n0,20000,0.5,0.1\n1,19800,0.5,0.1\n"
            b"2,19600,0.5,0.1\n")

SCENARIO_CASES = {
    # PyYAML's reader rejects control characters before parsing (ReaderError escaped)
    "nul-byte": b"name: x\n\x00",
    "control-character": b"name: x\x01\n",
    "escape-sequence": b"name: x\n\x1b[31m\n",
}
SENSOR_CASES = {
    "latin-1": "sigma_range_m: 20.0  # café\n".encode("latin-1"),
    "deep-nesting": b"tracker: " + b"[" * 20000 + b"]" * 20000 + b"\n",
    "alias-bomb": b"tracker: [&a0 [x, x, x, x, x, x, x, x, x], &a1 [*a0, *a0, *a0, *a0, *a0, "
                  b"*a0, *a0, *a0, *a0], &a2 [*a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1], "
                  b"&a3 [*a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2], &a4 [*a3, *a3, *a3, "
                  b"*a3, *a3, *a3, *a3, *a3, *a3], &a5 [*a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4, "
                  b"*a4], &a6 [*a5, *a5, *a5, *a5, *a5, *a5, *a5, *a5, *a5]]\n",
    "nul-byte": b"sigma_range_m: 20.0\n\x00\n",
    # finding 6: a 1e308 velocity prior overflowed squaring it in the track initiation
    # (OverflowError escaped, exit 1); huge or tiny sigmas made infinite or zero covariances
    "huge-initial-velocity-std": b"tracker:\n  initial_velocity_std_mps: 1.0e+308\n",
    "huge-sigma-range": b"sigma_range_m: 1.0e+200\n",
    "tiny-sigma-range": b"sigma_range_m: 1.0e-300\n",
    "huge-process-noise": b"tracker:\n  maneuver_q_m2_s3: 1.0e+300\n",
}


CSV_CASES = {
    # two identical detections at a micrometre range: a singular innovation covariance in the
    # IMM's duplicate-track merge (numpy LinAlgError escaped; 1e-3 m and more are fine)
    "micro-range-duplicates": b"time_s,range_m,azimuth_rad,elevation_rad\n0,1e-6,0.3,0.2\n"
                              b"0,1e-6,0.3,0.2\n",
    # 10,000 identical detections in one scan: the duplicate merge listed all ~5e7 pairs of
    # the new tracks ((49,995,000, 3, 3) array: MemoryError under the harness's cap)
    # finding 8: a subnormal range (1e-320 m) made 1/r infinite: the UKF's Cholesky failed
    "subnormal-range": b"time_s,range_m,azimuth_rad,elevation_rad\n0,36400,0.58,0.13\n"
                       b"1,36250,0.58,0.13\n1,1e-320,-0.35,0.19\n2,36100,0.58,0.13\n",
    "identical-10000": b"time_s,range_m,azimuth_rad,elevation_rad\n"
                       + b"0,36400.5,0.588,0.1378\n" * 10_000,
}


@pytest.mark.parametrize("name", sorted(SCENARIO_CASES))
def test_scenario_finding(tmp_path: Path, name: str) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_bytes(SCENARIO_CASES[name])
    outcome = invoke(["validate", path], 10.0)
    assert outcome.exit_code == 2 and exit_problems(outcome, [path]) == [], outcome
    assert "\n" not in outcome.stderr.strip()


@pytest.mark.parametrize("name", sorted(SENSOR_CASES))
def test_sensor_finding(tmp_path: Path, name: str) -> None:
    det = tmp_path / "detections.csv"
    det.write_bytes(GOOD_CSV)
    sensor = tmp_path / "sensor.yaml"
    sensor.write_bytes(SENSOR_CASES[name])
    out = tmp_path / "tracks.csv"
    outcome = invoke(["track", det, "-o", out, "--sensor", sensor], 10.0)
    assert outcome.exit_code == 2 and exit_problems(outcome, [sensor]) == [], outcome
    assert not out.exists()


@pytest.mark.parametrize("name", sorted(CSV_CASES))
@pytest.mark.parametrize("filter_", ["ekf", "ukf"])
def test_detections_finding(tmp_path: Path, name: str, filter_: str) -> None:
    det = tmp_path / "detections.csv"
    det.write_bytes(CSV_CASES[name])
    out = tmp_path / "tracks.csv"
    outcome = invoke(["track", det, "-o", out, "--filter", filter_], 10.0)
    assert exit_problems(outcome, [det]) == [], outcome
    assert out.exists() == (outcome.exit_code == 0)
