"""The multi-target, multi-radar tracker: EKF + GNN + M-of-N track management.

One call ``Tracker.update(tracks, detections, sites, time_s)`` processes every scan in the
batch. A *scan* is the set of detections sharing one ``(time_s, sensor_id)``; scans are
processed in time order, then by sensor id (sequential-update fusion: a target seen by two
radars at the same time updates one track twice). For each scan:

1. **Predict** every live track to the scan time (``MotionModel``: constant velocity with
   white-noise acceleration, gravity for ballistic-class tracks).
2. **Gate**: for each track the predicted measurement ``zhat``, Jacobian ``H`` and
   ``S = H P H^T + R`` are computed once; pairs with ``d2 <= chi2.ppf(gate_probability, k)``
   (squared Mahalanobis distance; k = 3, or 4 with range rate) are feasible (as
   ``gate_pairs``: the range and elevation marginals prune first, then the exact distance is
   computed on the survivors).
3. **Associate** (global nearest neighbour): ``scipy.optimize.linear_sum_assignment`` on the
   cost ``d2 + ln det S`` (the negative log-likelihood up to a constant), feasible pairs only;
   when no track and no detection is in two feasible pairs, every pair is taken (the same
   answer, without the solver). Tentative tracks compete with confirmed ones, so a detection
   in the gate of a tentative track updates it instead of starting a duplicate.
4. **Update** the assigned tracks with the EKF in the Joseph form.
5. **Miss**: a live track that was not updated counts a miss when the scanning sensor covers
   its predicted position (range within ``max_range_m``, elevation within the sensor's limits,
   azimuth within its sector; or the ``coverage`` callable given to ``update``).
6. **Initiate** a tentative track from each detection that is in no track's gate (single-point
   initiation: measured position, zero velocity with standard deviation
   ``initial_velocity_std_mps``, range-rate-aided along the line of sight when available).
7. **Confirm / delete**: a tentative track is confirmed after ``confirm_hits`` (M) hits within
   its first ``confirm_window`` (N) scan opportunities (the initiating detection counts) and
   deleted as soon as it can no longer reach M; a confirmed track is deleted after
   ``delete_misses`` consecutive misses.

At the end of the call every live track is predicted (without storing) to ``time_s`` and
deleted if its position standard deviation ``sqrt(trace P_pos)`` exceeds
``max_position_std_m`` or it has not been updated for ``max_coast_s``.

Scans with no detection at all are known to the tracker only through ``scanned_sensor_ids``
(processed at ``time_s``); by default only sensors that produced a detection in the batch are
taken to have scanned.

The tracker never reads ``truth_index``: the ``UpdateLog`` gives, for each update, the row of
the detection used, so the caller can join truth for evaluation outside the tracker.

Implementation: the scan loop runs in compiled kernels (``scan_kernels``, numba) working in
place on the table's columns, one track at a time; they reproduce the batched numpy kernels of
``kernels`` (the reference, tested against them) to rounding. A track already at the scan time
(the second radar of a time step) is not re-predicted. Subclasses of ``MotionModel`` or
``KinematicClassifier`` are honoured: their ``predict`` / ``accumulate`` are called instead of
the compiled stock versions.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any, Protocol

import numpy as np

from shieldwall.core.errors import ShieldwallError
from shieldwall.core.types import BoolArray, FloatArray, IntArray
from shieldwall.geo import enu_rotation, geodetic2ecef
from shieldwall.tracking.classify import KinematicClassifier
from shieldwall.tracking.kernels import gnn_assign_pairs
from shieldwall.tracking.scan_kernels import (
    N_CLASSIFIER_PARAMS,
    classifier_params,
    delete_stale,
    frame_vector,
    scan_front,
    scan_tail,
)
from shieldwall.tracking.table import Columns, MotionModel, TrackTable

CoverageFn = Callable[[int, FloatArray], BoolArray]
_NO_SLOTS = np.zeros(0, np.int64)


class DetectionBatch(Protocol):
    """What the tracker reads from a batch of ``m`` detections (all arrays of length m).

    ``shieldwall.sensors.Detections`` satisfies it. Any ``truth_index`` attribute is ignored.
    ``range_rate_mps`` may be NaN (not measured). Read-only members: frozen batches fit.
    """

    @property
    def time_s(self) -> FloatArray: ...
    @property
    def sensor_id(self) -> IntArray: ...
    @property
    def range_m(self) -> FloatArray: ...
    @property
    def azimuth_rad(self) -> FloatArray: ...
    @property
    def elevation_rad(self) -> FloatArray: ...
    @property
    def range_rate_mps(self) -> FloatArray: ...


class SensorFrameLike(Protocol):
    """What the tracker needs from a sensor: its ENU frame (``enu = rotation @ (ecef -
    origin_ecef)``). The noise and coverage figures are read from the object, or else from its
    ``radar`` attribute (a ``catalog.types.Radar``, as on ``sensors.RadarSite``): required
    ``sigma_range_m, sigma_azimuth_rad, sigma_elevation_rad``; optional
    ``sigma_range_rate_mps`` (1.0), ``max_range_m`` (inf), ``min_elevation_rad`` (-pi/2),
    ``max_elevation_rad`` (pi/2), ``heading_rad`` (0) and ``sector_half_width_rad`` (None:
    all round)."""

    @property
    def origin_ecef(self) -> FloatArray: ...

    @property
    def rotation(self) -> FloatArray: ...


def detection_arrays(detections: DetectionBatch) -> tuple[FloatArray, IntArray, FloatArray]:
    """``(time_s (m,), sensor_id (m,), z (m, 4))`` of a batch, ``z`` = range, azimuth,
    elevation, range rate (NaN when not measured)."""
    t = np.asarray(detections.time_s, float).reshape(-1)
    z = np.empty((t.size, 4))
    z[:, 0] = np.asarray(detections.range_m, float).reshape(-1)
    z[:, 1] = np.asarray(detections.azimuth_rad, float).reshape(-1)
    z[:, 2] = np.asarray(detections.elevation_rad, float).reshape(-1)
    z[:, 3] = np.asarray(detections.range_rate_mps, float).reshape(-1)
    return t, np.asarray(detections.sensor_id, np.int64).reshape(-1), z


@dataclass(frozen=True)
class SensorFrame:
    """A minimal concrete sensor description for the tracker (see ``SensorFrameLike``).

    origin_ecef (3,) m; rotation (3, 3) ECEF->ENU; sigmas in m, rad, m/s; ``max_range_m`` and
    the elevation/sector limits define the coverage used to count misses.
    """

    origin_ecef: FloatArray
    rotation: FloatArray
    sigma_range_m: float = 20.0
    sigma_azimuth_rad: float = 0.002
    sigma_elevation_rad: float = 0.002
    sigma_range_rate_mps: float = 1.0
    detection_probability: float = 0.9
    max_range_m: float = np.inf
    min_elevation_rad: float = -np.pi / 2
    max_elevation_rad: float = np.pi / 2
    heading_rad: float = 0.0
    sector_half_width_rad: float | None = None

    @classmethod
    def at(cls, lat_deg: float, lon_deg: float, alt_m: float, **kwargs: Any) -> SensorFrame:
        """A sensor frame at a WGS84 position (ENU axes of the local tangent plane)."""
        return cls(origin_ecef=geodetic2ecef(lat_deg, lon_deg, alt_m).reshape(3),
                   rotation=enu_rotation(lat_deg, lon_deg), **kwargs)


@dataclass(frozen=True)
class _Frame:
    origin: FloatArray
    rotation: FloatArray
    sigma: FloatArray  # (3,) range, azimuth, elevation
    sigma_rr: float
    max_range_m: float
    min_el: float
    max_el: float
    heading: float
    half_width: float | None
    sig2: FloatArray  # (4,) measurement variances (range rate last)
    rr_finite: bool
    vec: FloatArray  # scan_kernels.FRAME layout


def _param(site: Any, name: str, default: Any) -> Any:
    if hasattr(site, name):
        return getattr(site, name)
    radar = getattr(site, "radar", None)
    if radar is not None and hasattr(radar, name):
        return getattr(radar, name)
    return default


def _resolve(site: Any) -> _Frame:
    missing = object()
    sig = [_param(site, n, missing) for n in
           ("sigma_range_m", "sigma_azimuth_rad", "sigma_elevation_rad")]
    if any(s is missing for s in sig):
        raise ShieldwallError("tracker sensor frame lacks sigma_range_m / sigma_azimuth_rad / "
                              "sigma_elevation_rad")
    rr = _param(site, "sigma_range_rate_mps", 1.0)
    sigma = np.asarray(sig, float)
    sigma_rr = float(rr) if rr is not None else np.nan
    half_width = _param(site, "sector_half_width_rad", None)
    origin = np.asarray(site.origin_ecef, float).reshape(3).copy()
    rotation = np.asarray(site.rotation, float).reshape(3, 3).copy()
    sig2 = np.append(sigma, sigma_rr) ** 2
    max_range = float(_param(site, "max_range_m", np.inf))
    min_el = float(_param(site, "min_elevation_rad", -np.pi / 2))
    max_el = float(_param(site, "max_elevation_rad", np.pi / 2))
    heading = float(_param(site, "heading_rad", 0.0))
    return _Frame(
        origin=origin,
        rotation=rotation,
        sigma=sigma,
        sigma_rr=sigma_rr,
        max_range_m=max_range,
        min_el=min_el,
        max_el=max_el,
        heading=heading,
        half_width=half_width,
        sig2=sig2,
        rr_finite=math.isfinite(sigma_rr),
        vec=frame_vector(origin, rotation, sig2, max_range, min_el, max_el, heading,
                         np.nan if half_width is None else float(half_width)),
    )


_FRAMES: dict[int, tuple[Any, _Frame]] = {}


def _immutable(obj: Any) -> bool:
    params = getattr(type(obj), "__dataclass_params__", None)
    if params is not None:
        return bool(params.frozen)
    config = getattr(type(obj), "model_config", None)  # pydantic records
    return isinstance(config, dict) and bool(config.get("frozen", False))


def _frame_of(site: Any) -> _Frame:
    """``_resolve(site)``, cached for immutable sites (frozen dataclasses such as
    ``SensorFrame`` and ``sensors.RadarSite``, with a frozen or no ``radar`` record): their
    figures cannot change, so they are read once per site object."""
    key = id(site)
    hit = _FRAMES.get(key)
    if hit is not None and hit[0] is site:
        return hit[1]
    frame = _resolve(site)
    radar = getattr(site, "radar", None)
    if _immutable(site) and (radar is None or _immutable(radar)):
        if len(_FRAMES) >= 256:
            _FRAMES.clear()
        _FRAMES[key] = (site, frame)
    return frame


@lru_cache(maxsize=64)
def _gate_threshold(probability: float, dof: int) -> float:
    # chi2.ppf(p, k) is 2 gammaincinv(k / 2, p) (scipy's chi2._ppf), without importing
    # scipy.stats (a second of start-up)
    from scipy.special import gammaincinv

    return float(2.0 * gammaincinv(dof / 2.0, probability))


@dataclass(frozen=True)
class UpdateLog:
    """What happened in one ``update`` call (evaluation and event logging).

    One row per detection used (updates and initiations): ``track_id``, ``slot``,
    ``detection_index`` (row in the detections batch passed in), ``sensor_id``, ``time_s``,
    ``nis`` (normalized innovation squared ``nu^T S^-1 nu``; NaN for initiations),
    ``initiated`` (True: the detection started the track). Then ``confirmed_track_id``
    (tracks confirmed in this call), ``deleted_track_id`` and ``deleted_was_confirmed``.
    """

    track_id: IntArray
    slot: IntArray
    detection_index: IntArray
    sensor_id: IntArray
    time_s: FloatArray
    nis: FloatArray
    initiated: BoolArray
    confirmed_track_id: IntArray
    deleted_track_id: IntArray
    deleted_was_confirmed: BoolArray


@dataclass(frozen=True)
class TrackerOutput:
    """The new track table and the log of the call."""

    tracks: TrackTable
    log: UpdateLog


@dataclass(frozen=True)
class Tracker:
    """Multi-target multi-radar tracker (EKF, GNN, M-of-N); see the module docstring.

    Parameters
    ----------
    motion : motion model (process noise, gravity for ballistic tracks).
    classifier : ballistic / air-breathing evidence parameters.
    gate_probability : probability mass of the chi-square validation gate.
    confirm_hits, confirm_window : M and N of the M-of-N confirmation.
    delete_misses : consecutive misses that delete a confirmed track.
    max_position_std_m : delete a track whose ``sqrt(trace P_pos)`` exceeds this, m.
    max_coast_s : delete a track not updated for this long, s.
    initial_velocity_std_mps : velocity standard deviation of a new track, per axis, m/s.
    use_range_rate : use measured range rates (when finite for the whole scan).
    initiate_from_gated : also start tracks from detections that fell in the gate of some
        track but were not assigned (default False: they are left alone, which avoids
        duplicate tracks around existing ones).
    """

    motion: MotionModel = field(default_factory=MotionModel)
    classifier: KinematicClassifier = field(default_factory=KinematicClassifier)
    gate_probability: float = 0.9999
    confirm_hits: int = 3
    confirm_window: int = 4
    delete_misses: int = 5
    max_position_std_m: float = 20_000.0
    max_coast_s: float = 60.0
    initial_velocity_std_mps: float = 1_000.0
    use_range_rate: bool = True
    initiate_from_gated: bool = False

    @cached_property
    def _scan_context(self) -> _ScanContext:
        """The scan loop's constants of this tracker, computed on first use and kept on the
        instance (a pure function of its frozen parameters; no module-level cache)."""
        return _ScanContext.of(self)

    def new_table(self, capacity: int = 64) -> TrackTable:
        """An empty track table using this tracker's motion model."""
        return TrackTable.empty(capacity, self.motion)

    def update(self, tracks: TrackTable, detections: DetectionBatch,
               sites: Mapping[int, SensorFrameLike], time_s: float,
               scanned_sensor_ids: Iterable[int] | None = None,
               coverage: CoverageFn | None = None, *, inplace: bool = False) -> TrackerOutput:
        """Process every scan in ``detections`` (and the empty scans of
        ``scanned_sensor_ids`` at ``time_s``); returns the new table and the log.

        Parameters
        ----------
        tracks : the current table (not modified, unless ``inplace``).
        detections : batch of m detections (``DetectionBatch``), any order.
        sites : sensor frames by sensor id (``SensorFrameLike``; ``sensors.RadarSite`` fits).
        time_s : the current time, s; end-of-call deletion checks use it.
        scanned_sensor_ids : sensors that scanned at ``time_s``, including those without a
            detection (None: the sensors present in ``detections``).
        coverage : optional ``coverage(sensor_id, pos_ecef (n, 3)) -> (n,) bool`` replacing the
            default range/elevation/sector rule for counting misses. It must be pointwise: it
            is called once per scan with the predicted positions of the live tracks that the
            scan did not update (and not at all when there are none).
        inplace : update ``tracks`` itself and return it as ``TrackerOutput.tracks`` (saves
            copying the table; same results). If the call raises, the table may be left
            partly updated.

        The arrays of the returned ``UpdateLog`` are fresh for each call.
        """
        table = tracks if inplace else tracks.copy()
        table.motion = self.motion
        table.last_detection_row.fill(-1)
        ctx = self._scan_context
        t_det, sid, z_all = detection_arrays(detections)
        m_all = t_det.size
        scans: list[tuple[float, int, int, int]] = []  # (time, sensor, start, stop) in order
        m_scan = 0
        if m_all:
            order = np.lexsort((sid, t_det)).astype(np.int64, copy=False)
            key_t, key_s = t_det[order], sid[order]
            cut = (np.flatnonzero((np.diff(key_t) != 0) | (np.diff(key_s) != 0)) + 1).tolist()
            starts, ends = [0, *cut], [*cut, m_all]
            scans = list(zip(key_t[starts].tolist(), key_s[starts].tolist(), starts, ends,
                             strict=True))
            m_scan = max(b - a for a, b in zip(starts, ends, strict=True))
            z_sorted = z_all[order]
        else:
            order = _NO_SLOTS
            z_sorted = z_all
        if scanned_sensor_ids is not None:
            seen = {(t, s) for t, s, _, _ in scans}
            empty = [(float(time_s), s, 0, 0) for s in sorted({int(v) for v in scanned_sensor_ids})
                     if (float(time_s), s) not in seen]
            if empty:
                scans.extend(empty)
                scans.sort(key=lambda item: (item[0], item[1]))
        buf = _Buffers(int(np.count_nonzero(table.status)) + m_all, m_all, m_scan)
        frames: dict[int, tuple[_Frame, np.uint64]] = {}
        cols = table._arrays()
        for t, s, a, b in scans:
            fb = frames.get(s)
            if fb is None:
                if s not in sites:
                    raise ShieldwallError(f"tracker: no sensor frame for sensor_id {s}")
                fb = frames[s] = (_frame_of(sites[s]), np.uint64(1 << (s % 64)))
            cols = self._process_scan(table, cols, z_sorted[a:b], order[a:b], fb[0], fb[1], s, t,
                                      coverage, buf, ctx)
        self._delete_stale(table, float(time_s), buf)
        return TrackerOutput(table, buf.build())

    # -- one scan ------------------------------------------------------------------------------

    def _process_scan(self, table: TrackTable, cols: Columns, z: FloatArray,
                      rows: IntArray, frame: _Frame, bit: np.uint64, sensor_id: int, t: float,
                      coverage: CoverageFn | None, buf: _Buffers, ctx: _ScanContext
                      ) -> Columns:
        if not ctx.fast_motion:
            active = np.flatnonzero(table.status)
            if active.size:
                x, P = table.predict_state(active, t)
                table.x[active], table.P[active], table.state_time_s[active] = x, P, t
        counts = buf.counts
        row0 = int(counts[0])
        default_cov = coverage is None
        rr_allowed = self.use_range_rate and frame.rr_finite
        args = (*cols, t, ctx.params, frame.vec, z, rows, rr_allowed, default_cov,
                ctx.fast_motion, ctx.fast_classifier, ctx.classifier_params, bit, sensor_id,
                buf.active, buf.covered, buf.det_state, buf.pair_idx, buf.pair_val, buf.idle,
                buf.log_i, buf.log_f, buf.log_b, counts)
        n, n_pairs, conflict, n_idle, with_rr = scan_front(*args, _NO_SLOTS, False)
        if conflict:
            chosen = gnn_assign_pairs(buf.pair_idx[0, :n_pairs], buf.pair_idx[1, :n_pairs],
                                      buf.pair_val[:n_pairs, 1])
            n_idle = scan_front(*args, chosen, True)[3]
        if not ctx.fast_classifier and counts[0] > row0:
            self.classifier.accumulate(table, buf.log_i[1, row0:counts[0]].copy())
        missed, n_missed = buf.idle, n_idle
        if coverage is not None and n_idle:
            idle = buf.idle[:n_idle]
            inside = np.asarray(coverage(sensor_id, table.x[idle, 0:3]), bool).reshape(-1)
            missed = idle[inside]
            n_missed = missed.size
        row1 = int(counts[0])
        while True:
            next_id = scan_tail(
                *cols, t, ctx.params, ctx.iparams, frame.vec, z, rows, buf.det_state,
                self.initiate_from_gated, with_rr, missed, n_missed, table.next_id,
                ctx.fast_classifier, ctx.classifier_params, bit, sensor_id, buf.log_i, buf.log_f,
                buf.log_b, buf.cd, buf.delc, counts)
            if next_id >= 0:
                break
            table.reserve(-next_id)
            cols = table._arrays()
        table.next_id = next_id
        if not ctx.fast_classifier and counts[0] > row1:
            # (confirmation and deletion do not read the class evidence)
            self.classifier.accumulate(table, buf.log_i[1, row1:counts[0]].copy())
        return cols

    def _delete_stale(self, table: TrackTable, time_s: float, buf: _Buffers) -> None:
        args = (table.track_id, table.P, table.state_time_s, table.status, table.last_update_s,
                time_s, self.max_position_std_m, self.max_coast_s)
        if delete_stale(*args, table.P, False, buf.cd, buf.delc, buf.counts):
            return
        # some live track is not at time_s: predict its covariance (without storing it)
        active = np.flatnonzero(table.status)
        behind = active[table.state_time_s[active] != time_s]
        P_at = table.P.copy()
        P_at[behind] = table.predict_state(behind, time_s)[1]
        delete_stale(*args, P_at, True, buf.cd, buf.delc, buf.counts)


class _Buffers:
    """Work and log buffers of one ``update`` call (layouts in ``scan_kernels``), sized for its
    worst case: ``n_max`` live tracks, ``m_all`` detections, ``m_scan`` in one scan."""

    def __init__(self, n_max: int, m_all: int, m_scan: int) -> None:
        self.active = np.empty(n_max, np.int64)
        self.covered = np.zeros(n_max, np.bool_)
        self.idle = np.empty(n_max, np.int64)
        self.det_state = np.zeros(max(m_scan, 1), np.int8)
        self.pair_idx = np.empty((2, n_max * m_scan), np.int64)
        self.pair_val = np.empty((n_max * m_scan, 6))
        self.log_i = np.empty((4, m_all), np.int64)
        self.log_f = np.empty((2, m_all))
        self.log_b = np.empty(m_all, np.bool_)
        self.cd = np.empty((2, n_max), np.int64)
        self.delc = np.empty(n_max, np.bool_)
        self.counts = np.zeros(3, np.int64)

    def build(self) -> UpdateLog:
        n, nc, nd = self.counts.tolist()
        log_i, log_f = self.log_i[:, :n], self.log_f[:, :n]
        return UpdateLog(track_id=log_i[0], slot=log_i[1], detection_index=log_i[2],
                         sensor_id=log_i[3], time_s=log_f[0], nis=log_f[1],
                         initiated=self.log_b[:n], confirmed_track_id=self.cd[0, :nc],
                         deleted_track_id=self.cd[1, :nd], deleted_was_confirmed=self.delc[:nd])


@dataclass(frozen=True)
class _ScanContext:
    """Per-tracker constants of the scan loop (``scan_kernels.PARAMS`` and ``iparams``). The
    compiled paths serve the stock motion model and classifier; subclasses of either go
    through their own ``predict`` / ``accumulate``."""

    fast_motion: bool
    fast_classifier: bool
    classifier_params: FloatArray
    params: FloatArray
    iparams: IntArray

    @staticmethod
    def of(tracker: Tracker) -> _ScanContext:
        fast_classifier = type(tracker.classifier) is KinematicClassifier
        mo = tracker.motion
        ctx = _ScanContext(
            fast_motion=type(mo) is MotionModel,
            fast_classifier=fast_classifier,
            classifier_params=classifier_params(tracker.classifier) if fast_classifier
            else np.zeros(N_CLASSIFIER_PARAMS),
            params=np.array([mo.process_noise_m2_s3, mo.ballistic_process_noise_m2_s3,
                             float(mo.gravity), mo.max_step_s, float(mo.rotating_frame),
                             _gate_threshold(tracker.gate_probability, 3),
                             _gate_threshold(tracker.gate_probability, 4),
                             tracker.initial_velocity_std_mps], float),
            iparams=np.array([tracker.confirm_hits, tracker.confirm_window,
                              tracker.delete_misses], np.int64))
        return ctx
