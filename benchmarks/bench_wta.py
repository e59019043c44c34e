"""Benchmark: static weapon-target assignment solvers (issue 4).

Two seeded instance families:

- **Ahuja-style** (Ahuja, Kumar, Jha & Orlin 2007): n weapon types with one weapon each, n
  targets, ``V_j ~ U[25, 100]``, ``p_ij ~ U[0.6, 0.9]``;
- **Andersen-style** (Andersen, Pavlikov & Toffolo 2022): I types with 1-3 weapons each, J = 2I
  targets, integer ``V_j ~ U{1..99}``, ``p_ij ~ U(0, 1)``.

For each instance: global MMR greedy, greedy + shift/swap local search, the full heuristic
(``heuristic_wta``: + ejection-assignment VLSN), and the exact solver (``exact_wta``, seeded with
the heuristic, with a time limit). Gaps are relative to the proven optimum when the exact solver
proved it, otherwise to the best solution found (then the gap to the proven lower bound is
shown too).

Run: ``.venv/bin/python benchmarks/bench_wta.py [--quick] [--exact-limit 120]
[--markdown out.md]``.
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from shieldwall.c2.wta import greedy_mmr, wta_objective
from shieldwall.c2.wta_exact import exact_wta
from shieldwall.c2.wta_heuristic import greedy_local_search, heuristic_wta

Instance = tuple[np.ndarray, np.ndarray, np.ndarray]


def ahuja_instance(n: int, seed: int) -> Instance:
    """Ahuja-style n x n instance: values (n,), counts (n,) = 1, pk (n, n)."""
    rng = np.random.default_rng([1, n, seed])
    return rng.uniform(25, 100, n), np.ones(n, np.int64), rng.uniform(0.6, 0.9, (n, n))


def andersen_instance(n_types: int, n_targets: int, seed: int) -> Instance:
    """Andersen-style instance: integer values 1..99, 1-3 weapons per type, p ~ U(0, 1)."""
    rng = np.random.default_rng([2, n_types, n_targets, seed])
    values = rng.integers(1, 100, n_targets).astype(float)
    counts = rng.integers(1, 4, n_types)
    return values, counts, rng.uniform(0.0, 1.0, (n_types, n_targets))


@dataclass
class Row:
    family: str
    size: str
    seed: int
    greedy: float
    local: float
    heuristic: float
    heuristic_ms: float
    exact: float
    lower: float
    exact_s: float
    optimal: bool
    exact_cpu_s: float = float("nan")
    heuristic_cpu_ms: float = float("nan")


def _timed(fn: Callable[[], np.ndarray], repeat: int) -> tuple[np.ndarray, float, float]:
    """``(result, best wall time, best CPU time)`` over ``repeat`` calls, seconds."""
    best = best_cpu = np.inf
    x = None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        x = fn()
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    assert x is not None
    return x, best, best_cpu


def run_instance(family: str, size: str, seed: int, inst: Instance, exact_limit: float,
                 repeat: int) -> Row:
    v, n, p = inst
    f = lambda x: float(wta_objective(v, p, x))  # noqa: E731
    greedy = f(greedy_mmr(v, n, p))
    local = f(greedy_local_search(v, n, p))
    x_h, t_h, c_h = _timed(lambda: heuristic_wta(v, n, p), repeat)
    t0, c0 = time.perf_counter(), time.process_time()
    res = exact_wta(v, n, p, x_h, time_limit_s=exact_limit)
    t_e, c_e = time.perf_counter() - t0, time.process_time() - c0
    return Row(family, size, seed, greedy, local, f(x_h), 1e3 * t_h, res.objective,
               res.lower_bound, t_e, res.optimal, c_e, 1e3 * c_h)


def _pct(a: float, b: float) -> float:
    return 100.0 * (a - b) / b if b > 0 else 0.0


def summarize(rows: list[Row]) -> list[str]:
    """Markdown table lines, one per (family, size), means over seeds."""
    lines = [
        "| family | size (I x J) | seeds | greedy gap | greedy+LS gap | heuristic gap "
        "(mean / max) | heuristic wall (mean / max) | heuristic CPU (mean) | exact: proven "
        "| exact wall (mean / max) | exact CPU (mean / max) | (best - bound) / best (max) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    keys = list(dict.fromkeys((r.family, r.size) for r in rows))
    for family, size in keys:
        group = [r for r in rows if (r.family, r.size) == (family, size)]
        ref = [min(r.exact, r.heuristic) for r in group]
        g = [_pct(r.greedy, b) for r, b in zip(group, ref, strict=True)]
        ls = [_pct(r.local, b) for r, b in zip(group, ref, strict=True)]
        h = [_pct(r.heuristic, b) for r, b in zip(group, ref, strict=True)]
        th = [r.heuristic_ms for r in group]
        ch = [r.heuristic_cpu_ms for r in group]
        te = [r.exact_s for r in group]
        ce = [r.exact_cpu_s for r in group]
        proven = sum(r.optimal for r in group)
        bound_gap = max(100.0 * (b - r.lower) / b if b > 0 else 0.0
                        for r, b in zip(group, ref, strict=True))
        lines.append(
            f"| {family} | {size} | {len(group)} | {np.mean(g):.2f} % | {np.mean(ls):.2f} % | "
            f"{np.mean(h):.3f} % / {np.max(h):.3f} % | {np.mean(th):.1f} / {np.max(th):.1f} ms "
            f"| {np.mean(ch):.1f} ms | {proven}/{len(group)} | {np.mean(te):.2f} / "
            f"{np.max(te):.2f} s | {np.mean(ce):.2f} / {np.max(ce):.2f} s | {bound_gap:.2g} % |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only")
    parser.add_argument(
        "--exact-limit",
        type=float,
        default=120.0,
        help="exact solver time limit per Ahuja instance, s",
    )
    parser.add_argument(
        "--andersen-limit",
        type=float,
        default=30.0,
        help="exact solver time limit per Andersen instance, s",
    )
    parser.add_argument("--markdown", help="also write the table to this file")
    args = parser.parse_args()
    # Warm the numba caches (compilation is not part of any timing).
    v, n, p = ahuja_instance(5, 0)
    heuristic_wta(v, n, p)
    greedy_local_search(v, n, p)
    exact_wta(v, n, p, time_limit_s=10)

    ahuja = [(5, 5), (10, 5), (20, 5), (40, 5), (80, 3), (100, 3), (200, 3)]
    andersen = [(10, 20, 3), (15, 30, 3), (20, 40, 3), (40, 80, 3), (80, 160, 3)]
    if args.quick:
        ahuja, andersen = ahuja[:4], andersen[:1]
    rows: list[Row] = []
    for size, seeds in ahuja:
        for seed in range(seeds):
            row = run_instance(
                "Ahuja",
                f"{size} x {size}",
                seed,
                ahuja_instance(size, seed),
                args.exact_limit,
                repeat=3,
            )
            rows.append(row)
            print(row, flush=True)
    for n_types, n_targets, seeds in andersen:
        for seed in range(seeds):
            row = run_instance(
                "Andersen",
                f"{n_types} x {n_targets}",
                seed,
                andersen_instance(n_types, n_targets, seed),
                args.andersen_limit,
                repeat=3,
            )
            rows.append(row)
            print(row, flush=True)
    header = (
        f"machine: {platform.node()} ({platform.processor() or platform.machine()}), "
        f"Python {platform.python_version()}, date {time.strftime('%Y-%m-%d %H:%M')}"
    )
    lines = [header, "", *summarize(rows)]
    print("\n".join(lines))
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
