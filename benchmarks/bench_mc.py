"""Benchmark: Monte Carlo throughput on local processes and on a Dask cluster (issue 5).

Goals: 2 local workers >= 1.8x the throughput of 1 worker on the bundled scenario; a 2-worker
Dask LocalCluster (processes, 1 thread each) within 10 % of the 2-worker local pool.

What is measured
----------------
* **bundled**: ``examples/capital_region.yaml`` (about 12 s per replication on one core).
  Throughput in replications/s with 1 and 2 local workers and a 2-worker Dask LocalCluster.
  Each executor is started and warmed (imports, numba caches) by a small study first, so the
  timed study measures the steady state; the cold start is reported separately.
* **trivial**: the bundled laydown cut to one threat, 10 s at 5 s steps (tens of ms per
  replication), run with one replication per task: the per-replication overhead of the
  runner (pickling the task, scheduling, collecting the row) is
  ``wall * workers / N - t_inprocess`` where ``t_inprocess`` is the same replication timed in
  a plain loop in this process. This difference is only meaningful on an idle machine.
* **CPU time**: every row carries the worker's CPU seconds. On a shared machine the ratio of
  CPU seconds per replication with 1 and with 2 workers estimates the scaling an idle machine
  would show (the driver's own cost per replication is the no-op figure below).
* **no-op**: a replication function that returns a precomputed row at once, one per task:
  ``wall / N`` is the pure runner cost per replication (driver, serialization, scheduling),
  which the other tenants of a shared machine disturb much less.

Run: ``.venv/bin/python benchmarks/bench_mc.py [--n-bundled 8] [--n-trivial 300]``. The
machine is shared: the load average before and after is printed; with a load above the core
count, scaling ratios mostly measure the other tenants. Prints Markdown for RESULTS.md.
"""

from __future__ import annotations

import argparse
import copy
import functools
import math
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from shieldwall.analysis.montecarlo import local_pool, monte_carlo, run_replication
from shieldwall.scenario import Scenario, load_scenario, load_scenario_text

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = ROOT / "examples" / "capital_region.yaml"


def trivial_scenario() -> Scenario:
    d = yaml.safe_load(BUNDLED.read_text())
    d["name"] = "trivial (overhead benchmark)"
    d["duration_s"] = 10.0
    d["dt_s"] = 5.0
    d["sensors"] = []
    d["batteries"] = [b for b in d["batteries"] if b["id"] == "gepard-centre"]
    wave = copy.deepcopy(next(w for w in d["raid"]["waves"] if w["threat"] == "iskander-m"))
    wave["count"] = 1
    d["raid"]["waves"] = [wave]
    return load_scenario_text(yaml.safe_dump(d), name="trivial")


def noop_replicate(scenario: Scenario, seed: int, replication: int, *, row: dict[str, Any],
                   **kwargs: Any) -> dict[str, Any]:
    """A replication that costs nothing: the precomputed ``row`` with its index."""
    return {**row, "replication": replication}


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.2f} / {five:.2f}"


def timed_result(scenario: Scenario, n: int, executor: Any, **kw: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    res = monte_carlo(scenario, n, seed=1, executor=executor, progress=False, **kw)
    return time.perf_counter() - t0, res


def timed_study(scenario: Scenario, n: int, executor: Any, **kw: Any) -> float:
    return timed_result(scenario, n, executor, **kw)[0]


def with_executor(kind: str, workers: int, body: Callable[[Any], Any]) -> Any:
    """Start an executor (local pool or Dask LocalCluster), run ``body(executor)``."""
    if kind == "local":
        pool = local_pool(workers)
        try:
            return body(pool)
        finally:
            pool.shutdown()
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        return body(client)


def measure(kind: str, workers: int, args: argparse.Namespace, trivial: Scenario,
            bundled: Scenario, noop: Any, t_inproc: float) -> dict[str, Any]:
    start = time.perf_counter()

    def body(ex: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": kind, "workers": workers}
        # Warm every worker (imports, numba caches) with the trivial scenario.
        timed_study(trivial, 4 * workers, ex, batch_size=1)
        out["ready_s"] = time.perf_counter() - start
        wall = timed_study(trivial, args.n_trivial, ex, batch_size=1)
        out["trivial_rate"] = args.n_trivial / wall
        out["overhead_ms"] = (wall * workers / args.n_trivial - t_inproc) * 1e3
        wall = timed_study(trivial, args.n_trivial, ex)
        out["trivial_rate_batched"] = args.n_trivial / wall
        wall = timed_study(trivial, args.n_trivial, ex, batch_size=1, replicate=noop)
        out["noop_ms"] = wall / args.n_trivial * 1e3
        if not args.skip_bundled:
            timed_study(bundled, workers, ex, batch_size=1)  # warm on the real scenario
            wall, res = timed_result(bundled, args.n_bundled, ex, batch_size=1)
            out["bundled_rate"] = args.n_bundled / wall
            out["bundled_cpu_s"] = float(res.table.column("cpu_time_s").to_numpy().mean())
            out["bundled_wall_s"] = float(res.table.column("wall_time_s").to_numpy().mean())
        out["load"] = os.getloadavg()[0]
        return out

    return with_executor(kind, workers, body)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n-bundled", type=int, default=8,
                    help="timed replications of the bundled scenario per configuration")
    ap.add_argument("--n-trivial", type=int, default=300)
    ap.add_argument("--skip-bundled", action="store_true")
    ap.add_argument("--configs", default="local1,local2,dask2",
                    help="comma-separated executor kinds with worker counts")
    args = ap.parse_args()
    configs = [(c.rstrip("0123456789"), int(c[len(c.rstrip("0123456789")):]))
               for c in args.configs.split(",")]

    print(f"machine: {platform.node()} ({os.cpu_count()} cores), "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load avg 1/5 min: {load()}")
    trivial = trivial_scenario()
    for i in range(20):
        run_replication(trivial, 1, i)
    t0 = time.perf_counter()
    reps = 200
    for i in range(reps):
        run_replication(trivial, 1, i)
    t_inproc = (time.perf_counter() - t0) / reps
    print(f"trivial replication in process: {t_inproc * 1e3:.2f} ms")
    bundled = load_scenario(BUNDLED)
    noop = functools.partial(noop_replicate, row=run_replication(trivial, 1, 0))

    rows = []
    for kind, workers in configs:
        res = measure(kind, workers, args, trivial, bundled, noop, t_inproc)
        rows.append(res)
        print(f"{kind} x{workers}: {res}", flush=True)

    print()
    print("| executor | workers | start + warm (s) | bundled rep/s | bundled CPU s/rep | "
          "bundled worker wall s/rep | trivial rep/s (1 per task) | overhead per rep (ms) | "
          "trivial rep/s (batched) | no-op runner cost (ms/rep) | load 1 min |")
    print("| --- " * 11 + "|")
    for r in rows:
        rate = f"{r['bundled_rate']:.4f}" if "bundled_rate" in r else "-"
        print(f"| {r['kind']} | {r['workers']} | {r['ready_s']:.1f} | {rate} | "
              f"{r.get('bundled_cpu_s', math.nan):.1f} | {r.get('bundled_wall_s', math.nan):.1f} "
              f"| {r['trivial_rate']:.1f} | {r['overhead_ms']:.1f} | "
              f"{r['trivial_rate_batched']:.1f} | {r['noop_ms']:.2f} | {r['load']:.2f} |")
    by = {(r["kind"], r["workers"]): r for r in rows}
    if not args.skip_bundled and ("local", 1) in by and ("local", 2) in by:
        one, two = by[("local", 1)], by[("local", 2)]
        print(f"\nscaling 2 vs 1 local workers (wall throughput): "
              f"{two['bundled_rate'] / one['bundled_rate']:.2f}x (goal >= 1.8x)")
        estimate = 2 * one["bundled_cpu_s"] / two["bundled_cpu_s"]
        print(f"CPU-bound estimate (idle machine): 2 x {one['bundled_cpu_s']:.1f} / "
              f"{two['bundled_cpu_s']:.1f} = {estimate:.2f}x")
    if not args.skip_bundled and ("local", 2) in by and ("dask", 2) in by:
        local2, dask2 = by[("local", 2)], by[("dask", 2)]
        ratio = dask2["bundled_rate"] / local2["bundled_rate"]
        print(f"Dask vs local (2 workers, wall throughput): {ratio:.2f} of the local "
              f"throughput (overhead {100 * (1 - ratio):.1f} %, goal < 10 %)")
        print(f"Dask vs local CPU s/rep: {dask2['bundled_cpu_s']:.1f} vs "
              f"{local2['bundled_cpu_s']:.1f}")
    print(f"load avg at the end: {load()}")


if __name__ == "__main__":
    main()
