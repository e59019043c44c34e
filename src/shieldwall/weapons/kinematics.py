"""Interceptor speed profile and the distance it covers: shared by flyout and launch planning.

The speed profile is deliberately simple and public-data friendly::

    v(t) = v_max * t / t_b                              0 <= t < t_b   (boost, linear)
    v(t) = max(v_min, v_max * exp(-(t - t_b) / tau))     t >= t_b       (coast, drag decay)

The distance flown is the integral of v; ``time_to_distance`` inverts it (the flyout table the
battle manager uses for launch acceptability). Arrays broadcast. The formulas are written once,
in ``core.physics`` (compiled kernels and these vectorized forms); this module reads them from
the ``Interceptor`` records.
"""

from __future__ import annotations

import numpy as np

from shieldwall.catalog.types import Interceptor
from shieldwall.core.physics import (
    distance_boost_coast_array,
    speed_boost_coast_array,
    time_at_distance_boost_coast_array,
)
from shieldwall.core.types import FloatArray


def speed_at(interceptor: Interceptor, t_s: FloatArray | float) -> FloatArray:
    """Speed (m/s) at time since launch ``t_s`` (``core.physics.speed_boost_coast``)."""
    return speed_boost_coast_array(t_s, interceptor.max_speed_mps, interceptor.burn_time_s,
                                   interceptor.speed_decay_s, interceptor.min_speed_mps)


def distance_at(interceptor: Interceptor, t_s: FloatArray | float) -> FloatArray:
    """Path length (m) flown by time ``t_s`` after launch (integral of ``speed_at``;
    ``core.physics.distance_boost_coast``)."""
    return distance_boost_coast_array(t_s, interceptor.max_speed_mps, interceptor.burn_time_s,
                                      interceptor.speed_decay_s, interceptor.min_speed_mps)


def time_to_distance(interceptor: Interceptor, distance_m: FloatArray | float) -> FloatArray:
    """Time (s) after launch at which the path length reaches ``distance_m`` (inverse of
    ``distance_at``; exact, piecewise closed form, ``core.physics.time_at_distance_boost_coast``).
    Distances beyond what is flown within ``max_time_of_flight_s`` give ``inf``."""
    t = time_at_distance_boost_coast_array(distance_m, interceptor.max_speed_mps,
                                           interceptor.burn_time_s, interceptor.speed_decay_s,
                                           interceptor.min_speed_mps)
    return np.where(t <= interceptor.max_time_of_flight_s, t, np.inf)


def max_reach_m(interceptor: Interceptor) -> float:
    """Path length flown in the maximum time of flight."""
    return float(distance_at(interceptor, interceptor.max_time_of_flight_s))


def speed_profile(t_s: FloatArray, max_speed_mps: FloatArray, burn_time_s: FloatArray,
                  speed_decay_s: FloatArray, min_speed_mps: FloatArray) -> FloatArray:
    """Row-wise ``speed_at``: the same profile with per-element parameters (all broadcast).

    Lets one vectorized call serve interceptors of different types (parameters gathered by
    ``type_index``). Equal to ``speed_at(interceptor, t)`` for each row's interceptor.
    """
    return speed_boost_coast_array(t_s, max_speed_mps, burn_time_s, speed_decay_s,
                                   min_speed_mps)


def distance_profile(t_s: FloatArray, max_speed_mps: FloatArray, burn_time_s: FloatArray,
                     speed_decay_s: FloatArray, min_speed_mps: FloatArray) -> FloatArray:
    """Row-wise ``distance_at``: path length (m) flown by ``t_s`` with per-element parameters."""
    return distance_boost_coast_array(t_s, max_speed_mps, burn_time_s, speed_decay_s,
                                      min_speed_mps)
