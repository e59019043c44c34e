"""``shieldwall track`` on docs/formats.md §7 files: a real scene end to end, and bad input."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from shieldwall.analysis.track_io import load_sensor_config, read_detections_csv
from shieldwall.cli import app
from shieldwall.tracking.standalone import SensorConfig, run_tracker

runner = CliRunner()


def write_scene(path: Path, seed: int = 0, n_targets: int = 8, scans: int = 40,
                with_rr: bool = True) -> np.ndarray:
    """Straight-flying targets seen by a radar at the ENU origin, Pd 0.9, 20 clutter/scan;
    returns truth rows (time, id, x, y, z)."""
    rng = np.random.default_rng(seed)
    p0 = np.c_[rng.uniform(-90e3, 90e3, (n_targets, 2)), rng.uniform(1e3, 9e3, n_targets)]
    v = np.c_[rng.normal(0, 180, (n_targets, 2)), np.zeros(n_targets)]
    rows, truth = [], []
    for k in range(scans):
        t = float(k)
        pos = p0 + v * t
        for i in range(n_targets):
            truth.append((t, i, *pos[i]))
        seen = rng.random(n_targets) < 0.9
        p, vv = pos[seen], v[seen]
        r = np.linalg.norm(p, axis=1)
        z = np.c_[r + rng.normal(0, 20, r.size),
                  np.arctan2(p[:, 0], p[:, 1]) + rng.normal(0, 0.002, r.size),
                  np.arctan2(p[:, 2], np.hypot(p[:, 0], p[:, 1])) + rng.normal(0, 0.002, r.size),
                  np.einsum("ij,ij->i", p, vv) / r + rng.normal(0, 1.0, r.size)]
        c = rng.poisson(20)
        clutter = np.c_[rng.uniform(5e3, 180e3, c), rng.uniform(-np.pi, np.pi, c),
                        rng.uniform(0, 1, c), rng.uniform(-400, 400, c)]
        for row in np.r_[z, clutter]:
            rows.append((t, *row))
    with path.open("w", newline="") as handle:
        w = csv.writer(handle)
        w.writerow(["time_s", "range_m", "azimuth_rad", "elevation_rad"]
                   + (["range_rate_mps"] if with_rr else []))
        for row in rows:
            w.writerow([f"{v:.6f}" for v in (row if with_rr else row[:4])])
    return np.array(truth)


@pytest.mark.parametrize("with_rr", [True, False])
def test_track_command_follows_every_target_with_few_false_tracks(tmp_path: Path,
                                                                  with_rr: bool) -> None:
    dets = tmp_path / "detections.csv"
    truth = write_scene(dets, with_rr=with_rr)
    sensor = tmp_path / "sensor.yaml"
    sensor.write_text("clutter_per_scan: 20.0\nmin_range_m: 5000\nmax_elevation_rad: 1.0\n"
                      "clutter_max_range_rate_mps: 400\n")
    out = tmp_path / "tracks.csv"
    result = runner.invoke(app, ["track", str(dets), "-o", str(out), "--sensor", str(sensor)])
    assert result.exit_code == 0, result.output
    assert "confirmed tracks" in result.stdout
    tracks = np.genfromtxt(out, delimiter=",", names=True)
    assert tracks.dtype.names == ("time_s", "track_id", "x_m", "y_m", "z_m", "vx_mps",
                                  "vy_mps", "vz_mps")
    late = 10.0
    held, false = 0, 0
    for t in np.unique(truth[:, 0])[int(late):]:
        tp = truth[truth[:, 0] == t, 2:5]
        kp = np.c_[tracks["x_m"], tracks["y_m"], tracks["z_m"]][tracks["time_s"] == t]
        d = np.linalg.norm(tp[:, None] - kp[None], axis=2)
        held += int(np.sum(d.min(axis=1) < 300)) if kp.size else 0
        false += int(np.sum(d.min(axis=0) > 1000))
    n = truth[truth[:, 0] >= late].shape[0]
    assert held / n > 0.97
    assert false / (n / 8) < 0.1  # fewer than 0.1 false tracks per scan


def test_sensor_defaults_and_the_python_api_agree_with_the_cli(tmp_path: Path) -> None:
    dets = tmp_path / "d.csv"
    write_scene(dets, scans=15)
    run_a = run_tracker(read_detections_csv(dets), load_sensor_config(None))
    run_b = run_tracker(read_detections_csv(dets), SensorConfig())
    np.testing.assert_array_equal(run_a.pos, run_b.pos)  # same seed-free input, same output
    assert run_a.scan_cpu_s.size == 15
    assert run_a.cov.shape == (run_a.time_s.size, 6, 6)


BAD_CSV = [
    ("time_s,range_m,azimuth_rad\n0,1000,0.1\n", "line 1", "elevation_rad"),
    ("time_s,range_m,azimuth_rad,elevation_rad\n0,1000,0.1,0.1\n1,1000,abc,0.1\n", "line 3",
     "expected a number"),
    ("time_s,range_m,azimuth_rad,elevation_rad\n2,1000,0.1,0.1\n1,1000,0.1,0.1\n", "line 3",
     "sorted by time"),
    ("time_s,range_m,azimuth_rad,elevation_rad\n0,1000,0.1\n", "line 2", "expected 4 values"),
    ("time_s,range_m,azimuth_rad,elevation_rad,bogus\n", "line 1", "unknown column"),
    ("time_s,range_m,azimuth_rad,elevation_rad\n0,-5,0.1,0.1\n", "line 2", "range must be"),
    ("time_s,range_m,azimuth_rad,elevation_rad\n0,nan,0.1,0.1\n", "line 2", "finite"),
    ("", "line 1", "empty file"),
]


@pytest.mark.parametrize(("text", "where", "what"), BAD_CSV)
def test_malformed_csv_exits_2_with_the_line(tmp_path: Path, text: str, where: str,
                                             what: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    out = tmp_path / "t.csv"
    result = runner.invoke(app, ["track", str(path), "-o", str(out)])
    assert result.exit_code == 2
    assert str(path) in result.stderr and where in result.stderr and what in result.stderr
    assert "Traceback" not in result.output
    assert not out.exists()


@pytest.mark.parametrize(("yaml_text", "field"), [
    ("sigma_range_m: -3\n", "sigma_range_m"),
    ("sigma_rang_m: 3\n", "sigma_rang_m"),
    ("tracker: {association: nearest}\n", "tracker.association"),
    ("detection_probability: [1\n", None),
])
def test_bad_sensor_yaml_exits_2(tmp_path: Path, yaml_text: str, field: str | None) -> None:
    dets = tmp_path / "d.csv"
    dets.write_text("time_s,range_m,azimuth_rad,elevation_rad\n0,1000,0.1,0.1\n")
    sensor = tmp_path / "s.yaml"
    sensor.write_text(yaml_text)
    result = runner.invoke(app, ["track", str(dets), "-o", str(tmp_path / "t.csv"),
                                 "--sensor", str(sensor)])
    assert result.exit_code == 2
    assert str(sensor) in result.stderr
    if field:
        assert f"field '{field}'" in result.stderr
    else:
        assert "malformed YAML" in result.stderr and "line" in result.stderr


def test_unknown_option_value_exits_2(tmp_path: Path) -> None:
    dets = tmp_path / "d.csv"
    dets.write_text("time_s,range_m,azimuth_rad,elevation_rad\n0,1000,0.1,0.1\n")
    result = runner.invoke(app, ["track", str(dets), "-o", str(tmp_path / "t.csv"),
                                 "--association", "nearest"])
    assert result.exit_code == 2
    assert "--association" in result.stderr
