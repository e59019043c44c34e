"""Gun acquisition (the ``GunAcquisition`` role): which object an unguided gun burst takes.

A gun round is one aimed burst flown unguided to its predicted intercept point. Once the burst
is within ``proximity_m`` of that point it takes the live object nearest it inside a cone of
half-angle ``cone_rad`` about its velocity (``weapons.acquire_targets``) -- the physical burst
and its fuze, so it reads truth, like a seeker. The engine then flies it at that object and the
``Lethality`` resolves its closest approach.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shieldwall.core.types import BoolArray, FloatArray, IntArray
from shieldwall.weapons import acquire_targets


@dataclass(frozen=True)
class ProximityConeGun:
    """Acquisition of a burst near its aim point (``proximity_cone``).

    Attributes
    ----------
    proximity_m : a burst acquires once this close to its aim point, and only objects this
        close to it (m). Default 1500.
    cone_rad : half-angle of the cone ahead of the burst it acquires in (rad). Default 20 deg.
    """

    proximity_m: float = 1500.0
    cone_rad: float = float(np.radians(20.0))

    def acquire(self, burst_pos_ecef: FloatArray, burst_vel_ecef: FloatArray,
                aim_ecef: FloatArray, target_pos_ecef: FloatArray, alive: BoolArray
                ) -> IntArray:
        out = np.full(len(burst_pos_ecef), -1, np.int64)
        near = np.flatnonzero(np.linalg.norm(np.asarray(burst_pos_ecef) - np.asarray(aim_ecef),
                                             axis=1) < self.proximity_m)
        if near.size:
            out[near] = acquire_targets(burst_pos_ecef[near], burst_vel_ecef[near],
                                        aim_ecef[near], target_pos_ecef, alive,
                                        self.proximity_m, self.cone_rad)
        return out
