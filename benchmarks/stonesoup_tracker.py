"""Stone Soup baseline tracker on a docs/formats.md §7 detections CSV (issue 3 benchmark).

The standard Stone Soup multi-target configuration of its tutorials, sized for this problem:

- motion: ``CombinedLinearGaussianTransitionModel`` of three ``ConstantVelocity`` models
  (nearly-constant-velocity, white-noise acceleration) with diffusion coefficient
  ``q`` (m^2/s^3; default 100, i.e. about 10 m/s^2 = 1 g of acceleration noise per second,
  a usual choice for aircraft that turn at up to a few g), state ``[x, vx, y, vy, z, vz]``;
- measurement: ``CartesianToElevationBearingRange`` (elevation, bearing, range) with
  noise from SENSOR.yaml. Range rate is **not** used (the standard model without it);
- ``ExtendedKalmanPredictor`` / ``ExtendedKalmanUpdater``;
- ``DistanceHypothesiser`` with the ``Mahalanobis`` measure, gate ``missed_distance``
  (default 3, as in the tutorials), ``GNNWith2DAssignment``;
- ``MultiMeasurementInitiator`` (confirm after ``min_points`` updates, default 3) whose
  ``SimpleMeasurementInitiator`` prior is position from the first measurement and velocity
  0 +- ``prior_speed_sigma_mps`` per axis, with its own ``UpdateTimeStepsDeleter(2)``;
- ``UpdateTimeStepsDeleter`` for confirmed tracks (delete after ``delete_after`` scans
  without an update, default 3);
- ``MultiTargetTracker``.

Conversions: Stone Soup's bearing is counter-clockwise from x (east), so
``bearing = pi/2 - azimuth``; its elevation ``arcsin(z / r)`` equals ours
``atan2(z, hypot(x, y))``. Clutter rows are plain ``Detection`` objects with the same
measurement model as target detections (the tracker must not know which is which).

Timing: detections are turned into Stone Soup objects before the run (reported as
``prepare_s``); the CPU time (``time.process_time``) of each ``next(tracker)`` call is the
per-scan cost; reading the CSV and extracting the output are not counted.

Usage::

    python benchmarks/stonesoup_tracker.py DETECTIONS.csv -o TRACKS.csv \
        [--sensor SENSOR.yaml] [--scans N]
"""

from __future__ import annotations

import argparse
import datetime
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from shieldwall.analysis.track_io import load_sensor_config, read_detections_csv

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

EPOCH = datetime.datetime(2026, 1, 1)
RUNNER_VERSION = 1  # bump when a change alters the tracks (cache key of bench_tracking.py)

@dataclass(frozen=True)
class StoneSoupConfig:
    """Tuning of the Stone Soup baseline (see the module docstring)."""

    q: float = 100.0
    missed_distance: float = 3.0
    min_points: int = 3
    delete_after: int = 3
    holding_delete_after: int = 2
    prior_speed_sigma_mps: float = 300.0


@dataclass
class TrackRun:
    """Confirmed tracks per scan (ENU, SI) and the per-scan CPU time.

    ``time_s``, ``track_id`` shape (n,); ``pos`` and ``vel`` (n, 3) m and m/s;
    ``cov`` (n, 6, 6) in the order (x, y, z, vx, vy, vz); ``scan_time_s`` and
    ``scan_cpu_s`` shape (n_scans,).
    """

    time_s: FloatArray
    track_id: IntArray
    pos: FloatArray
    vel: FloatArray
    cov: FloatArray
    scan_time_s: FloatArray
    scan_cpu_s: FloatArray
    prepare_s: float


def read_detections(path: Path) -> dict[str, FloatArray]:
    """Read a §6.3 detections CSV into columns with shieldwall's checked reader (the same
    file both trackers see; range rate ignored by this baseline)."""
    d = read_detections_csv(path)
    return {"time_s": d.time_s, "range_m": d.range_m, "azimuth_rad": d.azimuth_rad,
            "elevation_rad": d.elevation_rad}


def load_sensor(path: Path | None) -> dict[str, float]:
    """SENSOR.yaml with the §6.3 defaults for missing keys (shieldwall's reader)."""
    cfg = load_sensor_config(path).model_dump()
    return {k: float(v) for k, v in cfg.items() if isinstance(v, int | float)}


def _build(
    sensor: dict[str, float], cfg: StoneSoupConfig, scans: list[tuple[datetime.datetime, set]]
) -> tuple[Any, Any]:
    """Assemble the Stone Soup components; returns (tracker, measurement model)."""
    from stonesoup.base import Property
    from stonesoup.buffered_generator import BufferedGenerator
    from stonesoup.dataassociator.neighbour import GNNWith2DAssignment
    from stonesoup.deleter.time import UpdateTimeStepsDeleter
    from stonesoup.hypothesiser.distance import DistanceHypothesiser
    from stonesoup.initiator.simple import MultiMeasurementInitiator
    from stonesoup.measures import Mahalanobis
    from stonesoup.models.measurement.nonlinear import CartesianToElevationBearingRange
    from stonesoup.models.transition.linear import (
        CombinedLinearGaussianTransitionModel,
        ConstantVelocity,
    )
    from stonesoup.predictor.kalman import ExtendedKalmanPredictor
    from stonesoup.reader.base import DetectionReader
    from stonesoup.tracker.simple import MultiTargetTracker
    from stonesoup.types.state import GaussianState
    from stonesoup.updater.kalman import ExtendedKalmanUpdater

    class PreparedDetections(DetectionReader):
        """Yields pre-built (time, detections) scans: no I/O inside the timed loop."""

        scans: list = Property(doc="(datetime, set of Detection) per scan")

        @BufferedGenerator.generator_method
        def detections_gen(self) -> Iterator[tuple[datetime.datetime, set]]:
            yield from self.scans

    transition = CombinedLinearGaussianTransitionModel(
        [ConstantVelocity(cfg.q), ConstantVelocity(cfg.q), ConstantVelocity(cfg.q)]
    )
    measurement = CartesianToElevationBearingRange(
        ndim_state=6,
        mapping=(0, 2, 4),
        noise_covar=np.diag(
            [
                sensor["sigma_elevation_rad"] ** 2,
                sensor["sigma_azimuth_rad"] ** 2,
                sensor["sigma_range_m"] ** 2,
            ]
        ),
    )
    predictor = ExtendedKalmanPredictor(transition)
    updater = ExtendedKalmanUpdater(measurement)
    hypothesiser = DistanceHypothesiser(
        predictor, updater, measure=Mahalanobis(), missed_distance=cfg.missed_distance
    )
    associator = GNNWith2DAssignment(hypothesiser)
    sv2 = cfg.prior_speed_sigma_mps**2
    initiator = MultiMeasurementInitiator(
        prior_state=GaussianState(np.zeros((6, 1)), np.diag([0.0, sv2, 0.0, sv2, 0.0, sv2])),
        measurement_model=measurement,
        deleter=UpdateTimeStepsDeleter(cfg.holding_delete_after),
        data_associator=GNNWith2DAssignment(
            DistanceHypothesiser(
                predictor, updater, measure=Mahalanobis(), missed_distance=cfg.missed_distance
            )
        ),
        updater=updater,
        min_points=cfg.min_points,
    )
    tracker = MultiTargetTracker(
        initiator=initiator,
        deleter=UpdateTimeStepsDeleter(cfg.delete_after),
        detector=PreparedDetections(scans),
        data_associator=associator,
        updater=updater,
    )
    return tracker, measurement


def run_stonesoup(
    det: dict[str, FloatArray],
    sensor: dict[str, float],
    cfg: StoneSoupConfig | None = None,
    max_scans: int | None = None,
    cpu_budget_s: float | None = None,
    progress_every: int = 0,
) -> TrackRun:
    """Run the Stone Soup baseline on detection columns; see :class:`TrackRun`.

    Runs the first ``max_scans`` scans (all if None), stopping early once the tracker's
    cumulative CPU time exceeds ``cpu_budget_s``: the returned run then covers a prefix,
    ``scan_time_s`` says which. ``progress_every`` > 0 prints a line every that many scans.
    """
    from stonesoup.types.angle import Bearing, Elevation
    from stonesoup.types.array import StateVector
    from stonesoup.types.detection import Detection

    cfg = cfg or StoneSoupConfig()
    t_prep = time.process_time()
    all_scan_times = np.unique(det["time_s"])
    scan_times = all_scan_times if max_scans is None else all_scan_times[:max_scans]
    order = np.argsort(det["time_s"], kind="stable")
    times = det["time_s"][order]
    # detections of scan k are rows bounds[k]:bounds[k + 1] (next scan's start, not the end)
    bounds = np.searchsorted(times, np.r_[all_scan_times, np.inf])
    bearing = np.pi / 2.0 - det["azimuth_rad"][order]
    elevation = det["elevation_rad"][order]
    rng_m = det["range_m"][order]
    scans: list[tuple[datetime.datetime, set]] = []
    stamps = [EPOCH + datetime.timedelta(seconds=float(t)) for t in scan_times]
    tracker, measurement = _build(sensor, cfg, scans)
    for k, stamp in enumerate(stamps):
        dets = set()
        for i in range(bounds[k], bounds[k + 1]):
            sv = StateVector([Elevation(elevation[i]), Bearing(bearing[i]), rng_m[i]])
            dets.add(Detection(sv, timestamp=stamp, measurement_model=measurement))
        scans.append((stamp, dets))
    prepare_s = time.process_time() - t_prep

    ids: dict[str, int] = {}
    rows_t: list[float] = []
    rows_id: list[int] = []
    rows_x: list[FloatArray] = []
    rows_p: list[FloatArray] = []
    cpu = np.zeros(scan_times.size)
    perm = [0, 2, 4, 1, 3, 5]  # Stone Soup [x, vx, y, vy, z, vz] -> ENU [x, y, z, vx, vy, vz]
    iterator = iter(tracker)
    for k, t_scan in enumerate(scan_times):
        c0 = time.process_time()
        _, tracks = next(iterator)
        cpu[k] = time.process_time() - c0
        if progress_every and (k + 1) % progress_every == 0:
            print(
                f"    Stone Soup scan {k + 1}: {cpu[k]:.2f} s CPU, {len(tracks)} tracks", flush=True
            )
        for track in tracks:
            state = track.state
            ident = ids.setdefault(track.id, len(ids))
            rows_t.append(float(t_scan))
            rows_id.append(ident)
            rows_x.append(np.asarray(state.state_vector, dtype=np.float64).ravel()[perm])
            rows_p.append(np.asarray(state.covar, dtype=np.float64)[np.ix_(perm, perm)])
        if cpu_budget_s is not None and cpu[: k + 1].sum() > cpu_budget_s:
            scan_times, cpu = scan_times[: k + 1], cpu[: k + 1]
            break
    x = np.array(rows_x).reshape(-1, 6)
    return TrackRun(
        time_s=np.array(rows_t),
        track_id=np.array(rows_id, dtype=np.int64),
        pos=x[:, :3],
        vel=x[:, 3:],
        cov=np.array(rows_p).reshape(-1, 6, 6),
        scan_time_s=scan_times,
        scan_cpu_s=cpu,
        prepare_s=prepare_s,
    )


def write_tracks(run: TrackRun, path: Path) -> None:
    """Write the §6.3 tracks CSV (confirmed tracks each scan, with velocities)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savetxt(
        path,
        np.column_stack([run.time_s, run.track_id, run.pos, run.vel]),
        fmt=["%.3f", "%d", "%.3f", "%.3f", "%.3f", "%.4f", "%.4f", "%.4f"],
        delimiter=",",
        header="time_s,track_id,x_m,y_m,z_m,vx_mps,vy_mps,vz_mps",
        comments="",
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Stone Soup baseline tracker (issue 3)")
    ap.add_argument("detections", type=Path)
    ap.add_argument("-o", "--output", type=Path, required=True)
    ap.add_argument("--sensor", type=Path, default=None)
    ap.add_argument("--scans", type=int, default=None, help="only the first N scans")
    ap.add_argument("--q", type=float, default=StoneSoupConfig.q)
    ap.add_argument("--cpu-budget", type=float, default=None, help="stop after this CPU time")
    args = ap.parse_args(argv)
    run = run_stonesoup(
        read_detections(args.detections),
        load_sensor(args.sensor),
        StoneSoupConfig(q=args.q),
        max_scans=args.scans,
        cpu_budget_s=args.cpu_budget,
        progress_every=10,
    )
    write_tracks(run, args.output)
    print(
        f"{run.scan_cpu_s.size} scans, CPU {1e3 * run.scan_cpu_s.mean():.1f} ms/scan "
        f"(prepare {run.prepare_s:.1f} s), {np.unique(run.track_id).size} confirmed tracks"
    )


if __name__ == "__main__":
    main()
