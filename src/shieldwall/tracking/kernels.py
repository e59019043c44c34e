"""Pure array kernels of the tracker: motion model, radar measurement model, EKF, gating.

No objects, no random numbers, no I/O: every function takes and returns numpy arrays for a
batch of ``n`` tracks (and ``m`` detections), float64, SI units, ECEF unless a name says
otherwise.

Legend (Bar-Shalom, Li & Kirubarajan, *Estimation with Applications to Tracking and
Navigation*, 2001): ``x`` state ``[x, y, z, vx, vy, vz]`` (ECEF, m and m/s), ``P`` its
covariance, ``F`` the transition matrix, ``Q`` the process noise covariance, ``z`` a
measurement, ``H`` the measurement Jacobian, ``R`` the measurement noise covariance, ``S`` the
innovation covariance, ``K`` the gain, ``nu`` the innovation.

Motion model
------------
Nearly constant velocity driven by continuous white-noise acceleration of power spectral
density ``q`` (m^2/s^3) on each ECEF axis, plus (for tracks of ballistic class) point-mass
gravity ``a(p) = -GM p / |p|^3``::

    dp/dt = v,   dv/dt = a(p) + w(t),   E[w(t) w(s)^T] = q I3 delta(t - s)

The discretized noise over a step ``h`` is the Wiener-process-acceleration result
(Bar-Shalom 2001, eq. 6.2.3-8)::

    Q(h) = q [[h^3/3 I3, h^2/2 I3],
              [h^2/2 I3, h     I3]]

With ``A = [[0, I3], [G, 0]]`` and ``G = da/dp = -GM/r^3 (I3 - 3 r_hat r_hat^T)`` (zero for
constant-velocity tracks) the transition Jacobian is ``F = I6 + A h + A^2 h^2 / 2`` (exact for
constant velocity, where ``A^2 = 0``). The gravity mean is propagated with velocity Verlet::

    p1 = p + v h + a(p) h^2 / 2,   v1 = v + (a(p) + a(p1)) h / 2

Measurement model
-----------------
A radar at ``origin`` with rotation ``R_enu`` (``enu = R_enu (p - origin)``) measures, with
``d = [e, n, u] = R_enu (p - origin)``, ``rho = sqrt(e^2 + n^2)``, ``r = |d|``::

    range     = r
    azimuth   = atan2(e, n)           (clockwise from north)
    elevation = atan2(u, rho)
    range rate = d . (R_enu v) / r    (optional fourth component)

with the analytic Jacobian (rows w.r.t. ``d``, chained with ``R_enu``)::

    dr/dd   = d^T / r
    daz/dd  = [n, -e, 0] / rho^2
    del/dd  = [-e u / (r^2 rho), -n u / (r^2 rho), rho / r^2]
    drr/dd  = (w - rr d / r)^T / r,   drr/dv_enu = d^T / r,   w = R_enu v
"""

from __future__ import annotations

import numpy as np

from shieldwall.core.types import BoolArray, FloatArray, IntArray
from shieldwall.geo import EARTH_GM_M3_S2, EARTH_OMEGA_RAD_S, WGS84_A_M, WGS84_B_M

_EYE3 = np.eye(3)
_EYE6 = np.eye(6)
_MIN_HORIZONTAL_M = 1e-3  # floor of rho against the azimuth singularity straight overhead


def wrap_angle(angle_rad: FloatArray) -> FloatArray:
    """Wrap angles to ``(-pi, pi]``: ``pi - mod(pi - a, 2 pi)``."""
    return np.pi - np.mod(np.pi - np.asarray(angle_rad, float), 2.0 * np.pi)


def white_noise_acceleration_q(dt_s: FloatArray, q_m2_s3: FloatArray) -> FloatArray:
    """Discrete process noise of continuous white-noise acceleration, shape ``(n, 6, 6)``.

    ``Q = q [[dt^3/3 I3, dt^2/2 I3], [dt^2/2 I3, dt I3]]`` (Bar-Shalom 2001, eq. 6.2.3-8).
    ``dt_s`` (n,) seconds, ``q_m2_s3`` (n,) power spectral density in m^2/s^3. Negative steps
    (retrodiction) use ``|dt|`` so Q stays positive semidefinite.
    """
    dt = np.abs(np.asarray(dt_s, float))
    q = np.broadcast_to(np.asarray(q_m2_s3, float), dt.shape)
    Q = np.zeros(dt.shape + (6, 6))
    i = np.arange(3)
    Q[..., i, i] = (q * dt**3 / 3.0)[..., None]
    Q[..., i, i + 3] = Q[..., i + 3, i] = (q * dt**2 / 2.0)[..., None]
    Q[..., i + 3, i + 3] = (q * dt)[..., None]
    return Q


def gravity_acceleration(pos_ecef: FloatArray) -> FloatArray:
    """Point-mass gravity ``-GM p / |p|^3`` (m/s^2) at ECEF positions ``(n, 3)``."""
    r = np.linalg.norm(pos_ecef, axis=-1, keepdims=True)
    return -EARTH_GM_M3_S2 * pos_ecef / r**3


def gravity_gradient(pos_ecef: FloatArray) -> FloatArray:
    """Gravity gradient ``da/dp = -GM/r^3 (I3 - 3 r_hat r_hat^T)``, shape ``(n, 3, 3)``."""
    r = np.linalg.norm(pos_ecef, axis=-1)
    u = pos_ecef / r[:, None]
    return (-EARTH_GM_M3_S2 / r**3)[:, None, None] * (_EYE3 - 3.0 * u[:, :, None] * u[:, None, :])


def _rotating_frame_terms(pos: FloatArray, vel: FloatArray) -> FloatArray:
    """Coriolis and centrifugal acceleration in ECEF: ``-2 w x v - w x (w x p)``."""
    w = np.array([0.0, 0.0, EARTH_OMEGA_RAD_S])
    return -2.0 * np.cross(w, vel) - np.cross(w, np.cross(w, pos))


def predict_kernel(x: FloatArray, P: FloatArray, dt_s: FloatArray, q_m2_s3: FloatArray,
                   gravity: BoolArray, max_step_s: float = 2.0,
                   rotating_frame: bool = False) -> tuple[FloatArray, FloatArray]:
    """Predict states ``x (n, 6)`` and covariances ``P (n, 6, 6)`` by ``dt_s (n,)`` seconds.

    Rows with ``gravity`` True follow point-mass gravity (velocity Verlet; and, with
    ``rotating_frame``, the Coriolis and centrifugal terms of the rotating ECEF frame); the
    others are constant velocity. When any gravity row steps further than ``max_step_s``, every
    row is advanced in ``ceil(max|dt| / max_step_s)`` equal sub-steps (exact for constant
    velocity, whose F and Q compose over sub-steps). Inputs are not modified.
    """
    x = np.array(x, float)
    P = np.array(P, float)
    dt = np.asarray(dt_s, float)
    grav = np.asarray(gravity, bool)
    q = np.broadcast_to(np.asarray(q_m2_s3, float), dt.shape)
    n_sub = 1
    if grav.any():
        n_sub = max(1, int(np.ceil(np.max(np.abs(dt[grav])) / max_step_s)))
    h = dt / n_sub
    Q = white_noise_acceleration_q(h, q)
    gi = np.flatnonzero(grav)
    for _ in range(n_sub):
        A = np.zeros((dt.size, 6, 6))
        A[:, 0:3, 3:6] = _EYE3
        if gi.size:
            A[gi, 3:6, 0:3] = gravity_gradient(x[gi, 0:3])
            if rotating_frame:
                w = EARTH_OMEGA_RAD_S
                skew = np.array([[0.0, -w, 0.0], [w, 0.0, 0.0], [0.0, 0.0, 0.0]])
                A[gi, 3:6, 0:3] -= skew @ skew
                A[gi, 3:6, 3:6] = -2.0 * skew
        hh = h[:, None, None]
        F = _EYE6 + A * hh + 0.5 * (A @ A) * hh**2
        x_new = x.copy()
        x_new[:, 0:3] = x[:, 0:3] + x[:, 3:6] * h[:, None]
        if gi.size:
            p, v, hg = x[gi, 0:3], x[gi, 3:6], h[gi, None]
            a0 = gravity_acceleration(p)
            if rotating_frame:
                a0 = a0 + _rotating_frame_terms(p, v)
            p1 = p + v * hg + 0.5 * a0 * hg**2
            a1 = gravity_acceleration(p1)
            if rotating_frame:
                a1 = a1 + _rotating_frame_terms(p1, v + a0 * hg)
            x_new[gi, 0:3] = p1
            x_new[gi, 3:6] = v + 0.5 * (a0 + a1) * hg
        x = x_new
        P = F @ P @ np.swapaxes(F, -1, -2) + Q
        P = 0.5 * (P + np.swapaxes(P, -1, -2))
    return x, P


def radar_measurement(x: FloatArray, origin_ecef: FloatArray, rotation: FloatArray,
                      with_range_rate: bool) -> tuple[FloatArray, FloatArray]:
    """Predicted polar measurement and its Jacobian for states ``x (n, 6)``.

    Returns ``zhat (n, k)`` = [range_m, azimuth_rad in (-pi, pi], elevation_rad(, range_rate)]
    and ``H (n, k, 6)``, ``k = 4`` with range rate else 3 (module docstring for the maths).
    """
    d = (x[:, 0:3] - origin_ecef) @ rotation.T
    e, nn, u = d[:, 0], d[:, 1], d[:, 2]
    rho2 = np.maximum(e * e + nn * nn, _MIN_HORIZONTAL_M**2)
    rho = np.sqrt(rho2)
    r2 = rho2 + u * u
    r = np.sqrt(r2)
    k = 4 if with_range_rate else 3
    zhat = np.empty((x.shape[0], k))
    zhat[:, 0] = r
    zhat[:, 1] = np.arctan2(e, nn)
    zhat[:, 2] = np.arctan2(u, rho)
    J = np.zeros((x.shape[0], k, 6))
    Jd = np.empty((x.shape[0], 3, 3))
    Jd[:, 0, :] = d / r[:, None]
    Jd[:, 1, 0] = nn / rho2
    Jd[:, 1, 1] = -e / rho2
    Jd[:, 1, 2] = 0.0
    Jd[:, 2, 0] = -e * u / (r2 * rho)
    Jd[:, 2, 1] = -nn * u / (r2 * rho)
    Jd[:, 2, 2] = rho / r2
    J[:, 0:3, 0:3] = Jd @ rotation
    if with_range_rate:
        w = x[:, 3:6] @ rotation.T
        rr = np.einsum("ni,ni->n", d, w) / r
        zhat[:, 3] = rr
        drr_dd = (w - (rr / r)[:, None] * d) / r[:, None]
        J[:, 3, 0:3] = drr_dd @ rotation
        J[:, 3, 3:6] = (d / r[:, None]) @ rotation
    return zhat, J


def polar_innovations(z: FloatArray, zhat: FloatArray) -> FloatArray:
    """Innovations of every track x detection pair, ``(n, m, k)``; azimuth wrapped.

    ``z (m, k)`` measurements, ``zhat (n, k)`` predictions; component 1 is the azimuth.
    """
    nu = z[None, :, :] - zhat[:, None, :]
    nu[..., 1] = wrap_angle(nu[..., 1])
    return nu


def innovation_covariance(P: FloatArray, H: FloatArray, R: FloatArray) -> FloatArray:
    """``S = H P H^T + R``, shape ``(n, k, k)``; ``R`` is ``(k, k)`` or ``(n, k, k)``."""
    S = H @ P @ np.swapaxes(H, -1, -2) + R
    return 0.5 * (S + np.swapaxes(S, -1, -2))


def mahalanobis_pairs(nu: FloatArray, S_inv: FloatArray) -> FloatArray:
    """Squared Mahalanobis distance ``d2[i, j] = nu_ij^T S_i^-1 nu_ij``, shape ``(n, m)``."""
    return np.einsum("nmi,nij,nmj->nm", nu, S_inv, nu)


def gate_pairs(z: FloatArray, zhat: FloatArray, S: FloatArray, threshold: float
               ) -> tuple[IntArray, IntArray, FloatArray, FloatArray]:
    """Track x detection pairs inside the chi-square gate ``nu^T S^-1 nu <= threshold``.

    ``z (m, k)`` measurements, ``zhat (n, k)`` predictions, ``S (n, k, k)``. Equivalent to
    thresholding ``mahalanobis_pairs`` over all ``n m`` pairs, but cheaper: a pair can only
    pass when every single component passes its marginal test ``nu_i^2 <= threshold S_ii``
    (a marginal Mahalanobis distance never exceeds the joint one), so the range and elevation
    marginals prune the pairs first and the full distance is computed on the survivors.

    Returns ``(track_index (p,), detection_index (p,), d2 (p,), nu (p, k))``, sorted by track
    then detection.
    """
    half = np.sqrt(threshold * np.diagonal(S, axis1=1, axis2=2))
    cand = np.abs(z[None, :, 0] - zhat[:, None, 0]) <= half[:, None, 0]
    cand &= np.abs(z[None, :, 2] - zhat[:, None, 2]) <= half[:, None, 2]
    ti, dj = np.nonzero(cand)
    nu = z[dj] - zhat[ti]
    nu[:, 1] = wrap_angle(nu[:, 1])
    S_inv = np.linalg.inv(S)
    d2 = np.einsum("pi,pij,pj->p", nu, S_inv[ti], nu)
    keep = d2 <= threshold
    return ti[keep].astype(np.int64), dj[keep].astype(np.int64), d2[keep], nu[keep]


def ekf_update_joseph(x: FloatArray, P: FloatArray, nu: FloatArray, H: FloatArray,
                      R: FloatArray) -> tuple[FloatArray, FloatArray]:
    """EKF measurement update in the Joseph form for a batch of tracks.

    ``x (n, 6)``, ``P (n, 6, 6)``, innovations ``nu (n, k)``, ``H (n, k, 6)``, ``R (k, k)`` or
    ``(n, k, k)``::

        S = H P H^T + R,   K = P H^T S^-1,   x+ = x + K nu
        P+ = (I - K H) P (I - K H)^T + K R K^T      (then symmetrized)

    The Joseph form stays symmetric positive definite under rounding and for any gain
    (Bucy & Joseph 1968; Bar-Shalom 2001, eq. 5.2.3-18).
    """
    S = innovation_covariance(P, H, R)
    PHt = P @ np.swapaxes(H, -1, -2)
    # K^T = S^-1 (P H^T)^T, S symmetric
    K = np.swapaxes(np.linalg.solve(S, np.swapaxes(PHt, -1, -2)), -1, -2)
    x_new = x + np.einsum("nik,nk->ni", K, nu)
    IKH = _EYE6 - K @ H
    R_b = np.broadcast_to(R, S.shape)
    P_new = IKH @ P @ np.swapaxes(IKH, -1, -2) + K @ R_b @ np.swapaxes(K, -1, -2)
    return x_new, 0.5 * (P_new + np.swapaxes(P_new, -1, -2))


def polar_to_state(range_m: FloatArray, azimuth_rad: FloatArray, elevation_rad: FloatArray,
                   range_rate_mps: FloatArray | None, sigma_polar: FloatArray,
                   sigma_range_rate_mps: float, velocity_std_mps: float,
                   origin_ecef: FloatArray, rotation: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Single-point initiation: state ``(m, 6)`` and covariance ``(m, 6, 6)`` from detections.

    The position is the measured point, with covariance ``R_enu^T J diag(sigma^2) J^T R_enu``
    (``J = d(enu)/d(range, az, el)``). The velocity is zero with isotropic standard deviation
    ``velocity_std_mps``, except along the line of sight when a finite range rate is given:
    mean ``rr u``, variance ``sigma_rr^2`` along the unit line of sight ``u``.
    """
    r, az, el = (np.asarray(a, float) for a in (range_m, azimuth_rad, elevation_rad))
    m = r.size
    ce, se, ca, sa = np.cos(el), np.sin(el), np.cos(az), np.sin(az)
    d = np.stack([r * ce * sa, r * ce * ca, r * se], axis=-1)
    J = np.empty((m, 3, 3))
    J[:, 0, 0], J[:, 0, 1], J[:, 0, 2] = ce * sa, r * ce * ca, -r * se * sa
    J[:, 1, 0], J[:, 1, 1], J[:, 1, 2] = ce * ca, -r * ce * sa, -r * se * ca
    J[:, 2, 0], J[:, 2, 1], J[:, 2, 2] = se, 0.0, r * ce
    JR = J @ np.diag(np.asarray(sigma_polar, float) ** 2) @ np.swapaxes(J, -1, -2)
    x = np.zeros((m, 6))
    P = np.zeros((m, 6, 6))
    x[:, 0:3] = d @ rotation + origin_ecef
    P[:, 0:3, 0:3] = rotation.T @ JR @ rotation
    los = (d / r[:, None]) @ rotation  # unit line of sight in ECEF
    outer = los[:, :, None] * los[:, None, :]
    Pv = velocity_std_mps**2 * np.broadcast_to(_EYE3, (m, 3, 3)).copy()
    if range_rate_mps is not None:
        rr = np.asarray(range_rate_mps, float)
        ok = np.isfinite(rr)
        x[ok, 3:6] = rr[ok, None] * los[ok]
        Pv[ok] = (velocity_std_mps**2 * (_EYE3 - outer[ok])
                  + sigma_range_rate_mps**2 * outer[ok])
    P[:, 3:6, 3:6] = Pv
    return x, P


def gnn_assign_pairs(track_index: IntArray, detection_index: IntArray, cost: FloatArray
                     ) -> IntArray:
    """GNN over a sparse list of feasible pairs; returns the indices of the chosen pairs.

    Same rule as ``gnn_assign`` (maximal number of assignments, then minimum total ``cost``),
    solved per connected component of the bipartite graph of feasible pairs: both criteria
    are sums over the components, so the components' optima together are the optimum of the
    whole. A dense problem over every track and detection in some pair would grow as their
    product (and the solver as its cube) with the raid size; the components stay as small as
    the local conflicts. A component with one track or one detection takes its cheapest pair
    (the first one on a tie); the others go to ``linear_sum_assignment`` as a dense problem.
    The chosen pairs are returned in ascending track order.
    """
    track_index = np.asarray(track_index, np.int64).reshape(-1)
    detection_index = np.asarray(detection_index, np.int64).reshape(-1)
    cost = np.asarray(cost, float).reshape(-1)
    if track_index.size == 0:
        return np.zeros(0, np.int64)
    rows, r_inv = np.unique(track_index, return_inverse=True)
    cols, c_inv = np.unique(detection_index, return_inverse=True)
    n_r, n_c = rows.size, cols.size
    comp = _pair_components(r_inv, c_inv, n_r, n_c)
    n_comp = int(comp.max()) + 1
    comp_rows = np.bincount(comp[np.unique(r_inv, return_index=True)[1]], minlength=n_comp)
    comp_cols = np.bincount(comp[np.unique(c_inv, return_index=True)[1]], minlength=n_comp)
    # (every row and column index appears in some pair: np.unique above)
    simple = (comp_rows == 1) | (comp_cols == 1)
    chosen_parts = []
    in_simple = simple[comp]
    if in_simple.any():
        idx = np.flatnonzero(in_simple)
        order = idx[np.lexsort((idx, cost[idx], comp[idx]))]   # component, cost, pair
        c_sorted = comp[order]
        first = np.ones(order.size, bool)
        first[1:] = c_sorted[1:] != c_sorted[:-1]
        chosen_parts.append(order[first])
    hard = np.flatnonzero(~simple)
    if hard.size:
        from scipy.optimize import linear_sum_assignment  # lazy: 0.4 s to import

        pairs = np.flatnonzero(~in_simple)
        pairs = pairs[np.argsort(comp[pairs], kind="stable")]
        bounds = np.searchsorted(comp[pairs], np.concatenate([hard, [n_comp]]))
        for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=False):
            sub = pairs[a:b]
            sr, sr_inv = np.unique(r_inv[sub], return_inverse=True)
            sc, sc_inv = np.unique(c_inv[sub], return_inverse=True)
            big = 1.0 + 2.0 * (np.abs(cost[sub]).sum() + 1.0) * min(sr.size, sc.size)
            dense = np.full((sr.size, sc.size), big)
            pair_of = np.full((sr.size, sc.size), -1, np.int64)
            dense[sr_inv, sc_inv] = cost[sub]
            pair_of[sr_inv, sc_inv] = sub
            r, c = linear_sum_assignment(dense)
            picked = pair_of[r, c]
            chosen_parts.append(picked[picked >= 0])
    chosen = np.concatenate(chosen_parts)
    return chosen[np.argsort(r_inv[chosen], kind="stable")]


def _pair_components(r_inv: IntArray, c_inv: IntArray, n_r: int, n_c: int) -> IntArray:
    """Connected component of each pair of the bipartite graph (rows ``0..n_r-1``, columns
    ``0..n_c-1``; an edge per pair), numbered from 0."""
    if r_inv.size == 1:
        return np.zeros(1, np.int64)
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components  # lazy, as the solver

    n = n_r + n_c
    graph = coo_matrix((np.ones(r_inv.size, np.int8), (r_inv, c_inv + n_r)), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    return np.asarray(label[r_inv], np.int64)


def gnn_assign(cost: FloatArray, feasible: BoolArray) -> tuple[IntArray, IntArray]:
    """Global nearest neighbour: the one-to-one assignment of minimum total cost.

    ``cost (n, m)``; only ``feasible`` pairs may be assigned. Rows and columns without any
    feasible pair are dropped, the remaining infeasible pairs get a cost larger than any
    feasible total (so the number of assignments is maximal first), and those are discarded
    from the answer. Returns ``(rows, cols)`` int arrays of the assigned pairs.
    """
    rows_any = np.flatnonzero(feasible.any(axis=1))
    cols_any = np.flatnonzero(feasible.any(axis=0))
    if rows_any.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    sub_c = cost[np.ix_(rows_any, cols_any)]
    sub_f = feasible[np.ix_(rows_any, cols_any)]
    finite = sub_c[sub_f]
    big = 1.0 + 2.0 * (np.abs(finite).sum() + 1.0) * min(sub_c.shape)
    c = np.where(sub_f, sub_c, big)
    from scipy.optimize import linear_sum_assignment

    r, k = linear_sum_assignment(c)
    keep = sub_f[r, k]
    return rows_any[r[keep]].astype(np.int64), cols_any[k[keep]].astype(np.int64)


def approx_altitude_m(pos_ecef: FloatArray) -> FloatArray:
    """Height above the WGS84 ellipsoid, fast approximation (``|p|`` minus the ellipse radius
    at the geocentric latitude; error below 25 m up to 1000 km altitude, no iteration)."""
    r = np.linalg.norm(pos_ecef, axis=-1)
    s = pos_ecef[..., 2] / np.maximum(r, 1.0)
    c2 = 1.0 - s * s
    radius = WGS84_A_M * WGS84_B_M / np.sqrt((WGS84_B_M**2) * c2 + (WGS84_A_M**2) * s * s)
    return r - radius


def local_up(pos_ecef: FloatArray) -> FloatArray:
    """Unit geocentric radial direction (approximate local vertical), ``(n, 3)``."""
    return pos_ecef / np.linalg.norm(pos_ecef, axis=-1, keepdims=True)
