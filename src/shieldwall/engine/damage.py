"""Damage to defended assets from warheads that reach the ground.

An asset is a disc of radius ``R`` (its ``radius_m``) carrying ``value`` spread evenly over its
area; a warhead destroys everything within its lethal radius ``r`` of the impact point (a
cookie-cutter damage function). The fraction of the asset destroyed by one impact at ground
distance ``d`` from its centre is the area of the intersection of the two discs over ``pi R^2``
(the classic lens area of two circles). Damage from successive impacts compounds on what is
left: ``remaining *= 1 - fraction`` (independent, uniformly spread damage).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shieldwall.core.types import FloatArray


def circle_overlap_area(d: FloatArray, r1: FloatArray, r2: FloatArray) -> FloatArray:
    """Area of the intersection of two discs of radii ``r1``, ``r2`` whose centres are ``d``
    apart (broadcasting). Exact: 0 when apart, ``pi min(r)^2`` when one contains the other."""
    d, r1, r2 = np.broadcast_arrays(np.asarray(d, float), np.asarray(r1, float),
                                    np.asarray(r2, float))
    out = np.zeros(d.shape)
    rmin = np.minimum(r1, r2)
    inside = d <= np.abs(r1 - r2)
    out[inside] = np.pi * rmin[inside] ** 2
    lens = (~inside) & (d < r1 + r2) & (d > 0)
    if np.any(lens):
        dd, a, b = d[lens], r1[lens], r2[lens]
        c1 = np.clip((dd**2 + a**2 - b**2) / (2 * dd * a), -1.0, 1.0)
        c2 = np.clip((dd**2 + b**2 - a**2) / (2 * dd * b), -1.0, 1.0)
        k = (-dd + a + b) * (dd + a - b) * (dd - a + b) * (dd + a + b)
        out[lens] = a**2 * np.arccos(c1) + b**2 * np.arccos(c2) - 0.5 * np.sqrt(np.clip(k, 0, None))
    return out


def damage_fraction(ground_distance_m: FloatArray, asset_radius_m: FloatArray,
                    lethal_radius_m: float | FloatArray) -> FloatArray:
    """Fraction of an asset's area (hence value) destroyed by one impact (0..1)."""
    area = circle_overlap_area(ground_distance_m, asset_radius_m,
                               np.asarray(lethal_radius_m, float))
    return np.clip(area / (np.pi * np.asarray(asset_radius_m, float) ** 2), 0.0, 1.0)


@dataclass(frozen=True)
class CookieCutterDamage:
    """``DamageModel``: the lens-area cookie cutter of this module. Distances are 3-D from
    the asset's centre (assets and impacts are both on the ground)."""

    def assess(self, impact_ecef: FloatArray, lethal_radius_m: float,
               asset_pos_ecef: FloatArray, asset_radius_m: FloatArray
               ) -> tuple[FloatArray, FloatArray]:
        dist = np.linalg.norm(np.asarray(asset_pos_ecef) - np.asarray(impact_ecef), axis=1)
        return damage_fraction(dist, asset_radius_m, lethal_radius_m), dist
