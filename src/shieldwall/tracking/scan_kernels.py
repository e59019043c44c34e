"""Compiled kernels of the tracker's scan loop (numba; scalar code, one track at a time).

The maths is that of ``shieldwall.tracking.kernels`` (which stays the batched numpy reference
and the public API); these kernels do the same per track, in place on the ``TrackTable``
columns, so a scan of ~100 tracks costs microseconds instead of one numpy call per operation.
They agree with the numpy kernels to rounding (tested in ``tests/test_ekf.py``).

One scan is two calls: ``scan_front`` (predict, measure, gate, and the EKF updates when the
gated pairs do not conflict) and ``scan_tail`` (misses, initiation, M-of-N confirmation and
deletion); between them the tracker solves the assignment when pairs conflict (and
``scan_front`` applies it) and asks the coverage callable. ``delete_stale`` ends the call.

Conventions: ``x (cap, 6)``, ``P (cap, 6, 6)`` and the other columns are the table's arrays,
``slots`` int64 rows into them; ``k`` is 3 (range, azimuth, elevation) or 4 (+ range rate);
``sig2 (4,)`` the measurement variances (R is diagonal; the first k are used).
"""

from __future__ import annotations

import numpy as np

from shieldwall.geo import EARTH_GM_M3_S2, EARTH_OMEGA_RAD_S, WGS84_A_M, WGS84_B_M

try:  # numba is the fast path; the pure-Python fallback gives the same numbers, slowly.
    from numba import njit
except ImportError:  # pragma: no cover - exercised only without numba
    def njit(*args, **kwargs):  # type: ignore[no-redef]
        if args and callable(args[0]):
            return args[0]
        return lambda f: f

FREE = 0
TENTATIVE = 1
CONFIRMED = 2
_MIN_RHO2 = 1e-3 * 1e-3  # kernels._MIN_HORIZONTAL_M ** 2
_U1 = np.uint64(1)

N_CLASSIFIER_PARAMS = 10


def classifier_params(c: object) -> np.ndarray:
    """The ``KinematicClassifier`` figures as the float vector the kernels read."""
    names = ("ballistic_alt_m", "ballistic_speed_mps", "steep_descent_mps", "air_max_speed_mps",
             "air_max_alt_m", "speed_std_limit_mps", "weight_altitude", "weight_speed",
             "weight_air", "score_limit")
    return np.array([float(getattr(c, n)) for n in names])


# ---------------------------------------------------------------------------- small helpers

@njit(cache=True, error_model="numpy")
def wrap_scalar(a: float) -> float:
    """``kernels.wrap_angle`` of one angle."""
    return np.pi - np.mod(np.pi - a, 2.0 * np.pi)


@njit(cache=True, error_model="numpy")
def _lu_factor(S: np.ndarray, k: int, LU: np.ndarray, piv: np.ndarray) -> float:
    """LU factorization with partial pivoting (LAPACK ``getrf`` pivot order) of ``S (k, k)``
    into ``LU`` and ``piv``; returns ``log |det S|``. ``S`` is not modified."""
    for i in range(k):
        for j in range(k):
            LU[i, j] = S[i, j]
    logdet = 0.0
    for c in range(k):
        p = c
        best = abs(LU[c, c])
        for r in range(c + 1, k):
            if abs(LU[r, c]) > best:
                best = abs(LU[r, c])
                p = r
        piv[c] = p
        if p != c:
            for j in range(k):
                tmp = LU[c, j]
                LU[c, j] = LU[p, j]
                LU[p, j] = tmp
        d = LU[c, c]
        logdet += np.log(abs(d))
        for r in range(c + 1, k):
            f = LU[r, c] / d
            LU[r, c] = f
            for j in range(c + 1, k):
                LU[r, j] -= f * LU[c, j]
    return logdet


@njit(cache=True, error_model="numpy")
def _lu_solve(LU: np.ndarray, piv: np.ndarray, k: int, b: np.ndarray, out: np.ndarray) -> None:
    """Solve ``S out = b`` with the factors of ``_lu_factor`` (``b`` is not modified)."""
    for i in range(k):
        out[i] = b[i]
    for c in range(k):
        p = piv[c]
        if p != c:
            tmp = out[c]
            out[c] = out[p]
            out[p] = tmp
    for i in range(k):
        acc = out[i]
        for j in range(i):
            acc -= LU[i, j] * out[j]
        out[i] = acc
    for i in range(k - 1, -1, -1):
        acc = out[i]
        for j in range(i + 1, k):
            acc -= LU[i, j] * out[j]
        out[i] = acc / LU[i, i]


@njit(cache=True, error_model="numpy")
def _measure_one(xs: np.ndarray, origin: np.ndarray, rot: np.ndarray, with_rr: bool,
                 zhat: np.ndarray, H: np.ndarray) -> None:
    """``kernels.radar_measurement`` of one state: fills ``zhat (k,)`` and ``H (k, 6)``."""
    p0 = xs[0] - origin[0]
    p1 = xs[1] - origin[1]
    p2 = xs[2] - origin[2]
    e = p0 * rot[0, 0] + p1 * rot[0, 1] + p2 * rot[0, 2]
    nn = p0 * rot[1, 0] + p1 * rot[1, 1] + p2 * rot[1, 2]
    u = p0 * rot[2, 0] + p1 * rot[2, 1] + p2 * rot[2, 2]
    rho2 = max(e * e + nn * nn, _MIN_RHO2)
    rho = np.sqrt(rho2)
    r2 = rho2 + u * u
    r = np.sqrt(r2)
    zhat[0] = r
    zhat[1] = np.arctan2(e, nn)
    zhat[2] = np.arctan2(u, rho)
    j00, j01, j02 = e / r, nn / r, u / r
    j10, j11 = nn / rho2, -e / rho2
    j20, j21, j22 = -e * u / (r2 * rho), -nn * u / (r2 * rho), rho / r2
    for j in range(3):
        H[0, j] = j00 * rot[0, j] + j01 * rot[1, j] + j02 * rot[2, j]
        H[1, j] = j10 * rot[0, j] + j11 * rot[1, j]
        H[2, j] = j20 * rot[0, j] + j21 * rot[1, j] + j22 * rot[2, j]
        H[0, j + 3] = 0.0
        H[1, j + 3] = 0.0
        H[2, j + 3] = 0.0
    if with_rr:
        w0 = xs[3] * rot[0, 0] + xs[4] * rot[0, 1] + xs[5] * rot[0, 2]
        w1 = xs[3] * rot[1, 0] + xs[4] * rot[1, 1] + xs[5] * rot[1, 2]
        w2 = xs[3] * rot[2, 0] + xs[4] * rot[2, 1] + xs[5] * rot[2, 2]
        rr = (e * w0 + nn * w1 + u * w2) / r
        zhat[3] = rr
        f = rr / r
        g0 = (w0 - f * e) / r
        g1 = (w1 - f * nn) / r
        g2 = (w2 - f * u) / r
        for j in range(3):
            H[3, j] = g0 * rot[0, j] + g1 * rot[1, j] + g2 * rot[2, j]
            H[3, j + 3] = j00 * rot[0, j] + j01 * rot[1, j] + j02 * rot[2, j]


@njit(cache=True, error_model="numpy")
def _as_int(v: int) -> int:
    """``v`` typed as a plain integer (a variable initialized from a literal would otherwise
    make numba compile a literal specialization of the big kernel it is passed to)."""
    return np.int64(v)  # type: ignore[return-value]  # the np.int64 is the point (numba)


@njit(cache=True, error_model="numpy")
def _range_elevation_var(Ps: np.ndarray, H: np.ndarray, sig2: np.ndarray) -> tuple[float, float]:
    """``S_00`` and ``S_22`` (``H_i P H_i^T + R_ii``; rows 0 and 2 of H are position-only)."""
    out0 = 0.0
    out2 = 0.0
    for a in range(3):
        row0 = 0.0
        row2 = 0.0
        for b in range(3):
            row0 += Ps[a, b] * H[0, b]
            row2 += Ps[a, b] * H[2, b]
        out0 += H[0, a] * row0
        out2 += H[2, a] * row2
    return out0 + sig2[0], out2 + sig2[2]


@njit(cache=True, error_model="numpy")
def _innovation_cov(Ps: np.ndarray, H: np.ndarray, sig2: np.ndarray, k: int,
                    HP: np.ndarray, S: np.ndarray) -> None:
    """``S = H P H^T + R`` (symmetrized); leaves ``HP = H P (k, 6)`` for the caller."""
    for i in range(k):
        nc = 6 if i == 3 else 3  # rows 0..2 of H have no velocity part
        for j in range(6):
            acc = 0.0
            for a in range(nc):
                acc += H[i, a] * Ps[a, j]
            HP[i, j] = acc
    for i in range(k):
        for j in range(k):
            nc = 6 if j == 3 else 3
            acc = 0.0
            for a in range(nc):
                acc += HP[i, a] * H[j, a]
            S[i, j] = acc
        S[i, i] += sig2[i]
    for i in range(k):
        for j in range(i + 1, k):
            v = 0.5 * (S[i, j] + S[j, i])
            S[i, j] = v
            S[j, i] = v


@njit(cache=True, error_model="numpy")
def _symmetrize6(M: np.ndarray) -> None:
    for i in range(6):
        for j in range(i + 1, 6):
            v = 0.5 * (M[i, j] + M[j, i])
            M[i, j] = v
            M[j, i] = v


# ---------------------------------------------------------------------------- prediction

@njit(cache=True, error_model="numpy")
def _gravity(p0: float, p1: float, p2: float, out: np.ndarray) -> None:
    r = np.sqrt(p0 * p0 + p1 * p1 + p2 * p2)
    r3 = r**3
    out[0] = -EARTH_GM_M3_S2 * p0 / r3
    out[1] = -EARTH_GM_M3_S2 * p1 / r3
    out[2] = -EARTH_GM_M3_S2 * p2 / r3


@njit(cache=True, error_model="numpy")
def _predict_one(xs: np.ndarray, Ps: np.ndarray, h: float, n_sub: int, q: float, grav: bool,
                 rotating: bool, A: np.ndarray, F: np.ndarray, FP: np.ndarray,
                 a0: np.ndarray, a1: np.ndarray) -> None:
    """``kernels.predict_kernel`` of one row, in place: ``n_sub`` steps of ``h`` seconds
    (``A``, ``F``, ``FP`` (6, 6) and ``a0``, ``a1`` (3,) are scratch)."""
    ah = abs(h)
    q_pp = q * ah**3 / 3.0
    q_pv = q * ah**2 / 2.0
    q_vv = q * ah
    w = EARTH_OMEGA_RAD_S
    for _ in range(n_sub):
        if grav:
            p0, p1, p2 = xs[0], xs[1], xs[2]
            v0, v1, v2 = xs[3], xs[4], xs[5]
            r = np.sqrt(p0 * p0 + p1 * p1 + p2 * p2)
            u0, u1, u2 = p0 / r, p1 / r, p2 / r
            c = -EARTH_GM_M3_S2 / r**3
            for i in range(6):
                for j in range(6):
                    A[i, j] = 0.0
            for i in range(3):
                A[i, i + 3] = 1.0
            A[3, 0] = c * (1.0 - 3.0 * u0 * u0)
            A[3, 1] = c * (0.0 - 3.0 * u0 * u1)
            A[3, 2] = c * (0.0 - 3.0 * u0 * u2)
            A[4, 0] = c * (0.0 - 3.0 * u1 * u0)
            A[4, 1] = c * (1.0 - 3.0 * u1 * u1)
            A[4, 2] = c * (0.0 - 3.0 * u1 * u2)
            A[5, 0] = c * (0.0 - 3.0 * u2 * u0)
            A[5, 1] = c * (0.0 - 3.0 * u2 * u1)
            A[5, 2] = c * (1.0 - 3.0 * u2 * u2)
            if rotating:
                A[3, 0] += w * w
                A[4, 1] += w * w
                A[3, 4] = 2.0 * w
                A[4, 3] = -2.0 * w
            hh2 = h * h
            for i in range(6):
                for j in range(6):
                    acc = 0.0
                    for a in range(6):
                        acc += A[i, a] * A[a, j]
                    F[i, j] = (1.0 if i == j else 0.0) + A[i, j] * h + 0.5 * acc * hh2
            for i in range(6):
                for j in range(6):
                    acc = 0.0
                    for a in range(6):
                        acc += F[i, a] * Ps[a, j]
                    FP[i, j] = acc
            for i in range(6):
                for j in range(6):
                    acc = 0.0
                    for a in range(6):
                        acc += FP[i, a] * F[j, a]
                    Ps[i, j] = acc
            _gravity(p0, p1, p2, a0)
            if rotating:
                a0[0] += 2.0 * w * v1 + w * w * p0
                a0[1] += -2.0 * w * v0 + w * w * p1
            n0 = p0 + v0 * h + 0.5 * a0[0] * h * h
            n1 = p1 + v1 * h + 0.5 * a0[1] * h * h
            n2 = p2 + v2 * h + 0.5 * a0[2] * h * h
            _gravity(n0, n1, n2, a1)
            if rotating:
                a1[0] += 2.0 * w * (v1 + a0[1] * h) + w * w * n0
                a1[1] += -2.0 * w * (v0 + a0[0] * h) + w * w * n1
            xs[0], xs[1], xs[2] = n0, n1, n2
            xs[3] = v0 + 0.5 * (a0[0] + a1[0]) * h
            xs[4] = v1 + 0.5 * (a0[1] + a1[1]) * h
            xs[5] = v2 + 0.5 * (a0[2] + a1[2]) * h
        else:
            # F = [[I, h I], [0, I]]:  F P F^T by blocks
            for i in range(3):
                for j in range(6):
                    FP[i, j] = Ps[i, j] + h * Ps[i + 3, j]
                    FP[i + 3, j] = Ps[i + 3, j]
            for i in range(6):
                for j in range(3):
                    Ps[i, j] = FP[i, j] + h * FP[i, j + 3]
                    Ps[i, j + 3] = FP[i, j + 3]
            for i in range(3):
                xs[i] = xs[i] + xs[i + 3] * h
        for i in range(3):
            Ps[i, i] += q_pp
            Ps[i, i + 3] += q_pv
            Ps[i + 3, i] += q_pv
            Ps[i + 3, i + 3] += q_vv
        _symmetrize6(Ps)


@njit(cache=True, error_model="numpy")
def predict_rows(x: np.ndarray, P: np.ndarray, state_time: np.ndarray, score: np.ndarray,
                 slots: np.ndarray, t: float, q_air: float, q_bal: float, gravity: bool,
                 max_step: float, rotating: bool) -> None:
    """Predict the rows ``slots`` of the table to time ``t``, in place (``MotionModel``).

    Ballistic-class rows (``score > 0``) use ``q_bal`` and, with ``gravity``, point-mass
    gravity; when any of them steps further than ``max_step`` every row is advanced in the
    same number of equal sub-steps (as ``kernels.predict_kernel`` on the batch ``slots``).
    Rows already at ``t`` keep their state (their covariance is only symmetrized, which is what
    a zero step does).
    """
    n = slots.size
    n_sub = 1
    if gravity:
        mx = 0.0
        anyg = False
        for i in range(n):
            s = slots[i]
            if score[s] > 0.0:
                anyg = True
                a = abs(t - state_time[s])
                if a > mx:
                    mx = a
        if anyg:
            n_sub = max(1, int(np.ceil(mx / max_step)))
    A = np.zeros((6, 6))
    F = np.zeros((6, 6))
    FP = np.zeros((6, 6))
    a0 = np.zeros(3)
    a1 = np.zeros(3)
    for i in range(n):
        s = slots[i]
        dt = t - state_time[s]
        if dt == 0.0:
            _symmetrize6(P[s])
        else:
            ballistic = score[s] > 0.0
            q = q_bal if ballistic else q_air
            _predict_one(x[s], P[s], dt / n_sub, n_sub, q, ballistic and gravity, rotating,
                         A, F, FP, a0, a1)
        state_time[s] = t


# ---------------------------------------------------------------------------- update / record

@njit(cache=True, error_model="numpy")
def _classify_one(x: np.ndarray, P: np.ndarray, s: int, score: np.ndarray,
                  max_alt: np.ndarray, max_speed: np.ndarray, cp: np.ndarray) -> None:
    """``KinematicClassifier.accumulate`` of one slot (``cp`` = ``classifier_params``)."""
    p0, p1, p2 = x[s, 0], x[s, 1], x[s, 2]
    v0, v1, v2 = x[s, 3], x[s, 4], x[s, 5]
    r = np.sqrt(p0 * p0 + p1 * p1 + p2 * p2)
    sn = p2 / max(r, 1.0)
    c2 = 1.0 - sn * sn
    radius = WGS84_A_M * WGS84_B_M / np.sqrt((WGS84_B_M**2) * c2 + (WGS84_A_M**2) * sn * sn)
    alt = r - radius
    speed = np.sqrt(v0 * v0 + v1 * v1 + v2 * v2)
    tr = P[s, 3, 3] + P[s, 4, 4] + P[s, 5, 5]
    vel_std = np.sqrt(max(tr, 0.0) / 3.0)
    reliable = vel_std < cp[5]
    v_up = v0 * (p0 / r) + v1 * (p1 / r) + v2 * (p2 / r)
    delta = cp[6] if alt > cp[0] else 0.0
    delta += cp[7] if (reliable and speed > cp[1]) else 0.0
    delta += cp[7] if (reliable and v_up < -cp[2]) else 0.0
    air = reliable and speed < cp[3] and alt < cp[4]
    delta -= cp[8] if air else 0.0
    sc = score[s] + delta
    score[s] = min(max(sc, -cp[9]), cp[9])
    ma = max_alt[s]
    if np.isnan(ma) or np.isnan(alt):
        max_alt[s] = np.nan
    else:
        max_alt[s] = max(ma, alt)
    if reliable:
        ms = max_speed[s]
        if np.isnan(ms):
            max_speed[s] = speed
        elif not np.isnan(speed):
            max_speed[s] = max(ms, speed)


@njit(cache=True, error_model="numpy")
def _record_hit(s: int, det_row: int, t: float, bit: np.uint64, hits: np.ndarray,
                n_updates: np.ndarray, misses: np.ndarray, history: np.ndarray,
                opportunities: np.ndarray, last_update_s: np.ndarray, sensors_mask: np.ndarray,
                last_detection_row: np.ndarray) -> None:
    hits[s] += 1
    n_updates[s] += 1
    misses[s] = 0
    history[s] = (history[s] << _U1) | _U1
    opportunities[s] += 1
    last_update_s[s] = t
    sensors_mask[s] |= bit
    last_detection_row[s] = det_row


@njit(cache=True, error_model="numpy")
def _joseph_one(xs: np.ndarray, Ps: np.ndarray, nu: np.ndarray, H: np.ndarray, S: np.ndarray,
                sig2: np.ndarray, k: int, HP: np.ndarray, LU: np.ndarray, piv: np.ndarray,
                Kt: np.ndarray, col: np.ndarray, sol: np.ndarray, IKH: np.ndarray,
                T: np.ndarray) -> None:
    """EKF update in the Joseph form of one track (``kernels.ekf_update_joseph``), given its
    ``H``, ``S`` and ``HP = H P``; the rest are scratch."""
    _lu_factor(S, k, LU, piv)
    # K^T = S^-1 (P H^T)^T = S^-1 (H P)  (P symmetric)
    for j in range(6):
        for a in range(k):
            col[a] = HP[a, j]
        _lu_solve(LU, piv, k, col, sol)
        for a in range(k):
            Kt[a, j] = sol[a]
    for i in range(6):
        acc = 0.0
        for a in range(k):
            acc += Kt[a, i] * nu[a]
        xs[i] = xs[i] + acc
    for i in range(6):
        for j in range(6):
            acc = 0.0
            for a in range(k):
                acc += Kt[a, i] * H[a, j]
            IKH[i, j] = (1.0 if i == j else 0.0) - acc
    for i in range(6):
        for j in range(6):
            acc = 0.0
            for a in range(6):
                acc += IKH[i, a] * Ps[a, j]
            T[i, j] = acc
    for i in range(6):
        for j in range(i, 6):
            acc = 0.0
            for a in range(6):
                acc += T[i, a] * IKH[j, a]
            kr = 0.0
            for a in range(k):
                kr += Kt[a, i] * sig2[a] * Kt[a, j]
            Ps[i, j] = acc + kr
    for i in range(6):
        for j in range(i + 1, 6):
            # the Joseph product is symmetric up to rounding; compute it once per pair of
            # entries and mirror (what symmetrizing the full product gives, to rounding)
            Ps[j, i] = Ps[i, j]


# ---------------------------------------------------------------------------- one scan
#
# The entry kernels take the 17 table columns first, in ``TrackTable`` field order
# (``COLUMNS``), then packed constants:
#   params (float64): PARAMS layout (motion model, gates, initiation);
#   iparams (int64): confirm_hits, confirm_window, delete_misses;
#   frame (float64): FRAME layout (sensor origin, rotation, variances, coverage limits);
# and write the call's log into buffers owned by the caller:
#   log_i (4, m) int64: track id, slot, detection row, sensor id; log_f (2, m) float64: time,
#   NIS (NaN for initiations); log_b (m,) bool: initiated -- one column per detection used;
#   cd (2, n) int64: confirmed ids (row 0), deleted ids (row 1); delc (n,) bool: the deleted
#   track was confirmed; counts (3,) int64: entries used in (log, confirmed, deleted).

COLUMNS = ("track_id", "x", "P", "state_time_s", "status", "hits", "misses", "history",
           "opportunities", "last_update_s", "created_s", "n_updates", "sensors_mask",
           "last_detection_row", "class_ballistic_score", "max_alt_m", "max_speed_mps")
PARAMS = ("process_noise_m2_s3", "ballistic_process_noise_m2_s3", "gravity", "max_step_s",
          "rotating_frame", "gate_threshold_3", "gate_threshold_4", "initial_velocity_std_mps")
FRAME = ("origin_x", "origin_y", "origin_z", "r00", "r01", "r02", "r10", "r11", "r12", "r20",
         "r21", "r22", "var_range", "var_azimuth", "var_elevation", "var_range_rate",
         "max_range_m", "min_elevation_rad", "max_elevation_rad", "heading_rad",
         "sector_half_width_rad")


def frame_vector(origin: np.ndarray, rotation: np.ndarray, sig2: np.ndarray, max_range: float,
                 min_el: float, max_el: float, heading: float, half_width: float) -> np.ndarray:
    """Pack a sensor frame in the ``FRAME`` layout (``half_width`` NaN: all round)."""
    return np.concatenate([np.reshape(origin, 3), np.reshape(rotation, 9), np.reshape(sig2, 4),
                           [max_range, min_el, max_el, heading, half_width]]).astype(np.float64)


@njit(cache=True, error_model="numpy")
def _unpack_frame(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    origin = frame[0:3].copy()
    rot = np.empty((3, 3))
    for i in range(3):
        for j in range(3):
            rot[i, j] = frame[3 + 3 * i + j]
    return origin, rot, frame[12:16].copy()


@njit(cache=True, error_model="numpy")
def _apply_updates(x: np.ndarray, P: np.ndarray, track_id: np.ndarray, hits: np.ndarray,
                   n_updates: np.ndarray, misses: np.ndarray, history: np.ndarray,
                   opportunities: np.ndarray, last_update_s: np.ndarray,
                   sensors_mask: np.ndarray, last_detection_row: np.ndarray,
                   score: np.ndarray, max_alt: np.ndarray, max_speed: np.ndarray,
                   active: np.ndarray, n_active: int, pair_idx: np.ndarray,
                   pair_val: np.ndarray, sel: np.ndarray, rows: np.ndarray,
                   origin: np.ndarray, rot: np.ndarray, sig2: np.ndarray, with_rr: bool,
                   bit: np.uint64, t: float, sensor_id: int, classify: bool, cp: np.ndarray,
                   det_state: np.ndarray, covered: np.ndarray, default_coverage: bool,
                   idle: np.ndarray, log_i: np.ndarray, log_f: np.ndarray, log_b: np.ndarray,
                   counts: np.ndarray) -> int:
    """EKF-update the selected pairs ``sel`` (track ``active[pair_idx[0, p]]``, detection
    ``pair_idx[1, p]``, NIS ``pair_val[p, 0]``, innovation ``pair_val[p, 2:]``) in that order,
    log them, mark their detections used (``det_state`` 2), and list in ``idle`` the live
    tracks that were not updated (with the default coverage: only the covered ones, i.e. the
    misses); returns the length of that list."""
    k = 4 if with_rr else 3
    zhat = np.empty(4)
    H = np.empty((4, 6))
    HP = np.empty((4, 6))
    S = np.empty((4, 4))
    LU = np.empty((4, 4))
    piv = np.empty(4, np.int64)
    Kt = np.empty((4, 6))
    col = np.empty(4)
    sol = np.empty(4)
    IKH = np.empty((6, 6))
    T = np.empty((6, 6))
    nu = np.empty(4)
    hit = np.zeros(n_active, np.bool_)
    row = counts[0]
    for c in range(sel.size):
        p = sel[c]
        i = pair_idx[0, p]
        j = pair_idx[1, p]
        s = active[i]
        for a in range(k):
            nu[a] = pair_val[p, 2 + a]
        _measure_one(x[s], origin, rot, with_rr, zhat, H)
        _innovation_cov(P[s], H, sig2, k, HP, S)
        _joseph_one(x[s], P[s], nu, H, S, sig2, k, HP, LU, piv, Kt, col, sol, IKH, T)
        _record_hit(s, rows[j], t, bit, hits, n_updates, misses, history, opportunities,
                    last_update_s, sensors_mask, last_detection_row)
        if classify:
            _classify_one(x, P, s, score, max_alt, max_speed, cp)
        hit[i] = True
        det_state[j] = 2
        log_i[0, row] = track_id[s]
        log_i[1, row] = s
        log_i[2, row] = rows[j]
        log_i[3, row] = sensor_id
        log_f[0, row] = t
        log_f[1, row] = pair_val[p, 0]
        log_b[row] = False
        row += 1
    counts[0] = row
    n_idle = 0
    for i in range(n_active):
        if not hit[i] and (covered[i] or not default_coverage):
            idle[n_idle] = active[i]
            n_idle += 1
    return n_idle


@njit(cache=True, error_model="numpy")
def scan_front(track_id: np.ndarray, x: np.ndarray, P: np.ndarray, state_time: np.ndarray,
               status: np.ndarray, hits: np.ndarray, misses: np.ndarray, history: np.ndarray,
               opportunities: np.ndarray, last_update_s: np.ndarray, created_s: np.ndarray,
               n_updates: np.ndarray, sensors_mask: np.ndarray, last_detection_row: np.ndarray,
               score: np.ndarray, max_alt: np.ndarray, max_speed: np.ndarray,
               t: float, params: np.ndarray, frame: np.ndarray, z: np.ndarray,
               rows: np.ndarray, rr_allowed: bool, default_coverage: bool, predict: bool,
               classify: bool, cp: np.ndarray, bit: np.uint64, sensor_id: int,
               active: np.ndarray, covered: np.ndarray, det_state: np.ndarray,
               pair_idx: np.ndarray, pair_val: np.ndarray, idle: np.ndarray,
               log_i: np.ndarray, log_f: np.ndarray, log_b: np.ndarray, counts: np.ndarray,
               chosen: np.ndarray, apply_chosen: bool) -> tuple[int, int, bool, int, bool]:
    """Predict, measure and gate the live tracks for one scan ``z (m, 4)`` (detection rows
    ``rows``), and apply the EKF updates when no two gated pairs share a track or detection.

    - range rate is used (``with_rr``) when ``rr_allowed`` and every ``z[:, 3]`` is finite;
    - prediction (``predict``): ``predict_rows`` of the live tracks (listed in ``active``) to
      ``t``;
    - gate: that of ``kernels.gate_pairs`` (range and elevation marginals first, then
      ``nu^T S^-1 nu <= threshold``); pair p is track ``active[pair_idx[0, p]]`` and detection
      ``pair_idx[1, p]``, ``pair_val[p] = (d2, d2 + ln |det S|, nu)``, in track then detection
      order; ``det_state[j]`` is 1 for a gated detection;
    - ``covered[i]``: the default coverage rule on the predicted measurement (when
      ``default_coverage``; a NaN sector half width means all round).

    Returns ``(n_active, n_pairs, conflict, n_idle, with_rr)``. Without conflict the updates
    are applied (``_apply_updates``; ``idle[:n_idle]`` lists the live tracks not updated, or
    with the default coverage the misses). With a conflict nothing is updated: the caller
    solves the assignment and calls again with the ``chosen`` pairs and ``apply_chosen``,
    which applies them (and nothing else).
    """
    m = z.shape[0]
    with_rr = rr_allowed and m > 0
    for j in range(m):
        if not apply_chosen:
            det_state[j] = 0
        if not np.isfinite(z[j, 3]):
            with_rr = False
    k = 4 if with_rr else 3
    threshold = params[6] if with_rr else params[5]
    origin, rot, sig2 = _unpack_frame(frame)
    n = 0
    for s in range(status.size):
        if status[s] != FREE:
            active[n] = s
            n += 1
    n_act = _as_int(n)
    if apply_chosen:
        n_idle = _apply_updates(x, P, track_id, hits, n_updates, misses, history,
                                opportunities, last_update_s, sensors_mask, last_detection_row,
                                score, max_alt, max_speed, active, n_act, pair_idx, pair_val,
                                chosen, rows, origin, rot, sig2, with_rr, bit, t, sensor_id,
                                classify, cp, det_state, covered, default_coverage, idle, log_i,
                                log_f, log_b, counts)
        return n, chosen.size, False, n_idle, with_rr
    if n == 0:
        return 0, 0, False, 0, with_rr
    slots = active[:n]
    if predict:
        predict_rows(x, P, state_time, score, slots, t, params[0], params[1], params[2] != 0.0,
                     params[3], params[4] != 0.0)
    max_range, min_el, max_el, heading, half_width = (frame[16], frame[17], frame[18],
                                                      frame[19], frame[20])
    zhat = np.empty(4)
    H = np.empty((4, 6))
    HP = np.empty((4, 6))
    S = np.empty((4, 4))
    LU = np.empty((4, 4))
    piv = np.empty(4, np.int64)
    v = np.empty(4)
    y = np.empty(4)
    count = 0
    conflict = False
    # Detections by range, so that each track visits only those inside its range gate (a
    # scan of all m detections per track grows as tracks x detections with the raid size).
    # The window is widened by a rounding margin and every candidate still passes the exact
    # tests below, in detection order: the pairs are those of the scan over all detections.
    n_fin = 0
    fin = np.empty(m, np.int64)
    for j in range(m):
        if np.isfinite(z[j, 0]):
            fin[n_fin] = j
            n_fin += 1
    fin_range = np.empty(n_fin)
    for q in range(n_fin):
        fin_range[q] = z[fin[q], 0]
    by_range = np.argsort(fin_range, kind="mergesort")
    sorted_range = fin_range[by_range]
    sorted_det = fin[:n_fin][by_range]
    cand = np.empty(m, np.int64)
    for i in range(n):
        if m == 0 and not default_coverage:
            break
        s = slots[i]
        _measure_one(x[s], origin, rot, with_rr, zhat, H)
        if default_coverage:
            ok = (zhat[0] <= max_range) and (zhat[2] >= min_el) and (zhat[2] <= max_el)
            if ok and not np.isnan(half_width):
                ok = abs(wrap_scalar(zhat[1] - heading)) <= half_width
            covered[i] = ok
        if m == 0:
            continue
        var0, var2 = _range_elevation_var(P[s], H, sig2)
        half0 = np.sqrt(threshold * var0)
        half2 = np.sqrt(threshold * var2)
        factored = False
        logdet = 0.0
        first = count
        if np.isfinite(zhat[0]) and np.isfinite(half0):
            margin = 1e-9 * (abs(zhat[0]) + half0) + 1e-6
            a0 = np.searchsorted(sorted_range, zhat[0] - half0 - margin)
            b0 = np.searchsorted(sorted_range, zhat[0] + half0 + margin, side="right")
            n_cand = b0 - a0
            for q in range(n_cand):
                cand[q] = sorted_det[a0 + q]
            cand[:n_cand].sort()
        else:
            n_cand = m
            for q in range(m):
                cand[q] = q
        for q in range(n_cand):
            j = cand[q]
            if not (abs(z[j, 0] - zhat[0]) <= half0):
                continue
            if not (abs(z[j, 2] - zhat[2]) <= half2):
                continue
            if not factored:
                _innovation_cov(P[s], H, sig2, k, HP, S)
                logdet = _lu_factor(S, k, LU, piv)
                factored = True
            for a in range(k):
                v[a] = z[j, a] - zhat[a]
            v[1] = wrap_scalar(v[1])
            _lu_solve(LU, piv, k, v, y)
            dist = 0.0
            for a in range(k):
                dist += v[a] * y[a]
            if dist <= threshold:
                pair_idx[0, count] = i
                pair_idx[1, count] = j
                pair_val[count, 0] = dist
                pair_val[count, 1] = dist + logdet
                for a in range(k):
                    pair_val[count, 2 + a] = v[a]
                if det_state[j] != 0 or count > first:
                    conflict = True
                det_state[j] = 1
                count += 1
    if conflict:
        return n, count, True, 0, with_rr
    n_idle = _apply_updates(x, P, track_id, hits, n_updates, misses, history, opportunities,
                            last_update_s, sensors_mask, last_detection_row, score, max_alt,
                            max_speed, active, n_act, pair_idx, pair_val,
                            np.arange(_as_int(count)), rows, origin, rot, sig2, with_rr, bit,
                            t, sensor_id, classify, cp, det_state, covered, default_coverage,
                            idle, log_i, log_f, log_b, counts)
    return n, count, False, n_idle, with_rr


@njit(cache=True, error_model="numpy")
def _initiate_rows(track_id: np.ndarray, x: np.ndarray, P: np.ndarray,
                   state_time: np.ndarray, status: np.ndarray, hits: np.ndarray,
                   misses: np.ndarray, history: np.ndarray, opportunities: np.ndarray,
                   last_update_s: np.ndarray, created_s: np.ndarray, n_updates: np.ndarray,
                   sensors_mask: np.ndarray, last_detection_row: np.ndarray,
                   score: np.ndarray, max_alt: np.ndarray, max_speed: np.ndarray,
                   z: np.ndarray, det_rows: np.ndarray, with_rr: bool, origin: np.ndarray,
                   rot: np.ndarray, sig2: np.ndarray, velocity_std: float, first_id: int,
                   bit: np.uint64, t: float, classify: bool, cp: np.ndarray) -> np.ndarray:
    """Start a tentative track (ids ``first_id``...) from each detection ``z (c, 4)`` in the
    lowest free slots (as ``TrackTable.allocate`` and ``kernels.polar_to_state``; ``sig2`` the
    measurement variances); returns the slots, ascending."""
    c = z.shape[0]
    slots = np.empty(c, np.int64)
    filled = 0
    for s in range(status.size):
        if filled == c:
            break
        if status[s] == FREE:
            slots[filled] = s
            filled += 1
    if filled < c:
        raise ValueError("track table full")
    vs2 = velocity_std**2
    sg0, sg1, sg2, sr2 = sig2[0], sig2[1], sig2[2], sig2[3]
    J = np.empty((3, 3))
    JR = np.empty((3, 3))
    M = np.empty((3, 3))
    los = np.empty(3)
    for i in range(c):
        s = slots[i]
        r, az, el = z[i, 0], z[i, 1], z[i, 2]
        ce, se, ca, sa = np.cos(el), np.sin(el), np.cos(az), np.sin(az)
        d0 = r * ce * sa
        d1 = r * ce * ca
        d2 = r * se
        J[0, 0], J[0, 1], J[0, 2] = ce * sa, r * ce * ca, -r * se * sa
        J[1, 0], J[1, 1], J[1, 2] = ce * ca, -r * ce * sa, -r * se * ca
        J[2, 0], J[2, 1], J[2, 2] = se, 0.0, r * ce
        for a in range(3):
            for b in range(3):
                JR[a, b] = (J[a, 0] * sg0 * J[b, 0] + J[a, 1] * sg1 * J[b, 1]
                            + J[a, 2] * sg2 * J[b, 2])
        for a in range(3):  # M = JR rot, then rot^T M
            for b in range(3):
                M[a, b] = JR[a, 0] * rot[0, b] + JR[a, 1] * rot[1, b] + JR[a, 2] * rot[2, b]
        xs = x[s]
        Ps = P[s]
        for a in range(6):
            xs[a] = 0.0
            for b in range(6):
                Ps[a, b] = 0.0
        for a in range(3):
            for b in range(3):
                Ps[a, b] = rot[0, a] * M[0, b] + rot[1, a] * M[1, b] + rot[2, a] * M[2, b]
            xs[a] = d0 * rot[0, a] + d1 * rot[1, a] + d2 * rot[2, a] + origin[a]
            los[a] = (d0 / r) * rot[0, a] + (d1 / r) * rot[1, a] + (d2 / r) * rot[2, a]
        rr = z[i, 3]
        aided = with_rr and np.isfinite(rr)
        for a in range(3):
            for b in range(3):
                eye = 1.0 if a == b else 0.0
                if aided:
                    o = los[a] * los[b]
                    Ps[a + 3, b + 3] = vs2 * (eye - o) + sr2 * o
                else:
                    Ps[a + 3, b + 3] = vs2 * eye
            if aided:
                xs[a + 3] = rr * los[a]
        track_id[s] = first_id + i
        state_time[s] = t
        created_s[s] = t
        status[s] = TENTATIVE
        hits[s] = 0
        misses[s] = 0
        history[s] = 0
        opportunities[s] = 0
        n_updates[s] = 0
        sensors_mask[s] = 0
        score[s] = 0.0
        max_alt[s] = -np.inf
        max_speed[s] = 0.0
        _record_hit(s, det_rows[i], t, bit, hits, n_updates, misses, history, opportunities,
                    last_update_s, sensors_mask, last_detection_row)
        if classify:
            _classify_one(x, P, s, score, max_alt, max_speed, cp)
    return slots


@njit(cache=True, error_model="numpy")
def _confirm_and_delete(track_id: np.ndarray, status: np.ndarray, hits: np.ndarray,
                        misses: np.ndarray, opportunities: np.ndarray, iparams: np.ndarray,
                        cd: np.ndarray, delc: np.ndarray, counts: np.ndarray) -> None:
    """M-of-N confirmation and deletion over the whole table, in place; confirmed and deleted
    ids (and whether the deleted were confirmed) appended in slot order."""
    confirm_hits, confirm_window, delete_misses = iparams[0], iparams[1], iparams[2]
    nc = counts[1]
    nd = counts[2]
    for s in range(status.size):
        st = status[s]
        if st == FREE:
            continue
        drop = False
        if st == TENTATIVE:
            if hits[s] >= confirm_hits:
                status[s] = CONFIRMED
                st = CONFIRMED
                cd[0, nc] = track_id[s]
                nc += 1
            else:
                remaining = max(confirm_window - opportunities[s], 0)
                drop = hits[s] + remaining < confirm_hits
        if st == CONFIRMED and misses[s] >= delete_misses:
            drop = True
        if drop:
            cd[1, nd] = track_id[s]
            delc[nd] = st == CONFIRMED
            nd += 1
            status[s] = FREE
            track_id[s] = -1
    counts[1] = nc
    counts[2] = nd


@njit(cache=True, error_model="numpy")
def scan_tail(track_id: np.ndarray, x: np.ndarray, P: np.ndarray, state_time: np.ndarray,
              status: np.ndarray, hits: np.ndarray, misses: np.ndarray, history: np.ndarray,
              opportunities: np.ndarray, last_update_s: np.ndarray, created_s: np.ndarray,
              n_updates: np.ndarray, sensors_mask: np.ndarray, last_detection_row: np.ndarray,
              score: np.ndarray, max_alt: np.ndarray, max_speed: np.ndarray,
              t: float, params: np.ndarray, iparams: np.ndarray, frame: np.ndarray,
              z: np.ndarray, rows: np.ndarray, det_state: np.ndarray, from_gated: bool,
              with_rr: bool, missed: np.ndarray, n_missed: int, next_id: int, classify: bool,
              cp: np.ndarray, bit: np.uint64, sensor_id: int, log_i: np.ndarray,
              log_f: np.ndarray, log_b: np.ndarray, cd: np.ndarray, delc: np.ndarray,
              counts: np.ndarray) -> int:
    """The end of a scan, in place: count a miss on ``missed[:n_missed]``; start a tentative
    track (ids from ``next_id``, lowest free slots) from each detection with ``det_state`` 0
    (or 1 too, ``from_gated``); then M-of-N confirmation and deletion. Returns the new
    ``next_id``; or, when the table lacks free slots, minus the number of new tracks, having
    changed nothing (the caller grows the table and calls again)."""
    m = z.shape[0]
    limit = 1 if from_gated else 0
    n_new = 0
    for j in range(m):
        if det_state[j] <= limit:
            n_new += 1
    if n_new:
        n_free = 0
        for s in range(status.size):
            if status[s] == FREE:
                n_free += 1
        if n_free < n_new:
            return -n_new
    for i in range(n_missed):
        s = missed[i]
        misses[s] += 1
        history[s] = history[s] << _U1
        opportunities[s] += 1
    if n_new:
        origin, rot, sig2 = _unpack_frame(frame)
        zn = np.empty((n_new, 4))
        rn = np.empty(n_new, np.int64)
        c = 0
        for j in range(m):
            if det_state[j] <= limit:
                for a in range(4):
                    zn[c, a] = z[j, a]
                rn[c] = rows[j]
                c += 1
        slots = _initiate_rows(track_id, x, P, state_time, status, hits, misses, history,
                               opportunities, last_update_s, created_s, n_updates,
                               sensors_mask, last_detection_row, score, max_alt, max_speed,
                               zn, rn, with_rr, origin, rot, sig2, params[7], next_id, bit, t,
                               classify, cp)
        row = counts[0]
        for c in range(n_new):
            log_i[0, row] = next_id + c
            log_i[1, row] = slots[c]
            log_i[2, row] = rn[c]
            log_i[3, row] = sensor_id
            log_f[0, row] = t
            log_f[1, row] = np.nan
            log_b[row] = True
            row += 1
        counts[0] = row
    _confirm_and_delete(track_id, status, hits, misses, opportunities, iparams, cd, delc,
                        counts)
    return next_id + n_new


@njit(cache=True, error_model="numpy")
def delete_stale(track_id: np.ndarray, P: np.ndarray, state_time: np.ndarray,
                 status: np.ndarray, last_update_s: np.ndarray, time_s: float,
                 max_position_std: float, max_coast: float, P_at_time: np.ndarray,
                 use_given: bool, cd: np.ndarray, delc: np.ndarray, counts: np.ndarray) -> bool:
    """End-of-call deletion: free the live tracks whose ``sqrt(trace P_pos)`` at ``time_s``
    exceeds ``max_position_std`` or whose last update is older than ``max_coast``.

    The covariance at ``time_s`` is ``P`` for tracks whose state is at ``time_s``; when some
    are not, nothing is done and False is returned, unless ``use_given``: then ``P_at_time``
    (cap, 6, 6) holds every live track's covariance at ``time_s``.
    """
    if not use_given:
        for s in range(status.size):
            if status[s] != FREE and state_time[s] != time_s:
                return False
    nd = counts[2]
    for s in range(status.size):
        if status[s] == FREE:
            continue
        Pi = P_at_time[s] if use_given else P[s]
        pos_std = np.sqrt(Pi[0, 0] + Pi[1, 1] + Pi[2, 2])
        if (pos_std > max_position_std) or (time_s - last_update_s[s] > max_coast):
            cd[1, nd] = track_id[s]
            delc[nd] = status[s] == CONFIRMED
            nd += 1
            status[s] = FREE
            track_id[s] = -1
    counts[2] = nd
    return True
