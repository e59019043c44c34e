"""Real-time improvement heuristic for the static weapon-target assignment (docs/formats.md §8).

Minimize ``F(x) = sum_j V_j prod_i (1 - p_ij) ** x_ij`` over non-negative integers ``x`` (I x J)
with ``sum_j x_ij <= n_i``. Starting from the global maximum-marginal-return greedy
(``wta_core.greedy_mmr``), three neighbourhoods are searched until none improves:

1. **shift** -- move one weapon of type ``i`` from target ``j`` (or from the unassigned pool) to
   target ``k``: ``O(I J)`` per best move with the two best receivers of each type cached;
2. **swap** -- exchange a weapon of type ``a`` on target ``j`` with a weapon of type ``b`` on
   target ``k``: ``O(M^2)`` for ``M`` occupied (type, target) pairs;
3. **ejection assignment (VLSN)** -- in the spirit of the very-large-scale neighbourhood search
   of Ahuja, Kumar, Jha & Orlin (2007, Operations Research 55(6)): eject one weapon from every
   occupied target at once, then put the ejected weapons back by a linear assignment (at most
   one per target) on the residual surviving values ``W'_k``, cost ``-W'_k p_ik``. With at most
   one arrival per target the cost is exact, so one ``linear_sum_assignment`` finds the best of
   the exponentially many simultaneous cyclic and path exchanges (ejection chains) among the
   ejected weapons -- the neighbourhood Ahuja et al. search heuristically in their improvement
   graph. Several ejection rules (weakest weapon, strongest weapon, random) are tried in turn.

Targets hit by a weapon with ``p = 1`` are handled exactly: the state of target ``j`` is the sum
``L_j`` of the finite ``log(1 - p_ij)`` of its weapons and the count ``Z_j`` of its ``p = 1``
weapons; its surviving value is ``V_j exp(L_j)`` when ``Z_j = 0`` and 0 otherwise, so removing a
weapon never divides by zero.
"""

from __future__ import annotations

import time

import numpy as np
import numpy.typing as npt
from numba import njit
from scipy.optimize import linear_sum_assignment

from shieldwall.c2.wta_core import greedy_kernel, greedy_until, validate_instance, wta_objective
from shieldwall.core.types import FloatArray, IntArray

_EPS = 1e-12  # relative improvement below which a move is not taken (round-off guard)


# --------------------------------------------------------------------------- numba kernels
@njit(cache=True, error_model="numpy", inline="always")
def _surv(v: float, log_q: float, n_sure: int) -> float:  # pragma: no cover - compiled
    """Surviving value of a target of value ``v`` with log-survival ``log_q`` (finite part)
    and ``n_sure`` weapons of kill probability 1."""
    return 0.0 if n_sure > 0 else v * np.exp(log_q)


@njit(cache=True, error_model="numpy")
def _target_state(v: FloatArray, lq: FloatArray, sure: IntArray, x: IntArray
                  ) -> tuple[FloatArray, IntArray, FloatArray]:  # pragma: no cover - compiled
    """``(L (J,), Z (J,), W (J,))`` of assignment ``x`` (see the module docstring)."""
    n_types, n_targets = x.shape
    big_l = np.zeros(n_targets)
    big_z = np.zeros(n_targets, np.int64)
    w = np.empty(n_targets)
    for j in range(n_targets):
        for i in range(n_types):
            if x[i, j] > 0:
                big_l[j] += x[i, j] * lq[i, j]
                big_z[j] += x[i, j] * sure[i, j]
        w[j] = _surv(v[j], big_l[j], big_z[j])
    return big_l, big_z, w


@njit(cache=True, error_model="numpy")
def _local_search(v: FloatArray, n: IntArray, p: FloatArray, lq: FloatArray, sure: IntArray,
                  x: IntArray, max_rounds: int) -> int:  # pragma: no cover - compiled
    """Best-improvement shift moves, then first-improvement swaps, until neither improves.

    Works in place on ``x``; returns the number of moves made.
    """
    n_types, n_targets = x.shape
    big_l, big_z, w = _target_state(v, lq, sure, x)
    left = n.copy()
    for i in range(n_types):
        for j in range(n_targets):
            left[i] -= x[i, j]
    moves = 0
    best_k = np.empty((n_types, 2), np.int64)
    best_g = np.empty((n_types, 2))
    for _ in range(max_rounds):
        improved = False
        # ---- shift: best over all (i, j -> k), j = -1 is the unassigned pool
        while True:
            for i in range(n_types):
                g1 = -1.0
                g2 = -1.0
                k1 = -1
                k2 = -1
                for k in range(n_targets):
                    g = w[k] * p[i, k]
                    if g > g1:
                        g2, k2 = g1, k1
                        g1, k1 = g, k
                    elif g > g2:
                        g2, k2 = g, k
                best_k[i, 0] = k1
                best_k[i, 1] = k2
                best_g[i, 0] = g1
                best_g[i, 1] = g2
            total = 0.0
            for j in range(n_targets):
                total += w[j]
            tol = _EPS * (total + 1e-300)
            best_delta = -tol
            bi = -1
            bj = -2
            bk = -1
            for i in range(n_types):
                if best_k[i, 0] < 0:
                    continue
                if left[i] > 0:
                    delta = -best_g[i, 0]
                    if delta < best_delta:
                        best_delta, bi, bj, bk = delta, i, -1, best_k[i, 0]
                for j in range(n_targets):
                    if x[i, j] == 0:
                        continue
                    loss = _surv(v[j], big_l[j] - lq[i, j], big_z[j] - sure[i, j]) - w[j]
                    if best_k[i, 0] != j:
                        k = best_k[i, 0]
                        g = best_g[i, 0]
                    else:
                        k = best_k[i, 1]
                        g = best_g[i, 1]
                    if k < 0:
                        continue
                    delta = loss - g
                    if delta < best_delta:
                        best_delta, bi, bj, bk = delta, i, j, k
            if bi < 0:
                break
            if bj >= 0:
                x[bi, bj] -= 1
                big_l[bj] -= lq[bi, bj]
                big_z[bj] -= sure[bi, bj]
                w[bj] = _surv(v[bj], big_l[bj], big_z[bj])
            else:
                left[bi] -= 1
            x[bi, bk] += 1
            big_l[bk] += lq[bi, bk]
            big_z[bk] += sure[bi, bk]
            w[bk] = _surv(v[bk], big_l[bk], big_z[bk])
            moves += 1
            improved = True
        # ---- swap: type a on j <-> type b on k (first improvement over occupied pairs)
        occ_i = np.empty(n_types * n_targets, np.int64)
        occ_j = np.empty(n_types * n_targets, np.int64)
        m = 0
        for i in range(n_types):
            for j in range(n_targets):
                if x[i, j] > 0:
                    occ_i[m] = i
                    occ_j[m] = j
                    m += 1
        total = 0.0
        for j in range(n_targets):
            total += w[j]
        tol = _EPS * (total + 1e-300)
        swapped = False
        for s in range(m):
            a = occ_i[s]
            j = occ_j[s]
            if x[a, j] == 0:
                continue
            for t in range(s + 1, m):
                b = occ_i[t]
                k = occ_j[t]
                if a == b or j == k or x[b, k] == 0:
                    continue
                # target j: -a +b ; target k: -b +a
                wj = _surv(v[j], big_l[j] - lq[a, j] + lq[b, j],
                           big_z[j] - sure[a, j] + sure[b, j])
                wk = _surv(v[k], big_l[k] - lq[b, k] + lq[a, k],
                           big_z[k] - sure[b, k] + sure[a, k])
                delta = (wj - w[j]) + (wk - w[k])
                if delta < -tol:
                    x[a, j] -= 1
                    x[b, j] += 1
                    x[b, k] -= 1
                    x[a, k] += 1
                    big_l[j] += lq[b, j] - lq[a, j]
                    big_z[j] += sure[b, j] - sure[a, j]
                    big_l[k] += lq[a, k] - lq[b, k]
                    big_z[k] += sure[a, k] - sure[b, k]
                    w[j] = wj
                    w[k] = wk
                    moves += 1
                    swapped = True
                    break
        if swapped:
            improved = True
        if not improved:
            break
    return moves


# --------------------------------------------------------------------------- the VLSN step
def _ejection_assignment(v: FloatArray, p: FloatArray, lq: FloatArray, sure: IntArray,
                         x: IntArray, left: IntArray, rule: int,
                         rng: np.random.Generator) -> tuple[IntArray, float]:
    """One ejection-assignment move (module docstring, item 3).

    ``rule`` picks the weapon ejected from each occupied target: 0 the one whose removal
    costs least, 1 the most effective (largest ``p``), 2 a random one. Unassigned weapons join
    the ejected ones. Returns ``(x_new, F(x_new))``; ``x_new`` may equal ``x``.
    """
    n_types, n_targets = x.shape
    big_l, big_z, w = _target_state(v, lq, sure, x)
    occupied = x > 0
    if rule == 0:
        loss = np.where(occupied, v * np.where(big_z[None, :] - sure > 0, 0.0,
                                               np.exp(big_l[None, :] - lq)) - w, np.inf)
        score = loss
    elif rule == 1:
        score = np.where(occupied, -p, np.inf)
    else:
        score = np.where(occupied, rng.random(x.shape), np.inf)
    eject_type = np.argmin(score, axis=0)                       # (J,)
    has = occupied.any(axis=0)
    ej_targets = np.flatnonzero(has)
    ej_types = eject_type[ej_targets]
    x_res = x.copy()
    x_res[ej_types, ej_targets] -= 1
    pool_types = np.repeat(np.arange(n_types), left)
    # At most one ejected weapon per target, so only loose weapons beyond J (which then simply
    # stay unassigned) can be cut off here.
    rows = np.concatenate([ej_types, pool_types])[:n_targets]
    big_l, big_z, w_res = _target_state(v, lq, sure, x_res)
    cost = -w_res[None, :] * p[rows, :]                         # (R, J)
    r_idx, k_idx = linear_sum_assignment(cost)
    x_new = x_res
    np.add.at(x_new, (rows[r_idx], k_idx), 1)  # distinct targets: the cost above is exact
    return x_new, float(wta_objective(v, p, x_new))


def improve_assignment(values: npt.ArrayLike, counts: npt.ArrayLike, pk: npt.ArrayLike,
                       x0: npt.ArrayLike | None = None, *, max_rounds: int = 50,
                       patience: int | None = None, seed: int = 0,
                       deadline: float | None = None) -> IntArray:
    """Improve an assignment by shift, swap and ejection-assignment (VLSN) local search.

    Parameters
    ----------
    values : (J,) target values V_j >= 0
    counts : (I,) weapons per type n_i >= 0
    pk : (I, J) kill probabilities in [0, 1]
    x0 : (I, J) feasible starting assignment; default the global MMR greedy
    max_rounds : bound on the outer rounds (each: local search, then ejection moves)
    patience : ejection moves tried in a row without improvement before stopping (None: 10
        for up to 20,000 (type, target) pairs, 3 above, which keeps 200 x 200 near 50 ms)
    seed : seed of the random ejection rule (the result is deterministic given the seed)
    deadline : ``time.perf_counter()`` value after which no further step starts (None: none);
        the greedy start, the first local search and each ejection round are the steps

    Returns
    -------
    x : (I, J) int64, feasible, with ``F(x) <= F(x0)``; a local optimum of the shift and swap
        neighbourhoods.
    """
    v, n, p = validate_instance(values, counts, pk)
    if x0 is not None:
        x = np.array(x0, dtype=np.int64, copy=True)
    elif deadline is None:
        x = greedy_kernel(v, n, p)
    else:
        x, _ = greedy_until(v, n, p, deadline)
    n_types, n_targets = p.shape
    if n_types == 0 or n_targets == 0 or n.sum() == 0:
        return x
    if deadline is not None and time.perf_counter() >= deadline:
        return x
    sure = (p >= 1.0).astype(np.int64)
    with np.errstate(divide="ignore"):
        lq = np.where(sure > 0, 0.0, np.log1p(-np.minimum(p, 1.0)))
    rng = np.random.default_rng(seed)
    if patience is None:
        patience = 10 if n_types * n_targets <= 20_000 else 3
    _local_search(v, n, p, lq, sure, x, 100_000)
    best = float(wta_objective(v, p, x))
    rules = (0, 1, 2, 2, 2, 2)
    failures = 0
    step = 0
    for _ in range(max_rounds):
        if deadline is not None and time.perf_counter() >= deadline:
            break
        rule = rules[step % len(rules)]
        step += 1
        left = n - x.sum(axis=1)
        cand, _ = _ejection_assignment(v, p, lq, sure, x, left, rule, rng)
        _local_search(v, n, p, lq, sure, cand, 100_000)
        obj = float(wta_objective(v, p, cand))
        if obj < best - _EPS * max(best, 1e-300):
            x, best = cand, obj
            failures = 0
        else:
            failures += 1
            if failures >= max(patience, 1) and step >= 3:
                break
    return x


def heuristic_wta(values: npt.ArrayLike, counts: npt.ArrayLike, pk: npt.ArrayLike,
                  *, seed: int = 0, deadline: float | None = None) -> IntArray:
    """Greedy MMR followed by ``improve_assignment``: the real-time solver of ``solve_wta``.

    values : (J,); counts : (I,); pk : (I, J); deadline : as in ``improve_assignment``.
    Returns ``x`` (I, J) int64.
    """
    return improve_assignment(values, counts, pk, seed=seed, deadline=deadline)


def greedy_local_search(values: npt.ArrayLike, counts: npt.ArrayLike,
                        pk: npt.ArrayLike) -> IntArray:
    """Greedy MMR followed by shift and swap moves only (no VLSN): a baseline for benchmarks.

    values : (J,); counts : (I,); pk : (I, J). Returns ``x`` (I, J) int64.
    """
    v, n, p = validate_instance(values, counts, pk)
    x = greedy_kernel(v, n, p)
    if x.size == 0:
        return x
    sure = (p >= 1.0).astype(np.int64)
    with np.errstate(divide="ignore"):
        lq = np.where(sure > 0, 0.0, np.log1p(-np.minimum(p, 1.0)))
    _local_search(v, n, p, lq, sure, x, 100_000)
    return x
