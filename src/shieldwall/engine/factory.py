"""One factory: the pipeline of components of a run, built from the scenario by registry name.

Each role of ``core.roles`` has a registry ``{name: builder(world) -> component}``; the names
are ``core.vocabulary``'s (the scenario validates them with a did-you-mean). Adding a component
is one builder here plus its class; ``tests/test_contracts.py`` runs every registered component
through its role's contract.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from shieldwall.c2 import GreedyAssigner, ThreatEvaluator
from shieldwall.c2.assignment_wta import WTAAssigner
from shieldwall.core import roles
from shieldwall.core.vocabulary import (
    ASSIGNERS,
    DAMAGE_MODELS,
    FIRE_CONTROLS,
    FLYOUTS,
    LETHALITIES,
    SENSORS,
    THREAT_EVALUATORS,
    TRACKERS,
)
from shieldwall.engine.damage import CookieCutterDamage
from shieldwall.engine.fire_control import TrackUplink
from shieldwall.scenario.models import TrackerSettings
from shieldwall.sensors import RadarDetector, RadarSite
from shieldwall.tracking import MotionModel, Tracker
from shieldwall.tracking.imm import ImmTracker, default_models
from shieldwall.tracking.models import Ballistic
from shieldwall.weapons import FlyoutModel, SeekerModel
from shieldwall.weapons.lethality import PkCurveLethality


@dataclass(frozen=True)
class EngineParams:
    """Fixed parameters of the step loop (documented once here)."""

    #: Battle-management cycle (s): how often threats are evaluated and weapons assigned.
    bm_period_s: float = 1.0
    #: A track assessed killed is left alone this long before it may be engaged again (s).
    assessed_dead_hold_s: float = 20.0
    #: Proximity (m) at which an unguided gun burst "acquires" the object nearest its aim point.
    gun_proximity_m: float = 1500.0
    #: Half-angle (rad) of the cone ahead of a gun burst in which it acquires.
    gun_cone_rad: float = float(np.radians(20.0))
    #: Autonomous mode: battery u's track ids start at (u + 1) x this, so ids stay unique.
    track_id_block: int = 1_000_000


#: Process noise of ballistic-class tracks (m^2/s^3): covers a ~15 g terminal weave at 1 s revisit.
BALLISTIC_PROCESS_NOISE_M2_S3 = 10000.0


def make_tracker(settings: TrackerSettings, sites: list[RadarSite]) -> Tracker | ImmTracker:
    """The engine's tracker for the scenario's ``tracker`` block.

    ``imm``: CV, +-3 g coordinated turns and a ballistic mode (point-mass gravity in rotating
    ECEF, process noise ``BALLISTIC_PROCESS_NOISE_M2_S3`` for drag and re-entry manoeuvres);
    the clutter density is the mean over the radars of false alarms per scan over their
    measurement volume (range x sector x elevation span).
    """
    if settings.kind == "ekf":
        return Tracker(motion=MotionModel(
            ballistic_process_noise_m2_s3=BALLISTIC_PROCESS_NOISE_M2_S3, rotating_frame=True))
    models = list(default_models("ecef", rotating_frame=True))
    models[-1] = Ballistic(q_m2_s3=BALLISTIC_PROCESS_NOISE_M2_S3, frame="ecef",
                           rotating_frame=True)
    densities = []
    for site in sites:
        r = site.radar
        half = r.sector_half_width_rad
        width = 2.0 * np.pi if half is None or half >= np.pi else 2.0 * half
        volume = r.max_range_m * width * max(r.max_elevation_rad - r.min_elevation_rad, 1e-3)
        densities.append(max(r.false_alarms_per_scan, 1e-3) / volume)
    return ImmTracker(models=tuple(models), frame="ecef", filter=settings.filter,
                      association=settings.association,
                      clutter_density=float(np.mean(densities)) if densities else 1e-9,
                      initial_velocity_std_mps=1000.0, max_coast_s=60.0, delete_misses=5,
                      score_drop=12.0, sojourn_s=(20.0, 10.0, 10.0, 60.0))


# Registries: name -> builder(world). ``world`` is an ``engine.world.World``.
Builder = Callable[[Any], Any]
REGISTRY: dict[str, dict[str, Builder]] = {
    "sensor": {"radar": lambda w: [RadarDetector(s) for s in w.sites]},
    "tracker": {name: (lambda w: make_tracker(w.scenario.tracker, list(w.sites)))
                for name in TRACKERS},
    "threat_evaluator": {"impact_prediction": lambda w: ThreatEvaluator()},
    "assigner": {
        "greedy": lambda w: GreedyAssigner(w.doctrine),
        "heuristic": lambda w: WTAAssigner(w.doctrine, solver="heuristic"),
        "exact": lambda w: WTAAssigner(w.doctrine, solver="exact"),
    },
    "fire_control": {"track_uplink": lambda w: TrackUplink()},
    "flyout": {"pronav": lambda w: FlyoutModel()},
    "lethality": {"pk_curve": lambda w: PkCurveLethality(tuple(w.interceptors))},
    "damage": {"cookie_cutter": lambda w: CookieCutterDamage()},
}
#: The names each registry must carry (``core.vocabulary``; checked by the contract tests).
NAMES: dict[str, tuple[str, ...]] = {
    "sensor": SENSORS, "tracker": TRACKERS, "threat_evaluator": THREAT_EVALUATORS,
    "assigner": ASSIGNERS, "fire_control": FIRE_CONTROLS, "flyout": FLYOUTS,
    "lethality": LETHALITIES, "damage": DAMAGE_MODELS,
}


@dataclass(frozen=True)
class Pipeline:
    """The components of one run (parameters only; the run state is ``engine.state``)."""

    sensors: tuple[roles.Sensor, ...]
    tracker: roles.Tracker
    threat_evaluator: roles.ThreatEvaluator
    assigner: roles.Assigner
    fire_control: roles.FireControl
    flyout: roles.Flyout
    seeker: SeekerModel
    lethality: roles.Lethality
    damage: roles.DamageModel
    params: EngineParams


def build(role: str, name: str, world: Any) -> Any:
    """The component registered as ``name`` for ``role``."""
    try:
        return REGISTRY[role][name](world)
    except KeyError:
        raise ValueError(f"no {role} named {name!r}; registered: "
                         f"{', '.join(REGISTRY.get(role, {}))}") from None


def build_pipeline(world: Any, params: EngineParams | None = None) -> Pipeline:
    """The pipeline of the scenario: ``tracker.kind``, ``doctrine.assigner``; the other roles
    have one registered component each for now."""
    return Pipeline(
        sensors=tuple(build("sensor", "radar", world)),
        tracker=build("tracker", world.scenario.tracker.kind, world),
        threat_evaluator=build("threat_evaluator", "impact_prediction", world),
        assigner=build("assigner", world.doctrine.assigner, world),
        fire_control=build("fire_control", "track_uplink", world),
        flyout=build("flyout", "pronav", world),
        seeker=SeekerModel(),
        lethality=build("lethality", "pk_curve", world),
        damage=build("damage", "cookie_cutter", world),
        params=params or EngineParams())
