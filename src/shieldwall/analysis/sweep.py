"""Full-factorial parameter sweeps: one Monte Carlo study per point of a grid.

Parameters are addressed by dotted paths into the scenario document, list items by their
index: ``doctrine.salvo.ballistic``, ``raid.waves.0.count`` (``raid.waves[0].count`` works
too), ``batteries.0.launchers.0.count``. The overrides are applied to the *resolved* scenario
document (catalog defaults written out, so a battery's default launchers can be swept) and the
result is validated again exactly like a scenario file, so a bad path or value is an
``InputError`` naming the path and the offending setting.

Every point uses the same study seed: replication *i* of every point draws the same random
streams (common random numbers), which sharpens the comparison between points.

Output directory::

    OUTDIR/sweep.json              axes, points (parameters, directory, headline estimates)
    OUTDIR/sweep.parquet           every replication row of every point, with a ``point``
                                   column and one column per swept path
    OUTDIR/points/point-0000/      the Monte Carlo study of each point (replications.parquet/,
                                   study.json, summary.json)
"""

from __future__ import annotations

import copy
import itertools
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from shieldwall.analysis.montecarlo import (
    MonteCarloResult,
    check_resume,
    check_study_arguments,
    monte_carlo,
    write_json_atomic,
)
from shieldwall.catalog.loader import YamlLimitError, YamlLoader
from shieldwall.core.errors import InputError
from shieldwall.core.outputs import RESUME, check_output_dir, prepare_directory_in_place
from shieldwall.scenario import Scenario, format_path, load_scenario, load_scenario_text

SWEEP_FILE = "sweep.json"
SWEEP_TABLE = "sweep.parquet"
POINTS_DIR = "points"

PathPart = str | int
_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


@dataclass(frozen=True)
class SweepAxis:
    """One swept parameter: a path into the scenario document and the values it takes."""

    path: str
    parts: tuple[PathPart, ...]
    values: tuple[Any, ...]


def parse_path(path: str) -> tuple[PathPart, ...]:
    """``"raid.waves.0.count"`` or ``"raid.waves[0].count"`` -> ``("raid", "waves", 0, "count")``.

    Raises ``InputError`` for an empty or malformed path.
    """
    text = path.strip()
    parts: list[PathPart] = []
    pos = 0
    while pos < len(text):
        if text[pos] == "." and parts:
            pos += 1
        m = _TOKEN.match(text, pos)
        if m is None:
            raise InputError("--set", f"malformed parameter path {path!r}; write dotted names "
                                      "and list indices, e.g. raid.waves.0.count", field=path)
        name, index = m.groups()
        if index is not None:
            parts.append(int(index))
        elif name.isdigit():
            parts.append(int(name))
        else:
            parts.append(name)
        pos = m.end()
    if not parts:
        raise InputError("--set", "empty parameter path; write e.g. "
                                  "--set doctrine.salvo.ballistic=1,2")
    return tuple(parts)


def _split_values(text: str) -> list[str]:
    # Commas inside [...] or {...} belong to the value (e.g. launch_window_s=[0,60],[0,120]).
    out: list[str] = []
    depth = 0
    current = ""
    for ch in text:
        if ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(current)
            current = ""
        else:
            current += ch
    out.append(current)
    return [v.strip() for v in out]


def parse_set(spec: str) -> SweepAxis:
    """Parse one ``--set path=v1,v2,...`` option; values are YAML scalars (or flow lists).

    Raises ``InputError`` naming the option when it is malformed.
    """
    if "=" not in spec:
        raise InputError("--set", f"expected path=value1,value2,... (got {spec!r})")
    path, _, raw = spec.partition("=")
    parts = parse_path(path)
    values: list[Any] = []
    for item in _split_values(raw):
        if not item:
            raise InputError("--set", f"empty value in {spec!r}", field=path.strip())
        try:
            values.append(yaml.load(item, Loader=YamlLoader))  # with its input limits
        except yaml.YAMLError as err:
            limit = f" ({err.problem})" if isinstance(err, YamlLimitError) else ""
            raise InputError("--set", f"cannot read the value {item!r} in {spec!r}{limit}",
                             field=path.strip()) from None
        except ValueError as err:  # PyYAML's int() / datetime(): 5000 digits, 2024-02-30
            raise InputError("--set", f"cannot read the value {item!r} in {spec!r} ({err})",
                             field=path.strip()) from None
    return SweepAxis(path=path.strip(), parts=parts, values=tuple(values))


def set_path(doc: Any, parts: Sequence[PathPart], value: Any, label: str) -> None:
    """Set ``doc[parts[0]][parts[1]]... = value`` in place (missing mappings are created).

    Raises ``InputError`` (file ``label``, field = the path so far) when a list index is out
    of range or a step goes through a value that is not a mapping or a list.
    """
    node = doc
    for depth, part in enumerate(parts):
        here = format_path(parts[:depth + 1])
        last = depth == len(parts) - 1
        if isinstance(node, dict):
            if isinstance(part, int):
                raise InputError(label, f"'{format_path(parts[:depth]) or 'the scenario'}' "
                                        f"is a mapping; address its fields by name, not by "
                                        f"index {part}", field=here)
            if last:
                node[part] = value
                return
            if node.get(part) is None:
                node[part] = {}
            node = node[part]
        elif isinstance(node, list):
            if not isinstance(part, int):
                raise InputError(label, f"'{format_path(parts[:depth])}' is a list; address "
                                        f"its items by index 0..{len(node) - 1}, not "
                                        f"'{part}'", field=here)
            if not 0 <= part < len(node):
                raise InputError(label, f"index {part} is out of range: "
                                        f"'{format_path(parts[:depth])}' has {len(node)} "
                                        f"item{'s' if len(node) != 1 else ''}", field=here)
            if last:
                node[part] = value
                return
            node = node[part]
        else:
            raise InputError(label, f"'{format_path(parts[:depth])}' is a value "
                                    f"({node!r}), not a mapping or a list", field=here)


def point_scenario(base: Scenario, assignment: Sequence[tuple[SweepAxis, Any]],
                   file: str) -> Scenario:
    """The scenario ``base`` with the assignment applied, validated like a scenario file."""
    label = f"{file} with " + " ".join(f"--set {ax.path}={_show(v)}" for ax, v in assignment)
    doc = copy.deepcopy(base.model_dump(mode="json", exclude_none=True))
    for axis, value in assignment:
        set_path(doc, axis.parts, value, label)
    try:
        return load_scenario_text(yaml.safe_dump(doc, sort_keys=False), name=label)
    except InputError as err:
        # Line numbers would point into the generated document, not the user's file.
        raise InputError(label, err.message, field=err.field) from None


def _show(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, str) else value


def _column_type(values: Sequence[Any]) -> pa.DataType:
    kinds = {type(v) for v in values}
    if kinds == {bool}:
        return pa.bool_()
    if kinds == {int}:
        return pa.int64()
    if kinds <= {int, float}:
        return pa.float64()
    return pa.string()


def _cell(value: Any, dtype: pa.DataType) -> Any:
    if dtype == pa.string():
        return value if isinstance(value, str) else json.dumps(value)
    if dtype == pa.float64():
        return float(value)
    return value


@dataclass
class SweepResult:
    """A finished sweep: the combined table, one Monte Carlo result per point, the index."""

    table: pa.Table
    points: list[dict[str, Any]]
    studies: list[MonteCarloResult]
    outdir: Path


def run_sweep(scenario: str | Path, sets: Sequence[str | SweepAxis], n: int,
              outdir: str | Path, seed: int | None = None, *, workers: int | None = None,
              executor: Any = None, resume: bool = False, progress: bool = True,
              overwrite: bool = False, max_memory_gb: float | None = None,
              max_replications: int | None = None, **mc_options: Any) -> SweepResult:
    """Run one Monte Carlo study of ``n`` replications per point of the full-factorial grid.

    Parameters
    ----------
    scenario : scenario file (the base of every point)
    sets : ``"path=v1,v2,..."`` strings (or parsed axes); the grid is their product
    n : replications per point
    outdir : sweep directory (see the module docstring)
    seed : study seed shared by every point (default: the scenario's)
    workers, executor : as for ``monte_carlo``
    resume : continue an interrupted sweep (each point resumes its own study)
    overwrite : replace a previous sweep in ``outdir`` (only a directory shieldwall wrote as a
        sweep; see ``shieldwall.core.outputs``)
    progress : show a progress bar per point
    mc_options : further keyword arguments of ``monte_carlo``

    Raises
    ------
    InputError : a bad path or value (named), or an output directory holding another sweep;
        every point is validated before anything runs
    """
    file = str(scenario)
    # Arguments first: a bad call writes nothing (the output directory is checked below).
    check_study_arguments(n, seed, workers=workers, max_memory_gb=max_memory_gb)
    if max_replications is not None and not (isinstance(max_replications, int)
                                             and max_replications >= 1):
        raise InputError("<arguments>", f"expected an integer of at least 1, got "
                                        f"{max_replications!r}", field="--max-replications")
    base = load_scenario(scenario)
    axes = [s if isinstance(s, SweepAxis) else parse_set(s) for s in sets]
    if not axes:
        raise InputError("--set", "give at least one parameter to sweep, e.g. "
                                  "--set doctrine.salvo.ballistic=1,2")
    paths = [a.path for a in axes]
    if "seed" in paths:
        raise InputError("--set", "the study seed is not a sweep parameter; set it with "
                                  "--seed (every point shares it)", field="seed")
    if len(set(paths)) != len(paths):
        raise InputError("--set", f"a parameter is given twice: {paths}")
    grid = list(itertools.product(*(a.values for a in axes)))
    limits = {"workers": workers, "executor": executor, "max_memory_gb": max_memory_gb,
              "max_replications": max_replications}
    # The count first (before validating 10^4 points), then every point's memory and time.
    check_sweep_size([base], n, file, n_points=len(grid), warn=False, **limits)
    scenarios = [point_scenario(base, list(zip(axes, combo, strict=True)), file)
                 for combo in grid]
    seed = int(base.seed if seed is None else seed)
    check_sweep_size(scenarios, n, file, **limits)

    out = Path(outdir)
    index_path = out / SWEEP_FILE
    axes_doc = [{"path": a.path, "values": list(a.values)} for a in axes]
    # What may be written there: shieldwall.core.outputs (never a foreign directory).
    target = check_output_dir(out, "sweep", overwrite=overwrite, resume=resume)
    if target.state == RESUME and index_path.exists():
        try:
            old = json.loads(index_path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError, MemoryError) as err:
            raise InputError(str(index_path), f"cannot read the sweep index to resume "
                                              f"({err})") from None
        if not isinstance(old, dict) or old.get("axes") != axes_doc:
            raise InputError(str(index_path), f"cannot resume: the sweep was over "
                                              f"{old.get('axes') if isinstance(old, dict) else old}"
                                              f", not {axes_doc}")
    if target.state == RESUME:
        # Every stored point is checked (scenario, seed, readable parts, -n) before the
        # index is rewritten or any replication runs.
        for k, sc in enumerate(scenarios):
            check_resume(out / POINTS_DIR / f"point-{k:04d}", sc, n, seed,
                         perfect_information=mc_options.get("perfect_information"))
    prepare_directory_in_place(target)

    points: list[dict[str, Any]] = []
    for k, combo in enumerate(grid):
        points.append({"point": k, "params": dict(zip(paths, combo, strict=True)),
                       "dir": f"{POINTS_DIR}/point-{k:04d}"})
    index: dict[str, Any] = {"scenario_file": file, "scenario": base.name, "seed": seed,
                             "replications_per_point": int(n), "axes": axes_doc,
                             "points": points, "complete": False}
    write_json_atomic(index_path, index)

    studies: list[MonteCarloResult] = []
    for k, sc in enumerate(scenarios):
        pdir = out / points[k]["dir"]
        # A point's study resumes when it is there (resume=True on a missing study starts it).
        res = monte_carlo(sc, n, seed=seed, executor=executor, outdir=pdir,
                          resume=resume, progress=progress, workers=workers,
                          label=f"point {k + 1}/{len(grid)}", max_memory_gb=max_memory_gb,
                          **mc_options)
        studies.append(res)
        s = res.summary
        points[k]["scenario_hash"] = s["scenario_hash"]
        points[k]["p_any_leaker"] = s["proportions"]["any_leaker"]
        points[k]["leakers"] = s["means"]["leakers"]
        points[k]["value_lost"] = s["means"]["value_lost"]
        points[k]["interceptor_cost_usd"] = s["means"]["interceptor_cost_usd"]
        write_json_atomic(index_path, index)

    tables = []
    for k, res in enumerate(studies):
        t = res.table
        params = []
        for axis, value in zip(axes, grid[k], strict=True):
            dtype = _column_type(axis.values)
            params.append((axis.path, pa.array([_cell(value, dtype)] * t.num_rows, dtype)))
        cols = [("point", pa.array([k] * t.num_rows, pa.int64())), *params]
        for i, (name, arr) in enumerate(cols):
            t = t.add_column(i, name, arr)
        tables.append(t)
    table = pa.concat_tables(tables, promote_options="default")
    tmp = out / f".{SWEEP_TABLE}.tmp-{os.getpid()}"
    pq.write_table(table, tmp)
    os.replace(tmp, out / SWEEP_TABLE)
    index["complete"] = True
    write_json_atomic(index_path, index)
    return SweepResult(table=table, points=points, studies=studies, outdir=out)


#: Default ``--max-replications`` of a sweep (points x n); more needs the flag raised.
DEFAULT_MAX_REPLICATIONS = 100_000
#: A sweep estimated to take longer than this (s) prints a warning before it starts.
WARN_SWEEP_SECONDS = 3600.0


def check_sweep_size(scenarios: Sequence[Scenario], n: int, file: str, *,
                     workers: int | None = None, executor: Any = None,
                     max_memory_gb: float | None = None,
                     max_replications: int | None = None, n_points: int | None = None,
                     warn: bool = True) -> float:
    """Refuse a sweep past its limits; warn on stderr before a long one. Returns the estimate
    of its wall time (s).

    ``n_points`` (default ``len(scenarios)``) points of ``n`` replications: more than
    ``max_replications`` (default ``DEFAULT_MAX_REPLICATIONS``) in all raise ``InputError``
    naming ``--max-replications``, with the count and the estimated time (``scenarios`` may
    then be the base scenario alone: the count is checked before the points are built).
    Every scenario gets the per-replication memory check of ``shieldwall mc``
    (``scenario.size.check_run_size``, one replication per local worker at once). An estimate
    above ``WARN_SWEEP_SECONDS`` prints one warning line on stderr when ``warn``.
    """
    import sys

    from shieldwall.scenario.size import check_run_size, estimate_run_size, format_duration

    points = len(scenarios) if n_points is None else int(n_points)
    local = executor is None or workers is not None
    parallel = max(int(workers or os.cpu_count() or 1), 1)
    estimates = [estimate_run_size(sc, recorded=False) for sc in scenarios]
    per_point = sum(e.wall_time_s for e in estimates) / max(len(estimates), 1)
    seconds = per_point * points * int(n) / parallel
    total = points * int(n)
    limit = DEFAULT_MAX_REPLICATIONS if max_replications is None else int(max_replications)
    what = (f"{points:,} point{'s' if points != 1 else ''} x {int(n):,} replications = "
            f"{total:,} replications, estimated {format_duration(seconds)} on {parallel} "
            f"worker{'s' if parallel != 1 else ''}")
    if total > limit:
        raise InputError("--max-replications", f"the sweep is too large: {what}, more than "
                         f"the limit of {limit:,} replications. Sweep fewer values or fewer "
                         f"replications, or pass --max-replications {total} to run it anyway")
    for k, est in enumerate(estimates):
        check_run_size(est, f"{file} (point {k})" if n_points is None else file,
                       max_memory_gb, workers=min(parallel, int(n)) if local else 1)
    if warn and seconds > WARN_SWEEP_SECONDS:
        print(f"warning: a long sweep: {what} (a rough estimate)", file=sys.stderr)
    return seconds


def run_sweep_command(scenario_file: str | Path, sets: Sequence[str], n: int,
                      outdir: str | Path, seed: int | None = None,
                      workers: int | None = None, scheduler: str | None = None,
                      resume: bool = False, overwrite: bool = False,
                      max_memory_gb: float | None = None,
                      max_replications: int | None = None) -> SweepResult:
    """``shieldwall sweep``: run the grid and print one line per point.

    Raises ``InputError`` for bad input and ``StudyInterrupted`` (with ``seed``) on Ctrl-C.
    """
    import contextlib

    from shieldwall.analysis.montecarlo import StudyInterrupted, study_executor

    base_seed = int(load_scenario(scenario_file).seed if seed is None else seed)
    executor, client = study_executor(workers, scheduler)
    try:
        result = run_sweep(scenario_file, sets, n, outdir, seed=base_seed, workers=workers,
                           executor=executor, resume=resume, overwrite=overwrite,
                           max_memory_gb=max_memory_gb, max_replications=max_replications)
    except StudyInterrupted as stop:
        stop.seed = base_seed
        raise
    finally:
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()
    for p in result.points:
        params = ", ".join(f"{k}={_show(v)}" for k, v in p["params"].items())
        pal = p["p_any_leaker"]
        lk = p["leakers"]
        print(f"point {p['point']}: {params}: P(any leaker) {pal['estimate']:.3f} "
              f"[{pal['ci95'][0]:.3f}, {pal['ci95'][1]:.3f}], leakers {lk['mean']:.3g}, "
              f"value lost {p['value_lost']['mean']:.3g}")
    print(f"results: {outdir}/ (sweep.parquet, sweep.json, points/)")
    return result
