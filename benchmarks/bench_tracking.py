"""Tracking benchmark of issue 3: shieldwall's tracker against Stone Soup on the same files.

For each size N (default 100, 500, 2000 targets over 300 scans; scenario of
``benchmarks/tracking_scenario.py``, cached in ``benchmarks/data/n{N}/``) this runs

- shieldwall (``shieldwall.analysis.track_io``: ``read_detections_csv``, ``load_sensor_config``;
  ``shieldwall.tracking.standalone.run_tracker``) on the whole run, and
- the Stone Soup baseline (``benchmarks/stonesoup_tracker.py``) on the whole run or, where it
  is too slow, on a prefix of the scans (``--stonesoup-scans N:K``; default 60 scans at
  N = 2000),

then scores both at every scan against the truth with GOSPA (p = 2, alpha = 2,
c = 1000 m, position only) and reports mean GOSPA and its parts, CPU ms per scan
(``time.process_time`` of the tracker step only, no I/O), the speed ratio, track
breaks / identity switches / gaps from the GOSPA assignment, and the NEES (6 states) of the
assigned tracks of the non-manoeuvring targets (straight and crossing targets; turning
targets excluded). When Stone Soup ran on a prefix, both trackers are also scored on that
same prefix. Then ``shieldwall track`` is timed as a whole process (``--process-repeat``
runs after a warm-up, median of the child's user + sys CPU: interpreter start-up, imports,
numba cache loading, CSV in and out) per scan, against Stone Soup's per-scan CPU of the same
invocation.

Usage::

    python benchmarks/bench_tracking.py [--sizes 100 500 2000] [--markdown out.md]
        [--stonesoup-scans 2000:60] [--stonesoup-budget 500:1000 2000:400]
        [--no-stonesoup] [--no-shieldwall] [--reuse-stonesoup]

``--stonesoup-budget N:S`` stops Stone Soup after S seconds of CPU at size N; both trackers
are then also scored on the prefix it completed. The issue-3 table in RESULTS.md used
``--stonesoup-scans 2000:60 --stonesoup-budget 500:1000 2000:400``.

``--reuse-stonesoup`` loads a Stone Soup run cached in the data directory by an earlier
invocation with the same scenario, configuration and prefix (Stone Soup takes minutes).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from scipy.stats import chi2

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import stonesoup_tracker as ss  # noqa: E402
import tracking_scenario as scen  # noqa: E402

from shieldwall.tracking.metrics import (  # noqa: E402
    chi2_bounds,
    gospa,
    nees,
    track_breaks_and_switches,
)

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

GOSPA_C_M = 1000.0
GOSPA_P = 2.0
GOSPA_ALPHA = 2.0
DEFAULT_PREFIX = {2000: 60}


@dataclass
class Tracks:
    """Confirmed tracks at every scan: the common output of both trackers."""

    name: str
    time_s: FloatArray
    track_id: IntArray
    pos: FloatArray
    vel: FloatArray
    cov: FloatArray | None
    scan_time_s: FloatArray
    scan_cpu_s: FloatArray


@dataclass
class Truth:
    time_s: FloatArray
    truth_id: IntArray
    pos: FloatArray
    vel: FloatArray
    maneuvering: NDArray[np.bool_]  # per truth id: a turning target


@dataclass
class Score:
    """Scores of one tracker over a window of scans."""

    tracker: str
    n_scans: int
    mean_truths: float
    mean_gospa_m: float
    mean_localisation_m2: float
    mean_missed_m2: float
    mean_false_m2: float
    mean_n_missed: float
    mean_n_false: float
    rms_pos_error_m: float
    breaks: int
    switches: int
    gaps: int
    mean_track_purity: float
    nees_mean: float
    nees_in_bounds: float
    nees_pairs: int
    nees_excluded: int  # non-turning pairs whose truth is not the one the track follows
    nees_scans_over: float  # share of scans whose mean NEES is above its 95 % upper bound
    cpu_ms_per_scan: float
    cpu_ms_p95: float


def load_truth(folder: Path) -> Truth:
    data = np.loadtxt(folder / "truth.csv", delimiter=",", skiprows=1, ndmin=2)
    kinds = np.loadtxt(folder / "targets.csv", delimiter=",", skiprows=1, usecols=1, dtype=str)
    return Truth(
        time_s=data[:, 0],
        truth_id=data[:, 1].astype(np.int64),
        pos=data[:, 2:5],
        vel=data[:, 5:8],
        maneuvering=np.asarray(kinds == "turn"),
    )


def _rows_at(times: FloatArray, grid: FloatArray) -> tuple[IntArray, IntArray]:
    """Row ranges of a time-sorted table for each grid time (start, end)."""
    order_ok = np.all(np.diff(times) >= 0)
    if not order_ok:
        raise ValueError("table must be sorted by time")
    return np.searchsorted(times, grid, "left"), np.searchsorted(times, grid, "right")


def _followed_truth(track_ids: IntArray, truth_ids: IntArray) -> IntArray:
    """For each (track, truth) pair, the truth its track is paired with most often."""
    if track_ids.size == 0:
        return truth_ids.copy()
    pairs, counts = np.unique(np.stack([track_ids, truth_ids], 1), axis=0, return_counts=True)
    order = np.lexsort((-counts, pairs[:, 0]))
    pairs = pairs[order]
    first = np.r_[True, pairs[1:, 0] != pairs[:-1, 0]]
    best_track, best_truth = pairs[first, 0], pairs[first, 1]
    return best_truth[np.searchsorted(best_track, track_ids)]


def score(tracks: Tracks, truth: Truth, grid: FloatArray) -> Score:
    """GOSPA, continuity and NEES of ``tracks`` over the scan times ``grid``."""
    order = np.argsort(tracks.time_s, kind="stable")
    t_time = tracks.time_s[order]
    t_id, t_pos, t_vel = tracks.track_id[order], tracks.pos[order], tracks.vel[order]
    t_cov = tracks.cov[order] if tracks.cov is not None else None
    ta, tb = _rows_at(truth.time_s, grid)
    ka, kb = _rows_at(t_time, grid)
    dist, loc, miss, false, n_miss, n_false, n_truth = (np.zeros(grid.size) for _ in range(7))
    a_time, a_truth, a_track, a_err, a_cov = [], [], [], [], []
    for k, t in enumerate(grid):
        tr = slice(ta[k], tb[k])
        tk = slice(ka[k], kb[k])
        res = gospa(truth.pos[tr], t_pos[tk], c=GOSPA_C_M, p=GOSPA_P, alpha=GOSPA_ALPHA)
        dist[k], loc[k], miss[k], false[k] = res.distance, res.localisation, res.missed, res.false
        n_miss[k], n_false[k], n_truth[k] = res.n_missed, res.n_false, tb[k] - ta[k]
        i = ta[k] + res.truth_index
        j = ka[k] + res.track_index
        a_time.append(np.full(i.size, t))
        a_truth.append(truth.truth_id[i])
        a_track.append(t_id[j])
        err = np.concatenate([truth.pos[i] - t_pos[j], truth.vel[i] - t_vel[j]], axis=1)
        a_err.append(err)
        if t_cov is not None:
            a_cov.append(t_cov[j])
    err = np.concatenate(a_err) if a_err else np.zeros((0, 6))
    truth_ids = np.concatenate(a_truth) if a_truth else np.zeros(0, np.int64)
    cont = track_breaks_and_switches(
        np.concatenate(a_time), truth_ids, np.concatenate(a_track), scan_time_s=grid
    )
    # NEES on the non-turning targets, each track scored against the truth it follows (its
    # most frequent GOSPA partner). GOSPA pairs by position only: where two crossing targets
    # pass within ~100 m it may pair a track with the other truth for a scan, which scores
    # a correct estimate against the wrong velocity (errors of 300-400 m/s, NEES ~1e5). Such
    # pairs, and the scans after a genuine identity switch, are association errors: they are
    # counted under breaks / switches / purity, not as filter inconsistency.
    track_ids = np.concatenate(a_track) if a_track else np.zeros(0, np.int64)
    scan_index = np.concatenate([np.full(a.size, k) for k, a in enumerate(a_time)]) \
        if a_time else np.zeros(0, np.int64)
    followed = _followed_truth(track_ids, truth_ids)
    steady = ~truth.maneuvering[truth_ids] & (followed == truth_ids)
    nees_mean = in_bounds = over = float("nan")
    n_pairs = int(steady.sum())
    if a_cov and n_pairs:
        values = nees(err[steady], np.concatenate(a_cov)[steady])
        lo, hi = chi2_bounds(6, 1, 0.95)
        nees_mean = float(values.mean())
        in_bounds = float(np.mean((values >= lo) & (values <= hi)))
        # scan averages against the 95 % upper bound of an average of n_k chi-square(6)
        k_idx = scan_index[steady]
        n_k = np.bincount(k_idx, minlength=grid.size)
        s_k = np.bincount(k_idx, weights=values, minlength=grid.size)
        has = n_k > 0
        upper = chi2.ppf(0.975, 6 * n_k[has]) / n_k[has]
        over = float(np.mean(s_k[has] / n_k[has] > upper))
    cpu = tracks.scan_cpu_s[np.isin(tracks.scan_time_s, grid)]
    return Score(
        tracker=tracks.name,
        n_scans=int(grid.size),
        mean_truths=float(n_truth.mean()),
        mean_gospa_m=float(dist.mean()),
        mean_localisation_m2=float(loc.mean()),
        mean_missed_m2=float(miss.mean()),
        mean_false_m2=float(false.mean()),
        mean_n_missed=float(n_miss.mean()),
        mean_n_false=float(n_false.mean()),
        rms_pos_error_m=float(np.sqrt(np.mean(np.sum(err[:, :3] ** 2, axis=1))))
        if err.size
        else float("nan"),
        breaks=cont.total_breaks,
        switches=cont.total_switches,
        gaps=int(cont.n_gaps.sum()),
        mean_track_purity=cont.mean_track_purity,
        nees_mean=nees_mean,
        nees_in_bounds=in_bounds,
        nees_pairs=n_pairs,
        nees_excluded=int((~truth.maneuvering[truth_ids] & (followed != truth_ids)).sum()),
        nees_scans_over=over,
        cpu_ms_per_scan=float(1e3 * cpu.mean()) if cpu.size else float("nan"),
        cpu_ms_p95=float(1e3 * np.percentile(cpu, 95)) if cpu.size else float("nan"),
    )


def run_shieldwall(folder: Path) -> Tracks | None:
    """shieldwall's standalone tracker on the folder's files (None if unavailable)."""
    try:
        from shieldwall.analysis.track_io import (
            load_sensor_config,
            read_detections_csv,
            write_tracks_csv,
        )
        from shieldwall.tracking.standalone import run_tracker
    except ImportError as err:
        print(f"  shieldwall standalone tracker not available ({err}); skipped")
        return None
    dets = read_detections_csv(folder / "detections.csv")
    sensor = load_sensor_config(folder / "SENSOR.yaml")
    # warm-up on the first 5 scans so that loading the numba caches (or compiling) is not
    # billed to the first timed scan
    first = int(np.searchsorted(dets.time_s, dets.time_s[0] + 4.5 * sensor.scan_period_s))
    warm = {
        f.name: (v[:first] if isinstance(v, np.ndarray) else v)
        for f in fields(dets)
        for v in (getattr(dets, f.name),)
    }
    run_tracker(type(dets)(**warm), sensor)
    run = run_tracker(dets, sensor)
    write_tracks_csv(run, folder / "shieldwall_tracks.csv")
    return Tracks(
        "shieldwall",
        np.asarray(run.time_s, float),
        np.asarray(run.track_id, np.int64),
        np.asarray(run.pos, float),
        np.asarray(run.vel, float),
        np.asarray(run.cov, float)[:, :6, :6] if getattr(run, "cov", None) is not None else None,
        np.asarray(run.scan_time_s, float),
        np.asarray(run.scan_cpu_s, float),
    )


def run_track_process(folder: Path, repeat: int) -> tuple[float, float, float]:
    """``shieldwall track`` as a whole process (interpreter start-up, imports, numba cache
    loading, CSV in and out), ``repeat`` times after one warm-up run (which writes the numba
    caches if they are missing). Returns the medians of CPU (user + sys of the child, s),
    wall (s) and the number of scans."""
    import resource
    import statistics
    import subprocess

    exe = Path(sys.executable).with_name("shieldwall")
    cmd = [str(exe) if exe.exists() else sys.executable]
    if not exe.exists():
        cmd += ["-m", "shieldwall.cli"]
    cmd += ["track", str(folder / "detections.csv"), "--sensor", str(folder / "SENSOR.yaml"),
            "-o", str(folder / "shieldwall_process_tracks.csv")]
    n_scans = len(np.unique(np.loadtxt(folder / "detections.csv", delimiter=",", skiprows=1,
                                       usecols=0)))
    cpu, wall = [], []
    for k in range(repeat + 1):
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        t1 = time.perf_counter()
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        if k:
            cpu.append((r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime))
            wall.append(t1 - t0)
    return statistics.median(cpu), statistics.median(wall), float(n_scans)


def run_stonesoup(
    folder: Path, max_scans: int | None, cpu_budget_s: float | None, reuse: bool
) -> Tracks:
    """The Stone Soup baseline, optionally reusing a cached identical run."""
    cfg = ss.StoneSoupConfig()
    key = {
        "scenario": json.loads((folder / "scenario.json").read_text(encoding="utf-8")),
        "config": asdict(cfg),
        "max_scans": max_scans,
        "cpu_budget_s": cpu_budget_s,
        "stonesoup_runner": ss.RUNNER_VERSION,
    }
    cache_npz, cache_json = folder / "stonesoup_run.npz", folder / "stonesoup_run.json"
    if reuse and cache_npz.exists() and cache_json.exists():
        if json.loads(cache_json.read_text(encoding="utf-8")) == key:
            with np.load(cache_npz) as z:
                print("  Stone Soup: reusing the cached run")
                return Tracks(
                    "Stone Soup",
                    *(
                        z[f]
                        for f in (
                            "time_s",
                            "track_id",
                            "pos",
                            "vel",
                            "cov",
                            "scan_time_s",
                            "scan_cpu_s",
                        )
                    ),
                )
    run = ss.run_stonesoup(
        ss.read_detections(folder / "detections.csv"),
        ss.load_sensor(folder / "SENSOR.yaml"),
        cfg,
        max_scans=max_scans,
        cpu_budget_s=cpu_budget_s,
        progress_every=10,
    )
    ss.write_tracks(run, folder / "stonesoup_tracks.csv")
    np.savez(
        cache_npz,
        time_s=run.time_s,
        track_id=run.track_id,
        pos=run.pos,
        vel=run.vel,
        cov=run.cov,
        scan_time_s=run.scan_time_s,
        scan_cpu_s=run.scan_cpu_s,
    )
    cache_json.write_text(json.dumps(key), encoding="utf-8")
    return Tracks(
        "Stone Soup",
        run.time_s,
        run.track_id,
        run.pos,
        run.vel,
        run.cov,
        run.scan_time_s,
        run.scan_cpu_s,
    )


def _fmt(x: float, digits: int = 0) -> str:
    return "n/a" if not np.isfinite(x) else f"{x:,.{digits}f}"


def table_rows(n: int, window: str, scores: list[Score], ratio: float | None) -> list[str]:
    rows = []
    for s in scores:
        total = s.mean_localisation_m2 + s.mean_missed_m2 + s.mean_false_m2
        split = (
            "/".join(
                f"{100 * v / total:.0f}"
                for v in (s.mean_localisation_m2, s.mean_missed_m2, s.mean_false_m2)
            )
            if total > 0
            else "n/a"
        )
        speed = f"{ratio:,.0f}x" if (ratio is not None and s.tracker == "shieldwall") else ""
        rows.append(
            f"| {n} | {window} | {s.tracker} | {_fmt(s.mean_truths)} | "
            f"{_fmt(s.mean_gospa_m)} | {split} | {_fmt(s.mean_n_missed, 1)} | "
            f"{_fmt(s.mean_n_false, 1)} | {_fmt(s.rms_pos_error_m)} | "
            f"{_fmt(s.cpu_ms_per_scan, 1)} | {_fmt(s.cpu_ms_p95, 1)} | {speed} | "
            f"{s.breaks} / {s.switches} / {s.gaps} | {_fmt(s.mean_track_purity, 3)} | "
            f"{_fmt(s.nees_mean, 1)} ({_fmt(100 * s.nees_in_bounds, 0)} %) | "
            f"{_fmt(100 * s.nees_scans_over, 0)} % | {s.nees_excluded} |"
        )
    return rows


HEADER = (
    "| N | scans scored | tracker | truths/scan | mean GOSPA (m) | GOSPA² split loc/missed/"
    "false (%) | missed/scan | false/scan | RMS pos. error (m) | CPU ms/scan | p95 | "
    "speed-up | breaks / switches / gaps | track purity | NEES, 6 dof (in 95 % band) | "
    "scans over-confident | NEES pairs left out |\n"
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- "
    "| --- | --- | --- |"
)


PROCESS_HEADER = (
    "| N | scans | `shieldwall track` whole process, CPU ms/scan (user + sys, median) | "
    "wall ms/scan | Stone Soup CPU ms/scan (same invocation) | ratio |\n"
    "| --- | --- | --- | --- | --- | --- |"
)


def versions() -> str:
    import numpy
    import scipy

    try:
        import stonesoup

        stone = stonesoup.__version__
    except Exception:  # pragma: no cover - optional
        stone = "absent"
    return (
        f"Python {platform.python_version()}, numpy {numpy.__version__}, scipy "
        f"{scipy.__version__}, Stone Soup {stone}"
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="shieldwall vs Stone Soup tracking benchmark")
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 500, 2000])
    ap.add_argument("--scans", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data", type=Path, default=HERE / "data")
    ap.add_argument(
        "--stonesoup-scans",
        nargs="*",
        default=[f"{k}:{v}" for k, v in DEFAULT_PREFIX.items()],
        help="N:K pairs: run Stone Soup on the first K scans only for size N",
    )
    ap.add_argument(
        "--stonesoup-budget",
        nargs="*",
        default=[],
        help="N:S pairs: stop Stone Soup after S CPU seconds for size N (scores the prefix)",
    )
    ap.add_argument("--no-stonesoup", action="store_true")
    ap.add_argument("--no-shieldwall", action="store_true")
    ap.add_argument("--reuse-stonesoup", action="store_true")
    ap.add_argument("--markdown", type=Path, default=None, help="write the results table here")
    ap.add_argument(
        "--process-repeat",
        type=int,
        default=5,
        help="time `shieldwall track` as a whole process this many times (median; 0: skip)",
    )
    args = ap.parse_args(argv)
    prefix = {int(a): int(b) for a, b in (p.split(":") for p in args.stonesoup_scans)}
    budget = {int(a): float(b) for a, b in (p.split(":") for p in args.stonesoup_budget)}

    load_start = os.getloadavg()
    started = datetime.datetime.now(datetime.UTC)
    lines = [HEADER]
    process_lines = [PROCESS_HEADER]
    for n in args.sizes:
        folder = args.data / f"n{n}"
        prm = scen.ScenarioParams(n_targets=n, n_scans=args.scans, seed=args.seed)
        made = scen.ensure(prm, folder)
        print(f"N = {n}: scenario {'generated' if made else 'cached'} in {folder}")
        truth = load_truth(folder)
        grid = np.arange(args.scans) * prm.scan_period_s
        runs: dict[str, Tracks] = {}
        if not args.no_shieldwall:
            c0 = time.perf_counter()
            sw = run_shieldwall(folder)
            if sw is not None:
                runs["shieldwall"] = sw
                print(f"  shieldwall: {time.perf_counter() - c0:.1f} s wall")
        if not args.no_stonesoup:
            c0 = time.perf_counter()
            runs["Stone Soup"] = run_stonesoup(
                folder, prefix.get(n), budget.get(n), args.reuse_stonesoup
            )
            print(f"  Stone Soup: {time.perf_counter() - c0:.1f} s wall")
        full = [score(r, truth, grid) for r in runs.values() if r.scan_time_s.size >= grid.size]
        done = [r.scan_time_s.size for r in runs.values() if r.scan_time_s.size < grid.size]
        k = min(done) if done else None
        pre = [score(r, truth, grid[:k]) for r in runs.values()] if k and k < grid.size else []

        def ratio(scores: list[Score]) -> float | None:
            by = {s.tracker: s for s in scores}
            if "shieldwall" in by and "Stone Soup" in by:
                return by["Stone Soup"].cpu_ms_per_scan / by["shieldwall"].cpu_ms_per_scan
            return None

        if full:
            lines += table_rows(n, f"all {grid.size}", full, ratio(full))
        if pre:
            lines += table_rows(n, f"first {k} (prefix)", pre, ratio(pre))
        for s in full + pre:
            print("  " + json.dumps(asdict(s)))
        if not args.no_shieldwall and args.process_repeat > 0:
            cpu_s, wall_s, n_sc = run_track_process(folder, args.process_repeat)
            ss_ms = next((s.cpu_ms_per_scan for s in full + pre if s.tracker == "Stone Soup"),
                         float("nan"))
            per_scan = 1e3 * cpu_s / n_sc
            ratio_txt = f"{ss_ms / per_scan:,.0f}x" if np.isfinite(ss_ms) else "n/a"
            process_lines.append(
                f"| {n} | {n_sc:.0f} | {per_scan:.2f} | {1e3 * wall_s / n_sc:.2f} | "
                f"{_fmt(ss_ms, 1)} | {ratio_txt} |"
            )
            print(f"  shieldwall track (whole process): {cpu_s:.2f} s CPU, {wall_s:.2f} s wall, "
                  f"{per_scan:.2f} ms CPU/scan; Stone Soup {_fmt(ss_ms, 1)} ms/scan")
    load_end = os.getloadavg()
    text = "\n".join(
        [
            f"Date {started:%Y-%m-%d %H:%M} UTC; machine {platform.node()} "
            f"({os.cpu_count()} cores, {platform.machine()}); {versions()}.",
            f"Command: `python benchmarks/bench_tracking.py {' '.join(argv or sys.argv[1:])}`.",
            f"Load average (1/5/15 min) at start {load_start[0]:.2f}/{load_start[1]:.2f}/"
            f"{load_start[2]:.2f}, at end {load_end[0]:.2f}/{load_end[1]:.2f}/"
            f"{load_end[2]:.2f}.",
            "",
            *lines,
            "",
            *(process_lines if len(process_lines) > 1 else []),
            "",
        ]
    )
    print(text)
    if args.markdown is not None:
        args.markdown.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
