"""Weapons pieces other than guidance: the interceptor table, lethality, seeker acquisition,
kill assessment, launcher inventories, and the row-wise speed profile."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import ncx2

from shieldwall.catalog.types import Envelope, Interceptor
from shieldwall.core.types import ThreatClass
from shieldwall.geo import ecef2enu, enu2aer, enu2ecef, enu_rotation, geodetic2ecef
from shieldwall.weapons import (
    FireUnitInventory,
    InterceptorTable,
    InventoryError,
    SeekerModel,
    acquire_targets,
    assess_kills,
    distance_at,
    distance_profile,
    pk_from_miss,
    pk_from_miss_by_type,
    speed_at,
    speed_profile,
)

LAT, LON = 48.0, 16.0
ORIGIN = geodetic2ecef(LAT, LON, 0.0)
ROT = enu_rotation(LAT, LON)


def enu(points) -> np.ndarray:
    return enu2ecef(np.asarray(points, float).reshape(-1, 3), ORIGIN, ROT)


def interceptor(**kw: object) -> Interceptor:
    base: dict[str, object] = dict(
        name="x", label="x", kill_mechanism="hit_to_kill",
        envelopes={ThreatClass.CRUISE: Envelope(min_range_m=500.0, max_range_m=3e4,
                                                min_alt_m=10.0, max_alt_m=1.5e4)},
        max_speed_mps=1200.0, burn_time_s=2.5, speed_decay_s=30.0, min_speed_mps=250.0,
        max_time_of_flight_s=50.0, max_accel_g=30.0, navigation_ratio=4.0,
        seeker_range_m=8000.0, lethal_radius_m=0.5, pk_max=0.85, unit_cost_usd=1e6)
    base.update(kw)
    return Interceptor(**base)  # type: ignore[arg-type]


HTK = interceptor()
BLAST = interceptor(name="blast", kill_mechanism="blast_fragmentation", lethal_radius_m=12.0,
                    pk_max=0.7)
GUN = interceptor(name="gun", kill_mechanism="gun", burn_time_s=0.0, max_accel_g=0.0,
                  navigation_ratio=0.0, seeker_range_m=0.0, lethal_radius_m=3.0, pk_max=0.4)
TYPES = [HTK, BLAST, GUN]


# --------------------------------------------------------------------------- kinematics
@pytest.mark.parametrize("rec", [HTK, GUN, interceptor(burn_time_s=8.0, speed_decay_s=5.0)])
def test_row_wise_profile_equals_speed_at(rec: Interceptor) -> None:
    t = np.linspace(-1.0, 60.0, 611)
    args = (rec.max_speed_mps, rec.burn_time_s, rec.speed_decay_s, rec.min_speed_mps)
    assert np.allclose(speed_profile(t, *args), speed_at(rec, t), rtol=1e-14, atol=1e-9)
    assert np.allclose(distance_profile(t, *args), distance_at(rec, t), rtol=1e-14, atol=1e-9)


# --------------------------------------------------------------------------- table
def test_table_launch_grows_keeps_ids_and_lofts() -> None:
    table = InterceptorTable(capacity=2)
    launcher = enu([[0.0, 0.0, 10.0]])
    aims = enu([[0.0, 10000.0, 1000.0], [5000.0, 0.0, 0.0], [-3000.0, -3000.0, 3000.0]])
    s1 = table.launch(1.0, launcher, aims, np.array([0, 1, 2]), TYPES, battery_index=4,
                      track_id=np.array([7, 8, 9]), engagement_id=3, loft_rad=0.1)
    assert table.capacity == 4 and s1.tolist() == [0, 1, 2]
    assert table.interceptor_id[s1].tolist() == [0, 1, 2]
    assert table.track_id[s1].tolist() == [7, 8, 9] and (table.battery_index[s1] == 4).all()
    assert (table.target_index[s1] == -1).all() and (table.time_s[s1] == 1.0).all()
    # Elevation of the launch direction = elevation of the line of sight + loft (guided only).
    _, az_v, el_v = enu2aer(ecef2enu(launcher + table.vel_ecef[s1], launcher[0], ROT))
    _, az_a, el_a = enu2aer(ecef2enu(aims, launcher[0], ROT))
    assert np.allclose(az_v, az_a, atol=1e-5)
    assert np.allclose(el_v - el_a, [0.1, 0.1, 0.0], atol=1e-5)
    speeds = np.linalg.norm(table.vel_ecef[s1], axis=1)
    assert np.allclose(speeds, [1.0, 1.0, GUN.max_speed_mps])
    # Deactivated slots are reused with new ids; capacity doubles again when needed.
    table.deactivate(np.array([1]))
    assert table.active_slots().tolist() == [0, 2]
    s2 = table.launch(2.0, launcher, np.repeat(aims[:1], 4, axis=0), np.zeros(4, np.int64),
                      TYPES)
    assert s2.tolist() == [1, 3, 4, 5] and table.capacity == 8
    assert table.interceptor_id[s2].tolist() == [3, 4, 5, 6]
    assert table.pos_ecef[0].tolist() == launcher[0].tolist()   # old rows survive the growth
    assert len(table) == 6
    sub = table.take(np.array([5, 0]))
    assert sub.interceptor_id[:2].tolist() == [6, 0]


# --------------------------------------------------------------------------- lethality
def test_pk_formula_values() -> None:
    assert float(pk_from_miss(0.0, HTK)) == pytest.approx(0.85)
    assert float(pk_from_miss(0.5, HTK)) == pytest.approx(0.85 * np.exp(-0.5))
    assert float(pk_from_miss(1.5, HTK)) == pytest.approx(0.85 * np.exp(-4.5))
    assert float(pk_from_miss(0.0, BLAST)) == pytest.approx(0.7)
    assert float(pk_from_miss(12.0, BLAST)) == pytest.approx(0.7 * np.exp(-1.0))
    assert float(pk_from_miss(24.0, BLAST)) == pytest.approx(0.7 * np.exp(-4.0))
    assert float(pk_from_miss(0.0, GUN)) == pytest.approx(0.4)
    assert float(pk_from_miss(3.0, GUN)) == pytest.approx(1.0 - 0.6 ** np.exp(-0.5))
    assert float(pk_from_miss(np.nan, HTK)) == 0.0
    assert float(pk_from_miss(0.0, interceptor(kill_mechanism="gun", pk_max=1.0))) == 1.0
    with pytest.raises(ValueError, match="kill_mechanism"):
        pk_from_miss(1.0, interceptor(kill_mechanism="laser"))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.0, 200.0), min_size=2, max_size=30),
       st.sampled_from(TYPES))
def test_pk_monotone_decreasing_and_bounded(miss: list[float], rec: Interceptor) -> None:
    m = np.sort(np.array(miss))
    pk = pk_from_miss(m, rec)
    assert ((pk >= 0.0) & (pk <= rec.pk_max + 1e-15)).all()
    assert (np.diff(pk) <= 1e-15).all()


def test_gun_pk_matches_exact_dispersion_model() -> None:
    """Gun burst: n rounds, circular normal dispersion sigma about the burst centre, a small
    circular target of radius a, kill given hit p. Exact per-round hit probability from the
    noncentral chi-square (Rice) distribution; burst Pk = 1 - (1 - p P_hit)^n."""
    sigma, a, n_rounds, p_kill_hit = 3.0, 0.15, 200, 0.5

    def exact(m: np.ndarray) -> np.ndarray:
        p_hit = ncx2.cdf(a**2 / sigma**2, 2, m**2 / sigma**2)
        return 1.0 - (1.0 - p_kill_hit * p_hit) ** n_rounds

    rec = interceptor(kill_mechanism="gun", lethal_radius_m=sigma,
                      pk_max=float(exact(np.array([0.0]))[0]))
    m = np.linspace(0.0, 12.0, 25)
    assert np.allclose(pk_from_miss(m, rec), exact(m), rtol=0.02, atol=1e-3)


def test_pk_by_type_equals_per_type() -> None:
    rng = np.random.default_rng(0)
    miss = rng.uniform(0, 30, 50)
    k = rng.integers(0, 3, 50)
    ref = np.array([float(pk_from_miss(m, TYPES[j])) for m, j in zip(miss, k, strict=True)])
    assert np.allclose(pk_from_miss_by_type(miss, k, TYPES), ref, rtol=1e-15)


def test_assess_kills_error_rate() -> None:
    killed = np.random.default_rng(1).random(200_000) < 0.6
    rng = np.random.default_rng(2)
    assessed = assess_kills(killed, 0.9, rng)
    wrong = np.mean(assessed != killed)
    assert abs(wrong - 0.1) < 4 * np.sqrt(0.09 / killed.size)
    assert np.array_equal(assess_kills(killed, 1.0, rng), killed)
    assert np.array_equal(assess_kills(killed, 0.9, np.random.default_rng(2)), assessed)
    per_row = assess_kills(killed[:4], np.array([1.0, 1.0, 0.0, 0.0]), rng)
    assert per_row.tolist() == [killed[0], killed[1], not killed[2], not killed[3]]


# --------------------------------------------------------------------------- seeker
def seeker_reference(p, v, aim, truth, alive, rng_max, fov) -> np.ndarray:
    out = np.full(len(p), -1)
    for i in range(len(p)):
        best, best_d = -1, np.inf
        for j in range(len(truth)):
            los = truth[j] - p[i]
            d = np.linalg.norm(los)
            angle = np.arccos(np.clip(los @ v[i] / (d * np.linalg.norm(v[i])), -1, 1))
            if alive[j] and d <= rng_max[i] and angle <= fov[i]:
                d_aim = np.linalg.norm(truth[j] - aim[i])
                if d_aim < best_d:
                    best, best_d = j, d_aim
        out[i] = best
    return out


@pytest.mark.parametrize("seed", range(5))
def test_acquire_targets_equals_loop(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, m = 12, 25
    p = rng.normal(size=(n, 3)) * 3000
    v = rng.normal(size=(n, 3)) * 500
    aim = p + rng.normal(size=(n, 3)) * 3000
    truth = rng.normal(size=(m, 3)) * 5000
    alive = rng.random(m) < 0.8
    rng_max = rng.uniform(2000, 9000, n)
    fov = rng.uniform(0.2, 1.2, n)
    got = acquire_targets(p, v, aim, truth, alive, rng_max, fov)
    assert got.tolist() == seeker_reference(p, v, aim, truth, alive, rng_max, fov).tolist()
    assert (got >= 0).any() and (got < 0).any()


def test_acquire_prefers_object_nearest_aim_point() -> None:
    p = np.zeros((1, 3))
    v = np.array([[1000.0, 0.0, 0.0]])
    aim = np.array([[5000.0, 100.0, 0.0]])
    truth = np.array([[2000.0, 0.0, 0.0],        # nearest the interceptor
                      [5000.0, 120.0, 0.0],      # nearest the aim point
                      [5000.0, 100.0, 0.0],      # on the aim point but dead
                      [-100.0, 0.0, 0.0]])       # behind: outside the field of view
    alive = np.array([True, True, False, True])
    assert acquire_targets(p, v, aim, truth, alive, 6000.0, 0.5).tolist() == [1]
    assert acquire_targets(p, v, aim, truth, alive, 4000.0, 0.5).tolist() == [0]
    assert acquire_targets(p, v, aim, truth[3:], alive[3:], 6000.0, 0.5).tolist() == [-1]
    assert acquire_targets(p, v, aim, np.zeros((0, 3)), np.zeros(0, bool), 1e4, 1.0).tolist() \
        == [-1]


def test_seeker_model_locks_only_unlocked_seeker_rounds() -> None:
    table = InterceptorTable(capacity=4)
    launcher = enu([[0.0, 0.0, 10.0]])
    aim = enu([[0.0, 3000.0, 1000.0]])
    slots = table.launch(0.0, np.repeat(launcher, 3, 0), np.repeat(aim, 3, 0),
                         np.array([0, 2, 0]), TYPES, loft_rad=0.0)
    table.target_index[slots[2]] = 5
    truth = np.vstack([aim, enu([[0.0, -3000.0, 1000.0]])])
    locked = SeekerModel().acquire(table, TYPES, truth, np.array([True, True]))
    assert locked.tolist() == [slots[0]]
    assert table.target_index[slots].tolist() == [0, -1, 5]   # the gun has no seeker


# --------------------------------------------------------------------------- inventory
def test_inventory_fire_queue_release_reload() -> None:
    inv = FireUnitInventory(rounds=[[4, 2], [1, 0]], fire_channels=[2, 1],
                            launch_interval_s=[3.0, 1.0], reload_time_s=[0.0, 20.0],
                            spare=[[0, 0], [3, 0]])
    assert inv.can_fire([0, 0, 1, 1], [0, 1, 0, 1], [2, 3, 1, 1], 0.0).tolist() == [
        True, False, True, False]
    first = inv.fire([0, 0], [0, 1], [2, 1], 10.0)
    assert first.tolist() == [10.0, 16.0]            # queued back to back on unit 0
    assert inv.next_launch_s[0] == 19.0
    assert inv.rounds[0].tolist() == [2, 1] and inv.channels_busy[0] == 2
    assert not inv.can_fire(0, 0, 1, 30.0)[0]        # both channels busy
    with pytest.raises(InventoryError):
        inv.fire(0, 0, 1, 30.0)
    inv.release_channel([0])
    with pytest.raises(InventoryError, match="cannot launch before"):
        inv.fire(0, 0, 1, 18.0)
    assert inv.fire(0, 0, 1, 19.0).tolist() == [19.0]
    with pytest.raises(InventoryError):
        inv.fire(0, 1, 2, 40.0)                      # only one round of type 1 left
    # Unit 1 empties its launcher; the reload starts after its launch interval.
    inv.fire(1, 0, 1, 5.0)
    assert inv.reload_due_s[1] == 26.0
    assert inv.reload(25.0).size == 0
    assert inv.reload(26.0).tolist() == [1]
    assert inv.rounds[1].tolist() == [1, 0] and inv.spare[1].tolist() == [2, 0]
    with pytest.raises(InventoryError):
        inv.release_channel([0, 0, 0])


@st.composite
def fire_programs(draw):
    n_units = draw(st.integers(1, 3))
    n_types = draw(st.integers(1, 2))
    rounds = draw(st.lists(st.lists(st.integers(0, 6), min_size=n_types, max_size=n_types),
                           min_size=n_units, max_size=n_units))
    channels = draw(st.lists(st.integers(1, 3), min_size=n_units, max_size=n_units))
    interval = draw(st.lists(st.sampled_from([0.0, 0.5, 2.0, 3.0]), min_size=n_units,
                             max_size=n_units))
    ops = draw(st.lists(st.one_of(
        st.tuples(st.just("fire"), st.floats(0.0, 4.0),
                  st.lists(st.tuples(st.integers(0, n_units - 1), st.integers(0, n_types - 1),
                                     st.integers(1, 3)), min_size=1, max_size=3)),
        st.tuples(st.just("release"), st.floats(0.0, 4.0),
                  st.lists(st.integers(0, n_units - 1), min_size=1, max_size=2))),
        max_size=25))
    return rounds, channels, interval, ops


@settings(max_examples=150, deadline=None)
@given(fire_programs())
def test_inventory_invariants_under_random_requests(program) -> None:
    rounds, channels, interval, ops = program
    inv = FireUnitInventory(rounds=rounds, fire_channels=channels, launch_interval_s=interval)
    # Reference: plain Python, one request at a time, queued per unit within a batch.
    ref_rounds = [list(r) for r in rounds]
    ref_busy = [0] * len(channels)
    ref_next = [-np.inf] * len(channels)
    launches: list[list[float]] = [[] for _ in channels]
    t = 0.0
    for op in ops:
        t += op[1]
        if op[0] == "fire":
            reqs = op[2]
            trial_rounds = [list(r) for r in ref_rounds]
            trial_busy = list(ref_busy)
            queue: dict[int, float] = {}
            times = []
            ok = True
            for u, k, n in reqs:
                if trial_rounds[u][k] < n or trial_busy[u] >= channels[u] or (
                        u not in queue and t < ref_next[u]):
                    ok = False
                    break
                trial_rounds[u][k] -= n
                trial_busy[u] += 1
                start = queue.get(u, t)
                times.append([start + j * interval[u] for j in range(n)])
                queue[u] = start + n * interval[u]
            if ok:
                first = inv.fire([r[0] for r in reqs], [r[1] for r in reqs],
                                 [r[2] for r in reqs], t)
                assert np.allclose(first, [tt[0] for tt in times])
                ref_rounds, ref_busy = trial_rounds, trial_busy
                for u, end in queue.items():
                    ref_next[u] = end
                for (u, _, _), tt in zip(reqs, times, strict=True):
                    launches[u].extend(tt)
            else:
                before = (inv.rounds.copy(), inv.channels_busy.copy(), inv.next_launch_s.copy())
                with pytest.raises(InventoryError):
                    inv.fire([r[0] for r in reqs], [r[1] for r in reqs], [r[2] for r in reqs],
                             t)
                assert np.array_equal(inv.rounds, before[0])          # nothing changed
                assert np.array_equal(inv.channels_busy, before[1])
                assert np.array_equal(inv.next_launch_s, before[2])
        else:
            units = op[2]
            counts = np.bincount(units, minlength=len(channels))
            if all(ref_busy[u] >= counts[u] for u in range(len(channels))):
                inv.release_channel(units)
                for u in units:
                    ref_busy[u] -= 1
            else:
                with pytest.raises(InventoryError):
                    inv.release_channel(units)
        assert (inv.rounds >= 0).all()
        assert (inv.channels_busy <= inv.fire_channels).all()
        assert inv.rounds.tolist() == ref_rounds and inv.channels_busy.tolist() == ref_busy
    for u, times in enumerate(launches):
        assert (np.diff(np.sort(times)) >= interval[u] - 1e-9).all()
