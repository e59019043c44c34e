"""Compiled (numba) inner loops of the IMM tracker: mixing, moment matching, ``F P F^T + Q``.

Each reproduces a documented numpy expression (tested against it in tests/test_imm.py); they
exist because numpy's batched small-matrix ``einsum``/``matmul`` spend most of their time in
per-call overhead at 6x6.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from shieldwall.core.types import FloatArray
from shieldwall.geo import _altitude_scalar


def _fma_typer(typingctx, a, b, c):  # type: ignore[no-untyped-def]
    """``a * b + c`` rounded once (LLVM's ``llvm.fma.f64``): the typing of ``_fma``."""
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        dbl = ir.DoubleType()
        fn = builder.module.declare_intrinsic("llvm.fma", [dbl],
                                              ir.FunctionType(dbl, [dbl, dbl, dbl]))
        return builder.call(fn, args)

    return sig, codegen


# ``fma(a, b, c) = a * b + c`` rounded once, callable in compiled code only. numba's stubs type
# an ``_Intrinsic``'s call as its typer's ``(typingctx, a, b, c)``; the call compiled code makes
# is ``(a, b, c)``, which is what this name is typed as (the object is numba's intrinsic).
_fma = cast("Callable[[float, float, float], float]", intrinsic(_fma_typer))


@njit(cache=True, error_model="numpy")
def _mm3(A: FloatArray, B: FloatArray, out: FloatArray, ta: bool, tb: bool) -> None:
    """``out = op(A) @ op(B)`` for 3x3 (``op`` transposes when ``ta`` / ``tb``), each entry a
    sequential fused multiply-add chain over the inner index: the order of the OpenBLAS
    ``dgemm`` kernels numpy's ``@`` calls on FMA hardware, so the same bits there
    (tests/test_imm_compiled.py checks it where it holds)."""
    for i in range(3):
        for j in range(3):
            a0 = A[0, i] if ta else A[i, 0]
            b0 = B[j, 0] if tb else B[0, j]
            acc = a0 * b0
            for t in range(1, 3):
                a = A[t, i] if ta else A[i, t]
                b = B[j, t] if tb else B[t, j]
                acc = _fma(a, b, acc)
            out[i, j] = acc


@njit(cache=True, error_model="numpy")
def _mm6(A: FloatArray, B: FloatArray, out: FloatArray) -> None:
    """``out = A @ B`` for 6x6, the fused multiply-add chains of ``_mm3``."""
    for i in range(6):
        for j in range(6):
            acc = A[i, 0] * B[0, j]
            for t in range(1, 6):
                acc = _fma(A[i, t], B[t, j], acc)
            out[i, j] = acc


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


@njit(cache=True, error_model="numpy")
def _fpft_q_cv(F: FloatArray, Pa: FloatArray, h: float, q: float, d: int) -> FloatArray:
    """``F Pa F^T + Q_cv(h)`` for one track (``Q`` of white acceleration on the p, v block)."""
    tmp = np.zeros((d, d))
    for p in range(d):
        for r in range(d):
            s = 0.0
            for k in range(d):
                s += F[p, k] * Pa[k, r]
            tmp[p, r] = s
    out = np.empty((d, d))
    for p in range(d):
        for r in range(p, d):
            s = 0.0
            for k in range(d):
                s += tmp[p, k] * F[r, k]
            out[p, r] = s
    ah = abs(h)
    for i in range(3):
        out[i, i] += q * ah**3 / 3.0
        out[i, i + 3] += q * ah**2 / 2.0
        out[i + 3, i + 3] += q * ah
    for p in range(d):
        for r in range(p + 1, d):
            out[r, p] = out[p, r]
    return out


@njit(cache=True, error_model="numpy")
def _reset_acc(xn: FloatArray, Pn: FloatArray, d: int, std: float) -> None:
    if d == 9:
        for i in range(6, 9):
            xn[i] = 0.0
            for k in range(9):
                Pn[i, k] = 0.0
                Pn[k, i] = 0.0
            Pn[i, i] = std * std


@njit(cache=True, error_model="numpy")
def ct_predict(x: FloatArray, P: FloatArray, dt: FloatArray, omega_all: FloatArray, q: float,
               ecef: bool, acc_std: float) -> tuple[FloatArray, FloatArray]:
    """The coordinated-turn prediction of ``models.CoordinatedTurn`` (its docstring), one track
    at a time, with the turn rates ``omega_all (n,)`` given."""
    n, d = x.shape
    xo = np.empty_like(x)
    Po = np.empty_like(P)
    F = np.zeros((d, d))
    u = np.empty(3)
    ux = np.empty((3, 3))
    uu = np.empty((3, 3))
    Pi = np.empty((3, 3))
    uxPi = np.empty((3, 3))
    for a in range(n):
        h = dt[a]
        if ecef:
            nr = np.sqrt(x[a, 0] ** 2 + x[a, 1] ** 2 + x[a, 2] ** 2)
            u0, u1, u2 = x[a, 0] / nr, x[a, 1] / nr, x[a, 2] / nr
        else:
            u0, u1, u2 = 0.0, 0.0, 1.0
        u[0], u[1], u[2] = u0, u1, u2
        omega = omega_all[a]
        th = omega * h
        c, s = np.cos(th), np.sin(th)
        if abs(th) > 1e-9:
            sw, cw = s / omega, (1.0 - c) / omega
        else:
            sw, cw = h, 0.5 * omega * h * h
        ux[0, 0], ux[0, 1], ux[0, 2] = 0.0, -u2, u1
        ux[1, 0], ux[1, 1], ux[1, 2] = u2, 0.0, -u0
        ux[2, 0], ux[2, 1], ux[2, 2] = -u1, u0, 0.0
        for i in range(3):
            for j in range(3):
                uu[i, j] = u[i] * u[j]
                Pi[i, j] = (1.0 if i == j else 0.0) - uu[i, j]
        _mm3(ux, Pi, uxPi, False, False)  # ux @ Pi, numpy's bits (``_mm3``)
        F[:, :] = 0.0
        for i in range(d):
            F[i, i] = 1.0
        for i in range(3):
            for j in range(3):
                F[i, 3 + j] = sw * Pi[i, j] + cw * uxPi[i, j] + h * uu[i, j]
                F[3 + i, 3 + j] = c * Pi[i, j] + s * uxPi[i, j] + uu[i, j]
        if d == 9:
            for i in range(6, 9):
                F[i, i] = 0.0
        for p in range(d):
            acc = 0.0
            for k in range(d):
                acc += F[p, k] * x[a, k]
            xo[a, p] = acc
        Po[a] = _fpft_q_cv(F, P[a], h, q, d)
        _reset_acc(xo[a], Po[a], d, acc_std)
    return xo, Po


@njit(cache=True, error_model="numpy")
def _ballistic_acc(p: FloatArray, v: FloatArray, ecef: bool, rotating: bool, gm: float,
                   omega: float, g0: float, drag_k: float, alt: float,
                   scale_h: float, rho0: float) -> FloatArray:
    out = np.empty(3)
    if ecef:
        r = np.sqrt(p[0] ** 2 + p[1] ** 2 + p[2] ** 2)
        for i in range(3):
            out[i] = -gm * p[i] / r**3
        if rotating:
            # -2 w x v - w x (w x p), w = (0, 0, omega)
            out[0] += 2.0 * omega * v[1] + omega * omega * p[0]
            out[1] += -2.0 * omega * v[0] + omega * omega * p[1]
    else:
        out[0] = 0.0
        out[1] = 0.0
        out[2] = -g0
    if drag_k > 0.0:
        rho = rho0 * np.exp(-max(alt, -1000.0) / scale_h)
        sp = np.sqrt(v[0] ** 2 + v[1] ** 2 + v[2] ** 2)
        for i in range(3):
            out[i] -= rho * drag_k * sp * v[i]
    return out


@njit(cache=True, error_model="numpy")
def ballistic_predict(x: FloatArray, P: FloatArray, dt: FloatArray, q: float, drag_k: float,
                      ecef: bool, rotating: bool, alt0: float, max_step: float,
                      acc_std: float, gm: float, omega: float, g0: float, scale_h: float,
                      rho0: float) -> tuple[FloatArray, FloatArray]:
    """The ballistic prediction of ``models.Ballistic`` (its docstring): velocity Verlet mean,
    ``F = I + A h + A^2 h^2 / 2`` per sub-step; ``drag_k = 1 / (2 beta)`` (0: vacuum)."""
    n, d = x.shape
    xo = x.copy()
    Po = P.copy()
    hmax = 0.0
    for a in range(n):
        hmax = max(hmax, abs(dt[a]))
    n_sub = max(1, int(np.ceil(hmax / max_step)))
    F = np.zeros((d, d))
    A = np.zeros((6, 6))
    AA = np.empty((6, 6))
    for a in range(n):
        h = dt[a] / n_sub
        for _ in range(n_sub):
            p = xo[a, 0:3].copy()
            v = xo[a, 3:6].copy()
            if ecef:
                alt = _altitude_scalar(p[0], p[1], p[2])
            else:
                alt = p[2] + alt0
            A[:, :] = 0.0
            for i in range(3):
                A[i, i + 3] = 1.0
            if ecef:
                r = np.sqrt(p[0] ** 2 + p[1] ** 2 + p[2] ** 2)
                c = -gm / r**3
                for i in range(3):
                    for j in range(3):
                        A[3 + i, j] = c * ((1.0 if i == j else 0.0) - 3.0 * p[i] * p[j] / (r * r))
                if rotating:
                    A[3, 0] += omega * omega
                    A[4, 1] += omega * omega
                    A[3, 4] = 2.0 * omega
                    A[4, 3] = -2.0 * omega
            if drag_k > 0.0:
                rho = rho0 * np.exp(-max(alt, -1000.0) / scale_h)
                k = rho * drag_k
                sp = max(np.sqrt(v[0] ** 2 + v[1] ** 2 + v[2] ** 2), 1e-9)
                if ecef:
                    nr = np.sqrt(p[0] ** 2 + p[1] ** 2 + p[2] ** 2)
                    up = p / nr
                else:
                    up = np.array([0.0, 0.0, 1.0])
                for i in range(3):
                    for j in range(3):
                        A[3 + i, 3 + j] -= k * ((sp if i == j else 0.0) + v[i] * v[j] / sp)
                        A[3 + i, j] += k * sp * v[i] / scale_h * up[j]
            F[:, :] = 0.0
            for i in range(d):
                F[i, i] = 1.0
            _mm6(A, A, AA)  # A @ A, numpy's bits (``_mm3``)
            for i in range(6):
                for j in range(6):
                    F[i, j] += A[i, j] * h + 0.5 * AA[i, j] * h * h
            if d == 9:
                for i in range(6, 9):
                    F[i, i] = 0.0
            a0 = _ballistic_acc(p, v, ecef, rotating, gm, omega, g0, drag_k, alt, scale_h, rho0)
            p1 = p + v * h + 0.5 * a0 * h * h
            alt1 = _altitude_scalar(p1[0], p1[1], p1[2]) if ecef else p1[2] + alt0
            a1 = _ballistic_acc(p1, v + a0 * h, ecef, rotating, gm, omega, g0, drag_k, alt1,
                                scale_h, rho0)
            xo[a, 0:3] = p1
            xo[a, 3:6] = v + 0.5 * (a0 + a1) * h
            Po[a] = _fpft_q_cv(F, Po[a], h, q, d)
        _reset_acc(xo[a], Po[a], d, acc_std)
    return xo, Po


@njit(cache=True, error_model="numpy")
def _wrap(a: float) -> float:
    """Wrap an angle to ``(-pi, pi]`` (``kernels.wrap_angle``)."""
    return np.pi - np.mod(np.pi - a, 2.0 * np.pi)


@njit(cache=True, error_model="numpy")
def ekf_measure(xm: FloatArray, Pm: FloatArray, mu: FloatArray, origin: FloatArray,
                rot: FloatArray, sig2: FloatArray, k: int
                ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray,
                           FloatArray]:
    """Per-mode EKF measurement prediction and the gating mixture, compiled.

    Same formulas as ``kernels.radar_measurement`` (zhat, Jacobian ``H``), ``C = P H^T``,
    ``S = H P H^T + R`` and ``imm._mixture_measurement``. Returns ``zhat_m (n, r, k)``,
    ``S_m (n, r, k, k)``, ``C_m (n, r, D, k)``, ``H_m (n, r, k, D)``, ``zhat (n, k)``,
    ``S (n, k, k)``.
    """
    n, r, d = xm.shape
    zhat_m = np.empty((n, r, k))
    S_m = np.empty((n, r, k, k))
    C_m = np.empty((n, r, d, k))
    H_m = np.zeros((n, r, k, d))
    zhat = np.empty((n, k))
    S = np.zeros((n, k, k))
    Jd = np.empty((3, 3))
    for a in range(n):
        for j in range(r):
            x = xm[a, j]
            dv = np.empty(3)
            for i in range(3):
                dv[i] = (rot[i, 0] * (x[0] - origin[0]) + rot[i, 1] * (x[1] - origin[1])
                         + rot[i, 2] * (x[2] - origin[2]))
            e, nn, u = dv[0], dv[1], dv[2]
            rho2 = max(e * e + nn * nn, 1e-6)
            rho = np.sqrt(rho2)
            r2 = rho2 + u * u
            rr_ = np.sqrt(r2)
            zhat_m[a, j, 0] = rr_
            zhat_m[a, j, 1] = np.arctan2(e, nn)
            zhat_m[a, j, 2] = np.arctan2(u, rho)
            for i in range(3):
                Jd[0, i] = dv[i] / rr_
            Jd[1, 0] = nn / rho2
            Jd[1, 1] = -e / rho2
            Jd[1, 2] = 0.0
            Jd[2, 0] = -e * u / (r2 * rho)
            Jd[2, 1] = -nn * u / (r2 * rho)
            Jd[2, 2] = rho / r2
            H = H_m[a, j]
            for row in range(3):
                for c in range(3):
                    H[row, c] = Jd[row, 0] * rot[0, c] + Jd[row, 1] * rot[1, c] \
                        + Jd[row, 2] * rot[2, c]
            if k == 4:
                w = np.empty(3)
                for i in range(3):
                    w[i] = rot[i, 0] * x[3] + rot[i, 1] * x[4] + rot[i, 2] * x[5]
                rrate = (dv[0] * w[0] + dv[1] * w[1] + dv[2] * w[2]) / rr_
                zhat_m[a, j, 3] = rrate
                for c in range(3):
                    acc_p = 0.0
                    acc_v = 0.0
                    for i in range(3):
                        acc_p += ((w[i] - rrate / rr_ * dv[i]) / rr_) * rot[i, c]
                        acc_v += (dv[i] / rr_) * rot[i, c]
                    H[3, c] = acc_p
                    H[3, 3 + c] = acc_v
            P = Pm[a, j]
            C = C_m[a, j]
            for p in range(d):
                for q in range(k):
                    s = 0.0
                    for t in range(6):
                        s += P[p, t] * H[q, t]
                    C[p, q] = s
            for p in range(k):
                for q in range(p, k):
                    s = 0.0
                    for t in range(6):
                        s += H[p, t] * C[t, q]
                    if p == q:
                        s += sig2[p]
                    S_m[a, j, p, q] = s
                    S_m[a, j, q, p] = s
        # mixture (azimuth offsets about mode 0)
        off = np.zeros(k)
        for j in range(r):
            for q in range(k):
                dz = zhat_m[a, j, q] - zhat_m[a, 0, q]
                if q == 1:
                    dz = _wrap(dz)
                off[q] += mu[a, j] * dz
        for q in range(k):
            zhat[a, q] = zhat_m[a, 0, q] + off[q]
        zhat[a, 1] = _wrap(zhat[a, 1])
        for j in range(r):
            sp = np.empty(k)
            for q in range(k):
                dz = zhat_m[a, j, q] - zhat_m[a, 0, q]
                if q == 1:
                    dz = _wrap(dz)
                sp[q] = dz - off[q]
            for p in range(k):
                for q in range(k):
                    S[a, p, q] += mu[a, j] * (S_m[a, j, p, q] + sp[p] * sp[q])
    return zhat_m, S_m, C_m, H_m, zhat, S


@njit(cache=True, error_model="numpy")
def _chol_inverse(S: FloatArray, k: int, Si: FloatArray, L: FloatArray) -> float:
    """Inverse of a symmetric positive definite ``S (k, k)`` into ``Si`` through its Cholesky
    factor; returns ``ln det S``."""
    for i in range(k):
        for j in range(i + 1):
            s = S[i, j]
            for t in range(j):
                s -= L[i, t] * L[j, t]
            if i == j:
                L[i, i] = np.sqrt(max(s, 1e-300))
            else:
                L[i, j] = s / L[j, j]
    logdet = 0.0
    for i in range(k):
        logdet += 2.0 * np.log(L[i, i])
    # Si = L^-T L^-1 column by column
    for c in range(k):
        y = np.zeros(k)
        for i in range(k):
            s = 1.0 if i == c else 0.0
            for t in range(i):
                s -= L[i, t] * y[t]
            y[i] = s / L[i, i]
        for i in range(k - 1, -1, -1):
            s = y[i]
            for t in range(i + 1, k):
                s -= L[t, i] * Si[t, c]
            Si[i, c] = s / L[i, i]
    return logdet


@njit(cache=True, error_model="numpy")
def ekf_update_assigned(xm: FloatArray, Pm: FloatArray, mu: FloatArray, z: FloatArray,
                        zhat_m: FloatArray, S_m: FloatArray, C_m: FloatArray,
                        H_m: FloatArray, sig2: FloatArray
                        ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """IMM-EKF update of ``u`` tracks, each with one detection ``z (u, k)``, compiled.

    Per mode: ``nu = z - zhat`` (azimuth wrapped), ``K = C S^-1``, ``x+ = x + K nu``,
    ``P+ = (I - K H) P (I - K H)^T + K R K^T`` (Joseph); ``mu+ ~ mu N(nu; 0, S)``; then the
    moment-matched mixture. Returns ``xm+, Pm+, mu+, x, P``.
    """
    u, r, d = xm.shape
    k = z.shape[1]
    xo = np.empty_like(xm)
    Po = np.empty_like(Pm)
    muo = np.empty_like(mu)
    logl = np.empty(r)
    nu = np.empty(k)
    Si = np.empty((k, k))
    L = np.zeros((k, k))
    K = np.empty((d, k))
    A = np.empty((d, d))
    T = np.empty((d, d))
    for a in range(u):
        for j in range(r):
            for q in range(k):
                nu[q] = z[a, q] - zhat_m[a, j, q]
            nu[1] = _wrap(nu[1])
            logdet = _chol_inverse(S_m[a, j], k, Si, L)
            C = C_m[a, j]
            H = H_m[a, j]
            P = Pm[a, j]
            for p in range(d):
                for q in range(k):
                    s = 0.0
                    for t in range(k):
                        s += C[p, t] * Si[t, q]
                    K[p, q] = s
            for p in range(d):
                s = 0.0
                for q in range(k):
                    s += K[p, q] * nu[q]
                xo[a, j, p] = xm[a, j, p] + s
            for p in range(d):
                for q in range(d):
                    s = 1.0 if p == q else 0.0
                    for t in range(k):
                        s -= K[p, t] * H[t, q]
                    A[p, q] = s
            for p in range(d):
                for q in range(d):
                    s = 0.0
                    for t in range(d):
                        s += A[p, t] * P[t, q]
                    T[p, q] = s
            for p in range(d):
                for q in range(p, d):
                    s = 0.0
                    for t in range(d):
                        s += T[p, t] * A[q, t]
                    for t in range(k):
                        s += K[p, t] * sig2[t] * K[q, t]
                    Po[a, j, p, q] = s
                    Po[a, j, q, p] = s
            d2 = 0.0
            for p in range(k):
                for q in range(k):
                    d2 += nu[p] * Si[p, q] * nu[q]
            logl[j] = -0.5 * (d2 + logdet)
        top = logl.max()
        tot = 0.0
        for j in range(r):
            muo[a, j] = mu[a, j] * np.exp(logl[j] - top)
            tot += muo[a, j]
        if tot > 0.0:
            for j in range(r):
                muo[a, j] /= tot
        else:
            for j in range(r):
                muo[a, j] = mu[a, j]
    x, P = combine(xo, Po, muo)
    return xo, Po, muo, x, P


# ---------------------------------------------------------------------------- fused prediction

MODEL_CV = 0
MODEL_CT = 1
MODEL_BALLISTIC = 2
N_MODEL_PARAMS = 12


@njit(cache=True, error_model="numpy")
def _cv_predict(x: FloatArray, P: FloatArray, dt: FloatArray, q: float, acc_std: float
                ) -> tuple[FloatArray, FloatArray]:
    """``models.ConstantVelocity.predict``: ``F = [[I, h I], [0, I]]`` (acceleration rows of a
    9-state zeroed), ``x+ = F x``, ``P+ = F P F^T + Q_cv(h)`` (``propagate``), then the
    acceleration reset. Same operations as the numpy model, so the same numbers."""
    n, d = x.shape
    F = np.zeros((n, d, d))
    Q = np.zeros((n, d, d))
    xo = np.empty_like(x)
    for a in range(n):
        h = dt[a]
        for i in range(d):
            F[a, i, i] = 1.0
        for i in range(3):
            F[a, i, i + 3] = h
        if d == 9:
            for i in range(6, 9):
                for j in range(d):
                    F[a, i, j] = 0.0
        for i in range(d):
            acc = 0.0
            for j in range(d):
                acc += F[a, i, j] * x[a, j]
            xo[a, i] = acc
        ah = abs(h)
        for i in range(3):
            Q[a, i, i] = q * ah**3.0 / 3.0
            Q[a, i, i + 3] = q * ah**2.0 / 2.0
            Q[a, i + 3, i] = q * ah**2.0 / 2.0
            Q[a, i + 3, i + 3] = q * ah
    Po = propagate(F, P, Q)
    for a in range(n):
        _reset_acc(xo[a], Po[a], d, acc_std)
    return xo, Po


@njit(cache=True, error_model="numpy")
def _turn_rates(x: FloatArray, ecef: bool, normal_accel: float, min_speed: float
                ) -> FloatArray:
    """``models.CoordinatedTurn.turn_rate``: ``a_n / max(|v - (v.u) u|, min_speed)``."""
    n = x.shape[0]
    out = np.empty(n)
    u = np.empty(3)
    for a in range(n):
        if ecef:
            nr = np.sqrt(x[a, 0] * x[a, 0] + x[a, 1] * x[a, 1] + x[a, 2] * x[a, 2])
            for i in range(3):
                u[i] = x[a, i] / nr
        else:
            u[0] = 0.0
            u[1] = 0.0
            u[2] = 1.0
        dot = x[a, 3] * u[0] + x[a, 4] * u[1] + x[a, 5] * u[2]
        s = 0.0
        for i in range(3):
            vh = x[a, 3 + i] - dot * u[i]
            s += vh * vh
        out[a] = normal_accel / max(np.sqrt(s), min_speed)
    return out


@njit(cache=True, error_model="numpy")
def mix_predict(xm: FloatArray, Pm: FloatArray, mu: FloatArray, dt: FloatArray,
                stay: FloatArray, kinds: np.ndarray, fp: FloatArray
                ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """``ImmTracker._mix_predict`` then ``_combine`` in one call, for models of the kinds
    ``MODEL_CV``, ``MODEL_CT`` and ``MODEL_BALLISTIC`` (``fp[j]`` their figures, see
    ``imm.ImmTracker._model_table``).

    ``stay (n, r)`` = ``exp(-|dt| / sojourn)`` (the diagonal of the Markov matrix; the rest of
    each row spread evenly). Returns the predicted ``xm, Pm``, the predicted mode
    probabilities ``cbar`` and the moment-matched ``x, P``.
    """
    n, r, d = xm.shape
    w = np.empty((n, r, r))
    cbar = np.empty((n, r))
    for a in range(n):
        for j in range(r):
            c = 0.0
            for i in range(r):
                if r == 1:
                    pij = 1.0
                elif i == j:
                    pij = stay[a, i]
                else:
                    pij = (1.0 - stay[a, i]) / (r - 1)
                w[a, i, j] = pij
                c += pij * mu[a, i]
            cbar[a, j] = max(c, 1e-300)
        for i in range(r):
            for j in range(r):
                w[a, i, j] = w[a, i, j] * mu[a, i] / cbar[a, j]
    x0, P0 = mix(xm, Pm, w)
    xo = np.empty_like(x0)
    Po = np.empty_like(P0)
    for j in range(r):
        xj = x0[:, j].copy()
        Pj = P0[:, j].copy()
        kind = kinds[j]
        f = fp[j]
        if kind == MODEL_CV:
            xn, Pn = _cv_predict(xj, Pj, dt, f[0], f[1])
        elif kind == MODEL_CT:
            om = _turn_rates(xj, f[4] != 0.0, f[2], f[3])
            xn, Pn = ct_predict(xj, Pj, dt, om, f[0], f[4] != 0.0, f[1])
        else:
            xn, Pn = ballistic_predict(xj, Pj, dt, f[0], f[5], f[4] != 0.0, f[6] != 0.0, f[7],
                                       f[8], f[1], f[9], f[10], f[11], f[2], f[3])
        xo[:, j] = xn
        Po[:, j] = Pn
    for a in range(n):
        tot = 0.0
        for j in range(r):
            tot += cbar[a, j]
        for j in range(r):
            cbar[a, j] = cbar[a, j] / tot
    x, P = combine(xo, Po, cbar)
    return xo, Po, cbar, x, P


@njit(cache=True, error_model="numpy")
def close_pairs(pos: FloatArray, radius: float) -> np.ndarray:
    """Index pairs ``(i, j)``, ``i < j``, of the points ``pos (n, 3)`` at most ``radius``
    apart (``|p_i - p_j|^2 <= radius^2``, as ``scipy.spatial.cKDTree.query_pairs``), by a
    sweep along the first coordinate; ``(p, 2)`` int64, in no particular order."""
    n = pos.shape[0]
    order = np.argsort(pos[:, 0], kind="mergesort")
    r2 = radius * radius
    cap = 16
    out = np.empty((cap, 2), np.int64)
    c = 0
    for a in range(n):
        i = order[a]
        for b in range(a + 1, n):
            j = order[b]
            d0 = pos[j, 0] - pos[i, 0]
            if d0 > radius:
                break
            d1 = pos[j, 1] - pos[i, 1]
            d2 = pos[j, 2] - pos[i, 2]
            if d0 * d0 + d1 * d1 + d2 * d2 <= r2:
                if c == cap:
                    cap *= 2
                    grown = np.empty((cap, 2), np.int64)
                    grown[:c] = out[:c]
                    out = grown
                out[c, 0] = min(i, j)
                out[c, 1] = max(i, j)
                c += 1
    return out[:c].copy()


@njit(cache=True, error_model="numpy")
def close_pairs_chunk(pos: FloatArray, order: np.ndarray, radius: float, start_a: int,
                      start_b: int, cap: int) -> tuple[np.ndarray, int, int]:
    """The pairs of ``close_pairs`` (same sweep, same test) at most ``cap`` at a time:
    ``order`` is ``argsort(pos[:, 0], kind="mergesort")`` and ``(start_a, start_b)`` the
    sweep position to resume from (``(0, 1)`` at first). Returns the pairs and the position
    after them; the sweep is done when that position's ``a`` is ``n``."""
    n = pos.shape[0]
    r2 = radius * radius
    out = np.empty((cap, 2), np.int64)
    c = 0
    a = start_a
    b = start_b
    while a < n:
        i = order[a]
        while b < n:
            j = order[b]
            d0 = pos[j, 0] - pos[i, 0]
            if d0 > radius:
                break
            if c == cap:
                return out, a, b
            d1 = pos[j, 1] - pos[i, 1]
            d2 = pos[j, 2] - pos[i, 2]
            if d0 * d0 + d1 * d1 + d2 * d2 <= r2:
                out[c, 0] = min(i, j)
                out[c, 1] = max(i, j)
                c += 1
            b += 1
        a += 1
        b = a + 1
    return out[:c].copy(), n, n


@njit(cache=True, error_model="numpy")
def confirm_delete(status: np.ndarray, track_id: np.ndarray, score: FloatArray,
                   score_max: FloatArray, misses: np.ndarray, opportunities: np.ndarray,
                   history: np.ndarray, use_score: bool, up: float, low: float,
                   score_drop: float, confirm_hits: int, confirm_window: int,
                   delete_misses: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``ImmTracker._confirm_delete`` over the whole table, in place (same rules, same slot
    order): returns the ids confirmed, the tentative ids deleted and the confirmed ids
    deleted. ``status`` values: 0 free, 1 tentative, 2 confirmed."""
    cap = status.size
    promote = np.empty(cap, np.int64)
    drop_t = np.empty(cap, np.int64)
    drop_c = np.empty(cap, np.int64)
    n_p = 0
    n_t = 0
    n_c = 0
    for s in range(cap):
        st = status[s]
        if st == 1:
            if use_score:
                if score[s] >= up:
                    promote[n_p] = s
                    n_p += 1
                if ((score[s] <= low) and (opportunities[s] > 1)) or misses[s] >= delete_misses:
                    drop_t[n_t] = s
                    n_t += 1
            else:
                window = min(opportunities[s], confirm_window)
                h = history[s] & ((np.uint64(1) << np.uint64(window)) - np.uint64(1))
                recent = 0
                while h:
                    h &= h - np.uint64(1)
                    recent += 1
                if recent >= confirm_hits:
                    promote[n_p] = s
                    n_p += 1
                elif recent + (confirm_window - window) < confirm_hits:
                    drop_t[n_t] = s
                    n_t += 1
        elif st == 2:
            if misses[s] >= delete_misses or (use_score and score[s] < score_max[s] - score_drop):
                drop_c[n_c] = s
                n_c += 1
    ids_p = np.empty(n_p, np.int64)
    for i in range(n_p):
        status[promote[i]] = 2
        ids_p[i] = track_id[promote[i]]
    ids_t = np.empty(n_t, np.int64)
    for i in range(n_t):
        ids_t[i] = track_id[drop_t[i]]
        status[drop_t[i]] = 0
        track_id[drop_t[i]] = -1
    ids_c = np.empty(n_c, np.int64)
    for i in range(n_c):
        ids_c[i] = track_id[drop_c[i]]
        status[drop_c[i]] = 0
        track_id[drop_c[i]] = -1
    return ids_p, ids_t, ids_c


# ---------------------------------------------------------------------------- initiation


@njit(cache=True, error_model="numpy")
def _mm3_probe(A: FloatArray, B: FloatArray) -> FloatArray:
    """``A @ B`` by ``_mm3`` (for the tests: whether numpy's ``@`` is this chain here)."""
    out = np.empty((3, 3))
    _mm3(A, B, out, False, False)
    return out


@njit(cache=True, error_model="numpy")
def _vm3(v: FloatArray, B: FloatArray, out: FloatArray) -> None:
    """``out = v @ B`` (row vector times 3x3), the FMA chain of ``_mm3``."""
    for j in range(3):
        acc = v[0] * B[0, j]
        acc = _fma(v[1], B[1, j], acc)
        out[j] = _fma(v[2], B[2, j], acc)


@njit(cache=True, error_model="numpy")
def polar_states(z: FloatArray, ce: FloatArray, se: FloatArray, ca: FloatArray,
                 sa: FloatArray, s2: FloatArray, with_rr: bool, vs2: float, sr2: float,
                 origin: FloatArray, rot: FloatArray, x: FloatArray, P: FloatArray) -> None:
    """``kernels.polar_to_state`` of the detections ``z (m, >=3)`` (with the cosines and sines
    of their elevations and azimuths, the measurement variances ``s2 (3,)``, ``vs2`` the
    squared initial velocity std, ``sr2`` the range-rate variance) into ``x[:, :6]``,
    ``P[:, :6, :6]`` (zeroed first), operation for operation: the matrix products as
    ``_mm3`` chains."""
    m = z.shape[0]
    J = np.empty((3, 3))
    D = np.zeros((3, 3))
    for t in range(3):
        D[t, t] = s2[t]
    JD = np.empty((3, 3))
    JR = np.empty((3, 3))
    T = np.empty((3, 3))
    Pp = np.empty((3, 3))
    d = np.empty(3)
    u = np.empty(3)
    los = np.empty(3)
    xp = np.empty(3)
    for i in range(m):
        r = z[i, 0]
        c_e, s_e, c_a, s_a = ce[i], se[i], ca[i], sa[i]
        d[0] = r * c_e * s_a
        d[1] = r * c_e * c_a
        d[2] = r * s_e
        J[0, 0], J[0, 1], J[0, 2] = c_e * s_a, r * c_e * c_a, -r * s_e * s_a
        J[1, 0], J[1, 1], J[1, 2] = c_e * c_a, -r * c_e * s_a, -r * s_e * c_a
        J[2, 0], J[2, 1], J[2, 2] = s_e, 0.0, r * c_e
        _mm3(J, D, JD, False, False)
        _mm3(JD, J, JR, False, True)
        _mm3(rot, JR, T, True, False)
        _mm3(T, rot, Pp, False, False)
        _vm3(d, rot, xp)
        for t in range(3):
            u[t] = d[t] / r
        _vm3(u, rot, los)
        for a in range(P.shape[1]):
            x[i, a] = 0.0
            for b in range(P.shape[2]):
                P[i, a, b] = 0.0
        rr = z[i, 3] if with_rr else np.nan
        aided = with_rr and np.isfinite(rr)
        for a in range(3):
            x[i, a] = xp[a] + origin[a]
            for b in range(3):
                P[i, a, b] = Pp[a, b]
                eye = 1.0 if a == b else 0.0
                if aided:
                    o = los[a] * los[b]
                    P[i, a + 3, b + 3] = vs2 * (eye - o) + sr2 * o
                else:
                    P[i, a + 3, b + 3] = vs2 * eye
            if aided:
                x[i, a + 3] = rr * los[a]


@njit(cache=True, error_model="numpy")
def initiate_tracks(z: FloatArray, ce: FloatArray, se: FloatArray, ca: FloatArray,
                    sa: FloatArray, s2: FloatArray, with_rr: bool, vs2: float, sr2: float,
                    origin: FloatArray, rot: FloatArray, acc_var: float, prior_mu: FloatArray,
                    first_id: int, t: float, score0: float, bit: np.uint64,
                    det_rows: np.ndarray, status: np.ndarray, track_id: np.ndarray,
                    x: FloatArray, P: FloatArray, xm: FloatArray, Pm: FloatArray,
                    mu: FloatArray, state_time: FloatArray, last_update: FloatArray,
                    created: FloatArray, hits: np.ndarray, misses: np.ndarray,
                    opportunities: np.ndarray, history: np.ndarray, score: FloatArray,
                    score_max: FloatArray, sensors_mask: np.ndarray,
                    last_detection_row: np.ndarray, class_score: FloatArray,
                    max_alt: FloatArray, max_speed: FloatArray) -> np.ndarray:
    """``ImmTracker._initiate`` on the table columns, in place: a tentative track (ids
    ``first_id``...) from each detection in the lowest free slots (the table has room),
    state from ``polar_states`` (acceleration variances ``acc_var`` when ``D = 9``), every
    mode at that state with the prior mode probabilities. Returns the slots, ascending."""
    c = z.shape[0]
    slots = np.empty(c, np.int64)
    filled = 0
    for s in range(status.size):
        if filled == c:
            break
        if status[s] == 0:
            slots[filled] = s
            filled += 1
    if filled < c:
        raise ValueError("track table full")
    dim = x.shape[1]
    xs = np.empty((c, dim))
    Ps = np.empty((c, dim, dim))
    polar_states(z, ce, se, ca, sa, s2, with_rr, vs2, sr2, origin, rot, xs, Ps)
    r = mu.shape[1]
    for i in range(c):
        s = slots[i]
        if dim == 9:
            for a in range(6, 9):
                Ps[i, a, a] = acc_var
        for a in range(dim):
            x[s, a] = xs[i, a]
            for b in range(dim):
                P[s, a, b] = Ps[i, a, b]
        for j in range(r):
            mu[s, j] = prior_mu[j]
            for a in range(dim):
                xm[s, j, a] = xs[i, a]
                for b in range(dim):
                    Pm[s, j, a, b] = Ps[i, a, b]
        track_id[s] = first_id + i
        status[s] = 1
        state_time[s] = t
        last_update[s] = t
        created[s] = t
        hits[s] = 1
        misses[s] = 0
        opportunities[s] = 1
        history[s] = np.uint64(1)
        score[s] = score0
        score_max[s] = score0
        sensors_mask[s] = bit
        last_detection_row[s] = det_rows[i]
        class_score[s] = 0.0
        max_alt[s] = -np.inf
        max_speed[s] = 0.0
    return slots


# ---------------------------------------------------------------------------- gating, GNN


@njit(cache=True, error_model="numpy")
def gate(z: FloatArray, zhat: FloatArray, S: FloatArray, S_inv: FloatArray, threshold: float
         ) -> tuple[np.ndarray, np.ndarray, FloatArray]:
    """``imm._gate`` after its ``S_inv = inv(S)`` (numpy's, passed in): the detections within
    ``sqrt(threshold S_00)`` in range of each track (sorted-range search), then within
    ``sqrt(threshold S_22)`` in elevation, then ``d2 = nu^T S_inv nu <= threshold``. Returns
    ``(track, detection, d2)`` in the reference's order (by track, then by range) with the
    same ``d2`` (the sum of ``einsum("pi,pij,pj->p")``: ``i`` outer, ``j`` inner, one
    accumulator)."""
    n = zhat.shape[0]
    m, k = z.shape
    order = np.argsort(z[:, 0], kind="mergesort")
    zr = np.empty(m)
    for i in range(m):
        zr[i] = z[order[i], 0]
    cap = 16
    out_t = np.empty(cap, np.int64)
    out_d = np.empty(cap, np.int64)
    out_d2 = np.empty(cap)
    c = 0
    nu = np.empty(k)
    for a in range(n):
        half_r = np.sqrt(threshold * S[a, 0, 0])
        lo = np.searchsorted(zr, zhat[a, 0] - half_r, side="left")
        hi = np.searchsorted(zr, zhat[a, 0] + half_r, side="right")
        half_e = np.sqrt(threshold * S[a, 2, 2])
        for b in range(lo, hi):
            j = order[b]
            if not np.abs(z[j, 2] - zhat[a, 2]) <= half_e:
                continue
            for q in range(k):
                nu[q] = z[j, q] - zhat[a, q]
            nu[1] = _wrap(nu[1])
            d2 = 0.0
            for p in range(k):
                for q in range(k):
                    d2 += nu[p] * S_inv[a, p, q] * nu[q]
            if not d2 <= threshold:
                continue
            if c == cap:
                cap *= 2
                gt = np.empty(cap, np.int64)
                gd = np.empty(cap, np.int64)
                g2 = np.empty(cap)
                gt[:c] = out_t[:c]
                gd[:c] = out_d[:c]
                g2[:c] = out_d2[:c]
                out_t, out_d, out_d2 = gt, gd, g2
            out_t[c] = a
            out_d[c] = j
            out_d2[c] = d2
            c += 1
    return out_t[:c].copy(), out_d[:c].copy(), out_d2[:c].copy()


@njit(cache=True, error_model="numpy")
def _find(parent: np.ndarray, i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


@njit(cache=True, error_model="numpy")
def pair_clusters(pairs_t: np.ndarray, pairs_d: np.ndarray, n: int, m: int) -> np.ndarray:
    """Connected components of the gating graph (tracks ``0..n-1``, detections ``0..m-1``,
    an edge per pair) by union-find: the component label of each pair, numbered from 0 in
    order of first appearance, or -1 for a pair that is its own component (its track and its
    detection in no other pair)."""
    p = pairs_t.size
    parent = np.arange(n + m)
    for i in range(p):
        a = _find(parent, pairs_t[i])
        b = _find(parent, n + pairs_d[i])
        if a != b:
            parent[max(a, b)] = min(a, b)
    nt = np.zeros(n, np.int64)
    nd = np.zeros(m, np.int64)
    for i in range(p):
        nt[pairs_t[i]] += 1
        nd[pairs_d[i]] += 1
    label = np.full(p, -1, np.int64)
    ids = np.full(n + m, -1, np.int64)
    nxt = 0
    for i in range(p):
        if nt[pairs_t[i]] == 1 and nd[pairs_d[i]] == 1:
            continue
        root = _find(parent, pairs_t[i])
        if ids[root] < 0:
            ids[root] = nxt
            nxt += 1
        label[i] = ids[root]
    return label


@njit(cache=True, error_model="numpy")
def pair_costs(d2: FloatArray, pairs_t: np.ndarray, logdet: FloatArray, k_ln_2pi: float,
               ln_lam: float, ln_pd: float) -> FloatArray:
    """``imm._scan``'s negative log-likelihood ratio of each pair, operation for operation:
    ``0.5 d2 + 0.5 (k ln 2 pi + ln det S) + ln lambda - ln Pd``."""
    out = np.empty(d2.size)
    for i in range(d2.size):
        out[i] = 0.5 * d2[i] + 0.5 * (k_ln_2pi + logdet[pairs_t[i]]) + ln_lam - ln_pd
    return out


@njit(cache=True, error_model="numpy")
def record_hits(slots: np.ndarray, det_rows: np.ndarray, gain: FloatArray, t: float,
                bit: np.uint64, hits: np.ndarray, misses: np.ndarray,
                opportunities: np.ndarray, history: np.ndarray, last_update: FloatArray,
                last_detection_row: np.ndarray, sensors_mask: np.ndarray, score: FloatArray,
                score_max: FloatArray) -> None:
    """The bookkeeping of ``ImmTracker._record_hits`` (before the classifier), in place."""
    for i in range(slots.size):
        s = slots[i]
        hits[s] += 1
        misses[s] = 0
        opportunities[s] += 1
        history[s] = (history[s] << np.uint64(1)) | np.uint64(1)
        last_update[s] = t
        last_detection_row[s] = det_rows[i]
        sensors_mask[s] |= bit
        score[s] += gain[i]
        v = score[s]
        top = score_max[s]
        if v != v or top != top:  # np.maximum propagates NaN
            score_max[s] = np.nan
        elif v > top:
            score_max[s] = v


@njit(cache=True, error_model="numpy")
def mix_predict_slots(slots: np.ndarray, t: float, dt: FloatArray, stay: FloatArray,
                      kinds: np.ndarray, fp: FloatArray, xm: FloatArray, Pm: FloatArray,
                      mu: FloatArray, x: FloatArray, P: FloatArray,
                      state_time: FloatArray) -> None:
    """``mix_predict`` of the table rows ``slots`` by ``dt``, written back in place (mode
    estimates, mode probabilities, the combined estimate, ``state_time = t``)."""
    n = slots.size
    r, d = xm.shape[1], xm.shape[2]
    gx = np.empty((n, r, d))
    gP = np.empty((n, r, d, d))
    gm = np.empty((n, r))
    for i in range(n):
        s = slots[i]
        gx[i] = xm[s]
        gP[i] = Pm[s]
        gm[i] = mu[s]
    xo, Po, cbar, xc, Pc = mix_predict(gx, gP, gm, dt, stay, kinds, fp)
    for i in range(n):
        s = slots[i]
        xm[s] = xo[i]
        Pm[s] = Po[i]
        mu[s] = cbar[i]
        x[s] = xc[i]
        P[s] = Pc[i]
        state_time[s] = t


@njit(cache=True, error_model="numpy")
def ekf_update_slots(slots: np.ndarray, local: np.ndarray, det: np.ndarray, z: FloatArray,
                     zhat_m: FloatArray, S_m: FloatArray, C_m: FloatArray, H_m: FloatArray,
                     sig2: FloatArray, xm: FloatArray, Pm: FloatArray, mu: FloatArray,
                     x: FloatArray, P: FloatArray) -> None:
    """``ekf_update_assigned`` of the table rows ``slots`` (``local``: their rows in the
    per-scan measurement arrays, ``det``: their detections in ``z``), in place."""
    u = slots.size
    r, d = xm.shape[1], xm.shape[2]
    k = z.shape[1]
    gx = np.empty((u, r, d))
    gP = np.empty((u, r, d, d))
    gm = np.empty((u, r))
    zz = np.empty((u, k))
    gz = np.empty((u, r, k))
    gS = np.empty((u, r, k, k))
    gC = np.empty((u, r, d, k))
    gH = np.empty((u, r, k, d))
    for i in range(u):
        s = slots[i]
        a = local[i]
        gx[i] = xm[s]
        gP[i] = Pm[s]
        gm[i] = mu[s]
        zz[i] = z[det[i]]
        gz[i] = zhat_m[a]
        gS[i] = S_m[a]
        gC[i] = C_m[a]
        gH[i] = H_m[a]
    xo, Po, muo, xc, Pc = ekf_update_assigned(gx, gP, gm, zz, gz, gS, gC, gH, sig2)
    for i in range(u):
        s = slots[i]
        xm[s] = xo[i]
        Pm[s] = Po[i]
        mu[s] = muo[i]
        x[s] = xc[i]
        P[s] = Pc[i]
