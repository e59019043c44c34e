"""One factory: the pipeline of components of a run, built from the scenario by registry name.

Each role of ``core.roles`` has a registry ``{name: builder(world) -> component}``, filled by
``register`` (``register_sensor`` for sensor kinds); the names are ``core.vocabulary``'s
(the scenario validates them with a did-you-mean) and ``check_registry`` refuses the import
when the two disagree. Adding a component is its class plus one registration line here;
``tests/test_contracts.py`` runs every registered component through its role's contract.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from shieldwall.c2 import GreedyAssigner, ThreatEvaluator
from shieldwall.c2.assignment_wta import WTAAssigner
from shieldwall.core import roles
from shieldwall.core.vocabulary import REGISTRY_NAMES, SENSOR_CATALOG_SECTIONS, TRACKERS
from shieldwall.engine.damage import CarletonDamage, CookieCutterDamage
from shieldwall.engine.fire_control import TrackUplink
from shieldwall.engine.gun import ProximityConeGun
from shieldwall.scenario.models import TrackerSettings
from shieldwall.sensors import RadarDetector, RadarSite
from shieldwall.sensors.passive import IrstDetector, IrstSite
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
        if not isinstance(site, RadarSite):
            continue  # angle-only sensors are not fused (docs/architecture.md)
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


# Registries: role -> {name: builder(world) -> component}; ``world`` is an
# ``engine.world.World``. A component is registered by one ``@register(role, name)`` builder
# here; its name must be in ``core.vocabulary.REGISTRY_NAMES`` (checked below at import, so the
# scenario layer, which cannot import the engine, validates exactly the registered names).
Builder = Callable[[Any], Any]
REGISTRY: dict[str, dict[str, Any]] = {role: {} for role in roles.ROLES}


def register(role: str, name: str) -> Callable[[Builder], Builder]:
    """Decorator: register ``builder(world) -> component`` as ``name`` for ``role``."""
    def add(builder: Builder) -> Builder:
        if name in REGISTRY[role]:
            raise AssertionError(f"{role} {name!r} registered twice")
        REGISTRY[role][name] = builder
        return builder
    return add


@dataclass(frozen=True)
class SensorKind:
    """A sensor kind: its site type, built ``site(sensor_id, name, record, lat_deg, lon_deg,
    alt_m, heading_rad)`` from a catalog record of the section
    ``core.vocabulary.SENSOR_CATALOG_SECTIONS[kind]``, and its detector ``detector(site)`` (the
    ``Sensor`` component)."""

    site: type
    detector: Callable[[Any], Any]

    def __call__(self, world: Any) -> list[Any]:
        """The detectors of the world's sites of this kind."""
        return [self.detector(s) for s in world.sites if isinstance(s, self.site)]


def register_sensor(name: str, site: type, detector: Callable[[Any], Any]) -> None:
    """Register a sensor kind (the scenario's ``sensors[].kind``)."""
    register("sensor", name)(SensorKind(site, detector))


register_sensor("radar", RadarSite, RadarDetector)
register_sensor("irst", IrstSite, IrstDetector)
def _tracker_builder(kind: str) -> Builder:
    def build_tracker(w: Any) -> Any:
        return make_tracker(w.scenario.tracker.model_copy(update={"kind": kind}), list(w.sites))
    return build_tracker


for _name in TRACKERS:
    register("tracker", _name)(_tracker_builder(_name))
register("threat_evaluator", "impact_prediction")(lambda w: ThreatEvaluator())
register("assigner", "greedy")(lambda w: GreedyAssigner(w.doctrine))
register("assigner", "heuristic")(lambda w: WTAAssigner(w.doctrine, solver="heuristic"))
register("assigner", "exact")(lambda w: WTAAssigner(w.doctrine, solver="exact"))
register("fire_control", "track_uplink")(lambda w: TrackUplink())
register("gun", "proximity_cone")(lambda w: ProximityConeGun())
register("flyout", "pronav")(lambda w: FlyoutModel())
register("lethality", "pk_curve")(lambda w: PkCurveLethality(tuple(w.interceptors)))
register("damage", "carleton")(lambda w: CarletonDamage())
register("damage", "cookie_cutter")(lambda w: CookieCutterDamage())

#: The names each registry carries (``core.vocabulary.REGISTRY_NAMES``).
NAMES: dict[str, tuple[str, ...]] = REGISTRY_NAMES


def check_registry() -> None:
    """The registries are exactly the vocabulary's names, in its order (the first is the
    scenario's default), and every sensor kind has its catalog section."""
    if set(REGISTRY) != set(NAMES):
        raise AssertionError(f"roles {sorted(REGISTRY)} != vocabulary {sorted(NAMES)}")
    for role, names in NAMES.items():
        if tuple(REGISTRY[role]) != tuple(names):
            raise AssertionError(
                f"engine.factory registers {role} {tuple(REGISTRY[role])} but "
                f"core.vocabulary lists {tuple(names)}: add the name to core/vocabulary.py")
    if set(SENSOR_CATALOG_SECTIONS) != set(NAMES["sensor"]):
        raise AssertionError("core.vocabulary.SENSOR_CATALOG_SECTIONS must name a catalog "
                             "section for every sensor kind")


check_registry()


@dataclass(frozen=True)
class Pipeline:
    """The components of one run (parameters only; the run state is ``engine.state``)."""

    sensors: tuple[roles.Sensor, ...]
    tracker: roles.Tracker
    threat_evaluator: roles.ThreatEvaluator
    assigner: roles.Assigner
    fire_control: roles.FireControl
    gun: roles.GunAcquisition
    flyout: roles.Flyout
    seeker: SeekerModel
    lethality: roles.Lethality
    damage: roles.DamageModel
    params: EngineParams


def build(role: str, name: str, world: Any) -> Any:
    """The component registered as ``name`` for ``role``."""
    builder = REGISTRY.get(role, {}).get(name)
    if builder is None:
        raise ValueError(f"no {role} named {name!r}; registered: "
                         f"{', '.join(REGISTRY.get(role, {}))}")
    return builder(world)


def build_pipeline(world: Any, params: EngineParams | None = None) -> Pipeline:
    """The pipeline of the scenario: one detector per sensor of its ``kind``,
    ``tracker.kind``, ``doctrine.assigner`` and the ``components`` block."""
    sc = world.scenario
    comp = sc.components
    kinds = REGISTRY["sensor"]
    return Pipeline(
        sensors=tuple(kinds[kind].detector(site)
                      for kind, site in zip(world.sensor_kind, world.sites, strict=True)),
        tracker=build("tracker", sc.tracker.kind, world),
        threat_evaluator=build("threat_evaluator", comp.threat_evaluator, world),
        assigner=build("assigner", world.doctrine.assigner, world),
        fire_control=build("fire_control", comp.fire_control, world),
        gun=build("gun", comp.gun, world),
        flyout=build("flyout", comp.flyout, world),
        seeker=SeekerModel(),
        lethality=build("lethality", comp.lethality, world),
        damage=build("damage", comp.damage, world),
        params=params or EngineParams())
