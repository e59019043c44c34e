"""Flyout and guidance against independent references (README, Validation: "PN guidance").

- zero miss of proportional navigation against non-maneuvering targets (Zarchan ch. 2);
- miss due to a step target maneuver with a first-order flight-control lag against the
  closed-form solution of Zarchan's linear single-lag homing loop (checked here against an RK4
  integration of that loop), its trends in N and its proportionality to target acceleration;
- closest approach inside a step against brute-force sampling and a bounded minimizer;
- the arc update against a quadrature of a constant-curvature path;
- speed profile, lateral acceleration limit, self-destruct, batched step == per-row loop.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad
from scipy.optimize import minimize_scalar
from scipy.spatial.transform import Rotation

from shieldwall.catalog.types import Envelope, Interceptor
from shieldwall.core.types import ThreatClass
from shieldwall.geo import altitude_m, enu2ecef, enu_rotation, geodetic2ecef
from shieldwall.weapons import (
    G0_MPS2,
    FlyoutModel,
    InterceptorTable,
    SelfDestructReason,
    axial_compensation,
    closest_approach,
    distance_at,
    distance_profile,
    gravity_ecef,
    height_above_ellipsoid_m,
    pn_acceleration,
    speed_at,
    speed_profile,
    turn_and_advance,
)
from shieldwall.weapons.guidance import clip_norm, perpendicular

LAT, LON = 50.0, 10.0
ORIGIN = geodetic2ecef(LAT, LON, 0.0)
ROT = enu_rotation(LAT, LON)


def enu(points: list[list[float]] | np.ndarray) -> np.ndarray:
    return enu2ecef(np.asarray(points, float).reshape(-1, 3), ORIGIN, ROT)


def enu_vec(vectors: list[list[float]] | np.ndarray) -> np.ndarray:
    return np.asarray(vectors, float).reshape(-1, 3) @ ROT


def interceptor(**kw: object) -> Interceptor:
    base: dict[str, object] = dict(
        name="htk", label="test hit-to-kill", kill_mechanism="hit_to_kill",
        envelopes={ThreatClass.BALLISTIC: Envelope(min_range_m=1e3, max_range_m=4e4,
                                                   min_alt_m=0.0, max_alt_m=2e4)},
        max_speed_mps=1500.0, burn_time_s=3.0, speed_decay_s=60.0, min_speed_mps=300.0,
        max_time_of_flight_s=60.0, max_accel_g=40.0, navigation_ratio=4.0,
        seeker_range_m=1e5, lethal_radius_m=0.5, pk_max=0.9, unit_cost_usd=4e6)
    base.update(kw)
    return Interceptor(**base)  # type: ignore[arg-type]


def gun() -> Interceptor:
    return interceptor(name="gun", kill_mechanism="gun", max_speed_mps=1100.0, burn_time_s=0.0,
                       speed_decay_s=3.0, min_speed_mps=300.0, max_time_of_flight_s=6.0,
                       max_accel_g=0.0, navigation_ratio=0.0, seeker_range_m=0.0,
                       lethal_radius_m=2.0)


def predicted_intercept(rec: Interceptor, launcher: np.ndarray, target_pos: np.ndarray,
                        target_vel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Earliest PIP of a straight flyout against a constant-velocity target (grid + bisection
    on ``distance_at(t) - |target(t) - launcher|``)."""
    def gap(t: np.ndarray) -> np.ndarray:
        pip = target_pos + target_vel * t[:, None]
        return distance_at(rec, t) - np.linalg.norm(pip - launcher, axis=1)

    grid = np.arange(0.0, rec.max_time_of_flight_s, 0.05)
    signs = np.array([gap(np.full(len(target_pos), t)) >= 0 for t in grid])   # (T, n)
    first = np.argmax(signs, axis=0)
    assert signs[first, np.arange(len(target_pos))].all(), "no intercept within max TOF"
    lo, hi = grid[first - 1], grid[first]
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        ok = gap(mid) >= 0
        lo, hi = np.where(ok, lo, mid), np.where(ok, mid, hi)
    return target_pos + target_vel * hi[:, None], hi


def fly(model: FlyoutModel, table: InterceptorTable, types: list[Interceptor], target_pos,
        target_vel, target_acc=None, dt: float = 0.5, t_max: float = 80.0, t0: float = 0.0):
    """Step until every interceptor is resolved; targets move with constant acceleration."""
    results = []
    time = t0
    acc = np.zeros_like(target_pos) if target_acc is None else target_acc
    while table.active.any() and time < t_max:
        dt_from0 = time - t0
        pos = target_pos + target_vel * dt_from0 + 0.5 * acc * dt_from0**2
        vel = target_vel + acc * dt_from0
        results.append(model.step(table, types, pos, vel, time, dt,
                                  None if target_acc is None else acc))
        time += dt
    return results


def collect(results, field: str, cap: int) -> np.ndarray:
    out = np.full(cap, np.nan)
    for res in results:
        out[res.slot] = getattr(res, field)
    return out


# --------------------------------------------------------------------------- zero miss
GEOMETRIES = {
    # name: (target ENU position m, target ENU velocity m/s)
    "head_on_tbm_20km": ([0.0, 20000.0, 10000.0], [0.0, -1000.0, -300.0]),
    "head_on_tbm_40km": ([0.0, 40000.0, 15000.0], [0.0, -2000.0, -300.0]),
    "head_on_cruise_5km": ([0.0, 5000.0, 3000.0], [0.0, -600.0, 0.0]),
    "crossing_cruise_18km": ([-10000.0, 15000.0, 5000.0], [250.0, 0.0, 0.0]),
    "crossing_drone_8km": ([4000.0, 7000.0, 1500.0], [-60.0, -10.0, 0.0]),
    "tail_chase_drone_3km": ([0.0, 3000.0, 1000.0], [0.0, 50.0, 0.0]),
    "tail_chase_cruise_12km": ([2000.0, 12000.0, 200.0], [20.0, 240.0, 0.0]),
    "short_1km": ([0.0, 1000.0, 500.0], [0.0, -200.0, 0.0]),
}


def test_pn_zero_miss_against_non_maneuvering_targets() -> None:
    """All geometries x N in {3, 4, 5}, in one batched table; hit-to-kill miss < 1 m."""
    ratios = (3.0, 4.0, 5.0)
    types = [interceptor(navigation_ratio=n) for n in ratios]
    names = list(GEOMETRIES)
    tgt_p = enu([GEOMETRIES[g][0] for g in names])
    tgt_v = enu_vec([GEOMETRIES[g][1] for g in names])
    n_geo, n_ratio = len(names), len(ratios)
    tgt_p = np.repeat(tgt_p, n_ratio, axis=0)
    tgt_v = np.repeat(tgt_v, n_ratio, axis=0)
    type_index = np.tile(np.arange(n_ratio), n_geo)
    launcher = enu([[0.0, 0.0, 5.0]])
    pip, _ = predicted_intercept(types[0], launcher, tgt_p, tgt_v)
    table = InterceptorTable(capacity=4)  # grows while launching
    slots = table.launch(0.0, launcher, pip, type_index, types)
    table.target_index[slots] = np.arange(slots.size)   # seeker locked from launch
    results = fly(FlyoutModel(), table, types, tgt_p, tgt_v)
    miss = collect(results, "miss_m", table.capacity)[slots]
    assert np.isfinite(miss).all(), "every interceptor must reach a closest approach"
    bad = {f"{names[i // n_ratio]} N={ratios[i % n_ratio]}": m for i, m in enumerate(miss)
           if m >= 1.0}
    assert not bad, bad
    # Closest approach near where the target really is at that time.
    t_cpa = collect(results, "time_s", table.capacity)[slots]
    pos = np.concatenate([r.pos_ecef for r in results])[np.argsort(
        np.concatenate([r.slot for r in results]))]
    target_at_cpa = tgt_p + tgt_v * t_cpa[:, None]
    assert np.allclose(np.linalg.norm(pos - target_at_cpa, axis=1), miss, atol=1e-6)


# --------------------------------------------------------------------------- Zarchan
def zarchan_single_lag_miss(n: int, x: np.ndarray) -> np.ndarray:
    """Normalized miss ``M / (n_T T^2)`` of the linear single-lag PN loop for a step target
    maneuver at ``x = t_F / T`` (adjoint closed form; N' = 3 is Zarchan's ``x^2 e^-x / 2``)."""
    poly = {3: x**2 / 2, 4: x**2 / 2 - x**3 / 6, 5: x**2 / 2 - x**3 / 3 + x**4 / 24}[n]
    return poly * np.exp(-x)


def linear_loop_miss_rk4(n: np.ndarray, t_final: np.ndarray, steps: int = 10000) -> np.ndarray:
    """Normalized miss of Zarchan's linear single-lag homing loop (T = 1, n_T = 1) by RK4,
    vectorized over cases, in the normalized time ``s = t / t_F``::

        y'' = n_T - n_L,   n_L' = (N (y + y' t_go) / t_go^2 - n_L) / T
    """
    def f(s: float, state: np.ndarray) -> np.ndarray:
        y, yd, n_l = state
        t_go = t_final * (1.0 - s)
        return t_final * np.array([yd, 1.0 - n_l, n * (y + yd * t_go) / t_go**2 - n_l])

    state = np.zeros((3, n.size))
    ds = 1.0 / steps
    s = 0.0
    for _ in range(steps - 1):
        k1 = f(s, state)
        k2 = f(s + ds / 2, state + ds / 2 * k1)
        k3 = f(s + ds / 2, state + ds / 2 * k2)
        k4 = f(s + ds, state + ds * k3)
        state = state + ds / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        s += ds
    return state[0] + state[1] * t_final * (1.0 - s)


def test_zarchan_closed_form_matches_linear_loop() -> None:
    n = np.repeat([3.0, 4.0, 5.0], 4)
    x = np.tile([0.7, 1.5, 4.0, 7.0], 3)
    ref = linear_loop_miss_rk4(n, x)
    closed = np.array([zarchan_single_lag_miss(int(k), np.array(v)) for k, v in zip(n, x,
                                                                                  strict=True)])
    assert np.allclose(closed, ref, atol=2e-4)


def test_miss_due_to_step_maneuver_has_zarchan_shape() -> None:
    """Nonlinear 3-D flyout (constant speed 1000 m/s, head-on 500 m/s target, lag T = 0.5 s,
    target acceleration of fixed direction) vs the linear single-lag loop: same miss within
    1.5 % of n_T T^2, miss proportional to n_T, peak miss decreasing as N goes 3 -> 5, miss ~ 0
    for long flights. Sub-steps of 5 ms throughout (the ``endgame_time_factor`` is huge)."""
    ratios = (3, 4, 5)
    x_values = np.array([1.0, 2.0, 3.0, 5.0, 8.0, 16.0])
    accels_g = (1.0, 2.0)
    time_constant = 0.5
    v_m, v_t = 1000.0, 500.0
    types = [interceptor(navigation_ratio=float(n), max_speed_mps=v_m, burn_time_s=0.0,
                         speed_decay_s=1e12, min_speed_mps=100.0, max_time_of_flight_s=100.0,
                         max_accel_g=1000.0) for n in ratios]
    combos = [(k, x, a) for k in range(len(ratios)) for x in x_values for a in accels_g]
    t_final = np.array([x * time_constant for _, x, _ in combos])
    range0 = t_final * (v_m + v_t)
    alt = 10000.0
    launcher = enu(np.column_stack([np.zeros_like(range0), np.zeros_like(range0),
                                    np.full_like(range0, alt)]))
    tgt_p = enu(np.column_stack([np.zeros_like(range0), range0, np.full_like(range0, alt)]))
    tgt_v = enu_vec(np.tile([0.0, -v_t, 0.0], (len(combos), 1)))
    tgt_a = enu_vec(np.array([[0.0, 0.0, a * G0_MPS2] for _, _, a in combos]))
    table = InterceptorTable(capacity=len(combos))
    slots = table.launch(0.0, launcher, tgt_p, np.array([k for k, _, _ in combos]), types,
                         loft_rad=0.0)
    table.vel_ecef[slots] *= v_m / np.linalg.norm(table.vel_ecef[slots], axis=1)[:, None]
    table.target_index[slots] = np.arange(len(combos))
    model = FlyoutModel(guidance_start_s=0.0, autopilot_time_constant_s=time_constant,
                        endgame_time_factor=1e6, endgame_substeps=20)
    results = fly(model, table, types, tgt_p, tgt_v, tgt_a, dt=0.1, t_max=30.0)
    miss = collect(results, "miss_m", table.capacity)[slots]
    assert np.isfinite(miss).all()
    scale = np.array([a * G0_MPS2 * time_constant**2 for _, _, a in combos])
    sim = miss / scale
    ref = np.array([abs(zarchan_single_lag_miss(ratios[k], np.array(x))) for k, x, _ in combos])
    assert np.allclose(sim, ref, atol=0.015), np.column_stack([sim, ref, sim - ref])

    sim3 = sim.reshape(len(ratios), len(x_values), len(accels_g))
    # Proportional to target acceleration (where the miss is not ~0).
    m1, m2 = miss.reshape(sim3.shape)[..., 0], miss.reshape(sim3.shape)[..., 1]
    big = m2 > 0.3
    assert big.sum() >= 5
    assert np.allclose(m2[big] / m1[big], 2.0, rtol=0.05)
    # The peak miss over flight times decreases as N increases from 3 to 5.
    peak = sim3[..., 1].max(axis=1)
    assert peak[0] > peak[1] > peak[2]
    # With a first-order lag the miss vanishes for long flights (t_F / T = 16).
    assert (sim3[:, -1, :] < 0.01).all()


# --------------------------------------------------------------------------- closest approach
@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-3000.0, 3000.0), min_size=6, max_size=6),
       st.floats(0.05, 0.5))
def test_closest_approach_equals_brute_force(vals: list[float], h: float) -> None:
    r0 = np.array(vals[:3])
    rel_vel = np.array(vals[3:]) * 2.0
    r1 = r0 + rel_vel * h
    frac, miss = closest_approach(r0[None], r1[None])
    grid = np.linspace(0.0, h, int(round(h / 1e-4)) + 1)   # 1e-4 s (or finer) sampling
    dist = np.linalg.norm(r0[None] + grid[:, None] * rel_vel[None], axis=1)
    i = int(np.argmin(dist))
    # The analytic miss is a lower bound of every sample and within one grid cell of the best.
    assert miss[0] <= dist.min() + 1e-9
    assert abs(frac[0] * h - grid[i]) <= 1e-4
    # Refine inside the bracketing cells: Brent on the squared distance, endpoints included.
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]

    def d2(t: float) -> float:
        return float(np.sum((r0 + t * rel_vel) ** 2))

    fine = minimize_scalar(d2, bounds=(lo, hi), method="bounded", options={"xatol": 1e-13})
    t_best, d2_best = min([(fine.x, fine.fun), (lo, d2(lo)), (hi, d2(hi))], key=lambda c: c[1])
    assert miss[0] == pytest.approx(np.sqrt(d2_best), rel=1e-6, abs=1e-9)
    speed = float(np.linalg.norm(rel_vel))
    if speed > 0 and miss[0] < speed * 1.0:   # the minimum is well conditioned in time
        assert frac[0] * h == pytest.approx(t_best, rel=1e-6, abs=3e-8)


def test_gun_burst_closest_approach_matches_brute_force() -> None:
    """An unguided, decelerating burst against a crossing drone: the flyout's in-step closest
    approach vs brute-force sampling (1e-4 s) of the exact straight-line flight."""
    rec = gun()
    launcher = enu([[0.0, 0.0, 2.0]])
    tgt_p = enu([[-800.0, 2000.0, 600.0], [300.0, 1500.0, 200.0]])
    tgt_v = enu_vec([[45.0, 0.0, 0.0], [-30.0, -20.0, 1.0]])
    pip, _ = predicted_intercept(rec, launcher, tgt_p, tgt_v)
    aim = pip + enu_vec([[0.0, 0.0, 7.0], [3.0, 0.0, 0.0]])  # deliberate aim errors
    table = InterceptorTable(capacity=2)
    slots = table.launch(0.2, launcher, aim, np.zeros(2, np.int64), [rec])
    results = fly(FlyoutModel(), table, [rec], tgt_p - tgt_v * 0.2, tgt_v, t_max=10.0)
    miss = collect(results, "miss_m", 2)[slots]
    t_cpa = collect(results, "time_s", 2)[slots]
    direction = (aim - launcher) / np.linalg.norm(aim - launcher, axis=1, keepdims=True)
    for i in range(2):
        def dist(t: np.ndarray | float, i: int = i) -> np.ndarray:
            t = np.atleast_1d(np.asarray(t, float))
            p_m = launcher[0] + direction[i] * distance_at(rec, t - 0.2)[:, None]
            return np.linalg.norm(tgt_p[i] + tgt_v[i] * (t - 0.2)[:, None] - p_m, axis=1)

        grid = np.arange(0.2, 6.2, 1e-4)
        j = int(np.argmin(dist(grid)))
        fine = minimize_scalar(lambda t, i=i: float(dist(t, i)[0]),
                               bounds=(grid[j - 1], grid[j + 1]), method="bounded",
                               options={"xatol": 1e-12})
        assert miss[i] == pytest.approx(fine.fun, abs=1e-2)
        assert t_cpa[i] == pytest.approx(fine.x, abs=1e-4)
        assert fine.fun > 1.0  # the aim error is visible in the miss


# --------------------------------------------------------------------------- kinematics
def test_turn_and_advance_equals_constant_curvature_quadrature() -> None:
    rng = np.random.default_rng(3)
    p0 = rng.normal(size=(5, 3)) * 1e3
    u0 = rng.normal(size=(5, 3))
    u0 /= np.linalg.norm(u0, axis=1, keepdims=True)
    a = rng.normal(size=(5, 3)) * 200.0
    a -= np.sum(a * u0, axis=1, keepdims=True) * u0
    a[0] = 0.0
    path = rng.uniform(10.0, 900.0, 5)
    h = rng.uniform(0.05, 0.5, 5)
    p1, u1 = turn_and_advance(p0, u0, a, path, h)
    for i in range(5):
        a_norm = np.linalg.norm(a[i])
        curvature = a_norm / (path[i] / h[i]) ** 2   # kappa = a / s^2 (1/m)
        axis = np.cross(u0[i], a[i] / a_norm) if a_norm > 0 else np.zeros(3)

        def unit(s: float, i: int = i, axis: np.ndarray = axis,
                 curvature: float = curvature) -> np.ndarray:
            return Rotation.from_rotvec(axis * curvature * s).apply(u0[i])

        ref = p0[i] + np.array([quad(lambda s, k=k: unit(s)[k], 0.0, path[i],
                                     epsabs=1e-12)[0] for k in range(3)])
        assert np.allclose(p1[i], ref, atol=1e-7)
        assert np.allclose(u1[i], unit(path[i]), atol=1e-12)


def test_speed_profile_followed_and_lateral_accel_limited() -> None:
    """A 6 g interceptor against a hard crossing target: |v| = v(t) at every step, the airframe
    lateral acceleration saturates at but never exceeds 6 g, and the velocity turns no faster
    than (6 g + g) / speed."""
    rec = interceptor(max_accel_g=6.0, navigation_ratio=4.0)
    launcher = enu([[0.0, 0.0, 5.0]])
    tgt_p = enu([[-8000.0, 9000.0, 4000.0]])
    tgt_v = enu_vec([[600.0, -200.0, 0.0]])
    table = InterceptorTable(capacity=1)
    slot = table.launch(0.0, launcher, tgt_p + tgt_v * 3.0, np.array([0]), [rec])[0]
    table.target_index[slot] = 0
    model = FlyoutModel(endgame_time_factor=0.0)  # coarse steps only, to measure the turn
    limit = 6.0 * G0_MPS2
    time, dt, peak = 0.0, 0.5, 0.0
    while table.active[slot] and time < 40.0:
        v_before = table.vel_ecef[slot].copy()
        model.step(table, [rec], tgt_p + tgt_v * time, tgt_v, time, dt)
        time += dt
        if not table.active[slot]:
            break
        age = table.time_s[slot] - table.launch_time_s[slot]
        assert np.linalg.norm(table.vel_ecef[slot]) == pytest.approx(
            float(speed_at(rec, age)), rel=1e-12)
        a_lat = np.linalg.norm(table.accel_ecef[slot])
        assert a_lat <= limit * (1 + 1e-12)
        peak = max(peak, a_lat)
        if age > 1.0:
            cos_turn = np.dot(v_before, table.vel_ecef[slot]) / (
                np.linalg.norm(v_before) * np.linalg.norm(table.vel_ecef[slot]))
            mean_speed = (float(distance_at(rec, age)) - float(distance_at(rec, age - dt))) / dt
            assert np.arccos(min(cos_turn, 1.0)) <= (limit + G0_MPS2) * dt / mean_speed + 1e-9
    assert peak == pytest.approx(limit, rel=1e-9)  # the limit binds


def test_straight_flight_path_length_is_distance_at() -> None:
    rec = gun()
    launcher = enu([[0.0, 0.0, 2.0]])
    aim = enu([[0.0, 3000.0, 1000.0]])
    table = InterceptorTable(capacity=1)
    table.launch(0.0, launcher, aim, np.array([0]), [rec])
    nan = np.full((1, 3), np.nan)
    model = FlyoutModel()
    for k in range(8):
        model.step(table, [rec], nan, nan, 0.5 * k, 0.5)
        t = 0.5 * (k + 1)
        assert np.linalg.norm(table.pos_ecef[0] - launcher[0]) == pytest.approx(
            float(distance_at(rec, t)), rel=1e-12)


def test_self_destruct_at_max_time_of_flight() -> None:
    types = [interceptor(max_time_of_flight_s=7.3), gun()]
    launcher = enu([[0.0, 0.0, 5.0], [100.0, 0.0, 5.0]])
    aim = enu([[0.0, 60000.0, 20000.0], [100.0, 9000.0, 3000.0]])
    table = InterceptorTable(capacity=2)
    slots = table.launch(np.array([0.3, 1.1]), launcher, aim, np.array([0, 1]), types)
    nan = np.full((2, 3), np.nan)
    results = fly(FlyoutModel(), table, types, nan, nan, t_max=20.0)
    ds = np.concatenate([r.destroyed_slot for r in results])
    t_end = np.concatenate([r.destroyed_time_s for r in results])[np.argsort(ds)]
    reason = np.concatenate([r.destroyed_reason for r in results])[np.argsort(ds)]
    assert np.array_equal(np.sort(ds), slots)
    assert np.allclose(t_end, [0.3 + 7.3, 1.1 + 6.0], atol=1e-9)
    assert (reason == SelfDestructReason.TIME_OF_FLIGHT).all()
    assert not np.concatenate([r.slot for r in results]).size


def test_self_destruct_on_ground() -> None:
    rec = interceptor()
    table = InterceptorTable(capacity=1)
    # Lofted up first (elevation -26.6 + 34.4 deg), then guided down into a point underground.
    table.launch(0.0, enu([[0.0, 0.0, 5.0]]), enu([[0.0, 6000.0, -3000.0]]), np.array([0]),
                 [rec], loft_rad=0.6)
    assert table.ground_alt_m[0] == pytest.approx(-1.0)
    nan = np.full((1, 3), np.nan)
    results = fly(FlyoutModel(), table, [rec], nan, nan, t_max=30.0)
    reason = np.concatenate([r.destroyed_reason for r in results])
    pos = np.concatenate([r.destroyed_pos_ecef for r in results])
    t_end = np.concatenate([r.destroyed_time_s for r in results])
    assert reason.tolist() == [SelfDestructReason.GROUND]
    assert float(altitude_m(pos)[0]) == pytest.approx(-1.0, abs=0.05)
    assert 0.5 < t_end[0] < 15.0   # after the guidance start


# --------------------------------------------------------------------------- batching
def random_table(rng: np.random.Generator, n: int, types: list[Interceptor]):
    table = InterceptorTable(capacity=n)
    launch_t = rng.uniform(-20.0, 0.4, n)
    launcher = enu(np.column_stack([rng.uniform(-5e3, 5e3, n), rng.uniform(-5e3, 5e3, n),
                                    rng.uniform(1e3, 8e3, n)]))
    aim = launcher + enu_vec(rng.normal(size=(n, 3)) * 5e3)
    slots = table.launch(np.maximum(launch_t, 0.0), launcher, aim,
                         rng.integers(0, len(types), n), types)
    flying = launch_t < 0.0
    table.time_s[slots[flying]] = 0.0
    table.launch_time_s[slots] = launch_t
    speed = np.array([float(speed_at(types[k], max(0.0, -t0)))
                      for k, t0 in zip(table.type_index[slots], launch_t, strict=True)])
    direction = rng.normal(size=(n, 3))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    table.vel_ecef[slots[flying]] = (direction * speed[:, None])[flying]
    table.accel_ecef[slots] = rng.normal(size=(n, 3)) * 20.0
    # Targets: some close ahead (endgame sub-steps), some far, some absent.
    ahead = rng.uniform(50.0, 4000.0, n)
    tgt_p = table.pos_ecef[slots] + direction * ahead[:, None] + rng.normal(size=(n, 3)) * 30
    tgt_v = rng.normal(size=(n, 3)) * 300.0
    absent = rng.random(n) < 0.2
    tgt_p[absent] = np.nan
    tgt_v[absent] = np.nan
    table.target_index[slots] = np.where(rng.random(n) < 0.6, np.arange(n), -1)
    table.was_closing[slots] = rng.random(n) < 0.5
    return table, tgt_p, tgt_v


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_batched_step_equals_per_interceptor_loop(seed: int) -> None:
    rng = np.random.default_rng(seed)
    types = [interceptor(), interceptor(navigation_ratio=3.0, max_accel_g=20.0,
                                        burn_time_s=1.0), gun()]
    n = 40
    table, tgt_p, tgt_v = random_table(rng, n, types)
    model = FlyoutModel(autopilot_time_constant_s=0.2 if seed == 1 else 0.0)
    reference = [table.take([i]) for i in range(n)]
    res = model.step(table, types, tgt_p, tgt_v, 0.0, 0.5)
    n_hits = 0
    for i, single in enumerate(reference):
        r1 = model.step(single, types, tgt_p[i:i + 1], tgt_v[i:i + 1], 0.0, 0.5)
        for name in ("pos_ecef", "vel_ecef", "accel_ecef", "time_s"):
            assert np.allclose(getattr(table, name)[i], getattr(single, name)[0],
                               rtol=1e-9, atol=1e-9), (i, name)
        assert table.active[i] == single.active[0]
        assert table.was_closing[i] == single.was_closing[0]
        j = np.flatnonzero(res.slot == i)
        assert j.size == r1.slot.size
        if j.size:
            n_hits += 1
            assert res.miss_m[j[0]] == pytest.approx(r1.miss_m[0], rel=1e-9, abs=1e-9)
            assert res.time_s[j[0]] == pytest.approx(r1.time_s[0], rel=1e-12, abs=1e-9)
    assert n_hits > 0  # the random states include closest approaches inside the step


def reference_step(model: FlyoutModel, table: InterceptorTable, types: list[Interceptor],
                   target_pos: np.ndarray, target_vel: np.ndarray, t0: float, dt: float,
                   target_acc: np.ndarray | None = None) -> dict[int, tuple]:
    """``FlyoutModel.step`` written with the vectorized array kernels of ``weapons.guidance``
    and ``weapons.kinematics`` (all rows at once, one sub-step at a time). Updates ``table``
    in place (without deactivating) and returns ``{slot: (event, time, miss, pos)}`` with
    ``event`` -1 for an intercept and the ``SelfDestructReason`` otherwise."""
    slots = table.active_slots()
    slots = slots[np.maximum(table.time_s[slots], t0) < t0 + dt]
    start = np.maximum(table.time_s[slots], t0)
    par = {name: np.array([float(getattr(types[k], name)) for k in table.type_index[slots]])
           for name in ("max_speed_mps", "burn_time_s", "speed_decay_s", "min_speed_mps",
                        "max_time_of_flight_s", "max_accel_g", "navigation_ratio")}
    prof = (par["max_speed_mps"], par["burn_time_s"], par["speed_decay_s"], par["min_speed_mps"])
    tof, amax = par["max_time_of_flight_s"], par["max_accel_g"] * G0_MPS2
    nav = par["navigation_ratio"]
    pos, vel = table.pos_ecef[slots].copy(), table.vel_ecef[slots].copy()
    acc, lagged = table.accel_ecef[slots].copy(), table.guidance_accel_ecef[slots].copy()
    closing_before = table.was_closing[slots].copy()
    tp0, tv0 = target_pos[slots], target_vel[slots]
    has = np.isfinite(tp0).all(axis=1) & np.isfinite(tv0).all(axis=1)
    tp0, tv0 = np.where(has[:, None], tp0, 0.0), np.where(has[:, None], tv0, 0.0)
    ta = (np.zeros_like(tv0) if target_acc is None
          else np.where(has[:, None] & np.isfinite(target_acc[slots]), target_acc[slots], 0.0))
    locked = has & (table.target_index[slots] >= 0)
    since = (start - t0)[:, None]
    rel = tp0 + tv0 * since + 0.5 * ta * since**2 - pos
    rng = np.linalg.norm(rel, axis=1)
    vc = -np.sum(rel * (tv0 + ta * since - vel), axis=1) / np.where(rng > 0, rng, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_go = np.where(has & (vc > 0), rng / vc, np.inf)
    n_sub = np.where(t_go < model.endgame_time_factor * dt, model.endgame_substeps, 1)
    h_row = (t0 + dt - start) / n_sub
    alive, now, events = np.ones(slots.size, bool), start.copy(), {}
    for j in range(int(n_sub.max())):
        r = np.flatnonzero(alive & (j < n_sub))
        pr = tuple(x[r] for x in prof)
        age0 = now[r] - table.launch_time_s[slots[r]]
        h = np.clip(np.minimum(h_row[r], tof[r] - age0), 0.0, None)
        since = (now[r] - t0)[:, None]
        tp = tp0[r] + tv0[r] * since + 0.5 * ta[r] * since**2
        tv = tv0[r] + ta[r] * since
        gp = np.where(locked[r, None], tp, table.aim_ecef[slots[r]]
                      + table.aim_vel_ecef[slots[r]] * since)
        gv = np.where(locked[r, None], tv, table.aim_vel_ecef[slots[r]])
        p0, v0 = pos[r], vel[r]
        u0 = v0 / np.linalg.norm(v0, axis=1)[:, None]
        guided = ((amax[r] > 0) & (age0 >= model.guidance_start_s))[:, None]
        g_perp = perpendicular(gravity_ecef(p0), u0)
        command = pn_acceleration(p0, v0, gp, gv, nav[r])
        speed0, speed1 = speed_profile(age0, *pr), speed_profile(age0 + h, *pr)
        if model.axial_compensation:
            axial = (speed1 - speed0) / np.where(h > 0, h, 1.0)
            command = command + axial_compensation(p0, u0, gp, axial, nav[r])
        if model.autopilot_time_constant_s > 0:
            decay = np.exp(-h / model.autopilot_time_constant_s)[:, None]
            command = command + (lagged[r] - command) * decay
        command = np.where(guided, perpendicular(command, u0), 0.0)
        airframe = np.where(guided, clip_norm(command - g_perp, amax[r]), 0.0)
        net = np.where(guided, airframe + g_perp, 0.0)
        path = distance_profile(age0 + h, *pr) - distance_profile(age0, *pr)
        p1, u1 = turn_and_advance(p0, u0, net, path, h)
        rel0 = tp - p0
        rel1 = tp + tv * h[:, None] + 0.5 * ta[r] * (h**2)[:, None] - p1
        frac, miss = closest_approach(rel0, rel1)
        opening_end = np.sum(rel1 * (rel1 - rel0), axis=1) > 0
        closing_start = np.sum(rel0 * (rel1 - rel0), axis=1) < 0
        hit = has[r] & (h > 0) & opening_end & (closing_start | closing_before[r])
        closing_before[r] = has[r] & ~opening_end
        pos[r], vel[r], acc[r], lagged[r] = p1, u1 * speed1[:, None], airframe, command
        now[r] = now[r] + h
        alt0 = height_above_ellipsoid_m(p0) - table.ground_alt_m[slots[r]]
        alt1 = height_above_ellipsoid_m(p1) - table.ground_alt_m[slots[r]]
        for m, row in enumerate(r):
            reason, f = 0, frac[m]
            if hit[m]:
                reason = -1
            elif alt1[m] < 0.0:
                a0 = max(alt0[m], 0.0)
                reason, f = int(SelfDestructReason.GROUND), a0 / (a0 - alt1[m])
            elif age0[m] + h[m] >= tof[row] * (1.0 - 1e-12):
                reason, f = int(SelfDestructReason.TIME_OF_FLIGHT), 1.0
            elif (age0[m] + h[m] > pr[1][m]) and speed1[m] < pr[3][m] * (1.0 - 1e-12):
                reason, f = int(SelfDestructReason.MIN_SPEED), 1.0
            if reason:
                pos[row] = p0[m] + f * (p1[m] - p0[m])
                now[row] = now[row] - h[m] + f * h[m]
                alive[row] = False
                events[int(slots[row])] = (reason, now[row], miss[m], pos[row].copy())
    table.pos_ecef[slots], table.vel_ecef[slots], table.accel_ecef[slots] = pos, vel, acc
    table.guidance_accel_ecef[slots], table.time_s[slots] = lagged, now
    table.was_closing[slots] = closing_before
    return events


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("variant", [
    {}, {"autopilot_time_constant_s": 0.3}, {"axial_compensation": False},
    {"guidance_start_s": 0.0, "endgame_substeps": 7}])
def test_compiled_step_equals_vectorized_reference(seed: int, variant: dict) -> None:
    """The compiled ``FlyoutModel.step`` against the same update written with the array
    kernels of ``weapons.guidance`` (targets with and without acceleration)."""
    rng = np.random.default_rng(seed)
    types = [interceptor(), interceptor(navigation_ratio=3.0, max_accel_g=20.0,
                                        burn_time_s=1.0), gun()]
    n = 40
    table, tgt_p, tgt_v = random_table(rng, n, types)
    tgt_a = rng.normal(size=(n, 3)) * 50.0 if seed % 2 else None
    model = FlyoutModel(**variant)
    ref = table.take(np.arange(n))
    res = model.step(table, types, tgt_p, tgt_v, 0.1, 0.5, tgt_a)
    events = reference_step(model, ref, types, tgt_p, tgt_v, 0.1, 0.5, tgt_a)
    for name in ("pos_ecef", "vel_ecef", "accel_ecef", "guidance_accel_ecef", "time_s"):
        assert np.allclose(getattr(table, name), getattr(ref, name), rtol=1e-9, atol=1e-9), name
    assert (table.was_closing == ref.was_closing).all()
    assert sorted(events) == sorted([*res.slot.tolist(), *res.destroyed_slot.tolist()])
    assert not table.active[list(events)].any()
    for j, slot in enumerate(res.slot):
        kind, time, miss, pos = events[int(slot)]
        assert kind == -1
        assert res.time_s[j] == pytest.approx(time, rel=1e-12, abs=1e-9)
        assert res.miss_m[j] == pytest.approx(miss, rel=1e-9, abs=1e-9)
        assert np.allclose(res.pos_ecef[j], pos, rtol=1e-12, atol=1e-6)
    for j, slot in enumerate(res.destroyed_slot):
        kind, time, _, pos = events[int(slot)]
        assert res.destroyed_reason[j] == kind
        assert res.destroyed_time_s[j] == pytest.approx(time, rel=1e-12, abs=1e-9)
        assert np.allclose(res.destroyed_pos_ecef[j], pos, rtol=1e-12, atol=1e-6)
    assert res.slot.size > 0 and res.destroyed_slot.size + res.slot.size < n
