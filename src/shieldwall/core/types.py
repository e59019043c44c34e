"""Array aliases and the small vocabularies every layer shares.

Shapes are written in docstrings as ``(n, 3)`` etc.; positions are ECEF metres unless a name
says otherwise (``pos_enu``), velocities m/s, times seconds from scenario start, angles radians.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


class ThreatClass(StrEnum):
    """Kinematic class of a threat (what the doctrine and the envelopes are keyed on)."""

    BALLISTIC = "ballistic"          # ballistic and quasi-ballistic missiles (Iskander class)
    AEROBALLISTIC = "aeroballistic"  # air-launched aero-ballistic / hypersonic (Kinzhal class)
    CRUISE = "cruise"                # subsonic low-level and supersonic diving cruise missiles
    DRONE = "drone"                  # one-way attack drones (Shahed class)
    DECOY = "decoy"                  # decoy drones (Gerbera class); no warhead


class Fate(StrEnum):
    """How a threat ends; every threat ends in exactly one."""

    INTERCEPTED = "intercepted"  # killed by an interceptor
    LEAKED = "leaked"            # reached its aim point (with its dispersion)
    CRASHED = "crashed"          # fell short (reliability failure, fuel)
    EXPIRED = "expired"          # still flying when the scenario ended


THREAT_CLASSES: tuple[ThreatClass, ...] = tuple(ThreatClass)
FATES: tuple[Fate, ...] = tuple(Fate)
