"""The track table (all tracker run state, structure of arrays) and the motion model record."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

from shieldwall.core.types import FloatArray, IntArray
from shieldwall.tracking.kernels import predict_kernel

FREE = 0
TENTATIVE = 1
CONFIRMED = 2

# The 17 column arrays in ``scan_kernels.COLUMNS`` order (``TrackTable._arrays``): a fixed-length
# tuple so that ``scan_front(*cols, ...)`` type-checks argument by argument.
Columns = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


@dataclass(frozen=True)
class MotionModel:
    """Nearly-constant-velocity motion with white-noise acceleration, plus gravity for tracks
    of ballistic class (``class_ballistic_score > 0``); see ``shieldwall.tracking.kernels``.

    Parameters
    ----------
    process_noise_m2_s3 : power spectral density q of the white acceleration noise, per ECEF
        axis, of air-breathing (and not yet classified) tracks, m^2/s^3. Velocity random walk of
        ``sqrt(q)`` m/s after 1 s.
    ballistic_process_noise_m2_s3 : the same for ballistic tracks (drag, thrust termination,
        re-entry manoeuvres are not modelled and live in this noise).
    gravity : predict ballistic tracks with point-mass gravity (False: constant velocity for
        every track).
    rotating_frame : add the Coriolis and centrifugal terms of the rotating ECEF frame to the
        ballistic prediction (use when the truth integrates in rotating ECEF).
    max_step_s : largest integration sub-step of the gravity prediction, s.
    """

    process_noise_m2_s3: float = 100.0
    ballistic_process_noise_m2_s3: float = 400.0
    gravity: bool = True
    rotating_frame: bool = False
    max_step_s: float = 2.0

    def predict(self, x: FloatArray, P: FloatArray, dt_s: FloatArray,
                ballistic_score: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Predict ``x (n, 6)``, ``P (n, 6, 6)`` by ``dt_s (n,)``; returns new arrays."""
        ballistic = np.asarray(ballistic_score, float) > 0.0
        q = np.where(ballistic, self.ballistic_process_noise_m2_s3, self.process_noise_m2_s3)
        return predict_kernel(x, P, dt_s, q, ballistic & self.gravity, self.max_step_s,
                              self.rotating_frame)


_BLANK: list[TrackTable] = []


def _blank() -> TrackTable:
    """A one-slot empty table (the reset values of a slot); built once."""
    if not _BLANK:
        _BLANK.append(TrackTable.empty(1))
    return _BLANK[0]


def _zeros(shape: tuple[int, ...], dtype: type = np.float64) -> np.ndarray:
    return np.zeros(shape, dtype=dtype)


class SlotQueries:
    """Slot queries shared by the track tables (``TrackTable``, ``imm.ImmTrackTable``): both
    have ``status`` and ``track_id`` columns and a ``capacity``."""

    status: np.ndarray
    track_id: IntArray

    @property
    def capacity(self) -> int:
        """Number of slots (free or not)."""
        return int(self.track_id.shape[0])

    def confirmed(self) -> IntArray:
        """Slots of confirmed tracks, ascending."""
        return np.flatnonzero(self.status == CONFIRMED).astype(np.int64)

    def tentative(self) -> IntArray:
        """Slots of tentative tracks, ascending."""
        return np.flatnonzero(self.status == TENTATIVE).astype(np.int64)

    def active(self) -> IntArray:
        """Slots of live (tentative and confirmed) tracks, ascending."""
        return np.flatnonzero(self.status != FREE).astype(np.int64)

    def slots_of(self, track_ids: IntArray) -> IntArray:
        """Slots of the given live track ids (-1 for ids not in the table)."""
        ids = np.asarray(track_ids, np.int64)
        order = np.argsort(self.track_id, kind="stable")
        sorted_ids = self.track_id[order]
        pos = np.clip(np.searchsorted(sorted_ids, ids), 0, self.capacity - 1)
        found = (sorted_ids[pos] == ids) & (ids >= 0)
        return np.where(found, order[pos], -1).astype(np.int64)


@dataclass
class TrackTable(SlotQueries):
    """All tracks, as preallocated columns of length ``capacity`` (structure of arrays).

    A slot is free when ``status == 0`` (then ``track_id == -1``). Track ids are stable and
    never reused (``next_id`` is the next one to hand out). When full, the capacity doubles.
    The table is plain numpy arrays and a frozen motion record: picklable, and ``copy()`` is
    a deep copy.

    Columns
    -------
    track_id (cap,) int64 : stable id, -1 when the slot is free.
    x (cap, 6) float64 : ECEF state [x, y, z, vx, vy, vz] (m, m/s), valid at ``state_time_s``.
    P (cap, 6, 6) float64 : its covariance.
    state_time_s (cap,) : time at which ``x`` and ``P`` hold (the last scan that predicted or
        updated the track).
    status (cap,) int8 : 0 free, 1 tentative, 2 confirmed.
    hits (cap,) int32 : number of detections that updated the track.
    misses (cap,) int32 : consecutive scans of a covering sensor without a detection.
    history (cap,) uint64 : hit (1) / miss (0) bits of the last 64 scan opportunities, most
        recent in bit 0.
    opportunities (cap,) int32 : scans of a covering sensor since creation (hits included).
    last_update_s, created_s (cap,) : times of the last detection update and of initiation.
    n_updates (cap,) int32 : EKF updates (equals ``hits``; kept for consumers).
    sensors_mask (cap,) uint64 : bit ``sensor_id % 64`` set for each sensor that updated it.
    last_detection_row (cap,) int64 : row, in the detections batch of the latest ``update``
        call, of the last detection that updated the track; -1 when not updated in that call.
    class_ballistic_score (cap,) : log-odds of "ballistic" vs "air-breathing".
    max_alt_m (cap,) : highest altitude estimate seen.
    max_speed_mps (cap,) : highest well-determined speed estimate seen.
    """

    track_id: IntArray
    x: FloatArray
    P: FloatArray
    state_time_s: FloatArray
    status: np.ndarray
    hits: np.ndarray
    misses: np.ndarray
    history: np.ndarray
    opportunities: np.ndarray
    last_update_s: FloatArray
    created_s: FloatArray
    n_updates: np.ndarray
    sensors_mask: np.ndarray
    last_detection_row: IntArray
    class_ballistic_score: FloatArray
    max_alt_m: FloatArray
    max_speed_mps: FloatArray
    next_id: int = 0
    motion: MotionModel = field(default_factory=MotionModel)

    @classmethod
    def empty(cls, capacity: int = 64, motion: MotionModel | None = None) -> TrackTable:
        """A table with ``capacity`` free slots."""
        cap = max(1, int(capacity))
        return cls(
            track_id=np.full(cap, -1, np.int64),
            x=_zeros((cap, 6)),
            P=np.broadcast_to(np.eye(6), (cap, 6, 6)).copy(),
            state_time_s=_zeros((cap,)),
            status=_zeros((cap,), np.int8),
            hits=_zeros((cap,), np.int32),
            misses=_zeros((cap,), np.int32),
            history=_zeros((cap,), np.uint64),
            opportunities=_zeros((cap,), np.int32),
            last_update_s=_zeros((cap,)),
            created_s=_zeros((cap,)),
            n_updates=_zeros((cap,), np.int32),
            sensors_mask=_zeros((cap,), np.uint64),
            last_detection_row=np.full(cap, -1, np.int64),
            class_ballistic_score=_zeros((cap,)),
            max_alt_m=np.full(cap, -np.inf),
            max_speed_mps=_zeros((cap,)),
            next_id=0,
            motion=motion if motion is not None else MotionModel(),
        )

    def _columns(self) -> list[str]:
        return [f.name for f in fields(self) if f.name not in ("next_id", "motion")]

    def _arrays(self) -> Columns:
        """The column arrays, in field order (``scan_kernels.COLUMNS``)."""
        return (self.track_id, self.x, self.P, self.state_time_s, self.status, self.hits,
                self.misses, self.history, self.opportunities, self.last_update_s,
                self.created_s, self.n_updates, self.sensors_mask, self.last_detection_row,
                self.class_ballistic_score, self.max_alt_m, self.max_speed_mps)

    def copy(self) -> TrackTable:
        """Deep copy (arrays copied, the frozen motion record shared)."""
        cols = {name: getattr(self, name).copy() for name in self._columns()}
        return TrackTable(**cols, next_id=self.next_id, motion=self.motion)

    def predict_state(self, slots: IntArray, time_s: float) -> tuple[FloatArray, FloatArray]:
        """Predicted ``x (k, 6)`` and ``P (k, 6, 6)`` of ``slots`` at ``time_s``.

        Uses the table's motion model (gravity for ballistic-class tracks). Does not modify
        the table.
        """
        s = np.asarray(slots, np.int64)
        dt = float(time_s) - self.state_time_s[s]
        return self.motion.predict(self.x[s], self.P[s], dt, self.class_ballistic_score[s])

    def allocate(self, count: int) -> IntArray:
        """Reserve ``count`` free slots (doubling the capacity as needed); returns the slots.

        The slots are reset to their empty values but their status stays 0: the caller fills
        them in and sets the status.
        """
        self.reserve(count)
        slots = np.flatnonzero(self.status == FREE)[:count].astype(np.int64)
        self._reset(slots)
        return slots

    def reserve(self, count: int) -> None:
        """Make room for ``count`` new tracks: double the capacity until enough slots are free
        (the lowest free slots are the ones ``allocate`` hands out)."""
        n_free = self.capacity - int(np.count_nonzero(self.status))
        if n_free < count:
            new_cap = self.capacity
            while new_cap - self.capacity + n_free < count:
                new_cap *= 2
            self._grow(new_cap)

    def free(self, slots: IntArray) -> None:
        """Release slots (status 0, id -1)."""
        s = np.asarray(slots, np.int64)
        self.status[s] = FREE
        self.track_id[s] = -1

    def _reset(self, slots: IntArray) -> None:
        blank = _blank()
        for name in self._columns():
            getattr(self, name)[slots] = getattr(blank, name)[0]

    def _grow(self, new_capacity: int) -> None:
        extra = TrackTable.empty(new_capacity - self.capacity)
        for name in self._columns():
            setattr(self, name, np.concatenate([getattr(self, name), getattr(extra, name)]))
