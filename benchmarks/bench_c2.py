"""Benchmark: one battle-management cycle (threat evaluation, feasibility, assignment).

A realistic picture: 50 tracks (5 ballistic at 30-60 km altitude and 2 km/s, 10 cruise missiles
at 60 m and 250 m/s, 35 drones at 200 m and 50 m/s) 50-150 km from 6 fire units around
latitude 45, longitude -40, inbound; 8 defended assets; 5 catalog interceptor types
(pac3-mse, pac2-gem-t, iris-t-slm, amraam, gepard-35mm) with rounds of every type at every unit.

Run: ``.venv/bin/python benchmarks/bench_c2.py [--cycles 200] [--save out.npz]
[--compare out.npz]``. Prints the mean and best wall time per cycle of each stage;
``--save`` / ``--compare`` store or check the cycle's outputs (regression check of a speed-up).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from shieldwall import geo
from shieldwall.c2 import (
    AssetTable,
    Doctrine,
    FireUnitTable,
    GreedyAssigner,
    TrackPicture,
    evaluate_threats,
    feasible_engagements,
)
from shieldwall.catalog import load_catalog

LAT0, LON0 = 45.0, -40.0
ORIGIN = geo.geodetic2ecef(LAT0, LON0, 0.0)
ROT0 = geo.enu_rotation(LAT0, LON0)
TYPES = ("pac3-mse", "pac2-gem-t", "iris-t-slm", "amraam", "gepard-35mm")


def _enu(e: float, n: float, u: float) -> np.ndarray:
    return geo.enu2ecef(np.array([e, n, u], float), ORIGIN, ROT0)


def _ground(e: float, n: float) -> np.ndarray:
    lat, lon, _ = geo.ecef2geodetic(_enu(e, n, 0.0))
    return geo.geodetic2ecef(float(lat), float(lon), 0.0)


def build(seed: int = 0, time_s: float = 100.0
          ) -> tuple[TrackPicture, AssetTable, FireUnitTable, np.ndarray, list]:
    rng = np.random.default_rng(seed)
    cat = load_catalog()
    interceptors = [cat.interceptors[n] for n in TYPES]
    # Fire units on a 25 km ring around the origin, assets inside it.
    n_units = 6
    ang = np.linspace(0.0, 2 * np.pi, n_units, endpoint=False)
    unit_pos = np.array([_ground(25e3 * np.sin(a), 25e3 * np.cos(a)) for a in ang])
    rot = []
    for p in unit_pos:
        lat, lon, _ = geo.ecef2geodetic(p)
        rot.append(geo.enu_rotation(float(lat), float(lon)))
    units = FireUnitTable(
        unit_id=[f"bty{i}" for i in range(n_units)], system=["mixed"] * n_units,
        pos_ecef=unit_pos, rotation=np.array(rot), heading_rad=ang.copy(),
        sector_half_width_rad=np.where(np.arange(n_units) % 2 == 0, np.inf, np.radians(60.0)),
        radar_range_m=np.full(n_units, 170e3), reaction_time_s=np.full(n_units, 5.0))
    n_assets = 8
    asset_en = rng.uniform(-20e3, 20e3, (n_assets, 2))
    assets = AssetTable(asset_id=[f"a{i}" for i in range(n_assets)], kind=["city"] * n_assets,
                        pos_ecef=np.array([_ground(e, n) for e, n in asset_en]),
                        value=rng.uniform(20.0, 100.0, n_assets),
                        radius_m=rng.uniform(800.0, 3000.0, n_assets))
    pos, vel, ballistic = [], [], []
    kinds = [("bal", 5), ("cru", 10), ("dro", 35)]
    for kind, count in kinds:
        for _ in range(count):
            unit = unit_pos[rng.integers(n_units)]
            bearing = rng.uniform(0, 2 * np.pi)
            dist = rng.uniform(50e3, 150e3)
            lat, lon, _ = geo.ecef2geodetic(unit)
            r_loc = geo.enu_rotation(float(lat), float(lon))
            aim = asset_en[rng.integers(n_assets)] + rng.normal(0.0, 2e3, 2)
            aim_ecef = _ground(*aim)
            if kind == "bal":
                alt, speed = rng.uniform(30e3, 60e3), 2000.0
            elif kind == "cru":
                alt, speed = 60.0, 250.0
            else:
                alt, speed = 200.0, 50.0
            p = geo.enu2ecef(np.array([dist * np.sin(bearing), dist * np.cos(bearing), alt]),
                             unit, r_loc)
            # Horizontal direction toward the aim point in the track's local frame.
            lat_p, lon_p, _ = geo.ecef2geodetic(p)
            r_p = geo.enu_rotation(float(lat_p), float(lon_p))
            d_enu = r_p @ (aim_ecef - p)
            h = d_enu[:2] / np.hypot(d_enu[0], d_enu[1])
            if kind == "bal":
                gamma = -np.arctan2(alt, np.hypot(d_enu[0], d_enu[1])) * rng.uniform(0.8, 1.2)
                v_enu = speed * np.array([h[0] * np.cos(gamma), h[1] * np.cos(gamma),
                                          np.sin(gamma)])
            else:
                v_enu = speed * np.array([h[0], h[1], 0.0])
            pos.append(p)
            vel.append(v_enu @ r_p)
            ballistic.append(kind == "bal")
    m = len(pos)
    picture = TrackPicture(track_id=np.arange(1000, 1000 + m), pos_ecef=np.array(pos),
                           vel_ecef=np.array(vel), pos_sigma_m=rng.uniform(20.0, 200.0, m),
                           ballistic=np.array(ballistic), time_s=time_s)
    rounds = np.full((n_units, len(TYPES)), 4, np.int64)
    return picture, assets, units, rounds, interceptors


def cycle(picture: TrackPicture, assets: AssetTable, units: FireUnitTable, rounds: np.ndarray,
          interceptors: list, assigner: GreedyAssigner, time_s: float) -> tuple:
    t0 = time.perf_counter()
    a = evaluate_threats(picture, assets, time_s)
    t1 = time.perf_counter()
    cand = feasible_engagements(picture, a, units, rounds, interceptors, time_s,
                                next_launch_s=np.full(len(units), time_s - 1.0))
    t2 = time.perf_counter()
    out = assigner.assign(cand, a, rounds, np.full(len(units), 3), np.zeros(len(picture),
                                                                            np.int64), time_s)
    t3 = time.perf_counter()
    return (a, cand, out), (t1 - t0, t2 - t1, t3 - t2)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cycles", type=int, default=200)
    ap.add_argument("--save", default=None)
    ap.add_argument("--compare", default=None)
    args = ap.parse_args()
    picture, assets, units, rounds, interceptors = build()
    assigner = GreedyAssigner(Doctrine(cost_per_value_usd=1e6))
    time_s = picture.time_s + 0.3
    (a, cand, out), _ = cycle(picture, assets, units, rounds, interceptors, assigner, time_s)
    times = np.array([cycle(picture, assets, units, rounds, interceptors, assigner, time_s)[1]
                      for _ in range(args.cycles)]) * 1e3
    n_b = int(np.count_nonzero(picture.ballistic))
    print(f"{len(picture)} tracks ({n_b} ballistic), {len(units)} units, "
          f"{len(interceptors)} types: {len(cand)} candidates, {len(out)} engagements, "
          f"{int(np.count_nonzero(a.asset_index >= 0))} threatening tracks")
    for name, col in zip(("evaluate_threats", "feasible_engagements", "assign"), times.T,
                         strict=True):
        print(f"  {name:22s} mean {col.mean():8.3f} ms   best {col.min():8.3f} ms")
    tot = times.sum(axis=1)
    print(f"  {'cycle':22s} mean {tot.mean():8.3f} ms   best {tot.min():8.3f} ms")
    flat = {f"a_{k}": np.asarray(v) for k, v in vars(a).items() if isinstance(v, np.ndarray)}
    flat.update({f"c_{k}": np.asarray(v) for k, v in vars(cand).items()
                 if isinstance(v, np.ndarray)})
    flat.update({f"o_{k}": np.asarray(v) for k, v in vars(out).items()
                 if isinstance(v, np.ndarray)})
    if args.save:
        np.savez(args.save, **flat)
    if args.compare:
        ref = np.load(args.compare)
        worst = []
        for k in ref.files:
            x, y = ref[k], flat[k]
            if x.shape != y.shape:
                print(f"  MISMATCH {k}: shape {x.shape} vs {y.shape}")
                continue
            if x.dtype.kind == "f":
                fin = np.isfinite(x)
                same_mask = np.array_equal(fin, np.isfinite(y))
                diff = float(np.max(np.abs(x[fin] - y[fin]), initial=0.0))
                worst.append((diff, k))
                if not same_mask:
                    print(f"  MISMATCH {k}: finiteness differs")
            elif not np.array_equal(x, y):
                print(f"  MISMATCH {k}: values differ")
        worst.sort(reverse=True)
        print("  largest float differences:", ", ".join(f"{k} {d:.3g}" for d, k in worst[:6]))


if __name__ == "__main__":
    main()
