"""Pydantic models of the scenario file (docs/formats.md §2, the YAML users write).

Pure data: no engine logic. Every model forbids unknown keys, so a misspelled field is an error
rather than a silently ignored setting. Degrees and kilometres appear here only, at the edge;
references to catalog names and asset ids are resolved by ``shieldwall.scenario.checks``.
"""

from __future__ import annotations

import difflib
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from shieldwall.core.vocabulary import (
    ASSIGNERS,
    REGISTRY_NAMES,
    SENSOR_CATALOG_SECTIONS,
    SENSORS,
    TRACKERS,
)

AssetKind = Literal["city", "power_plant", "substation", "military", "industrial", "other"]
EngagementPolicy = Literal["shoot_look_shoot", "shoot_shoot"]

Identifier = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$",
                                  description="Identifier: letters, digits, '-', '_', '.'.")]
Latitude = Annotated[float, Field(ge=-90.0, le=90.0, description="WGS84 latitude, degrees.")]
Longitude = Annotated[float, Field(ge=-180.0, le=180.0, description="WGS84 longitude, degrees.")]
Altitude = Annotated[float, Field(ge=-500.0, le=10_000.0,
                                  description="Height above the WGS84 ellipsoid, metres.")]
Heading = Annotated[float, Field(ge=-360.0, le=360.0,
                                 description="Degrees clockwise from north.")]
LaunchTime = Annotated[float, Field(ge=-7 * 86_400.0, le=7 * 86_400.0,
                                    description="Seconds from scenario start (within a week).")]


def _registry_name(role: str, name: str, names: tuple[str, ...]) -> str:
    """``name`` if registered for ``role``, else a did-you-mean error."""
    if name in names:
        return name
    close = difflib.get_close_matches(name, names, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    raise ValueError(f"unknown {role} {name!r}{hint}; valid: {', '.join(names)}")


def _selector(role: str, description: str) -> Any:
    """A field naming a registered component of ``role`` (``core.vocabulary.REGISTRY_NAMES``,
    which are the engine registry's keys): default the first name, the JSON schema lists them
    all; validated by ``_registry_name`` (did-you-mean)."""
    names = REGISTRY_NAMES[role]
    return Field(default=names[0], description=f"{description} One of: {', '.join(names)}.",
                 json_schema_extra={"enum": list(names)})


#: Largest seed: seeds are stored as int64 in every table (replications, summaries).
MAX_SEED = 2**63 - 1


class _Model(BaseModel):
    # allow_inf_nan=False: every float field of every model (tuples and dict values included)
    # rejects nan, inf and -inf with "Input should be a finite number" at its field path.
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True,
                              allow_inf_nan=False)


class LatLon(_Model):
    """A point on the ground (degrees)."""

    lat_deg: Latitude
    lon_deg: Longitude


class Asset(_Model):
    """A defended asset: its position, value and the radius a hit must fall inside to damage it."""

    id: Identifier
    name: str | None = Field(default=None, description="Human label, e.g. a (fictional) place.")
    kind: AssetKind = Field(description="Asset category.")
    lat_deg: Latitude
    lon_deg: Longitude
    alt_m: Altitude = 0.0
    value: float = Field(ge=0.0, le=1e15,
                         description="Value in the objective (arbitrary units).")
    radius_m: float = Field(gt=0.0, le=100_000.0,
                            description="Radius of the asset's footprint, metres.")


class Sensor(_Model):
    """A stand-alone sensor (an early-warning radar, a passive IRST), not part of a battery."""

    id: Identifier
    kind: str = _selector("sensor", "Sensor kind: radar, or irst (passive, angle-only: its "
                          "plots are recorded, not fused into tracks).")
    radar: str = Field(description="Catalog name of the sensor's record: a 'radars' entry for "
                       "kind radar (e.g. 'ew-radar'), a 'passive_sensors' entry for kind irst "
                       "(e.g. 'spynel-class').")
    lat_deg: Latitude
    lon_deg: Longitude
    alt_m: Altitude = 0.0
    heading_deg: Heading = Field(default=0.0, description="Centre of the sector (sector radars).")

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, name: str) -> str:
        return _registry_name("sensor kind", name, SENSORS)

    @property
    def catalog_section(self) -> str:
        """The catalog section ``radar`` names a record of."""
        return SENSOR_CATALOG_SECTIONS[self.kind]


class LauncherGroup(_Model):
    """``count`` launchers of one battery, each loaded with ``rounds`` of one interceptor."""

    interceptor: str = Field(description="Catalog interceptor name, e.g. 'pac3-mse'.")
    count: int = Field(ge=1, le=100, description="Number of launchers so loaded.")
    rounds: int | None = Field(default=None, ge=1, le=1000,
                               description="Rounds per launcher; default: the catalog's load.")


class Battery(_Model):
    """A fire unit of a catalog air-defense system."""

    id: Identifier
    system: str = Field(description="Catalog system name, e.g. 'patriot'.")
    lat_deg: Latitude
    lon_deg: Longitude
    alt_m: Altitude = 0.0
    radar_heading_deg: Heading = Field(default=0.0,
                                       description="Centre of the radar sector (sector radars).")
    launchers: list[LauncherGroup] | None = Field(
        default=None, min_length=1,
        description="Launcher groups; default: the catalog's launcher count with the first "
                    "interceptor it loads.")


class Salvo(_Model):
    """Rounds fired per engagement, per threat class."""

    ballistic: int = Field(default=2, ge=1, le=8)
    aeroballistic: int = Field(default=2, ge=1, le=8)
    cruise: int = Field(default=1, ge=1, le=8)
    drone: int = Field(default=1, ge=1, le=8)
    decoy: int = Field(default=1, ge=1, le=8)


class Doctrine(_Model):
    """How the battle manager fights."""

    salvo: Salvo = Field(default_factory=Salvo)
    policy: EngagementPolicy = Field(
        default="shoot_look_shoot",
        description="shoot_look_shoot: re-engage after kill assessment; shoot_shoot: fire "
                    "the next salvo without waiting.")
    min_pk: float = Field(default=0.3, ge=0.0, le=1.0,
                          description="Do not engage below this single-shot kill probability.")
    cost_aware: bool = Field(default=True,
                             description="Prefer cheaper interceptors when Pk allows.")
    cost_per_value_usd: float = Field(
        default=1.0e5, gt=0.0, le=1e15,
        description="Exchange rate between interceptor cost (USD) and asset value.")
    reserve_fraction: dict[str, Annotated[float, Field(ge=0.0, lt=1.0)]] = Field(
        default_factory=dict,
        description="Per interceptor name: share of each battery's stock kept for high-value "
                    "threats.")
    max_engagements_per_threat: int = Field(default=3, ge=1, le=20)
    command_mode: Literal["integrated", "autonomous"] = Field(
        default="integrated",
        description="integrated: one network-wide track picture from every sensor and one "
                    "assignment over all fire units (IBCS-like); autonomous: each battery "
                    "tracks with its own radar only and decides alone.")
    assigner: str = Field(
        default="greedy",
        description="Weapon assigner of each battle-management cycle (one of "
                    + ", ".join(ASSIGNERS) + "): greedy maximum marginal return under this "
                    "doctrine, or the static WTA solver 'heuristic' / 'exact' on the cycle's "
                    "feasible engagements.",
        json_schema_extra={"enum": list(ASSIGNERS)})

    @field_validator("assigner")
    @classmethod
    def _known_assigner(cls, name: str) -> str:
        return _registry_name("assigner", name, ASSIGNERS)


class TrackerSettings(_Model):
    """Which tracker the engine runs (the battle manager sees only its tracks)."""

    kind: str = _selector("tracker", "imm: IMM over CV / coordinated turn / ballistic modes "
                          "(tracking.imm); ekf: the single-model compiled EKF tracker "
                          "(tracking.tracker).")
    association: Literal["gnn", "jpda"] = Field(
        default="gnn", description="(imm) global nearest neighbour or JPDA per cluster.")
    filter: Literal["ekf", "ukf"] = Field(
        default="ekf", description="(imm) measurement update: extended or unscented.")

    @field_validator("kind")
    @classmethod
    def _known_tracker(cls, name: str) -> str:
        return _registry_name("tracker", name, TRACKERS)


class Components(_Model):
    """The engine's remaining components, each chosen by its registered name (the defaults are
    the stock models)."""

    threat_evaluator: str = _selector("threat_evaluator", "Threat evaluation from tracks.")
    fire_control: str = _selector("fire_control", "Command guidance of guided interceptors.")
    gun: str = _selector("gun", "How an unguided gun burst takes its target.")
    flyout: str = _selector("flyout", "Interceptor flyout model.")
    lethality: str = _selector("lethality", "Miss distance -> kill model.")
    damage: str = _selector("damage", "Damage to assets from warheads that reach the ground.")

    @field_validator("threat_evaluator", "fire_control", "gun", "flyout", "lethality", "damage")
    @classmethod
    def _known(cls, name: str, info: ValidationInfo) -> str:
        role = str(info.field_name)
        return _registry_name(role.replace("_", " "), name, REGISTRY_NAMES[role])


class LaunchArea(_Model):
    """Launch points are drawn uniformly in a disc about this centre."""

    lat_deg: Latitude
    lon_deg: Longitude
    radius_km: float = Field(default=0.0, ge=0.0, le=500.0, description="Disc radius, km.")


class Wave(_Model):
    """``count`` threats of one type, launched over a time window from one area."""

    threat: str = Field(description="Catalog threat name, e.g. 'iskander-m'.")
    count: int = Field(ge=1, le=100_000)
    launch: LaunchArea
    launch_window_s: tuple[LaunchTime, LaunchTime] = Field(
        description="[start, end] seconds from scenario start; negative: already in flight.")
    targets: list[Identifier] | None = Field(
        default=None, min_length=1, description="Asset ids aimed at (spread over the wave).")
    aim_points: list[LatLon] | None = Field(
        default=None, min_length=1, description="Explicit aim points (instead of targets).")
    dispersion_m: float = Field(default=0.0, ge=0.0, le=100_000.0,
                                description="Aim dispersion added to the type's CEP, metres.")
    route: list[LatLon] = Field(default_factory=list,
                                description="Waypoints flown in order (cruise missiles, drones).")

    @field_validator("launch_window_s")
    @classmethod
    def _window_ordered(cls, window: tuple[float, float]) -> tuple[float, float]:
        if window[0] > window[1]:
            raise ValueError(f"launch window start {window[0]:g} s is after its end "
                             f"{window[1]:g} s; write [start, end]")
        return window

    @model_validator(mode="after")
    def _one_aim_kind(self) -> Wave:
        if (self.targets is None) == (self.aim_points is None):
            raise ValueError("give exactly one of 'targets' (asset ids) or 'aim_points'")
        return self


class Raid(_Model):
    """The attack: waves of threats."""

    waves: list[Wave] = Field(min_length=1)


class Scenario(_Model):
    """A shieldwall scenario: the defended area, the defense laydown, the doctrine, the raid."""

    model_config = ConfigDict(title="shieldwall scenario")

    name: str = Field(min_length=1, description="Scenario name.")
    description: str = Field(default="", description="Free text.")
    origin: LatLon = Field(description="Centre of the area; everything lies within 3000 km.")
    duration_s: float = Field(gt=0.0, le=7 * 86_400.0, description="Simulated time, seconds.")
    dt_s: float = Field(default=0.5, gt=0.0, le=10.0, description="Engine time step, seconds.")
    seed: int = Field(default=0, ge=0, le=MAX_SEED,
                      description="Seed of the study's random streams.")
    perfect_information: bool = Field(
        default=False,
        description="Study switch: the battle manager uses truth instead of tracks.")
    assets: list[Asset] = Field(min_length=1)
    sensors: list[Sensor] = Field(default_factory=list)
    batteries: list[Battery] = Field(default_factory=list)
    doctrine: Doctrine = Field(default_factory=Doctrine)
    tracker: TrackerSettings = Field(default_factory=TrackerSettings)
    components: Components = Field(default_factory=Components)
    raid: Raid

    @property
    def n_threats(self) -> int:
        """Total number of threats over all waves."""
        return sum(w.count for w in self.raid.waves)
