"""Shared types at the bottom of the layer stack: array aliases, enums, errors, random streams."""

from shieldwall.core.errors import InputError, ShieldwallError
from shieldwall.core.random import component_rng, replication_seed_sequence
from shieldwall.core.types import (
    BoolArray,
    Fate,
    FloatArray,
    IntArray,
    ThreatClass,
)

__all__ = [
    "BoolArray",
    "Fate",
    "FloatArray",
    "InputError",
    "IntArray",
    "ShieldwallError",
    "ThreatClass",
    "component_rng",
    "replication_seed_sequence",
]
