"""Interceptor speed profile and the distance it covers: shared by flyout and launch planning.

The speed profile is deliberately simple and public-data friendly::

    v(t) = v_max * t / t_b                              0 <= t < t_b   (boost, linear)
    v(t) = max(v_min, v_max * exp(-(t - t_b) / tau))     t >= t_b       (coast, drag decay)

The distance flown is the integral of v; ``time_to_distance`` inverts it (the flyout table the
battle manager uses for launch acceptability). Arrays broadcast.
"""

from __future__ import annotations

import numpy as np

from shieldwall.catalog.types import Interceptor
from shieldwall.core.types import FloatArray


def speed_at(interceptor: Interceptor, t_s: FloatArray | float) -> FloatArray:
    """Speed (m/s) at time since launch ``t_s``."""
    t = np.asarray(t_s, float)
    vmax, tb, tau, vmin = (interceptor.max_speed_mps, interceptor.burn_time_s,
                           interceptor.speed_decay_s, interceptor.min_speed_mps)
    boost = vmax * np.clip(t, 0.0, None) / tb if tb > 0 else np.full_like(t, vmax)
    coast = np.maximum(vmin, vmax * np.exp(-np.clip(t - tb, 0.0, None) / tau))
    return np.where(t < tb, boost, coast)


def distance_at(interceptor: Interceptor, t_s: FloatArray | float) -> FloatArray:
    """Path length (m) flown by time ``t_s`` after launch (integral of ``speed_at``)."""
    t = np.clip(np.asarray(t_s, float), 0.0, None)
    vmax, tb, tau, vmin = (interceptor.max_speed_mps, interceptor.burn_time_s,
                           interceptor.speed_decay_s, interceptor.min_speed_mps)
    boost_d = 0.5 * vmax * np.minimum(t, tb) ** 2 / tb if tb > 0 else np.zeros_like(t)
    # Coast: exponential decay until speed reaches vmin at t_floor, then constant vmin.
    t_floor = tau * np.log(vmax / vmin) if vmax > vmin else 0.0
    tc = np.clip(t - tb, 0.0, None)
    tc_exp = np.minimum(tc, t_floor)
    exp_d = vmax * tau * (1.0 - np.exp(-tc_exp / tau))
    floor_d = vmin * np.clip(tc - t_floor, 0.0, None)
    return boost_d + exp_d + floor_d


def time_to_distance(interceptor: Interceptor, distance_m: FloatArray | float) -> FloatArray:
    """Time (s) after launch at which the path length reaches ``distance_m`` (inverse of
    ``distance_at``; exact, piecewise closed form). Distances beyond what is flown within
    ``max_time_of_flight_s`` give ``inf``."""
    d = np.asarray(distance_m, float)
    vmax, tb, tau, vmin = (interceptor.max_speed_mps, interceptor.burn_time_s,
                           interceptor.speed_decay_s, interceptor.min_speed_mps)
    d_boost = 0.5 * vmax * tb
    t_floor = tau * np.log(vmax / vmin) if vmax > vmin else 0.0
    d_exp = vmax * tau * (1.0 - np.exp(-t_floor / tau))
    with np.errstate(divide="ignore", invalid="ignore"):
        t_boost = np.sqrt(2.0 * np.clip(d, 0, None) * tb / vmax) if tb > 0 else np.zeros_like(d)
        arg = 1.0 - (d - d_boost) / (vmax * tau)
        t_exp = tb - tau * np.log(np.where(arg > 0, arg, np.nan))
        t_lin = tb + t_floor + (d - d_boost - d_exp) / vmin
    t = np.where(d <= d_boost, t_boost, np.where(d <= d_boost + d_exp, t_exp, t_lin))
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
    t = np.asarray(t_s, float)
    vmax = np.asarray(max_speed_mps, float)
    tb = np.asarray(burn_time_s, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        boost = np.where(tb > 0, vmax * np.clip(t, 0.0, None) / np.where(tb > 0, tb, 1.0), vmax)
    coast = np.maximum(min_speed_mps, vmax * np.exp(-np.clip(t - tb, 0.0, None) / speed_decay_s))
    return np.where(t < tb, boost, coast)


def distance_profile(t_s: FloatArray, max_speed_mps: FloatArray, burn_time_s: FloatArray,
                     speed_decay_s: FloatArray, min_speed_mps: FloatArray) -> FloatArray:
    """Row-wise ``distance_at``: path length (m) flown by ``t_s`` with per-element parameters."""
    t = np.clip(np.asarray(t_s, float), 0.0, None)
    vmax = np.asarray(max_speed_mps, float)
    tb = np.asarray(burn_time_s, float)
    tau = np.asarray(speed_decay_s, float)
    vmin = np.asarray(min_speed_mps, float)
    boost_d = np.where(tb > 0, 0.5 * vmax * np.minimum(t, tb) ** 2 / np.where(tb > 0, tb, 1.0),
                       0.0)
    t_floor = np.where(vmax > vmin, tau * np.log(np.maximum(vmax / vmin, 1.0)), 0.0)
    tc = np.clip(t - tb, 0.0, None)
    tc_exp = np.minimum(tc, t_floor)
    exp_d = vmax * tau * (1.0 - np.exp(-tc_exp / tau))
    floor_d = vmin * np.clip(tc - t_floor, 0.0, None)
    return boost_d + exp_d + floor_d
