"""One contract per role (core.roles), run on every component the factory registers for it
(as scikit-learn's ``parametrize_with_checks``): output shapes and dtypes, determinism under a
seed, no mutation of the inputs, picklable, and -- for the roles that act on tracks (threat
evaluator, assigner, fire control) -- signatures that admit no truth table."""

from __future__ import annotations

import copy
import inspect
import pickle
import sys
import typing
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from shieldwall.c2.types import AssetTable, Assignments, ThreatAssessment, TrackPicture
from shieldwall.core import roles
from shieldwall.core.types import ThreatClass
from shieldwall.core.vocabulary import SENSOR_CATALOG_SECTIONS
from shieldwall.engine import build_world
from shieldwall.engine.factory import NAMES, REGISTRY, build, check_registry
from shieldwall.scenario import load_scenario_text
from shieldwall.sensors import Detections

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_c2 import assessment, candidates  # noqa: E402
from tiny_scenario import tiny_document  # noqa: E402

BAL, DRO = ThreatClass.BALLISTIC, ThreatClass.DRONE


@pytest.fixture(scope="module")
def world() -> Any:
    return build_world(load_scenario_text(yaml.safe_dump(tiny_document()), name="tiny.yaml"))


def registered(role: str) -> list[tuple[str, str]]:
    return [(role, name) for name in REGISTRY[role]]


def component(role: str, name: str, world: Any) -> Any:
    """The registered component; a sensor kind is placed at the first asset with the first
    record of its catalog section (the tiny world has radars only)."""
    if role != "sensor":
        return build(role, name, world)
    kind = REGISTRY["sensor"][name]
    records = getattr(world.catalog, SENSOR_CATALOG_SECTIONS[name])
    lat, lon = world.asset_lat_lon[0]
    site = kind.site(7, f"contract-{name}", next(iter(records.values())), float(lat),
                     float(lon), 0.0, 0.0)
    return [kind.detector(site)]


ALL = [rn for role in REGISTRY for rn in registered(role)]


def _snapshot(*objs: Any) -> list[Any]:
    return [copy.deepcopy(o) for o in objs]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and bool(
            np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))
    if hasattr(a, "__dataclass_fields__"):
        return all(_same(getattr(a, f), getattr(b, f)) for f in a.__dataclass_fields__)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def test_registry_names_are_the_vocabulary() -> None:
    assert set(REGISTRY) == set(NAMES) == set(roles.ROLES)
    for role, names in NAMES.items():
        assert tuple(REGISTRY[role]) == names, role


def test_a_name_registered_without_its_vocabulary_entry_is_refused(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(REGISTRY, "lethality", {**REGISTRY["lethality"], "laser": lambda w: 0})
    with pytest.raises(AssertionError, match="core/vocabulary.py"):
        check_registry()


@pytest.mark.parametrize(("role", "name"), ALL)
def test_component_plays_its_role_and_pickles(world: Any, role: str, name: str) -> None:
    comp = component(role, name, world)
    items = comp if isinstance(comp, list) else [comp]
    assert items, "a registered builder gives at least one component"
    for c in items:
        assert isinstance(c, roles.ROLES[role]), (role, name, type(c))
        again = pickle.loads(pickle.dumps(c))
        assert type(again) is type(c)


# ------------------------------------------------------------------- truth never seen
TRACK_ROLES = ("threat_evaluator", "assigner", "fire_control")
VERB = {"threat_evaluator": "evaluate", "assigner": "assign", "fire_control": "guide"}


@pytest.mark.parametrize(("role", "name"), [rn for r in TRACK_ROLES for rn in registered(r)])
def test_track_roles_admit_no_truth(world: Any, role: str, name: str) -> None:
    comp = build(role, name, world)
    for fn in (getattr(comp, VERB[role]), getattr(roles.ROLES[role], VERB[role])):
        sig = inspect.signature(fn)
        hints = typing.get_type_hints(fn) if fn.__module__ != "shieldwall.core.roles" else {}
        for p in sig.parameters.values():
            assert "truth" not in p.name.lower(), (role, name, p.name)
            text = str(hints.get(p.name, p.annotation))
            assert "Truth" not in text and "ThreatPlan" not in text, (role, name, p.name)
    # The component's module does not import the truth layers either.
    mod = sys.modules[type(comp).__module__]
    for dep in ("shieldwall.threats", "shieldwall.sensors"):
        assert not any(getattr(v, "__module__", "").startswith(dep)
                       for v in vars(mod).values() if inspect.isclass(v) or inspect.isfunction(v))


# ------------------------------------------------------------------- assigner contract
def _instance() -> tuple[Any, Any, np.ndarray, np.ndarray, np.ndarray]:
    a = assessment([10.0, 10.0, 3.0], [BAL, BAL, DRO])
    c = candidates([(0, 0, 0, 0.9), (1, 0, 0, 0.8), (0, 1, 1, 0.85), (1, 1, 1, 0.1),
                    (2, 1, 1, 0.6)])
    return a, c, np.array([[4, 0], [0, 4]]), np.array([2, 2]), np.zeros(3, np.int64)


@pytest.mark.parametrize(("role", "name"), registered("assigner"))
def test_assigner_contract(world: Any, role: str, name: str) -> None:
    comp = build(role, name, world)
    a, c, rounds, free, engaged = _instance()
    before = _snapshot(a, c, rounds, free, engaged)
    out = comp.assign(c, a, rounds, free, engaged, 0.0)
    assert _same(before, [a, c, rounds, free, engaged]), "inputs were modified"
    assert isinstance(out, Assignments)
    e = len(out)
    for col in ("track_slot", "track_id", "unit", "interceptor_type", "n_rounds"):
        assert getattr(out, col).shape == (e,) and getattr(out, col).dtype == np.int64, col
    assert out.pip_ecef.shape == (e, 3) and len(out.reason) == e
    assert out.rounds_after.shape == rounds.shape and (out.rounds_after >= 0).all()
    np.testing.assert_array_equal(
        rounds - out.rounds_after,
        np.bincount(out.unit * 2 + out.interceptor_type, weights=out.n_rounds,
                    minlength=4).reshape(2, 2).astype(int))
    assert len(set(out.track_slot.tolist())) == e, "one engagement per track per cycle"
    assert set(out.unengaged_slot.tolist()).isdisjoint(out.track_slot.tolist())
    again = comp.assign(c, a, rounds, free, engaged, 0.0)
    assert _same(out, again), "not deterministic"


# ------------------------------------------------------------------- threat evaluator
@pytest.mark.parametrize(("role", "name"), registered("threat_evaluator"))
def test_threat_evaluator_contract(world: Any, role: str, name: str) -> None:
    comp = build(role, name, world)
    a = world.assets
    # Two tracks diving on the first asset, one flying away.
    up = a.pos_ecef[0] / np.linalg.norm(a.pos_ecef[0])
    pos = np.stack([a.pos_ecef[0] + up * 30e3, a.pos_ecef[0] + up * 20e3 + 1e4,
                    a.pos_ecef[0] + up * 5e3 + 4e4])
    vel = np.stack([-up * 1500.0, -up * 1200.0, up * 200.0])
    pic = TrackPicture(track_id=np.array([7, 8, 9]), pos_ecef=pos, vel_ecef=vel,
                       pos_sigma_m=np.full(3, 50.0), ballistic=np.array([True, True, False]),
                       time_s=0.0)
    before = _snapshot(pic, a)
    out = comp.evaluate(pic, a, 0.0)
    assert _same(before, [pic, a])
    assert isinstance(out, ThreatAssessment) and len(out) == 3
    assert out.value.shape == (3,) and out.value.dtype.kind == "f" and (out.value >= 0).all()
    assert _same(out, comp.evaluate(pic, a, 0.0))
    assert isinstance(a, AssetTable)


# ------------------------------------------------------------------- fire control
@pytest.mark.parametrize(("role", "name"), registered("fire_control"))
def test_fire_control_contract(world: Any, role: str, name: str) -> None:
    comp = build(role, name, world)
    tracks = build("tracker", "imm", world).new_table()   # no track: dead reckoning only
    tid = np.array([3, 4], np.int64)
    aim = np.array([[1.0e6, 2.0e6, 3.0e6], [4.0e6, 5.0e6, 6.0e6]])
    aim_v = np.array([[10.0, 0.0, 0.0], [0.0, -20.0, 0.0]])
    before = _snapshot(tid, aim, aim_v)
    new_tid, new_aim, new_v = comp.guide(tracks, tid, aim, aim_v, 5.0, 0.5)
    assert _same(before, [tid, aim, aim_v])
    assert new_tid.shape == (2,) and new_aim.shape == (2, 3) and new_v.shape == (2, 3)
    np.testing.assert_allclose(new_aim, aim + aim_v * 0.5)   # dead-reckoned commanded point
    assert _same([new_tid, new_aim, new_v], list(comp.guide(tracks, tid, aim, aim_v, 5.0, 0.5)))


# ------------------------------------------------------------------- lethality, damage
@pytest.mark.parametrize(("role", "name"), registered("lethality"))
def test_lethality_contract(world: Any, role: str, name: str) -> None:
    comp = build(role, name, world)
    miss = np.array([0.0, 1.0, 5.0, 50.0, 1e4, np.nan])
    types = np.zeros(6, np.int64)
    before = _snapshot(miss, types)
    pk, kill = comp.resolve(miss, types, np.random.default_rng(3))
    assert _same(before, [miss, types])
    assert pk.shape == kill.shape == (6,) and kill.dtype == bool
    assert ((pk >= 0) & (pk <= 1)).all() and pk[-1] == 0 and not kill[-1]
    pk2, kill2 = comp.resolve(miss, types, np.random.default_rng(3))
    assert _same([pk, kill], [pk2, kill2])


@pytest.mark.parametrize(("role", "name"), registered("damage"))
def test_damage_contract(world: Any, role: str, name: str) -> None:
    comp = build(role, name, world)
    table = world.components
    impact = world.assets.pos_ecef[0].copy()
    state = np.linspace(1.0, 0.5, len(table))
    before = _snapshot(impact, state, table.pos_ecef, table.radius_m, table.multiplier)
    new = comp.assess(impact, 1.0e9, table, state, np.random.default_rng(3))
    assert _same(before, [impact, state, table.pos_ecef, table.radius_m, table.multiplier])
    assert new.shape == (len(table),) and new.dtype == float
    np.testing.assert_allclose(new, 0.0, atol=1e-12)   # a huge warhead destroys everything
    same = comp.assess(impact, 0.0, table, state, np.random.default_rng(3))
    np.testing.assert_array_equal(same, state)          # no warhead, no damage
    # determinism, states never rise, and a fixed number of draws per call
    r1, r2 = np.random.default_rng(9), np.random.default_rng(9)
    a = comp.assess(impact, 40.0, table, state, r1)
    b = comp.assess(impact, 40.0, table, state, r2)
    assert _same([a], [b]) and (a <= state).all() and (a >= 0).all()
    far = impact + 1e5
    comp.assess(far, 40.0, table, state, r2)
    comp.assess(impact, 40.0, table, state, r1)
    assert r1.random() == r2.random()


# ------------------------------------------------------------------- sensors
@pytest.mark.parametrize(("role", "name"), registered("sensor"))
def test_sensor_contract(world: Any, role: str, name: str) -> None:
    (comp,) = component(role, name, world)
    site = comp.site
    up = site.origin_ecef / np.linalg.norm(site.origin_ecef)
    east = np.cross([0.0, 0.0, 1.0], up)
    north = np.cross(up, east / np.linalg.norm(east))
    # three close targets 2-4 km north (inside every sector, heading 0), 500 m up; one dead;
    # one on the far side of the earth
    pos = np.stack([site.origin_ecef + up * 500.0 + north * d for d in (2e3, 4e3, 3e3)]
                   + [site.origin_ecef + up * 1500.0, -site.origin_ecef])
    vel = np.tile([100.0, 0.0, 0.0], (5, 1))
    rcs = np.full(5, 5.0)
    sw = np.ones(5, np.int64)
    alive = np.array([True, True, True, False, True])
    before = _snapshot(pos, vel, rcs, sw, alive)
    out = comp.detect(pos, vel, rcs, sw, alive, 3.0, np.random.default_rng(5))
    assert _same(before, [pos, vel, rcs, sw, alive]), "inputs were modified"
    assert isinstance(out, Detections)
    assert out.truth_index.dtype == np.int64 and out.sensor_id.dtype == np.int64
    assert (out.sensor_id == site.sensor_id).all() and (out.time_s == 3.0).all()
    real = out.truth_index[out.truth_index >= 0]
    assert set(real.tolist()) <= {0, 1, 2}, "dead or hidden targets were detected"
    assert np.isfinite(out.azimuth_rad).all() and np.isfinite(out.elevation_rad).all()
    assert ((out.azimuth_rad >= 0) & (out.azimuth_rad < 2 * np.pi)).all()
    if comp.measures_range:
        assert np.isfinite(out.range_m).all()
    else:
        assert np.isnan(out.range_m).all() and np.isnan(out.range_rate_mps).all()
    again = comp.detect(pos, vel, rcs, sw, alive, 3.0, np.random.default_rng(5))
    assert _same(out, again), "not deterministic"
    vis = comp.visible(pos)
    assert vis.shape == (5,) and vis.dtype == bool
    assert vis[:3].all() and not vis[4]
    assert comp.scan_period_s > 0


# ------------------------------------------------------------------- gun acquisition
@pytest.mark.parametrize(("role", "name"), registered("gun"))
def test_gun_contract(world: Any, role: str, name: str) -> None:
    comp = build(role, name, world)
    aim = world.assets.pos_ecef[:1] + np.array([[0.0, 0.0, 2000.0]])
    burst = np.concatenate([aim - [[0.0, 0.0, 300.0]], aim - [[0.0, 0.0, 9e4]]])
    aims = np.concatenate([aim, aim])
    vel = np.tile([0.0, 0.0, 800.0], (2, 1))
    targets = np.concatenate([aim + [[0.0, 0.0, 200.0]], aim + [[0.0, 0.0, -5000.0]]])
    alive = np.array([True, True])
    before = _snapshot(burst, vel, aims, targets, alive)
    got = comp.acquire(burst, vel, aims, targets, alive)
    assert _same(before, [burst, vel, aims, targets, alive])
    assert got.shape == (2,) and got.dtype == np.int64
    assert got.tolist() == [0, -1]    # the near burst takes the object ahead; the far none
    assert comp.acquire(burst, vel, aims, targets, np.array([False, True])).tolist() == [-1, -1]
    assert _same(got, comp.acquire(burst, vel, aims, targets, alive))

