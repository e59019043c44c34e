"""Fire control of command-guided interceptors (the ``FireControl`` role): from tracks only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from shieldwall.core.types import FloatArray, IntArray


@dataclass(frozen=True)
class TrackUplink:
    """Uplink the engaged track's predicted state; hand over if the track was dropped.

    A track that breaks (a maneuvering target, a missed scan) is replaced by the confirmed track
    nearest the interceptor's dead-reckoned commanded point, if one lies within
    ``handover_radius_m`` -- fire control re-associating on tracks, never on truth.

    Attributes
    ----------
    handover_radius_m : float
        Largest distance (m) from the commanded point to a track taken over. Default 3000.
    """

    handover_radius_m: float = 3000.0

    def guide(self, tracks: Any, track_id: IntArray, aim_ecef: FloatArray,
              aim_vel_ecef: FloatArray, time_s: float, dt_s: float
              ) -> tuple[IntArray, FloatArray, FloatArray]:
        tid = np.array(track_id, np.int64, copy=True)
        aim = np.array(aim_ecef, float, copy=True)
        aim_v = np.array(aim_vel_ecef, float, copy=True)
        tslots = tracks.slots_of(tid)
        lost = np.flatnonzero(tslots < 0)
        if lost.size:
            aim[lost] += aim_v[lost] * dt_s
            conf = tracks.confirmed()
            if conf.size:
                xc, _ = tracks.predict_state(conf, time_s)
                d = np.linalg.norm(aim[lost][:, None, :] - xc[None, :, :3], axis=2)
                best = np.argmin(d, axis=1)
                ok = d[np.arange(lost.size), best] < self.handover_radius_m
                tid[lost[ok]] = tracks.track_id[conf[best[ok]]]
                tslots = tracks.slots_of(tid)
        have = tslots >= 0
        if have.any():
            x, _ = tracks.predict_state(tslots[have], time_s)
            aim[have] = x[:, :3]
            aim_v[have] = x[:, 3:]
        return tid, aim, aim_v
