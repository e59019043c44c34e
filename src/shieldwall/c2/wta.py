"""The static weapon-target assignment problem (docs/formats.md §8) as pure functions.

Weapon types ``i = 1..I`` with ``n_i`` weapons each, targets ``j = 1..J`` of value ``V_j``, kill
probabilities ``p_ij``. An assignment ``x`` (I x J, non-negative integers, ``sum_j x_ij <= n_i``)
leaves the expected surviving value::

    F(x) = sum_j V_j prod_i (1 - p_ij) ** x_ij          (minimized)

Global maximum marginal return (MMR) greedy: repeatedly give one weapon of the type ``i`` (with
weapons left) to the target ``j`` with the largest decrease of ``F``, ``W_j p_ij``, where
``W_j = V_j prod_i (1 - p_ij) ** x_ij`` is target j's current surviving value -- best pair over
ALL pairs first, not one weapon after the other. With a single weapon type it is optimal
(den Broeder, Ellison & Emerling, 1959); with several it is a heuristic.

``solve_wta`` is the front end of ``shieldwall wta``: greedy, the real-time improvement
heuristic (``wta_heuristic``) and the exact outer-approximation MILP on HiGHS (``wta_exact``),
imported on first use (scipy.optimize and highspy stay out of start-up). The pieces the three
share (objective, instance check, greedy, count cap) are in ``wta_core``; the solvers import
them from there, never from this module.
"""

from __future__ import annotations

import functools
import itertools
import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from shieldwall.c2.wta_core import (
    CAP_SURVIVAL,
    OPTIMALITY_GAP,
    CountCap,
    cap_counts,
    greedy_mmr,
    greedy_until,
    top_up,
    validate_instance,
    wta_objective,
)
from shieldwall.core.types import FloatArray, IntArray
from shieldwall.core.vocabulary import WTA_SOLVERS

__all__ = [
    "AUTO_DEFAULT_TIME_LIMIT_S",
    "CAP_SURVIVAL",
    "EXACT_SETUP_S_PER_SLOT",
    "OPTIMALITY_GAP",
    "SOLVERS",
    "CountCap",
    "WTASolution",
    "brute_force_wta",
    "cap_counts",
    "greedy_mmr",
    "greedy_until",
    "solve_wta",
    "top_up",
    "wta_objective",
]


def _compositions(total: int, parts: int) -> IntArray:
    """All ways to write ``total`` as an ordered sum of ``parts`` non-negative integers,
    shape ``(C(total + parts - 1, parts - 1), parts)`` (stars and bars)."""
    if parts == 0:
        return np.zeros((1 if total == 0 else 0, 0), np.int64)
    rows = []
    for bars in itertools.combinations(range(total + parts - 1), parts - 1):
        edges = (-1, *bars, total + parts - 1)
        rows.append([edges[k + 1] - edges[k] - 1 for k in range(parts)])
    return np.asarray(rows, np.int64).reshape(-1, parts)


def brute_force_wta(values: npt.ArrayLike, counts: npt.ArrayLike, pk: npt.ArrayLike,
                    max_assignments: int = 2_000_000) -> tuple[IntArray, float]:
    """Exact optimum by enumeration (tiny instances only).

    Every weapon is assigned (with ``p`` in [0, 1] an extra weapon never increases ``F``), so
    the search space is the product over types of the compositions of ``n_i`` into J parts.
    Returns ``(x (I, J), objective)``; raises ``ValueError`` above ``max_assignments``.
    """
    v, n, p = validate_instance(values, counts, pk)
    n_types, n_targets = p.shape
    per_type = [_compositions(int(ni), n_targets) for ni in n]
    size = int(np.prod([c.shape[0] for c in per_type], dtype=np.float64)) if per_type else 1
    if size > max_assignments:
        raise ValueError(f"{size} assignments: too many for brute force")
    if n_types == 0:
        return np.zeros((0, n_targets), np.int64), float(v.sum())
    # Log-survival of each type's composition, summed over types by broadcasting.
    with np.errstate(divide="ignore"):
        log_q = np.log1p(-p)  # (I, J); -inf where p == 1
    total = np.zeros((1, n_targets))
    index = np.zeros((1, 0), np.int64)
    for i, comps in enumerate(per_type):
        with np.errstate(invalid="ignore"):  # 0 * -inf where p == 1 and no weapon
            contrib = np.where(comps > 0, comps * log_q[i][None, :], 0.0)  # (C_i, J)
        total = (total[:, None, :] + contrib[None, :, :]).reshape(-1, n_targets)
        index = np.concatenate([np.repeat(index, comps.shape[0], axis=0),
                                np.tile(np.arange(comps.shape[0]), index.shape[0])[:, None]],
                               axis=1)
    objective = np.exp(total) @ v
    best = int(np.argmin(objective))
    x = np.stack([per_type[i][index[best, i]] for i in range(n_types)])
    return x, float(objective[best])


# --------------------------------------------------------------------------- solver front end
SOLVERS = WTA_SOLVERS

#: Model-building time of ``wta_exact`` per slot binary, s (about 3.4 us measured at 717k
#: slots on the 2-core development machine); with a time limit the exact phase is skipped
#: when building its model would take more than half the time left.
EXACT_SETUP_S_PER_SLOT = 5e-6


def _floor_bound(v: FloatArray, n: IntArray, p: FloatArray) -> float:
    """``sum_j V_j prod_i (1 - p_ij) ** n_i``: no assignment leaves less (every weapon of every
    type on target j at once is the most any target can receive)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        log_q = np.where(n[:, None] > 0, n[:, None] * np.log1p(-np.minimum(p, 1.0)), 0.0)
    return float(np.sum(v * np.exp(log_q.sum(axis=0))))


#: Budget of ``solver="auto"`` when no time limit is given, seconds.
AUTO_DEFAULT_TIME_LIMIT_S = 10.0


@dataclass(frozen=True)
class WTASolution:
    """A solved static WTA instance (the solution JSON of docs/formats.md §8).

    Attributes
    ----------
    objective : expected surviving value ``F(x)`` of ``assignment``
    assignment : (I, J) int64, weapons of type i on target j
    solver : the solver asked for (``auto``, ``greedy``, ``heuristic``, ``exact``)
    optimal : True when proven: relative gap ``(objective - lower_bound) / objective <= 1e-6``
        (``wta_core.OPTIMALITY_GAP``), or a single weapon type (greedy MMR is optimal)
    lower_bound : proven lower bound on the optimum, or None when no bound was computed
    gap : relative gap ``(objective - lower_bound) / objective`` (0 when objective is 0),
        or None without a bound
    seconds : wall-clock time of the solve, s
    """

    objective: float
    assignment: IntArray
    solver: str
    optimal: bool
    lower_bound: float | None
    gap: float | None
    seconds: float


@functools.cache
def _load_solver(solver: str) -> None:
    """Import the solver's modules and load its compiled kernels, once per process.

    ``time_limit_s`` is the solver's budget; in a fresh process the first call would otherwise
    spend it importing highspy and loading the numba kernels from their cache (0.3-1.5 s on
    the 2-core test machine, issue 12 fuzz finding 4), so that a 4 x 4 instance the warmed
    solver proves optimal in milliseconds came back unproven. A 2 x 2 instance through the
    same path loads everything the real call needs.
    """
    if solver == "greedy":
        greedy_mmr(np.ones(2), np.ones(2, np.int64), np.full((2, 2), 0.5))
        return
    from shieldwall.c2.wta_heuristic import heuristic_wta
    v, n, p = np.array([1.0, 2.0]), np.array([1, 2], np.int64), np.array([[0.5, 0.3],
                                                                          [0.2, 0.6]])
    x = heuristic_wta(v, n, p)
    if solver in ("exact", "auto"):
        from shieldwall.c2.wta_exact import exact_wta
        exact_wta(v, n, p, x, time_limit_s=5.0)


def solve_wta(values: npt.ArrayLike, counts: npt.ArrayLike, pk: npt.ArrayLike,
              solver: str = "auto", time_limit_s: float | None = None) -> WTASolution:
    """Solve a static WTA instance.

    Parameters
    ----------
    values : (J,) target values V_j >= 0
    counts : (I,) weapons per type n_i >= 0
    pk : (I, J) kill probabilities in [0, 1]
    solver : ``"greedy"`` global MMR; ``"heuristic"`` MMR improved by shift, swap and
        ejection-assignment local search (``wta_heuristic``, tens of ms at 200 x 200);
        ``"exact"`` the heuristic then the outer-approximation MILP (``wta_exact``) until
        proven or ``time_limit_s``; ``"auto"`` the same as exact with a default budget of
        ``AUTO_DEFAULT_TIME_LIMIT_S``: the heuristic answer at once, improved and bounded by
        the exact solver until the deadline.
    time_limit_s : wall-clock budget in seconds for ``exact``/``auto`` (``exact`` without a
        limit runs until proven); ignored by ``greedy`` and ``heuristic``.

    Returns
    -------
    WTASolution
    """
    if solver not in SOLVERS:
        raise ValueError(f"unknown solver {solver!r}; expected one of {', '.join(SOLVERS)}")
    _load_solver(solver)  # outside the budget: loading code is not solving
    t0 = time.perf_counter()
    v, n_all, p = validate_instance(values, counts, pk)
    # Work scales with the weapons, so solve with the counts capped at what can be useful
    # (``cap_counts``: the optimum moves by at most ``cap.tolerance``, and the bound is lowered
    # by as much); the weapons cut off are given back at the end (``top_up``).
    cap = cap_counts(v, n_all, p)
    n = cap.counts
    single_type = p.shape[0] <= 1
    budget = time_limit_s
    if budget is None and solver == "auto":
        budget = AUTO_DEFAULT_TIME_LIMIT_S
    deadline = None
    if solver in ("exact", "auto") and budget is not None:
        deadline = t0 + max(0.0, float(budget))
    if solver == "greedy":
        x = greedy_mmr(v, n, p)
    else:
        from shieldwall.c2.wta_heuristic import heuristic_wta
        x = heuristic_wta(v, n, p, deadline=deadline)
    objective = float(wta_objective(v, p, x))
    lower: float | None = objective if single_type else None
    if solver in ("exact", "auto") and not single_type:
        saturated = float(wta_objective(v, p, top_up(v, n_all, p, x, n))) <= 0.0
        slots = float(np.minimum(cap.useful, n[:, None])[p > 0.0].sum(dtype=np.float64))
        left = None if deadline is None else deadline - time.perf_counter()
        if saturated:
            lower = 0.0  # nothing survives the heuristic's answer: F >= 0 is attained
        elif left is not None and (left <= 0.0 or slots * EXACT_SETUP_S_PER_SLOT > left / 2):
            # The MILP could not even be built in the time left: the heuristic's answer,
            # bounded by the floor every assignment respects (all weapons on every target).
            lower = _floor_bound(v, n_all, p)
        else:
            from shieldwall.c2.wta_exact import exact_wta
            start = np.minimum(x, cap.useful) if cap.binding else x
            result = exact_wta(v, n, p, start, time_limit_s=left,
                               pair_caps=cap.useful if cap.binding else None)
            x, objective, lower = result.x, result.objective, result.lower_bound
    if lower is not None and cap.tolerance > 0.0:
        lower = max(0.0, lower - cap.tolerance)
    if np.any(n < n_all):
        x = top_up(v, n_all, p, x, n)
        objective = float(wta_objective(v, p, x))
    if lower is not None:
        lower = min(lower, objective)
    gap = None
    if lower is not None:
        gap = 0.0 if objective <= 0.0 else max(0.0, (objective - lower) / objective)
    return WTASolution(objective=objective, assignment=x, solver=solver,
                       optimal=gap is not None and gap <= OPTIMALITY_GAP,
                       lower_bound=lower, gap=gap, seconds=time.perf_counter() - t0)
