"""Input limits (issue 12): how fast hostile YAML is refused, and the run-size estimate against
the peak memory of real runs.

    .venv/bin/python benchmarks/bench_input_limits.py                  # bombs only (seconds)
    .venv/bin/python benchmarks/bench_input_limits.py --runs a.yaml b.yaml  # + estimate vs RSS

``--runs``: each scenario is run by ``shieldwall run`` in a fresh process (recorded tables,
report and exports) and, with ``--replication``, also as one Monte Carlo replication
(``simulate(record=False)``); the peak resident memory (``ru_maxrss`` of that process) is
compared with ``shieldwall.scenario.size.estimate_run_size``. Results: benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from shieldwall.core.errors import InputError
from shieldwall.scenario import load_scenario, load_scenario_text
from shieldwall.scenario.size import estimate_run_size

_RUN = """
import resource, sys
from shieldwall.cli import app
try:
    app(sys.argv[1:], standalone_mode=False)
finally:
    print("MAXRSS_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
_REPLICATION = """
import resource, sys
from shieldwall.engine import simulate
from shieldwall.scenario import load_scenario
simulate(load_scenario(sys.argv[1]), record=False)
print("MAXRSS_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def alias_bomb(levels: int) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]")
    return "\n".join(lines) + "\n"


def refuse_time_s(text: str, repeat: int = 5) -> tuple[float, str]:
    best, message = float("inf"), ""
    for _ in range(repeat):
        t0 = time.perf_counter()
        try:
            load_scenario_text(text, name="bomb.yaml")
        except InputError as err:
            message = err.message
        best = min(best, time.perf_counter() - t0)
    return best, message


def peak_kb(code: str, *args: str) -> tuple[int, float]:
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                         check=True)
    return int(out.stdout.rsplit("MAXRSS_KB", 1)[1].split()[0]), time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", nargs="*", default=[], help="scenario files to measure")
    parser.add_argument("--replication", action="store_true",
                        help="also measure one Monte Carlo replication of each")
    args = parser.parse_args()

    print("| input | refused in (best of 5) | message |")
    print("| --- | --- | --- |")
    cases = {f"alias bomb, {k} levels (9^{k} leaves)": alias_bomb(k) for k in (7, 9, 12)}
    for opener, closer in (("[", "]"), ("{a: ", "}")):
        cases[f"nesting {opener.strip()} x 5000"] = ("name: " + opener * 5000 + "1"
                                                     + closer * 5000 + "\n")
    for label, text in cases.items():
        seconds, message = refuse_time_s(text)
        print(f"| {label} | {1e3 * seconds:.1f} ms | {message[:70]} |")

    if not args.runs:
        return
    print("\n| scenario | mode | threats x steps | truth samples (est.) | estimate | "
          "measured peak RSS | estimate / measured | wall |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for file in args.runs:
        scenario = load_scenario(file)
        modes = [("run", True)] + ([("replication", False)] if args.replication else [])
        for mode, recorded in modes:
            est = estimate_run_size(scenario, recorded=recorded)
            with tempfile.TemporaryDirectory() as tmp:
                if recorded:
                    kb, wall = peak_kb(_RUN, "run", file, "-o", str(Path(tmp) / "out"))
                else:
                    kb, wall = peak_kb(_REPLICATION, file)
            measured = kb * 1024
            print(f"| {file} | {mode} | {est.threats:,} x {est.steps:,} | "
                  f"{est.truth_samples:,} | {est.memory_bytes / 1e9:.2f} GB | "
                  f"{measured / 1e9:.2f} GB | {est.memory_bytes / measured:.2f} | "
                  f"{wall:.0f} s (est. sim {est.wall_time_s:.0f} s) |", flush=True)


if __name__ == "__main__":
    main()
