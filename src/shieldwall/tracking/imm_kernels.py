"""Compiled (numba) inner loops of the IMM tracker: mixing, moment matching, ``F P F^T + Q``.

Each reproduces a documented numpy expression (tested against it in tests/test_imm.py); they
exist because numpy's batched small-matrix ``einsum``/``matmul`` spend most of their time in
per-call overhead at 6x6.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from shieldwall.core.types import FloatArray


@njit(cache=True, error_model="numpy")
def mix(xm: FloatArray, Pm: FloatArray, w: FloatArray) -> tuple[FloatArray, FloatArray]:
    """IMM mixing: ``x0[n, j] = sum_i w[n, i, j] xm[n, i]`` and
    ``P0[n, j] = sum_i w[n, i, j] (Pm[n, i] + (xm[n, i] - x0[n, j])(...)^T)``."""
    n, r, d = xm.shape
    x0 = np.zeros((n, r, d))
    P0 = np.zeros((n, r, d, d))
    for a in range(n):
        for j in range(r):
            for i in range(r):
                wij = w[a, i, j]
                for p in range(d):
                    x0[a, j, p] += wij * xm[a, i, p]
            for i in range(r):
                wij = w[a, i, j]
                if wij == 0.0:
                    continue
                for p in range(d):
                    dp = xm[a, i, p] - x0[a, j, p]
                    for q in range(d):
                        P0[a, j, p, q] += wij * (Pm[a, i, p, q] + dp * (xm[a, i, q] - x0[a, j, q]))
    return x0, P0


@njit(cache=True, error_model="numpy")
def combine(xm: FloatArray, Pm: FloatArray, mu: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Moment-matched mixture: ``x = sum_r mu_r xm_r``, ``P = sum_r mu_r (Pm_r + dx dx^T)``
    (upper triangle computed and mirrored, so ``P`` is exactly symmetric)."""
    n, r, d = xm.shape
    x = np.zeros((n, d))
    P = np.zeros((n, d, d))
    for a in range(n):
        for i in range(r):
            for p in range(d):
                x[a, p] += mu[a, i] * xm[a, i, p]
        for i in range(r):
            m = mu[a, i]
            if m == 0.0:
                continue
            for p in range(d):
                dp = xm[a, i, p] - x[a, p]
                for q in range(p, d):
                    P[a, p, q] += m * (Pm[a, i, p, q] + dp * (xm[a, i, q] - x[a, q]))
        for p in range(d):
            for q in range(p + 1, d):
                P[a, q, p] = P[a, p, q]
    return x, P


@njit(cache=True, error_model="numpy")
def propagate(F: FloatArray, P: FloatArray, Q: FloatArray) -> FloatArray:
    """``F P F^T + Q`` for batches ``(n, d, d)``, symmetrized."""
    n, d, _ = P.shape
    out = np.empty_like(P)
    tmp = np.empty((d, d))
    for a in range(n):
        for p in range(d):
            for q in range(d):
                s = 0.0
                for k in range(d):
                    s += F[a, p, k] * P[a, k, q]
                tmp[p, q] = s
        for p in range(d):
            for q in range(p, d):
                s = Q[a, p, q]
                for k in range(d):
                    s += tmp[p, k] * F[a, q, k]
                out[a, p, q] = s
        for p in range(d):
            for q in range(p + 1, d):
                out[a, q, p] = out[a, p, q]
    return out
