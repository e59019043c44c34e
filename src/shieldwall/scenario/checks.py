"""Checks that need more than one field: references to the catalog and to asset ids, unique ids,
geography (everything within ``MAX_DISTANCE_FROM_ORIGIN_M`` of the origin, threats able to reach
their aim points), and the resolution of catalog defaults (launcher loads).

Each problem is a ``ScenarioIssue`` with the path of the offending field, so the loader can point
at the file line.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from shieldwall.catalog.types import Catalog
from shieldwall.geo import ground_distance_m
from shieldwall.scenario.models import Asset, Battery, LauncherGroup, Scenario, Sensor

MAX_DISTANCE_FROM_ORIGIN_M = 3_000_000.0

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class ScenarioIssue:
    """One problem: the field path (``("raid", "waves", 2, "count")``) and what is wrong."""

    path: Path
    message: str


def format_path(path: Sequence[str | int]) -> str:
    """``("raid", "waves", 2, "count")`` -> ``"raid.waves[2].count"``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def unknown_name_message(kind: str, name: str, valid: Iterable[str]) -> str:
    """``unknown system 'patriott' (did you mean 'patriot'?); valid: gepard, hawk, ...``."""
    names = sorted(valid)
    close = difflib.get_close_matches(name, names, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"unknown {kind} '{name}'{hint}; valid: {', '.join(names)}"


def _duplicate_ids(scenario: Scenario) -> list[ScenarioIssue]:
    issues: list[ScenarioIssue] = []
    seen: dict[str, str] = {}
    groups: tuple[tuple[str, Sequence[Asset | Sensor | Battery]], ...] = (
        ("assets", scenario.assets), ("sensors", scenario.sensors),
        ("batteries", scenario.batteries))
    for section, items in groups:
        for i, item in enumerate(items):
            ident = item.id
            where = f"{section}[{i}]"
            if ident in seen:
                issues.append(ScenarioIssue((section, i, "id"),
                                            f"duplicate id '{ident}' (already used by "
                                            f"{seen[ident]}); ids must be unique"))
            else:
                seen[ident] = where
    return issues


def _points(scenario: Scenario) -> tuple[list[Path], list[float], list[float], list[float]]:
    """Every position in the file with its path and an allowance (launch disc radius)."""
    paths: list[Path] = []
    lat: list[float] = []
    lon: list[float] = []
    extra: list[float] = []

    def add(path: Path, la: float, lo: float, radius_m: float = 0.0) -> None:
        paths.append(path)
        lat.append(la)
        lon.append(lo)
        extra.append(radius_m)

    sited: tuple[tuple[str, Sequence[Asset | Sensor | Battery]], ...] = (
        ("assets", scenario.assets), ("sensors", scenario.sensors),
        ("batteries", scenario.batteries))
    for section, items in sited:
        for i, item in enumerate(items):
            add((section, i, "lat_deg"), item.lat_deg, item.lon_deg)
    for w, wave in enumerate(scenario.raid.waves):
        add(("raid", "waves", w, "launch"), wave.launch.lat_deg, wave.launch.lon_deg,
            wave.launch.radius_km * 1e3)
        for k, p in enumerate(wave.aim_points or []):
            add(("raid", "waves", w, "aim_points", k), p.lat_deg, p.lon_deg)
        for k, p in enumerate(wave.route):
            add(("raid", "waves", w, "route", k), p.lat_deg, p.lon_deg)
    return paths, lat, lon, extra


def _geography(scenario: Scenario) -> list[ScenarioIssue]:
    paths, lat, lon, extra = _points(scenario)
    distance_m = ground_distance_m(scenario.origin.lat_deg, scenario.origin.lon_deg,
                                   np.asarray(lat), np.asarray(lon)) + np.asarray(extra)
    far = np.flatnonzero(distance_m > MAX_DISTANCE_FROM_ORIGIN_M)
    return [ScenarioIssue(paths[i], f"position is {distance_m[i] / 1e3:.0f} km from the origin "
                                    f"({scenario.origin.lat_deg:g}, {scenario.origin.lon_deg:g});"
                                    f" everything must lie within "
                                    f"{MAX_DISTANCE_FROM_ORIGIN_M / 1e3:.0f} km of it")
            for i in far]


def _path_length_m(lat: Sequence[float], lon: Sequence[float]) -> float:
    a, b = np.asarray(lat, float), np.asarray(lon, float)
    return float(np.sum(ground_distance_m(a[:-1], b[:-1], a[1:], b[1:])))


def _launchers(battery: Battery, index: int, catalog: Catalog) -> list[ScenarioIssue]:
    system = catalog.systems[battery.system]
    issues: list[ScenarioIssue] = []
    for k, group in enumerate(battery.launchers or []):
        path: Path = ("batteries", index, "launchers", k, "interceptor")
        if group.interceptor not in catalog.interceptors:
            issues.append(ScenarioIssue(path, unknown_name_message(
                "interceptor", group.interceptor, catalog.interceptors)))
        elif group.interceptor not in system.interceptors:
            issues.append(ScenarioIssue(path, (
                f"interceptor '{group.interceptor}' cannot be loaded on a '{battery.system}' "
                f"battery; it loads: {', '.join(system.interceptors)}")))
    return issues


def check_scenario(scenario: Scenario, catalog: Catalog) -> list[ScenarioIssue]:
    """All cross-field problems of a structurally valid scenario, in file order of sections.

    Checks: unique ids over assets, sensors and batteries; every position within
    ``MAX_DISTANCE_FROM_ORIGIN_M`` of the origin (great circle); catalog names of radars, systems,
    interceptors (and that the system can load them), threats and reserve keys; wave targets
    naming existing assets; each threat type able to fly launch -> route -> aim point within its
    ``max_range_m`` (the launch disc's far edge included).
    """
    issues = _duplicate_ids(scenario)
    issues += _geography(scenario)
    for i, sensor in enumerate(scenario.sensors):
        records = getattr(catalog, sensor.catalog_section)  # the section of its kind
        if sensor.radar not in records:
            label = "radar" if sensor.kind == "radar" else f"{sensor.kind} sensor"
            issues.append(ScenarioIssue(("sensors", i, "radar"),
                                        unknown_name_message(label, sensor.radar, records)))
    for i, battery in enumerate(scenario.batteries):
        if battery.system not in catalog.systems:
            issues.append(ScenarioIssue(("batteries", i, "system"),
                                        unknown_name_message("system", battery.system,
                                                             catalog.systems)))
        else:
            issues += _launchers(battery, i, catalog)
    for key in scenario.doctrine.reserve_fraction:
        if key not in catalog.interceptors:
            issues.append(ScenarioIssue(("doctrine", "reserve_fraction", key),
                                        unknown_name_message("interceptor", key,
                                                             catalog.interceptors)))
    assets = {a.id: a for a in scenario.assets}
    for w, wave in enumerate(scenario.raid.waves):
        if wave.threat not in catalog.threats:
            issues.append(ScenarioIssue(("raid", "waves", w, "threat"),
                                        unknown_name_message("threat", wave.threat,
                                                             catalog.threats)))
        aims: list[tuple[Path, float, float]] = []
        for k, target in enumerate(wave.targets or []):
            path: Path = ("raid", "waves", w, "targets", k)
            if target not in assets:
                close = difflib.get_close_matches(target, list(assets), n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                issues.append(ScenarioIssue(path, (
                    f"aim point '{target}' is no asset{hint}; asset ids: "
                    f"{', '.join(sorted(assets))}")))
            else:
                aims.append((path, assets[target].lat_deg, assets[target].lon_deg))
        for k, p in enumerate(wave.aim_points or []):
            aims.append((("raid", "waves", w, "aim_points", k), p.lat_deg, p.lon_deg))
        if wave.threat in catalog.threats:
            threat = catalog.threats[wave.threat]
            for path, la, lo in aims:
                lats = [wave.launch.lat_deg, *(p.lat_deg for p in wave.route), la]
                lons = [wave.launch.lon_deg, *(p.lon_deg for p in wave.route), lo]
                length_m = _path_length_m(lats, lons) + wave.launch.radius_km * 1e3
                if length_m > threat.max_range_m:
                    issues.append(ScenarioIssue(path, (
                        f"'{wave.threat}' cannot reach this aim point: the flight path "
                        f"(launch{' -> route' if wave.route else ''} -> aim) is up to "
                        f"{length_m / 1e3:.0f} km, its range is {threat.max_range_m / 1e3:.0f} km"
                    )))
    return issues


def resolve_scenario(scenario: Scenario, catalog: Catalog) -> Scenario:
    """Fill catalog defaults so the scenario is explicit: launcher groups and rounds per launcher.

    A battery without ``launchers`` gets the system's launcher count loaded with its first
    interceptor; a group without ``rounds`` gets the system's ``rounds_per_launcher``. The result
    is a fixed point: resolving it again returns an equal scenario. Call on a scenario without
    ``check_scenario`` issues.
    """
    batteries = []
    for battery in scenario.batteries:
        system = catalog.systems[battery.system]
        groups = battery.launchers or [LauncherGroup(interceptor=system.interceptors[0],
                                                     count=system.launchers)]
        groups = [g if g.rounds is not None else g.model_copy(
            update={"rounds": system.rounds_per_launcher[g.interceptor]}) for g in groups]
        batteries.append(battery.model_copy(update={"launchers": groups}))
    return scenario.model_copy(update={"batteries": batteries})
