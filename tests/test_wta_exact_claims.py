"""The exact WTA solver never claims an optimality it has not proven (docs/formats.md §8).

An operations researcher checks ``optimal: true`` against brute force. On small random
instances, extreme ones included (kill probabilities within 1e-9 of 0 or 1, zero values,
objectives many orders of magnitude below the target values), ``optimal=True`` must mean the
objective is within the stated relative gap (``OPTIMALITY_GAP``) of the brute-force optimum,
and the reported lower bound must never exceed that optimum.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shieldwall.c2.wta import brute_force_wta, wta_objective
from shieldwall.c2.wta_exact import OPTIMALITY_GAP, exact_wta
from shieldwall.c2.wta_heuristic import heuristic_wta

_pk = (st.sampled_from([0.0, 1e-9, 1e-6, 0.5, 0.75, 0.9375, 0.999, 1.0 - 1e-9, 1.0])
       | st.floats(0.0, 1.0))
_value = st.sampled_from([0.0, 1e-6, 1.0, 2.0, 1e6]) | st.floats(0.0, 100.0)

_instances = st.integers(1, 3).flatmap(lambda n_types: st.integers(1, 3).flatmap(
    lambda n_targets: st.tuples(
        st.lists(_value, min_size=n_targets, max_size=n_targets),
        st.lists(st.integers(0, 9), min_size=n_types, max_size=n_types),
        st.lists(st.lists(_pk, min_size=n_targets, max_size=n_targets),
                 min_size=n_types, max_size=n_types),
        st.booleans())))


def _check(values: list[float], counts: list[int], pk: list[list[float]],
           from_heuristic: bool) -> None:
    v, n, p = np.asarray(values, float), np.asarray(counts, np.int64), np.asarray(pk, float)
    _, optimum = brute_force_wta(v, n, p)
    start = heuristic_wta(v, n, p) if from_heuristic else None
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no NaN arithmetic inside the solver
        result = exact_wta(v, n, p, start, time_limit_s=30)
    x = result.x
    assert np.all(x >= 0) and np.all(x.sum(axis=1) <= n)
    assert result.objective == pytest.approx(float(wta_objective(v, p, x)), rel=1e-12,
                                             abs=1e-300)
    slack = 1e-12 * max(optimum, 1e-300)
    assert result.objective >= optimum - slack
    assert result.lower_bound <= optimum + slack
    assert 0.0 <= result.gap <= 1.0
    if result.optimal:
        assert result.gap <= OPTIMALITY_GAP
        assert result.objective <= optimum * (1.0 + OPTIMALITY_GAP) + 1e-300


@settings(max_examples=150, deadline=None)
@given(_instances)
def test_optimal_means_within_the_stated_gap_of_brute_force(instance: tuple) -> None:
    _check(*instance)


def test_tiny_objectives_against_brute_force() -> None:
    """Objectives 1e-8 .. 1e-11 of the target values (the case HiGHS's tolerances got wrong)."""
    rng = np.random.default_rng(2026)
    for _ in range(25):
        n_types, n_targets = rng.integers(1, 3, endpoint=True, size=2)
        v = rng.choice([0.0, 1.0, 2.0, 5.0], n_targets)
        n = rng.integers(4, 9, n_types, endpoint=True)
        p = rng.choice([0.0, 0.5, 0.75, 0.9, 0.9375, 0.99, 0.999], (n_types, n_targets))
        _check(v.tolist(), n.tolist(), p.tolist(), True)
