"""Weapons: interceptor table and flyout (proportional navigation, in-step closest approach),
seeker acquisition, lethality (Pk from miss distance), kill assessment, launcher inventories."""

from shieldwall.weapons.flyout import (
    FlyoutModel,
    InterceptResults,
    SelfDestructReason,
    TypeParameters,
)
from shieldwall.weapons.guidance import (
    G0_MPS2,
    axial_compensation,
    closest_approach,
    gravity_ecef,
    height_above_ellipsoid_m,
    pn_acceleration,
    turn_and_advance,
)
from shieldwall.weapons.inventory import FireUnitInventory, InventoryError
from shieldwall.weapons.kinematics import (
    distance_at,
    distance_profile,
    max_reach_m,
    speed_at,
    speed_profile,
    time_to_distance,
)
from shieldwall.weapons.lethality import (
    KILL_MECHANISMS,
    assess_kills,
    draw_kills,
    pk_from_miss,
    pk_from_miss_by_type,
    pk_kernel,
)
from shieldwall.weapons.seeker import SeekerModel, acquire_targets
from shieldwall.weapons.table import InterceptorTable, geodetic_up, lofted_direction

__all__ = [
    "G0_MPS2",
    "KILL_MECHANISMS",
    "FireUnitInventory",
    "FlyoutModel",
    "InterceptResults",
    "InterceptorTable",
    "InventoryError",
    "SeekerModel",
    "SelfDestructReason",
    "TypeParameters",
    "acquire_targets",
    "axial_compensation",
    "assess_kills",
    "closest_approach",
    "distance_at",
    "distance_profile",
    "draw_kills",
    "geodetic_up",
    "gravity_ecef",
    "height_above_ellipsoid_m",
    "lofted_direction",
    "max_reach_m",
    "pk_from_miss",
    "pk_from_miss_by_type",
    "pk_kernel",
    "pn_acceleration",
    "speed_at",
    "speed_profile",
    "time_to_distance",
    "turn_and_advance",
]
