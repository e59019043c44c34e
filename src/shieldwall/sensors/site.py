"""The geometry of a sensor site, shared by every sensor kind (radar, IRST).

A site stands at a WGS84 geodetic position with its antenna (or optical head) some height
above the ground; every kind needs the same three derived values, computed once when the site
is built and read-only afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass

from shieldwall import geo
from shieldwall.core.types import FloatArray


@dataclass(frozen=True)
class SiteFrame:
    """Derived geometry of a site.

    Attributes
    ----------
    origin_ecef : (3,) ECEF of the antenna, m (read-only)
    rotation : (3, 3) ECEF -> local ENU rotation at the site (read-only)
    horizon_alt_m : height of the antenna recovered from ``origin_ecef`` exactly as
        ``geo.line_of_sight_clear`` recomputes it on every call, m
    """

    origin_ecef: FloatArray
    rotation: FloatArray
    horizon_alt_m: float


def site_frame(lat_deg: float, lon_deg: float, antenna_alt_m: float) -> SiteFrame:
    """The frame of a site whose antenna is ``antenna_alt_m`` above the ellipsoid."""
    origin = geo.geodetic2ecef(lat_deg, lon_deg, antenna_alt_m).reshape(3)
    rotation = geo.enu_rotation(lat_deg, lon_deg)
    origin.setflags(write=False)
    rotation.setflags(write=False)
    return SiteFrame(origin, rotation, float(geo.altitude_m(origin.reshape(1, 3))[0]))


def install_site_frame(site: object, lat_deg: float, lon_deg: float,
                       antenna_alt_m: float) -> None:
    """Set ``origin_ecef``, ``rotation`` and ``horizon_alt_m`` on a frozen site dataclass
    (from its ``__post_init__``)."""
    frame = site_frame(lat_deg, lon_deg, antenna_alt_m)
    object.__setattr__(site, "origin_ecef", frame.origin_ecef)
    object.__setattr__(site, "rotation", frame.rotation)
    object.__setattr__(site, "horizon_alt_m", frame.horizon_alt_m)
