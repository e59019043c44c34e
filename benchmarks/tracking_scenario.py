"""Seeded air-picture scenario for the tracking benchmark (issue 3), as docs/formats.md §7 files.

One radar at the origin of a flat ENU frame (x east, y north, z up) measures range,
azimuth (clockwise from north, ``atan2(x, y)``), elevation (``atan2(z, hypot(x, y))``) and
range rate of ``n_targets`` aircraft over ``n_scans`` scans of ``scan_period_s``. Every
target is alive for a window inside the run (births and deaths throughout, about half of
the targets alive at a time) and stays within 15-140 km ground range (so 15-141 km slant
range, inside the radar's 5-180 km) at 0.3-12 km altitude, 50-300 m/s:

- 60 % fly straight and level;
- 20 % fly straight and level with one coordinated horizontal turn of 1.5-4 g through
  60-180 degrees somewhere in their life;
- 20 % come in crossing pairs, straight and level, that pass within about 100 m
  (3-D) of each other at a crossing angle of 30-150 degrees.

Each alive target is detected with probability ``detection_probability`` per scan, with
independent Gaussian errors (20 m, 2 mrad, 2 mrad, 1 m/s). Poisson clutter, mean 20 per
scan, is uniform in range (5-180 km), azimuth (all), elevation (0-1 rad) and range rate
(+-400 m/s). All detections of a scan carry the scan time; rows are shuffled within a scan.

Files written to the output directory:

- ``detections.csv``: ``time_s,range_m,azimuth_rad,elevation_rad,range_rate_mps``;
- ``truth.csv``: ``time_s,truth_id,x_m,y_m,z_m,vx_mps,vy_mps,vz_mps`` at every scan for
  every alive target;
- ``SENSOR.yaml``: the sensor parameters of §6.3;
- ``targets.csv``: per target ``truth_id,kind,birth_s,death_s,speed_mps,altitude_m,
  turn_start_s,turn_end_s,turn_g`` (kind: straight, turn, crossing) for the evaluation;
- ``scenario.json``: the generator's arguments, for the cache check.

Randomness: one ``SeedSequence(seed)`` spawns separate streams for the trajectories, the
target detections and the clutter (docs/formats.md §3).

Usage::

    python benchmarks/tracking_scenario.py --targets 500 --scans 300 --seed 1 \
        -o benchmarks/data/n500/
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import yaml
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

GRAVITY_MPS2 = 9.80665
KIND_NAMES = ("straight", "turn", "crossing")
STRAIGHT, TURN, CROSSING = 0, 1, 2


@dataclass(frozen=True)
class ScenarioParams:
    """Generator parameters (SI units). Defaults are the issue-3 benchmark."""

    n_targets: int = 500
    n_scans: int = 300
    seed: int = 1
    scan_period_s: float = 1.0
    detection_probability: float = 0.9
    clutter_per_scan: float = 20.0
    sigma_range_m: float = 20.0
    sigma_azimuth_rad: float = 0.002
    sigma_elevation_rad: float = 0.002
    sigma_range_rate_mps: float = 1.0
    clutter_min_range_m: float = 5_000.0
    max_range_m: float = 180_000.0
    clutter_max_elevation_rad: float = 1.0
    clutter_max_range_rate_mps: float = 400.0
    min_ground_range_m: float = 15_000.0
    max_ground_range_m: float = 140_000.0
    min_altitude_m: float = 300.0
    max_altitude_m: float = 12_000.0
    min_speed_mps: float = 50.0
    max_speed_mps: float = 300.0
    turn_fraction: float = 0.2
    crossing_fraction: float = 0.2
    min_turn_g: float = 1.5
    max_turn_g: float = 4.0
    crossing_miss_m: float = 100.0
    min_visible_s: float = 10.0


@dataclass
class Trajectories:
    """Per-target constant-speed, level trajectories with at most one coordinated turn.

    Heading ``psi`` is clockwise from north. Before ``turn_start_s`` the target flies
    heading ``heading0_rad`` from ``pos0_m`` (ground position at ``start_s``); between
    ``turn_start_s`` and ``turn_end_s`` it turns at ``turn_rate_rps`` (signed, positive =
    clockwise); afterwards it flies straight on the final heading. All arrays shape (n,)
    except ``pos0_m`` (n, 2).
    """

    kind: IntArray
    start_s: FloatArray
    end_s: FloatArray
    pos0_m: FloatArray
    altitude_m: FloatArray
    speed_mps: FloatArray
    heading0_rad: FloatArray
    turn_start_s: FloatArray
    turn_end_s: FloatArray
    turn_rate_rps: FloatArray
    turn_g: FloatArray

    def take(self, index: IntArray) -> Trajectories:
        return Trajectories(**{k: v[index] for k, v in self.__dict__.items()})

    def put(self, index: IntArray, other: Trajectories) -> None:
        for key, value in self.__dict__.items():
            value[index] = getattr(other, key)

    def state(self, target: IntArray, t: FloatArray) -> tuple[FloatArray, FloatArray]:
        """ENU position (r, 3) m and velocity (r, 3) m/s of ``target[i]`` at time ``t[i]``."""
        t0 = self.start_s[target]
        ts = self.turn_start_s[target]
        te = self.turn_end_s[target]
        v = self.speed_mps[target]
        psi0 = self.heading0_rad[target]
        w = self.turn_rate_rps[target]
        tau_a = np.clip(t - t0, 0.0, ts - t0)
        tau_b = np.clip(t - ts, 0.0, te - ts)
        tau_c = np.maximum(t - te, 0.0)
        psi_b = psi0 + w * tau_b
        psi_e = psi0 + w * (te - ts)
        safe_w = np.where(w == 0.0, 1.0, w)
        turn_x = np.where(w == 0.0, 0.0, v / safe_w * (np.cos(psi0) - np.cos(psi_b)))
        turn_y = np.where(w == 0.0, 0.0, v / safe_w * (np.sin(psi_b) - np.sin(psi0)))
        x = self.pos0_m[target, 0] + v * tau_a * np.sin(psi0) + turn_x + v * tau_c * np.sin(psi_e)
        y = self.pos0_m[target, 1] + v * tau_a * np.cos(psi0) + turn_y + v * tau_c * np.cos(psi_e)
        pos = np.stack([x, y, self.altitude_m[target]], axis=1)
        vel = np.stack([v * np.sin(psi_b), v * np.cos(psi_b), np.zeros_like(v)], axis=1)
        return pos, vel


@dataclass
class Scenario:
    """A generated scenario: truth rows, detection rows and per-target metadata."""

    params: ScenarioParams
    trajectories: Trajectories
    truth_time_s: FloatArray
    truth_id: IntArray
    truth_pos_m: FloatArray
    truth_vel_mps: FloatArray
    det_time_s: FloatArray
    det_range_m: FloatArray
    det_azimuth_rad: FloatArray
    det_elevation_rad: FloatArray
    det_range_rate_mps: FloatArray
    det_truth_id: IntArray  # -1 for clutter; not written to the detections CSV


def _uniform_annulus(rng: np.random.Generator, n: int, r_min: float, r_max: float) -> FloatArray:
    r = np.sqrt(rng.uniform(r_min**2, r_max**2, n))
    theta = rng.uniform(-np.pi, np.pi, n)
    return np.stack([r * np.sin(theta), r * np.cos(theta)], axis=1)


def _alive_rows(traj: Trajectories, times: FloatArray) -> tuple[IntArray, FloatArray]:
    """(target, time) for every scan time inside each target's [start, end]."""
    alive = (times[None, :] >= traj.start_s[:, None]) & (times[None, :] <= traj.end_s[:, None])
    target, scan = np.nonzero(alive)
    return target.astype(np.int64), times[scan]


def _inside(traj: Trajectories, times: FloatArray, prm: ScenarioParams) -> np.ndarray:
    """Per target: every scan-time ground range within [min, max] ground range."""
    target, t = _alive_rows(traj, times)
    pos, _ = traj.state(target, t)
    ground = np.hypot(pos[:, 0], pos[:, 1])
    bad = (ground < prm.min_ground_range_m) | (ground > prm.max_ground_range_m)
    n_bad = np.bincount(target, weights=bad, minlength=len(traj.kind))
    n_rows = np.bincount(target, minlength=len(traj.kind))
    return (n_bad == 0) & (n_rows > 0)


def _draw_single(
    rng: np.random.Generator, kind: IntArray, prm: ScenarioParams, horizon_s: float
) -> Trajectories:
    """Straight or turning targets (not crossing pairs)."""
    n = kind.size
    life = rng.uniform(0.6, 1.4, n) * horizon_s
    birth = rng.uniform(-life, horizon_s)
    start = np.maximum(birth, 0.0)
    end = np.minimum(birth + life, horizon_s - prm.scan_period_s)
    speed = rng.uniform(prm.min_speed_mps, prm.max_speed_mps, n)
    turn_g = np.where(kind == TURN, rng.uniform(prm.min_turn_g, prm.max_turn_g, n), 0.0)
    omega = turn_g * GRAVITY_MPS2 / speed
    turn_angle = rng.uniform(np.deg2rad(60.0), np.deg2rad(180.0), n)
    sign = rng.choice([-1.0, 1.0], n)
    turn_start = start + rng.uniform(0.1, 0.6, n) * (end - start)
    turn_end = np.minimum(turn_start + turn_angle / np.maximum(omega, 1e-12), end)
    is_turn = kind == TURN
    return Trajectories(
        kind=kind.copy(),
        start_s=start,
        end_s=end,
        pos0_m=_uniform_annulus(rng, n, prm.min_ground_range_m, prm.max_ground_range_m),
        altitude_m=rng.uniform(prm.min_altitude_m, prm.max_altitude_m, n),
        speed_mps=speed,
        heading0_rad=rng.uniform(-np.pi, np.pi, n),
        turn_start_s=np.where(is_turn, turn_start, end),
        turn_end_s=np.where(is_turn, turn_end, end),
        turn_rate_rps=np.where(is_turn, sign * omega, 0.0),
        turn_g=turn_g,
    )


def _draw_pairs(
    rng: np.random.Generator, n_pairs: int, prm: ScenarioParams, horizon_s: float
) -> Trajectories:
    """Crossing pairs: rows 2i and 2i+1 pass within ``crossing_miss_m`` at time ``tc``."""
    tc = rng.uniform(0.15, 0.85, n_pairs) * horizon_s
    cross = _uniform_annulus(rng, n_pairs, 30_000.0, 120_000.0)
    alt = rng.uniform(prm.min_altitude_m + 60.0, prm.max_altitude_m - 60.0, n_pairs)
    heading_a = rng.uniform(-np.pi, np.pi, n_pairs)
    heading_b = heading_a + rng.choice([-1.0, 1.0], n_pairs) * rng.uniform(
        np.deg2rad(30.0), np.deg2rad(150.0), n_pairs
    )
    # 3-D offset of B from A at tc: |horizontal| <= 80 m, |vertical| <= 60 m -> <= 100 m
    off_r = rng.uniform(0.0, 0.8, n_pairs) * prm.crossing_miss_m
    off_theta = rng.uniform(-np.pi, np.pi, n_pairs)
    off_z = rng.uniform(-0.6, 0.6, n_pairs) * prm.crossing_miss_m

    def interleave(a: FloatArray, b: FloatArray) -> FloatArray:
        return np.stack([a, b], axis=1).reshape(2 * n_pairs, *a.shape[1:])

    n = 2 * n_pairs
    tc2 = np.repeat(tc, 2)
    before = rng.uniform(40.0, 160.0, n)
    after = rng.uniform(40.0, 160.0, n)
    start = np.maximum(tc2 - before, 0.0)
    end = np.minimum(tc2 + after, horizon_s - prm.scan_period_s)
    speed = rng.uniform(prm.min_speed_mps, prm.max_speed_mps, n)
    heading = interleave(heading_a, heading_b)
    pos_b = cross + np.stack([off_r * np.sin(off_theta), off_r * np.cos(off_theta)], axis=1)
    pos_tc = interleave(cross, pos_b)
    back = (tc2 - start) * speed
    pos0 = pos_tc - back[:, None] * np.stack([np.sin(heading), np.cos(heading)], axis=1)
    return Trajectories(
        kind=np.full(n, CROSSING, dtype=np.int64),
        start_s=start,
        end_s=end,
        pos0_m=pos0,
        altitude_m=interleave(alt, alt + off_z),
        speed_mps=speed,
        heading0_rad=heading,
        turn_start_s=end.copy(),
        turn_end_s=end.copy(),
        turn_rate_rps=np.zeros(n),
        turn_g=np.zeros(n),
    )


def draw_trajectories(prm: ScenarioParams, rng: np.random.Generator) -> Trajectories:
    """Draw all targets by rejection until every one stays in the ground-range annulus."""
    horizon_s = prm.n_scans * prm.scan_period_s
    times = np.arange(prm.n_scans) * prm.scan_period_s
    n_pairs = int(round(prm.crossing_fraction * prm.n_targets / 2.0))
    n_turn = int(round(prm.turn_fraction * prm.n_targets))
    n_single = prm.n_targets - 2 * n_pairs
    if n_single < n_turn:
        raise ValueError("turn_fraction + crossing_fraction must be <= 1")
    kind = np.full(n_single, STRAIGHT, dtype=np.int64)
    kind[:n_turn] = TURN

    def visible(tr: Trajectories) -> np.ndarray:
        return tr.end_s - tr.start_s >= prm.min_visible_s

    single = _draw_single(rng, kind, prm, horizon_s)
    for _ in range(10_000):
        bad = np.flatnonzero(~(_inside(single, times, prm) & visible(single)))
        if bad.size == 0:
            break
        single.put(bad, _draw_single(rng, kind[bad], prm, horizon_s))
    else:
        raise RuntimeError("could not place the single targets")

    pairs = _draw_pairs(rng, n_pairs, prm, horizon_s)
    for _ in range(10_000):
        ok = (_inside(pairs, times, prm) & visible(pairs)).reshape(n_pairs, 2).all(axis=1)
        bad = np.flatnonzero(~ok)
        if bad.size == 0:
            break
        rows = np.stack([2 * bad, 2 * bad + 1], axis=1).ravel()
        pairs.put(rows, _draw_pairs(rng, bad.size, prm, horizon_s))
    else:
        raise RuntimeError("could not place the crossing pairs")

    merged = Trajectories(
        **{k: np.concatenate([v, getattr(pairs, k)]) for k, v in single.__dict__.items()}
    )
    # shuffle so that truth ids do not reveal the kind
    return merged.take(rng.permutation(prm.n_targets))


def _wrap(angle: FloatArray) -> FloatArray:
    return (angle + np.pi) % (2.0 * np.pi) - np.pi


def generate(prm: ScenarioParams) -> Scenario:
    """Generate truth, detections (with clutter) and metadata for ``prm``."""
    ss_traj, ss_det, ss_clutter, ss_shuffle = np.random.SeedSequence(prm.seed).spawn(4)
    traj = draw_trajectories(prm, np.random.default_rng(ss_traj))
    times = np.arange(prm.n_scans) * prm.scan_period_s

    alive = (times[:, None] >= traj.start_s[None, :]) & (times[:, None] <= traj.end_s[None, :])
    scan, target = np.nonzero(alive)  # sorted by scan, then truth id
    t_truth = times[scan]
    pos, vel = traj.state(target, t_truth)

    rng_det = np.random.default_rng(ss_det)
    detected = rng_det.random(target.size) < prm.detection_probability
    p, v = pos[detected], vel[detected]
    ground = np.hypot(p[:, 0], p[:, 1])
    rng_true = np.linalg.norm(p, axis=1)
    n_det = p.shape[0]
    det_range = rng_true + rng_det.normal(0.0, prm.sigma_range_m, n_det)
    det_az = _wrap(np.arctan2(p[:, 0], p[:, 1]) + rng_det.normal(0, prm.sigma_azimuth_rad, n_det))
    det_el = np.arctan2(p[:, 2], ground) + rng_det.normal(0.0, prm.sigma_elevation_rad, n_det)
    det_rr = np.einsum("ij,ij->i", p, v) / rng_true + rng_det.normal(
        0.0, prm.sigma_range_rate_mps, n_det
    )

    rng_cl = np.random.default_rng(ss_clutter)
    n_clutter = rng_cl.poisson(prm.clutter_per_scan, prm.n_scans)
    total = int(n_clutter.sum())
    cl_time = np.repeat(times, n_clutter)
    cl_range = rng_cl.uniform(prm.clutter_min_range_m, prm.max_range_m, total)
    cl_az = rng_cl.uniform(-np.pi, np.pi, total)
    cl_el = rng_cl.uniform(0.0, prm.clutter_max_elevation_rad, total)
    cl_rr = rng_cl.uniform(-prm.clutter_max_range_rate_mps, prm.clutter_max_range_rate_mps, total)

    d_time = np.concatenate([t_truth[detected], cl_time])
    d_truth = np.concatenate([target[detected], np.full(total, -1, dtype=np.int64)])
    # shuffle within each scan: sort by (scan time, random key)
    key = np.random.default_rng(ss_shuffle).random(d_time.size)
    order = np.lexsort((key, d_time))
    return Scenario(
        params=prm,
        trajectories=traj,
        truth_time_s=t_truth,
        truth_id=target.astype(np.int64),
        truth_pos_m=pos,
        truth_vel_mps=vel,
        det_time_s=d_time[order],
        det_range_m=np.concatenate([det_range, cl_range])[order],
        det_azimuth_rad=np.concatenate([det_az, cl_az])[order],
        det_elevation_rad=np.concatenate([det_el, cl_el])[order],
        det_range_rate_mps=np.concatenate([det_rr, cl_rr])[order],
        det_truth_id=d_truth[order],
    )


def sensor_yaml(prm: ScenarioParams) -> dict[str, float]:
    """The §6.3 SENSOR.yaml mapping for ``prm``."""
    return {
        "sigma_range_m": prm.sigma_range_m,
        "sigma_azimuth_rad": prm.sigma_azimuth_rad,
        "sigma_elevation_rad": prm.sigma_elevation_rad,
        "sigma_range_rate_mps": prm.sigma_range_rate_mps,
        "detection_probability": prm.detection_probability,
        "clutter_per_scan": prm.clutter_per_scan,
        "max_range_m": prm.max_range_m,
        "scan_period_s": prm.scan_period_s,
    }


def write(sc: Scenario, outdir: Path) -> None:
    """Write the scenario files (see the module docstring) into ``outdir``."""
    outdir.mkdir(parents=True, exist_ok=True)
    np.savetxt(
        outdir / "detections.csv",
        np.column_stack(
            [
                sc.det_time_s,
                sc.det_range_m,
                sc.det_azimuth_rad,
                sc.det_elevation_rad,
                sc.det_range_rate_mps,
            ]
        ),
        fmt=["%.3f", "%.3f", "%.9f", "%.9f", "%.4f"],
        delimiter=",",
        header="time_s,range_m,azimuth_rad,elevation_rad,range_rate_mps",
        comments="",
    )
    np.savetxt(
        outdir / "truth.csv",
        np.column_stack([sc.truth_time_s, sc.truth_id, sc.truth_pos_m, sc.truth_vel_mps]),
        fmt=["%.3f", "%d", "%.3f", "%.3f", "%.3f", "%.4f", "%.4f", "%.4f"],
        delimiter=",",
        header="time_s,truth_id,x_m,y_m,z_m,vx_mps,vy_mps,vz_mps",
        comments="",
    )
    tr = sc.trajectories
    with open(outdir / "targets.csv", "w", encoding="utf-8") as fh:
        fh.write(
            "truth_id,kind,birth_s,death_s,speed_mps,altitude_m,turn_start_s,turn_end_s,turn_g\n"
        )
        for i in range(len(tr.kind)):
            fh.write(
                f"{i},{KIND_NAMES[tr.kind[i]]},{tr.start_s[i]:.3f},{tr.end_s[i]:.3f},"
                f"{tr.speed_mps[i]:.3f},{tr.altitude_m[i]:.3f},{tr.turn_start_s[i]:.3f},"
                f"{tr.turn_end_s[i]:.3f},{tr.turn_g[i]:.3f}\n"
            )
    with open(outdir / "SENSOR.yaml", "w", encoding="utf-8") as fh:
        yaml.safe_dump(sensor_yaml(sc.params), fh, sort_keys=False)
    with open(outdir / "scenario.json", "w", encoding="utf-8") as fh:
        json.dump(asdict(sc.params), fh, indent=2)


def ensure(prm: ScenarioParams, outdir: Path) -> bool:
    """Generate and write unless ``outdir`` already holds this exact scenario.

    Returns True if the files were (re)generated.
    """
    meta = outdir / "scenario.json"
    files = ("detections.csv", "truth.csv", "targets.csv", "SENSOR.yaml")
    if meta.exists() and all((outdir / f).exists() for f in files):
        if json.loads(meta.read_text(encoding="utf-8")) == asdict(prm):
            return False
    write(generate(prm), outdir)
    return True


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--targets", type=int, default=500, help="number of targets over the run")
    ap.add_argument("--scans", type=int, default=300, help="number of scans")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("-o", "--outdir", type=Path, required=True)
    args = ap.parse_args(argv)
    prm = ScenarioParams(n_targets=args.targets, n_scans=args.scans, seed=args.seed)
    sc = generate(prm)
    write(sc, args.outdir)
    n_alive = np.bincount(np.searchsorted(np.unique(sc.truth_time_s), sc.truth_time_s))
    print(
        f"{args.outdir}: {prm.n_targets} targets, {prm.n_scans} scans, "
        f"alive per scan mean {n_alive.mean():.0f} (min {n_alive.min()}, max {n_alive.max()}), "
        f"{sc.det_time_s.size} detections ({int((sc.det_truth_id < 0).sum())} clutter)"
    )


if __name__ == "__main__":
    main()
