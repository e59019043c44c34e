"""Lethality: kill probability from miss distance, per kill mechanism, and kill assessment.

Damage functions (``m`` miss distance, ``r`` the type's ``lethal_radius_m``, ``P0`` its
``pk_max``):

- ``hit_to_kill``: body-to-body hit, a circular-normal "hit" kernel of small radius::

      Pk = P0 exp(-m^2 / (2 r^2))

- ``blast_fragmentation``: the Carleton damage function (Driels, "Weaponeering", 2nd ed.,
  the chapter on damage functions; Ball, "The Fundamentals of Aircraft Combat Survivability",
  2nd ed., on fragment warheads) with a lethal radius of metres to tens of metres::

      Pk = P0 exp(-(m / r)^2)

- ``gun``: one aimed burst whose rounds are dispersed about the burst centre with a circular
  normal of standard deviation ``r``. For a target small against the dispersion, the expected
  number of lethal hits is proportional to the dispersion density at the target,
  ``lambda(m) = lambda0 exp(-m^2 / (2 r^2))``, and hits are Poisson (Ball; Driels on
  guns: ``P_k = 1 - exp(-expected lethal hits)``), with ``lambda0 = -ln(1 - P0)`` so that
  ``Pk(0) = P0``::

      Pk = 1 - (1 - P0) ** exp(-m^2 / (2 r^2))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from shieldwall.catalog.types import Interceptor
from shieldwall.core.types import BoolArray, FloatArray, IntArray

KILL_MECHANISMS: tuple[str, ...] = ("hit_to_kill", "blast_fragmentation", "gun")


def pk_kernel(miss_m: FloatArray | float, mechanism_code: IntArray,
              lethal_radius_m: FloatArray | float, pk_max: FloatArray | float) -> FloatArray:
    """Row-wise kill probability; ``mechanism_code`` indexes ``KILL_MECHANISMS``. NaN miss -> 0.
    """
    m = np.asarray(miss_m, float)
    r = np.asarray(lethal_radius_m, float)
    p0 = np.asarray(pk_max, float)
    code = np.asarray(mechanism_code)
    gauss = np.exp(-(m**2) / (2.0 * r**2))
    htk = p0 * gauss
    blast = p0 * np.exp(-((m / r) ** 2))
    # (1 - P0)**w computed as exp(w log1p(-P0)); P0 = 1 gives 1 - 0**w = 1 (w > 0) as it should.
    with np.errstate(divide="ignore", invalid="ignore"):
        log_survive = np.log1p(-np.minimum(p0, 1.0))
        gun = np.where(gauss > 0, -np.expm1(gauss * log_survive), 0.0)
    out = np.select([code == 0, code == 1, code == 2], [htk, blast, gun], np.nan)
    return np.where(np.isfinite(m), out, 0.0)


def _code(interceptor: Interceptor) -> int:
    try:
        return KILL_MECHANISMS.index(interceptor.kill_mechanism)
    except ValueError:
        raise ValueError(f"unknown kill_mechanism {interceptor.kill_mechanism!r} of "
                         f"{interceptor.name!r}; expected one of {KILL_MECHANISMS}") from None


def pk_from_miss(miss_m: FloatArray | float, interceptor: Interceptor) -> FloatArray:
    """Kill probability of one interceptor type at miss distances ``miss_m`` (any shape, m)."""
    m = np.asarray(miss_m, float)
    return pk_kernel(m, np.full(m.shape, _code(interceptor)), interceptor.lethal_radius_m,
                     interceptor.pk_max)


def pk_from_miss_by_type(miss_m: FloatArray, type_index: IntArray,
                         interceptors: Sequence[Interceptor]) -> FloatArray:
    """Kill probability ``(n,)`` for interceptors of mixed types (``type_index`` into
    ``interceptors``), e.g. the ``InterceptResults`` of a step."""
    k = np.asarray(type_index, np.int64)
    codes = np.array([_code(rec) for rec in interceptors], np.int64)
    radius = np.array([rec.lethal_radius_m for rec in interceptors], float)
    pmax = np.array([rec.pk_max for rec in interceptors], float)
    return pk_kernel(miss_m, codes[k], radius[k], pmax[k])


def draw_kills(pk: FloatArray, rng: np.random.Generator) -> BoolArray:
    """Bernoulli draws ``killed = U < pk``, ``(n,)``."""
    p = np.asarray(pk, float)
    return rng.random(p.shape) < p


def assess_kills(killed: BoolArray, pcorrect: FloatArray | float,
                 rng: np.random.Generator) -> BoolArray:
    """Kill assessment by the fire-control radar: the true verdict with probability
    ``pcorrect`` (scalar or per row), otherwise the wrong one. Returns ``(n,)`` bool.

    The engine applies it ``kill_assessment_delay_s`` after the intercept time.
    """
    k = np.asarray(killed, bool)
    wrong = rng.random(k.shape) >= np.asarray(pcorrect, float)
    return k ^ wrong


@dataclass(frozen=True)
class PkCurveLethality:
    """``Lethality``: Pk from the miss distance by the interceptor type's mechanism curve
    (``pk_from_miss_by_type``), then one uniform draw per intercept."""

    interceptors: tuple[Interceptor, ...]

    def resolve(self, miss_m: FloatArray, type_index: IntArray,
                rng: np.random.Generator) -> tuple[FloatArray, BoolArray]:
        pk = pk_from_miss_by_type(miss_m, type_index, self.interceptors)
        draws = rng.random(np.asarray(miss_m).size)
        return pk, draws < pk
