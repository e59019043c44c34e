"""Threats: raid generation and truth trajectories over a curved, rotating earth.

- ``generate_raid(waves, types, asset_ecef, rng) -> ThreatPlan`` draws the raid;
- ``fly(plan, types, time_s) -> TruthTrajectories`` precomputes every trajectory on the engine's
  time grid (ballistic: point-mass RK4 in ECEF with a shooting method; aero-ballistic: air launch
  then the same; cruise / diving cruise / drones: constant-speed paths at a height above the
  ellipsoid along great-circle legs).
"""

from shieldwall.threats.ballistic import (
    BallisticAim,
    BallisticFlight,
    BallisticPhysics,
    aim_ballistic,
    propagate_ballistic,
    radial_height_m,
)
from shieldwall.threats.raid import ThreatPlan, WaveSpec, generate_raid
from shieldwall.threats.trajectories import TrajectoryModel, TruthTrajectories, fly

__all__ = [
    "BallisticAim",
    "BallisticFlight",
    "BallisticPhysics",
    "ThreatPlan",
    "TrajectoryModel",
    "TruthTrajectories",
    "WaveSpec",
    "aim_ballistic",
    "fly",
    "generate_raid",
    "propagate_ballistic",
    "radial_height_m",
]
