"""The pieces the WTA solvers share (docs/formats.md §8): the objective, the instance check,
the global MMR greedy and the count cap.

Weapon types ``i = 1..I`` with ``n_i`` weapons each, targets ``j = 1..J`` of value ``V_j``, kill
probabilities ``p_ij``; an assignment ``x`` (I x J, non-negative integers, ``sum_j x_ij <= n_i``)
leaves the expected surviving value ``F(x) = sum_j V_j prod_i (1 - p_ij) ** x_ij``
(minimized). ``wta`` (the front end ``solve_wta``), ``wta_heuristic`` and ``wta_exact`` import
from here and not from each other's internals.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numba import njit

from shieldwall.core.types import FloatArray, IntArray

#: Relative gap ``(UB - LB) / UB`` at or below which a solution is reported optimal.
OPTIMALITY_GAP = 1e-6


def wta_objective(values: npt.ArrayLike, pk: npt.ArrayLike, x: npt.ArrayLike) -> FloatArray:
    """Expected surviving value ``sum_j V_j prod_i (1 - p_ij) ** x_ij``.

    values : (J,); pk : (I, J); x : (..., I, J) integer counts (leading batch dimensions
    allowed). Returns an array of shape ``(...)`` (a 0-d array for a single assignment).
    """
    v = np.asarray(values, float)
    p = np.asarray(pk, float)
    xx = np.asarray(x, float)
    survive = np.prod((1.0 - p) ** xx, axis=-2)
    return np.asarray(np.sum(v * survive, axis=-1))


def validate_instance(values: npt.ArrayLike, counts: npt.ArrayLike, pk: npt.ArrayLike
                      ) -> tuple[FloatArray, IntArray, FloatArray]:
    """``(values (J,) float, counts (I,) int64, pk (I, J) float)`` of an instance; raises
    ``ValueError`` on a negative count or value or a ``pk`` outside [0, 1]."""
    v = np.asarray(values, float).reshape(-1)
    n = np.asarray(counts).reshape(-1).astype(np.int64)
    p = np.asarray(pk, float).reshape(n.size, v.size)
    if np.any(n < 0) or np.any(v < 0) or np.any((p < 0) | (p > 1)):
        raise ValueError("counts and values must be >= 0 and pk in [0, 1]")
    return v, n, p


def greedy_mmr(values: npt.ArrayLike, counts: npt.ArrayLike, pk: npt.ArrayLike) -> IntArray:
    """Global maximum-marginal-return greedy assignment.

    Parameters
    ----------
    values : (J,) target values V_j >= 0
    counts : (I,) weapons per type n_i >= 0
    pk : (I, J) kill probabilities in [0, 1]

    Returns
    -------
    x : (I, J) int64
        Weapons of type i on target j. Weapons whose best marginal return is 0 stay unassigned.

    Notes
    -----
    ``sum(n)`` rounds, each an argmax over the I x J gain matrix ``W_j p_ij`` (rows of exhausted
    types masked); after a choice only column j of the gain matrix changes. Ties go to the lowest
    flat index (type-major). Compiled (numba): about 4 ms at 200 x 200.
    """
    v, n, p = validate_instance(values, counts, pk)
    return greedy_kernel(v, n, p)


@njit(cache=True, error_model="numpy")
def greedy_kernel(v: FloatArray, n: IntArray, p: FloatArray) -> IntArray:  # pragma: no cover
    """Compiled global MMR (see ``greedy_mmr``): O(sum(n) I J) flops, no allocation per round."""
    x = np.zeros(p.shape, np.int64)
    _greedy_steps(v, p, x, v.copy(), n.copy(), int(n.sum()))
    return x


@njit(cache=True, error_model="numpy")
def _greedy_steps(v: FloatArray, p: FloatArray, x: IntArray, remaining: FloatArray,
                  left: IntArray, max_rounds: int) -> bool:  # pragma: no cover - compiled
    """Up to ``max_rounds`` rounds of global MMR from the state ``(x, remaining, left)``
    (updated in place: ``remaining_j`` the surviving value, ``left_i`` the weapons left).
    Returns True when the greedy is finished (no weapon left or no positive gain)."""
    n_types, n_targets = p.shape
    if n_types == 0 or n_targets == 0:
        return True
    gain = np.empty((n_types, n_targets))
    for i in range(n_types):
        for j in range(n_targets):
            gain[i, j] = remaining[j] * p[i, j] if left[i] > 0 else -1.0
    for _ in range(max_rounds):
        best = -1.0
        bi = -1
        bj = -1
        for i in range(n_types):
            if left[i] <= 0:
                continue
            for j in range(n_targets):
                if gain[i, j] > best:
                    best = gain[i, j]
                    bi = i
                    bj = j
        if bi < 0 or best <= 0.0:
            return True
        x[bi, bj] += 1
        left[bi] -= 1
        remaining[bj] *= 1.0 - p[bi, bj]
        for i in range(n_types):
            gain[i, bj] = remaining[bj] * p[i, bj]
    for i in range(n_types):
        if left[i] > 0:
            for j in range(n_targets):
                if remaining[j] * p[i, j] > 0.0:
                    return False
    return True


def greedy_until(values: FloatArray, counts: IntArray, pk: FloatArray,
                 deadline: float | None) -> tuple[IntArray, bool]:
    """``greedy_mmr`` stopped at the ``time.perf_counter()`` value ``deadline`` (None: never).

    Runs in chunks of rounds and checks the clock between them; the state carries over, so an
    unstopped run equals ``greedy_mmr``. Returns ``(x, finished)``; a stopped ``x`` is feasible
    (weapons not yet given stay unassigned).
    """
    v, n, p = validate_instance(values, counts, pk)
    x = np.zeros(p.shape, np.int64)
    remaining, left = v.copy(), n.copy()
    chunk = max(1, 5_000_000 // max(p.size, 1))  # about 5 ms of rounds
    while True:
        if _greedy_steps(v, p, x, remaining, left, chunk):
            return x, True
        if deadline is not None and time.perf_counter() >= deadline:
            return x, False


# --------------------------------------------------------------------------- count capping
#: Survival fraction below which further weapons on a target are not worth modelling.
CAP_SURVIVAL = 2.0 ** -64  # 5.4e-20: below the double resolution (1.1e-16) of sum(V)


@dataclass(frozen=True)
class CountCap:
    """The counts a solver needs (``cap_counts``): the optimum moves by at most ``tolerance``.

    useful : (I, J) int64 ``k_ij``, the fewest weapons of type i alone that leave at most
        ``CAP_SURVIVAL`` of target j (1 when ``p_ij = 1``, 0 when ``p_ij = 0``), at most ``n_i``
    counts : (I,) int64 capped counts ``n'_i = min(n_i, sum_j k_ij)``
    tolerance : ``CAP_SURVIVAL * sum of V_j`` over the targets where some ``k_ij < n_i`` with
        ``0 < p_ij < 1`` (0 when no such cap binds: a ``p = 1`` cap loses nothing)
    binding : some ``k_ij < n_i`` with ``p_ij > 0`` (the capped problem is smaller)
    """

    useful: IntArray
    counts: IntArray
    tolerance: float
    binding: bool


def cap_counts(values: npt.ArrayLike, counts: npt.ArrayLike, pk: npt.ArrayLike) -> CountCap:
    """Cap the weapon counts at what can be useful (huge counts: work bounded by ``pk``).

    Why the optimum barely moves. Let ``k_ij`` be as in ``CountCap.useful`` and consider the
    *capped* problem: the original plus ``x_ij <= k_ij`` (which implies ``sum_j x_ij <= n'_i``
    with ``n'_i = min(n_i, sum_j k_ij)``). Its feasible set is a subset of the original's, so
    ``opt' >= opt``. Conversely take an optimum ``x*`` of the original and ``x' = min(x*, k)``
    elementwise: ``x'`` is feasible for the capped problem. On a target j where no pair was cut,
    ``f_j(x') = f_j(x*)``. Where some pair (i, j) was cut, ``x'_ij = k_ij`` weapons of type i
    alone leave ``f_j(x') <= V_j (1 - p_ij) ** k_ij <= V_j CAP_SURVIVAL`` (and 0 when
    ``p_ij = 1``), so ``f_j(x') - f_j(x*) <= V_j CAP_SURVIVAL``. Summing,
    ``opt <= opt' <= F(x') <= opt + tolerance``. A lower bound ``LB'`` proven on the capped
    problem therefore gives ``LB' - tolerance <= opt``, and any assignment of the capped problem
    is feasible for the original (``n'_i <= n_i``), at the same objective.
    """
    v, n, p = validate_instance(values, counts, pk)
    with np.errstate(all="ignore"):
        per_shot = np.log1p(-np.minimum(p, 1.0))  # ln(1 - p) < 0 for p > 0; -inf at p = 1
        # k ln(1 - p) <= ln(CAP_SURVIVAL); + 1 guards the round-off of the logarithms. A
        # subnormal p gives inf here, i.e. no cap.
        need = np.where(p >= 1.0, 1.0, np.where(
            p <= 0.0, 0.0, np.ceil(np.log(CAP_SURVIVAL) / per_shot) + 1.0))
    useful = np.minimum(need, n[:, None].astype(float)).astype(np.int64)
    total = np.minimum(useful.sum(axis=1, dtype=np.float64), n.astype(float))
    capped = np.minimum(n, total.astype(np.int64))
    hurt = (useful < n[:, None]) & (p > 0.0)
    cut = hurt & (p < 1.0)
    tolerance = float(CAP_SURVIVAL * v[cut.any(axis=0)].sum()) if cut.size else 0.0
    return CountCap(useful=useful, counts=capped, tolerance=tolerance,
                    binding=bool(hurt.any()))


def top_up(values: npt.ArrayLike, counts: npt.ArrayLike, pk: npt.ArrayLike, x: npt.ArrayLike,
           capped: npt.ArrayLike) -> IntArray:
    """Give the weapons a cap removed (``counts - capped`` per type) back to the assignment.

    Spread evenly over the targets of positive value the type can hurt (``p_ij > 0``); every
    extra weapon multiplies a survival by ``1 - p <= 1``, so ``F`` never increases. ``x`` is a
    feasible assignment for ``capped``; the result is feasible for ``counts``.
    """
    v, n, p = validate_instance(values, counts, pk)
    out = np.array(x, dtype=np.int64, copy=True).reshape(p.shape)
    spare = n - np.asarray(capped, np.int64).reshape(-1)
    for i in np.flatnonzero(spare > 0):
        targets = np.flatnonzero((p[i] > 0.0) & (v > 0.0))
        if targets.size == 0:
            continue
        share, extra = divmod(int(spare[i]), targets.size)
        out[i, targets] += share
        out[i, targets[:extra]] += 1
    return out
