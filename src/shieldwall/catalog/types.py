"""Typed records of the notional catalog: threat types, radars, interceptors, air-defense systems.

Every model component takes these records (never the scenario file's pydantic models), so the
threat, sensor, weapon and c2 layers depend only on the bottom of the stack. All values are SI
(metres, seconds, radians, m^2, USD). The packaged ``catalog.yaml`` keeps the public source of
each figure next to it; ``notional: true`` marks figures chosen by us where no source gave one.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shieldwall.core.types import ThreatClass


class _Record(BaseModel):
    # Finite floats only: a catalog given by a user cannot carry nan or inf into the models.
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class Envelope(_Record):
    """Engagement envelope of an interceptor against one target class (intercept-point limits)."""

    min_range_m: float = Field(ge=0)
    max_range_m: float = Field(gt=0)
    min_alt_m: float = Field(ge=0)
    max_alt_m: float = Field(gt=0)


class ThreatType(_Record):
    """A threat type (Iskander-M class, Shahed-136 class, ...)."""

    name: str                      # registry name used in scenarios, e.g. "iskander-m"
    label: str                     # human label, e.g. "Iskander-M class (9M723)"
    threat_class: ThreatClass
    # profile: "quasi_ballistic" | "aeroballistic" | "cruise" | "dive_cruise" | "drone"
    profile: str
    max_range_m: float = Field(gt=0)
    # cruise speed (air-breathers) or nominal burnout speed scale
    speed_mps: float = Field(gt=0)
    cruise_alt_m: float = Field(ge=0, default=0.0)   # air-breathers: cruise height above ground
    launch_alt_m: float = Field(ge=0, default=0.0)   # air-launched types: release altitude
    # air-launched types: carrier speed at release
    launch_speed_mps: float = Field(ge=0, default=0.0)
    apogee_alt_m: float = Field(ge=0, default=0.0)   # ballistic/aeroballistic/dive: nominal apogee
    # dive_cruise / aeroballistic: terminal dive ground range
    dive_range_m: float = Field(ge=0, default=0.0)
    # quasi-ballistic terminal maneuver magnitude
    terminal_maneuver_g: float = Field(ge=0, default=0.0)
    terminal_maneuver_alt_m: float = Field(ge=0, default=0.0)  # maneuver starts below this altitude
    ballistic_coefficient_kg_m2: float = Field(gt=0, default=1e4)  # m / (Cd A), drag model
    rcs_m2: float = Field(gt=0)
    swerling: int = Field(ge=0, le=4, default=1)
    warhead_kg: float = Field(ge=0)
    lethal_radius_m: float = Field(ge=0)   # radius inside which an asset is destroyed (decoys: 0)
    cep_m: float = Field(ge=0)             # circular error probable about the aim point
    reliability: float = Field(gt=0, le=1)  # probability of not failing in flight
    unit_cost_usd: float = Field(ge=0)


class Radar(_Record):
    """A radar. Detection follows the radar range equation (see ``shieldwall.sensors``)."""

    name: str
    label: str
    role: str                        # "fire_control" | "surveillance" | "early_warning"
    peak_power_w: float = Field(gt=0)
    antenna_gain_db: float
    frequency_hz: float = Field(gt=0)
    bandwidth_hz: float = Field(gt=0)
    noise_figure_db: float = Field(ge=0)
    losses_db: float = Field(ge=0)
    pulses_integrated: int = Field(ge=1, default=1)
    pfa: float = Field(gt=0, lt=1, default=1e-6)
    max_range_m: float = Field(gt=0)           # instrumented range
    min_elevation_rad: float = -0.02
    max_elevation_rad: float = 1.4
    sector_half_width_rad: float | None = None  # None: 360 degree coverage about the heading
    antenna_height_m: float = Field(ge=0, default=10.0)
    scan_period_s: float = Field(gt=0)
    sigma_range_m: float = Field(gt=0)
    sigma_azimuth_rad: float = Field(gt=0)
    sigma_elevation_rad: float = Field(gt=0)
    sigma_range_rate_mps: float = Field(gt=0, default=1.0)
    false_alarms_per_scan: float = Field(ge=0, default=0.0)


class PassiveSensor(_Record):
    """A passive angle-only sensor (an infrared search and track, IRST): azimuth and elevation,
    no range. Detection follows the point-source irradiance model of ``sensors.passive``,
    calibrated by one figure: the per-scan ``reference_pd`` against the reference target at
    ``reference_range_m``."""

    name: str
    label: str
    role: str                        # "irst"
    reference_range_m: float = Field(gt=0)     # range of the quoted detection figure
    reference_pd: float = Field(gt=0, lt=1, default=0.9)  # per-scan Pd there
    pfa: float = Field(gt=0, lt=1, default=1e-6)  # per resolution cell and scan
    extinction_per_m: float = Field(ge=0, default=0.0)  # atmospheric extinction coefficient
    max_range_m: float = Field(gt=0)           # processing range (beyond it nothing is reported)
    min_elevation_rad: float = -0.02
    max_elevation_rad: float = 0.35
    sector_half_width_rad: float | None = None  # None: 360 degree coverage about the heading
    antenna_height_m: float = Field(ge=0, default=10.0)
    scan_period_s: float = Field(gt=0)
    sigma_azimuth_rad: float = Field(gt=0)
    sigma_elevation_rad: float = Field(gt=0)
    false_alarms_per_scan: float = Field(ge=0, default=0.0)

    @model_validator(mode="after")
    def _consistent(self) -> PassiveSensor:
        if self.reference_pd <= self.pfa:
            raise ValueError(f"reference_pd {self.reference_pd:g} must exceed pfa {self.pfa:g}")
        if self.min_elevation_rad >= self.max_elevation_rad:
            raise ValueError("min_elevation_rad must be below max_elevation_rad")
        return self


class Interceptor(_Record):
    """An interceptor (or, for guns, one aimed burst)."""

    name: str
    label: str
    kill_mechanism: str              # "hit_to_kill" | "blast_fragmentation" | "gun"
    envelopes: dict[ThreatClass, Envelope]  # target classes it may engage; absent class: never
    max_speed_mps: float = Field(gt=0)      # speed at burnout
    burn_time_s: float = Field(ge=0)        # boost duration (speed rises linearly to max)
    speed_decay_s: float = Field(gt=0)      # after burnout speed decays as exp(-t/tau) ...
    min_speed_mps: float = Field(gt=0)      # ... down to this floor; below it the round is spent
    max_time_of_flight_s: float = Field(gt=0)
    max_accel_g: float = Field(ge=0)        # lateral acceleration limit (0: unguided, e.g. gun)
    navigation_ratio: float = Field(ge=0)   # proportional navigation constant N
    seeker_range_m: float = Field(ge=0)     # terminal homing acquisition range (0: command/none)
    lethal_radius_m: float = Field(gt=0)    # miss distance scale of the lethality model
    pk_max: float = Field(gt=0, le=1)       # single-shot kill probability at zero miss
    unit_cost_usd: float = Field(ge=0)


class AirDefenseSystem(_Record):
    """A fire-unit type: its radar, the interceptors it may load and its timelines."""

    name: str
    label: str
    radar: str                                   # Radar.name
    interceptors: tuple[str, ...]                # Interceptor.name values it may load
    launchers: int = Field(ge=1)                 # default launchers per battery
    rounds_per_launcher: dict[str, int]          # per interceptor name
    fire_channels: int = Field(ge=1)             # simultaneous guided engagements
    launch_interval_s: float = Field(ge=0)       # between launches of one battery
    reaction_time_s: float = Field(ge=0)         # from engagement decision to first launch
    kill_assessment_delay_s: float = Field(ge=0) # after the intercept time
    kill_assessment_pcorrect: float = Field(gt=0, le=1, default=0.95)
    reload_time_s: float = Field(ge=0, default=0.0)  # 0: no reload within a raid


class ComponentGroup(_Record):
    """A group of an asset's components and how its capacity follows from their states.

    Components sharing a ``train`` are in series (a train works as the product of its
    components' states); the group's capacity ``c`` in [0, 1] follows from its n trains'
    states ``s_t`` in [0, 1] by ``rule``:

    - ``capacity``: ``c = min(1, sum(s_t) / (n - spare))`` -- each train carries an equal share
      of the load; ``spare = 0`` loses 1/n per train, ``spare = 1`` is an N-1 design (the first
      loss costs nothing);
    - ``k_out_of_n``: ``c = 1`` when ``sum(s_t) >= k``, else 0 (redundant paths, e.g. one of
      two bus sections suffices);
    - ``weighted``: ``c = sum(w_t s_t) / sum(w_t)`` with the trains' ``share`` weights (city
      districts by population share).

    The asset's function is the product of its groups' capacities (groups in series).
    """

    name: str
    rule: Literal["capacity", "k_out_of_n", "weighted"]
    spare: int = Field(ge=0, default=0)    # capacity: redundant trains (N - spare carry the load)
    k: int = Field(ge=1, default=1)        # k_out_of_n: trains needed


class AssetComponent(_Record):
    """A critical component of an asset, placed about the asset's position.

    ``kind``: ``point`` components (a transformer, a generating unit) are destroyed or not;
    ``area`` components (a city district) lose the fraction of their disc inside the lethal
    radius (damage compounds on what is left). ``overpressure_pa`` is the component's hardness:
    the peak incident overpressure that puts it out of service (``engine.damage`` turns it into
    a lethal radius against each warhead by cube-root blast scaling).
    """

    name: str
    role: str                          # e.g. "autotransformer", "generating_unit", "district"
    kind: Literal["point", "area"]
    group: str                         # ComponentGroup.name
    train: str | None = None           # components of one train are in series (default: own)
    east_m: float                      # offset from the asset's position, local ENU (m)
    north_m: float
    radius_m: float = Field(gt=0)      # radius of its presented (plan) area
    overpressure_pa: float = Field(gt=0)
    share: float = Field(gt=0, default=1.0)  # weight in a ``weighted`` group (train: the sum)


class AssetTemplate(_Record):
    """The component template of one asset kind (``scenario.models.AssetKind``).

    Offsets and radii are for an asset of ``reference_radius_m``; with ``scales_with_radius``
    (area assets such as a city) they are scaled by ``asset.radius_m / reference_radius_m``,
    otherwise (equipment of fixed size) they are used as written.
    """

    name: str                          # the asset kind
    label: str
    reference_radius_m: float = Field(gt=0)
    scales_with_radius: bool = False
    groups: tuple[ComponentGroup, ...]
    components: tuple[AssetComponent, ...]

    @model_validator(mode="after")
    def _consistent(self) -> AssetTemplate:
        names = [c.name for c in self.components]
        if len(set(names)) != len(names):
            raise ValueError("component names must be unique")
        groups = {g.name: g for g in self.groups}
        if len(groups) != len(self.groups):
            raise ValueError("group names must be unique")
        for c in self.components:
            if c.group not in groups:
                raise ValueError(f"component {c.name!r}: unknown group {c.group!r}")
        for g in self.groups:
            trains = {c.train or c.name for c in self.components if c.group == g.name}
            if not trains:
                raise ValueError(f"group {g.name!r} has no components")
            if g.rule == "capacity" and g.spare >= len(trains):
                raise ValueError(f"group {g.name!r}: spare {g.spare} must be below its "
                                 f"{len(trains)} trains")
            if g.rule == "k_out_of_n" and g.k > len(trains):
                raise ValueError(f"group {g.name!r}: k {g.k} exceeds its {len(trains)} trains")
        for c in self.components:
            others = [o for o in self.components if (o.train or o.name) == (c.train or c.name)]
            if any(o.group != c.group for o in others):
                raise ValueError(f"train {c.train or c.name!r} spans several groups")
        return self


class Catalog(_Record):
    """All catalog records, keyed by name."""

    threats: dict[str, ThreatType]
    radars: dict[str, Radar]
    passive_sensors: dict[str, PassiveSensor] = Field(default_factory=dict)
    interceptors: dict[str, Interceptor]
    systems: dict[str, AirDefenseSystem]
    # component templates by asset kind (engine.damage); a kind without one is a single area
    asset_templates: dict[str, AssetTemplate] = Field(default_factory=dict)
    # "<kind>.<name>.<field>" -> source info (source, confidence, note, as_written)
    sources: dict[str, dict[str, str]] = Field(default_factory=dict)
