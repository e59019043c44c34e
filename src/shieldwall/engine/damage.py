"""Functional damage to defended assets: warheads kill critical components, the asset's
function follows from its components (docs/models/functional_damage.md).

Each asset is laid out from its kind's component template (``catalog.types.AssetTemplate``):
components at ENU offsets about the asset's position, each with a plan-area radius ``a`` and a
hardness, the peak incident overpressure ``dP_c`` that puts it out of service. A warhead that
reaches the ground at the impact point (drawn with the threat's CEP in
``threats.raid.dispersion_offsets_m``, the one place it is drawn) acts on every component:

Lethal radius (cube-root blast scaling, Hopkinson-Cranz; Kinney & Graham 1985, ch. 6).
    The threat's ``lethal_radius_m`` ``R_5`` is read as its radius of ``dP_ref`` = 34.5 kPa
    (5 psi, the severe-damage pressure of built-up structures, Glasstone & Dolan 1977, ch. V).
    With ``R = Z(dP) W^(1/3)`` the charge ``W`` cancels, so a component of hardness ``dP_c``
    has the lethal radius ``R_c = R_5 Z(dP_c) / Z(dP_ref)``, ``Z`` the scaled distance
    (m kg^-1/3) of Kinney & Graham's TNT overpressure fit, inverted numerically.

Kill of a point component at distance ``d`` from its centre (Driels, *Weaponeering*, 2nd ed.,
AIAA 2013, ch. 12-13: damage functions). The effective radius is ``R_e = R_c + a`` (a hit
kills when the burst is within ``R_c`` of any part of the component: the Minkowski sum).
    - cookie cutter: killed iff ``d <= R_e``;
    - Carleton: ``P_k = exp(-d^2 / R_e^2)``, one uniform draw per component and impact. Its
      lethal area ``integral P_k dA = pi R_e^2`` equals the cookie cutter's (same MAE).

Area components (city districts) lose the fraction of their disc inside the lethal radius:
    - cookie cutter: the lens area ``A(d; a, R_c) / (pi a^2)`` (two-circle intersection);
    - Carleton: the disc average of ``exp(-r^2/R_c^2)``,
      ``(R_c^2 / a^2) F_ncx2(2 a^2 / R_c^2; 2, 2 d^2 / R_c^2)`` (the Gaussian integral over an
      offset disc, a non-central chi-square / Marcum-Q probability);
    and damage compounds on what is left, ``s <- s (1 - f)``.

Function: components sharing a ``train`` are in series (train state = product of states);
each group's capacity follows its rule (``ComponentGroup``: capacity share with N-k spares,
k-out-of-n, population-weighted); the asset's function is the product of its groups'
capacities, and ``value lost = (1 - function) x value``. Each step is monotone in the
component states, so the function is monotone and in [0, 1].

Closed forms under a circular-normal delivery error about an aim point offset ``d`` from a
point component (``sigma = CEP / 1.1774``): cookie cutter ``P = F_ncx2(R^2/sigma^2; 2,
d^2/sigma^2) = 1 - Q_1(d/sigma, R/sigma)`` (Marcum Q); Carleton
``P = R^2 / (R^2 + 2 sigma^2) exp(-d^2 / (R^2 + 2 sigma^2))`` (Driels ch. 13). The reference
check ``analysis/validation/checks/component_kill.py`` compares them with the engine's draws.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import ncx2

from shieldwall import geo
from shieldwall.catalog.types import AssetComponent, AssetTemplate, ComponentGroup
from shieldwall.core.types import BoolArray, FloatArray, IntArray
from shieldwall.threats.raid import CEP_TO_SIGMA

#: Overpressure at which a threat's ``lethal_radius_m`` is defined: 5 psi (Pa).
REFERENCE_OVERPRESSURE_PA = 5.0 * 6894.757
#: Sea-level ambient pressure (Pa) of the Kinney-Graham fit.
AMBIENT_PRESSURE_PA = 101_325.0

#: Group rules (``ComponentGroup.rule``) as codes of the compiled tables.
RULES: tuple[str, ...] = ("capacity", "k_out_of_n", "weighted")


# ----------------------------------------------------------------------------- blast scaling
def kinney_graham_ratio(z: FloatArray | float) -> FloatArray:
    """Peak incident overpressure over ambient, ``dP / P0``, of a TNT free-air burst at scaled
    distance ``z = R / W^(1/3)`` (m kg^-1/3), Kinney & Graham (1985):
    ``808 [1 + (z/4.5)^2] / sqrt([1 + (z/0.048)^2][1 + (z/0.32)^2][1 + (z/1.35)^2])``.
    Monotone decreasing in ``z``."""
    z = np.asarray(z, float)
    return np.asarray(808.0 * (1.0 + (z / 4.5) ** 2) / np.sqrt(
        (1.0 + (z / 0.048) ** 2) * (1.0 + (z / 0.32) ** 2) * (1.0 + (z / 1.35) ** 2)))


def scaled_distance(overpressure_pa: FloatArray | float) -> FloatArray:
    """Scaled distance ``z`` (m kg^-1/3) at which the Kinney-Graham overpressure equals
    ``overpressure_pa`` (bisection in log z over [0.05, 1000], 60 halvings: relative error
    below 1e-15 of the bracket)."""
    target = np.asarray(overpressure_pa, float) / AMBIENT_PRESSURE_PA
    lo = np.full(target.shape, np.log(0.05))
    hi = np.full(target.shape, np.log(1000.0))
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        above = kinney_graham_ratio(np.exp(mid)) > target   # still too close: go further out
        lo = np.where(above, mid, lo)
        hi = np.where(above, hi, mid)
    return np.asarray(np.exp(0.5 * (lo + hi)))


def radius_multiplier(overpressure_pa: FloatArray | float) -> FloatArray:
    """Lethal radius against a component of hardness ``overpressure_pa`` over the threat's
    5-psi lethal radius: ``Z(dP_c) / Z(dP_ref)`` (the charge mass cancels under cube-root
    scaling, and so does a ground-reflection factor)."""
    return np.asarray(scaled_distance(overpressure_pa)
                      / scaled_distance(REFERENCE_OVERPRESSURE_PA))


# ----------------------------------------------------------------------------- kernels
def circle_overlap_area(d: FloatArray, r1: FloatArray, r2: FloatArray) -> FloatArray:
    """Area of the intersection of two discs of radii ``r1``, ``r2`` whose centres are ``d``
    apart (broadcasting). Exact: 0 when apart, ``pi min(r)^2`` when one contains the other."""
    d, r1, r2 = np.broadcast_arrays(np.asarray(d, float), np.asarray(r1, float),
                                    np.asarray(r2, float))
    out = np.zeros(d.shape)
    rmin = np.minimum(r1, r2)
    inside = d <= np.abs(r1 - r2)
    out[inside] = np.pi * rmin[inside] ** 2
    lens = (~inside) & (d < r1 + r2) & (d > 0)
    if np.any(lens):
        dd, a, b = d[lens], r1[lens], r2[lens]
        c1 = np.clip((dd**2 + a**2 - b**2) / (2 * dd * a), -1.0, 1.0)
        c2 = np.clip((dd**2 + b**2 - a**2) / (2 * dd * b), -1.0, 1.0)
        k = (-dd + a + b) * (dd + a - b) * (dd - a + b) * (dd + a + b)
        out[lens] = a**2 * np.arccos(c1) + b**2 * np.arccos(c2) - 0.5 * np.sqrt(np.clip(k, 0, None))
    return out


def damage_fraction(ground_distance_m: FloatArray, asset_radius_m: FloatArray,
                    lethal_radius_m: float | FloatArray) -> FloatArray:
    """Cookie cutter on an area: fraction of a disc of radius ``asset_radius_m`` inside the
    lethal radius of a burst ``ground_distance_m`` from its centre (0..1)."""
    area = circle_overlap_area(ground_distance_m, asset_radius_m,
                               np.asarray(lethal_radius_m, float))
    return np.clip(area / (np.pi * np.asarray(asset_radius_m, float) ** 2), 0.0, 1.0)


def carleton_pk(distance_m: FloatArray, radius_m: FloatArray) -> FloatArray:
    """Carleton damage function ``exp(-d^2 / R^2)`` of a circular point target: lethal area
    ``pi R^2`` (``R`` = the equal-area cookie cutter's radius). ``R = 0`` gives 0."""
    d = np.asarray(distance_m, float)
    r = np.asarray(radius_m, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.exp(-(d * d) / (r * r))
    return np.asarray(np.where(r > 0, out, 0.0))


def carleton_area_fraction(distance_m: FloatArray, area_radius_m: FloatArray,
                           lethal_radius_m: FloatArray) -> FloatArray:
    """Mean of the Carleton function ``exp(-r^2/R^2)`` over a disc of radius ``a`` whose centre
    is ``d`` from the burst: ``(R^2/a^2) F_ncx2(2 a^2/R^2; 2, 2 d^2/R^2)`` (the integrand is
    ``pi R^2`` times a circular normal density of variance ``R^2/2`` per axis)."""
    d, a, r = np.broadcast_arrays(np.asarray(distance_m, float),
                                  np.asarray(area_radius_m, float),
                                  np.asarray(lethal_radius_m, float))
    out = np.zeros(d.shape)
    ok = r > 0
    if np.any(ok):
        rr = r[ok] ** 2
        out[ok] = rr / a[ok] ** 2 * ncx2.cdf(2.0 * a[ok] ** 2 / rr, 2, 2.0 * d[ok] ** 2 / rr)
    return np.clip(out, 0.0, 1.0)


def p_kill_cookie_cutter_cep(offset_m: FloatArray, radius_m: float, cep_m: float) -> FloatArray:
    """Single-shot kill probability of a cookie cutter of radius ``R`` against a point aimed
    ``offset_m`` from it with circular-normal error of ``cep_m``: the offset-circle
    probability ``F_ncx2(R^2/sigma^2; 2, d^2/sigma^2) = 1 - Q_1(d/sigma, R/sigma)``."""
    s = cep_m * CEP_TO_SIGMA
    d = np.asarray(offset_m, float)
    return np.asarray(ncx2.cdf(radius_m**2 / s**2, 2, d * d / s**2))


def p_kill_carleton_cep(offset_m: FloatArray, radius_m: float, cep_m: float) -> FloatArray:
    """Single-shot kill probability of the Carleton function of radius ``R`` under a
    circular-normal error of ``cep_m`` about an aim point ``offset_m`` away:
    ``R^2/(R^2 + 2 sigma^2) exp(-d^2/(R^2 + 2 sigma^2))``."""
    s2 = (cep_m * CEP_TO_SIGMA) ** 2
    d = np.asarray(offset_m, float)
    q = radius_m**2 + 2.0 * s2
    return np.asarray(radius_m**2 / q * np.exp(-d * d / q))


# ----------------------------------------------------------------------------- the table
@dataclass(frozen=True)
class ComponentTable:
    """Every component of every asset of a run (k components, m trains, g groups).

    Attributes
    ----------
    asset : (k,) asset index of each component
    name, role : (k,) component name and role (template)
    point : (k,) bool, point component (killed or not) / area component (fractional)
    pos_ecef : (k, 3) ECEF position of its centre (m)
    radius_m : (k,) plan-area radius (m), scaled for ``scales_with_radius`` templates
    multiplier : (k,) lethal radius over the threat's 5-psi radius (``radius_multiplier``)
    train : (k,) train index; ``train_group`` (m,) its group, ``train_share`` (m,) its weight
    group_asset, group_rule, group_spare, group_k : (g,) the group's asset, rule code (index of
    ``RULES``), spares, k; ``group_trains`` (g,) trains in the group; ``group_name`` (g,)
    template : per asset, the template name used (its kind, or ``"default"``)
    """

    asset: IntArray
    name: tuple[str, ...]
    role: tuple[str, ...]
    point: BoolArray
    pos_ecef: FloatArray
    radius_m: FloatArray
    multiplier: FloatArray
    train: IntArray
    train_group: IntArray
    train_share: FloatArray
    group_asset: IntArray
    group_rule: IntArray
    group_spare: IntArray
    group_k: IntArray
    group_trains: IntArray
    group_name: tuple[str, ...]
    template: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.name)

    @property
    def n_assets(self) -> int:
        return len(self.template)


def default_template(radius_m: float) -> AssetTemplate:
    """An asset kind without a catalog template: one area component of the asset's footprint
    at the 5-psi hardness (the disc-overlap damage of a uniformly spread value)."""
    return AssetTemplate(
        name="default", label="one area", reference_radius_m=radius_m,
        groups=(ComponentGroup(name="area", rule="weighted"),),
        components=(AssetComponent(name="area", role="area", kind="area", group="area",
                                   east_m=0.0, north_m=0.0, radius_m=radius_m,
                                   overpressure_pa=REFERENCE_OVERPRESSURE_PA),))


def build_component_table(kinds: Sequence[str], lat_deg: FloatArray, lon_deg: FloatArray,
                          alt_m: FloatArray, radius_m: FloatArray,
                          templates: Mapping[str, AssetTemplate]) -> ComponentTable:
    """Lay out every asset's components from its kind's template (``default_template`` when
    the catalog has none). Offsets are local ENU at the asset; templates with
    ``scales_with_radius`` are scaled by ``radius_m / reference_radius_m``."""
    asset: list[int] = []
    names: list[str] = []
    roles_: list[str] = []
    point: list[bool] = []
    pos: list[FloatArray] = []
    rad: list[float] = []
    hard: list[float] = []
    train: list[int] = []
    train_group: list[int] = []
    train_share: list[float] = []
    g_asset: list[int] = []
    g_rule: list[int] = []
    g_spare: list[int] = []
    g_k: list[int] = []
    g_trains: list[int] = []
    g_name: list[str] = []
    used: list[str] = []
    for j, kind in enumerate(kinds):
        tpl = templates.get(str(kind)) or default_template(float(radius_m[j]))
        used.append(tpl.name if str(kind) in templates else "default")
        scale = float(radius_m[j]) / tpl.reference_radius_m if tpl.scales_with_radius else 1.0
        origin = geo.geodetic2ecef(lat_deg[j], lon_deg[j], alt_m[j]).reshape(3)
        rot = geo.enu_rotation(float(lat_deg[j]), float(lon_deg[j]))
        group_index: dict[str, int] = {}
        for g in tpl.groups:
            group_index[g.name] = len(g_asset)
            g_asset.append(j)
            g_rule.append(RULES.index(g.rule))
            g_spare.append(g.spare)
            g_k.append(g.k)
            g_trains.append(0)
            g_name.append(g.name)
        train_index: dict[str, int] = {}
        for c in tpl.components:
            key = c.train or c.name
            if key not in train_index:
                train_index[key] = len(train_group)
                train_group.append(group_index[c.group])
                train_share.append(0.0)
                g_trains[group_index[c.group]] += 1
            t = train_index[key]
            train_share[t] += c.share
            asset.append(j)
            names.append(c.name)
            roles_.append(c.role)
            point.append(c.kind == "point")
            pos.append(origin + rot.T @ np.array([c.east_m * scale, c.north_m * scale, 0.0]))
            rad.append(c.radius_m * scale)
            hard.append(c.overpressure_pa)
            train.append(t)
    return ComponentTable(
        asset=np.asarray(asset, np.int64), name=tuple(names), role=tuple(roles_),
        point=np.asarray(point, bool), pos_ecef=np.asarray(pos, float).reshape(-1, 3),
        radius_m=np.asarray(rad, float),
        multiplier=radius_multiplier(np.asarray(hard, float)).reshape(-1),
        train=np.asarray(train, np.int64), train_group=np.asarray(train_group, np.int64),
        train_share=np.asarray(train_share, float), group_asset=np.asarray(g_asset, np.int64),
        group_rule=np.asarray(g_rule, np.int64), group_spare=np.asarray(g_spare, np.int64),
        group_k=np.asarray(g_k, np.int64), group_trains=np.asarray(g_trains, np.int64),
        group_name=tuple(g_name), template=tuple(used))


def asset_function(table: ComponentTable, state: FloatArray) -> FloatArray:
    """(a,) function of each asset in [0, 1] from the (k,) component states in [0, 1].

    Train state = product of its components' states; group capacity by rule (``capacity``:
    ``min(1, sum s_t / (n - spare))``; ``k_out_of_n``: ``sum s_t >= k``; ``weighted``:
    ``sum w_t s_t / sum w_t``); asset function = product of its groups' capacities. Monotone
    non-decreasing in every component state."""
    s = np.clip(np.asarray(state, float), 0.0, 1.0)
    trains = np.ones(len(table.train_group))
    np.multiply.at(trains, table.train, s)
    n_g = len(table.group_asset)
    total = np.zeros(n_g)
    np.add.at(total, table.train_group, trains)
    wsum = np.zeros(n_g)
    np.add.at(wsum, table.train_group, trains * table.train_share)
    wtot = np.zeros(n_g)
    np.add.at(wtot, table.train_group, table.train_share)
    need = (table.group_trains - table.group_spare).astype(float)
    cap = np.where(table.group_rule == 0, np.minimum(1.0, total / np.maximum(need, 1.0)),
                   np.where(table.group_rule == 1,
                            (total >= table.group_k - 1e-12).astype(float),
                            wsum / np.where(wtot > 0, wtot, 1.0)))
    out = np.ones(table.n_assets)
    np.multiply.at(out, table.group_asset, cap)
    return np.clip(out, 0.0, 1.0)


def component_distances(table: ComponentTable, impact_ecef: FloatArray) -> FloatArray:
    """(k,) distance (m) of a burst at ``impact_ecef`` (3,) from each component's centre."""
    return np.asarray(np.linalg.norm(table.pos_ecef - np.asarray(impact_ecef, float), axis=1))


# ----------------------------------------------------------------------------- the models
#: A component state below this is destroyed (0): the closed forms round near 1.
STATE_FLOOR = 1e-9


def _snap(state: FloatArray) -> FloatArray:
    s = np.asarray(state, float)
    return np.asarray(np.where(s < STATE_FLOOR, 0.0, s))


@dataclass(frozen=True)
class CarletonDamage:
    """``DamageModel`` (default): the Carleton damage function on point components (one
    uniform per component and impact from the damage stream) and its disc average on area
    components (deterministic, the expected fraction)."""

    def assess(self, impact_ecef: FloatArray, lethal_radius_m: float,
               components: ComponentTable, state: FloatArray,
               rng: np.random.Generator) -> FloatArray:
        s = np.asarray(state, float)
        d = component_distances(components, impact_ecef)
        rc = lethal_radius_m * components.multiplier
        u = rng.random(len(components))
        pk = carleton_pk(d, rc + components.radius_m)
        frac = carleton_area_fraction(d, components.radius_m, rc)
        return _snap(np.where(components.point, np.where(u < pk, 0.0, s), s * (1.0 - frac)))


@dataclass(frozen=True)
class CookieCutterDamage:
    """``DamageModel``: the cookie cutter -- a point component within ``R_c + a`` of the burst
    is destroyed; an area component loses the lens fraction of its disc. Draws nothing."""

    def assess(self, impact_ecef: FloatArray, lethal_radius_m: float,
               components: ComponentTable, state: FloatArray,
               rng: np.random.Generator) -> FloatArray:
        s = np.asarray(state, float)
        d = component_distances(components, impact_ecef)
        rc = lethal_radius_m * components.multiplier
        kill = d <= rc + components.radius_m
        frac = damage_fraction(d, components.radius_m, rc) if lethal_radius_m > 0 else 0.0
        return _snap(np.where(components.point, np.where(kill & (lethal_radius_m > 0), 0.0, s),
                              s * (1.0 - frac)))
