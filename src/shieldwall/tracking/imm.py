"""The IMM multi-target tracker: IMM (CV / coordinated turn / ballistic / CA) with EKF or UKF
updates, chi-square gating, GNN or JPDA association per cluster, score-based (LLR) or M-of-N
track management, over several radars.

One call ``ImmTracker.update(tracks, detections, sites, time_s)`` processes every scan in the
batch, in time order then sensor id (sequential-update fusion: a target seen by two radars is
one track updated twice). For each scan, on all live tracks at once (structure of arrays):

1. **IMM mixing and prediction** (Blom & Bar-Shalom 1988; Bar-Shalom, Li & Kirubarajan 2001
   §11.6.6): with the Markov matrix ``Pi(dt)`` (``pi_ii = exp(-dt / sojourn_i)``, the rest
   spread evenly) ``cbar_j = sum_i pi_ij mu_i``, ``mu_{i|j} = pi_ij mu_i / cbar_j``, mixed
   initial conditions ``x0_j = sum_i mu_{i|j} x_i``, ``P0_j = sum_i mu_{i|j} (P_i + dx dx^T)``;
   each mode predicts with its own model (``tracking.models``); the predicted mode
   probabilities are ``cbar``.
2. **Measurement prediction**: per mode ``zhat_j``, ``S_j`` (EKF: Jacobian; UKF: unscented
   transform with ``alpha=1, beta=2, kappa=3-D`` weights); the gate uses the moment-matched
   mixture ``zhat = sum mu_j zhat_j``, ``S = sum mu_j (S_j + dz dz^T)``.
3. **Gating**: pairs with ``nu^T S^-1 nu <= chi2.ppf(gate_probability, k)``; candidates are
   found by a sorted-range search (only detections within the range gate of a track are
   examined), so the cost grows with the number of feasible pairs, not tracks x detections.
4. **Association**, cluster by cluster (connected components of the gating graph; a pair of
   one track and one detection with no other pair is its own cluster and is handled without
   a solver):
   - ``gnn``: ``scipy.optimize.linear_sum_assignment`` on the negative log-likelihood-ratio
     cost ``d2/2 + ln sqrt(det 2 pi S) + ln(lambda) - ln(Pd)`` with the option of leaving a
     track or detection unassigned (cost 0), i.e. the most likely joint assignment;
   - ``jpda``: exact joint probabilistic data association over the cluster's feasible joint
     events (Fortmann, Bar-Shalom & Scheffe 1983) when the cluster has at most
     ``jpda_max_events`` events, else GNN for that cluster (counted in ``stats``). Each mode
     then takes the PDA update with the combined innovation and the spread-of-innovations
     term (Bar-Shalom 2001 §6 / Bar-Shalom & Li 1995).
5. **Update**: every mode of an assigned track with the EKF in the Joseph form (or the UKF);
   the mode likelihoods update ``mu``; the output state is the moment-matched mixture.
6. **Misses**: a live track not updated counts a miss when the scanning sensor covers its
   predicted position (range, elevation and sector limits, or the ``coverage`` callable).
7. **Track score** (Blackman & Popoli 1999 §6.2; Sittler 1964): ``LLR += ln(Pd / lambda) -
   ln sqrt(det 2 pi S) - d2/2`` for a hit and ``ln(1 - Pd)`` for a miss, starting at
   ``ln(beta_NT / lambda)`` (``lambda``: clutter density in measurement space; ``beta_NT``:
   new-target density). With ``confirmation="score"`` a tentative track is confirmed when
   ``LLR >= ln((1 - beta) / alpha)`` (Wald's SPRT with false-confirmation probability alpha
   and missed-confirmation probability beta) and deleted when ``LLR <= ln(beta / (1 -
   alpha))``; a confirmed track is deleted when its score falls ``score_drop`` below its
   maximum. With ``confirmation="m_of_n"`` the M-of-N rule and ``delete_misses`` apply.
8. **Initiation** from each detection in no track's gate: position from the measurement,
   velocity zero with standard deviation ``initial_velocity_std_mps`` except along the line of
   sight when the range rate is measured (range-rate-aided single-point initiation; the
   second detection then fixes the velocity, as in two-point initiation).
9. **Deletion** at the end of the call of tracks whose position standard deviation
   ``sqrt(trace P_pos)`` at their last scan exceeds ``max_position_std_m`` (covariance
   growth) or not updated for ``max_coast_s``.

Frames: ``frame="ecef"`` (the engine: sensors anywhere on the WGS84 earth, gravity point-mass)
or ``frame="enu"`` (the §6.3 benchmark: one sensor at the origin of a flat ENU frame). The
tracker never reads ``truth_index``; ``UpdateLog`` rows let the caller join truth outside.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from functools import cached_property
from typing import Any, Literal, cast

import numpy as np

from shieldwall.core.errors import ShieldwallError
from shieldwall.core.types import BoolArray, FloatArray, IntArray
from shieldwall.geo import EARTH_GM_M3_S2, EARTH_OMEGA_RAD_S
from shieldwall.tracking.classify import KinematicClassifier
from shieldwall.tracking.imm_kernels import (
    MODEL_BALLISTIC,
    MODEL_CT,
    MODEL_CV,
    N_MODEL_PARAMS,
    close_pairs_chunk,
    combine,
    confirm_delete,
    ekf_measure,
    ekf_update_assigned,
    ekf_update_slots,
    gate,
    initiate_tracks,
    mix,
    mix_predict,
    mix_predict_slots,
    pair_clusters,
    pair_costs,
    record_hits,
)
from shieldwall.tracking.kernels import polar_to_state, radar_measurement, wrap_angle
from shieldwall.tracking.models import (
    DENSITY_SCALE_HEIGHT_M,
    SEA_LEVEL_DENSITY_KG_M3,
    STANDARD_GRAVITY_MPS2,
    Ballistic,
    ConstantVelocity,
    CoordinatedTurn,
    Frame,
    MotionModelLike,
)
from shieldwall.tracking.table import CONFIRMED, FREE, TENTATIVE, SlotQueries
from shieldwall.tracking.tracker import (
    CoverageFn,
    DetectionBatch,
    SensorFrameLike,
    TrackerOutput,
    UpdateLog,
    _frame_of,
    _gate_threshold,
    detection_arrays,
)

_LN_2PI = float(np.log(2.0 * np.pi))
_AZ = 1  # measurement component of the azimuth


# ------------------------------------------------------------------------------ the table


@dataclass
class ImmTrackTable(SlotQueries):
    """All IMM tracks as preallocated columns (structure of arrays); a slot is free when
    ``status == 0``. Track ids are stable and never reused.

    Columns (``cap`` slots, ``r`` modes, state dimension ``D``)
    -----------------------------------------------------------
    track_id (cap,) int64; status (cap,) int8 (0 free, 1 tentative, 2 confirmed)
    x (cap, D), P (cap, D, D) : the combined (moment-matched) estimate, at ``state_time_s``
    xm (cap, r, D), Pm (cap, r, D, D) : the mode-conditioned estimates; mu (cap, r) their
        probabilities
    state_time_s, last_update_s, created_s (cap,) : s
    hits, misses (consecutive), opportunities (cap,) int32; history (cap,) uint64 (bit 0 =
        last scan opportunity, 1 = hit)
    score, score_max (cap,) : track log-likelihood ratio and its running maximum
    sensors_mask (cap,) uint64 : bit ``sensor_id % 64`` for each sensor that updated it
    last_detection_row (cap,) int64 : row of the last detection of the latest ``update`` call
    class_ballistic_score, max_alt_m, max_speed_mps (cap,) : classification evidence
    """

    track_id: IntArray
    status: np.ndarray
    x: FloatArray
    P: FloatArray
    xm: FloatArray
    Pm: FloatArray
    mu: FloatArray
    state_time_s: FloatArray
    last_update_s: FloatArray
    created_s: FloatArray
    hits: np.ndarray
    misses: np.ndarray
    opportunities: np.ndarray
    history: np.ndarray
    score: FloatArray
    score_max: FloatArray
    sensors_mask: np.ndarray
    last_detection_row: IntArray
    class_ballistic_score: FloatArray
    max_alt_m: FloatArray
    max_speed_mps: FloatArray
    next_id: int = 0
    tracker: ImmTracker | None = None

    @classmethod
    def empty(cls, capacity: int, n_modes: int, dim: int,
              tracker: ImmTracker | None = None) -> ImmTrackTable:
        """A table with ``capacity`` free slots."""
        c = max(1, int(capacity))
        return cls(
            track_id=np.full(c, -1, np.int64), status=np.zeros(c, np.int8),
            x=np.zeros((c, dim)), P=np.broadcast_to(np.eye(dim), (c, dim, dim)).copy(),
            xm=np.zeros((c, n_modes, dim)),
            Pm=np.broadcast_to(np.eye(dim), (c, n_modes, dim, dim)).copy(),
            mu=np.full((c, n_modes), 1.0 / n_modes), state_time_s=np.zeros(c),
            last_update_s=np.zeros(c), created_s=np.zeros(c), hits=np.zeros(c, np.int32),
            misses=np.zeros(c, np.int32), opportunities=np.zeros(c, np.int32),
            history=np.zeros(c, np.uint64), score=np.zeros(c), score_max=np.zeros(c),
            sensors_mask=np.zeros(c, np.uint64), last_detection_row=np.full(c, -1, np.int64),
            class_ballistic_score=np.zeros(c), max_alt_m=np.full(c, -np.inf),
            max_speed_mps=np.zeros(c), next_id=0, tracker=tracker)

    def _columns(self) -> list[str]:
        return [f.name for f in fields(self) if f.name not in ("next_id", "tracker")]

    def copy(self) -> ImmTrackTable:
        """Deep copy of the arrays (the tracker record shared)."""
        cols = {name: getattr(self, name).copy() for name in self._columns()}
        return ImmTrackTable(**cols, next_id=self.next_id, tracker=self.tracker)

    def reserve(self, extra: int) -> None:
        """Grow so that at least ``extra`` more slots are free."""
        free = int(np.count_nonzero(self.status == FREE))
        if free >= extra:
            return
        new_cap = max(2 * self.capacity, self.capacity + extra - free)
        blank = ImmTrackTable.empty(new_cap - self.capacity, self.mu.shape[1], self.x.shape[1])
        for name in self._columns():
            setattr(self, name, np.concatenate([getattr(self, name), getattr(blank, name)]))

    def predict_state(self, slots: IntArray, time_s: float) -> tuple[FloatArray, FloatArray]:
        """Combined IMM prediction of ``slots`` to ``time_s`` (not stored): ``x (k, 6)``,
        ``P (k, 6, 6)`` (position and velocity)."""
        slots = np.asarray(slots, np.int64)
        if slots.size == 0 or self.tracker is None:
            return self.x[slots, :6].copy(), self.P[slots, :6, :6].copy()
        dt = time_s - self.state_time_s[slots]
        x, P = self.tracker._mix_predict_combined(self.xm[slots], self.Pm[slots],
                                                  self.mu[slots], dt)[3:]
        return x[:, :6], P[:, :6, :6]


# ------------------------------------------------------------------------------ the tracker


def default_models(frame: Frame = "enu", rotating_frame: bool = False
                   ) -> tuple[MotionModelLike, ...]:
    """CV (low noise), coordinated turns at +-3 g, and (ECEF) a ballistic mode."""
    g = 9.80665
    models: list[MotionModelLike] = [
        ConstantVelocity(q_m2_s3=1.0),
        CoordinatedTurn(normal_accel_mps2=3.0 * g, q_m2_s3=100.0, frame=frame),
        CoordinatedTurn(normal_accel_mps2=-3.0 * g, q_m2_s3=100.0, frame=frame),
    ]
    if frame == "ecef":
        models.append(Ballistic(q_m2_s3=1e4, frame="ecef", rotating_frame=rotating_frame))
    return tuple(models)


@dataclass(frozen=True)
class ImmTracker:
    """Multi-target, multi-radar IMM tracker (module docstring).

    Parameters
    ----------
    models : the IMM's motion models (``tracking.models``); one model is a plain EKF/UKF.
    sojourn_s : mean time (s) spent in each mode (one value for all, or one per model).
    initial_mode_probabilities : mode probabilities of a new track (None: the first mode 0.8,
        the rest share 0.2).
    frame : "enu" (flat, one local frame) or "ecef".
    filter : "ekf" or "ukf" measurement update.
    association : "gnn" or "jpda".
    confirmation : "score" (sequential probability ratio test on the LLR) or "m_of_n".
    detection_probability : Pd used in the scores and JPDA.
    clutter_density : false alarms per unit measurement volume (per m rad rad per scan, or
        per m rad rad m/s with range rate); None: from each sensor's figures when known,
        else 1e-9.
    new_target_density : new-target density in the same units (None: 0.01 x clutter).
    false_confirm_probability, missed_confirm_probability : alpha and beta of the SPRT.
    score_drop : delete a confirmed track whose LLR drops this far below its maximum.
    confirm_hits, confirm_window, delete_misses : M, N and the miss limit of ``m_of_n``
        (``delete_misses`` also bounds coasting under ``score``).
    gate_probability : chi-square gate mass.
    max_position_std_m, max_coast_s : covariance-growth and coasting deletion limits.
    initial_velocity_std_mps : velocity standard deviation of a new track, m/s.
    use_range_rate : use measured range rates when the scan has them.
    jpda_max_events : largest cluster (in joint events) solved exactly by JPDA.
    merge_probability, merge_velocity_mps : duplicate-track test (``_merge_duplicates``).
    classifier : ballistic / air-breathing evidence (``KinematicClassifier``).
    alt0_m : altitude of the ENU origin (``frame="enu"``), m.
    """

    models: tuple[MotionModelLike, ...] = field(default_factory=default_models)
    sojourn_s: float | tuple[float, ...] = 10.0
    initial_mode_probabilities: tuple[float, ...] | None = None
    frame: Frame = "enu"
    filter: Literal["ekf", "ukf"] = "ekf"
    association: Literal["gnn", "jpda"] = "gnn"
    confirmation: Literal["score", "m_of_n"] = "score"
    detection_probability: float = 0.9
    clutter_density: float | None = None
    new_target_density: float | None = None
    false_confirm_probability: float = 1e-5
    missed_confirm_probability: float = 0.1
    score_drop: float = 12.0
    confirm_hits: int = 3
    confirm_window: int = 4
    delete_misses: int = 6
    gate_probability: float = 0.9999
    max_position_std_m: float = 20_000.0
    max_coast_s: float = 30.0
    initial_velocity_std_mps: float = 300.0
    use_range_rate: bool = True
    jpda_max_events: int = 2000
    merge_probability: float = 0.99
    merge_velocity_mps: float = 100.0
    classifier: KinematicClassifier = field(default_factory=KinematicClassifier)
    alt0_m: float = 0.0

    # -- construction ----------------------------------------------------------------------

    @property
    def dim(self) -> int:
        """State dimension: 9 when a constant-acceleration mode is present, else 6."""
        return max(int(m.dim) for m in self.models)

    @property
    def n_modes(self) -> int:
        """Number of IMM modes."""
        return len(self.models)

    def new_table(self, capacity: int = 64) -> ImmTrackTable:
        """An empty track table for this tracker."""
        return ImmTrackTable.empty(capacity, self.n_modes, self.dim, tracker=self)

    def _prior_mu(self) -> FloatArray:
        r = self.n_modes
        if self.initial_mode_probabilities is not None:
            mu = np.asarray(self.initial_mode_probabilities, float)
            if mu.shape != (r,) or np.any(mu < 0) or mu.sum() <= 0:
                raise ShieldwallError("initial_mode_probabilities must give one value >= 0 "
                                      "per model")
            return mu / mu.sum()
        if r == 1:
            return np.ones(1)
        mu = np.full(r, 0.2 / (r - 1))
        mu[0] = 0.8
        return mu

    def transition_matrix(self, dt_s: FloatArray) -> FloatArray:
        """Markov mode transition matrices ``(n, r, r)`` for steps ``dt_s (n,)``."""
        r = self.n_modes
        dt = np.abs(np.asarray(dt_s, float)).reshape(-1)
        if r == 1:
            return np.ones((dt.size, 1, 1))
        soj = np.broadcast_to(np.asarray(self.sojourn_s, float), (r,))
        stay = np.exp(-dt[:, None] / soj[None, :])  # (n, r)
        Pi = np.broadcast_to(((1.0 - stay) / (r - 1))[:, :, None], (dt.size, r, r)).copy()
        idx = np.arange(r)
        Pi[:, idx, idx] = stay
        return Pi

    @cached_property
    def _model_table(self) -> tuple[np.ndarray, FloatArray, FloatArray] | None:
        """The models as the figures ``imm_kernels.mix_predict`` reads (kind codes ``(r,)``,
        figures ``(r, N_MODEL_PARAMS)``, sojourn times ``(r,)``), or None when a model is not
        one of the compiled kinds (exact types: a subclass may predict differently)."""
        r = self.n_modes
        kinds = np.zeros(r, np.int64)
        fp = np.zeros((r, N_MODEL_PARAMS))
        for j, m in enumerate(self.models):
            if type(m) is ConstantVelocity:
                kinds[j] = MODEL_CV
                fp[j, :2] = (m.q_m2_s3, m.acceleration_std_mps2)
            elif type(m) is CoordinatedTurn:
                kinds[j] = MODEL_CT
                fp[j, :5] = (m.q_m2_s3, m.acceleration_std_mps2, m.normal_accel_mps2,
                             m.min_speed_mps, m.frame == "ecef")
            elif type(m) is Ballistic:
                beta = m.ballistic_coefficient_kg_m2
                kinds[j] = MODEL_BALLISTIC
                fp[j] = (m.q_m2_s3, m.acceleration_std_mps2, DENSITY_SCALE_HEIGHT_M,
                         SEA_LEVEL_DENSITY_KG_M3, m.frame == "ecef",
                         0.0 if not np.isfinite(beta) else 1.0 / (2.0 * beta),
                         bool(m.rotating_frame), m.alt0_m, m.max_step_s, EARTH_GM_M3_S2,
                         EARTH_OMEGA_RAD_S, STANDARD_GRAVITY_MPS2)
            else:
                return None
        soj = np.ascontiguousarray(np.broadcast_to(np.asarray(self.sojourn_s, float), (r,)))
        return kinds, fp, soj

    def _mix_predict_combined(self, xm: FloatArray, Pm: FloatArray, mu: FloatArray,
                              dt: FloatArray
                              ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray,
                                         FloatArray]:
        """``_mix_predict`` then ``_combine``: ``xm, Pm, cbar, x, P`` (one compiled call,
        ``imm_kernels.mix_predict``, when every model is of a compiled kind)."""
        table = self._model_table
        if table is None:
            xm, Pm, mu = self._mix_predict(xm, Pm, mu, dt)
            x, P = _combine(xm, Pm, mu)
            return xm, Pm, mu, x, P
        kinds, fp, soj = table
        dt = np.ascontiguousarray(dt, dtype=float)
        stay = np.exp(-np.abs(dt)[:, None] / soj[None, :])
        return mix_predict(np.ascontiguousarray(xm), np.ascontiguousarray(Pm),
                           np.ascontiguousarray(mu), dt, stay, kinds, fp)

    def _mix_predict(self, xm: FloatArray, Pm: FloatArray, mu: FloatArray, dt: FloatArray
                     ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """IMM mixing then per-mode prediction by ``dt (n,)``; returns ``xm, Pm, cbar``
        (the numpy reference of ``imm_kernels.mix_predict``)."""
        n, r, d = xm.shape
        Pi = self.transition_matrix(dt)
        cbar = np.einsum("nij,ni->nj", Pi, mu)
        cbar = np.maximum(cbar, 1e-300)
        w = Pi * mu[:, :, None] / cbar[:, None, :]  # w[n, i, j] = mu_{i|j}
        x0, P0 = mix(np.ascontiguousarray(xm), np.ascontiguousarray(Pm), w)
        out_x = np.empty_like(x0)
        out_P = np.empty_like(P0)
        for j, model in enumerate(self.models):
            out_x[:, j], out_P[:, j] = model.predict(x0[:, j], P0[:, j], dt)
        cbar = cbar / cbar.sum(axis=1, keepdims=True)
        return out_x, out_P, cbar

    # -- measurement prediction ------------------------------------------------------------

    def _measure(self, xm: FloatArray, Pm: FloatArray, frame: Any, with_rr: bool
                 ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray | None]:
        """Per-mode predicted measurement ``zhat (n, r, k)``, ``S (n, r, k, k)``, the
        cross-covariance or Jacobian term needed for the gain: returns (zhat, S, C, H) with
        ``C = P H^T`` (EKF) or ``Pxz`` (UKF) ``(n, r, D, k)`` and ``H`` (EKF only)."""
        n, r, d = xm.shape
        k = 4 if with_rr else 3
        R = np.diag(frame.sig2[:k])
        flat_x = xm.reshape(n * r, d)
        flat_P = Pm.reshape(n * r, d, d)
        if self.filter == "ukf":
            zhat, S, C = _unscented(flat_x, flat_P, frame, with_rr)
            S = S + R
            return (zhat.reshape(n, r, k), S.reshape(n, r, k, k), C.reshape(n, r, d, k), None)
        zhat, J = radar_measurement(flat_x[:, :6], frame.origin, frame.rotation, with_rr)
        H = np.zeros((n * r, k, d))
        H[:, :, :6] = J
        C = flat_P @ np.swapaxes(H, -1, -2)
        S = H @ C + R
        S = 0.5 * (S + np.swapaxes(S, -1, -2))
        return (zhat.reshape(n, r, k), S.reshape(n, r, k, k), C.reshape(n, r, d, k),
                H.reshape(n, r, k, d))

    # -- the public call -------------------------------------------------------------------

    def update(self, tracks: ImmTrackTable, detections: DetectionBatch,
               sites: Mapping[int, SensorFrameLike], time_s: float,
               scanned_sensor_ids: Iterable[int] | None = None,
               coverage: CoverageFn | None = None, *, inplace: bool = False) -> TrackerOutput:
        """Process every scan in ``detections`` (and the empty scans of
        ``scanned_sensor_ids`` at ``time_s``); same contract as ``Tracker.update``."""
        table = tracks if inplace else tracks.copy()
        table.tracker = self
        table.last_detection_row.fill(-1)
        t_det, sid, z_all = detection_arrays(detections)
        m_all = t_det.size
        scans: list[tuple[float, int, IntArray]] = []
        if m_all:
            order = np.lexsort((sid, t_det))
            kt, ks = t_det[order], sid[order]
            cut = (np.flatnonzero((np.diff(kt) != 0) | (np.diff(ks) != 0)) + 1).tolist()
            for a, b in zip([0, *cut], [*cut, m_all], strict=True):
                scans.append((float(kt[a]), int(ks[a]), order[a:b]))
        if scanned_sensor_ids is not None:
            seen = {(t, s) for t, s, _ in scans}
            for s in sorted({int(v) for v in scanned_sensor_ids}):
                if (float(time_s), s) not in seen:
                    scans.append((float(time_s), s, np.zeros(0, np.int64)))
            scans.sort(key=lambda item: (item[0], item[1]))
        log = _Log()
        for t, s, rows in scans:
            if s not in sites:
                raise ShieldwallError(f"tracker: no sensor frame for sensor_id {s}")
            self._scan(table, z_all[rows], rows, _frame_of(sites[s]), s, t, coverage, log)
        self._merge_duplicates(table, log)
        self._delete_stale(table, float(time_s), log)
        return TrackerOutput(table, log.build())  # type: ignore[arg-type]

    # -- one scan --------------------------------------------------------------------------

    def _clutter_density(self, frame: Any, with_rr: bool) -> float:
        if self.clutter_density is not None:
            return float(self.clutter_density)
        lam = getattr(frame, "clutter_density", None)
        return float(lam) if lam is not None else 1e-9

    def _scan(self, table: ImmTrackTable, z: FloatArray, rows: IntArray, frame: Any,
              sensor_id: int, t: float, coverage: CoverageFn | None, log: _Log) -> None:
        rr_ok = (self.use_range_rate and bool(frame.rr_finite) and z.shape[0] > 0
                 and bool(np.all(np.isfinite(z[:, 3]))))
        k = 4 if rr_ok else 3
        z = z[:, :k]
        lam = self._clutter_density(frame, rr_ok)
        pd = self.detection_probability
        active = table.active()
        if active.size == 0 and z.shape[0] == 0:
            return
        # 1. IMM mixing and prediction of every live track not already at t
        if active.size:
            behind = active[table.state_time_s[active] != t]
            if behind.size:
                dt = t - table.state_time_s[behind]
                model_table = self._model_table
                if model_table is not None:  # in place, one compiled call
                    kinds, fp, soj = model_table
                    stay = np.exp(-np.abs(dt)[:, None] / soj[None, :])
                    mix_predict_slots(behind, float(t), dt, stay, kinds, fp, table.xm,
                                      table.Pm, table.mu, table.x, table.P,
                                      table.state_time_s)
                else:
                    xm, Pm, mu, xc, Pc = self._mix_predict_combined(
                        table.xm[behind], table.Pm[behind], table.mu[behind], dt)
                    table.xm[behind], table.Pm[behind], table.mu[behind] = xm, Pm, mu
                    table.x[behind], table.P[behind] = xc, Pc
                    table.state_time_s[behind] = t
        n = active.size
        m = z.shape[0]
        pairs_t = np.zeros(0, np.int64)
        pairs_d = np.zeros(0, np.int64)
        updated = np.zeros(n, bool)
        gated_det = np.zeros(m, bool)
        if n and m:
            xm, Pm, mu = table.xm[active], table.Pm[active], table.mu[active]
            H_m: FloatArray | None  # the UKF has no Jacobian
            if self.filter == "ekf":
                zhat_m, S_m, C_m, H_m, zhat, S = ekf_measure(
                    np.ascontiguousarray(xm), np.ascontiguousarray(Pm),
                    np.ascontiguousarray(mu), frame.origin, frame.rotation,
                    np.ascontiguousarray(frame.sig2[:k]), k)
            else:
                zhat_m, S_m, C_m, H_m = self._measure(xm, Pm, frame, rr_ok)
                zhat, S = _mixture_measurement(zhat_m, S_m, mu)
            threshold = self._gate_thresholds[k - 3]
            S_inv = cast(FloatArray, np.linalg.inv(S))  # float64 in, float64 out
            pairs_t, pairs_d, d2 = gate(np.ascontiguousarray(z), zhat, S, S_inv, threshold)
            gated_det[pairs_d] = True
            if pairs_t.size:
                logdet = np.linalg.slogdet(S)[1]
                # negative log-likelihood ratio of "track i made detection j" vs clutter
                cost = pair_costs(d2, pairs_t, logdet, k * _LN_2PI, float(np.log(lam)),
                                  float(np.log(pd)))
                if self.association == "gnn":
                    # the chosen pairs, one per track, by track (the scoring pair is the
                    # assigned one)
                    chosen = self._gnn(pairs_t, pairs_d, cost, n, m)
                    ut, bd = pairs_t[chosen], pairs_d[chosen]
                    beta0 = np.ones(n)
                    beta0[ut] = 0.0
                    self._update_tracks(table, active, ut, ut, bd, np.ones(ut.size), beta0,
                                        z, xm, Pm, mu, zhat_m, S_m, C_m, H_m, frame, rr_ok)
                    updated[ut] = True
                    self._record_hits(table, active[ut], rows[bd], -cost[chosen], t,
                                      sensor_id, log, d2[chosen])
                else:
                    lik = np.exp(-cost)  # = Pd N(nu; S) / lambda
                    beta_t, beta_d, beta_w, beta0 = self._associate(pairs_t, pairs_d, cost,
                                                                    lik, n, log)
                    upd_tracks = np.unique(beta_t)
                    self._update_tracks(table, active, upd_tracks, beta_t, beta_d, beta_w,
                                        beta0, z, xm, Pm, mu, zhat_m, S_m, C_m, H_m, frame,
                                        rr_ok)
                    updated[upd_tracks] = True
                    # score and bookkeeping of updated tracks (with its most likely detection)
                    best = _best_per_track(beta_t, beta_d, beta_w, n)
                    ut = np.flatnonzero(best >= 0)
                    bd = best[ut]
                    pair_index = _pair_lookup(pairs_t, pairs_d, ut, bd)
                    gain = np.where(pair_index >= 0, -cost[np.maximum(pair_index, 0)], 0.0)
                    self._record_hits(table, active[ut], rows[bd], gain, t, sensor_id, log,
                                      d2[np.maximum(pair_index, 0)])
        # 6. misses
        idle = active[~updated]
        if idle.size:
            if coverage is None:
                inside = _default_coverage(frame, table.x[idle, 0:3])
            else:
                inside = np.asarray(coverage(sensor_id, table.x[idle, 0:3]), bool).reshape(-1)
            missed = idle[inside]
            if missed.size:
                table.misses[missed] += 1
                table.opportunities[missed] += 1
                table.history[missed] = table.history[missed] << np.uint64(1)
                table.score[missed] += np.log1p(-pd)
        # 8. initiation (JPDA too: a detection inside any gate is explained by that track)
        new = np.flatnonzero(~gated_det)
        if new.size:
            self._initiate(table, z[new], rows[new], frame, rr_ok, lam, t, sensor_id, log)
        self._confirm_delete(table, log)

    @cached_property
    def _gate_thresholds(self) -> tuple[float, float]:
        """The chi-square gate for 3 and 4 measured components (computed once)."""
        return (_gate_threshold(self.gate_probability, 3),
                _gate_threshold(self.gate_probability, 4))

    def _gnn(self, pairs_t: IntArray, pairs_d: IntArray, cost: FloatArray, n: int, m: int
             ) -> IntArray:
        """GNN association of the gated pairs: the indices of the chosen pairs, ascending by
        track (one per track). A pair alone in its cluster is taken; each larger cluster
        (connected component of the gating graph, ``imm_kernels.pair_clusters``) is solved
        by ``_gnn_cluster``. The same choice as ``_associate``'s GNN."""
        label = pair_clusters(pairs_t, pairs_d, n, m)
        n_clusters = int(label.max(initial=-1)) + 1
        if n_clusters == 0:
            return np.arange(pairs_t.size)  # the pairs come by track
        parts = [np.flatnonzero(label < 0)]
        for c in range(n_clusters):
            idx = np.flatnonzero(label == c)
            parts.append(idx[_gnn_cluster(pairs_t[idx], pairs_d[idx], cost[idx])])
        chosen = np.concatenate(parts)
        return chosen[np.argsort(pairs_t[chosen], kind="stable")]

    def _associate(self, pairs_t: IntArray, pairs_d: IntArray, cost: FloatArray,
                   lik: FloatArray, n: int, log: _Log
                   ) -> tuple[IntArray, IntArray, FloatArray, FloatArray]:
        """Association weights: rows ``(track, detection, weight)`` and the per-track weight
        of "no detection" ``beta0 (n,)`` (GNN: weights are 0/1)."""
        beta0 = np.ones(n)
        pd_pg = self.detection_probability * self.gate_probability
        if (np.bincount(pairs_t, minlength=n).max() == 1
                and np.bincount(pairs_d).max() == 1):  # every pair is its own cluster
            if self.association == "jpda":
                w = lik / (lik + (1.0 - pd_pg))
                beta0[pairs_t] = 1.0 - w
                return pairs_t, pairs_d, w, beta0
            beta0[pairs_t] = 0.0
            return pairs_t, pairs_d, np.ones(pairs_t.size), beta0
        m_ids, d_local = np.unique(pairs_d, return_inverse=True)
        n_t = n
        from scipy.sparse import coo_matrix  # lazy (scipy's import time), as below
        from scipy.sparse.csgraph import connected_components

        graph = coo_matrix((np.ones(pairs_t.size), (pairs_t, n_t + d_local)),
                           shape=(n_t + m_ids.size, n_t + m_ids.size))
        _, label = connected_components(graph, directed=False)
        comp = label[pairs_t]
        order = np.argsort(comp, kind="stable")
        comp_sorted = comp[order]
        starts = np.flatnonzero(np.r_[True, comp_sorted[1:] != comp_sorted[:-1]])
        ends = np.r_[starts[1:], comp_sorted.size]
        sizes = ends - starts
        out_t: list[IntArray] = []
        out_d: list[IntArray] = []
        out_w: list[FloatArray] = []
        single = order[starts[sizes == 1]]
        if single.size:
            out_t.append(pairs_t[single])
            out_d.append(pairs_d[single])
            if self.association == "jpda":
                w = lik[single] / (lik[single] + (1.0 - pd_pg))
                out_w.append(w)
                beta0[pairs_t[single]] = 1.0 - w
            else:
                out_w.append(np.ones(single.size))
                beta0[pairs_t[single]] = 0.0
        for a, b in zip(starts[sizes > 1].tolist(), ends[sizes > 1].tolist(), strict=True):
            idx = order[a:b]
            ti, dj = pairs_t[idx], pairs_d[idx]
            if self.association == "jpda":
                res = _jpda_cluster(ti, dj, lik[idx], 1.0 - pd_pg, self.jpda_max_events)
                if res is not None:
                    w, b0_tracks, b0 = res
                    log.stats["jpda_clusters"] += 1
                    keep = w > 1e-12
                    out_t.append(ti[keep])
                    out_d.append(dj[keep])
                    out_w.append(w[keep])
                    beta0[b0_tracks] = b0
                    continue
                log.stats["jpda_fallback_gnn"] += 1
            chosen = _gnn_cluster(ti, dj, cost[idx])
            out_t.append(ti[chosen])
            out_d.append(dj[chosen])
            out_w.append(np.ones(chosen.size))
            beta0[ti[chosen]] = 0.0
        return (np.concatenate(out_t), np.concatenate(out_d), np.concatenate(out_w), beta0)

    def _update_tracks(self, table: ImmTrackTable, active: IntArray, upd: IntArray,
                       bt: IntArray, bd: IntArray, bw: FloatArray, beta0: FloatArray,
                       z: FloatArray, xm: FloatArray, Pm: FloatArray, mu: FloatArray,
                       zhat_m: FloatArray, S_m: FloatArray, C_m: FloatArray,
                       H_m: FloatArray | None, frame: Any, rr_ok: bool) -> None:
        """IMM update of local tracks ``upd`` with weighted detections (PDA; GNN weight 1)."""
        if (self.filter == "ekf" and H_m is not None and bt.size == upd.size
                and bool(np.all(bw == 1.0)) and bool(np.all(bt == upd))):
            # one detection per track, pairs by track (the GNN path): the compiled IMM-EKF
            # update on the table rows in place
            ekf_update_slots(active[upd], upd, bd, np.ascontiguousarray(z), zhat_m, S_m, C_m,
                             H_m, np.ascontiguousarray(frame.sig2[:z.shape[1]]), table.xm,
                             table.Pm, table.mu, table.x, table.P)
            return
        if (self.filter == "ekf" and H_m is not None and bt.size == upd.size
                and bool(np.all(bw == 1.0))):
            # one detection per track: the compiled IMM-EKF update (same formulas)
            order = np.argsort(bt)
            zz = np.ascontiguousarray(z[bd[order]])
            x_new, P_new, mu_new, x_c, P_c = ekf_update_assigned(
                xm[upd], Pm[upd], mu[upd], zz, zhat_m[upd], S_m[upd], C_m[upd], H_m[upd],
                np.ascontiguousarray(frame.sig2[:z.shape[1]]))
            slots = active[upd]
            table.xm[slots], table.Pm[slots], table.mu[slots] = x_new, P_new, mu_new
            table.x[slots], table.P[slots] = x_c, P_c
            return
        k = z.shape[1]
        r = self.n_modes
        d = xm.shape[2]
        loc = np.full(active.size, -1, np.int64)
        loc[upd] = np.arange(upd.size)
        u = upd.size
        zh, S, C = zhat_m[upd], S_m[upd], C_m[upd]
        S_inv = np.linalg.inv(S)  # (u, r, k, k)
        K = C @ S_inv  # (u, r, d, k)
        # per-pair innovations for every mode
        li = loc[bt]
        nu = z[bd][:, None, :] - zh[li]  # (p, r, k)
        nu[..., _AZ] = wrap_angle(nu[..., _AZ])
        # combined innovation per track and mode, and the spread term
        unique_pairs = li.size == u and bool(np.all(bw == 1.0))  # GNN: one pair per track
        nu_c = np.zeros((u, r, k))
        if unique_pairs:
            nu_c[li] = nu
        else:
            np.add.at(nu_c, li, bw[:, None, None] * nu)
        b0 = beta0[upd]
        x_new = xm[upd] + np.einsum("urdk,urk->urd", K, nu_c)
        if self.filter == "ukf" or H_m is None:
            P_c = Pm[upd] - K @ S @ np.swapaxes(K, -1, -2)
        else:
            H = H_m[upd]
            IKH = np.eye(d) - K @ H
            R = np.diag(frame.sig2[:k])
            P_c = IKH @ Pm[upd] @ np.swapaxes(IKH, -1, -2) + K @ R @ np.swapaxes(K, -1, -2)
        P_new = b0[:, None, None, None] * Pm[upd] + (1.0 - b0)[:, None, None, None] * P_c
        if not unique_pairs:
            spread = np.zeros((u, r, k, k))
            np.add.at(spread, li, bw[:, None, None, None]
                      * (nu[:, :, :, None] * nu[:, :, None, :]))
            spread -= nu_c[:, :, :, None] * nu_c[:, :, None, :]
            P_new = P_new + K @ spread @ np.swapaxes(K, -1, -2)
        P_new = 0.5 * (P_new + np.swapaxes(P_new, -1, -2))
        # mode likelihoods: mixture over the weighted hypotheses
        _, logdet = np.linalg.slogdet(S)  # (u, r)
        d2 = np.einsum("prk,prkl,prl->pr", nu, S_inv[li], nu)
        log_n = -0.5 * (d2 + k * _LN_2PI + logdet[li])  # (p, r)
        log_n -= log_n.max(axis=1, keepdims=True)  # per pair, relative across modes
        lik = np.zeros((u, r))
        if unique_pairs:
            lik[li] = np.exp(log_n)
        else:
            np.add.at(lik, li, bw[:, None] * np.exp(log_n))
        lik += b0[:, None] * 1e-300
        mu_new = mu[upd] * lik
        total = mu_new.sum(axis=1, keepdims=True)
        mu_new = np.where(total > 0, mu_new / np.maximum(total, 1e-300), mu[upd])
        slots = active[upd]
        table.xm[slots], table.Pm[slots], table.mu[slots] = x_new, P_new, mu_new
        table.x[slots], table.P[slots] = _combine(x_new, P_new, mu_new)

    def _record_hits(self, table: ImmTrackTable, slots: IntArray, det_rows: IntArray,
                     gain: FloatArray, t: float, sensor_id: int, log: _Log,
                     d2: FloatArray) -> None:
        record_hits(np.asarray(slots, np.int64), np.asarray(det_rows, np.int64),
                    np.ascontiguousarray(gain, dtype=float), float(t),
                    np.uint64(1 << (sensor_id % 64)), table.hits, table.misses,
                    table.opportunities, table.history, table.last_update_s,
                    table.last_detection_row, table.sensors_mask, table.score,
                    table.score_max)
        self.classifier.accumulate(table, slots, self.frame, self.alt0_m)  # type: ignore[arg-type]
        log.add(table.track_id[slots], slots, det_rows, sensor_id, t, d2, False)

    def _initiate(self, table: ImmTrackTable, z: FloatArray, rows: IntArray, frame: Any,
                  rr_ok: bool, lam: float, t: float, sensor_id: int, log: _Log) -> None:
        """Single-point initiation from each detection ``z`` in one compiled call
        (``imm_kernels.initiate_tracks``: the operations of ``kernels.polar_to_state`` and of
        ``_initiate_numpy``, its reference)."""
        m = z.shape[0]
        table.reserve(m)
        nt = self.new_target_density if self.new_target_density is not None else 0.01 * lam
        az, el = z[:, 1], z[:, 2]  # (the trigonometry on the same views as the reference)
        zz = np.ascontiguousarray(z, dtype=float)
        if not rr_ok:
            zz = np.ascontiguousarray(np.column_stack([zz[:, :3], np.full(m, np.nan)]))
        s2 = np.asarray(frame.sigma, float) ** 2
        sigma_rr = float(frame.sigma_rr) if rr_ok else 1.0
        slots = initiate_tracks(
            zz, np.cos(el), np.sin(el), np.cos(az), np.sin(az), s2, bool(rr_ok),
            self.initial_velocity_std_mps**2, sigma_rr**2, frame.origin, frame.rotation,
            25.0, self._prior_mu(), int(table.next_id), float(t), float(np.log(nt / lam)),
            np.uint64(1 << (sensor_id % 64)), np.asarray(rows, np.int64), table.status,
            table.track_id, table.x, table.P, table.xm, table.Pm, table.mu,
            table.state_time_s, table.last_update_s, table.created_s, table.hits,
            table.misses, table.opportunities, table.history, table.score, table.score_max,
            table.sensors_mask, table.last_detection_row, table.class_ballistic_score,
            table.max_alt_m, table.max_speed_mps)
        ids = np.arange(table.next_id, table.next_id + m, dtype=np.int64)
        table.next_id += m
        log.add(ids, slots, rows, sensor_id, t, np.full(m, np.nan), True)

    def _initiate_numpy(self, table: ImmTrackTable, z: FloatArray, rows: IntArray,
                        frame: Any, rr_ok: bool, lam: float, t: float, sensor_id: int,
                        log: _Log) -> None:
        m = z.shape[0]
        x6, P6 = polar_to_state(z[:, 0], z[:, 1], z[:, 2], z[:, 3] if rr_ok else None,
                                frame.sigma, float(frame.sigma_rr) if rr_ok else 1.0,
                                self.initial_velocity_std_mps, frame.origin, frame.rotation)
        d = self.dim
        x = np.zeros((m, d))
        P = np.zeros((m, d, d))
        x[:, :6], P[:, :6, :6] = x6, P6
        if d == 9:
            i = np.arange(6, 9)
            P[:, i, i] = 25.0
        table.reserve(m)
        slots = np.flatnonzero(table.status == FREE)[:m]
        ids = np.arange(table.next_id, table.next_id + m, dtype=np.int64)
        table.next_id += m
        table.track_id[slots] = ids
        table.status[slots] = TENTATIVE
        table.x[slots], table.P[slots] = x, P
        table.xm[slots] = x[:, None, :]
        table.Pm[slots] = P[:, None, :, :]
        table.mu[slots] = self._prior_mu()
        table.state_time_s[slots] = t
        table.last_update_s[slots] = t
        table.created_s[slots] = t
        table.hits[slots] = 1
        table.misses[slots] = 0
        table.opportunities[slots] = 1
        table.history[slots] = np.uint64(1)
        nt = self.new_target_density if self.new_target_density is not None else 0.01 * lam
        table.score[slots] = np.log(nt / lam)
        table.score_max[slots] = table.score[slots]
        table.sensors_mask[slots] = np.uint64(1 << (sensor_id % 64))
        table.last_detection_row[slots] = rows
        table.class_ballistic_score[slots] = 0.0
        table.max_alt_m[slots] = -np.inf
        table.max_speed_mps[slots] = 0.0
        log.add(ids, slots, rows, sensor_id, t, np.full(m, np.nan), True)

    def _merge_duplicates(self, table: ImmTrackTable, log: _Log) -> None:
        """Delete the weaker of two live tracks that estimate the same target: position
        difference inside the ``merge_probability`` chi-square gate of ``P_a + P_b`` (3 dof)
        and velocities within ``merge_velocity_mps``. Keeps the confirmed one, then the one
        with the higher score (duplicates arise when a track coasts out of its target's gate
        and a new one starts on it; JPDA would otherwise share detections between them).
        The decisions are ``_merge_drops``'s (bounded memory, linear in coincident tracks)."""
        live = table.active()
        if live.size < 2:
            return
        pos = table.x[live, 0:3]
        var = np.trace(table.P[live, 0:3, 0:3], axis1=1, axis2=2)
        radius = min(float(np.sqrt(self._merge_threshold * 2.0 * var.max())), 10_000.0)
        rank = (table.status[live].astype(float) * 1e6 + np.clip(table.score[live], -1e5, 1e5)
                + 1e-6 * table.hits[live])
        drop = _merge_drops(pos, table.x[live, 3:6], table.P[live, 0:3, 0:3], rank, radius,
                            self._merge_threshold, self.merge_velocity_mps)
        if drop is None:
            return
        slots = live[drop]
        conf = slots[table.status[slots] == CONFIRMED]
        self._free(table, slots[table.status[slots] == TENTATIVE], False, log)
        self._free(table, conf, True, log)
        log.stats["merged"] += int(slots.size)

    @cached_property
    def _merge_threshold(self) -> float:
        return _gate_threshold(self.merge_probability, 3)

    def _confirm_delete(self, table: ImmTrackTable, log: _Log) -> None:
        """Confirmation and deletion (compiled ``imm_kernels.confirm_delete``; the numpy
        reference is ``_confirm_delete_numpy``)."""
        a, b = self.false_confirm_probability, self.missed_confirm_probability
        ids_p, ids_t, ids_c = confirm_delete(
            table.status, table.track_id, table.score, table.score_max, table.misses,
            table.opportunities, table.history, self.confirmation == "score",
            float(np.log((1.0 - b) / a)), float(np.log(b / (1.0 - a))), float(self.score_drop),
            int(self.confirm_hits), int(self.confirm_window), int(self.delete_misses))
        if ids_p.size:
            log.confirmed.append(ids_p)
        for ids, was_confirmed in ((ids_t, False), (ids_c, True)):
            if ids.size:
                log.deleted.append(ids)
                log.deleted_confirmed.append(np.full(ids.size, was_confirmed))

    def _confirm_delete_numpy(self, table: ImmTrackTable, log: _Log) -> None:
        tent = table.tentative()
        conf = table.confirmed()
        if self.confirmation == "score":
            a, b = self.false_confirm_probability, self.missed_confirm_probability
            up, low = np.log((1.0 - b) / a), np.log(b / (1.0 - a))
            promote = tent[table.score[tent] >= up]
            # (the test starts after the initiating scan: one detection is no evidence yet)
            drop_t = tent[((table.score[tent] <= low) & (table.opportunities[tent] > 1))
                          | (table.misses[tent] >= self.delete_misses)]
        else:
            window = np.minimum(table.opportunities[tent], self.confirm_window)
            mask = (np.uint64(1) << window.astype(np.uint64)) - np.uint64(1)
            recent_hits = np.bitwise_count(table.history[tent] & mask).astype(np.int64)
            promote = tent[recent_hits >= self.confirm_hits]
            cannot = (recent_hits + (self.confirm_window - window)) < self.confirm_hits
            drop_t = tent[cannot & (recent_hits < self.confirm_hits)]
        drop_c = conf[(table.misses[conf] >= self.delete_misses)
                      | ((self.confirmation == "score")
                         & (table.score[conf] < table.score_max[conf] - self.score_drop))]
        if promote.size:
            table.status[promote] = CONFIRMED
            log.confirmed.append(table.track_id[promote].copy())
        self._free(table, drop_t, False, log)
        self._free(table, drop_c, True, log)

    def _free(self, table: ImmTrackTable, slots: IntArray, was_confirmed: bool,
              log: _Log) -> None:
        if slots.size == 0:
            return
        log.deleted.append(table.track_id[slots].copy())
        log.deleted_confirmed.append(np.full(slots.size, was_confirmed))
        table.status[slots] = FREE
        table.track_id[slots] = -1

    def _delete_stale(self, table: ImmTrackTable, time_s: float, log: _Log) -> None:
        """Covariance growth (on the stored covariance, at the track's last scan: the growth
        since is at most one scan period) and coasting limits."""
        active = table.active()
        if active.size == 0:
            return
        P = table.P[active]
        std = np.sqrt(np.maximum(P[:, 0, 0] + P[:, 1, 1] + P[:, 2, 2], 0.0))
        stale = (std > self.max_position_std_m) | (time_s - table.last_update_s[active]
                                                   > self.max_coast_s)
        if not stale.any():
            return
        gone = active[stale]
        conf = gone[table.status[gone] == CONFIRMED]
        self._free(table, gone[table.status[gone] == TENTATIVE], False, log)
        self._free(table, conf, True, log)


# ------------------------------------------------------------------------------ helpers


def _combine(xm: FloatArray, Pm: FloatArray, mu: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Moment-matched mixture ``x (n, D)``, ``P (n, D, D)`` of mode estimates (compiled
    ``imm_kernels.combine``)."""
    return combine(np.ascontiguousarray(xm), np.ascontiguousarray(Pm),
                   np.ascontiguousarray(mu))


def _mixture_measurement(zhat_m: FloatArray, S_m: FloatArray, mu: FloatArray
                         ) -> tuple[FloatArray, FloatArray]:
    """Moment-matched predicted measurement of the mode mixture (azimuth wrapped about the
    first mode)."""
    ref = zhat_m[:, 0:1, :]
    dz = zhat_m - ref
    dz[..., _AZ] = wrap_angle(dz[..., _AZ])
    mean_off = np.einsum("nr,nrk->nk", mu, dz)
    zhat = ref[:, 0, :] + mean_off
    zhat[:, _AZ] = wrap_angle(zhat[:, _AZ])
    spread = dz - mean_off[:, None, :]
    S = np.einsum("nr,nrkl->nkl", mu, S_m) + np.einsum("nr,nrk,nrl->nkl", mu, spread, spread)
    return zhat, S


def _gate(z: FloatArray, zhat: FloatArray, S: FloatArray, threshold: float
          ) -> tuple[IntArray, IntArray, FloatArray, FloatArray]:
    """Feasible (track, detection) pairs by a sorted-range search then the full distance."""
    n = zhat.shape[0]
    S_inv = cast(FloatArray, np.linalg.inv(S))  # float64 in, float64 out
    half_r = np.sqrt(threshold * S[:, 0, 0])
    order = np.argsort(z[:, 0], kind="stable")
    zr = z[order, 0]
    lo = np.searchsorted(zr, zhat[:, 0] - half_r, side="left")
    hi = np.searchsorted(zr, zhat[:, 0] + half_r, side="right")
    counts = np.maximum(hi - lo, 0)
    total = int(counts.sum())
    if total == 0:
        return (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), S_inv)
    ti = np.repeat(np.arange(n), counts)
    offs = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    dj = order[np.repeat(lo, counts) + offs]
    # elevation marginal prune, then the exact distance
    half_e = np.sqrt(threshold * S[:, 2, 2])
    keep = np.abs(z[dj, 2] - zhat[ti, 2]) <= half_e[ti]
    ti, dj = ti[keep], dj[keep]
    nu = z[dj] - zhat[ti]
    nu[:, _AZ] = wrap_angle(nu[:, _AZ])
    d2 = np.einsum("pi,pij,pj->p", nu, S_inv[ti], nu)
    ok = d2 <= threshold
    return ti[ok].astype(np.int64), dj[ok].astype(np.int64), d2[ok], S_inv


_MERGE_CHUNK = 1 << 16  # candidate pairs tested at a time by _merge_drops


def _merge_drops(pos: FloatArray, vel: FloatArray, P3: FloatArray, rank: FloatArray,
                 radius: float, threshold: float, max_dv: float, chunk: int = _MERGE_CHUNK
                 ) -> IntArray | None:
    """Which of n live tracks the duplicate merge deletes (indices into the n, ascending), or
    None when no pair is a duplicate at all.

    The rule: the candidate pairs ``a < b`` are those ``close_pairs(pos, radius)`` finds; a
    pair is a duplicate when ``d2 = dp^T (P3_a + P3_b)^-1 dp <= threshold`` (``dp = pos_a -
    pos_b``; ``np.linalg.solve``, or ``pinv`` for every pair once one sum is singular) and
    ``|vel_a - vel_b| <= max_dv``; its loser is ``b`` if ``rank_a >= rank_b``, else ``a``; a
    track is deleted when it loses some duplicate pair whose winner loses none.

    When the candidate pairs fit in one ``chunk`` (the usual case) they are tested at once.
    Otherwise listing them could cost ``k^2`` for ``k`` coincident tracks (10,000 identical
    detections: 5e7 pairs, a MemoryError). So tracks that are bitwise identical in position,
    velocity, covariance and rank (and finite) are collapsed to one group first: every pair of
    two groups has the same test result (the arithmetic is symmetric in the pair's order), and
    so has every pair inside a group (its test is that of the group's self-pair: ``dp = 0``,
    ``2 P3``). The rule is then applied on the groups through index thresholds; the candidate group
    pairs are streamed ``chunk`` at a time (``imm_kernels.close_pairs_chunk``) so memory stays
    bounded. Same decisions, bit for bit, as testing every pair (tests/test_imm_merge.py)."""
    n = pos.shape[0]
    if n < 2 or not radius >= 0.0:  # (a NaN radius finds no pair)
        return None
    pos = np.ascontiguousarray(pos)
    pairs, a_next, _ = close_pairs_chunk(pos, np.argsort(pos[:, 0], kind="mergesort"), radius,
                                         0, 1, chunk)
    if a_next == n:  # every candidate pair in one chunk (the usual case): the rule directly
        if pairs.size == 0:
            return None
        a, b = pairs[:, 0], pairs[:, 1]
        same = _duplicate_pairs(pos, vel, P3, a, b, threshold, max_dv)
        if not same.any():
            return None
        a, b = a[same], b[same]
        loser = np.where(rank[a] >= rank[b], b, a)
        winner = np.where(rank[a] >= rank[b], a, b)
        drops: IntArray = np.unique(loser[~np.isin(winner, loser)])  # never both of a pair
        return drops
    # -- groups of bitwise-identical finite tracks (others alone) ---------------------------
    key = np.concatenate([pos, vel, P3.reshape(n, 9), rank[:, None]], axis=1)
    finite = np.isfinite(key).all(axis=1)
    group = np.arange(n)
    fin = np.flatnonzero(finite)
    if fin.size > 1:
        rows = np.ascontiguousarray(key[fin]).view(np.dtype((np.void, key.dtype.itemsize * 16)))
        _, first, inverse = np.unique(rows[:, 0], return_index=True, return_inverse=True)
        group[fin] = fin[first][inverse.reshape(-1)]
    reps, gid = np.unique(group, return_inverse=True)  # reps: each group's lowest index
    gid = gid.reshape(-1)
    g = reps.size
    size = np.bincount(gid, minlength=g)
    gmax = np.full(g, -1, np.int64)
    np.maximum.at(gmax, gid, np.arange(n))
    gmin = reps
    grank = rank[reps]
    gnan = np.isnan(grank)
    gpos = np.ascontiguousarray(pos[reps])
    order = np.argsort(gpos[:, 0], kind="mergesort")
    selfs = np.flatnonzero(size > 1)

    def stream(use_pinv: bool) -> Iterator[tuple[IntArray, IntArray, BoolArray]]:
        """(group a, group b, duplicate) per candidate group pair, a chunk at a time."""
        for at in range(0, selfs.size, chunk):
            sg = selfs[at:at + chunk]
            yield sg, sg, test(sg, sg, use_pinv)
        a, b = 0, 1
        while a < g:
            pairs, a, b = close_pairs_chunk(gpos, order, radius, a, b, chunk)
            if pairs.size:
                ga, gb = pairs[:, 0], pairs[:, 1]
                yield ga, gb, test(ga, gb, use_pinv)

    def test(ga: IntArray, gb: IntArray, use_pinv: bool) -> BoolArray:
        return _duplicate_pairs(pos, vel, P3, reps[ga], reps[gb], threshold, max_dv,
                                use_pinv)

    # -- pass 1: who loses some duplicate pair ------------------------------------------------
    # member i of group G loses when: full[G] (a higher-ranked group), i > lo[G] (an equal
    # rank partner of lower index; rank_a >= rank_b keeps a), i < hi[G] (a NaN rank: the
    # comparison is False, so the lower index loses)
    big = np.int64(n)
    use_pinv = False
    while True:
        full = np.zeros(g, bool)
        lo = np.full(g, big)
        hi = np.full(g, -1, np.int64)
        any_same = False
        # the duplicate pairs, kept for pass 2 up to a few chunks (else streamed again)
        kept: list[tuple[IntArray, IntArray, BoolArray]] | None = []
        n_kept = 0
        try:
            for ga, gb, same in stream(use_pinv):
                if not same.any():
                    continue
                any_same = True
                if kept is not None:
                    n_kept += int(same.sum())
                    if n_kept <= 4 * chunk:
                        kept.append((ga[same], gb[same], same[same]))
                    else:
                        kept = None
                _loser_bounds(ga[same], gb[same], grank, gnan, gmin, gmax, full, lo, hi)
        except np.linalg.LinAlgError:  # singular P_a + P_b (detections at micrometre range)
            if use_pinv:
                raise
            use_pinv = True
            continue
        break
    if not any_same:
        return None
    members = np.arange(n)
    loser = full[gid] | (members > lo[gid]) | (members < hi[gid])
    # -- pass 2: losers whose winner loses nothing -------------------------------------------
    nl = np.flatnonzero(~loser)
    nl_gid = gid[nl]
    has_nl = np.bincount(nl_gid, minlength=g) > 0
    min_nl = np.full(g, big)
    np.minimum.at(min_nl, nl_gid, nl)
    max_nl = np.full(g, -1, np.int64)
    np.maximum.at(max_nl, nl_gid, nl)
    dfull = np.zeros(g, bool)
    dlo = np.full(g, big)
    dhi = np.full(g, -1, np.int64)
    chunks = kept if kept is not None else stream(use_pinv)
    for ga, gb, same in chunks:
        if same.any():
            _drop_bounds(ga[same], gb[same], grank, gnan, has_nl, min_nl, max_nl, dfull, dlo,
                         dhi)
    drop = dfull[gid] | (members > dlo[gid]) | (members < dhi[gid])
    return np.flatnonzero(drop)


def _duplicate_pairs(pos: FloatArray, vel: FloatArray, P3: FloatArray, a: IntArray,
                     b: IntArray, threshold: float, max_dv: float, use_pinv: bool | None = None
                     ) -> BoolArray:
    """The duplicate test of the pairs ``(a, b)`` (``_merge_drops``). ``use_pinv`` None:
    ``solve``, or ``pinv`` for all of them when some ``P3_a + P3_b`` is singular."""
    dp = pos[a] - pos[b]
    S = P3[a] + P3[b]
    if use_pinv:
        sol = np.einsum("pij,pj->pi", np.linalg.pinv(S), dp)
    else:
        try:
            sol = np.linalg.solve(S, dp[:, :, None])[:, :, 0]
        except np.linalg.LinAlgError:  # singular P_a + P_b (detections at micrometre range)
            if use_pinv is not None:
                raise
            sol = np.einsum("pij,pj->pi", np.linalg.pinv(S), dp)
    d2 = np.einsum("pi,pi->p", dp, sol)
    dv = np.linalg.norm(vel[a] - vel[b], axis=1)
    same: BoolArray = (d2 <= threshold) & (dv <= max_dv)
    return same


def _loser_bounds(ga: IntArray, gb: IntArray, grank: FloatArray, gnan: BoolArray,
                  gmin: IntArray, gmax: IntArray, full: BoolArray, lo: IntArray,
                  hi: IntArray) -> None:
    """Pass 1 of ``_merge_drops`` over duplicate group pairs ``(ga, gb)`` (in place)."""
    selfp = ga == gb
    nan = ~selfp & (gnan[ga] | gnan[gb])
    gt = ~selfp & ~nan & (grank[ga] > grank[gb])
    lt = ~selfp & ~nan & (grank[ga] < grank[gb])
    eq = ~selfp & ~nan & ~gt & ~lt
    full[gb[gt]] = True
    full[ga[lt]] = True
    np.minimum.at(lo, ga[selfp], gmin[ga[selfp]])
    np.minimum.at(lo, ga[eq], gmin[gb[eq]])
    np.minimum.at(lo, gb[eq], gmin[ga[eq]])
    np.maximum.at(hi, ga[nan], gmax[gb[nan]])
    np.maximum.at(hi, gb[nan], gmax[ga[nan]])


def _drop_bounds(ga: IntArray, gb: IntArray, grank: FloatArray, gnan: BoolArray,
                 has_nl: BoolArray, min_nl: IntArray, max_nl: IntArray, dfull: BoolArray,
                 dlo: IntArray, dhi: IntArray) -> None:
    """Pass 2 of ``_merge_drops``: as ``_loser_bounds`` with each group's members that lose
    no pair (``has_nl``, ``min_nl``, ``max_nl``) as the only winners that count."""
    selfp = ga == gb
    nan = ~selfp & (gnan[ga] | gnan[gb])
    gt = ~selfp & ~nan & (grank[ga] > grank[gb])
    lt = ~selfp & ~nan & (grank[ga] < grank[gb])
    eq = ~selfp & ~nan & ~gt & ~lt
    dfull[gb[gt & has_nl[ga]]] = True
    dfull[ga[lt & has_nl[gb]]] = True
    np.minimum.at(dlo, ga[selfp], min_nl[ga[selfp]])
    np.minimum.at(dlo, ga[eq], min_nl[gb[eq]])
    np.minimum.at(dlo, gb[eq], min_nl[ga[eq]])
    np.maximum.at(dhi, ga[nan], max_nl[gb[nan]])
    np.maximum.at(dhi, gb[nan], max_nl[ga[nan]])


def _gnn_cluster(ti: IntArray, dj: IntArray, cost: FloatArray) -> IntArray:
    """Most likely assignment of one cluster: minimum total cost where each track and each
    detection may stay unassigned at cost 0 (only pairs with negative cost are worth it,
    ties prefer assignment). Returns indices into the cluster's pairs."""
    rows, r_inv = np.unique(ti, return_inverse=True)
    cols, c_inv = np.unique(dj, return_inverse=True)
    nr, nc = rows.size, cols.size
    big = 1e12
    dense = np.full((nr, nc + nr), big)
    dense[r_inv, c_inv] = cost
    # dummy column per track: "not assigned" at cost 0 (slightly favour real assignment)
    dense[np.arange(nr), nc + np.arange(nr)] = 0.0
    pair_of = np.full((nr, nc), -1, np.int64)
    pair_of[r_inv, c_inv] = np.arange(cost.size)
    from scipy.optimize import linear_sum_assignment

    r, c = linear_sum_assignment(np.minimum(dense, big))
    real = c < nc
    chosen = pair_of[r[real], c[real]]
    return chosen[chosen >= 0]


def _jpda_cluster(ti: IntArray, dj: IntArray, lik: FloatArray, miss: float, max_events: int
                  ) -> tuple[FloatArray, IntArray, FloatArray] | None:
    """Exact JPDA marginals of one cluster: for each pair its association probability, and
    each track's probability of no detection. ``lik`` = Pd N(nu; S) / lambda per pair,
    ``miss`` = 1 - Pd PG. None when the cluster has more than ``max_events`` joint events."""
    rows, r_inv = np.unique(ti, return_inverse=True)
    cols, c_inv = np.unique(dj, return_inverse=True)
    nr = rows.size
    options: list[list[tuple[int, int, float]]] = [[(-1, -1, miss)] for _ in range(nr)]
    for p, (a, b) in enumerate(zip(r_inv.tolist(), c_inv.tolist(), strict=True)):
        options[a].append((b, p, float(lik[p])))
    bound = 1
    for o in options:
        bound *= len(o)
        if bound > 50 * max_events:
            return None
    weights = np.zeros(ti.size)
    w0 = np.zeros(nr)
    total = 0.0
    events = 0
    used = [False] * cols.size
    choice = [0] * nr

    # depth-first enumeration of joint events (each detection used at most once)
    def rec(i: int, w: float) -> None:
        nonlocal total, events
        if events > max_events:
            return
        if i == nr:
            events += 1
            total += w
            for a in range(nr):
                opt = options[a][choice[a]]
                if opt[1] < 0:
                    w0[a] += w
                else:
                    weights[opt[1]] += w
            return
        for c, opt in enumerate(options[i]):
            b = opt[0]
            if b >= 0 and used[b]:
                continue
            if b >= 0:
                used[b] = True
            choice[i] = c
            rec(i + 1, w * opt[2])
            if b >= 0:
                used[b] = False

    rec(0, 1.0)
    if events > max_events or total <= 0:
        return None
    return weights / total, rows, w0 / total


def _best_per_track(bt: IntArray, bd: IntArray, bw: FloatArray, n: int) -> IntArray:
    """For each local track the detection with the largest weight (-1: none)."""
    best = np.full(n, -1, np.int64)
    if bt.size == 0:
        return best
    order = np.lexsort((-bw, bt))
    first = np.r_[True, bt[order][1:] != bt[order][:-1]]
    best[bt[order][first]] = bd[order][first]
    return best


def _pair_lookup(pt: IntArray, pd_: IntArray, qt: IntArray, qd: IntArray) -> IntArray:
    """Index in the pair list of each query (track, detection), -1 if absent."""
    if pt.size == 0:
        return np.full(qt.size, -1, np.int64)
    key = pt.astype(np.int64) * (int(max(pd_.max(), qd.max(initial=0))) + 1) + pd_
    qkey = qt.astype(np.int64) * (int(max(pd_.max(), qd.max(initial=0))) + 1) + qd
    order = np.argsort(key)
    pos = np.clip(np.searchsorted(key[order], qkey), 0, key.size - 1)
    hit = key[order][pos] == qkey
    return np.where(hit, order[pos], -1)


def _default_coverage(frame: Any, pos: FloatArray) -> np.ndarray:
    d = (pos - frame.origin) @ frame.rotation.T
    rng = np.linalg.norm(d, axis=1)
    el = np.arctan2(d[:, 2], np.hypot(d[:, 0], d[:, 1]))
    inside = (rng <= frame.max_range_m) & (el >= frame.min_el) & (el <= frame.max_el)
    if frame.half_width is not None and frame.half_width < np.pi:
        az = np.arctan2(d[:, 0], d[:, 1])
        inside &= np.abs(wrap_angle(az - frame.heading)) <= frame.half_width
    return inside


def _unscented(x: FloatArray, P: FloatArray, frame: Any, with_rr: bool
               ) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Unscented transform of the radar measurement: ``zhat (n, k)``, ``Pzz (n, k, k)``
    (without R) and ``Pxz (n, D, k)``; sigma points ``x +- sqrt((D + kappa) P)`` columns with
    ``kappa = 3 - D`` replaced by 0 when negative (Julier & Uhlmann 2004)."""
    n, d = x.shape
    kappa = max(3.0 - d, 0.0)
    lam = d + kappa
    jitter = 1e-9 * np.maximum(np.trace(P, axis1=1, axis2=2) / d, 1e-12)
    L = np.linalg.cholesky(lam * (P + jitter[:, None, None] * np.eye(d)))
    sig = np.concatenate([x[:, None, :], x[:, None, :] + np.swapaxes(L, 1, 2),
                          x[:, None, :] - np.swapaxes(L, 1, 2)], axis=1)  # (n, 2d+1, d)
    wts = np.full(2 * d + 1, 1.0 / (2.0 * lam))
    wts[0] = kappa / lam
    zs, _ = radar_measurement(sig.reshape(-1, d)[:, :6], frame.origin, frame.rotation, with_rr)
    k = zs.shape[1]
    zs = zs.reshape(n, 2 * d + 1, k)
    ref = zs[:, 0:1, :]
    dz = zs - ref
    dz[..., _AZ] = wrap_angle(dz[..., _AZ])
    mean_off = np.einsum("s,nsk->nk", wts, dz)
    zhat = ref[:, 0, :] + mean_off
    zhat[:, _AZ] = wrap_angle(zhat[:, _AZ])
    ez = dz - mean_off[:, None, :]
    ex = sig - x[:, None, :]
    Pzz = np.einsum("s,nsk,nsl->nkl", wts, ez, ez)
    Pxz = np.einsum("s,nsd,nsk->ndk", wts, ex, ez)
    return zhat, 0.5 * (Pzz + np.swapaxes(Pzz, -1, -2)), Pxz


class _Log:
    """Accumulates the ``UpdateLog`` of one call and association statistics."""

    def __init__(self) -> None:
        self.i: list[tuple[IntArray, IntArray, IntArray, IntArray]] = []
        self.f: list[tuple[FloatArray, FloatArray]] = []
        self.b: list[np.ndarray] = []
        self.confirmed: list[IntArray] = []
        self.deleted: list[IntArray] = []
        self.deleted_confirmed: list[np.ndarray] = []
        self.stats = {"jpda_clusters": 0, "jpda_fallback_gnn": 0, "merged": 0}

    def add(self, ids: IntArray, slots: IntArray, rows: IntArray, sensor_id: int, t: float,
            nis: FloatArray, initiated: bool) -> None:
        m = ids.size
        self.i.append((ids.copy(), slots.astype(np.int64), rows.astype(np.int64),
                       np.full(m, sensor_id, np.int64)))
        self.f.append((np.full(m, t), np.asarray(nis, float)))
        self.b.append(np.full(m, initiated))

    def build(self) -> UpdateLog:
        def cat(parts: list[Any], dtype: Any) -> np.ndarray:
            return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)
        return UpdateLog(
            track_id=cat([p[0] for p in self.i], np.int64),
            slot=cat([p[1] for p in self.i], np.int64),
            detection_index=cat([p[2] for p in self.i], np.int64),
            sensor_id=cat([p[3] for p in self.i], np.int64),
            time_s=cat([p[0] for p in self.f], float), nis=cat([p[1] for p in self.f], float),
            initiated=cat(self.b, bool), confirmed_track_id=cat(self.confirmed, np.int64),
            deleted_track_id=cat(self.deleted, np.int64),
            deleted_was_confirmed=cat(self.deleted_confirmed, bool))
