"""Raid generation: waves of threats -> a ``ThreatPlan`` (launch points, times, aim points).

Per wave, in this fixed order, all from the one generator passed in (so the same generator
state gives a bit-identical plan):

1. launch points uniform in a disc of radius ``launch_radius_m`` about the launch centre
   (radius ``R sqrt(u)``, bearing uniform; destination on the mean sphere), at the type's
   ``launch_alt_m`` above the ellipsoid (0 for ground launch);
2. launch times uniform in ``[launch_start_s, launch_end_s]``;
3. aim: assets (or aim points) are assigned round-robin in the wave's order (no draw);
4. aim dispersion: circular normal with ``CEP = cep_m + aim_dispersion_m``,
   ``sigma = CEP / sqrt(2 ln 2) = CEP / 1.1774`` per horizontal axis (so the median miss is
   the CEP), in the aim's local ENU frame, kept at the aim's height above the ellipsoid;
5. reliability: ``u ~ U[0, 1)`` and ``f ~ U(0.05, 0.95)``; the threat fails at fraction ``f`` of
   its nominal flight time when ``u >= reliability`` (probability ``1 - reliability``),
   else ``fails_at_fraction`` is NaN;
6. ``maneuver_seed`` integers in ``[0, 2^31 - 1)``.

Route waypoints (air-breathers only) are converted to ECEF at the type's cruise height.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from shieldwall.catalog.types import ThreatType
from shieldwall.core.errors import InputError
from shieldwall.core.types import FloatArray, IntArray, ThreatClass
from shieldwall.geo import EARTH_MEAN_RADIUS_M, ecef2geodetic, geodetic2ecef

CEP_TO_SIGMA = 1.0 / np.sqrt(2.0 * np.log(2.0))  # 1 / 1.1774
AIR_BREATHING_PROFILES = ("cruise", "dive_cruise", "drone")
BALLISTIC_PROFILES = ("quasi_ballistic", "aeroballistic")
PROFILES = BALLISTIC_PROFILES + AIR_BREATHING_PROFILES


@dataclass(frozen=True)
class WaveSpec:
    """One wave of a raid (docs/internals.md, threats).

    Parameters
    ----------
    threat_type : name of the ``ThreatType`` in the types mapping
    count : number of threats in the wave
    launch_center_lat_deg, launch_center_lon_deg : centre of the launch area (degrees)
    launch_radius_m : radius of the launch disc (m)
    launch_start_s, launch_end_s : launch time window (s from scenario start; may be negative)
    aim_assets : indices of targeted assets (round-robin); empty -> ``aim_points_lat_lon``
    aim_points_lat_lon : aim points (degrees) used when ``aim_assets`` is empty
    aim_dispersion_m : added to the type's CEP (m)
    route_lat_lon : waypoints (degrees) of cruise missiles and drones, in flight order
    """

    threat_type: str
    count: int
    launch_center_lat_deg: float
    launch_center_lon_deg: float
    launch_radius_m: float = 0.0
    launch_start_s: float = 0.0
    launch_end_s: float = 0.0
    aim_assets: tuple[int, ...] = ()
    aim_points_lat_lon: tuple[tuple[float, float], ...] = ()
    aim_dispersion_m: float = 0.0
    route_lat_lon: tuple[tuple[float, float], ...] = ()


@dataclass
class ThreatPlan:
    """Everything drawn before the flight, arrays of length n (docs/internals.md)."""

    threat_id: IntArray
    type_name: list[str]
    threat_class: list[ThreatClass]
    launch_time_s: FloatArray
    launch_ecef: FloatArray
    aim_ecef: FloatArray
    aim_asset: IntArray
    waypoints_ecef: list[FloatArray] = field(default_factory=list)
    fails_at_fraction: FloatArray = field(default_factory=lambda: np.zeros(0))
    maneuver_seed: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    wave: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))

    def __len__(self) -> int:
        return int(self.launch_time_s.shape[0])

    def subset(self, index: IntArray) -> ThreatPlan:
        """The plan of threats ``index`` (ids kept), e.g. to fly or test a part of a raid."""
        idx = np.asarray(index, np.int64)
        return ThreatPlan(
            threat_id=self.threat_id[idx], type_name=[self.type_name[i] for i in idx],
            threat_class=[self.threat_class[i] for i in idx],
            launch_time_s=self.launch_time_s[idx], launch_ecef=self.launch_ecef[idx],
            aim_ecef=self.aim_ecef[idx], aim_asset=self.aim_asset[idx],
            waypoints_ecef=[self.waypoints_ecef[i] for i in idx],
            fails_at_fraction=self.fails_at_fraction[idx],
            maneuver_seed=self.maneuver_seed[idx], wave=self.wave[idx])

    @staticmethod
    def concat(plans: Sequence[ThreatPlan]) -> ThreatPlan:
        """Join plans; threat ids are renumbered 0..n-1."""
        n = sum(len(p) for p in plans)

        def cat(name: str, shape: tuple[int, ...], dtype: type) -> np.ndarray:
            parts = [getattr(p, name) for p in plans]
            return np.concatenate(parts) if parts else np.zeros(shape, dtype)

        return ThreatPlan(
            threat_id=np.arange(n, dtype=np.int64),
            type_name=[t for p in plans for t in p.type_name],
            threat_class=[c for p in plans for c in p.threat_class],
            launch_time_s=cat("launch_time_s", (0,), float),
            launch_ecef=cat("launch_ecef", (0, 3), float),
            aim_ecef=cat("aim_ecef", (0, 3), float),
            aim_asset=cat("aim_asset", (0,), np.int64),
            waypoints_ecef=[w for p in plans for w in p.waypoints_ecef],
            fails_at_fraction=cat("fails_at_fraction", (0,), float),
            maneuver_seed=cat("maneuver_seed", (0,), np.int64),
            wave=cat("wave", (0,), np.int64))


def destination_lat_lon(lat_deg: FloatArray | float, lon_deg: FloatArray | float,
                        bearing_rad: FloatArray, distance_m: FloatArray
                        ) -> tuple[FloatArray, FloatArray]:
    """Point at ``distance_m`` along ``bearing_rad`` (clockwise from north) on the mean sphere."""
    p1, l1 = np.radians(lat_deg), np.radians(lon_deg)
    d = np.asarray(distance_m, float) / EARTH_MEAN_RADIUS_M
    sp2 = np.sin(p1) * np.cos(d) + np.cos(p1) * np.sin(d) * np.cos(bearing_rad)
    p2 = np.arcsin(np.clip(sp2, -1.0, 1.0))
    l2 = l1 + np.arctan2(np.sin(bearing_rad) * np.sin(d) * np.cos(p1),
                         np.cos(d) - np.sin(p1) * sp2)
    lon = (np.degrees(l2) + 180.0) % 360.0 - 180.0
    return np.degrees(p2), lon


def _enu_offset(base_ecef: FloatArray, east_m: FloatArray, north_m: FloatArray) -> FloatArray:
    """Move points ``(n, 3)`` by horizontal ENU offsets, keeping their ellipsoidal height."""
    lat, lon, alt = ecef2geodetic(base_ecef)
    p, lam = np.radians(lat), np.radians(lon)
    east = np.stack([-np.sin(lam), np.cos(lam), np.zeros_like(lam)], -1)
    north = np.stack([-np.sin(p) * np.cos(lam), -np.sin(p) * np.sin(lam), np.cos(p)], -1)
    moved = base_ecef + east * east_m[:, None] + north * north_m[:, None]
    lat2, lon2, _ = ecef2geodetic(moved)
    return geodetic2ecef(lat2, lon2, alt)


def _check_wave(k: int, w: WaveSpec, types: Mapping[str, ThreatType], n_assets: int) -> None:
    where = f"raid.waves[{k}]"
    if w.threat_type not in types:
        raise InputError("<input>", f"unknown threat type '{w.threat_type}' "
                         f"(known: {', '.join(sorted(types))})", field=f"{where}.threat_type")
    if types[w.threat_type].profile not in PROFILES:
        raise InputError("<input>", f"threat type '{w.threat_type}' has unknown profile "
                         f"'{types[w.threat_type].profile}' (expected one of {PROFILES})",
                         field=f"{where}.threat_type")
    if w.count < 0:
        raise InputError("<input>", "count must be >= 0", field=f"{where}.count")
    if w.launch_end_s < w.launch_start_s:
        raise InputError("<input>", "launch_end_s must be >= launch_start_s",
                         field=f"{where}.launch_end_s")
    if w.launch_radius_m < 0 or w.aim_dispersion_m < 0:
        raise InputError("<input>", "launch_radius_m and aim_dispersion_m must be >= 0",
                         field=where)
    if w.count and not w.aim_assets and not w.aim_points_lat_lon:
        raise InputError("<input>", "a wave needs aim_assets or aim_points_lat_lon",
                         field=f"{where}.aim_assets")
    bad = [a for a in w.aim_assets if not 0 <= a < n_assets]
    if bad:
        raise InputError("<input>", f"asset indices {bad} out of range (0..{n_assets - 1})",
                         field=f"{where}.aim_assets")


def dispersion_offsets_m(n: int, cep_m: float, rng: np.random.Generator) -> FloatArray:
    """(n, 2) east, north offsets (m) of impact points about their aim point: a circular
    normal with ``sigma = CEP / sqrt(2 ln 2)`` per axis, so the median radial miss is the CEP
    (step 4 of the module docstring; the one place delivery error is drawn). Draws
    ``2 n`` standard normals."""
    return rng.standard_normal((n, 2)) * (cep_m * CEP_TO_SIGMA)


def generate_raid(waves: Sequence[WaveSpec], types: Mapping[str, ThreatType],
                  asset_ecef: FloatArray, rng: np.random.Generator) -> ThreatPlan:
    """Draw a raid's launch points, times, aim points, failures and maneuver seeds.

    Parameters
    ----------
    waves : the waves, in order (threat ids follow this order)
    types : threat types by name
    asset_ecef : (n_assets, 3) ECEF positions of the defended assets (m)
    rng : the threats' random stream (module docstring gives the fixed draw order)

    Returns
    -------
    ThreatPlan with n = sum of the wave counts.
    """
    assets = np.atleast_2d(np.asarray(asset_ecef, float)).reshape(-1, 3)
    plans: list[ThreatPlan] = []
    for k, w in enumerate(waves):
        _check_wave(k, w, types, assets.shape[0])
        t = types[w.threat_type]
        n = int(w.count)
        # 1. launch points
        u = rng.random(n)
        bearing = rng.random(n) * 2.0 * np.pi
        lat, lon = destination_lat_lon(w.launch_center_lat_deg, w.launch_center_lon_deg,
                                       bearing, w.launch_radius_m * np.sqrt(u))
        launch = geodetic2ecef(lat, lon, np.full(n, t.launch_alt_m)).reshape(n, 3)
        # 2. launch times
        times = rng.uniform(w.launch_start_s, w.launch_end_s, n)
        # 3. aim assignment (round-robin)
        j = np.arange(n)
        if w.aim_assets:
            aim_asset = np.asarray(w.aim_assets, np.int64)[j % len(w.aim_assets)]
            base = assets[aim_asset]
        else:
            pts = np.asarray(w.aim_points_lat_lon, float).reshape(-1, 2)
            pick = j % len(pts)
            aim_asset = np.full(n, -1, np.int64)
            base = geodetic2ecef(pts[pick, 0], pts[pick, 1], np.zeros(n)).reshape(n, 3)
        # 4. dispersion
        offset = dispersion_offsets_m(n, t.cep_m + w.aim_dispersion_m, rng)
        aim = _enu_offset(base, offset[:, 0], offset[:, 1]) if n else base
        # 5. reliability
        u_fail = rng.random(n)
        frac = rng.uniform(0.05, 0.95, n)
        fails = np.where(u_fail >= t.reliability, frac, np.nan)
        # 6. maneuver seeds
        seeds = rng.integers(0, 2**31 - 1, n, dtype=np.int64)
        if t.profile in AIR_BREATHING_PROFILES and w.route_lat_lon:
            r = np.asarray(w.route_lat_lon, float).reshape(-1, 2)
            route = geodetic2ecef(r[:, 0], r[:, 1], np.full(len(r), t.cruise_alt_m))
            route = route.reshape(-1, 3)
        else:
            route = np.zeros((0, 3))
        plans.append(ThreatPlan(
            threat_id=np.arange(n, dtype=np.int64), type_name=[w.threat_type] * n,
            threat_class=[t.threat_class] * n, launch_time_s=times, launch_ecef=launch,
            aim_ecef=aim, aim_asset=aim_asset, waypoints_ecef=[route.copy() for _ in j],
            fails_at_fraction=fails, maneuver_seed=seeds, wave=np.full(n, k, np.int64)))
    return ThreatPlan.concat(plans)
