"""Ballistic vs air-breathing classification from track kinematics (log-odds evidence).

Each detection update adds evidence ``delta`` to the track's ``class_ballistic_score`` (the
log-odds of "ballistic" over "air-breathing"), clipped to ``[-score_limit, score_limit]``:

- altitude above ``ballistic_alt_m`` (air-breathers do not fly there): ``+weight_altitude``;
- well-determined speed (velocity standard deviation below ``speed_std_limit_mps``) above
  ``ballistic_speed_mps``: ``+weight_speed``;
- well-determined vertical velocity below ``-steep_descent_mps`` (free-fall-like re-entry, faster
  than any diving air-breather): ``+weight_speed``;
- well-determined speed below ``air_max_speed_mps`` at an altitude below ``air_max_alt_m``:
  ``-weight_air``.

``class_estimate`` reads the score against ``decision_log_odds``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shieldwall.core.types import FloatArray, IntArray
from shieldwall.tracking.models import Frame, altitudes, up_vectors
from shieldwall.tracking.table import TrackTable


@dataclass(frozen=True)
class KinematicClassifier:
    """Parameters of the kinematic ballistic / air-breathing evidence (module docstring)."""

    ballistic_alt_m: float = 30_000.0
    ballistic_speed_mps: float = 1_200.0
    steep_descent_mps: float = 800.0
    air_max_speed_mps: float = 900.0
    air_max_alt_m: float = 20_000.0
    speed_std_limit_mps: float = 50.0
    weight_altitude: float = 1.0
    weight_speed: float = 1.0
    weight_air: float = 0.5
    score_limit: float = 8.0
    decision_log_odds: float = 2.0

    def evidence(self, x: FloatArray, P: FloatArray, frame: Frame = "ecef", alt0_m: float = 0.0
                 ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Evidence of states ``x (n, >=6)`` with covariances ``P (n, >=6, >=6)`` in the
        frame (``"ecef"``, or a flat ``"enu"`` frame whose origin is at ``alt0_m``).

        Returns ``(delta_log_odds (n,), altitude_m (n,), speed_mps (n,))``; the speed is NaN
        where the velocity is not yet well determined.
        """
        alt = altitudes(x[:, 0:3], frame, alt0_m)
        vel = x[:, 3:6]
        speed = np.linalg.norm(vel, axis=1)
        vel_std = np.sqrt(np.maximum(np.trace(P[:, 3:6, 3:6], axis1=1, axis2=2), 0.0) / 3.0)
        reliable = vel_std < self.speed_std_limit_mps
        v_up = np.einsum("ni,ni->n", vel, up_vectors(x[:, 0:3], frame))
        delta = np.where(alt > self.ballistic_alt_m, self.weight_altitude, 0.0)
        delta += np.where(reliable & (speed > self.ballistic_speed_mps), self.weight_speed, 0.0)
        delta += np.where(reliable & (v_up < -self.steep_descent_mps), self.weight_speed, 0.0)
        air = reliable & (speed < self.air_max_speed_mps) & (alt < self.air_max_alt_m)
        delta -= np.where(air, self.weight_air, 0.0)
        return delta, alt, np.where(reliable, speed, np.nan)

    def accumulate(self, tracks: TrackTable, slots: IntArray, frame: Frame = "ecef",
                   alt0_m: float = 0.0) -> None:
        """Add the evidence of the current states of ``slots`` to ``tracks`` (in place; any
        table with ``x, P, class_ballistic_score, max_alt_m, max_speed_mps`` columns)."""
        if slots.size == 0:
            return
        delta, alt, speed = self.evidence(tracks.x[slots], tracks.P[slots], frame, alt0_m)
        score = tracks.class_ballistic_score[slots] + delta
        tracks.class_ballistic_score[slots] = np.clip(score, -self.score_limit, self.score_limit)
        tracks.max_alt_m[slots] = np.maximum(tracks.max_alt_m[slots], alt)
        tracks.max_speed_mps[slots] = np.fmax(tracks.max_speed_mps[slots], speed)

    def estimate(self, tracks: TrackTable, slots: IntArray) -> list[str]:
        """``"ballistic"``, ``"air_breathing"`` or ``"unknown"`` for each slot."""
        score = tracks.class_ballistic_score[np.asarray(slots, np.int64)]
        labels = np.where(score >= self.decision_log_odds, "ballistic",
                          np.where(score <= -self.decision_log_odds, "air_breathing", "unknown"))
        return [str(s) for s in labels]


def class_estimate(tracks: TrackTable, slots: IntArray,
                   classifier: KinematicClassifier | None = None) -> list[str]:
    """Class label of each slot from its accumulated evidence (default decision threshold)."""
    return (classifier or KinematicClassifier()).estimate(tracks, slots)
