"""The tracker alone on the plain files of docs/formats.md §7 (``shieldwall track``).

This module holds the settings, the tables and the runner, without file access; the files
are read and written by ``shieldwall.analysis.track_io``.

Detections CSV (one row per detection, false alarms included), header
``time_s,range_m,azimuth_rad,elevation_rad`` and optionally ``range_rate_mps``; rows sorted by
time. The sensor sits at the origin of an ENU frame (x east, y north, z up); azimuth clockwise
from north, elevation above the horizontal plane. SENSOR.yaml (every key optional)::

    sigma_range_m: 20.0
    sigma_azimuth_rad: 0.002
    sigma_elevation_rad: 0.002
    sigma_range_rate_mps: 1.0     # used when the CSV has range_rate_mps
    detection_probability: 0.9
    clutter_per_scan: 20.0        # mean false alarms per scan, uniform in the volume below
    max_range_m: 180000.0
    scan_period_s: 1.0
    # extensions (shieldwall): the clutter volume and the tracker's options
    min_range_m: 0.0
    min_elevation_rad: 0.0
    max_elevation_rad: 1.5707963
    clutter_max_range_rate_mps: 500.0
    tracker:                      # every key optional (TrackerOptions)
      association: gnn            # or jpda
      filter: ekf                 # or ukf
      confirmation: score         # LLR/SPRT, or m_of_n
      models: [cv, ct+, ct-]      # IMM modes among cv, ca, ct+, ct-, ballistic
      turn_accel_g: 3.0           # normal acceleration of the ct+/ct- modes
      cv_q_m2_s3: 0.001           # white-acceleration PSD of the cv mode
      maneuver_q_m2_s3: 30.0      # process noise PSD of the other modes
      cv_sojourn_s: 60.0          # mean time in the cv mode
      maneuver_sojourn_s: 5.0     # mean time in each other mode
      initial_velocity_std_mps: 300.0

Tracks CSV: one row per confirmed track per scan time:
``time_s,track_id,x_m,y_m,z_m,vx_mps,vy_mps,vz_mps``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Literal

import numpy as np
from pydantic import (
    AllowInfNan,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    field_validator,
    model_validator,
)

from shieldwall.core.types import FloatArray, IntArray
from shieldwall.tracking.imm import ImmTracker
from shieldwall.tracking.models import (
    STANDARD_GRAVITY_MPS2,
    Ballistic,
    ConstantAcceleration,
    ConstantVelocity,
    CoordinatedTurn,
    MotionModelLike,
)
from shieldwall.tracking.tracker import SensorFrame

ModelName = Literal["cv", "ca", "ct+", "ct-", "ballistic"]


#: A finite number (YAML ``.nan``/``.inf`` and booleans are refused; ints are accepted).
Real = Annotated[float, Strict(), AllowInfNan(False)]
#: A whole number (booleans and floats are refused).
Whole = Annotated[int, Strict()]


class TrackerOptions(BaseModel):
    """Tracker choices of SENSOR.yaml's ``tracker`` block.

    Every standard deviation and noise density is bounded on both sides so that its square
    and the covariances built from it stay finite and invertible in float64 (fuzz finding 6:
    ``initial_velocity_std_mps: 1e308`` overflowed in the track initiation); the bounds are
    far outside any physical value.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    association: Literal["gnn", "jpda"] = "gnn"
    filter: Literal["ekf", "ukf"] = "ekf"
    confirmation: Literal["score", "m_of_n"] = "score"
    models: tuple[ModelName, ...] = Field(default=("cv", "ct+", "ct-"), min_length=1)
    turn_accel_g: Real = Field(default=3.0, gt=0, le=100)
    # Defaults (benchmarks/RESULTS.md "Tracking vs Stone Soup"): a nearly noise-free CV mode
    # for straight flight, the turn/CA/ballistic modes carry the maneuvers. A 60 s CV sojourn
    # against 5 s in a maneuver mode keeps the turn modes' share (and the mixture spread they
    # add to the covariance) small on straight legs while a 3 g turn is still picked up
    # within a scan or two.
    cv_q_m2_s3: Real = Field(default=0.001, ge=1e-12, le=1e9)
    maneuver_q_m2_s3: Real = Field(default=30.0, ge=1e-12, le=1e9)
    cv_sojourn_s: Real = Field(default=60.0, ge=1e-3, le=1e9)
    maneuver_sojourn_s: Real = Field(default=5.0, ge=1e-3, le=1e9)
    initial_velocity_std_mps: Real = Field(default=300.0, ge=1e-3, le=1e5)
    false_confirm_probability: Real = Field(default=1e-4, gt=0, lt=1)
    gate_probability: Real = Field(default=0.9999, gt=0, lt=1)
    score_drop: Real = Field(default=7.0, gt=0, le=1e6)
    delete_misses: Whole = Field(default=4, ge=1, le=1000)

    @field_validator("models")
    @classmethod
    def _distinct_models(cls, models: tuple[ModelName, ...]) -> tuple[ModelName, ...]:
        # A repeated mode adds nothing (its parameters are shared) but costs r**2 mixing work
        # and memory: a list of thousands would exhaust memory instead of being refused.
        repeated = sorted({m for m in models if models.count(m) > 1})
        if repeated:
            raise ValueError(f"{', '.join(repeated)} listed more than once; expected each of "
                             "cv, ca, ct+, ct-, ballistic at most once")
        return models


#: Pairs of SENSOR.yaml settings where the first must be below the second.
ORDERED_LIMITS = (("min_range_m", "max_range_m"), ("min_elevation_rad", "max_elevation_rad"))


class SensorConfig(BaseModel):
    """SENSOR.yaml of docs/formats.md §7 (module docstring), every key optional.

    Besides each field's own range, ``min_range_m < max_range_m`` and ``min_elevation_rad <
    max_elevation_rad`` (inverted limits would leave no coverage: no track, no error).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    sigma_range_m: Real = Field(default=20.0, ge=1e-3, le=1e6)
    sigma_azimuth_rad: Real = Field(default=0.002, ge=1e-9, le=math.pi)
    sigma_elevation_rad: Real = Field(default=0.002, ge=1e-9, le=math.pi)
    sigma_range_rate_mps: Real = Field(default=1.0, ge=1e-6, le=1e5)
    detection_probability: Real = Field(default=0.9, gt=0, le=1)
    clutter_per_scan: Real = Field(default=20.0, ge=0, le=1e5)
    max_range_m: Real = Field(default=180_000.0, gt=0, le=1e9)
    # At most an hour: tracks coast for 8 scan periods, and a coast predicts across the gap.
    scan_period_s: Real = Field(default=1.0, gt=0, le=3600)
    min_range_m: Real = Field(default=0.0, ge=0, le=1e9)
    min_elevation_rad: Real = Field(default=0.0, ge=-math.pi / 2, le=math.pi / 2)
    max_elevation_rad: Real = Field(default=math.pi / 2, ge=-math.pi / 2, le=math.pi / 2)
    clutter_max_range_rate_mps: Real = Field(default=500.0, gt=0, le=1e5)
    tracker: TrackerOptions = Field(default_factory=TrackerOptions)

    @model_validator(mode="after")
    def _ordered(self) -> SensorConfig:
        problem = self.inverted_limits()
        if problem is not None:
            raise ValueError(problem[1])
        return self

    def inverted_limits(self) -> tuple[str, str] | None:
        """``(field, message)`` of the first pair of ``ORDERED_LIMITS`` not in order."""
        for low, high in ORDERED_LIMITS:
            if not getattr(self, low) < getattr(self, high):
                return low, (f"{low} ({getattr(self, low)}) must be below {high} "
                             f"({getattr(self, high)}); expected {low} < {high}")
        return None

    def clutter_density(self, with_range_rate: bool) -> float:
        """False alarms per unit measurement volume per scan (m rad rad [m/s])."""
        volume = ((self.max_range_m - self.min_range_m) * 2.0 * math.pi
                  * max(self.max_elevation_rad - self.min_elevation_rad, 1e-6))
        if with_range_rate:
            volume *= 2.0 * self.clutter_max_range_rate_mps
        return max(self.clutter_per_scan, 1e-3) / volume

    def frame(self) -> SensorFrame:
        """The tracker's sensor frame: origin 0, identity rotation (ENU is the frame)."""
        return SensorFrame(origin_ecef=np.zeros(3), rotation=np.eye(3),
                           sigma_range_m=self.sigma_range_m,
                           sigma_azimuth_rad=self.sigma_azimuth_rad,
                           sigma_elevation_rad=self.sigma_elevation_rad,
                           sigma_range_rate_mps=self.sigma_range_rate_mps,
                           detection_probability=self.detection_probability,
                           max_range_m=self.max_range_m,
                           min_elevation_rad=self.min_elevation_rad,
                           max_elevation_rad=self.max_elevation_rad)

    def make_tracker(self, with_range_rate: bool) -> ImmTracker:
        """The ``ImmTracker`` these settings describe."""
        o = self.tracker
        a = o.turn_accel_g * STANDARD_GRAVITY_MPS2
        table: dict[str, MotionModelLike] = {
            "cv": ConstantVelocity(q_m2_s3=o.cv_q_m2_s3),
            "ca": ConstantAcceleration(q_m2_s5=o.maneuver_q_m2_s3),
            "ct+": CoordinatedTurn(normal_accel_mps2=a, q_m2_s3=o.maneuver_q_m2_s3),
            "ct-": CoordinatedTurn(normal_accel_mps2=-a, q_m2_s3=o.maneuver_q_m2_s3),
            "ballistic": Ballistic(q_m2_s3=o.maneuver_q_m2_s3),
        }
        return ImmTracker(models=tuple(table[name] for name in o.models),
                          sojourn_s=tuple(o.cv_sojourn_s if name == "cv"
                                          else o.maneuver_sojourn_s for name in o.models),
                          frame="enu", filter=o.filter,
                          association=o.association, confirmation=o.confirmation,
                          detection_probability=self.detection_probability,
                          clutter_density=self.clutter_density(with_range_rate),
                          false_confirm_probability=o.false_confirm_probability,
                          gate_probability=o.gate_probability, score_drop=o.score_drop,
                          delete_misses=o.delete_misses,
                          initial_velocity_std_mps=o.initial_velocity_std_mps,
                          max_coast_s=8.0 * self.scan_period_s,
                          use_range_rate=with_range_rate)


@dataclass(frozen=True)
class DetectionTable:
    """Detections of a §6.3 CSV (``range_rate_mps`` NaN when the file has none)."""

    time_s: FloatArray
    range_m: FloatArray
    azimuth_rad: FloatArray
    elevation_rad: FloatArray
    range_rate_mps: FloatArray
    has_range_rate: bool

    def __len__(self) -> int:
        return int(self.time_s.size)

    @property
    def sensor_id(self) -> IntArray:
        """All detections come from sensor 0."""
        return np.zeros(self.time_s.size, np.int64)


@dataclass(frozen=True)
class TrackRun:
    """Confirmed tracks at every scan (ENU) and the CPU time of each scan."""

    time_s: FloatArray
    track_id: IntArray
    pos: FloatArray
    vel: FloatArray
    cov: FloatArray
    mode_probabilities: FloatArray
    scan_time_s: FloatArray
    scan_cpu_s: FloatArray


@dataclass(frozen=True)
class _Scan:
    time_s: FloatArray
    sensor_id: IntArray
    range_m: FloatArray
    azimuth_rad: FloatArray
    elevation_rad: FloatArray
    range_rate_mps: FloatArray


def run_tracker(dets: DetectionTable, sensor: SensorConfig | None = None,
                tracker: ImmTracker | None = None,
                progress: Callable[[int, int], None] | None = None) -> TrackRun:
    """Track a §6.3 detection table scan by scan (a scan: the rows of one time).

    ``progress(done, total)`` is called after each scan. Returns every confirmed track at
    every scan time.

    A gap between scans longer than the tracker's coasting limit (``max_coast_s``, 8 scan
    periods) ends every track before the next scan: all are past the coasting limit already
    (the tracker itself would only delete them after trying them against that scan), and
    predicting them across the gap costs work growing with its length (the ballistic mode
    sub-steps every 2 s: a 1e9 s gap would stall the run). Track ids keep counting up.
    """
    sensor = sensor or SensorConfig()
    trk = tracker or sensor.make_tracker(dets.has_range_rate)
    sites = {0: sensor.frame()}
    table = trk.new_table(256)
    t = dets.time_s
    cut = np.flatnonzero(np.diff(t) != 0) + 1
    starts = np.r_[0, cut] if t.size else np.zeros(0, np.int64)
    ends = np.r_[cut, t.size] if t.size else np.zeros(0, np.int64)
    out_t, out_id, out_x, out_P, out_mu = [], [], [], [], []
    cpu = np.zeros(starts.size)
    for s, (a, b) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
        if s and float(t[a] - t[starts[s - 1]]) > trk.max_coast_s and table.active().size:
            fresh = trk.new_table(256)
            fresh.next_id = table.next_id
            table = fresh
        scan = _Scan(t[a:b], np.zeros(b - a, np.int64), dets.range_m[a:b],
                     dets.azimuth_rad[a:b], dets.elevation_rad[a:b], dets.range_rate_mps[a:b])
        c0 = time.process_time()
        table = trk.update(table, scan, sites, float(t[a]), scanned_sensor_ids=[0],
                           inplace=True).tracks  # type: ignore[assignment]
        conf = table.confirmed()
        cpu[s] = time.process_time() - c0
        out_t.append(np.full(conf.size, t[a]))
        out_id.append(table.track_id[conf].copy())
        out_x.append(table.x[conf, :6].copy())
        out_P.append(table.P[conf, :6, :6].copy())
        out_mu.append(table.mu[conf].copy())
        if progress is not None:
            progress(s + 1, starts.size)
    r = trk.n_modes
    return TrackRun(
        time_s=np.concatenate(out_t) if out_t else np.zeros(0),
        track_id=np.concatenate(out_id) if out_id else np.zeros(0, np.int64),
        pos=np.concatenate(out_x)[:, 0:3] if out_x else np.zeros((0, 3)),
        vel=np.concatenate(out_x)[:, 3:6] if out_x else np.zeros((0, 3)),
        cov=np.concatenate(out_P) if out_P else np.zeros((0, 6, 6)),
        mode_probabilities=np.concatenate(out_mu) if out_mu else np.zeros((0, r)),
        scan_time_s=t[starts] if t.size else np.zeros(0), scan_cpu_s=cpu)
