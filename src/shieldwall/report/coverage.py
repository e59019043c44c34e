"""Horizon-limited radar coverage for the report: how far each radar sees a target at height h.

A radar on a smooth earth sees a target only while the straight ray between them clears the
surface. With standard refraction (the effective earth radius ``k R``, ``k = 4/3``) the longest
such ray is the sum of the two tangent lengths (``shieldwall.geo.radar_horizon_range_m``)::

    d_horizon = sqrt(2 k R h_a + h_a^2) + sqrt(2 k R h_t + h_t^2)
              ~= 4.12 km (sqrt(h_a / m) + sqrt(h_t / m))

with ``h_a`` the antenna height above the ellipsoid (site ground height ``alt_m`` plus the mast
``antenna_height_m`` of scenario.json) and ``h_t`` the target altitude. The coverage ring drawn
for a target altitude is ``min(instrumented range, d_horizon)``: a 5 m mast sees a 30 m
sea-skimmer at about 32 km, whatever its instrumented range.

Results directories written before scenario.json carried the heights lack them; the report then
takes ``DEFAULT_SITE_ALT_M`` (0 m) and ``DEFAULT_ANTENNA_HEIGHT_M`` (10 m, the catalog's default
mast) and says so in the page.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shieldwall import geo

DEFAULT_ANTENNA_HEIGHT_M = 10.0
DEFAULT_SITE_ALT_M = 0.0
COVERAGE_ALTITUDES_M: tuple[int, ...] = (30, 100, 300, 1000, 3000, 10000)
DEFAULT_COVERAGE_ALTITUDE_M = 100
ALTITUDE_LABELS = {30: "30 m (sea-skimming)", 100: "100 m (cruise missile, drone)",
                   300: "300 m", 1000: "1,000 m", 3000: "3,000 m",
                   10000: "10,000 m (aircraft, ballistic)"}


@dataclass(frozen=True)
class CoverageSite:
    """One radar of the scenario: a battery's own radar or an early-warning sensor.

    ``antenna_alt_m`` is the antenna height above the ellipsoid (site ground + mast);
    ``heights_known`` is False when scenario.json lacked either height (defaults used).
    """

    site_id: str
    kind: str                    # "battery" | "sensor"
    lat_deg: float
    lon_deg: float
    heading_deg: float
    sector_half_width_deg: float | None
    range_m: float               # instrumented range
    antenna_alt_m: float
    heights_known: bool


def _number(value: Any, default: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return default
    return float(value)


def coverage_sites(scenario: Mapping[str, Any]) -> list[CoverageSite]:
    """The radars of a scenario.json document, batteries first, in file order."""
    out: list[CoverageSite] = []
    for kind, key, range_key in (("battery", "batteries", "radar_range_m"),
                                 ("sensor", "sensors", "range_m")):
        for rec in scenario.get(key) or []:
            if not isinstance(rec, Mapping):
                continue
            lat, lon = rec.get("lat_deg"), rec.get("lon_deg")
            if not isinstance(lat, int | float) or not isinstance(lon, int | float):
                continue
            half = rec.get("sector_half_width_deg")
            known = all(isinstance(rec.get(k), int | float) and not isinstance(rec.get(k), bool)
                        for k in ("alt_m", "antenna_height_m"))
            alt = _number(rec.get("alt_m"), DEFAULT_SITE_ALT_M)
            mast = _number(rec.get("antenna_height_m"), DEFAULT_ANTENNA_HEIGHT_M)
            out.append(CoverageSite(
                site_id=str(rec.get("id", "")), kind=kind, lat_deg=float(lat),
                lon_deg=float(lon), heading_deg=_number(rec.get("heading_deg"), 0.0),
                sector_half_width_deg=None if half is None else _number(half, 180.0),
                range_m=max(_number(rec.get(range_key), 0.0), 0.0),
                antenna_alt_m=alt + mast, heights_known=known))
    return out


def horizon_range_m(antenna_alt_m: float, target_alt_m: float) -> float:
    """Radar horizon range between an antenna and a target height, 4/3 earth, metres."""
    return float(geo.radar_horizon_range_m(antenna_alt_m, target_alt_m))


def coverage_range_m(site: CoverageSite, target_alt_m: float) -> float:
    """``min(instrumented range, horizon range)`` of a site for a target altitude, metres."""
    return min(site.range_m, horizon_range_m(site.antenna_alt_m, target_alt_m))


def coverage_table(sites: Sequence[CoverageSite],
                   altitudes_m: Sequence[float] = COVERAGE_ALTITUDES_M) -> list[list[float]]:
    """``[site][altitude]`` horizon-limited ranges, metres rounded to 0.1 m."""
    return [[round(coverage_range_m(s, h), 1) for h in altitudes_m] for s in sites]
