"""Static WTA solvers (issue 4): heuristic and exact vs the brute-force optimum."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shieldwall.c2.wta import (
    WTASolution,
    brute_force_wta,
    greedy_mmr,
    solve_wta,
    wta_objective,
)
from shieldwall.c2.wta_exact import OPTIMALITY_GAP, exact_wta
from shieldwall.c2.wta_heuristic import greedy_local_search, heuristic_wta, improve_assignment


def _instance(seed: int, max_types: int = 3, max_targets: int = 4, max_count: int = 3,
              edge: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n_types = int(rng.integers(1, max_types + 1))
    n_targets = int(rng.integers(1, max_targets + 1))
    counts = rng.integers(0, max_count + 1, n_types)
    values = rng.uniform(0.0, 10.0, n_targets)
    pk = rng.uniform(0.0, 1.0, (n_types, n_targets))
    if edge:  # sure kills, useless weapons and worthless targets, each now and then
        pk[rng.random(pk.shape) < 0.15] = 1.0
        pk[rng.random(pk.shape) < 0.15] = 0.0
        values[rng.random(n_targets) < 0.1] = 0.0
    return values, counts, pk


def _feasible(x: np.ndarray, counts: np.ndarray) -> bool:
    return bool(np.all(x >= 0) and np.all(x.sum(axis=1) <= counts))


def _ahuja(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.uniform(25, 100, n), np.ones(n, np.int64), rng.uniform(0.6, 0.9, (n, n))


@settings(max_examples=120, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_exact_and_heuristic_vs_brute_force(seed: int) -> None:
    values, counts, pk = _instance(seed)
    _, optimum = brute_force_wta(values, counts, pk)
    tol = 1e-9 * max(1.0, optimum)

    res = exact_wta(values, counts, pk)
    assert res.optimal and res.gap <= OPTIMALITY_GAP
    assert _feasible(res.x, counts)
    assert res.objective == pytest.approx(optimum, rel=1e-9, abs=1e-12)
    assert float(wta_objective(values, pk, res.x)) == pytest.approx(res.objective, abs=1e-12)
    assert res.lower_bound <= optimum + tol

    x_h = heuristic_wta(values, counts, pk)
    assert _feasible(x_h, counts)
    f_h = float(wta_objective(values, pk, x_h))
    assert f_h >= optimum - tol
    assert f_h <= float(wta_objective(values, pk, greedy_mmr(values, counts, pk))) + tol


def test_heuristic_mostly_optimal_on_small_instances() -> None:
    gaps = []
    for seed in range(200):
        values, counts, pk = _instance(seed, max_types=3, max_targets=4, edge=False)
        _, optimum = brute_force_wta(values, counts, pk)
        f_h = float(wta_objective(values, pk, heuristic_wta(values, counts, pk)))
        gaps.append(0.0 if optimum <= 0 else (f_h - optimum) / optimum)
    gaps_arr = np.asarray(gaps)
    assert np.mean(gaps_arr < 1e-9) > 0.95
    assert gaps_arr.mean() < 0.005


@pytest.mark.parametrize("solver", ["greedy", "heuristic", "exact", "auto"])
def test_solve_wta_front_end(solver: str) -> None:
    values, counts, pk = _instance(7, max_types=3, max_targets=4, edge=False)
    _, optimum = brute_force_wta(values, counts, pk)
    sol = solve_wta(values, counts, pk, solver=solver, time_limit_s=20)
    assert isinstance(sol, WTASolution) and sol.solver == solver
    assert sol.assignment.shape == pk.shape and _feasible(sol.assignment, counts)
    assert sol.objective == pytest.approx(float(wta_objective(values, pk, sol.assignment)))
    assert sol.objective >= optimum - 1e-9 and sol.seconds >= 0
    if solver in ("exact", "auto"):
        assert sol.optimal and sol.objective == pytest.approx(optimum, rel=1e-9)
        assert sol.lower_bound is not None and sol.lower_bound <= optimum + 1e-9
        assert sol.gap is not None and sol.gap <= OPTIMALITY_GAP
    else:
        assert sol.lower_bound is None and sol.gap is None and not sol.optimal
    with pytest.raises(ValueError):
        solve_wta(values, counts, pk, solver="simplex")


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_targets=st.integers(1, 6), n_weapons=st.integers(0, 6))
def test_single_weapon_type_greedy_is_optimal_and_reported(seed: int, n_targets: int,
                                                           n_weapons: int) -> None:
    rng = np.random.default_rng(seed)
    values = rng.uniform(0.1, 10, n_targets)
    pk = rng.uniform(0.0, 1.0, (1, n_targets))
    _, optimum = brute_force_wta(values, [n_weapons], pk)
    for solver in ("greedy", "heuristic"):
        sol = solve_wta(values, [n_weapons], pk, solver=solver)
        assert sol.objective == pytest.approx(optimum, rel=1e-9, abs=1e-12)
        assert sol.optimal and sol.gap == 0.0 and sol.lower_bound == sol.objective


def test_sure_kills_and_useless_weapons() -> None:
    # p = 1: one weapon kills target 0 for sure; the second p = 1 weapon goes to target 1.
    values = [10.0, 6.0, 1.0]
    pk = [[1.0, 1.0, 0.5], [0.0, 0.0, 0.0]]
    for solver in ("heuristic", "exact"):
        sol = solve_wta(values, [2, 5], pk, solver=solver)
        assert sol.objective == pytest.approx(1.0)
        assert sol.assignment[0].tolist() == [1, 1, 0]
        assert sol.assignment[1].sum() == 0 or sol.objective == pytest.approx(1.0)
    exact = exact_wta(values, [2, 5], pk)
    assert exact.optimal and exact.lower_bound == pytest.approx(1.0)
    # Only useless weapons (p = 0): nothing to gain, proven at once.
    res = exact_wta([3.0, 4.0], [3], [[0.0, 0.0]])
    assert res.optimal and res.objective == pytest.approx(7.0) and res.lower_bound == 7.0
    # No weapons at all, no targets at all.
    assert exact_wta([3.0], [0, 0], [[0.5], [0.5]]).objective == pytest.approx(3.0)
    assert solve_wta([], [2], np.zeros((1, 0)), solver="exact").objective == 0.0
    # Every target worthless: objective 0, optimal.
    sol = solve_wta([0.0, 0.0], [1, 1], [[0.5, 0.5], [0.5, 0.5]], solver="exact")
    assert sol.objective == 0.0 and sol.optimal and sol.gap == 0.0
    # A sure kill where removing the weapon would divide by zero in a naive local search.
    values = [5.0, 5.0]
    pk = [[1.0, 0.2], [0.3, 0.3]]
    x = improve_assignment(values, [1, 1], pk, x0=[[0, 1], [1, 0]])
    assert float(wta_objective(values, pk, x)) == pytest.approx(3.5)


def test_heuristic_improves_greedy_and_is_feasible_at_scale() -> None:
    values, counts, pk = _ahuja(60, 3)
    x_g = greedy_mmr(values, counts, pk)
    x_ls = greedy_local_search(values, counts, pk)
    x_h = heuristic_wta(values, counts, pk)
    f_g, f_ls, f_h = (float(wta_objective(values, pk, x)) for x in (x_g, x_ls, x_h))
    assert all(_feasible(x, counts) for x in (x_g, x_ls, x_h))
    assert f_h <= f_ls <= f_g
    # Several weapons per type, more targets than types.
    rng = np.random.default_rng(5)
    values = rng.integers(1, 100, 50).astype(float)
    counts = rng.integers(1, 4, 25)
    pk = rng.uniform(0, 1, (25, 50))
    x_h = heuristic_wta(values, counts, pk)
    assert _feasible(x_h, counts) and np.all(x_h.sum(axis=1) == counts)
    assert float(wta_objective(values, pk, x_h)) <= float(
        wta_objective(values, pk, greedy_mmr(values, counts, pk)))


def test_exact_proves_ahuja_30_and_heuristic_is_close() -> None:
    values, counts, pk = _ahuja(30, 1)
    x_h = heuristic_wta(values, counts, pk)
    res = exact_wta(values, counts, pk, x_h, time_limit_s=60)
    assert res.optimal and res.gap <= OPTIMALITY_GAP
    assert res.lower_bound <= res.objective
    f_h = float(wta_objective(values, pk, x_h))
    assert f_h <= res.objective * 1.005
    # The greedy start gives the same optimum.
    res2 = exact_wta(values, counts, pk, time_limit_s=60)
    assert res2.objective == pytest.approx(res.objective, rel=1e-6)


def test_exact_with_no_time_reports_a_valid_bound() -> None:
    values, counts, pk = _ahuja(20, 2)
    res = exact_wta(values, counts, pk, time_limit_s=0.0)
    assert _feasible(res.x, counts)
    assert 0.0 <= res.lower_bound <= res.objective
    assert res.gap == pytest.approx((res.objective - res.lower_bound) / res.objective)
    with pytest.raises(ValueError):
        exact_wta(values, counts, pk, x_start=np.full(pk.shape, 2))
