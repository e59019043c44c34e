"""Functional damage (engine.damage): component kills against closed forms and Monte Carlo,
the function rules, blast scaling, and the engine's damage outputs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate

from shieldwall import geo
from shieldwall.catalog import load_catalog
from shieldwall.catalog.types import AssetComponent, AssetTemplate, ComponentGroup
from shieldwall.core.vocabulary import EventKind
from shieldwall.engine.damage import (
    REFERENCE_OVERPRESSURE_PA,
    CarletonDamage,
    CookieCutterDamage,
    asset_function,
    build_component_table,
    carleton_area_fraction,
    circle_overlap_area,
    damage_fraction,
    kinney_graham_ratio,
    p_kill_carleton_cep,
    p_kill_cookie_cutter_cep,
    radius_multiplier,
    scaled_distance,
)
from shieldwall.threats.raid import dispersion_offsets_m

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tiny_scenario import tiny_document  # noqa: E402

LAT, LON = 45.03, -39.70
CAT = load_catalog()


def table_for(kind: str, templates: dict[str, AssetTemplate] | None = None,
              radius_m: float = 300.0):
    return build_component_table([kind], np.array([LAT]), np.array([LON]), np.zeros(1),
                                 np.array([radius_m]), templates or CAT.asset_templates)


def point_at(east_m: float, north_m: float) -> np.ndarray:
    """ECEF of a ground point east/north of (LAT, LON)."""
    origin = geo.geodetic2ecef(LAT, LON, 0.0).reshape(3)
    return origin + geo.enu_rotation(LAT, LON).T @ np.array([east_m, north_m, 0.0])


def single(kind: str, radius_m: float, overpressure_pa: float = REFERENCE_OVERPRESSURE_PA):
    tpl = AssetTemplate(name="one", label="one", reference_radius_m=1.0,
                        groups=(ComponentGroup(name="g", rule="capacity"),),
                        components=(AssetComponent(name="c", role="c", kind=kind, group="g",
                                                   east_m=0.0, north_m=0.0, radius_m=radius_m,
                                                   overpressure_pa=overpressure_pa),))
    return table_for("one", {"one": tpl})


# ------------------------------------------------------------------ geometry and blast
def test_overlap_limits_and_monte_carlo() -> None:
    assert circle_overlap_area(10.0, 1.0, 2.0) == 0.0
    assert np.isclose(circle_overlap_area(0.5, 1.0, 3.0), np.pi)
    rng = np.random.default_rng(0)
    n = 200_000
    for d, r1, r2 in [(1.0, 1.0, 1.0), (2.5, 2.0, 1.0), (0.7, 1.5, 0.4)]:
        pts = rng.uniform(-r1, r1, (n, 2))
        inside = (np.hypot(*pts.T) <= r1) & (np.hypot(pts[:, 0] - d, pts[:, 1]) <= r2)
        assert abs(circle_overlap_area(d, r1, r2) - (2 * r1) ** 2 * inside.mean()) \
            < 0.01 * (2 * r1) ** 2
    np.testing.assert_allclose(damage_fraction(np.array([0.0, 5000.0]), 1000.0, 100.0),
                               [0.01, 0.0])


def test_blast_scaling() -> None:
    # Kinney & Graham's fit: 808 at z -> 0 is not reached, but it is monotone decreasing and
    # the inversion returns the pressure asked for
    z = np.geomspace(0.1, 200.0, 400)
    ratio = kinney_graham_ratio(z)
    assert (np.diff(ratio) < 0).all()
    dp = np.array([7e3, 14e3, 34.5e3, 70e3, 2e5, 1e6])
    np.testing.assert_allclose(kinney_graham_ratio(scaled_distance(dp)) * 101_325.0, dp,
                               rtol=1e-9)
    assert radius_multiplier(REFERENCE_OVERPRESSURE_PA) == pytest.approx(1.0, abs=1e-12)
    # 5 psi at ~4.5 m/kg^1/3 (free air, TNT): the familiar textbook figure (~11 ft/lb^1/3
    # for a surface burst of twice the charge is ~4.4-4.6 m/kg^1/3)
    assert 4.2 < float(scaled_distance(REFERENCE_OVERPRESSURE_PA)) < 4.8
    # softer components have larger lethal radii
    assert radius_multiplier(14e3) > 1.5 > radius_multiplier(70e3) * 2


# ------------------------------------------------------------------ the substation
@pytest.mark.parametrize("model", [CookieCutterDamage(), CarletonDamage()])
def test_large_warhead_on_the_yard_and_2_km_away(model) -> None:
    tab = table_for("substation")
    ones = np.ones(len(tab))
    rng = np.random.default_rng(1)
    # a Kh-22-class warhead (5-psi radius 60 m) on the centre transformer
    hit = model.assess(point_at(0.0, 0.0), 60.0, tab, ones, rng)
    names = dict(zip(tab.name, hit, strict=True))
    assert names["at-2"] == 0.0
    if isinstance(model, CookieCutterDamage):
        assert all(names[n] == 0.0 for n in ("at-1", "at-2", "at-3"))
        assert asset_function(tab, hit)[0] == 0.0
    far = model.assess(point_at(2000.0, 0.0), 60.0, tab, ones, rng)
    np.testing.assert_array_equal(far, ones)
    assert asset_function(tab, far)[0] == 1.0


def test_carleton_substation_kill_probability_vs_independent_components() -> None:
    """Carleton on the yard: the Monte Carlo frequency of 'substation out' equals the
    probability from the components' independent kill probabilities and the rules
    (N-1 transformers, one of two bus sections, control in series)."""
    tab = table_for("substation")
    model = CarletonDamage()
    impact = point_at(10.0, 20.0)
    d = np.linalg.norm(tab.pos_ecef - impact, axis=1)
    pk = np.exp(-(d / (60.0 * tab.multiplier + tab.radius_m)) ** 2)
    p = dict(zip(tab.name, pk, strict=True))
    survive = (1 - p["at-1"] * p["at-2"] * p["at-3"]) * (1 - p["bus-a"] * p["bus-b"]) \
        * (1 - p["control-building"])
    # transformers: two of three out -> half capacity; expected function by enumeration
    rng = np.random.default_rng(5)
    n = 3000
    out = np.array([asset_function(tab, model.assess(impact, 60.0, tab, np.ones(len(tab)),
                                                     rng))[0] for _ in range(n)])
    p_out = 1.0 - survive
    se = np.sqrt(p_out * (1 - p_out) / n)
    assert abs(np.mean(out == 0.0) - p_out) < 4 * se + 1e-3


def test_function_rules() -> None:
    sub = table_for("substation")
    idx = {n: i for i, n in enumerate(sub.name)}

    def f(table, killed: list[str], index) -> float:
        s = np.ones(len(table))
        s[[index[k] for k in killed]] = 0.0
        return float(asset_function(table, s)[0])

    assert f(sub, ["at-1"], idx) == 1.0                 # N-1: the first loss costs nothing
    assert f(sub, ["at-1", "at-3"], idx) == 0.5
    assert f(sub, ["at-1", "at-2", "at-3"], idx) == 0.0
    assert f(sub, ["bus-a"], idx) == 1.0 and f(sub, ["bus-a", "bus-b"], idx) == 0.0
    assert f(sub, ["control-building"], idx) == 0.0
    plant = table_for("power_plant", radius_m=800.0)
    pidx = {n: i for i, n in enumerate(plant.name)}
    assert f(plant, ["gsu-1"], pidx) == 0.75            # unit train: generator + GSU in series
    assert f(plant, ["gsu-1", "unit-1"], pidx) == 0.75
    assert f(plant, ["gsu-1", "unit-2"], pidx) == 0.5
    city = table_for("city", radius_m=6000.0)            # scaled with the radius
    cidx = {n: i for i, n in enumerate(city.name)}
    assert f(city, ["centre"], cidx) == pytest.approx(0.75)
    assert city.radius_m[cidx["centre"]] == pytest.approx(2400.0)


# ------------------------------------------------------------------ CEP: closed forms vs draws
@pytest.mark.parametrize("offset_m", [0.0, 25.0, 60.0])
def test_cookie_cutter_under_cep_vs_offset_circle(offset_m: float) -> None:
    """Expected kill of a point component by the cookie cutter, impacts drawn with the
    engine's dispersion (threats.raid) about an aim point offset_m away = the offset-circle
    probability (non-central chi-square / Marcum Q)."""
    tab = single("point", 5.0)
    model = CookieCutterDamage()
    cep, r5 = 30.0, 40.0
    rng = np.random.default_rng(11)
    n = 4000
    off = dispersion_offsets_m(n, cep, rng)
    kills = sum(model.assess(point_at(offset_m + e, nn), r5, tab, np.ones(1), rng)[0] == 0.0
                for e, nn in off)
    ref = float(p_kill_cookie_cutter_cep(offset_m, r5 + 5.0, cep))
    assert abs(kills / n - ref) < 4 * np.sqrt(ref * (1 - ref) / n) + 2e-3
    # the closed form against a direct 2-D quadrature of the circular normal over the disc
    s = cep / 1.1774100225154747
    quad = integrate.dblquad(
        lambda r, th: r * np.exp(-((r * np.cos(th) - offset_m) ** 2
                                   + (r * np.sin(th)) ** 2) / (2 * s * s)) / (2 * np.pi * s * s),
        0, 2 * np.pi, 0, r5 + 5.0)[0]
    assert ref == pytest.approx(quad, abs=1e-6)


def test_carleton_under_cep_vs_closed_form() -> None:
    tab = single("point", 5.0)
    model = CarletonDamage()
    cep, r5 = 30.0, 40.0
    rng = np.random.default_rng(12)
    n = 4000
    for offset_m in (0.0, 50.0):
        off = dispersion_offsets_m(n, cep, rng)
        kills = sum(model.assess(point_at(offset_m + e, nn), r5, tab, np.ones(1), rng)[0] == 0
                    for e, nn in off)
        ref = float(p_kill_carleton_cep(offset_m, r5 + 5.0, cep))
        assert abs(kills / n - ref) < 4 * np.sqrt(ref * (1 - ref) / n) + 2e-3


@pytest.mark.parametrize(("d", "a", "r"), [(0.0, 100.0, 40.0), (80.0, 50.0, 40.0),
                                           (300.0, 1000.0, 60.0), (30.0, 5.0, 40.0)])
def test_carleton_area_fraction_vs_quadrature(d: float, a: float, r: float) -> None:
    quad = integrate.dblquad(
        lambda rho, th: rho * np.exp(-((rho * np.cos(th) + d) ** 2 + (rho * np.sin(th)) ** 2)
                                     / r**2), 0, 2 * np.pi, 0, a)[0] / (np.pi * a * a)
    assert float(carleton_area_fraction(d, a, r)) == pytest.approx(quad, rel=1e-6, abs=1e-12)


def test_same_lethal_area_for_the_two_models() -> None:
    # under a CEP much larger than the lethal radius, kill probability -> MAE / (2 pi sigma^2)
    # for both (same lethal area pi R^2)
    r, cep = 20.0, 2000.0
    a = float(p_kill_cookie_cutter_cep(0.0, r, cep))
    b = float(p_kill_carleton_cep(0.0, r, cep))
    assert a == pytest.approx(b, rel=1e-3)


# ------------------------------------------------------------------ invariants
@st.composite
def templates(draw):
    n_groups = draw(st.integers(1, 3))
    groups, comps = [], []
    for g in range(n_groups):
        n_trains = draw(st.integers(1, 4))
        rule = draw(st.sampled_from(["capacity", "k_out_of_n", "weighted"]))
        groups.append(ComponentGroup(name=f"g{g}", rule=rule,
                                     spare=draw(st.integers(0, n_trains - 1)),
                                     k=draw(st.integers(1, n_trains))))
        for t in range(n_trains):
            for c in range(draw(st.integers(1, 2))):
                comps.append(AssetComponent(
                    name=f"c{g}-{t}-{c}", role="x", kind=draw(st.sampled_from(["point", "area"])),
                    group=f"g{g}", train=f"t{g}-{t}", east_m=0.0, north_m=0.0, radius_m=1.0,
                    overpressure_pa=3e4, share=draw(st.floats(0.1, 3.0))))
    return AssetTemplate(name="x", label="x", reference_radius_m=1.0, groups=tuple(groups),
                         components=tuple(comps))


@settings(max_examples=60, deadline=None)
@given(templates(), st.data())
def test_function_is_monotone_and_in_unit_interval(tpl: AssetTemplate, data) -> None:
    tab = table_for("x", {"x": tpl})
    k = len(tab)
    s1 = np.array(data.draw(st.lists(st.floats(0, 1), min_size=k, max_size=k)))
    lower = np.array(data.draw(st.lists(st.floats(0, 1), min_size=k, max_size=k)))
    s0 = s1 * lower                                    # componentwise below s1
    f0, f1 = asset_function(tab, s0)[0], asset_function(tab, s1)[0]
    assert 0.0 <= f0 <= f1 + 1e-12 <= 1.0 + 1e-12
    assert asset_function(tab, np.ones(k))[0] == 1.0
    assert asset_function(tab, np.zeros(k))[0] == 0.0


# ------------------------------------------------------------------ the engine's outputs
def test_engine_summary_and_events_agree() -> None:
    from shieldwall.engine import simulate
    from shieldwall.scenario import load_scenario_text

    doc = tiny_document()
    doc["batteries"] = []                                # three Iskander-class leak
    doc["raid"]["waves"][0]["targets"] = ["east-substation"]
    sc = load_scenario_text(yaml.safe_dump(doc), name="t.yaml")
    res = simulate(sc, seed=3, record=False)
    dmg = res.summary["asset_damage"]
    sub = dmg["east-substation"]
    assert sub["impacts"] == 3 and sub["template"] == "substation"
    assert sub["function_lost"] == 1.0 and sub["value_lost"] == pytest.approx(15.0)
    total = 0.0
    for d in dmg.values():
        assert d["value_lost"] == pytest.approx(d["function_lost"] * d["value"], abs=1e-9)
        assert d["destroyed"] == [c["name"] for c in d["components"] if c["destroyed"]]
        total += d["value_lost"]
    assert res.summary["value_lost"] == pytest.approx(total)
    ev = res.events
    destroyed = [json.loads(x) for k, x in zip(ev.kind, ev.detail, strict=True)
                 if k == EventKind.COMPONENT_DESTROYED]
    assert sorted(e["component"] for e in destroyed if e["asset"] == "east-substation") \
        == sorted(sub["destroyed"])
    lost = sum(v for k, v in zip(ev.kind, ev.value, strict=True) if k == EventKind.ASSET_DAMAGE)
    assert lost == pytest.approx(res.summary["value_lost"])
