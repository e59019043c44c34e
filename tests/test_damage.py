"""Damage model: disc-overlap areas against Monte Carlo and limiting cases."""

from __future__ import annotations

import numpy as np

from shieldwall.engine.damage import circle_overlap_area, damage_fraction


def test_overlap_limits() -> None:
    assert circle_overlap_area(10.0, 1.0, 2.0) == 0.0
    assert np.isclose(circle_overlap_area(0.5, 1.0, 3.0), np.pi)
    assert np.isclose(circle_overlap_area(0.0, 2.0, 2.0), 4 * np.pi)


def test_overlap_vs_monte_carlo() -> None:
    rng = np.random.default_rng(0)
    n = 400_000
    for d, r1, r2 in [(1.0, 1.0, 1.0), (2.5, 2.0, 1.0), (0.7, 1.5, 0.4), (3.0, 2.0, 2.0)]:
        pts = rng.uniform(-r1, r1, (n, 2))
        in1 = np.hypot(pts[:, 0], pts[:, 1]) <= r1
        in2 = np.hypot(pts[:, 0] - d, pts[:, 1]) <= r2
        mc = (2 * r1) ** 2 * np.mean(in1 & in2)
        assert abs(circle_overlap_area(d, r1, r2) - mc) < 0.01 * (2 * r1) ** 2


def test_damage_fraction_bounds() -> None:
    f = damage_fraction(np.array([0.0, 500.0, 5000.0]), 1000.0, 100.0)
    np.testing.assert_allclose(f, [0.01, 0.01, 0.0])
    assert damage_fraction(0.0, 50.0, 100.0) == 1.0
