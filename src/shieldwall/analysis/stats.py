"""Confidence intervals for Monte Carlo estimates, and how they shrink with the sample size.

Two estimators cover what a study reports:

* a **proportion** ``p`` (P(any leaker), P(asset damaged)) from ``k`` successes in ``n``
  replications, with the Wilson score interval (Wilson 1927; Agresti & Coull 1998)::

      centre = (p_hat + z^2 / (2 n)) / (1 + z^2 / n)
      half   = z / (1 + z^2 / n) * sqrt(p_hat (1 - p_hat) / n + z^2 / (4 n^2))

  with ``z`` the ``(1 + confidence) / 2`` normal quantile. Unlike the Wald interval it keeps
  close to nominal coverage near 0 and 1 and never leaves [0, 1];
* a **mean** (leakers, value lost, interceptors fired, cost) with the Student-t interval
  ``mean +- t_{n-1, (1 + confidence) / 2} * s / sqrt(n)`` (``s`` the sample standard deviation
  with ``n - 1`` degrees of freedom). Non-finite samples (an undefined cost-exchange ratio) are
  left out and counted.

``convergence_checkpoints`` and ``half_width_convergence`` give the interval half-width after
the first N = 10, 20, 50, 100, ... replications (in replication order), which tells the
analyst whether more replications are worth running (the half-width falls like 1/sqrt(N)).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats as _sps

#: Default confidence level of every interval (two-sided).
CONFIDENCE = 0.95


def normal_quantile(confidence: float = CONFIDENCE) -> float:
    """The two-sided normal critical value ``z`` for ``confidence`` (1.96 for 0.95)."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    return float(_sps.norm.ppf(0.5 + confidence / 2.0))


def wilson_interval(successes: npt.ArrayLike, n: npt.ArrayLike,
                    confidence: float = CONFIDENCE) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a binomial proportion (no continuity correction).

    Parameters
    ----------
    successes : number of successes ``k`` (scalar or array, 0 <= k <= n)
    n : number of trials (scalar or array, broadcast against ``successes``)
    confidence : two-sided confidence level, e.g. 0.95

    Returns
    -------
    (lower, upper) : arrays of the interval bounds in [0, 1]; NaN where ``n == 0``.
    """
    k = np.asarray(successes, dtype=float)
    m = np.asarray(n, dtype=float)
    if np.any(k < 0) or np.any(k > m):
        raise ValueError("successes must lie between 0 and n")
    z = normal_quantile(confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / m
        z2n = z * z / m
        denom = 1.0 + z2n
        centre = (p + z2n / 2.0) / denom
        half = z / denom * np.sqrt(p * (1.0 - p) / m + z2n / (4.0 * m))
    # At k = 0 and k = n the bounds are exactly 0 and 1 (rounding would leave 1 - 1e-16).
    lower = np.where(k == 0, 0.0, np.clip(centre - half, 0.0, 1.0))
    upper = np.where(k == m, 1.0, np.clip(centre + half, 0.0, 1.0))
    lower = np.where(m > 0, lower, np.nan)
    upper = np.where(m > 0, upper, np.nan)
    return lower, upper


def t_interval(samples: npt.ArrayLike,
               confidence: float = CONFIDENCE) -> tuple[float, float, float]:
    """Mean and Student-t confidence interval of the mean of ``samples``.

    Parameters
    ----------
    samples : 1-D sample (finite values; filter NaN beforehand)
    confidence : two-sided confidence level

    Returns
    -------
    (mean, lower, upper) : NaN bounds with fewer than two samples; NaN mean with none.
    """
    x = np.asarray(samples, dtype=float).ravel()
    n = x.size
    if n == 0:
        return math.nan, math.nan, math.nan
    mean = float(x.mean())
    if n < 2:
        return mean, math.nan, math.nan
    s = float(x.std(ddof=1))
    half = float(_sps.t.ppf(0.5 + confidence / 2.0, n - 1)) * s / math.sqrt(n)
    return mean, mean - half, mean + half


@dataclass(frozen=True)
class ProportionEstimate:
    """A proportion with its Wilson interval."""

    n: int
    successes: int
    estimate: float
    lower: float
    upper: float

    @property
    def half_width(self) -> float:
        """Half the interval width (same units as the proportion)."""
        return (self.upper - self.lower) / 2.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (NaN becomes None)."""
        return {"estimate": _finite(self.estimate), "ci95": [_finite(self.lower),
                                                              _finite(self.upper)],
                "successes": self.successes, "n": self.n, "method": "wilson"}


@dataclass(frozen=True)
class MeanEstimate:
    """A sample mean with its Student-t interval and the sample standard deviation."""

    n: int
    mean: float
    std: float
    lower: float
    upper: float
    n_undefined: int = 0

    @property
    def half_width(self) -> float:
        """Half the interval width (units of the samples)."""
        return (self.upper - self.lower) / 2.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (NaN becomes None)."""
        out: dict[str, Any] = {"mean": _finite(self.mean), "ci95": [_finite(self.lower),
                                                                     _finite(self.upper)],
                               "std": _finite(self.std), "n": self.n, "method": "t"}
        if self.n_undefined:
            out["n_undefined"] = self.n_undefined
        return out


def estimate_proportion(flags: npt.ArrayLike, confidence: float = CONFIDENCE
                        ) -> ProportionEstimate:
    """Proportion of true values in ``flags`` (booleans, one per replication)."""
    x = np.asarray(flags, dtype=bool).ravel()
    n = int(x.size)
    k = int(x.sum())
    lo, hi = wilson_interval(k, n, confidence)
    return ProportionEstimate(n=n, successes=k, estimate=k / n if n else math.nan,
                              lower=float(lo), upper=float(hi))


def estimate_mean(samples: npt.ArrayLike, confidence: float = CONFIDENCE) -> MeanEstimate:
    """Mean of the finite values of ``samples`` with its t-interval."""
    x = np.asarray(samples, dtype=float).ravel()
    finite = x[np.isfinite(x)]
    mean, lo, hi = t_interval(finite, confidence)
    std = float(finite.std(ddof=1)) if finite.size >= 2 else math.nan
    return MeanEstimate(n=int(finite.size), mean=mean, std=std, lower=lo, upper=hi,
                        n_undefined=int(x.size - finite.size))


def convergence_checkpoints(n: int) -> list[int]:
    """Sample sizes 10, 20, 50, 100, 200, 500, ... up to ``n``, and ``n`` itself."""
    out: list[int] = []
    decade = 10
    while decade <= n:
        for m in (1, 2, 5):
            if m * decade <= n:
                out.append(m * decade)
        decade *= 10
    if n > 0 and (not out or out[-1] != n):
        out.append(n)
    return out


def half_width_convergence(samples: npt.ArrayLike, kind: str,
                           checkpoints: Sequence[int],
                           confidence: float = CONFIDENCE) -> list[float | None]:
    """Interval half-width using the first N samples, for each N in ``checkpoints``.

    Parameters
    ----------
    samples : one value per replication, in replication order
    kind : ``"proportion"`` (Wilson, samples are booleans) or ``"mean"`` (t-interval)
    checkpoints : increasing sample sizes (see ``convergence_checkpoints``)
    confidence : two-sided confidence level

    Returns
    -------
    One half-width per checkpoint (units of the samples; None where undefined).
    """
    x = np.asarray(samples)
    out: list[float | None] = []
    for m in checkpoints:
        head = x[:m]
        if kind == "proportion":
            est: ProportionEstimate | MeanEstimate = estimate_proportion(head, confidence)
        elif kind == "mean":
            est = estimate_mean(head, confidence)
        else:
            raise ValueError(f"kind must be 'proportion' or 'mean', got {kind!r}")
        out.append(_finite(est.half_width))
    return out


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None
