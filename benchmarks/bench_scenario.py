"""Benchmark: the bundled scenario end to end on one core (issue 2's speed goal).

Goal: at least 200x faster than real time (the raid's simulated duration over wall time).
Run: ``.venv/bin/python benchmarks/bench_scenario.py [--repeat 3]`` (pin it to one core with
``taskset -c 1``); prints a Markdown row for benchmarks/RESULTS.md: best and mean wall time,
then the medians of wall, CPU (user + system) and user CPU; speed as simulated over best wall
and over median CPU time (the figure to compare on a shared machine). Uses ``record=False``
(what Monte Carlo replications use) and ``record=True`` (what ``shieldwall run`` does, tables
kept).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

from shieldwall import load_scenario, simulate

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenario", default=str(ROOT / "examples" / "capital_region.yaml"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-record", action="store_true", help="time record=False only")
    ap.add_argument("--tracker", choices=["imm", "ekf", "both"], default="both",
                    help="the scenario's tracker kind to time (default: both)")
    args = ap.parse_args()
    base = load_scenario(args.scenario)
    kinds = ["imm", "ekf"] if args.tracker == "both" else [args.tracker]
    for kind in kinds:
        sc = base.model_copy(update={"tracker": base.tracker.model_copy(update={"kind": kind})})
        _time(sc, kind, args.repeat, (False,) if args.no_record else (False, True))


def _time(sc, kind: str, repeat: int, records: tuple[bool, ...]) -> None:  # type: ignore[no-untyped-def]
    simulate(sc, seed=0, record=False)  # warm-up (imports, numba caches)
    for record in records:
        times = []
        cpus = []
        users = []
        for r in range(repeat):
            t0 = time.perf_counter()
            c0 = time.process_time()
            u0 = os.times().user
            res = simulate(sc, seed=r, record=record)
            users.append(os.times().user - u0)
            cpus.append(time.process_time() - c0)
            times.append(time.perf_counter() - t0)
        best = min(times)
        mean = sum(times) / len(times)
        cpu = statistics.median(cpus)
        speedup = sc.duration_s / best
        print(f"| {platform.node()} ({os.cpu_count()} cores, {platform.processor() or 'cpu'}) "
              f"| {time.strftime('%Y-%m-%d')} | tracker={kind}, record={record} "
              f"| {res.summary['threats']} threats,"
              f" {sc.duration_s:.0f} s simulated | best {best:.2f} s, mean {mean:.2f} s wall; "
              f"median {statistics.median(times):.2f} s wall, {cpu:.2f} s CPU "
              f"({statistics.median(users):.2f} s user) | {speedup:.0f}x real time (wall), "
              f"{sc.duration_s / cpu:.0f}x (CPU) |", flush=True)


if __name__ == "__main__":
    main()
