"""The static world of one run: everything built from the scenario before the first step.

Nothing here changes during a run; the mutable run state lives in ``engine.state``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from shieldwall import geo
from shieldwall.c2 import AssetTable, Doctrine, FireUnitTable
from shieldwall.catalog import load_catalog
from shieldwall.catalog.types import Catalog, Interceptor, ThreatType
from shieldwall.core.types import FloatArray, IntArray, ThreatClass
from shieldwall.core.vocabulary import SENSOR_CATALOG_SECTIONS
from shieldwall.engine.damage import ComponentTable, build_component_table
from shieldwall.engine.factory import REGISTRY
from shieldwall.scenario import Scenario
from shieldwall.scenario.models import Doctrine as DoctrineSettings
from shieldwall.sensors import RadarSite
from shieldwall.threats import WaveSpec


def doctrine_from_settings(settings: DoctrineSettings) -> Doctrine:
    """The battle manager's doctrine from the scenario's ``doctrine`` block (the scenario model
    documents its fields and defaults; c2 takes the plain dataclass)."""
    return Doctrine(salvo={ThreatClass(k): int(v) for k, v in settings.salvo.model_dump().items()},
                    policy=settings.policy, min_pk=settings.min_pk,
                    cost_aware=settings.cost_aware,
                    cost_per_value_usd=settings.cost_per_value_usd,
                    reserve_fraction=dict(settings.reserve_fraction),
                    max_engagements_per_threat=settings.max_engagements_per_threat,
                    assigner=settings.assigner)


@dataclass(frozen=True)
class World:
    """Static description of one run.

    ``sites`` holds every sensor site (stand-alone sensors first, each of its
    ``sensor_kind[i]``: a ``sensors.RadarSite`` for radars, then one radar per battery);
    ``battery_site[u]`` is the sensor id of battery ``u``'s own radar. ``interceptors`` are the
    k interceptor types present in the laydown (the columns of the inventory).
    """

    scenario: Scenario
    catalog: Catalog
    time_s: FloatArray
    dt_s: float
    assets: AssetTable
    asset_lat_lon: FloatArray
    sites: tuple[Any, ...]
    site_label: tuple[str, ...]
    sensor_kind: tuple[str, ...]
    battery_site: IntArray
    units: FireUnitTable
    unit_system: tuple[str, ...]
    interceptors: tuple[Interceptor, ...]
    rounds0: IntArray
    fire_channels: IntArray
    launch_interval_s: FloatArray
    ka_delay_s: FloatArray
    ka_pcorrect: FloatArray
    waves: tuple[WaveSpec, ...]
    threat_types: dict[str, ThreatType]
    doctrine: Doctrine
    #: the assets' critical components, laid out from the catalog's templates (engine.damage)
    components: ComponentTable


def build_world(scenario: Scenario, catalog: Catalog | None = None) -> World:
    """Resolve catalog references and convert the scenario to the model layers' types."""
    cat = catalog or load_catalog()
    dt = float(scenario.dt_s)
    n_steps = int(np.floor(scenario.duration_s / dt + 1e-9)) + 1
    time_s = np.arange(n_steps, dtype=float) * dt

    a = scenario.assets
    lat = np.array([x.lat_deg for x in a], float)
    lon = np.array([x.lon_deg for x in a], float)
    alt = np.array([x.alt_m for x in a], float)
    assets = AssetTable(asset_id=[x.id for x in a], kind=[str(x.kind) for x in a],
                        pos_ecef=geo.geodetic2ecef(lat, lon, alt).reshape(-1, 3),
                        value=np.array([x.value for x in a], float),
                        radius_m=np.array([x.radius_m for x in a], float))

    sites: list[Any] = []
    labels: list[str] = []
    kinds: list[str] = []
    for s in scenario.sensors:
        # The site type of the sensor's kind, from its record in the kind's catalog section.
        kind = str(s.kind)
        record = getattr(cat, SENSOR_CATALOG_SECTIONS[kind])[s.radar]
        sites.append(REGISTRY["sensor"][kind].site(
            len(sites), s.id, record, s.lat_deg, s.lon_deg, s.alt_m,
            float(np.radians(s.heading_deg))))
        labels.append(s.id)
        kinds.append(kind)

    # Interceptor types present in the laydown, in order of first appearance.
    names: list[str] = []
    for b in scenario.batteries:
        for ln in _launchers(b, cat):
            if ln[0] not in names:
                names.append(ln[0])
    interceptors = tuple(cat.interceptors[n] for n in names)

    u = len(scenario.batteries)
    rounds0 = np.zeros((u, len(names)), np.int64)
    battery_site = np.zeros(u, np.int64)
    pos = np.zeros((u, 3))
    rot = np.zeros((u, 3, 3))
    heading = np.zeros(u)
    half = np.zeros(u)
    rrange = np.zeros(u)
    react = np.zeros(u)
    channels = np.zeros(u, np.int64)
    interval = np.zeros(u)
    ka_delay = np.zeros(u)
    ka_p = np.zeros(u)
    systems: list[str] = []
    for i, b in enumerate(scenario.batteries):
        system = cat.systems[b.system]
        radar = cat.radars[system.radar]
        systems.append(b.system)
        for name, count, per in _launchers(b, cat):
            rounds0[i, names.index(name)] += count * per
        head = float(np.radians(b.radar_heading_deg))
        site = RadarSite(sensor_id=len(sites), name=f"{b.id}/{system.radar}", radar=radar,
                         lat_deg=b.lat_deg, lon_deg=b.lon_deg, alt_m=b.alt_m, heading_rad=head)
        battery_site[i] = site.sensor_id
        sites.append(site)
        labels.append(b.id)
        kinds.append("radar")
        pos[i] = geo.geodetic2ecef(b.lat_deg, b.lon_deg, b.alt_m).reshape(3)
        rot[i] = geo.enu_rotation(b.lat_deg, b.lon_deg)
        heading[i] = head
        half[i] = np.inf if radar.sector_half_width_rad is None else radar.sector_half_width_rad
        rrange[i] = radar.max_range_m
        react[i] = system.reaction_time_s
        channels[i] = system.fire_channels
        interval[i] = system.launch_interval_s
        ka_delay[i] = system.kill_assessment_delay_s
        ka_p[i] = system.kill_assessment_pcorrect
    units = FireUnitTable(unit_id=[b.id for b in scenario.batteries], system=systems,
                          pos_ecef=pos, rotation=rot, heading_rad=heading,
                          sector_half_width_rad=half, radar_range_m=rrange,
                          reaction_time_s=react)

    asset_index = {x.id: i for i, x in enumerate(a)}
    waves = []
    for w in scenario.raid.waves:
        targets = tuple(asset_index[t] for t in (w.targets or ()))
        aims = tuple((p.lat_deg, p.lon_deg) for p in (w.aim_points or ()))
        waves.append(WaveSpec(
            threat_type=w.threat, count=int(w.count),
            launch_center_lat_deg=w.launch.lat_deg, launch_center_lon_deg=w.launch.lon_deg,
            launch_radius_m=float(w.launch.radius_km) * 1000.0,
            launch_start_s=float(w.launch_window_s[0]), launch_end_s=float(w.launch_window_s[1]),
            aim_assets=targets, aim_points_lat_lon=aims, aim_dispersion_m=float(w.dispersion_m),
            route_lat_lon=tuple((p.lat_deg, p.lon_deg) for p in (w.route or ()))))

    doctrine = doctrine_from_settings(scenario.doctrine)
    return World(scenario=scenario, catalog=cat, time_s=time_s, dt_s=dt, assets=assets,
                 asset_lat_lon=np.stack([lat, lon], axis=-1), sites=tuple(sites),
                 site_label=tuple(labels), sensor_kind=tuple(kinds),
                 battery_site=battery_site, units=units,
                 unit_system=tuple(systems), interceptors=interceptors, rounds0=rounds0,
                 fire_channels=channels, launch_interval_s=interval, ka_delay_s=ka_delay,
                 ka_pcorrect=ka_p, waves=tuple(waves), threat_types=dict(cat.threats),
                 doctrine=doctrine,
                 components=build_component_table(
                     assets.kind, lat, lon, alt, assets.radius_m, cat.asset_templates))


def _launchers(battery: object, cat: Catalog) -> list[tuple[str, int, int]]:
    """(interceptor name, launcher count, rounds per launcher) of a battery."""
    system = cat.systems[battery.system]  # type: ignore[attr-defined]
    out = []
    launchers = getattr(battery, "launchers", None)
    if not launchers:
        first = system.interceptors[0]
        return [(first, system.launchers, system.rounds_per_launcher[first])]
    for ln in launchers:
        per = ln.rounds if ln.rounds is not None else system.rounds_per_launcher[ln.interceptor]
        out.append((ln.interceptor, int(ln.count), int(per)))
    return out
