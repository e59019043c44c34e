"""The static weapon-target assignment problem (DESIGN.md section 6.4) as pure functions.

Weapon types ``i = 1..I`` with ``n_i`` weapons each, targets ``j = 1..J`` of value ``V_j``, kill
probabilities ``p_ij``. An assignment ``x`` (I x J, non-negative integers, ``sum_j x_ij <= n_i``)
leaves the expected surviving value::

    F(x) = sum_j V_j prod_i (1 - p_ij) ** x_ij          (minimized)

Global maximum marginal return (MMR) greedy: repeatedly give one weapon of the type ``i`` (with
weapons left) to the target ``j`` with the largest decrease of ``F``, ``W_j p_ij``, where
``W_j = V_j prod_i (1 - p_ij) ** x_ij`` is target j's current surviving value -- best pair over
ALL pairs first, not one weapon after the other. With a single weapon type it is optimal
(den Broeder, Ellison & Emerling, 1959); with several it is a heuristic.
"""

from __future__ import annotations

import itertools

import numpy as np
import numpy.typing as npt

from shieldwall.core.types import FloatArray, IntArray


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


def _validate(values: npt.ArrayLike, counts: npt.ArrayLike, pk: npt.ArrayLike
              ) -> tuple[FloatArray, IntArray, FloatArray]:
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
    flat index (type-major).
    """
    v, n, p = _validate(values, counts, pk)
    n_types, n_targets = p.shape
    x = np.zeros((n_types, n_targets), np.int64)
    if n_types == 0 or n_targets == 0:
        return x
    remaining = v.copy()
    left = n.copy()
    gain = remaining[None, :] * p
    gain[left <= 0, :] = -1.0
    for _ in range(int(n.sum())):
        flat = int(np.argmax(gain))
        i, j = divmod(flat, n_targets)
        if gain[i, j] <= 0.0:
            break
        x[i, j] += 1
        left[i] -= 1
        remaining[j] *= 1.0 - p[i, j]
        gain[:, j] = remaining[j] * p[:, j]
        gain[left <= 0, :] = -1.0
    return x


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
    v, n, p = _validate(values, counts, pk)
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
        contrib = np.where(comps > 0, comps * log_q[i][None, :], 0.0)  # (C_i, J)
        total = (total[:, None, :] + contrib[None, :, :]).reshape(-1, n_targets)
        index = np.concatenate([np.repeat(index, comps.shape[0], axis=0),
                                np.tile(np.arange(comps.shape[0]), index.shape[0])[:, None]],
                               axis=1)
    objective = np.exp(total) @ v
    best = int(np.argmin(objective))
    x = np.stack([per_type[i][index[best, i]] for i in range(n_types)])
    return x, float(objective[best])
