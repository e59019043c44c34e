"""Core pieces: random stream independence, error rendering, the interceptor speed profile."""

from __future__ import annotations

import numpy as np
from scipy.integrate import quad

from shieldwall.catalog.types import Envelope, Interceptor
from shieldwall.core import InputError, component_rng, replication_seed_sequence
from shieldwall.core.types import ThreatClass
from shieldwall.weapons import kinematics


def _interceptor(**kw: float) -> Interceptor:
    base = dict(name="t", label="t", kill_mechanism="hit_to_kill",
                envelopes={ThreatClass.BALLISTIC: Envelope(min_range_m=1e3, max_range_m=4e4,
                                                           min_alt_m=0.0, max_alt_m=2e4)},
                max_speed_mps=1700.0, burn_time_s=6.0, speed_decay_s=40.0, min_speed_mps=400.0,
                max_time_of_flight_s=90.0, max_accel_g=40.0, navigation_ratio=4.0,
                seeker_range_m=5000.0, lethal_radius_m=1.0, pk_max=0.9, unit_cost_usd=4e6)
    base.update(kw)
    return Interceptor(**base)  # type: ignore[arg-type]


def test_streams_are_independent_of_other_components() -> None:
    ss = replication_seed_sequence(7, 3)
    a = component_rng(ss, "threats").random(5)
    _ = component_rng(ss, "radar:ew1").random(5)
    b = component_rng(replication_seed_sequence(7, 3), "threats").random(5)
    c = component_rng(replication_seed_sequence(7, 4), "threats").random(5)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_replication_seed_sequence_matches_design() -> None:
    ss = replication_seed_sequence(11, 5)
    ref = np.random.SeedSequence(11, spawn_key=(5,))
    assert np.array_equal(ss.generate_state(4), ref.generate_state(4))


def test_input_error_names_file_line_field() -> None:
    e = InputError("s.yaml", "expected a number >= 1", field="raid.waves[0].count", line=12)
    assert str(e) == "s.yaml, line 12, field 'raid.waves[0].count': expected a number >= 1"


def test_distance_is_integral_of_speed() -> None:
    it = _interceptor()
    for t in [0.5, 3.0, 6.0, 20.0, 60.0, 89.0]:
        ref, _ = quad(lambda s: float(kinematics.speed_at(it, s)), 0.0, t, limit=200,
                      points=[6.0, 6.0 + 40.0 * np.log(1700 / 400)])
        assert abs(float(kinematics.distance_at(it, t)) - ref) < 1e-6 * max(ref, 1.0)


def test_time_to_distance_inverts_distance() -> None:
    for it in [_interceptor(), _interceptor(burn_time_s=0.0, max_accel_g=0.0)]:
        t = np.linspace(0.01, it.max_time_of_flight_s - 0.01, 200)
        d = kinematics.distance_at(it, t)
        np.testing.assert_allclose(kinematics.time_to_distance(it, d), t, rtol=1e-9, atol=1e-9)
        assert np.isinf(kinematics.time_to_distance(it, kinematics.max_reach_m(it) * 1.01))
