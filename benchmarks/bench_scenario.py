"""Benchmark: the bundled scenario end to end on one core (issue 2's speed goal).

Goal: at least 200x faster than real time (the raid's simulated duration over wall time).
Run: ``.venv/bin/python benchmarks/bench_scenario.py [--repeat 3]``; prints a Markdown row
for benchmarks/RESULTS.md. Uses ``record=False`` (what Monte Carlo replications use) and
``record=True`` (what ``shieldwall run`` does, tables kept).
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

from shieldwall import load_scenario, simulate

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenario", default=str(ROOT / "examples" / "capital_region.yaml"))
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    sc = load_scenario(args.scenario)
    simulate(sc, seed=0, record=False)  # warm-up (imports, numba caches)
    for record in (False, True):
        times = []
        for r in range(args.repeat):
            t0 = time.perf_counter()
            res = simulate(sc, seed=r, record=record)
            times.append(time.perf_counter() - t0)
        best = min(times)
        mean = sum(times) / len(times)
        speedup = sc.duration_s / best
        print(f"| {platform.node()} ({os.cpu_count()} cores, {platform.processor() or 'cpu'}) "
              f"| {time.strftime('%Y-%m-%d')} | record={record} | {res.summary['threats']} threats,"
              f" {sc.duration_s:.0f} s simulated | best {best:.2f} s, mean {mean:.2f} s "
              f"| {speedup:.0f}x real time |")


if __name__ == "__main__":
    main()
