"""Reference check: single-shot kill probability of a point component against the aim
point's miss offset under a circular-normal CEP -- the closed forms (the offset-circle
probability for the cookie cutter, Carleton's convolution with a circular normal) against the
engine's own Monte Carlo: impact points drawn by ``threats.raid.dispersion_offsets_m`` (the
one place the engine draws delivery error) and kills decided by the engine's ``DamageModel``
components (``engine.damage``). Model card: docs/models/functional_damage.md.

Every draw is one component placed at ``c - delta_i`` with the burst at the aim point, which
gives the same burst-to-component distances as bursts at ``aim + delta_i`` on a component at
``c`` (the offsets are a few hundred metres: the local tangent plane), so one ``assess`` call
decides all draws of one offset.
"""

from __future__ import annotations

import numpy as np

from shieldwall import geo
from shieldwall.analysis.validation.types import Check, CheckResult, Figure, Series
from shieldwall.engine.damage import (
    CarletonDamage,
    ComponentTable,
    CookieCutterDamage,
    p_kill_carleton_cep,
    p_kill_cookie_cutter_cep,
)
from shieldwall.threats.raid import dispersion_offsets_m

LAT, LON = 45.0, -40.0
#: An Iskander-class warhead (5-psi radius 40 m), CEP 30 m, on a transformer (radius 5 m)
#: at its 5-psi hardness (multiplier 1): effective radius 45 m.
LETHAL_RADIUS_M, CEP_M, COMPONENT_RADIUS_M = 40.0, 30.0, 5.0


def _table(offsets_en: np.ndarray) -> ComponentTable:
    n = len(offsets_en)
    origin = geo.geodetic2ecef(LAT, LON, 0.0).reshape(3)
    rot = geo.enu_rotation(LAT, LON)
    enu = np.column_stack([-offsets_en, np.zeros(n)])
    return ComponentTable(
        asset=np.zeros(n, np.int64), name=tuple(f"c{i}" for i in range(n)),
        role=("transformer",) * n, point=np.ones(n, bool), pos_ecef=origin + enu @ rot,
        radius_m=np.full(n, COMPONENT_RADIUS_M), multiplier=np.ones(n),
        train=np.arange(n, dtype=np.int64), train_group=np.zeros(n, np.int64),
        train_share=np.ones(n), group_asset=np.zeros(1, np.int64),
        group_rule=np.zeros(1, np.int64), group_spare=np.zeros(1, np.int64),
        group_k=np.ones(1, np.int64), group_trains=np.array([n], np.int64),
        group_name=("g",), template=("check",))


def run(quick: bool) -> CheckResult:
    rng = np.random.default_rng(20260114)
    n = 4000 if quick else 200_000
    offsets = np.linspace(0.0, 120.0, 9 if quick else 25)
    origin = geo.geodetic2ecef(LAT, LON, 0.0).reshape(3)
    r_eff = LETHAL_RADIUS_M + COMPONENT_RADIUS_M
    figures, metrics, worst_z, worst_abs = [], {}, 0.0, 0.0
    for label, model, closed in (("cookie cutter", CookieCutterDamage(),
                                  p_kill_cookie_cutter_cep),
                                 ("Carleton", CarletonDamage(), p_kill_carleton_cep)):
        ours, ref = [], []
        for d in offsets:
            delta = dispersion_offsets_m(n, CEP_M, rng) + np.array([d, 0.0])
            tab = _table(delta)
            state = model.assess(origin, LETHAL_RADIUS_M, tab, np.ones(n), rng)
            ours.append(float(np.mean(state == 0.0)))
            ref.append(float(closed(d, r_eff, CEP_M)))
        o, r = np.array(ours), np.array(ref)
        se = np.sqrt(np.maximum(r * (1 - r), 1.0 / n) / n)
        z = np.abs(o - r) / se
        key = label.split()[0].lower()
        metrics[f"{key}_max_abs_error"] = float(np.max(np.abs(o - r)))
        metrics[f"{key}_max_z"] = float(np.max(z))
        worst_z = max(worst_z, float(np.max(z)))
        worst_abs = max(worst_abs, float(np.max(np.abs(o - r))))
        ref_name = ("offset-circle probability 1 - Q1(d/sigma, R/sigma) (Marcum Q)"
                    if key == "cookie" else
                    "Carleton x circular normal: R^2/(R^2+2 sigma^2) exp(-d^2/(R^2+2 sigma^2))")
        figures.append(Figure(
            title=f"{label}: single-shot Pk vs aim offset (R_eff {r_eff:.0f} m, CEP "
                  f"{CEP_M:.0f} m)", x_label="aim point offset from the component (m)",
            y_label="kill probability", series=[
                Series(f"shieldwall Monte Carlo ({n} draws per point)", offsets.tolist(),
                       o.tolist(), style="points"),
                Series(ref_name, offsets.tolist(), r.tolist(), reference=True)]))
    metrics["samples_per_point"] = float(n)
    return CheckResult(
        passed=worst_z < 4.5 and worst_abs < 0.03,
        criterion="at every offset |Monte Carlo - closed form| < 4.5 binomial standard errors "
                  "and < 0.03, both damage functions",
        metrics=metrics, figures=figures,
        notes="Impact points drawn by the engine's dispersion (threats.raid), kills by the "
              "engine's DamageModel components; a point component (radius 5 m) at the 5-psi "
              "hardness; the cookie cutter and the Carleton function of the same lethal area.")


CHECK = Check(
    name="component_kill_vs_cep",
    title="Component kill probability against aim offset under a circular-normal CEP",
    model="engine.damage", card="docs/models/functional_damage.md",
    reference="Driels, Weaponeering: Conventional Weapon System Effectiveness, 2nd ed., AIAA "
              "2013 (Carleton damage function, circular-normal delivery error); Marcum, "
              "A Statistical Theory of Target Detection by Pulsed Radar, RAND RM-754, 1947 "
              "(Q function: offset-circle probability)",
    run=run)
