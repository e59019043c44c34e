"""The tables the battle manager reads and writes (structure of arrays, one row per entity).

The engine fills the inputs (``TrackPicture``, ``AssetTable``, ``FireUnitTable``) from the
tracker's confirmed tracks -- or, in a labelled perfect-information study, from truth -- and
reads the outputs (``ThreatAssessment``, ``Candidates``, ``Assignments``). Positions are ECEF
metres (float64), velocities ECEF m/s, times seconds from scenario start, angles radians.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from shieldwall.core.types import THREAT_CLASSES, BoolArray, FloatArray, IntArray, ThreatClass
from shieldwall.core.vocabulary import FIRE_POLICIES


@dataclass
class TrackPicture:
    """The tracks the battle manager may act on (normally the confirmed tracks).

    Attributes
    ----------
    track_id : (m,) int
        Stable track ids.
    pos_ecef, vel_ecef : (m, 3) float
        Track state at ``time_s`` (ECEF m, m/s).
    pos_sigma_m : (m,) float
        Position uncertainty, ``sqrt(trace(P_pos) / 3)`` (m).
    ballistic : (m,) bool
        Classification of the tracker: True for ballistic (unpowered, gravity-dominated) flight.
    time_s : float
        Epoch of the states.
    """

    track_id: IntArray
    pos_ecef: FloatArray
    vel_ecef: FloatArray
    pos_sigma_m: FloatArray
    ballistic: BoolArray
    time_s: float

    def __len__(self) -> int:
        return int(np.asarray(self.track_id).shape[0])


@dataclass
class AssetTable:
    """Defended assets: ``asset_id``/``kind`` lists and arrays of length a.

    ``pos_ecef (a, 3)``, ``value (a,)`` (dimensionless value units; see
    ``Doctrine.cost_per_value_usd``), ``radius_m (a,)`` (a threat impacting within this ground
    distance of the asset's centre destroys it).
    """

    asset_id: list[str]
    kind: list[str]
    pos_ecef: FloatArray
    value: FloatArray
    radius_m: FloatArray

    def __len__(self) -> int:
        return len(self.asset_id)


@dataclass
class FireUnitTable:
    """Fire units (batteries), arrays of length u.

    ``rotation (u, 3, 3)`` maps ECEF offsets to the unit's ENU frame
    (``enu = rotation @ (ecef - pos_ecef)``); ``heading_rad`` is the centre of the engagement
    sector (clockwise from north); ``sector_half_width_rad`` is ``np.inf`` for 360 degree
    coverage; ``radar_range_m`` is the fire-control radar's range; ``reaction_time_s`` the delay
    from decision to first launch. Inventory (rounds per interceptor type, free fire channels,
    next possible launch time) is passed separately as arrays.
    """

    unit_id: list[str]
    system: list[str]
    pos_ecef: FloatArray
    rotation: FloatArray
    heading_rad: FloatArray
    sector_half_width_rad: FloatArray
    radar_range_m: FloatArray
    reaction_time_s: FloatArray

    def __len__(self) -> int:
        return len(self.unit_id)


@dataclass
class BallisticTrajectory:
    """Predicted trajectories of a picture's ballistic tracks, sampled on ``epoch_s + i dt_s``.

    Made by threat evaluation (the propagation that finds the impacts) and reused by engagement
    feasibility for the predicted intercept points, so each cycle propagates once.

    Attributes
    ----------
    rows : (b,) int
        Rows of the ballistic tracks in the picture (the grid's columns, in this order).
    pos_ecef, vel_ecef : (n+1, b, 3) float
        RK4 states (ECEF m, m/s); not stopped at the ground (compare with the impact time).
    epoch_s, dt_s : float
        Time of the first sample (the picture's epoch) and the step.
    rotating_earth : bool
        Whether the Coriolis and centrifugal terms were included.
    """

    rows: IntArray
    pos_ecef: FloatArray
    vel_ecef: FloatArray
    epoch_s: float
    dt_s: float
    rotating_earth: bool

    @property
    def n_steps(self) -> int:
        """Number of steps n of the grid (n + 1 samples)."""
        return int(self.pos_ecef.shape[0]) - 1

    def matches(self, picture: TrackPicture, dt_s: float, rotating_earth: bool) -> bool:
        """True when this prediction is of ``picture``'s ballistic tracks (same rows, epoch and
        initial states) with the given step and Earth model."""
        if (self.dt_s != dt_s or self.rotating_earth != rotating_earth
                or self.epoch_s != float(picture.time_s)):
            return False
        rows = np.flatnonzero(np.asarray(picture.ballistic, bool).reshape(-1))
        if not np.array_equal(rows, self.rows):
            return False
        if rows.size == 0:
            return True
        pos = np.asarray(picture.pos_ecef, float).reshape(-1, 3)[rows]
        vel = np.asarray(picture.vel_ecef, float).reshape(-1, 3)[rows]
        return bool(np.array_equal(pos, self.pos_ecef[0]) and np.array_equal(vel,
                                                                             self.vel_ecef[0]))


@dataclass
class ThreatAssessment:
    """Per-track threat evaluation (rows aligned with the ``TrackPicture``).

    Attributes
    ----------
    slot : (m,) int
        Row of the track in the picture (0..m-1).
    track_id : (m,) int
    predicted_impact_ecef : (m, 3) float
        Ballistic tracks: the predicted ground impact (altitude 0). Air-breathing tracks: the
        point of closest approach of the extrapolated ground track to the threatened asset
        (NaN when no asset is threatened and, for ballistic tracks, when no impact is found).
    asset_index : (m,) int
        Row of the most threatened asset (max of value x p_hit), -1 when none.
    time_to_impact_s : (m,) float
        Time from the evaluation time to the impact / closest approach (inf when none).
    p_hit_asset : (m,) float
        Probability that the threat's impact falls inside the asset's radius.
    value : (m,) float
        Value at risk, ``asset value x p_hit_asset`` (0 when no asset).
    class_index : (m,) int
        Estimated class as an index into ``shieldwall.core.types.THREAT_CLASSES``.
    miss_distance_m, sigma_m : (m,) float
        Predicted ground miss distance to the chosen asset and its 1-sigma per axis.
    time_s : float
        The evaluation time.
    ballistic_trajectory : BallisticTrajectory or None
        The sampled predicted trajectories of the ballistic tracks (None when the assessment
        was not made by ``ThreatEvaluator``); feasibility reuses it when it matches the picture.
    """

    slot: IntArray
    track_id: IntArray
    predicted_impact_ecef: FloatArray
    asset_index: IntArray
    time_to_impact_s: FloatArray
    p_hit_asset: FloatArray
    value: FloatArray
    class_index: IntArray
    miss_distance_m: FloatArray
    sigma_m: FloatArray
    time_s: float
    ballistic_trajectory: BallisticTrajectory | None = None

    @property
    def p_hit(self) -> FloatArray:
        """Alias of ``p_hit_asset``."""
        return self.p_hit_asset

    @property
    def class_estimate(self) -> list[ThreatClass]:
        """Estimated class per track."""
        return [THREAT_CLASSES[int(i)] for i in self.class_index]

    @property
    def impact_time_s(self) -> FloatArray:
        """Absolute predicted impact time (s from scenario start)."""
        return self.time_s + self.time_to_impact_s

    def __len__(self) -> int:
        return int(self.slot.shape[0])


@dataclass
class Candidates:
    """Feasible engagements, one row per (track, fire unit, interceptor type), length c.

    Attributes
    ----------
    track_slot : (c,) int   row in the picture / assessment
    unit : (c,) int         row in the ``FireUnitTable``
    interceptor_type : (c,) int   index into ``interceptor_names``
    t_launch_s, t_intercept_s : (c,) float   absolute times
    time_of_flight_s : (c,) float
    pip_ecef : (c, 3) float       predicted intercept point
    slant_range_m, pip_alt_m : (c,) float   PIP range from the unit, PIP height
    pk : (c,) float               single-shot kill probability estimate
    cost_usd : (c,) float         cost of one round
    interceptor_names : tuple of str   names of the k interceptor types
    unit_ids : list of str        ids of the fire units (for readable reasons)
    """

    track_slot: IntArray
    unit: IntArray
    interceptor_type: IntArray
    t_launch_s: FloatArray
    t_intercept_s: FloatArray
    time_of_flight_s: FloatArray
    pip_ecef: FloatArray
    slant_range_m: FloatArray
    pip_alt_m: FloatArray
    pk: FloatArray
    cost_usd: FloatArray
    interceptor_names: tuple[str, ...] = ()
    unit_ids: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.track_slot.shape[0])


#: Rounds per engagement by threat class when the doctrine names none (the scenario's
#: ``doctrine.salvo`` defaults).
DEFAULT_SALVO: Mapping[str, int] = {"ballistic": 2, "aeroballistic": 2, "cruise": 1, "drone": 1,
                                    "decoy": 1}


def _default_salvo() -> dict[ThreatClass, int]:
    return {ThreatClass(k): int(v) for k, v in DEFAULT_SALVO.items()}


@dataclass(frozen=True)
class Doctrine:
    """Fire doctrine of the battle manager.

    Attributes
    ----------
    salvo : mapping ThreatClass -> int
        Rounds fired per engagement against a threat of that (estimated) class (missing: 1).
    policy : "shoot_look_shoot" | "shoot_shoot"
        Shoot-look-shoot: a track with an engagement in flight is not engaged again until its
        kill assessment. Shoot-shoot: the salvo is fired at once and the track may be engaged
        again (up to ``max_engagements_per_threat``) without waiting.
    min_pk : float
        Single-shot Pk below which an engagement is not considered.
    cost_aware : bool
        Subtract the interceptor cost (converted to value units) from the gain.
    cost_per_value_usd : float
        USD equivalent of one unit of asset value (exchange rate of the objective).
    reserve_fraction : mapping interceptor name -> float in [0, 1]
        Fraction of a unit's load of that interceptor (``ceil(fraction x capacity)`` rounds)
        held back from threats that do not qualify for the reserve.
    reserve_release_value : float
        A threat qualifies for the reserve when its estimated class is ballistic or
        aeroballistic, or its value at risk is at least this (default: never by value).
    max_engagements_per_threat : int
        Total engagements (in flight plus completed) allowed against one track.
    assigner : str
        Registry name of the engine's weapon assigner (``core.vocabulary.ASSIGNERS``).

    The defaults are the scenario file's (``scenario.models.Doctrine``; the engine translates
    that block into this class, and ``tests/test_model_layering.py`` checks that the defaults
    agree). The battle manager does not import the scenario models.
    """

    salvo: Mapping[ThreatClass, int] = field(default_factory=_default_salvo)
    policy: Literal["shoot_look_shoot", "shoot_shoot"] = "shoot_look_shoot"
    min_pk: float = 0.3
    cost_aware: bool = True
    cost_per_value_usd: float = 1.0e5
    reserve_fraction: Mapping[str, float] = field(default_factory=dict)
    reserve_release_value: float = math.inf
    max_engagements_per_threat: int = 3
    assigner: str = "greedy"

    def __post_init__(self) -> None:
        if self.policy not in FIRE_POLICIES:
            raise ValueError(f"unknown fire policy {self.policy!r}")
        if not 0.0 <= self.min_pk <= 1.0:
            raise ValueError("min_pk must lie in [0, 1]")
        if self.cost_per_value_usd <= 0:
            raise ValueError("cost_per_value_usd must be positive")
        if any(not 0.0 <= f <= 1.0 for f in self.reserve_fraction.values()):
            raise ValueError("reserve fractions must lie in [0, 1]")
        if any(s < 1 for s in self.salvo.values()):
            raise ValueError("salvo sizes must be at least 1")

    def salvo_for(self, threat_class: ThreatClass) -> int:
        """Salvo size against a threat class (1 when the doctrine does not name the class)."""
        return int(self.salvo.get(threat_class, 1))


@dataclass
class Assignments:
    """The decisions of one battle-management cycle.

    Engagements (length e): ``track_slot, track_id, unit, interceptor_type, n_rounds, pk``
    (single shot), ``kill_probability`` (of the salvo, ``1 - (1 - pk) ** n_rounds``),
    ``expected_gain`` (value units, net of cost when cost-aware), ``cost_usd`` (of the salvo),
    ``t_launch_s, t_intercept_s, pip_ecef (e, 3)``, ``reason`` (one readable string each).
    Unengaged threats (length w): ``unengaged_slot, unengaged_track_id, unengaged_code``
    (``no_threat``, ``awaiting_kill_assessment``, ``max_engagements``, ``no_feasible_weapon``,
    ``below_min_pk``, ``reserve``, ``no_rounds_or_channels``, ``not_worth_cost``) and
    ``unengaged_reason`` (readable). ``remaining_value (m,)`` is the value at risk left after the
    cycle's engagements; ``rounds_after (u, k)`` and ``free_channels_after (u,)`` the inventory
    once they are made (the inputs are not modified).
    """

    track_slot: IntArray
    track_id: IntArray
    unit: IntArray
    interceptor_type: IntArray
    n_rounds: IntArray
    pk: FloatArray
    kill_probability: FloatArray
    expected_gain: FloatArray
    cost_usd: FloatArray
    t_launch_s: FloatArray
    t_intercept_s: FloatArray
    pip_ecef: FloatArray
    reason: list[str]
    unengaged_slot: IntArray
    unengaged_track_id: IntArray
    unengaged_code: list[str]
    unengaged_reason: list[str]
    remaining_value: FloatArray
    rounds_after: IntArray
    free_channels_after: IntArray

    def __len__(self) -> int:
        return int(self.track_slot.shape[0])
